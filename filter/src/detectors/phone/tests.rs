use super::*;
use crate::detectors::testing::{assert_none, assert_scan_invariants, only, texts, NUMERIC_FRAGMENTS};

fn hits(s: &str) -> Vec<String> {
    texts(&Phone::new().unwrap(), s)
}

/// The single finding's text and level.
fn one(s: &str) -> (String, Level) {
    let (m, l, _) = only(&Phone::new().unwrap(), s);
    (m, l)
}

#[test]
fn compiles() {
    assert!(Phone::new().is_ok());
}

#[test]
fn international_grouped_is_l1() {
    for n in [
        "+1 415 555 2671",
        "+44 20 7946 0958",
        "+49 30 12345678",
        "+33 1 23 45 67 89",
        "+91 98765 43210",
        "+81 3-1234-5678",
        "+44 (0)20 7946 0958",
        "+49 (0) 30 12345678",
        "+1 (415) 555-2671",
        "+1-415-555-2671",
        "+7 495 123-45-67",
        "+352 26 12 34 56",
        "+86 138 0013 8000",
    ] {
        assert_eq!(one(&format!("Reach the office at {n}.")), (n.to_string(), Level::L1), "{n}");
    }
}

#[test]
fn international_other_forms() {
    assert_eq!(one("+14155552671"), ("+14155552671".into(), Level::L2));
    assert_eq!(one("whatsapp: +447911123456"), ("+447911123456".into(), Level::L1));
    assert_eq!(one("0044 20 7946 0958"), ("0044 20 7946 0958".into(), Level::L2));
    assert_eq!(one("00 44 20 7946 0958").1, Level::L2);
    assert_eq!(one("tel 0044 20 7946 0958").1, Level::L1);
    // Unassigned country code (28x); too many digits for E.164 (16).
    assert!(hits("+280 1234 5678 and +4420794609581234").is_empty());
    // Space-joined trailing digits are cut off, at one step less certainty.
    assert_eq!(one("+1 415 555 2671 1234 5"), ("+1 415 555 2671".into(), Level::L2));
}

#[test]
fn nanp_formats() {
    assert_eq!(one("(415) 555-2671"), ("(415) 555-2671".into(), Level::L1));
    assert_eq!(one("(415)555-2671"), ("(415)555-2671".into(), Level::L1));
    assert_eq!(one("415-555-2671"), ("415-555-2671".into(), Level::L1));
    assert_eq!(one("1-800-555-0199"), ("1-800-555-0199".into(), Level::L1));
    assert_eq!(one("1 (800) 555-0199"), ("1 (800) 555-0199".into(), Level::L1));
    assert_eq!(one("415.555.2671"), ("415.555.2671".into(), Level::L2));
    assert_eq!(one("415 555 2671"), ("415 555 2671".into(), Level::L3));
    assert_eq!(one("my cell is 415 555 2671"), ("415 555 2671".into(), Level::L1));
    assert_eq!(one("(call 415-555-2671)"), ("415-555-2671".into(), Level::L1));
    // Area or exchange starting with 0/1, N11 area codes: only the dashed or parenthesised
    // shapes, and less certain.
    assert_eq!(one("call 555-123-4567").1, Level::L1);
    assert_eq!(one("555-123-4567"), ("555-123-4567".into(), Level::L2));
    assert_eq!(one("(123) 456-7890").1, Level::L2);
    assert!(hits("115.555.2671 415 155 2671 911.555.2671").is_empty());
    assert_eq!(one("Phone: 555.123.4567").1, Level::L3);
}

#[test]
fn national_formats() {
    for n in [
        "020 7946 0958",
        "01 23 45 67 89",
        "01.23.45.67.89",
        "030 12345678",
        "03-1234-5678",
        "090-1234-5678",
        "089/1234567",
        "(020) 7946 0958",
        "(030) 1234-5678",
        "06-12345678",
    ] {
        assert_eq!(one(&format!("ring {n} ok")), (n.to_string(), Level::L2), "{n}");
        assert_eq!(one(&format!("Phone: {n}")).1, Level::L1, "{n}");
    }
}

