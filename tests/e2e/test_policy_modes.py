"""Modes (block, monitor, mask), IO policies and project selection (route, API key, header) in
real Envoy and real workerd, in front of a local upstream that records what it receives.

The Envoy tests run the shipped examples (envoy/examples/*.yaml) with their own plugin config,
so the examples are what is tested.
"""
import json
import subprocess

import pytest

from conftest import ENVOY_WASM, ROOT, envoy_binary, request, require
from test_workerd import Origin, Workerd, call

EXAMPLES = ROOT / "envoy" / "examples"
KEY_SUPPORT = "foobar"  # sha256 c3ab8ff1... in envoy/examples/routes.yaml -> support-bot (public-facing)
KEY_HR = "sk-hr-key"  # -> hr-assistant (internal-facing: does not screen e-mail addresses)

PII_TEXT = "My name is David Haber. Mail jane.doe@example.com or call +1 415 555 0132, badge EMP-123456."
MASKED_TEXT = "My name is <NAME>. Mail <EMAIL> or call <PHONE_NUMBER>, badge <EMPLOYEE_ID>."


def chat(text, **extra):
    return {"model": "test-model", "temperature": 0.25, "messages": [
        {"role": "system", "content": "Support desk; escalate to ops@corp.example."},
        {"role": "user", "content": text}], **extra}


def assert_forwarded_intact(received, expected_text):
    """The upstream got valid JSON with the right content-length, and only the user text changed."""
    body = received["body"]
    headers = {k.lower(): v for k, v in received["headers"].items()}
    assert int(headers["content-length"]) == len(body)
    sent = json.loads(body)
    assert sent["messages"][1]["content"] == expected_text
    assert sent["messages"][0]["content"] == "Support desk; escalate to ops@corp.example."
    assert (sent["model"], sent["temperature"]) == ("test-model", 0.25)


# ---------------------------------------------------------------------------------------------
# Envoy


