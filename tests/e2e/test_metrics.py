"""Parapet's metrics in a real Envoy: labelled counters and the latency histogram in
/stats/prometheus, the shipped stats tags that make the labels, and the Grafana dashboard's
queries against what Envoy actually exports."""
import json
import re
import subprocess
import time

import pytest
import yaml

from conftest import ENVOY_WASM, ROOT, envoy_binary, request, require

SUPPORT_POLICY = "public-facing"
CONFIG = {
    "mode": "block",
    "fail_mode": "closed",
    "max_body_bytes": 65536,
    "projects": {"support": SUPPORT_POLICY, "hr": "hr-mask"},
    "policies": {"hr-mask": {
        "sensitivity": "L2", "mode": "mask", "fail_mode": "open",
        "detectors": {"pii/email": {}, "pii/secret": {"mode": "block"}},
    }},
}
COUNTERS = ["requests", "clean", "flagged", "blocked", "masked", "failed_open", "rejected"]
CLEAN_REPLY = {"id": "c1", "object": "chat.completion", "model": "m",
               "choices": [{"index": 0, "message": {"role": "assistant", "content": "Paris is the capital of France."},
                            "finish_reason": "stop"}]}
PII_REPLY = {**CLEAN_REPLY, "choices": [{"index": 0, "finish_reason": "stop",
                                         "message": {"role": "assistant", "content": "Write to jane.doe@example.com for that."}}]}


def chat(text):
    return {"model": "m", "messages": [{"role": "user", "content": text}]}


LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def scrape(envoy) -> dict:
    """`/stats/prometheus` as {(metric name, ((label, value), ...)): value}."""
    r = request(envoy.admin, "GET", "/stats/prometheus")
    assert r.status == 200
    out = {}
    for line in r.body.decode().splitlines():
        if not line or line.startswith("#"):
            continue
        m = LINE.match(line)
        assert m, f"not a Prometheus sample line: {line!r}"
        labels = tuple(sorted(LABEL.findall(m.group(2) or "")))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def series(samples, name, **labels):
    """Samples of `name` whose labels include `labels`: {remaining labels: value}."""
    out = {}
    for (n, ls), v in samples.items():
        d = dict(ls)
        if n == name and all(d.get(k) == v2 for k, v2 in labels.items()):
            out[tuple((k, x) for k, x in ls if k not in labels)] = v
    return out


def one(samples, name, **labels):
    s = series(samples, name, **labels)
    assert list(s) == [()], f"{name}{labels}: expected one series, got {s}"
    return s[()]


def counters(samples, project, policy, direction):
    return {c: one(samples, f"parapet_screen_{c}", project=project, policy=policy, direction=direction) for c in COUNTERS}


def detected(samples, project, policy, direction):
    return {dict(k)["detector"]: v for k, v in series(samples, "parapet_screen_detected", project=project, policy=policy, direction=direction).items()}


def expect(**nonzero):
    return {c: nonzero.get(c, 0) for c in COUNTERS}


