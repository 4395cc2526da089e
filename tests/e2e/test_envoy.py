"""Parapet's proxy-wasm filter in a real Envoy (V8), in front of a local upstream."""
import json
import subprocess

import pytest

from conftest import ENVOY_WASM, PARAPET_BIN, ROOT, envoy_binary, request, require

BLOCK = {"mode": "block", "max_body_bytes": 65536, "projects": {"hr": "internal-facing", "support": "public-facing"}}
MONITOR = {**BLOCK, "mode": "monitor"}

BENIGN = {"messages": [{"role": "user", "content": "What is the capital of France?"}]}
PII = {"messages": [{"role": "system", "content": "You help customers."},
                    {"role": "user", "content": "Résumé: please mail jane.doe@example.com about it"}],
       "payload": True, "breakdown": True}
SECRET = {"messages": [{"role": "user", "content": "deploy with AKIAQ3EGUIXNP4SR7WDK please"}], "breakdown": True}


def chat(messages):
    return {"model": "test-model", "messages": messages}


@pytest.fixture
def block_envoy(start_envoy, upstream):
    return start_envoy(BLOCK, upstream.port)


def test_shipped_envoy_configs_validate(tmp_path):
    require(ENVOY_WASM)
    (tmp_path / "parapet_envoy.wasm").symlink_to(ENVOY_WASM)
    configs = sorted((ROOT / "envoy").glob("*.yaml"))
    assert configs, "no Envoy configs shipped"
    for cfg in configs:
        r = subprocess.run([str(envoy_binary()), "--mode", "validate", "-c", str(cfg), "--use-dynamic-base-id"],
                           cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0 and "OK" in r.stdout, f"{cfg.name}: {r.stdout[-2000:]} {r.stderr[-2000:]}"


def test_bad_plugin_config_is_rejected_at_start(tmp_path, upstream):
    from conftest import Envoy
    with pytest.raises(RuntimeError) as e:
        Envoy(tmp_path, {"mode": "block", "policies": {"p": {"sensitivity": "L9", "detectors": {"pii/email": {}}}}}, upstream.port)
    assert "policies.p.sensitivity" in str(e.value)
    # Valid for the core (the worker reaches its scoring service by binding), not for Envoy.
    with pytest.raises(RuntimeError) as e:
        Envoy(tmp_path, {"offload": {"timeout_ms": 500}}, upstream.port)
    assert "`offload.cluster`: Envoy needs the cluster of the scoring service" in str(e.value)


def test_guard_endpoint_benign_pii_secret(block_envoy):
    r = request(block_envoy.port, "POST", "/v2/guard", BENIGN)
    assert r.status == 200 and r.headers["content-type"] == "application/json"
    assert r.json()["flagged"] is False
    assert r.json()["metadata"]["request_uuid"]

    body = request(block_envoy.port, "POST", "/v2/guard", PII).json()
    assert body["flagged"] is True
    [hit] = [p for p in body["payload"] if p["detector_type"] == "pii/email"]
    content = PII["messages"][1]["content"]
    assert hit["message_id"] == 1 and content[hit["start"]:hit["end"]] == "jane.doe@example.com"
    assert any(b["detector_type"] == "pii/email" and b["detected"] for b in body["breakdown"])

    body = request(block_envoy.port, "POST", "/v2/guard", SECRET).json()
    assert body["flagged"] is True
    assert [b for b in body["breakdown"] if b["detected"]][0]["detector_type"] == "pii/secret"


def test_guard_endpoint_project_from_body_and_header(block_envoy):
    r = request(block_envoy.port, "POST", "/v2/guard", {**PII, "project_id": "hr"})
    # internal-facing does not screen e-mail addresses
    assert r.status == 200 and r.json()["flagged"] is False
    assert {b["policy_id"] for b in r.json()["breakdown"]} == {"internal-facing"}
    r = request(block_envoy.port, "POST", "/v2/guard", PII, headers={"x-parapet-project": "support"})
    assert {b["policy_id"] for b in r.json()["breakdown"]} == {"public-facing"}
    r = request(block_envoy.port, "POST", "/v2/guard", {**BENIGN, "project_id": "ghost"})
    assert r.status == 400 and r.json()["error"]["code"] == "unknown_project"


def test_clean_chat_is_forwarded_unchanged(block_envoy, upstream):
    body = json.dumps(chat(BENIGN["messages"])).encode()
    r = request(block_envoy.port, "POST", "/v1/chat/completions", body)
    assert r.status == 200 and r.json()["choices"][0]["message"]["content"] == "Hello from upstream."
    assert r.headers["x-parapet-flagged"] == "false"
    assert len(upstream.received) == 1 and upstream.received[0]["body"] == body


def test_flagged_chat_is_blocked_before_upstream(block_envoy, upstream):
    r = request(block_envoy.port, "POST", "/v1/chat/completions",
                chat([{"role": "user", "content": "my card is 4111 1111 1111 1111 and mail a.b@corp-mail.com"}]))
    assert r.status == 403
    err = r.json()["error"]
    assert err["code"] == "blocked" and {"pii/credit_card", "pii/email"} <= set(err["detector_types"])
    assert upstream.received == []
    stats = block_envoy.stats()
    assert stats.get("wasmcustom.parapet.blocked") == 1
    assert stats.get("wasmcustom.parapet.detected.pii.email") == 1


def test_monitor_mode_forwards_with_verdict_headers(start_envoy, upstream):
    e = start_envoy(MONITOR, upstream.port)
    r = request(e.port, "POST", "/v1/chat/completions", chat([{"role": "user", "content": "mail me: x.y@corp-mail.com"}]))
    assert r.status == 200
    assert r.headers["x-parapet-flagged"] == "true"
    assert r.headers["x-parapet-detectors"] == "pii/email"
    assert len(upstream.received) == 1
    assert e.stats().get("wasmcustom.parapet.flagged") == 1


def test_other_paths_pass_untouched(block_envoy, upstream):
    r = request(block_envoy.port, "POST", "/v1/embeddings", {"input": "mail a.b@corp-mail.com"})
    assert r.status == 200 and "x-parapet-flagged" not in r.headers
    assert len(upstream.received) == 1


@pytest.mark.parametrize("path", ["/v2/guard", "/v1/chat/completions"])
@pytest.mark.parametrize("body,code", [
    (b"{\"messages\": [", "invalid_json"),
    (b"", "empty_body"),
    (b"[1,2]", "invalid_request"),
    (b"{\"messages\": []}", "invalid_value"),
    (b"{\"messages\": [{\"role\": \"user\", \"content\": 42}]}", "invalid_type"),
    (b"{\"messages\": [{\"role\": \"user\", \"content\": \"caf\xe9\"}]}", "invalid_utf8"),
    (b"{\"messages\": [{\"role\": \"user\", \"content\": \"\\ud800\"}]}", "invalid_json"),
])
def test_bad_input_gets_a_named_4xx(block_envoy, upstream, path, body, code):
    r = request(block_envoy.port, "POST", path, body)
    assert r.status == 400, r.body
    assert r.json()["error"]["code"] == code
    assert upstream.received == []


@pytest.mark.parametrize("chunked", [False, True])
def test_oversized_body_is_413_json(block_envoy, upstream, chunked):
    big = {"messages": [{"role": "user", "content": "a" * 70000}]}
    r = request(block_envoy.port, "POST", "/v2/guard", big, chunked=chunked)
    assert r.status == 413 and r.json()["error"]["code"] == "body_too_large"
    r = request(block_envoy.port, "POST", "/v1/chat/completions", chat(big["messages"]), chunked=chunked)
    assert r.status == 413 and r.json()["error"]["code"] == "body_too_large"
    assert upstream.received == []


def test_fail_open_forwards_unscreenable_body_marked(start_envoy, upstream):
    e = start_envoy({**BLOCK, "fail_mode": "open"}, upstream.port)
    r = request(e.port, "POST", "/v1/chat/completions", b"{not json")
    assert r.status == 200 and r.headers["x-parapet-failed-open"] == "invalid_json"
    assert upstream.received[0]["body"] == b"{not json"
    assert e.stats().get("wasmcustom.parapet.failed_open") == 1


def test_guard_endpoint_method_not_allowed(block_envoy):
    r = request(block_envoy.port, "GET", "/v2/guard")
    assert r.status == 405 and r.json()["error"]["code"] == "method_not_allowed"


RESPONSES_FLAGGED = {"model": "m", "instructions": "Be brief.", "input": [
    {"role": "user", "content": [{"type": "input_text", "text": "Summarise the ticket"}]},
    {"type": "function_call", "call_id": "c1", "name": "get_ticket", "arguments": "{\"id\": 7}"},
    {"type": "function_call_output", "call_id": "c1", "output": "Customer card: 5555 5555 5555 4444"}]}
ANTHROPIC_FLAGGED = {"model": "claude", "max_tokens": 64, "system": "You are helpful.", "messages": [
    {"role": "user", "content": "Look up the order"},
    {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "orders", "input": {"id": 42}}]},
    {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1",
                                  "content": [{"type": "text", "text": "Shipped. Contact: ops@corp-mail.com"}]}]}]}


