"""Screening log records in every runtime: Envoy (its log and an HTTP collector cluster), workerd
(the console) and `parapet screen` / `parapet serve` (`--log FILE`), and the tuning endpoint
`POST /v2/guard/results`.

The requests carry one raw value for every PII and secret detector type (and a custom pattern)
under a policy that runs none of them: whatever reaches a log must be masked, and the whole of
each runtime's output (log file, Envoy's log, workerd's console, stderr) is searched for every raw
value.
"""
import json
import subprocess
import time

import pytest

from conftest import PARAPET_BIN, free_port, request, require, wait_port
from test_workerd import Origin, Workerd, call

# detector type, raw value, token (the same values as the core's unit test)
RAW = [
    ("pii/address", "123 Main Street, Springfield, IL 62704", "<ADDRESS>"),
    ("pii/credit_card", "4111 1111 1111 1111", "<CREDIT_CARD>"),
    ("pii/email", "jane.roe@example.com", "<EMAIL>"),
    ("pii/iban_code", "DE89 3704 0044 0532 0130 00", "<IBAN_CODE>"),
    ("pii/ip_address", "203.0.113.77", "<IP_ADDRESS>"),
    ("pii/name", "Margarethe Lindqvist", "<NAME>"),
    ("pii/phone_number", "+1 415-555-0134", "<PHONE_NUMBER>"),
    ("pii/secret", "AKIAQ3EGUIXNP4SR7WDK", "<SECRET>"),
    ("pii/us_social_security_number", "536-22-4187", "<US_SOCIAL_SECURITY_NUMBER>"),
    ("pii/custom", "EMP-123456", "<EMPLOYEE_ID>"),
]
ALL_RAW = " ; ".join(r[1] for r in RAW)

# Links only (plus the custom pattern, monitored): no PII detector is in the policy.
CONFIG = {
    "policies": {
        "links": {
            "sensitivity": "L2",
            "detectors": {"unknown_links": {}, "pii/custom": {"mode": "monitor"}},
            "custom_patterns": [{"name": "employee_id", "pattern": "EMP-[0-9]{6}"}],
        }
    },
    "projects": {"support": "links"},
    "default_policy": "links",
    "logging": {"sink": "log", "prompts": True},
}

GUARD_BODY = {
    "messages": [
        {"role": "system", "content": f"internal notes: {ALL_RAW}"},
        {"role": "user", "content": f"my details: {ALL_RAW}, see http://evil-login.xyz/reset"},
    ],
    "metadata": {"user_id": "jane.roe@example.com", "session": "s-1"},
}
CHAT_BODY = {"model": "m", "messages": [{"role": "user", "content": f"hello {ALL_RAW}"}]}


def assert_no_raw(text, where):
    for t, raw, _ in RAW:
        assert raw not in text, f"{t}: raw {raw!r} reached {where}"
        # A name masked in part still names the person ("Margarethe <NAME>"): every part must go.
        if t == "pii/name":
            for part in raw.split():
                assert part not in text, f"{t}: {part!r} of {raw!r} reached {where}"


def records_in(text, prefix=""):
    out = []
    for line in text.splitlines():
        i = line.find(prefix + '{"time"') if prefix else line.find('{"time"')
        if i >= 0:
            out.append(json.loads(line[i + len(prefix):]))
    return out


def assert_masked_record(rec):
    content = json.dumps(rec["messages"]) + json.dumps(rec.get("metadata", {}))
    for t, _, token in RAW:
        assert token in content, f"{t}: no {token} in {content}"


def check_guard_record(rec, host):
    assert rec["host"] == host
    assert (rec["kind"], rec["direction"], rec["format"]) == ("guard", "input", "guard")
    assert rec["policy_id"] == "links"
    assert rec["action"] == "flagged" and rec["flagged"] is True
    assert rec["detected"] == ["pii/custom", "unknown_links"]
    assert rec["would_block"] == ["pii/custom"]
    assert [d["detector_type"] for d in rec["detectors"]] == ["pii/custom", "unknown_links"]
    assert isinstance(rec["latency_ms"], (int, float)) and rec["latency_ms"] >= 0
    assert rec["time"].endswith("Z") and len(rec["time"]) == 24
    assert len(rec["messages"]) == 2
    assert rec["metadata"]["user_id"] == "<EMAIL>"
    assert_masked_record(rec)


