use super::*;

fn field_of(json: &str) -> String {
    match Config::compile(json.as_bytes()) {
        Ok(_) => panic!("config should be rejected: {json}"),
        Err(e) => e.field,
    }
}

#[test]
fn empty_config_is_the_embedded_default() {
    let c = Config::compile(b"{}").unwrap();
    assert_eq!(c.default_policy, "default");
    assert_eq!((c.mode, c.fail_mode), (Mode::Block, FailMode::Closed));
    assert_eq!(c.policies.len(), 5);
    for (name, _) in TEMPLATES {
        assert!(!c.policies[*name].description.is_empty(), "template {name} needs a description");
    }
    assert!(Config::compile(b"").is_ok());
}

#[test]
fn errors_name_the_field() {
    assert_eq!(field_of(r#"{"mode":"panic"}"#), "mode");
    assert_eq!(field_of(r#"{"bogus":1}"#), "bogus");
    assert!(Config::compile(br#"{"bogus":1}"#).err().unwrap().message.contains("bogus"));
    assert_eq!(field_of(r#"{"projects":{"p1":"nope"}}"#), "projects.p1");
    assert_eq!(field_of(r#"{"default_policy":"nope"}"#), "default_policy");
    assert_eq!(field_of(r#"{"max_body_bytes":0}"#), "max_body_bytes");
    assert_eq!(field_of(r#"{"max_response_bytes":0}"#), "max_response_bytes");
    assert_eq!(field_of(r#"{"project_header":"bad header"}"#), "project_header");
    assert_eq!(field_of(r#"{"api_paths":{"v1":"openai_chat"}}"#), "api_paths.v1");
    assert_eq!(field_of(r#"{"api_paths":{"/v1/x":"grpc"}}"#), "api_paths./v1/x");
    assert_eq!(field_of(r#"{"policies":{"p":{"sensitivity":"L9","detectors":{"pii/email":{}}}}}"#), "policies.p.sensitivity");
    assert_eq!(field_of(r#"{"policies":{"p":{"sensitivity":"L2","detectors":{"pii/emial":{}}}}}"#), "policies.p.detectors.pii/emial");
    assert_eq!(field_of(r#"{"policies":{"p":{"sensitivity":"L2","detectors":{"pii/email":{"sensitivty":"L1"}}}}}"#), "policies.p.detectors.pii/email.sensitivty");
    assert_eq!(field_of(r#"{"policies":{"default":{"sensitivity":"L2","detectors":{"pii/email":{}}}}}"#), "policies.default");
    assert_eq!(
        field_of(r#"{"policies":{"p":{"sensitivity":"L2","detectors":{"pii/custom":{}},"custom_patterns":[{"name":"a","pattern":"("}]}}}"#),
        "policies.p.custom_patterns[0].pattern"
    );
    assert_eq!(field_of(r#"{"policies":{"p":{"sensitivity":"L2","detectors":{}}}}"#), "policies.p.detectors");
}

#[test]
fn model_detectors_compile_to_model_heads() {
    let c = Config::compile(br#"{"require_all_detectors":true}"#).unwrap();
    assert!(c.unavailable_detectors().is_empty());
    let p = &c.policies["default"];
    assert!(p.uses_model());
    let pa = p.detectors.iter().find(|d| d.detector_type == "prompt_attack").unwrap();
    assert_eq!(pa.head, Some(0));
    assert!(pa.imp.is_none() && pa.available());
    let rules = Config::compile(br#"{"policies":{"p":{"sensitivity":"L2","detectors":{"pii/email":{}}}},"default_policy":"p"}"#).unwrap();
    assert!(!rules.policies["p"].uses_model());
    assert_eq!(field_of(r#"{"max_model_chars":0}"#), "max_model_chars");
}

#[test]
fn first_stage_is_validated_against_the_policy() {
    let pol = |extra: &str, dets: &str| format!(r#"{{"policies":{{"p":{{"sensitivity":"L2","detectors":{{{dets}}}{extra}}}}},"default_policy":"p"}}"#);
    let ok = Config::compile(pol(r#","first_stage":10"#, r#""prompt_attack":{},"pii/email":{}"#).as_bytes()).unwrap();
    assert_eq!(ok.policies["p"].first_stage, Some(10));
    assert_eq!(Config::compile(pol("", r#""prompt_attack":{}"#).as_bytes()).unwrap().policies["p"].first_stage, None);
    // Only the shipped cut-offs; not without prompt_attack; not beside a moderation head.
    assert_eq!(field_of(&pol(r#","first_stage":15"#, r#""prompt_attack":{}"#)), "policies.p.first_stage");
    assert_eq!(field_of(&pol(r#","first_stage":10"#, r#""pii/email":{}"#)), "policies.p.first_stage");
    let e = Config::compile(pol(r#","first_stage":20"#, r#""prompt_attack":{},"moderated_content/hate":{}"#).as_bytes()).err().unwrap();
    assert_eq!(e.field, "policies.p.first_stage");
    assert!(e.message.contains("moderated_content/hate"), "{}", e.message);
    assert_eq!(field_of(&pol(r#","first_stage":"fast""#, r#""prompt_attack":{}"#)), "policies.p.first_stage");
    // A raised posture screens every window again.
    let spec: PolicySpec = serde_json::from_str(r#"{"sensitivity":"L1","detectors":{"prompt_attack":{}},"first_stage":10}"#).unwrap();
    assert_eq!(spec.tightened(Level::L3).first_stage, None);
}

#[test]
fn per_detector_override_applies() {
    let c = Config::compile(
        br#"{"policies":{"p":{"sensitivity":"L1","detectors":{"pii/email":{"sensitivity":"L4"},"pii/ip_address":{}}}},"projects":{"x":"p"}}"#,
    )
    .unwrap();
    let p = &c.policies["p"];
    let levels: Vec<_> = p.detectors.iter().map(|d| (d.detector_type.as_str(), d.level)).collect();
    assert_eq!(levels, vec![("pii/email", Level::L4), ("pii/ip_address", Level::L1)]);
}

#[test]
fn sides_resolve_level_and_mode_most_specific_first() {
    let c = Config::compile(
        br#"{"mode":"block","policies":{"p":{"sensitivity":"L1","mode":"mask",
            "detectors":{"pii/email":{"sensitivity":"L3"},"prompt_attack":{},"pii/ip_address":{"mode":"monitor"}},
            "input":{"sensitivity":"L2"},
            "output":{"mode":"monitor","sensitivity":"L4","detectors":{"pii/secret":{"mode":"block"}}}}}}"#,
    )
    .unwrap();
    let p = &c.policies["p"];
    let get = |t: &str| p.detectors.iter().find(|d| d.detector_type == t).unwrap();
    let s = |level, action, monitor| Some(Setting { level, action, monitor });
    // Detector level beats the side's; the side's beats the policy's.
    assert_eq!(get("pii/email").input, s(Level::L3, Action::Mask, false));
    // An inherited mask blocks for a detector that cannot mask.
    assert_eq!(get("prompt_attack").input, s(Level::L2, Action::Block, false));
    // Monitor at the detector: dry run of the policy's mask.
    assert_eq!(get("pii/ip_address").input, s(Level::L2, Action::Mask, true));
    // The output side lists its own detectors: only pii/secret runs there, monitored by the side.
    assert_eq!(get("pii/email").output, None);
    assert_eq!(get("pii/secret").input, None);
    assert_eq!(get("pii/secret").output, s(Level::L4, Action::Block, true));
    assert_eq!(p.detectors.len(), 4);
    // Templates follow the config's mode and fail mode.
    let m = Config::compile(br#"{"mode":"monitor","fail_mode":"open"}"#).unwrap();
    let d = &m.policies["default"];
    assert!(d.detectors.iter().all(|x| x.input.is_some_and(|s| s.monitor) && x.output.is_some_and(|s| s.monitor)));
    assert_eq!(d.fail_mode, FailMode::Open);
}

#[test]
fn tool_side_takes_its_fields_over_the_input_side() {
    let doc = |policy: &str| format!(r#"{{"policies":{{"p":{policy}}},"default_policy":"p"}}"#);
    let compile = |policy: &str| Config::compile(doc(policy).as_bytes());
    let lint = |policy: &str| Config::lint(doc(policy).as_bytes());
    let s = |level, action, monitor| Some(Setting { level, action, monitor });
    // Absent: tool messages get exactly the input side.
    let c = compile(r#"{"sensitivity":"L2","detectors":{"pii/email":{},"prompt_attack":{}},"input":{"sensitivity":"L3","mode":"mask"}}"#).unwrap();
    assert!(c.policies["p"].detectors.iter().all(|d| d.tool == d.input && d.input.is_some()));
    // Given: its fields win, the rest is the input side's (here the input's detector list).
    let c = compile(
        r#"{"sensitivity":"L2","detectors":{"pii/email":{},"prompt_attack":{}},
            "input":{"mode":"mask","detectors":{"pii/email":{},"prompt_attack":{},"pii/secret":{}}},"tool":{"sensitivity":"L1"}}"#,
    )
    .unwrap();
    let p = &c.policies["p"];
    let get = |t: &str| p.detectors.iter().find(|d| d.detector_type == t).unwrap();
    assert_eq!(get("pii/secret").tool, s(Level::L1, Action::Mask, false));
    assert_eq!(get("pii/email").input, s(Level::L2, Action::Mask, false));
    assert_eq!(get("prompt_attack").tool, s(Level::L1, Action::Block, false));
    // Its own list replaces the input's; an empty one screens nothing in tool results.
    let c = compile(r#"{"sensitivity":"L2","detectors":{"pii/email":{}},"tool":{"detectors":{"prompt_attack":{"sensitivity":"L1"}}}}"#).unwrap();
    let p = &c.policies["p"];
    let get = |t: &str| p.detectors.iter().find(|d| d.detector_type == t).unwrap();
    assert_eq!((get("pii/email").input.is_some(), get("pii/email").tool), (true, None));
    assert_eq!((get("prompt_attack").input, get("prompt_attack").tool), (None, s(Level::L1, Action::Block, false)));
    let c = compile(r#"{"sensitivity":"L2","detectors":{"pii/email":{}},"tool":{"detectors":{}}}"#).unwrap();
    assert_eq!(c.policies["p"].detectors[0].tool, None);
    // Errors name the list they are in; one inherited from `input` is reported once.
    let e = lint(r#"{"sensitivity":"L2","detectors":{"pii/email":{}},"tool":{"detectors":{"prompt_attack":{"mode":"mask"}},"bogus":1}}"#);
    assert!(e.iter().any(|e| e.field == "policies.p.tool.bogus"), "{e:?}");
    let e = lint(r#"{"sensitivity":"L2","detectors":{"pii/email":{}},"tool":{"detectors":{"prompt_attack":{"mode":"mask"}}}}"#);
    assert_eq!(e.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(), vec!["policies.p.tool.detectors.prompt_attack.mode"]);
    let e = lint(r#"{"sensitivity":"L2","detectors":{"pii/email":{}},"input":{"detectors":{"prompt_attack":{"mode":"mask"}}},"tool":{"sensitivity":"L1"}}"#);
    assert_eq!(e.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(), vec!["policies.p.input.detectors.prompt_attack.mode"]);
    let e = lint(r#"{"sensitivity":"L2","detectors":{"pii/email":{}},"tool":{"detectors":{"pii/emial":{}}}}"#);
    assert_eq!(e.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(), vec!["policies.p.tool.detectors.pii/emial"]);
}

#[test]
fn lint_reports_every_problem_at_once() {
    let cfg = br#"{
        "mode": "panic",
        "bogus": 1,
        "default_policy": "nope",
        "projects": {"bot": "missing", "ok": "p"},
        "api_keys": [{"key": "k1"}, {"key": "k2", "project": "ghost"}],
        "policies": {
            "p": {"sensitivity": "L2", "detectors": {"pii/emial": {}, "prompt_attack": {"mode": "mask"}},
                  "posture": {"half_life_s": 0, "thresholds": {"scoped": 9, "inquiry": 2}}},
            "q": {"sensitivity": "L9", "detectors": {}}
        },
        "shadow": {"projects": {"nobody": "p"}},
        "max_body_bytes": 0
    }"#;
    let fields: Vec<String> = Config::lint(cfg).into_iter().map(|e| e.field).collect();
    for want in [
        "mode",
        "bogus",
        "api_keys[0]",
        "policies.q.sensitivity",
        "default_policy",
        "projects.bot",
        "policies.p.detectors.pii/emial",
        "policies.p.detectors.prompt_attack.mode",
        "policies.p.posture.half_life_s",
        "policies.p.posture.thresholds.inquiry",
        "shadow.projects.nobody",
        "max_body_bytes",
    ] {
        assert!(fields.iter().any(|f| f == want), "{want} missing from {fields:?}");
    }
    // The element taken out of `api_keys` does not make the next one report at its index.
    assert!(!fields.iter().any(|f| f == "api_keys[0].project"), "{fields:?}");
    // A policy that did not parse is reported once, not again as a missing field or as an
    // unknown name where it is used.
    assert_eq!(fields.iter().filter(|f| f.starts_with("policies.q")).count(), 1, "{fields:?}");
    let used = Config::lint(br#"{"projects":{"a":"q"},"policies":{"q":{"sensitivity":"L9","detectors":{"pii/email":{}}}}}"#);
    assert_eq!(used.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(), vec!["policies.q.sensitivity"]);
    assert!(Config::lint(b"{}").is_empty());
    assert_eq!(Config::lint(b"{not json").len(), 1);
    // A duplicate key only the text parser sees is still reported.
    let dup = Config::lint(br#"{"mode":"block","mode":"monitor"}"#);
    assert_eq!(dup.len(), 1, "{dup:?}");
    // compile reports the first of them.
    assert_eq!(Config::compile(br#"{"projects":{"a":"x","b":"y"}}"#).err().unwrap().field, "projects.a");
}
