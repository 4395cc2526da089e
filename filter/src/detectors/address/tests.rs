use super::*;
use crate::detectors::testing::{assert_none, assert_scan_invariants, only, scan_str, texts, NUMERIC_FRAGMENTS};

fn hits(s: &str) -> Vec<String> {
    texts(&Address::new().unwrap(), s)
}

fn one(s: &str) -> (String, Level) {
    let (m, l, _) = only(&Address::new().unwrap(), s);
    (m, l)
}

#[test]
fn compiles() {
    assert!(Address::new().is_ok());
}

#[test]
fn full_addresses_are_l1() {
    for a in [
        "123 Main Street, Springfield, IL 62704",
        "1600 Pennsylvania Avenue NW, Washington, DC 20500",
        "1 Infinite Loop, Cupertino, CA 95014",
        "350 Fifth Ave, New York, NY 10118-0110",
        "221B Baker St, Apt 4B, Boston, MA 02116",
        "742 Evergreen Terrace, Springfield, Oregon 97403",
        "12 N Martin Luther King Jr Blvd, St. Louis, MO 63106",
        "500 W 5th St Suite 200, Austin, Texas 78701",
    ] {
        assert_eq!(one(&format!("Ship it to {a}. Thanks!")), (a.to_string(), Level::L1), "{a}");
    }
    assert_eq!(one("Send to:\n123 Main St\nSpringfield, IL 62704\n").1, Level::L1);
}

#[test]
fn partial_addresses() {
    assert_eq!(one("I live at 42 Elm Street, Apt 3"), ("42 Elm Street, Apt 3".into(), Level::L2));
    assert_eq!(one("office: 100 Oak Rd Suite 200."), ("100 Oak Rd Suite 200".into(), Level::L2));
    assert_eq!(one("at 9 Pine Ct #12 today"), ("9 Pine Ct #12".into(), Level::L2));
    assert_eq!(one("5 Maple Dr, Unit 5"), ("5 Maple Dr, Unit 5".into(), Level::L2));
    assert_eq!(one("12 Oak Lane, Springfield, IL"), ("12 Oak Lane, Springfield, IL".into(), Level::L2));
    assert_eq!(one("meet at 10 Downing Street tomorrow"), ("10 Downing Street".into(), Level::L3));
    assert_eq!(one("1234 Sunset Blvd."), ("1234 Sunset Blvd.".into(), Level::L3));
    assert_eq!(one("88 South Harbor Way"), ("88 South Harbor Way".into(), Level::L3));
    assert_eq!(hits("from 1 Main St to 2 Oak Ave"), vec!["1 Main St", "2 Oak Ave"]);
}

#[test]
fn lower_case_is_less_certain() {
    assert_eq!(one("123 main st, springfield, IL 62704").1, Level::L2);
    assert_eq!(one("i live at 45 oak street").1, Level::L4);
    assert_eq!(one("it's 2 way street").1, Level::L4);
    // A "city" of function words is prose: the street alone is reported.
    assert_eq!(one("12 Oak Street, and in Texas it is hot"), ("12 Oak Street".into(), Level::L3));
}

#[test]
fn po_boxes() {
    let h = scan_str(&Address::new().unwrap(), "mail to PO Box 123 please");
    assert_eq!(h, vec![("PO Box 123".to_string(), Level::L2, vec!["po_box".to_string()])]);
    assert_eq!(one("P.O. Box 4567, Springfield, IL 62704").1, Level::L1);
    assert_eq!(one("Post Office Box 9").0, "Post Office Box 9");
}

#[test]
fn non_ascii_surroundings() {
    assert_eq!(one("Mon adresse aux États-Unis : 123 Main Street, Springfield, IL 62704 — merci !").1, Level::L1);
    assert_eq!(one("住所は123 Main St, Springfield, IL 62704です").0, "123 Main St, Springfield, IL 62704");
    assert_eq!(one("Café near 77 Elm Street, naïve ü").0, "77 Elm Street");
}

#[test]
fn hard_negatives() {
    let negatives = [
        "I have 3 main problems with this",
        "500 Internal Server Error",
        "Route 66 was fun",
        "in chapter 12 drive the point home",
        "it's a 2 way street",
        "a 2 Way Street",
        "we drove 30 miles down the road",
        "turn left after 2 blocks onto Oak Street",
        "it cost 200 dollars on Main Street",
        "In 2008 Wall Street collapsed",
        "Top 5 Wall Street banks",
        "I live on 5th Avenue",
        "sold 3 Tesla Model S cars",
        "$20 Main St",
        "1.5 Oak Dr",
        "007 Bond Street",
        "we need 2 Lane Roads",
    ];
    for s in negatives {
        assert_none(&Address::new().unwrap(), s);
    }
}

/// Pseudo-random inputs from this alphabet keep the scan invariants (see the helper).
#[test]
fn fuzz_invariants() {
    let alphabet = [NUMERIC_FRAGMENTS, &[" Main", " St", " Ave", ", IL", " Springfield", "PO Box", " Apt"]].concat();
    assert_scan_invariants(&Address::new().unwrap(), &alphabet, 3000, 48);
}