# ---------------------------------------------------------------------------------------------
# Envoy


def test_envoy_log_sink_masks_every_detector_type(start_envoy, upstream):
    env = start_envoy(CONFIG, upstream.port)
    r = request(env.port, "POST", "/v2/guard", json.dumps(GUARD_BODY).encode(), {"x-request-id": "rid-envoy-1"})
    assert r.status == 200 and r.json()["flagged"] is True
    r = request(env.port, "POST", "/v1/chat/completions", json.dumps(CHAT_BODY).encode(), {"x-parapet-project": "support"})
    # The custom pattern is monitored and there is no link: forwarded, flagged.
    assert r.status == 200 and r.headers.get("x-parapet-flagged") == "true", (r.status, r.body)
    deadline = time.time() + 10
    while time.time() < deadline and len(records_in(env.logs(), "parapet.screening ")) < 3:
        time.sleep(0.2)
    logs = env.logs()
    recs = records_in(logs, "parapet.screening ")
    assert_no_raw(logs, "Envoy's log")
    guard = [x for x in recs if x["kind"] == "guard"]
    assert len(guard) == 1, recs
    check_guard_record(guard[0], "envoy")
    assert guard[0]["request_id"] == "rid-envoy-1"
    api_in = [x for x in recs if x["kind"] == "api" and x["direction"] == "input"]
    assert len(api_in) == 1 and api_in[0]["project_id"] == "support" and api_in[0]["format"] == "openai_chat"
    assert (api_in[0]["action"], api_in[0]["mode"]) == ("flagged", "block")
    content = api_in[0]["messages"][0]["content"]
    for t, _, token in RAW:
        assert token in content, (t, content)
    api_out = [x for x in recs if x["kind"] == "api" and x["direction"] == "output"]
    assert len(api_out) == 1 and api_out[0]["action"] == "clean", recs


def test_envoy_http_sink_posts_records_to_the_collector_cluster(start_envoy, upstream):
    cfg = dict(CONFIG, logging={"sink": "http", "cluster": "llm_upstream", "path": "/v1/screenings", "prompts": True})
    env = start_envoy(cfg, upstream.port)
    r = request(env.port, "POST", "/v2/guard", json.dumps(GUARD_BODY).encode())
    assert r.status == 200
    deadline = time.time() + 10
    while time.time() < deadline and not any(x["path"] == "/v1/screenings" for x in upstream.received):
        time.sleep(0.1)
    posts = [x for x in upstream.received if x["path"] == "/v1/screenings"]
    assert len(posts) == 1, upstream.received
    assert posts[0]["headers"].get("content-type") == "application/x-ndjson"
    body = posts[0]["body"].decode()
    assert body.endswith("\n") and body.count("\n") == 1
    assert_no_raw(body, "the collector")
    check_guard_record(json.loads(body), "envoy")
    assert "parapet.screening" not in env.logs()
    assert_no_raw(env.logs(), "Envoy's log")


def test_envoy_results_endpoint_is_not_logged(start_envoy, upstream):
    env = start_envoy(CONFIG, upstream.port)
    r = request(env.port, "POST", "/v2/guard/results", json.dumps(GUARD_BODY).encode())
    assert r.status == 200, r.body
    results = r.json()["results"]
    assert "flagged" not in r.json()
    by = {x["detector_type"]: x for x in results}
    assert by["unknown_links"]["result"] in ("l1_confident", "l2_very_likely", "l3_likely", "l4_less_likely")
    assert by["pii/custom"]["result"] == "l1_confident"
    assert by["pii/custom"]["message_id"] == 1
    assert request(env.port, "GET", "/v2/guard/results").status == 405
    time.sleep(0.5)
    assert "parapet.screening" not in env.logs()


# ---------------------------------------------------------------------------------------------
# workerd


