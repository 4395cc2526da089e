use super::*;
use crate::detectors::testing::scan_str;

fn words(text: &str) -> Vec<&str> {
    tokens(text).iter().map(|t| &text[t.start..t.end]).collect()
}

#[test]
fn tokens_keep_joined_names_whole_and_drop_possessives() {
    assert_eq!(words("Jean-Pierre O'Brien's desk"), ["Jean-Pierre", "O'Brien", "s", "desk"]);
    assert_eq!(words("Anna’s flight, re-run it"), ["Anna", "s", "flight", "re-run", "it"]);
    assert_eq!(words("--x-- 'quoted'"), ["x", "quoted"]);
    let classes: Vec<Class> = tokens("Anna anna ANNA iPhone McDonald a1 東京").iter().map(|t| t.class).collect();
    use Class::*;
    assert_eq!(classes, [Cap, Lower, Upper, Mixed, Cap, Digit, Caseless]);
}

#[test]
fn model_file_round_trips_and_rejects_damage() {
    let t = Tagger::parse(MODEL).unwrap();
    assert_eq!(Tagger::parse(&t.to_bytes()).unwrap().weights, t.weights);
    assert!(t.thresholds.windows(2).all(|p| p[0] >= p[1]), "L1 needs the highest score");
    let bytes = t.to_bytes();
    assert!(Tagger::parse(&bytes[..bytes.len() - 1]).is_err());
    assert!(Tagger::parse(&[bytes.as_slice(), &[0]].concat()).is_err());
    let mut bad = bytes.clone();
    bad[0] = b'X';
    assert!(Tagger::parse(&bad).is_err());
}

/// Names the detector reports in `text`, with their levels.
fn names(text: &str) -> Vec<(String, Level)> {
    scan_str(&Name::new().unwrap(), text).into_iter().map(|(s, l, _)| (s, l)).collect()
}

fn found(text: &str) -> Vec<String> {
    names(text).into_iter().map(|(s, _)| s).collect()
}

#[test]
fn finds_the_name_in_lakeras_example_at_the_default_level() {
    let n = names("My name is David Haber, please email me at support@lakera.ai");
    assert_eq!(n.len(), 1, "{n:?}");
    assert_eq!(n[0].0, "David Haber");
    assert!(n[0].1 <= Level::L2, "{n:?}");
}

#[test]
fn finds_names_in_greetings_signatures_headers_and_chat() {
    assert_eq!(found("Hi Anna,\n\nthe report is attached.\n\nBest regards,\nMarkus Weber"), ["Anna", "Markus Weber"]);
    assert_eq!(
        found("From: Laura Bianchi <laura@example.com>\nTo: Tom Fischer\nSubject: budget"),
        ["Laura Bianchi", "Tom Fischer"]
    );
    assert_eq!(found("Attendees: Priya Natarajan, Jonas Berg, Chloé Martin"), ["Priya Natarajan", "Jonas Berg", "Chloé Martin"]);
    assert_eq!(found("Sehr geehrte Frau Schneider,\nvielen Dank."), ["Schneider"]);
}

#[test]
fn leaves_names_of_things_code_and_the_word_name_alone() {
    for text in [
        "Enter your name in the Name field and press Save.",
        "Kubernetes runs the pods on Linux nodes in Frankfurt.",
        "let user_name = get_name(); // firstName is set by the form",
        "Open Microsoft Excel, then click File > Export.",
        "Monday's meeting moved to Tuesday in March.",
        "<NAME> wrote to <EMAIL> about <PHONE_NUMBER>.",
    ] {
        assert_eq!(found(text), Vec::<String>::new(), "{text}");
    }
}

#[test]
fn a_first_name_before_a_sure_surname_is_part_of_the_name() {
    // The surname alone scores high; masking it alone would leave the first name in the log.
    assert_eq!(found("Margarethe Lindqvist ; +1 415-555-0134"), ["Margarethe Lindqvist"]);
    // A title or a common word before a name stays out.
    assert_eq!(found("Segundo Julieta Rodrigues, a remessa já saiu."), ["Julieta Rodrigues"]);
    assert_eq!(found("Servus Jessica Lang,\nder Bericht ist fertig."), ["Jessica Lang"]);
}

#[test]
fn a_name_found_once_is_found_at_its_other_occurrences_unless_the_text_mostly_says_otherwise() {
    // The second "Tracy" scores below every level on its own; the greeting settles it.
    assert_eq!(found("Hi Tracy,\n\nthe report is done. Tracy drives to Berlin tomorrow."), ["Tracy", "Tracy"]);
    // A product named seven times and greeted once: only the greeting is taken for a name,
    // not every mention of the product.
    let text = "Weaviate is an open-source vector database. Install Weaviate with Docker, then connect to \
                your Weaviate instance. Weaviate stores objects and vectors. The Weaviate client handles \
                batching. Hi Weaviate, how are you? Weaviate returns them in order.";
    assert_eq!(found(text), ["Weaviate"], "{:?}", names(text));
}

#[test]
fn surname_particles_belong_to_the_name_but_prepositions_do_not() {
    assert_eq!(found("Beste Romi van den Brandhof,\n\nhierbij de offerte."), ["Romi van den Brandhof"]);
    assert_eq!(found("Hallo meneer van der Vlist, de offerte is verstuurd."), ["van der Vlist"]);
    // "van" here is "of": Sieuwerd's work, not a surname.
    assert_eq!(found("Anna Jansen neemt het werk van Sieuwerd over tot maandag."), ["Anna Jansen", "Sieuwerd"]);
}

#[test]
fn finds_names_after_introductions_and_before_a_verb_of_writing_in_several_languages() {
    assert_eq!(found("Dzień dobry, mam na imię Bożena i dzwonię w sprawie faktury."), ["Bożena"]);
    assert_eq!(found("Здравствуйте, меня зовут Кирилл, я по поводу счёта."), ["Кирилл"]);
    assert_eq!(found("Buongiorno, mi chiamo Teodata e la chiamo per la fattura."), ["Teodata"]);
    assert_eq!(found("2024-02-08, Аникей Гаврилов пишет:\n> Спасибо, документы получены."), ["Аникей Гаврилов"]);
}
