//! `pii/ip_address`: IPv4 and IPv6 addresses, labelled `ipv4` or `ipv6`.
//!
//! IPv4 is a dotted quad of decimal octets 0-255 without leading zeros, not part of a longer
//! dotted number (`1.2.3.4.5`), not glued to a word (`v1.2.3.4`) and not introduced by a
//! version or section word ("version 1.2.3.4", "§ 1.2.3.4"). IPv6 candidates are maximal runs of
//! hex digits, colons and dots with at least two colons, parsed by `std::net::Ipv6Addr` (full,
//! `::`-compressed and IPv4-mapped forms); eight groups of exactly two hex digits are a MAC or
//! EUI-64, not an address. A CIDR suffix (`/24`, `/64`) in range is always included in the span.
//!
//! Levels: public unicast -> `L1`; private, loopback, link-local, CGNAT, documentation,
//! multicast and other reserved ranges -> `L3`; unspecified and broadcast (`0.0.0.0`,
//! `255.255.255.255`, `::`) -> `L4`. An IPv4-mapped IPv6 address takes its IPv4 level. Two
//! ambiguous shapes are graded down: four one-digit parts (`1.2.3.4`, an outline number as often
//! as an address) are at most `L3`, and a compressed IPv6 address with no decimal digit at all
//! (`dead::beef`) reads like code (`a::b`) and is `L4`.

use std::net::{Ipv4Addr, Ipv6Addr};

use regex::Regex;

use super::{Detector, Finding};
use crate::policy::Level;
use crate::text::NormText;

pub struct IpAddress {
    v4: Regex,
    v6: Regex,
    /// A word that makes the dotted number a version, section or similar.
    not_ip: Regex,
}

impl IpAddress {
    pub fn new() -> Result<Self, String> {
        // Maximal dotted decimal runs: the code keeps those of exactly four parts.
        let v4 = Regex::new(r"[0-9]+(?:\.[0-9]+)+").map_err(|e| e.to_string())?;
        // Maximal runs of hex digits, colons and dots containing at least two colons.
        let v6 = Regex::new(r"[0-9A-Fa-f.]*:[0-9A-Fa-f.:]*:[0-9A-Fa-f.:]*").map_err(|e| e.to_string())?;
        let not_ip = Regex::new(
            r"(?i)(?:(?-u:\b)(?:v|ver|version|versions|release|rel|build|firmware|revision|rev|kernel|section|sec|chapter|ch|figure|fig|clause|article|para|paragraph)|§)[.:#]?\s*$",
        )
        .map_err(|e| e.to_string())?;
        Ok(IpAddress { v4, v6, not_ip })
    }
}

impl Detector for IpAddress {
    fn scan(&self, text: &NormText, out: &mut Vec<Finding>) {
        let t = &text.text;
        let b = t.as_bytes();
        let mut found = Vec::new();
        if b.iter().filter(|&&c| c == b':').count() >= 2 {
            for m in self.v6.find_iter(t) {
                if let Some(f) = v6_finding(b, m.start(), m.end()) {
                    found.push(f);
                }
            }
        }
        if b.iter().filter(|&&c| c == b'.').count() >= 3 {
            let v6_count = found.len();
            // Index of the first IPv6 finding that may overlap: both lists are in text order.
            let mut k = 0;
            for m in self.v4.find_iter(t) {
                let Some(f) = v4_finding(b, m.start(), m.end()) else { continue };
                while k < v6_count && found.get(k).is_some_and(|g| g.end <= f.start) {
                    k += 1;
                }
                // The dotted tail of an IPv4-mapped IPv6 address is already reported.
                if k < v6_count && found.get(k).is_some_and(|g| g.start < f.end) {
                    continue;
                }
                if self.not_ip.is_match(window_before(t, f.start, 24)) {
                    continue;
                }
                found.push(f);
            }
        }
        found.sort_by_key(|f| (f.start, f.end));
        // Adjacent candidates can touch through a prefix length; keep the first of any overlap.
        let mut last_end = 0;
        for f in found {
            if f.start >= last_end {
                last_end = f.end;
                out.push(f);
            }
        }
    }
}

fn is_word(c: Option<u8>) -> bool {
    c.is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_')
}

fn v4_finding(b: &[u8], start: usize, end: usize) -> Option<Finding> {
    let prev = start.checked_sub(1).and_then(|i| b.get(i)).copied();
    let prev2 = start.checked_sub(2).and_then(|i| b.get(i)).copied();
    let next = b.get(end).copied();
    let next2 = b.get(end + 1).copied();
    // Glued to a word (`v1.2.3.4`, `1.2.3.4a`) or a dotted name (`a.1.2.3.4`, `1.2.3.4.example`).
    if is_word(prev)
        || is_word(next)
        || (prev == Some(b'.') && is_word(prev2))
        || (next == Some(b'.') && is_word(next2))
    {
        return None;
    }
    let addr = parse_v4(b.get(start..end)?)?;
    let mut level = v4_level(addr);
    // Four one-digit parts ("1.2.3.4", "2.5.5.2") are as often outline numbers or versions as
    // addresses; the public ones among them (1.1.1.1, 8.8.8.8) are resolvers, not personal data.
    if end - start == 7 {
        level = level.max(Level::L3);
    }
    let end = cidr(b, end, 32);
    Some(Finding { start, end, level, labels: vec!["ipv4".to_string()] })
}