def test_workerd_console_records_are_masked(tmp_path):
    origin = Origin()
    w = Workerd(CONFIG, origin.url, tmp_path)
    try:
        r = call(w.port, "POST", "/v2/guard", GUARD_BODY, {"x-request-id": "rid-wd-1"})
        assert r.status == 200 and r.json()["flagged"] is True
        r = call(w.port, "POST", "/v1/chat/completions", CHAT_BODY, {"x-parapet-project": "support"})
        r = call(w.port, "POST", "/v2/guard/results", GUARD_BODY)
        assert r.status == 200 and "results" in r.json()
        deadline = time.time() + 10
        while time.time() < deadline and len(records_in(w.output())) < 3:
            time.sleep(0.2)
        out = w.output()
    finally:
        w.stop()
        origin.stop()
    assert_no_raw(out, "workerd's console")
    recs = records_in(out)
    guard = [x for x in recs if x["kind"] == "guard"]
    assert len(guard) == 1, "the results call is not logged: " + out[-3000:]
    check_guard_record(guard[0], "worker")
    assert guard[0]["request_id"] == "rid-wd-1"
    kinds = sorted((x["kind"], x["direction"]) for x in recs)
    assert kinds == [("api", "input"), ("api", "output"), ("guard", "input")], kinds


# ---------------------------------------------------------------------------------------------
# parapet screen / serve


def test_parapet_screen_log_file(tmp_path):
    require(PARAPET_BIN)
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps(CONFIG))
    log = tmp_path / "screen.log"
    lines = [json.dumps(GUARD_BODY), "{not json", json.dumps({"messages": [{"role": "user", "content": "hi"}]})]
    r = subprocess.run([str(PARAPET_BIN), "--log-level", "info", "screen", "--config", str(cfg), "--log", str(log)],
                       input="\n".join(lines) + "\n", capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert len(r.stdout.splitlines()) == 3
    assert_no_raw(r.stderr, "stderr")
    assert "parapet.screening" not in r.stderr
    text = log.read_text()
    assert_no_raw(text, "the log file")
    recs = [json.loads(x) for x in text.splitlines()]
    assert [x["action"] for x in recs] == ["flagged", "rejected", "clean"]
    check_guard_record(recs[0], "screen")
    assert recs[1]["error"]["code"] == "invalid_json"
    # Appended, not overwritten.
    r = subprocess.run([str(PARAPET_BIN), "screen", "--config", str(cfg), "--log", str(log)],
                       input=lines[2] + "\n", capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and len(log.read_text().splitlines()) == 4


def test_siem_export_of_a_screening_log_carries_the_tokens(tmp_path):
    """What reaches the SIEM is what the runtime logged: `parapet logs export` of a real
    screening log holds every type token (`<NAME>` included) and no raw value."""
    require(PARAPET_BIN)
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps(CONFIG))
    log = tmp_path / "screen.log"
    r = subprocess.run([str(PARAPET_BIN), "screen", "--config", str(cfg), "--log", str(log)],
                       input=json.dumps(GUARD_BODY) + "\n", capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    out = tmp_path / "siem"
    r = subprocess.run([str(PARAPET_BIN), "logs", "export", str(log), "--out", str(out)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    [exported] = [p for p in out.rglob("*.jsonl")]
    text = exported.read_text()
    assert_no_raw(text, "the SIEM export")
    [rec] = [json.loads(x) for x in text.splitlines()]
    assert_masked_record(rec)
    assert "<NAME>" in rec["messages"][1]["content"]


def test_parapet_serve_log_file_and_results(tmp_path):
    require(PARAPET_BIN)
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps(dict(CONFIG, logging={"sink": "none", "prompts": True})))
    log = tmp_path / "serve.log"
    port = free_port()
    proc = subprocess.Popen([str(PARAPET_BIN), "serve", "--addr", f"127.0.0.1:{port}", "--config", str(cfg), "--workers", "2",
                             "--log", str(log)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_port(port, timeout=120, proc=proc)
        for i in range(4):
            r = request(port, "POST", "/v2/guard", json.dumps(GUARD_BODY).encode(), {"x-request-id": f"rid-{i}"})
            assert r.status == 200
        r = request(port, "POST", "/v2/guard/results", json.dumps(GUARD_BODY).encode())
        assert r.status == 200 and {x["detector_type"] for x in r.json()["results"]} == {"pii/custom", "unknown_links"}
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=20)
    assert_no_raw(err, "stderr")
    text = log.read_text()
    assert_no_raw(text, "the log file")
    recs = [json.loads(x) for x in text.splitlines()]
    assert sorted(x["request_id"] for x in recs) == [f"rid-{i}" for i in range(4)], "one record per guard call, none for results"
    for rec in recs:
        check_guard_record(rec, "serve")