#[test]
fn bare_digits_need_context() {
    assert!(hits("4155552671").is_empty());
    assert_eq!(one("call me at 4155552671"), ("4155552671".into(), Level::L3));
    assert_eq!(one("tel: 02079460958").1, Level::L3);
    assert_eq!(one("mobile 14155552671").1, Level::L3);
    assert_eq!(one("fax 123456789").1, Level::L4);
    assert_eq!(one("reach me at 0044207946095").1, Level::L3);
    assert_eq!(one("4155552671 is my phone").1, Level::L3);
    assert!(hits("call 1234 or 123456 or 1234567890123456").is_empty());
}

#[test]
fn neighbours_make_it_less_certain() {
    assert_eq!(one("2024-01-15 415-555-2671"), ("415-555-2671".into(), Level::L2));
    assert_eq!(one("Room 12 (415) 555-2671"), ("(415) 555-2671".into(), Level::L2));
    // All spaces: no way to tell the phone from its neighbours.
    assert!(hits("call 020 7946 0958 2 times").is_empty());
    assert_eq!(
        hits("415-555-2671 or 415-555-2672, +44 20 7946 0958"),
        vec!["415-555-2671", "415-555-2672", "+44 20 7946 0958"]
    );
}

#[test]
fn reference_words_drop_weak_shapes() {
    assert!(hits("Order 0123 4567 89 shipped").is_empty());
    assert!(hits("ticket #020 7946 0958").is_empty());
    assert!(hits("invoice 415.555.2671").is_empty());
    // A strong shape stays.
    assert_eq!(hits("order line (415) 555-2671"), vec!["(415) 555-2671"]);
}

#[test]
fn non_ascii_surroundings() {
    assert_eq!(one("Appelez-moi au 01 23 45 67 89, s'il vous plaît."), ("01 23 45 67 89".into(), Level::L2));
    assert_eq!(one("Mon téléphone : 01 23 45 67 89").1, Level::L1);
    assert_eq!(one("電話番号は03-1234-5678です"), ("03-1234-5678".into(), Level::L1));
    assert_eq!(one("連絡先：+81 3-1234-5678。"), ("+81 3-1234-5678".into(), Level::L1));
    // Full-width digits and plus fold under NFKC.
    assert_eq!(one("＋１ ４１５ ５５５ ２６７１").0, "+1 415 555 2671");
    assert_eq!(one("éééééééééééééééééééééééééééé 415-555-2671").1, Level::L1);
}

#[test]
fn hard_negatives() {
    let negatives = [
        "on 2024-01-15 and 15.01.2024 and 01/02/2024 and 2024/01/15",
        "at 12:30:45 or 10.30 or 09:15",
        "version 1.2.3 and 10.0.19041.1 and 2.31.0-1",
        "server 192.168.1.1 and 10.0.0.1 and 172.16.254.100",
        "card 4111 1111 1111 1111 or 4111-1111-1111-1111 or 4111111111111111",
        "ISBN 978-3-16-148410-0 and 0-306-40615-2 and 978 0 306 40615 7",
        "order #12345678 costs $1,234.56 or €1.234.567,89",
        "the war lasted 1999-2004 and 2010-2015",
        "3 + 4 = 7 and 12 * 34 - 56 / 78 and 2+2=4 and 100 - 200 - 3000",
        "zip 62704-1234 and ssn 536-22-1234",
        "ratio 1/2/3 and scores 10 20 30 40 50 60",
        "01-02-2024-10 and 010.000.000.001",
        "IBAN DE89 3704 0044 0532 0130 00",
        "+5 10 20 30 40",
        "$415-555-2671 and 415-555-2671%",
        "id415-555-2671 and 415-555-2671abc",
        "DE89 3704 0044 0532 0130 00 and X1 020 7946 0958",
        "lottery 04 15 23 42 08 16 and ssn 078-05-1120",
    ];
    for s in negatives {
        assert_none(&Phone::new().unwrap(), s);
    }
}

/// Pseudo-random inputs from this alphabet keep the scan invariants (see the helper).
#[test]
fn fuzz_invariants() {
    let alphabet = [NUMERIC_FRAGMENTS, &["call ", "tel"]].concat();
    assert_scan_invariants(&Phone::new().unwrap(), &alphabet, 3000, 48);
}
