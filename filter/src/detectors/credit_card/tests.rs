use super::*;
use crate::detectors::testing::{assert_scan_invariants, joined, only, texts, NUMERIC_FRAGMENTS};

fn hits(s: &str) -> Vec<String> {
    texts(&CreditCard::new().unwrap(), s)
}

fn one(s: &str) -> (String, Level, String) {
    joined(only(&CreditCard::new().unwrap(), s))
}

#[test]
fn compiles() {
    assert!(CreditCard::new().is_ok());
}

#[test]
fn luhn_and_prefix() {
    assert!(luhn(b"4111111111111111"));
    assert!(luhn(b"79927398713"));
    assert!(!luhn(b"4111111111111112"));
    assert_eq!(prefix(b"622126", 6), 622126);
}

#[test]
fn issuers_are_l1_with_label() {
    let cases = [
        ("4111111111111111", "visa"),
        ("4222222222222", "visa"),
        ("4111 1111 1111 1111 003", "visa"),
        ("5555 5555 5555 4444", "mastercard"),
        ("2223-0031-2200-3222", "mastercard"),
        ("3782 822463 10005", "amex"),
        ("371449635398431", "amex"),
        ("6011 1111 1111 1117", "discover"),
        ("6445644564456445", "discover"),
        ("6221260000000000", "discover"),
        ("3530 1113 3330 0000", "jcb"),
        ("3056 930902 5904", "diners"),
        ("36227206271667", "diners"),
        ("6200000000000005", "unionpay"),
        ("6759649826438453", "maestro"),
        ("5018000000000009", "maestro"),
    ];
    for (num, label) in cases {
        assert_eq!(one(&format!("card {num} thanks")), (num.to_string(), Level::L1, label.to_string()), "{num}");
    }
}

#[test]
fn unknown_issuer_is_l4() {
    // Luhn-valid, 16 digits, prefix 9 belongs to no card scheme.
    assert_eq!(one("ref 9999999999999995"), ("9999999999999995".into(), Level::L4, "unknown_issuer".into()));
    // Visa prefix with a length Visa does not issue.
    assert_eq!(one("411111111111116").1, Level::L4);
    assert_eq!(one("4111111111111110005").1, Level::L1);
}

#[test]
fn findings_in_order_and_surrounded_by_text() {
    assert_eq!(
        hits("first 4111-1111-1111-1111, then 5555555555554444."),
        vec!["4111-1111-1111-1111", "5555555555554444"]
    );
    assert_eq!(hits("4111 1111 1111 1111 12 items"), vec!["4111 1111 1111 1111"]);
    assert_eq!(hits("exp 12/25 4111 1111 1111 1111 cvv 123"), vec!["4111 1111 1111 1111"]);
}

#[test]
fn non_ascii_surroundings() {
    assert_eq!(hits("Ma carte bancaire est 4111 1111 1111 1111, merci."), vec!["4111 1111 1111 1111"]);
    assert_eq!(hits("カード番号は4111111111111111です"), vec!["4111111111111111"]);
    // Full-width digits are folded by NFKC before detectors run.
    assert_eq!(hits("番号：４１１１１１１１１１１１１１１１"), vec!["4111111111111111"]);
}

#[test]
fn hard_negatives() {
    // Luhn-invalid.
    assert!(hits("4111 1111 1111 1112").is_empty());
    // Part of a longer digit run or identifier.
    assert!(hits("41111111111111110").is_empty());
    assert!(hits("order 12341111111111111111").is_empty());
    assert!(hits("4111-1111-1111-1111-2222").is_empty());
    assert!(hits("id_4111111111111111 x4111111111111111 4111111111111111abc").is_empty());
    assert!(hits("total 3.4111111111111111 and 4111111111111111.5").is_empty());
    // Inside an IBAN or other alphanumeric identifier.
    assert!(hits("IBAN XX12 4111 1111 1111 1111 and ID4111 1111 1111 1111").is_empty());
    // Phone numbers.
    assert!(hits("call +1 415 555 2671 or +4111111111111111 or (415) 555-2671").is_empty());
    // All-same-digit placeholders.
    assert!(hits("0000 0000 0000 0000 and 4444444444444444").is_empty());
    // Mixed separators.
    assert!(hits("4111 1111-1111 1111").is_empty());
    assert!(hits("4111  1111  1111  1111").is_empty());
    // Thousands-style groups of three pass Luhn one time in ten but are not cards.
    assert!(hits("population 4 111 111 111 111 111").is_empty());
    // Leading zero: no issuer.
    assert!(hits("00441234567890").is_empty());
    // Too short / too long.
    assert!(hits("411111111111 and 41111111111111111111").is_empty());
}

/// Pseudo-random inputs from this alphabet keep the scan invariants (see the helper).
#[test]
fn fuzz_invariants() {
    assert_scan_invariants(&CreditCard::new().unwrap(), NUMERIC_FRAGMENTS, 3000, 48);
}
