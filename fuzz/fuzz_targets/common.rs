// Shared by the fuzz targets: guards compiled once per process, with rule detectors only (the
// guard model is exercised by the unit and e2e tests; a fuzzer would spend every cycle in it).
use parapet_filter::Guard;

pub const RULES: &str = r#"{"sensitivity":"L4","detectors":{"pii/email":{},"pii/phone_number":{},"pii/credit_card":{},
 "pii/iban_code":{},"pii/us_social_security_number":{},"pii/ip_address":{},"pii/address":{},"pii/secret":{},
 "pii/custom":{},"moderated_content/profanity":{},"unknown_links":{}},
 "custom_patterns":[{"name":"employee_id","pattern":"EMP-[0-9]{6}"}]}"#;

/// `mode`: block, mask or monitor; `prompts`: log content.
pub fn guard(mode: &str) -> Guard {
    let cfg = format!(
        r#"{{"policies":{{"rules":{RULES}}},"default_policy":"rules","mode":"{mode}","stream_hold_back":32,"max_body_bytes":65536,
           "max_response_bytes":65536,"logging":{{"sink":"log","prompts":true}}}}"#
    );
    match Guard::new(cfg.as_bytes()) {
        Ok(g) => g,
        Err(e) => panic!("fuzz config does not compile: {e}"),
    }
}
