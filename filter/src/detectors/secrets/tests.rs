use super::*;
use crate::detectors::testing::{assert_none, assert_scan_invariants, findings, joined, only, scan_str, MIXED_FRAGMENTS};

static D: std::sync::OnceLock<Result<Secrets, String>> = std::sync::OnceLock::new();

fn d() -> &'static Secrets {
    D.get_or_init(Secrets::new).as_ref().unwrap()
}

/// Findings as (text, level, kind).
fn hits(s: &str) -> Vec<(String, Level, String)> {
    scan_str(d(), s).into_iter().map(joined).collect()
}

#[test]
fn compiles() {
    assert_eq!(D.get_or_init(Secrets::new).as_ref().err(), None);
}

/// The single finding in `s`: (text, level, kind).
fn one(s: &str) -> (String, Level, String) {
    joined(only(d(), s))
}

fn none(s: &str) {
    assert_none(d(), s);
}

// Built at run time so the test source holds no literal that secret scanners flag.
fn rnd(n: usize, seed: u64) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            A[(x % A.len() as u64) as usize] as char
        })
        .collect()
}

fn b64url(s: &str) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let b = s.as_bytes();
    let mut out = String::new();
    for ch in b.chunks(3) {
        let n = (u32::from(ch[0]) << 16) | (u32::from(*ch.get(1).unwrap_or(&0)) << 8) | u32::from(*ch.get(2).unwrap_or(&0));
        for i in 0..=ch.len() {
            out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

fn jwt(header: &str, payload: &str, sig: &str) -> String {
    format!("{}.{}.{}", b64url(header), b64url(payload), sig)
}

#[test]
fn aws_access_key_id() {
    let k = format!("AKIA{}", "Q3ZP7XW2M5RT4KD6");
    assert_eq!(one(&format!("aws_access_key_id = {k}")), (k.clone(), Level::L1, "aws_access_key_id".into()));
    let k2 = format!("ASIA{}", "Z5Y2X7W4V3U6T2S5");
    assert_eq!(one(&format!("creds: {k2}.")).1, Level::L1);
    // Documented example: public, only paranoid policies flag it.
    assert_eq!(one("key AKIAIOSFODNN7EXAMPLE here").1, Level::L4);
    none(&format!("x{k}"));
    none(&format!("{k}Z"));
    none("AKIAXXXXXXXXXXXXXXXX");
}

#[test]
fn aws_secret_access_key() {
    let id = format!("AKIA{}", "Q3ZP7XW2M5RT4KD6");
    let secret = format!("{}/{}+{}", rnd(20, 1), rnd(10, 2), rnd(8, 3));
    assert_eq!(secret.len(), 40);
    let h = hits(&format!("aws_secret_access_key = {secret}"));
    assert_eq!(h, vec![(secret.clone(), Level::L1, "aws_secret_access_key".into())]);
    let h = hits(&format!("id {id}\nsecret {secret}"));
    assert_eq!(h.len(), 2);
    assert_eq!(h[1], (secret.clone(), Level::L2, "aws_secret_access_key".into()));
    // Alone: a 40-char base64 run is not enough.
    none(&format!("blob {secret} end"));
    // A git SHA near an AWS secret name is not a secret key.
    let h = hits("AWS_SECRET_ACCESS_KEY commit a94a8fe5ccb19ba61c4c0873d391e987982fbbd3");
    assert!(h.iter().all(|x| x.2 != "aws_secret_access_key"), "{h:?}");
    assert_eq!(one("AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY").1, Level::L4);
}

#[test]
fn google() {
    let k = format!("AIza{}", rnd(35, 4));
    assert_eq!(one(&format!("key={k}&q=1")), (k.clone(), Level::L1, "google_api_key".into()));
    none(&format!("AIza{}", rnd(20, 4)));
    let s = format!("GOCSPX-{}", rnd(28, 5));
    assert_eq!(one(&format!("client_secret: {s}")), (s, Level::L1, "google_oauth_client_secret".into()));
}

#[test]
fn openai() {
    let k = format!("sk-proj-{}T3BlbkFJ{}", rnd(60, 6), rnd(60, 7));
    assert_eq!(one(&format!("OPENAI_API_KEY={k}")), (k.clone(), Level::L1, "openai_api_key".into()));
    let k = format!("sk-svcacct-{}", rnd(80, 8));
    assert_eq!(one(&k).1, Level::L1);
    let k = format!("sk-admin-{}", rnd(80, 9));
    assert_eq!(one(&k).2, "openai_api_key");
    let legacy = format!("sk-{}", rnd(48, 10));
    assert_eq!(one(&format!("\"{legacy}\"")), (legacy, Level::L1, "openai_api_key".into()));
    // Assignment with a vendor key: reported once, as the vendor key.
    let k = format!("sk-proj-{}", rnd(100, 11));
    assert_eq!(one(&format!("api_key = \"{k}\"")), (k, Level::L1, "openai_api_key".into()));
    none("export OPENAI_API_KEY=sk-...");
    none("use sk-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx as key");
    none("api_key = \"sk-your-api-key-goes-here-please\"");
    none("the scikit-learn-compatible estimator");
}

#[test]
fn anthropic() {
    let k = format!("sk-ant-api03-{}AA", rnd(93, 12));
    assert_eq!(one(&format!("ANTHROPIC_API_KEY='{k}'")), (k, Level::L1, "anthropic_api_key".into()));
    let k = format!("sk-ant-admin01-{}", rnd(93, 13));
    assert_eq!(one(&k).2, "anthropic_api_key");
    none("sk-ant-api03-...");
}

#[test]
fn github() {
    for p in ["ghp", "gho", "ghu", "ghs", "ghr"] {
        let k = format!("{p}_{}", rnd(36, 14));
        assert_eq!(one(&format!("token {k}")), (k, Level::L1, "github_token".into()));
    }
    let pat = format!("github_pat_{}_{}", rnd(22, 15), rnd(59, 16));
    assert_eq!(one(&pat), (pat.clone(), Level::L1, "github_token".into()));
    none("ghp_XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX");
    none("ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
    none("ghp_short");
}

#[test]
fn slack() {
    let t = format!("xoxb-{}-{}-{}", "7305918264", "4419027385563", rnd(24, 17));
    assert_eq!(one(&format!("SLACK_BOT_TOKEN={t}")), (t, Level::L1, "slack_token".into()));
    let t = format!("xoxp-{}-{}-{}-{}", "7305918264", "5519027385", "8846103927561", rnd(32, 18).to_lowercase());
    assert_eq!(one(&t).1, Level::L1);
    let t = format!("xapp-1-A{}-{}-{}", "07QK3M9ZP", "6619027385563", rnd(64, 19).to_lowercase());
    assert_eq!(one(&t), (t.clone(), Level::L1, "slack_token".into()));
    none("xoxb-your-token");
    let w = format!("https://hooks.slack.com/services/T0{}/B0{}/{}", "4KQ7Z2M9", "5RW3X8N1", rnd(24, 20));
    assert_eq!(one(&format!("post to {w}.")), (w, Level::L1, "slack_webhook".into()));
    none("https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX");
}

#[test]
fn stripe() {
    let live = format!("sk_{}_{}", "live", rnd(24, 21));
    assert_eq!(one(&live), (live.clone(), Level::L1, "stripe_secret_key".into()));
    let rk = format!("rk_{}_{}", "live", rnd(24, 22));
    assert_eq!(one(&rk).1, Level::L1);
    let test = format!("sk_{}_{}", "test", rnd(24, 23));
    assert_eq!(one(&test).1, Level::L3);
    none("pk_live_51H8publishablekeyisnotsecret");
    none("sk_live_xxxxxxxxxxxxxxxxxxxxxxxx");
}

fn pem_body() -> String {
    (0..8).map(|i| rnd(64, 100 + i)).collect::<Vec<_>>().join("\n")
}

#[test]
fn private_keys() {
    for label in ["", "RSA ", "EC ", "DSA ", "OPENSSH ", "ENCRYPTED "] {
        let k = format!("-----BEGIN {label}PRIVATE KEY-----\n{}\n-----END {label}PRIVATE KEY-----", pem_body());
        assert_eq!(one(&format!("here:\n{k}\nthanks")), (k, Level::L1, "private_key".into()));
    }
    let pgp = format!("-----BEGIN PGP PRIVATE KEY BLOCK-----\nVersion: GnuPG\n\n{}\n-----END PGP PRIVATE KEY BLOCK-----", pem_body());
    assert_eq!(one(&pgp).1, Level::L1);
    // Truncated paste: through the end of the text.
    let trunc = format!("-----BEGIN RSA PRIVATE KEY-----\n{}\n", pem_body());
    let h = one(&format!("key: {trunc}"));
    assert_eq!((h.0.as_str(), h.1), (trunc.trim_end(), Level::L1));
    // JSON-escaped (service-account files).
    let json = format!("{{\"private_key\": \"-----BEGIN PRIVATE KEY-----\\n{}\\n-----END PRIVATE KEY-----\\n\"}}", pem_body().replace('\n', "\\n"));
    let h = one(&json);
    assert_eq!((h.1, h.2.as_str()), (Level::L1, "private_key"));
    // Docs stubs.
    assert_eq!(one("-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA...\n-----END RSA PRIVATE KEY-----").1, Level::L3);
    assert_eq!(one("files start with -----BEGIN PRIVATE KEY----- and then").1, Level::L4);
    // Public material.
    none(&format!("-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----", pem_body()));
    none(&format!("-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----", pem_body()));
    none(&format!("ssh-rsa AAAAB3NzaC1yc2E{} user@host", rnd(300, 7)));
}

#[test]
fn many_headers_stay_linear() {
    let s = "-----BEGIN PRIVATE KEY-----\n".repeat(20_000);
    let h = hits(&s);
    assert_eq!(h.len(), 20_000);
    assert!(h.iter().all(|x| x.1 == Level::L4));
}

#[test]
fn jwts() {
    let sig = rnd(43, 30);
    let t = jwt(r#"{"alg":"HS256","typ":"JWT"}"#, r#"{"sub":"42","exp":1900000000}"#, &sig);
    assert_eq!(one(&format!("Authorization: Bearer {t}")), (t.clone(), Level::L1, "jwt".into()));
    let unsigned = jwt(r#"{"alg":"none"}"#, r#"{"sub":"42"}"#, "");
    assert_eq!(one(&format!("{unsigned} ok")).1, Level::L2);
    // Header without alg, or not JSON: not a JWT.
    none(&format!("{} x", jwt(r#"{"typ":"JWT","kid":"1"}"#, r#"{"sub":"42"}"#, &sig)));
    none("eyJhbGciOiJIUzI1NiJ9garbage.eyJzdWIiOiIxIn0.abc");
    let sample = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
    assert_eq!(one(sample).1, Level::L4);
}

#[test]
fn connection_strings() {
    let pw = rnd(16, 40);
    for scheme in ["postgres", "postgresql", "mysql", "mariadb", "mongodb", "mongodb+srv", "redis", "rediss", "amqp", "amqps", "mssql", "sqlserver"] {
        let c = format!("{scheme}://app:{pw}@db.prod.internal:5432/app");
        assert_eq!(one(&format!("DATABASE_URL={c}.")), (c, Level::L1, "connection_string".into()), "{scheme}");
    }
    let c = format!("redis://:{pw}@cache.internal:6379/0");
    assert_eq!(one(&c).1, Level::L1);
    let c = format!("jdbc:postgresql://db.internal:5432/app?user=app&password={pw}");
    assert_eq!(one(&c), (c.clone(), Level::L1, "connection_string".into()));
    let c = format!("jdbc:sqlserver://db.internal:1433;databaseName=app;user=sa;password={pw};");
    assert_eq!(one(&c).1, Level::L1);
    let c = format!("jdbc:mysql://app:{pw}@db.internal/app");
    assert_eq!(one(&c).1, Level::L1);
    let c = format!("Server=tcp:db.internal,1433;Initial Catalog=app;User Id=app;Password={pw};Encrypt=True;");
    assert_eq!(one(&format!("\"{c}\"")), (c.clone(), Level::L1, "connection_string".into()));
    let c = format!("Driver={{ODBC Driver 18 for SQL Server}};Server=db.internal;Uid=app;Pwd={{{pw}}};");
    assert_eq!(one(&c).1, Level::L1);
    let c = format!("DefaultEndpointsProtocol=https;AccountName=acme;AccountKey={}==;EndpointSuffix=core.windows.net", rnd(86, 42));
    assert_eq!(one(&c), (c.clone(), Level::L1, "connection_string".into()));
    let c = format!("host=db.internal port=5432 dbname=app user=app password={pw}");
    assert_eq!(one(&c), (c.clone(), Level::L1, "connection_string".into()));
    // Development credentials: weaker.
    assert_eq!(one("postgres://postgres:postgres@localhost:5432/db").1, Level::L2);
    assert_eq!(one(&format!("mysql://root:{pw}@127.0.0.1/test")).1, Level::L2);
    // A JWT as the password: reported once, as the connection string.
    let t = jwt(r#"{"alg":"HS256"}"#, r#"{"sub":"1"}"#, &rnd(43, 41));
    let c = format!("mongodb://svc:{t}@mongo.internal/app");
    assert_eq!(one(&c), (c.clone(), Level::L1, "connection_string".into()));
    // No password, or a placeholder: not a secret.
    none("postgres://db.internal:5432/app");
    none("mongodb://app@mongo.internal/app");
    none("postgresql://user:password@localhost/mydb");
    none("postgres://user:<password>@host/db and mysql://u:${DB_PASS}@h/db");
    none("Server=db.internal;Database=app;Trusted_Connection=True;");
    none("Server=db.internal;Database=app;User Id=app;Password=;");
}

#[test]
fn assignments() {
    assert_eq!(one("password = \"Tr0ub4dor&3x\""), ("Tr0ub4dor&3x".into(), Level::L3, "password_assignment".into()));
    assert_eq!(one("DB_PASSWORD=hunter2hunter2").1, Level::L3);
    assert_eq!(one("{\"client_secret\": \"q8Zp-2fLk_9w\"}").0, "q8Zp-2fLk_9w");
    assert_eq!(one("pwd: s3cr3t!pass").0, "s3cr3t!pass");
    assert_eq!(one("SECRET_KEY=django-insecure-8f$k2l#x9q!z@m4n7p").0, "django-insecure-8f$k2l#x9q!z@m4n7p");
    assert_eq!(one("secret_key_base: 3b7cd727ee24e8444053437c36cc66c4").1, Level::L3);
    assert_eq!(one("?token=Zx8pQ2mN5vB7&user=bob").0, "Zx8pQ2mN5vB7");
    assert_eq!(one("secret: correcthorse").1, Level::L4);
    let v = rnd(32, 50);
    assert_eq!(one(&format!("api_key: {v}")), (v.clone(), Level::L3, "password_assignment".into()));
    assert_eq!(one(&format!("my api key is {v}")), (v, Level::L4, "generic_secret".into()));
    assert_eq!(one("the password is Summer2024!").1, Level::L4);
    // Placeholders, code and prose.
    for s in [
        "password = \"YOUR_API_KEY\"",
        "api_key=<token>",
        "password: ********",
        "password = \"changeme\"",
        "token = '${GITHUB_TOKEN}'",
        "api_key = os.environ[\"OPENAI_API_KEY\"]",
        "password = getpass.getpass()",
        "token = self.access_token",
        "secret = client_secret_value",
        "token = nextPageToken",
        "PWD=/home/alice/projects",
        "Please reset your password by clicking the link.",
        "the token limit is 4096",
        "max_tokens: 4096",
        "password: short",
        "Enter your password: and press enter",
        "the password is incorrect",
        "if password == expected_password:",
        "OPENAI_API_KEY=sk-proj-abc",
        "token=undefined&password=null",
    ] {
        none(s);
    }
}

#[test]
fn authorization_headers() {
    let tok = rnd(40, 60);
    assert_eq!(one(&format!("-H 'Authorization: Bearer {tok}'")), (tok, Level::L2, "bearer_token".into()));
    // base64("admin:s3cretpw")
    assert_eq!(one("Authorization: Basic YWRtaW46czNjcmV0cHc=").2, "basic_auth");
    none("Authorization: Bearer $TOKEN");
    none("Authorization: Bearer <token>");
    none("a basic understanding of bearer bonds");
}

#[test]
fn hard_negatives() {
    none("commit a94a8fe5ccb19ba61c4c0873d391e987982fbbd3 fixes it");
    none("id 123e4567-e89b-12d3-a456-426614174000");
    none(&format!("<img src=\"data:image/png;base64,iVBORw0KGgo{}AIza{}sk-{}ghp_{}\">", rnd(200, 70), rnd(35, 71), rnd(48, 72), rnd(36, 73)));
    none("We use passwords and tokens to authenticate; keep your secret key safe.");
    none("token usage: 1234 tokens");
    none("");
    none("short");
}

#[test]
fn non_ascii_surroundings() {
    let k = format!("ghp_{}", rnd(36, 80));
    assert_eq!(one(&format!("令牌：{k}。谢谢")).0, k);
    let c = format!("postgres://app:{}@db.internal/app", rnd(12, 81));
    assert_eq!(one(&format!("Verbindung «{c}» öffnen")).0, c);
    assert_eq!(one("密码password=Zürich2024!x").0, "Zürich2024!x");
    none("ünïcödé ✓ 🔑 ключ пароль");
}

#[test]
fn findings_are_sorted_and_disjoint() {
    let s = format!("a ghp_{} b password=\"Xy7$abcQ9\" c -----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY----- d", rnd(36, 90), pem_body());
    let (_, out) = findings(d(), &s);
    assert_eq!(out.len(), 3);
    assert!(out.windows(2).all(|w| w[0].end <= w[1].start));
}

/// Deterministic mixes of tricky fragments keep the scan invariants (see the helper).
#[test]
fn mixed_inputs_do_not_panic() {
    assert_scan_invariants(d(), MIXED_FRAGMENTS, 1500, 40);
}