def test_examples_validate(tmp_path):
    require(ENVOY_WASM)
    (tmp_path / "parapet_envoy.wasm").symlink_to(ENVOY_WASM)
    configs = sorted(EXAMPLES.glob("*.yaml"))
    assert {c.name for c in configs} >= {"block.yaml", "monitor.yaml", "mask.yaml", "routes.yaml"}
    for cfg in configs:
        r = subprocess.run([str(envoy_binary()), "--mode", "validate", "-c", str(cfg), "--use-dynamic-base-id"],
                           cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0 and "OK" in r.stdout, f"{cfg.name}: {r.stdout[-2000:]} {r.stderr[-2000:]}"


def test_envoy_mask_rewrites_what_the_upstream_receives(start_envoy, upstream):
    envoy = start_envoy(None, upstream.port, shipped="examples/mask.yaml")
    r = request(envoy.port, "POST", "/v1/chat/completions", chat(PII_TEXT))
    assert r.status == 200, r.body
    assert r.headers["x-parapet-masked"] == "pii/custom,pii/email,pii/name,pii/phone_number"
    assert r.headers["x-parapet-flagged"] == "true"
    [got] = upstream.received
    assert_forwarded_intact(got, MASKED_TEXT)
    # A chunked request (no content-length from the client) is masked too, and framed right.
    r = request(envoy.port, "POST", "/v1/chat/completions", chat("key AKIAQ3EGUIXNP4SR7WDK"), chunked=True)
    assert r.status == 200, r.body
    assert_forwarded_intact(upstream.received[1], "key <SECRET>")
    # Links cannot be masked: they block, and nothing goes upstream.
    r = request(envoy.port, "POST", "/v1/chat/completions", chat("see http://evil-site.xyz/x and jane.doe@example.com"))
    assert r.status == 403 and r.json()["error"]["detector_types"] == ["pii/email", "unknown_links"]
    assert len(upstream.received) == 2
    # A clean request goes through byte for byte.
    body = json.dumps(chat("hello")).encode()
    r = request(envoy.port, "POST", "/v1/chat/completions", body)
    assert r.status == 200 and upstream.received[2]["body"] == body
    assert envoy.stats().get("wasmcustom.parapet.masked") == 2


def test_envoy_monitor_passes_and_reports_would_block(start_envoy, upstream):
    envoy = start_envoy(None, upstream.port, shipped="examples/monitor.yaml")
    body = json.dumps(chat("mail jane.doe@example.com, key AKIAQ3EGUIXNP4SR7WDK")).encode()
    r = request(envoy.port, "POST", "/v1/chat/completions", body)
    assert r.status == 200
    assert r.headers["x-parapet-flagged"] == "true"
    # The guard model may add prompt_attack here; the rule detectors' findings must be listed.
    assert {"pii/email", "pii/secret"} <= set(r.headers["x-parapet-would-block"].split(","))
    assert "x-parapet-masked" not in r.headers
    assert upstream.received[0]["body"] == body
    g = request(envoy.port, "POST", "/v2/guard", {"messages": [{"role": "user", "content": "AKIAQ3EGUIXNP4SR7WDK"}], "dev_info": True})
    assert g.json()["dev_info"]["would_block"] == ["pii/secret"]


def test_envoy_block_example_monitors_one_project(start_envoy, upstream):
    envoy = start_envoy(None, upstream.port, shipped="examples/block.yaml")
    body = chat("mail jane.doe@example.com")
    assert request(envoy.port, "POST", "/v1/chat/completions", body).status == 403
    r = request(envoy.port, "POST", "/v1/chat/completions", body, headers={"x-parapet-project": "pilot"})
    assert r.status == 200 and r.headers["x-parapet-would-block"] == "pii/email"


@pytest.fixture
def routes_envoy(start_envoy, upstream):
    return start_envoy(None, upstream.port, shipped="examples/routes.yaml")


def test_envoy_api_key_picks_the_project(routes_envoy, upstream):
    port = routes_envoy.port
    email = chat("mail jane.doe@example.com")
    # No key, no header: the default policy screens e-mail addresses.
    assert request(port, "POST", "/v1/chat/completions", email).status == 403
    for headers in ({"authorization": f"Bearer {KEY_HR}"}, {"x-api-key": KEY_HR}, {"api-key": KEY_HR}):
        r = request(port, "POST", "/v1/chat/completions", email, headers=headers)
        assert r.status == 200 and r.headers["x-parapet-flagged"] == "false", headers
    # The key beats the project header.
    r = request(port, "POST", "/v1/chat/completions", email,
                headers={"authorization": f"Bearer {KEY_SUPPORT}", "x-parapet-project": "hr-assistant"})
    assert r.status == 403
    # The guard API: the key's project, and the body may not pick another.
    g = request(port, "POST", "/v2/guard", {"messages": [{"role": "user", "content": "hi"}], "dev_info": True},
                headers={"x-api-key": KEY_HR})
    assert g.json()["dev_info"]["policy_id"] == "internal-facing"
    g = request(port, "POST", "/v2/guard", {"messages": [{"role": "user", "content": "hi"}], "project_id": "support-bot"},
                headers={"x-api-key": KEY_HR})
    assert g.status == 400 and g.json()["error"]["code"] == "project_mismatch"


def test_envoy_unknown_key_and_project_get_the_configured_error(routes_envoy, upstream):
    port = routes_envoy.port
    r = request(port, "POST", "/v1/chat/completions", chat("hello"), headers={"authorization": "Bearer sk-not-configured"})
    assert r.status == 401 and r.json()["error"]["code"] == "unknown_api_key"
    assert "sk-not-configured" not in r.body.decode() and "sk-not-configured" not in routes_envoy.logs()
    r = request(port, "POST", "/v1/chat/completions", chat("hello"), headers={"x-parapet-project": "ghost"})
    assert r.status == 400 and r.json()["error"]["code"] == "unknown_project"
    r = request(port, "POST", "/v2/guard", {"messages": [{"role": "user", "content": "hi"}]}, headers={"api-key": "nope"})
    assert r.status == 401 and r.json()["error"]["code"] == "unknown_api_key"
    assert upstream.received == []


def test_envoy_route_picks_the_project(routes_envoy, upstream):
    port = routes_envoy.port
    email = chat("mail jane.doe@example.com")
    # Route tenant-a-llm -> tenant-a (internal-facing), ahead of the key's public-facing policy.
    r = request(port, "POST", "/v1/chat/completions", email,
                headers={"host": "tenant-a.example", "authorization": f"Bearer {KEY_SUPPORT}"})
    assert r.status == 200 and r.headers["x-parapet-flagged"] == "false"
    assert request(port, "POST", "/v1/chat/completions", email, headers={"host": "other.example"}).status == 403
    assert len(upstream.received) == 1


# ---------------------------------------------------------------------------------------------
# workerd

WORKER_CONFIG = {
    "projects": {"tenant-a": "internal-facing", "hr": "internal-facing", "support": "public-facing"},
    "api_paths": {"/v1/chat/completions": "openai_chat", "/tenant-a/v1/chat/completions": "openai_chat"},
    "routes": {"tenant-a": "tenant-a"},
    "route_prefixes": {"/tenant-a/": "tenant-a"},
    "api_keys": [{"key": KEY_HR, "project": "hr"}, {"key": KEY_SUPPORT, "project": "support"}],
    "policies": {"pii-mask": {"sensitivity": "L2", "mode": "mask",
                              "detectors": {"pii/email": {}, "pii/name": {}, "pii/phone_number": {}, "pii/custom": {}},
                              "custom_patterns": [{"name": "employee_id", "pattern": "\\bEMP-\\d{6}\\b"}]},
                 "watch": {"sensitivity": "L2", "mode": "monitor", "detectors": {"pii/email": {}, "pii/secret": {}}}},
}


@pytest.fixture(scope="module")
def wd_policy(tmp_path_factory):
    origin = Origin()
    cfg = {**WORKER_CONFIG, "projects": {**WORKER_CONFIG["projects"], "masked": "pii-mask", "watched": "watch"}}
    w = Workerd(cfg, origin.url, tmp_path_factory.mktemp("wd-policy"))
    yield w, origin
    w.stop()
    origin.stop()


def test_worker_mask_rewrites_what_the_origin_receives(wd_policy):
    w, origin = wd_policy
    n = origin.count()
    r = call(w.port, "POST", "/v1/chat/completions", chat(PII_TEXT), headers={"x-parapet-project": "masked"})
    assert r.status == 200, r.body
    assert r.headers["x-parapet-masked"] == "pii/custom,pii/email,pii/name,pii/phone_number"
    [got] = origin.since(n)
    assert_forwarded_intact(got, MASKED_TEXT)


def test_worker_monitor_passes_and_reports_would_block(wd_policy):
    w, origin = wd_policy
    n = origin.count()
    body = json.dumps(chat("mail jane.doe@example.com")).encode()
    r = call(w.port, "POST", "/v1/chat/completions", body, headers={"x-parapet-project": "watched"})
    assert r.status == 200 and r.headers["x-parapet-would-block"] == "pii/email"
    assert origin.since(n)[0]["body"] == body


def test_worker_key_and_route_pick_the_project(wd_policy):
    w, origin = wd_policy
    email = chat("mail jane.doe@example.com")
    assert call(w.port, "POST", "/v1/chat/completions", email).status == 403
    for headers in ({"authorization": f"Bearer {KEY_HR}"}, {"x-api-key": KEY_HR}, {"api-key": KEY_HR}):
        r = call(w.port, "POST", "/v1/chat/completions", email, headers=headers)
        assert r.status == 200 and r.headers["x-parapet-flagged"] == "false", headers
    assert call(w.port, "POST", "/v1/chat/completions", email,
                headers={"x-api-key": KEY_SUPPORT, "x-parapet-project": "hr"}).status == 403
    # Route by path prefix beats the key.
    r = call(w.port, "POST", "/tenant-a/v1/chat/completions", email, headers={"x-api-key": KEY_SUPPORT})
    assert r.status == 200 and r.headers["x-parapet-flagged"] == "false"
    g = call(w.port, "POST", "/v2/guard", {"messages": [{"role": "user", "content": "hi"}], "dev_info": True},
             headers={"authorization": f"Bearer {KEY_HR}"})
    assert g.json()["dev_info"]["policy_id"] == "internal-facing"


def test_worker_unknown_key_and_project_get_the_configured_error(wd_policy):
    w, origin = wd_policy
    n = origin.count()
    r = call(w.port, "POST", "/v1/chat/completions", chat("hello"), headers={"x-api-key": "sk-not-configured"})
    assert r.status == 401 and r.json()["error"]["code"] == "unknown_api_key"
    assert "sk-not-configured" not in r.body.decode() and "sk-not-configured" not in w.output()
    r = call(w.port, "POST", "/v1/chat/completions", chat("hello"), headers={"x-parapet-project": "ghost"})
    assert r.status == 400 and r.json()["error"]["code"] == "unknown_project"
    assert origin.count() == n


# ---------------------------------------------------------------------------------------------
# docs


def test_api_doc_monitor_example_is_real_output(tmp_path):
    """docs/api.md's monitor example (outside the checked "Examples" section) is what the code says."""
    import re
    from conftest import PARAPET_BIN
    require(PARAPET_BIN)
    text = (ROOT / "docs" / "api.md").read_text()
    m = re.search(r"with\n`(?P<cfg>\{\"mode\":\"monitor\".*?)`\),\n`(?P<req>.*?)` gets:\n\n```json\n(?P<resp>.*?)\n```", text, re.S)
    assert m, "docs/api.md lost its monitor example"
    cfg = tmp_path / "monitor.json"
    cfg.write_text(m["cfg"])
    r = subprocess.run([str(PARAPET_BIN), "--log-level", "error", "screen", "--config", str(cfg)], input=m["req"] + "\n",
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == json.loads(m["resp"])