def reply(upstream, body):
    raw = json.dumps(body).encode()
    upstream.status = 200
    upstream.headers = {"content-type": "application/json", "content-length": str(len(raw))}
    upstream.steps = [raw]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One Envoy with the shipped config and stats tags; traffic for two projects, the default
    policy and an unknown project, in both directions; then the scrape."""
    from conftest import Envoy, ScriptedUpstream

    up = ScriptedUpstream()
    envoy = Envoy(tmp_path_factory.mktemp("metrics"), CONFIG, up.port)
    try:
        def send(body, project=None, answer=CLEAN_REPLY):
            reply(up, answer)
            headers = {"x-parapet-project": project} if project else {}
            return request(envoy.port, "POST", "/v1/chat/completions", body, headers=headers)

        statuses = [
            # support (public-facing: block, fail closed)
            send(chat("What is the capital of France?"), "support").status,                      # clean, clean response
            send(chat("Which museums are open on Sunday?"), "support").status,                   # clean, clean response
            send(chat("Please mail jane.doe@example.com the invoice"), "support").status,        # blocked
            send(b"{not json", "support").status,                                                # rejected
            send(chat("Who should I write to about billing?"), "support", PII_REPLY).status,     # clean, response blocked
            # hr (hr-mask: mask, secrets block, fail open)
            send(chat("Forward this to bob.smith@corp-mail.com please"), "hr").status,           # masked, clean response
            send(chat("deploy with AKIAQ3EGUIXNP4SR7WDK now"), "hr").status,                     # blocked
            send(b"{not json", "hr").status,                                                     # failed open, clean response
            # no project: the default policy
            send(chat("What is the capital of France?")).status,                                 # clean, clean response
            # a project that is not configured
            send(chat("What is the capital of France?"), "ghost").status,                        # rejected
        ]
        assert statuses == [200, 200, 403, 400, 200, 200, 403, 200, 200, 400]
        guard = request(envoy.port, "POST", "/v2/guard", {"messages": [{"role": "user", "content": "Hello there"}]})
        assert guard.status == 200 and guard.json()["flagged"] is False
        # Histograms reach the admin output when Envoy merges them (stats flush, every 5 s).
        deadline = time.monotonic() + 30
        while True:
            samples = scrape(envoy)
            counts = series(samples, "parapet_screen_latency_us_count")
            guard_count = sum(series(samples, "parapet_guard_latency_us_count").values())
            if (sum(counts.values()) >= 16 and guard_count >= 1) or time.monotonic() > deadline:
                break
            time.sleep(1)
        text = request(envoy.admin, "GET", "/stats/prometheus").body.decode()
        yield samples, text
    finally:
        envoy.stop()
        up.stop()


def test_labelled_request_counters(run):
    samples, _ = run
    assert counters(samples, "support", SUPPORT_POLICY, "input") == expect(requests=5, clean=3, flagged=1, blocked=1, rejected=1)
    assert counters(samples, "hr", "hr-mask", "input") == expect(requests=3, flagged=2, masked=1, blocked=1, failed_open=1)
    assert counters(samples, "_none", "default", "input") == expect(requests=1, clean=1)
    assert counters(samples, "_unknown", "_none", "input") == expect(requests=1, rejected=1)


def test_labelled_response_counters(run):
    samples, _ = run
    # Responses: a locally answered (blocked, rejected) request has none.
    assert counters(samples, "support", SUPPORT_POLICY, "output") == expect(requests=3, clean=2, flagged=1, blocked=1)
    assert counters(samples, "hr", "hr-mask", "output") == expect(requests=2, clean=2)
    assert counters(samples, "_none", "default", "output") == expect(requests=1, clean=1)
    assert counters(samples, "_unknown", "_none", "output") == expect()


def test_detector_counters_follow_each_policy(run):
    samples, _ = run
    hr_in = detected(samples, "hr", "hr-mask", "input")
    assert hr_in == {"pii_email": 1, "pii_secret": 1}, "hr-mask runs exactly these two detectors"
    support_in = detected(samples, "support", SUPPORT_POLICY, "input")
    policy = json.loads((ROOT / "policies" / f"{SUPPORT_POLICY}.json").read_text())
    assert set(support_in) == {t.replace("/", "_") for t in policy["detectors"]}
    assert {k: v for k, v in support_in.items() if v} == {"pii_email": 1}
    assert {k: v for k, v in detected(samples, "support", SUPPORT_POLICY, "output").items() if v} == {"pii_email": 1}
    assert detected(samples, "_unknown", "_none", "input") == {}


def test_unlabelled_totals_still_count(run):
    samples, _ = run
    # Requests on a screened path: the ten API requests and the guard endpoint call.
    assert one(samples, "parapet_requests") == 11
    assert one(samples, "parapet_guard_requests") == 1
    assert one(samples, "parapet_guard_latency_us_count") == 1
    assert one(samples, "parapet_guard_latency_us_sum") > 0
    assert one(samples, "parapet_blocked") == 2
    assert one(samples, "parapet_masked") == 1
    assert one(samples, "parapet_flagged") == 3
    assert one(samples, "parapet_rejected") == 2
    assert one(samples, "parapet_failed_open") == 1
    assert one(samples, "parapet_responses") == 6
    assert one(samples, "parapet_response_blocked") == 1
    assert one(samples, "parapet_detected_pii_email") == 2


def test_latency_histogram_counts_every_screening(run):
    samples, text = run
    assert "# TYPE parapet_screen_latency_us histogram" in text
    # One sample per screening the core ran: every request body it parsed (the unknown
    # project's too), every response; none for a request it never saw.
    expected = {("support", SUPPORT_POLICY): (5, 3), ("hr", "hr-mask"): (3, 2), ("_none", "default"): (1, 1), ("_unknown", "_none"): (1, 0)}
    for (project, policy), counts in expected.items():
        for direction, n in zip(["input", "output"], counts):
            labels = {"project": project, "policy": policy, "direction": direction}
            assert one(samples, "parapet_screen_latency_us_count", **labels) == n, labels
            buckets = series(samples, "parapet_screen_latency_us_bucket", **labels)
            by_le = {float(dict(k)["le"]): v for k, v in buckets.items()}
            assert by_le[float("inf")] == n
            assert sorted(by_le)[:3] == [100, 250, 500], "the shipped microsecond buckets"
            values = [by_le[le] for le in sorted(by_le)]
            assert values == sorted(values), "buckets are cumulative"
    # The clock advances during a screening: the guard model alone takes milliseconds.
    total_us = one(samples, "parapet_screen_latency_us_sum", project="support", policy=SUPPORT_POLICY, direction="input")
    assert total_us > 1000


def test_dashboard_queries_only_exported_metrics(run):
    samples, _ = run
    dash = json.loads((ROOT / "envoy" / "grafana" / "parapet-dashboard.json").read_text())
    exprs = [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]
    exprs += [v["query"]["query"] for v in dash["templating"]["list"] if v["type"] == "query"]
    assert exprs
    used = {m for e in exprs for m in re.findall(r"\bparapet_[a-z_]+\b", e)}
    exported = {name for name, _ in samples}
    assert used and used <= exported, f"the dashboard queries metrics Envoy does not export: {used - exported}"
    labels_used = {l for e in exprs for l in re.findall(r"\b(project|policy|direction|detector)\b", e)}
    exported_labels = {k for name, ls in samples if name.startswith("parapet_screen_") for k, _ in ls}
    assert labels_used <= exported_labels
    names = {v["name"] for v in dash["templating"]["list"]}
    assert {"datasource", "project", "policy", "direction"} <= names
    assert all(p["datasource"]["uid"] == "${datasource}" for p in dash["panels"])


def shipped_stats_config(path):
    docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
    return docs[0]["stats_config"]


def test_shipped_configs_carry_the_same_stats_tags():
    snippet = shipped_stats_config(ROOT / "envoy" / "stats-tags.yaml")
    assert [t["tag_name"] for t in snippet["stats_tags"]] == ["project", "policy", "direction", "detector"]
    for path in [ROOT / "envoy" / "envoy.yaml", ROOT / "envoy" / "envoy-monitor.yaml", *sorted((ROOT / "envoy" / "examples").glob("*.yaml"))]:
        assert shipped_stats_config(path) == snippet, path.name
    istio = [d for d in yaml.safe_load_all((ROOT / "envoy" / "istio" / "stats-tags.yaml").read_text()) if d]
    [patch] = istio[0]["spec"]["configPatches"]
    assert patch["applyTo"] == "BOOTSTRAP" and patch["patch"]["operation"] == "MERGE"
    assert patch["patch"]["value"]["stats_config"] == snippet


def test_stats_tag_regexes_split_the_filter_names():
    """The regexes, applied as Envoy applies them (each to the full name; group 1 cut, group 2 the
    value), give the documented labels for names the filter defines."""
    tags = shipped_stats_config(ROOT / "envoy" / "stats-tags.yaml")["stats_tags"]

    def extract(name):
        cut, labels = [], {}
        for t in tags:
            m = re.search(t["regex"], name)
            if m:
                labels[t["tag_name"]] = m.group(2)
                cut.append(m.span(1))
        for a, b in sorted(cut, reverse=True):
            name = name[:a] + name[b:]
        return name, labels

    p = "wasmcustom.parapet.screen.project.support-bot.policy.public-facing.direction.output."
    assert extract(p + "requests") == ("wasmcustom.parapet.screen.requests", {"project": "support-bot", "policy": "public-facing", "direction": "output"})
    assert extract(p + "detector.moderated_content_self_harm.detected") == (
        "wasmcustom.parapet.screen.detected",
        {"project": "support-bot", "policy": "public-facing", "direction": "output", "detector": "moderated_content_self_harm"})
    assert extract(p + "latency_us")[0] == "wasmcustom.parapet.screen.latency_us"
    assert extract("wasmcustom.parapet.detected.pii.email") == ("wasmcustom.parapet.detected.pii.email", {})
    # The posture gauges and counter carry the project label only.
    assert extract("wasmcustom.parapet.posture.project.bank.mode") == ("wasmcustom.parapet.posture.mode", {"project": "bank"})
    assert extract("wasmcustom.parapet.posture.project._none.transitions") == ("wasmcustom.parapet.posture.transitions", {"project": "_none"})


def test_new_envoy_configs_validate(tmp_path):
    require(ENVOY_WASM)
    (tmp_path / "parapet_envoy.wasm").symlink_to(ENVOY_WASM)
    for cfg in [ROOT / "envoy" / "stats-tags.yaml", *sorted((ROOT / "envoy" / "examples").glob("*.yaml"))]:
        r = subprocess.run([str(envoy_binary()), "--mode", "validate", "-c", str(cfg), "--use-dynamic-base-id"],
                           cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0 and "OK" in r.stdout, f"{cfg.name}: {r.stdout[-2000:]} {r.stderr[-2000:]}"
