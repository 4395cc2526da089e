use super::*;

#[test]
fn labels_keep_safe_characters_and_replace_the_rest() {
    assert_eq!(label("public-facing"), "public-facing");
    assert_eq!(label("support_bot2"), "support_bot2");
    assert_eq!(label("pii/email"), "pii_email");
    assert_eq!(label("team.a:b|c d/é"), "team_a_b_c_d__");
}

#[test]
fn detector_labels_are_distinct_and_safe() {
    let types: Vec<&str> = MODEL_DETECTORS.iter().chain(RULE_DETECTORS).copied().collect();
    let mut labels: Vec<String> = types.iter().map(|t| label(t)).collect();
    assert!(labels.iter().all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')));
    labels.sort();
    labels.dedup();
    assert_eq!(labels.len(), types.len(), "two detector types share a label");
    assert!(labels.contains(&"moderated_content_self_harm".to_string()));
}

#[test]
fn series_names_have_one_segment_per_label() {
    let names = series_names("team.a", "public-facing", Direction::Output, &["pii/email", "prompt_attack"]);
    assert_eq!(names.len(), COUNTERS.len() + 3);
    assert_eq!(names[0], "parapet.screen.project.team_a.policy.public-facing.direction.output.requests");
    assert_eq!(names[COUNTERS.len()], "parapet.screen.project.team_a.policy.public-facing.direction.output.detector.pii_email.detected");
    assert_eq!(names[COUNTERS.len() + 2], "parapet.screen.project.team_a.policy.public-facing.direction.output.latency_us");
    for n in &names {
        let segments: Vec<&str> = n.split('.').collect();
        assert_eq!(&segments[..8], ["parapet", "screen", "project", "team_a", "policy", "public-facing", "direction", "output"]);
    }
}
