use super::*;
use crate::detectors::testing::scan_str;

fn spec(name: &str, pattern: &str) -> CustomPatternSpec {
    CustomPatternSpec { name: name.into(), pattern: pattern.into(), case_insensitive: false }
}

#[test]
fn matches_with_rule_name_as_label() {
    let d = Custom::new(&[spec("employee_id", r"\bEMP-\d{6}\b"), spec("project", r"\bPROJECT-[A-Z]+\b")]).unwrap();
    let h = scan_str(&d, "EMP-123456 works on PROJECT-ORION, not EMP-12");
    assert_eq!(h.len(), 2);
    assert_eq!((h[0].0.as_str(), h[0].2[0].as_str()), ("EMP-123456", "employee_id"));
    assert_eq!(h[1].2, vec!["project".to_string()]);
}

#[test]
fn bad_patterns_are_config_errors() {
    assert!(Custom::new(&[spec("x", "(unclosed")]).err().unwrap().starts_with("custom_patterns[0].pattern"));
    assert!(Custom::new(&[spec("x", "a*")]).err().unwrap().contains("empty string"));
    assert!(Custom::new(&[spec("x", "a"), spec("x", "b")]).err().unwrap().contains("duplicate"));
    assert!(Custom::new(&[spec("x", r"\w{1000}{1000}")]).err().unwrap().contains("custom_patterns[0].pattern"));
}