/// Exactly four decimal octets, 0-255, no leading zeros.
fn parse_v4(s: &[u8]) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut n = 0;
    for part in s.split(|&c| c == b'.') {
        let slot = octets.get_mut(n)?;
        if part.is_empty() || part.len() > 3 || (part.len() > 1 && part.first() == Some(&b'0')) {
            return None;
        }
        let v = part.iter().try_fold(0u32, |acc, &c| c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0')))?;
        *slot = u8::try_from(v).ok()?;
        n += 1;
    }
    (n == 4).then(|| Ipv4Addr::from(octets))
}

fn v4_level(a: Ipv4Addr) -> Level {
    let [o0, o1, o2, _] = a.octets();
    if a.is_unspecified() || a.is_broadcast() {
        return Level::L4;
    }
    let non_public = a.is_private()
        || a.is_loopback()
        || a.is_link_local()
        || a.is_documentation()
        || a.is_multicast()
        || o0 == 0                                  // "this network"
        || o0 >= 240                                // reserved
        || (o0 == 100 && (64..128).contains(&o1))  // CGNAT 100.64/10
        || (o0 == 198 && (o1 == 18 || o1 == 19))   // benchmarking 198.18/15
        || (o0 == 192 && o1 == 0 && o2 == 0); // IETF protocol assignments
    if non_public {
        Level::L3
    } else {
        Level::L1
    }
}

fn v6_finding(b: &[u8], start: usize, end: usize) -> Option<Finding> {
    let (mut s, mut e) = (start, end);
    // Sentence punctuation and a lone colon ("address: ::1", "at 2001:db8::1:") are not part of
    // the address; a double colon is.
    while s < e && b.get(s) == Some(&b'.') {
        s += 1;
    }
    while e > s && b.get(e - 1) == Some(&b'.') {
        e -= 1;
    }
    if b.get(s) == Some(&b':') && b.get(s + 1) != Some(&b':') {
        s += 1;
    }
    if e >= s + 2 && b.get(e - 1) == Some(&b':') && b.get(e - 2) != Some(&b':') {
        e -= 1;
    }
    let tok = b.get(s..e)?;
    // `std::vector`, `Vec::new`, `0x1f::` are code, not addresses.
    if is_word(s.checked_sub(1).and_then(|i| b.get(i)).copied()) || is_word(b.get(e).copied()) {
        return None;
    }
    let addr: Ipv6Addr = std::str::from_utf8(tok).ok()?.parse().ok()?;
    let compressed = tok.windows(2).any(|w| w == b"::");
    if !compressed && tok.split(|&c| c == b':').all(|g| g.len() == 2) {
        return None;
    }
    let mut level = v6_level(addr);
    if compressed && !tok.iter().any(u8::is_ascii_digit) {
        level = Level::L4;
    }
    let e = cidr(b, e, 128);
    Some(Finding { start: s, end: e, level, labels: vec!["ipv6".to_string()] })
}

fn v6_level(a: Ipv6Addr) -> Level {
    if a.is_unspecified() {
        return Level::L4;
    }
    if let Some(v4) = a.to_ipv4_mapped() {
        return v4_level(v4);
    }
    let [s0, s1, ..] = a.segments();
    // Global unicast is 2000::/3; 2001:db8::/32 inside it is documentation.
    let global = (s0 & 0xe000) == 0x2000 && !(s0 == 0x2001 && s1 == 0x0db8);
    if global {
        Level::L1
    } else {
        Level::L3
    }
}

/// A prefix length `/N` (N <= `max`, no leading zero, not followed by a digit) right after
/// `end`: returns the end including it, else `end`.
fn cidr(b: &[u8], end: usize, max: u32) -> usize {
    if b.get(end) != Some(&b'/') {
        return end;
    }
    let digits = b.get(end + 1..).unwrap_or(&[]).iter().take_while(|c| c.is_ascii_digit()).count();
    let Some(num) = b.get(end + 1..end + 1 + digits) else { return end };
    // `/8` must end there: not `/8a`, `/8:…` (the start of another address) or `/8.5`.
    let after = b.get(end + 1 + digits).copied();
    let continues = is_word(after)
        || matches!(after, Some(b':' | b'/'))
        || (after == Some(b'.') && is_word(b.get(end + 2 + digits).copied()));
    if !(1..=3).contains(&digits) || (digits > 1 && num.first() == Some(&b'0')) || continues {
        return end;
    }
    let v = num.iter().fold(0u32, |acc, &c| acc * 10 + u32::from(c - b'0'));
    if v <= max {
        end + 1 + digits
    } else {
        end
    }
}

fn window_before(t: &str, pos: usize, n: usize) -> &str {
    let mut a = pos.saturating_sub(n);
    while a < pos && !t.is_char_boundary(a) {
        a += 1;
    }
    t.get(a..pos).unwrap_or("")
}

#[cfg(test)]
mod tests;
