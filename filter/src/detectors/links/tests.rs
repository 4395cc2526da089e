use super::*;
use crate::detectors::testing::{assert_none, assert_scan_invariants, findings, joined, only, scan_str, MIXED_FRAGMENTS};

static D: std::sync::OnceLock<Result<UnknownLinks, String>> = std::sync::OnceLock::new();

fn d() -> &'static UnknownLinks {
    D.get_or_init(|| UnknownLinks::new(&[], true)).as_ref().unwrap()
}

/// Findings as (text, level, domain).
fn hits_with(det: Option<&UnknownLinks>, s: &str) -> Vec<(String, Level, String)> {
    det.map(|det| scan_str(det, s)).unwrap_or_default().into_iter().map(joined).collect()
}

fn hits(s: &str) -> Vec<(String, Level, String)> {
    hits_with(Some(d()), s)
}

#[test]
fn compiles() {
    assert_eq!(D.get_or_init(|| UnknownLinks::new(&[], true)).as_ref().err(), None);
}

fn one(s: &str) -> (String, Level, String) {
    joined(only(d(), s))
}

fn none(s: &str) {
    assert_none(d(), s);
}

#[test]
fn scheme_urls_to_unknown_domains_are_l2() {
    assert_eq!(one("log in at https://evil-site.xyz/login now"), ("https://evil-site.xyz/login".into(), Level::L2, "evil-site.xyz".into()));
    assert_eq!(one("see http://a.b.evil-site.xyz:8080/x?y=1#z.").0, "http://a.b.evil-site.xyz:8080/x?y=1#z");
    assert_eq!(one("ftp://files.example-mirror.net/pub").2, "example-mirror.net");
    assert_eq!(one("wss://stream.unknown.io/socket").1, Level::L2);
}

#[test]
fn registrable_domain_uses_public_suffixes() {
    assert_eq!(one("https://login.bank.co.uk/").2, "bank.co.uk");
    assert_eq!(one("https://shop.example.com.au/").2, "example.com.au");
    assert_eq!(one("https://evil.github.io/phish").2, "evil.github.io");
    assert_eq!(one("https://x.y.herokuapp.com/").2, "y.herokuapp.com");
    assert_eq!(one("https://co.uk/").2, "co.uk");
    assert_eq!(d().registrable("a.b.c.d.com"), "d.com");
}

#[test]
fn deceptive_links_are_l1() {
    assert_eq!(one("https://google.com@evil.example/login"), ("https://google.com@evil.example/login".into(), Level::L1, "evil.example".into()));
    assert_eq!(one("http://203.0.113.7/admin"), ("http://203.0.113.7/admin".into(), Level::L1, "203.0.113.7".into()));
    assert_eq!(one("http://[2001:db8::1]:8080/").1, Level::L1);
    assert_eq!(one("http://0x7f000001/").1, Level::L1);
    assert_eq!(one("https://xn--pple-43d.com/").1, Level::L1);
    // Cyrillic "а" in apple.com.
    assert_eq!(one("https://\u{0430}pple.com/id"), ("https://\u{0430}pple.com/id".into(), Level::L1, "\u{0430}pple.com".into()));
    assert_eq!(one("http://%65vil.com/").1, Level::L1);
    assert_eq!(one("www.google.com@evil.xyz/login").1, Level::L1);
    assert_eq!(one("<a href=\"javascript:alert(document.cookie)\">x</a>"), ("javascript:alert(document.cookie)".into(), Level::L1, "javascript:".into()));
    assert_eq!(one("vbscript:msgbox(1)").1, Level::L1);
    none("<a href=\"javascript:void(0)\">");
}

#[test]
fn data_urls() {
    assert_eq!(one("open data:text/html;base64,PHNjcmlwdD4= please").1, Level::L2);
    assert_eq!(one("img data:image/png;base64,iVBORw0KGgo=").1, Level::L4);
}

#[test]
fn www_and_bare_forms() {
    assert_eq!(one("go to www.evil-site.xyz today"), ("www.evil-site.xyz".into(), Level::L3, "evil-site.xyz".into()));
    assert_eq!(one("go to www.evil-site.xyz/login."), ("www.evil-site.xyz/login".into(), Level::L3, "evil-site.xyz".into()));
    assert_eq!(one("visit example.xyz/login"), ("example.xyz/login".into(), Level::L4, "example.xyz".into()));
    assert_eq!(one("(see paypal-secure.co.uk/verify)"), ("paypal-secure.co.uk/verify".into(), Level::L4, "paypal-secure.co.uk".into()));
    none("visit example.xyz today");
}

#[test]
fn loopback_is_l3() {
    assert_eq!(one("curl http://localhost:8080/health").1, Level::L3);
    assert_eq!(one("curl http://127.0.0.1:8080/health").2, "127.0.0.1");
}

#[test]
fn allowlisted_domains_and_subdomains() {
    none("https://docs.python.org/3/library/os.html and https://github.com/rust-lang/rust");
    none("www.google.com, https://en.wikipedia.org/wiki/Rust_(programming_language).");
    none("see developer.mozilla.org/en-US/docs/Web and stackoverflow.com/questions/1");
    none("HTTPS://WWW.YOUTUBE.COM/watch?v=abc");
    let h = hits("https://en.wikipedia.org/wiki/Rust_(programming_language) and (https://evil.xyz/a)");
    assert_eq!(h, vec![("https://evil.xyz/a".into(), Level::L2, "evil.xyz".into())]);
}

