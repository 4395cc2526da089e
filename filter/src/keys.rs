//! API keys that pick a project: only SHA-256 digests are kept, and a presented key is compared
//! with every configured digest in constant time.
//!
//! Hashing is RustCrypto's `sha2`, the comparison `subtle`'s constant-time equality.

use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq;

pub type Digest = [u8; 32];

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> Digest {
    Sha256::digest(data).into()
}

/// Parses 64 hex digits.
pub fn parse_hex_digest(s: &str) -> Option<Digest> {
    let b = s.as_bytes();
    if b.len() != 64 {
        return None;
    }
    let nib = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    let mut out = [0u8; 32];
    for (i, pair) in b.chunks_exact(2).enumerate() {
        out[i] = (nib(pair[0])? << 4) | nib(pair[1])?;
    }
    Some(out)
}

/// Index of the entry whose digest equals the key's. Every entry is compared in full, with no
/// early exit, so the time does not depend on which entry (if any) matches or on how many
/// leading bytes agree. Configured digests are unique (checked when the config is compiled).
pub fn find(digests: &[Digest], key: &str) -> Option<usize> {
    let presented = sha256(key.as_bytes());
    let mut found: usize = 0;
    for (i, d) in digests.iter().enumerate() {
        // 1 when equal, 0 otherwise, without a branch on the bytes.
        let eq = usize::from(d.ct_eq(&presented).unwrap_u8());
        found |= eq.wrapping_mul(i + 1);
    }
    found.checked_sub(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(d: &Digest) -> String {
        d.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn sha256_standard_vectors() {
        assert_eq!(hex(&sha256(b"")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert_eq!(hex(&sha256(b"abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(
            hex(&sha256(b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        );
        assert_eq!(hex(&sha256(&[b'a'; 1_000_000])), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    }

    #[test]
    fn find_matches_only_the_exact_key() {
        let ds = [sha256(b"key-one"), sha256(b"key-two"), sha256(b"key-three")];
        assert_eq!(find(&ds, "key-two"), Some(1));
        assert_eq!(find(&ds, "key-one"), Some(0));
        assert_eq!(find(&ds, "key-three"), Some(2));
        assert_eq!(find(&ds, "key-tw"), None);
        assert_eq!(find(&ds, ""), None);
        assert_eq!(find(&[], "key-one"), None);
        assert_eq!(parse_hex_digest(&hex(&ds[0])), Some(ds[0]));
        assert_eq!(parse_hex_digest(&hex(&ds[0]).to_uppercase()), Some(ds[0]));
        assert_eq!(parse_hex_digest("abc"), None);
        assert_eq!(parse_hex_digest(&"g".repeat(64)), None);
    }
}
