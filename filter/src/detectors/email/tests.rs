use super::*;
use crate::detectors::testing::{only, texts};

fn hits(s: &str) -> Vec<String> {
    texts(&Email::new().unwrap(), s)
}

#[test]
fn finds_addresses() {
    assert_eq!(hits("write to jane.doe+tag@mail.example.co.uk today"), vec!["jane.doe+tag@mail.example.co.uk"]);
    assert_eq!(hits("A@B.IO, c_d@e-f.org"), vec!["A@B.IO", "c_d@e-f.org"]);
}

#[test]
fn spelled_out_is_l3() {
    assert_eq!(only(&Email::new().unwrap(), "reach me at bob [at] example [dot] com").1, Level::L3);
}

#[test]
fn hard_negatives() {
    assert!(hits("meet me at 5 at the cafe").is_empty());
    assert!(hits("@mention and user@localhost and a@b").is_empty());
    assert!(hits("decorator @app.route('/x') and x@1.2.3.4").is_empty());
    assert!(hits("the ratio is 3@4.5").is_empty());
}
