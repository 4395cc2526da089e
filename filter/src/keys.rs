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
mod tests;
