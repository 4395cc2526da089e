use super::*;
use crate::detectors::testing::{assert_none, assert_scan_invariants, findings, only, scan_str, MIXED_FRAGMENTS};

static D: std::sync::OnceLock<Result<Profanity, String>> = std::sync::OnceLock::new();

fn d() -> &'static Profanity {
    D.get_or_init(Profanity::new).as_ref().unwrap()
}

fn hits(s: &str) -> Vec<(String, Level)> {
    scan_str(d(), s).into_iter().map(|(t, l, _)| (t, l)).collect()
}

fn one(s: &str) -> (String, Level) {
    let (t, l, _) = only(d(), s);
    (t, l)
}

fn none(s: &str) {
    assert_none(d(), s);
}

#[test]
fn lexicon_loads() {
    assert_eq!(D.get_or_init(Profanity::new).as_ref().err(), None);
    let n = d().len();
    assert!((150..=300).contains(&n), "{n}");
    assert!(!d().is_empty());
}

#[test]
fn tiers_map_to_levels_and_labels() {
    let h = scan_str(d(), "you faggot");
    assert_eq!((h[0].1, h[0].2.clone()), (Level::L1, vec!["slur".to_string()]));
    assert_eq!(one("what the fuck").1, Level::L2);
    assert_eq!(one("this is shit").1, Level::L2);
    assert_eq!(one("you cunt").1, Level::L2);
    assert_eq!(one("motherfucker!").0, "motherfucker");
    assert_eq!(one("such a bitch").1, Level::L3);
    assert_eq!(one("bastard").1, Level::L3);
    assert_eq!(one("asshole").1, Level::L3);
    assert_eq!(one("dick move").1, Level::L3);
    assert_eq!(one("damn it").1, Level::L4);
    assert_eq!(one("oh crap").1, Level::L4);
    assert_eq!(one("go to hell").1, Level::L4);
    assert_eq!(hits("bloody hell").len(), 2);
    assert_eq!(one("a chink in the armour").1, Level::L2);
}

#[test]
fn inflections_and_compounds() {
    for w in ["fucking", "fucked", "fucker", "clusterfuck", "fuckwit", "MotherFuckers"] {
        assert_eq!(one(&format!("you {w}.")), (w.to_string(), Level::L2), "{w}");
    }
    for w in ["bullshit", "horseshit", "dipshit", "shitty", "shithead"] {
        assert_eq!(one(w).1, Level::L2, "{w}");
    }
    assert_eq!(one("bitches").1, Level::L3);
    assert_eq!(one("dumbass").1, Level::L3);
}

#[test]
fn obfuscations() {
    for s in [
        "FUCK", "fuuuuuck", "f*ck", "fvck", "f.u.c.k", "f-u-c-k", "f u c k", "f_u_c_k", "F. U. C. K.", "phuck", "fück",
    ] {
        let h = hits(s);
        assert_eq!(h.len(), 1, "{s:?} -> {h:?}");
        assert_eq!(h[0].1, Level::L2, "{s}");
    }
    assert_eq!(one("this is sh!t").0, "sh!t");
    assert_eq!(one("shiiiit").0, "shiiiit");
    assert_eq!(one(&format!("f{}ck!", "u".repeat(500))).1, Level::L2);
    assert_eq!(one("$h1t").0, "$h1t");
    assert_eq!(one("sh*t happens").0, "sh*t");
    assert_eq!(one("5h1t").0, "5h1t");
    assert_eq!(one("b1tch").0, "b1tch");
    assert_eq!(one("a$$hole").0, "a$$hole");
    assert_eq!(one("@ss").0, "@ss");
    assert_eq!(one("4ss").0, "4ss");
    assert_eq!(one("he11").0, "he11");
    assert_eq!(one("d4mn").0, "d4mn");
    assert_eq!(one("n1gg3r").1, Level::L1);
    assert_eq!(one("ni99er").1, Level::L1);
    // Cyrillic а and о among Latin letters.
    assert_eq!(one("b\u{0430}st\u{0430}rd").1, Level::L3);
    // Invisible characters are removed by normalisation before matching.
    assert_eq!(one("fu\u{200b}ck").1, Level::L2);
    // Full-width letters fold by NFKC.
    assert_eq!(one("ｆｕｃｋ").1, Level::L2);
    // Markdown emphasis around vowel-initial words.
    assert_eq!(one("**ass**").0, "ass");
}

#[test]
fn hard_negatives() {
    for s in [
        "Scunthorpe United", "the assassin", "first class", "a cocktail party", "Charles Dickens", "Sussex and Essex",
        "Middlesex", "statistical analysis", "my therapist", "grape juice", "hello there", "shiitake mushrooms",
        "a long passage", "cockpit", "shell script", "Michelle", "skilled workers", "the title", "press the button",
        "assessment", "classic bass", "peacock", "Hitchcock", "shuttlecock", "pussycat", "scrapbook", "Dickinson",
        "niggardly", "retardant", "hellenic", "shitake", "mass", "embassy", "harass", "compass", "assume",
        "Galaxy A55", "455 items", "version 4.5.5", "the A$50 note", "hashtag #4ss3t",
        "I'll go, she'll see, he'll know", "a b c d e", "cl@ss", "p@ssage", "@ssassin", "gr@pe", "sh3ll", "h3llo", "U.S.A.", "e.g. i.e.", "Spices",
    ] {
        none(s);
    }
    none("The quick brown fox jumps over the lazy dog. We'll ship it on Monday; please review the classes and the passes.");
}

#[test]
fn spans_map_to_original_bytes() {
    let s = "Ça va? Non, c'est de la merde… fucking hell — 好的shit。";
    let h = hits(s);
    assert_eq!(h, vec![("fucking".to_string(), Level::L2), ("hell".to_string(), Level::L4), ("shit".to_string(), Level::L2)]);
    let (n, out) = findings(d(), "x f.u.c.k y");
    assert_eq!(&n.text[out[0].start..out[0].end], "f.u.c.k");
}

#[test]
fn findings_sorted_and_disjoint() {
    let (_, out) = findings(d(), "shit, damn, bitch, fuck, motherfucker, hell");
    assert_eq!(out.len(), 6);
    assert!(out.windows(2).all(|w| w[0].end <= w[1].start));
}

#[test]
fn long_and_odd_inputs() {
    none("");
    none("!");
    none(&"a ".repeat(50_000));
    assert_eq!(hits(&"fuck ".repeat(2_000)).len(), 2_000);
    none("🙂🙃 ✓ — ... *** $$$ 1234");
}

/// Deterministic mixes of tricky fragments keep the scan invariants (see the helper).
#[test]
fn mixed_inputs_do_not_panic() {
    assert_scan_invariants(d(), MIXED_FRAGMENTS, 1500, 40);
}
