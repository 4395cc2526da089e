use super::*;
use crate::detectors::testing::{assert_scan_invariants, joined, only, texts, NUMERIC_FRAGMENTS};

fn hits(s: &str) -> Vec<String> {
    texts(&IpAddress::new().unwrap(), s)
}

fn one(s: &str) -> (String, Level, String) {
    joined(only(&IpAddress::new().unwrap(), s))
}

#[test]
fn compiles() {
    assert!(IpAddress::new().is_ok());
}

#[test]
fn ipv4_levels() {
    assert_eq!(one("connect to 1.0.0.19 now"), ("1.0.0.19".into(), Level::L1, "ipv4".into()));
    assert_eq!(one("connect to 8.8.4.4 now"), ("8.8.4.4".into(), Level::L3, "ipv4".into()));
    assert_eq!(one("server 93.184.216.34."), ("93.184.216.34".into(), Level::L1, "ipv4".into()));
    for private in [
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "127.0.0.1",
        "169.254.1.1",
        "100.64.0.1",
        "192.0.2.1",
        "198.51.100.7",
        "203.0.113.9",
        "224.0.0.1",
        "240.0.0.1",
    ] {
        assert_eq!(one(&format!("host {private}")).1, Level::L3, "{private}");
    }
    assert_eq!(one("bind 0.0.0.0").1, Level::L4);
    assert_eq!(one("255.255.255.255").1, Level::L4);
}

#[test]
fn ipv4_cidr_and_ports() {
    assert_eq!(hits("route 10.0.0.0/8 and 203.0.113.0/24"), vec!["10.0.0.0/8", "203.0.113.0/24"]);
    assert_eq!(hits("1.1.1.1/33 is not a prefix"), vec!["1.1.1.1"]);
    assert_eq!(hits("10.0.0.0/8. Done"), vec!["10.0.0.0/8"]);
    assert_eq!(hits("1::/0::ff"), vec!["1::", "0::ff"]);
    assert_eq!(hits("http://93.184.216.34:8080/index"), vec!["93.184.216.34"]);
    assert_eq!(hits("range 10.0.0.1-10.0.0.9"), vec!["10.0.0.1", "10.0.0.9"]);
}

#[test]
fn ipv6_forms_and_levels() {
    assert_eq!(one("use 2606:4700:4700::1111 please"), ("2606:4700:4700::1111".into(), Level::L1, "ipv6".into()));
    assert_eq!(one("2607:f8b0:4005:080a:0000:0000:0000:200e").1, Level::L1);
    assert_eq!(one("loopback ::1").1, Level::L3);
    assert_eq!(one("fe80::1ff:fe23:4567:890a%eth0").0, "fe80::1ff:fe23:4567:890a");
    assert_eq!(one("fe80::1ff:fe23:4567:890a").1, Level::L3);
    assert_eq!(one("fd12:3456:789a:1::1").1, Level::L3);
    assert_eq!(one("doc 2001:db8::1").1, Level::L3);
    assert_eq!(one("listen on ::").1, Level::L4);
    assert_eq!(one("prefix 2001:db8:abcd::/48").0, "2001:db8:abcd::/48");
    assert_eq!(one("[2a00:1450:4001:81c::200e]:443").0, "2a00:1450:4001:81c::200e");
    assert_eq!(one("address: 2a00:1450::1.").0, "2a00:1450::1");
}

#[test]
fn ipv4_mapped_ipv6() {
    assert_eq!(one("::ffff:192.168.1.1"), ("::ffff:192.168.1.1".into(), Level::L3, "ipv6".into()));
    assert_eq!(one("::ffff:8.8.8.8").1, Level::L1);
}

#[test]
fn code_like_ipv6_is_l4() {
    assert_eq!(one("dead::beef").1, Level::L4);
}

#[test]
fn non_ascii_surroundings() {
    assert_eq!(hits("L'adresse du serveur est 93.184.216.34, n'est-ce pas ?"), vec!["93.184.216.34"]);
    assert_eq!(hits("サーバーのIPは192.168.0.10です"), vec!["192.168.0.10"]);
    assert_eq!(hits("アドレス：2001:db8::8a2e:370:7334。"), vec!["2001:db8::8a2e:370:7334"]);
    assert_eq!(hits("版本 1.2.3.4 éé"), vec!["1.2.3.4"]);
    assert_eq!(hits("IPアドレス：203.0.113.77、ポート8080"), vec!["203.0.113.77"]);
}

#[test]
fn hard_negatives() {
    // Versions and dotted numbers.
    assert!(hits("1.2.3 and 1.2.3.4.5 and 10.0.0.1.2").is_empty());
    assert!(hits("version 1.2.3.4, v 4.3.2.1, ver. 1.0.0.1, build: 5.6.7.8, v1.2.3.4").is_empty());
    assert!(hits("see § 1.2.3.4 and section 2.1.4.3").is_empty());
    // ...but networking words are not version words.
    assert_eq!(hits("firewall rule 10.0.0.1, routing table 10.0.0.0/8"), vec!["10.0.0.1", "10.0.0.0/8"]);
    // Out of range or leading zeros.
    assert!(hits("256.1.1.1 and 192.168.01.1 and 1.2.3.400").is_empty());
    // Timestamps, ratios, MAC addresses, EUI-64, hashes.
    assert!(hits("at 12:30:45 and 2024-01-15T12:30:45.123Z, ratio 1:2:3").is_empty());
    assert!(hits("mac 00:1A:2B:3C:4D:5E and 00:1a:2b:ff:fe:3c:4d:5e").is_empty());
    assert!(hits("sha e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855").is_empty());
    assert!(hits("fingerprint 16:27:ac:a5:76:28:2d:36:63:1b:56:4d:eb:df:a6:48").is_empty());
    // C++ and Rust paths.
    assert!(hits("std::vector<int> v; Vec::new(); a::b::c; ::std::string; foo::bar").is_empty());
    // Hostnames containing digits.
    assert!(hits("a.1.2.3.4 and 1.2.3.4.nip.io and ip-10-0-0-1").is_empty());
}

/// Pseudo-random inputs from this alphabet keep the scan invariants (see the helper).
#[test]
fn fuzz_invariants() {
    let alphabet = [NUMERIC_FRAGMENTS, &["::", "ff", "fe80", "255", "192.168", "/24", "v"]].concat();
    assert_scan_invariants(&IpAddress::new().unwrap(), &alphabet, 3000, 48);
}