@pytest.mark.parametrize("path,body,detector", [
    ("/v1/responses", RESPONSES_FLAGGED, "pii/credit_card"),
    ("/v1/messages", ANTHROPIC_FLAGGED, "pii/email"),
])
def test_other_llm_formats_screen_tool_results(block_envoy, upstream, path, body, detector):
    r = request(block_envoy.port, "POST", path, body)
    assert r.status == 403 and detector in r.json()["error"]["detector_types"]
    assert upstream.received == []
    clean = json.loads(json.dumps(body).replace("5555 5555 5555 4444", "on file").replace("ops@corp-mail.com", "the desk"))
    r = request(block_envoy.port, "POST", path, clean)
    assert r.status == 200 and r.headers["x-parapet-flagged"] == "false"
    assert len(upstream.received) == 1 and upstream.received[0]["path"] == path


def test_wrong_shape_for_the_path_follows_fail_mode(block_envoy, upstream):
    # A chat-completions body sent to the Anthropic path is not that format: refused (fail closed).
    r = request(block_envoy.port, "POST", "/v1/messages", {"model": "m", "messages": [{"role": "system", "content": "x"}]})
    assert r.status == 400 and r.json()["error"]["param"] == "messages[0].role"
    assert upstream.received == []


def test_istio_example_is_a_working_parapet_config(tmp_path):
    """The Istio WasmPlugin is not an Envoy config (no `envoy --mode validate`); check what can
    be checked without a cluster: its pluginConfig compiles and screens, the routes it maps exist
    in the VirtualService, and the buffer filter is inserted before the router."""
    import yaml

    require(PARAPET_BIN)
    docs = list(yaml.safe_load_all((ROOT / "envoy" / "istio" / "wasmplugin.yaml").read_text()))
    by_kind = {d["kind"]: d for d in docs if d}
    plugin = by_kind["WasmPlugin"]["spec"]
    cfg = plugin["pluginConfig"]
    path = tmp_path / "istio-plugin-config.json"
    path.write_text(json.dumps(cfg))
    r = subprocess.run([str(PARAPET_BIN), "--log-level", "error", "screen", "--config", str(path)],
                       input='{"messages":[{"role":"user","content":"mail jane.doe@example.com"}]}\n',
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.splitlines()[0])["flagged"] is True
    route_names = {h["name"] for h in by_kind["VirtualService"]["spec"]["http"]}
    assert set(cfg.get("routes", {})) <= route_names, "pluginConfig.routes names a route the VirtualService lacks"
    patch = by_kind["EnvoyFilter"]["spec"]["configPatches"][0]
    assert patch["patch"]["operation"] == "INSERT_BEFORE"
    assert patch["match"]["listener"]["filterChain"]["filter"]["subFilter"]["name"] == "envoy.filters.http.router"
    assert patch["patch"]["value"]["name"] == "envoy.filters.http.buffer"