#[test]
fn nested_link_in_allowlisted_url() {
    let h = hits("https://www.google.com/url?q=https://evil.xyz/login");
    assert_eq!(h, vec![("https://evil.xyz/login".into(), Level::L2, "evil.xyz".into())]);
}

#[test]
fn policy_allowlist() {
    let det = UnknownLinks::new(&["Corp.Example".into(), "*.intranet.io".into(), "10.0.0.5".into()], true);
    assert!(det.is_ok());
    let det = det.ok();
    assert!(hits_with(det.as_ref(), "https://wiki.corp.example/x https://corp.example https://a.intranet.io/ http://10.0.0.5/").is_empty());
    assert_eq!(hits_with(det.as_ref(), "http://10.0.0.6/ https://notcorp.example/").len(), 2);
    // Without the built-in list, big sites are unknown too.
    let bare = UnknownLinks::new(&["corp.example".into()], false).ok();
    assert_eq!(hits_with(bare.as_ref(), "https://github.com/x https://corp.example/").len(), 1);
}

#[test]
fn bad_allowlist_entries_are_config_errors() {
    for (entry, why) in [
        ("https://example.com", "scheme"),
        ("example.com/path", "path"),
        ("example.com:443", "port"),
        ("", "empty"),
        ("exa mple.com", "only letters"),
        ("ex_ample.com", "only letters"),
        ("bücher.de", "only letters"),
        ("-bad.com", "invalid label"),
        ("a..com", "empty label"),
        ("com", "public suffix"),
        ("co.uk", "public suffix"),
    ] {
        let err = UnknownLinks::new(&["ok.com".into(), entry.into()], true).err().unwrap_or_default();
        assert!(err.starts_with("allowed_domains[1]: "), "{entry:?}: {err}");
        assert!(err.contains(why), "{entry:?}: {err}");
    }
}

#[test]
fn bad_allowlist_entry_is_located_in_the_config() {
    let json = r#"{"policies":{"p":{"sensitivity":"L2","detectors":{"unknown_links":{}},"allowed_domains":["ok.com","https://x.com/a"]}}}"#;
    let e = crate::config::Config::compile(json.as_bytes()).err();
    assert_eq!(e.as_ref().map(|e| e.field.as_str()), Some("policies.p.allowed_domains[1]"));
    assert!(e.is_some_and(|e| e.message.contains("without a scheme")));
    let ok = r#"{"policies":{"p":{"sensitivity":"L2","detectors":{"unknown_links":{}},"allowed_domains":["Corp.Example","*.intranet.io"]}}}"#;
    assert!(crate::config::Config::compile(ok.as_bytes()).is_ok());
}

#[test]
fn builtin_list_is_valid() {
    let n = BUILTIN.lines().map(|l| l.split('#').next().unwrap_or("").trim()).filter(|l| !l.is_empty()).count();
    assert!((150..=300).contains(&n), "{n}");
    assert_eq!(d().allowed.len(), n, "duplicates in domains.txt");
    assert_eq!(UnknownLinks::new(&[], false).map(|d| d.allowed.len()), Ok(0));
}

#[test]
fn hard_negatives() {
    none("mail bob@example.com or bob@evil-site.xyz, thanks");
    none("open report.pdf, main.rs, config.yaml and index.html");
    none("see src/main.rs/ and lib/setup.py/ and docs/index.html");
    none("version 1.2.3 and v2.0.1/3 costs 3.50, ratio 0.75/1");
    none("e.g. this, i.e. that, etc.");
    none("os.path.join, self.name, console.log(x), window.location.href = y");
    none("Node.js/Express and TCP/IP and km/h and and/or");
    none("");
    none("plain text without links");
}

#[test]
fn trailing_punctuation_and_markup() {
    assert_eq!(one("[click](https://evil.xyz/a)").0, "https://evil.xyz/a");
    assert_eq!(one("\"https://evil.xyz/a\",").0, "https://evil.xyz/a");
    assert_eq!(one("<https://evil.xyz/a>").0, "https://evil.xyz/a");
    assert_eq!(one("**https://evil.xyz/a**").0, "https://evil.xyz/a");
}

#[test]
fn non_ascii_surroundings() {
    assert_eq!(one("访问https://evil.xyz/login。谢谢").0, "https://evil.xyz/login");
    assert_eq!(one("Besuchen Sie «www.böse-seite.de/anmelden» jetzt").1, Level::L1);
    assert_eq!(one("https://evil.xyz/pfad/über").0, "https://evil.xyz/pfad/über");
    none("日本語のテキスト。ｗｗｗ なし");
}

#[test]
fn findings_sorted_and_disjoint() {
    let s = "a.xyz/1 https://b.xyz/2 www.c.xyz/3 http://1.2.3.4/ javascript:x()";
    let (_, out) = findings(d(), s);
    assert_eq!(out.len(), 5);
    assert!(out.windows(2).all(|w| w[0].end <= w[1].start));
}

/// Deterministic mixes of tricky fragments keep the scan invariants (see the helper).
#[test]
fn mixed_inputs_do_not_panic() {
    assert_scan_invariants(d(), MIXED_FRAGMENTS, 1500, 40);
}
