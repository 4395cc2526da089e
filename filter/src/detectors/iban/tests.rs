use super::*;
use crate::detectors::testing::{assert_scan_invariants, only, texts, NUMERIC_FRAGMENTS};

fn hits(s: &str) -> Vec<String> {
    texts(&Iban::new().unwrap(), s)
}

#[test]
fn compiles_and_table_is_sorted() {
    assert!(Iban::new().is_ok());
    assert!(LENGTHS.windows(2).all(|w| w[0].0 < w[1].0));
    assert!(LENGTHS.len() >= 80);
    assert!(LENGTHS.iter().all(|&(_, n)| (MIN_LEN..=34).contains(&n)));
    assert_eq!(country_length(b"DE"), Some(22));
    assert_eq!(country_length(b"ZZ"), None);
}

#[test]
fn registry_examples_are_l1_with_country_label() {
    let examples = [
        "AD12 0001 2030 2003 5910 0100",
        "AT61 1904 3002 3457 3201",
        "BE68 5390 0754 7034",
        "BR18 0036 0305 0000 1000 9795 493C 1",
        "CH93 0076 2011 6238 5295 7",
        "DE89 3704 0044 0532 0130 00",
        "ES91 2100 0418 4502 0005 1332",
        "FR14 2004 1010 0505 0001 3M02 606",
        "GB29 NWBK 6016 1331 9268 19",
        "IT60 X054 2811 1010 0000 0123 456",
        "LC55 HEMM 0001 0001 0012 0012 0002 3015",
        "MT84 MALT 0110 0001 2345 MTLC AST0 01S",
        "NL91 ABNA 0417 1643 00",
        "NO93 8601 1117 947",
        "PL61 1090 1014 0000 0712 1981 2874",
        "SC18 SSCB 1101 0000 0000 0000 1497 USD",
    ];
    for iban in examples {
        let h = only(&Iban::new().unwrap(), &format!("Please pay to {iban}. Thanks"));
        assert_eq!(h, (iban.to_string(), Level::L1, vec![iban[..2].to_string()]));
    }
}

#[test]
fn contiguous_lowercase_and_several() {
    assert_eq!(hits("DE89370400440532013000"), vec!["DE89370400440532013000"]);
    assert_eq!(hits("iban: gb29nwbk60161331926819"), vec!["gb29nwbk60161331926819"]);
    assert_eq!(
        hits("from NL91ABNA0417164300 to BE68 5390 0754 7034 text"),
        vec!["NL91ABNA0417164300", "BE68 5390 0754 7034"]
    );
    // A trailing word of four characters or fewer is not part of the IBAN.
    assert_eq!(hits("BE68 5390 0754 7034 ok"), vec!["BE68 5390 0754 7034"]);
    assert_eq!(hits("NL91 ABNA 0417 1643 00 and more"), vec!["NL91 ABNA 0417 1643 00"]);
    // A rejected candidate does not hide the IBAN it ran into.
    assert_eq!(hits("ref AB12 DE89 3704 0044 0532 0130 00"), vec!["DE89 3704 0044 0532 0130 00"]);
}

#[test]
fn non_ascii_surroundings() {
    assert_eq!(
        hits("Virement sur le compte FR14 2004 1010 0505 0001 3M02 606, merci."),
        vec!["FR14 2004 1010 0505 0001 3M02 606"]
    );
    assert_eq!(hits("口座はDE89370400440532013000です"), vec!["DE89370400440532013000"]);
    assert_eq!(hits("Überweisung: DE89 3704 0044 0532 0130 00 — danke"), vec!["DE89 3704 0044 0532 0130 00"]);
}

#[test]
fn hard_negatives() {
    // Bad checksum.
    assert!(hits("DE88 3704 0044 0532 0130 00").is_empty());
    assert!(hits("GB28NWBK60161331926819").is_empty());
    // Wrong length for the country (DE is 22).
    assert!(hits("DE89 3704 0044 0532 0130 0").is_empty());
    assert!(hits("DE89370400440532013000123").is_empty());
    // Unknown country code.
    assert!(hits("ZZ89 3704 0044 0532 0130 00 and AA12BBBBCCCCDDDDEEEE").is_empty());
    // Random uppercase words and part of longer tokens.
    assert!(hits("THE QUICK BROWN FOX JUMPS OVER AB12 CDEF GHIJ KLMN").is_empty());
    assert!(hits("XDE89370400440532013000").is_empty());
    assert!(hits("DE89 3704 0044 0532 0130 00AB").is_empty());
    assert!(hits("sha DE89370400440532013000ff").is_empty());
}

#[test]
fn mod97() {
    assert!(mod97_is_one(b"GB82WEST12345698765432"));
    assert!(!mod97_is_one(b"GB82WEST12345698765433"));
    assert!(!mod97_is_one(b"GB82-WEST"));
}

/// Pseudo-random inputs from this alphabet keep the scan invariants (see the helper).
#[test]
fn fuzz_invariants() {
    let alphabet = [NUMERIC_FRAGMENTS, &["DE", "GB", "NL", "ab", "WEST", "89"]].concat();
    assert_scan_invariants(&Iban::new().unwrap(), &alphabet, 3000, 48);
}
