"""Parapet's metrics through a real Prometheus (Debian's `prometheus` package):

- the shipped alerting rules (envoy/prometheus/parapet-alerts.yml) pass `promtool check rules`
  and their unit tests (`promtool test rules`), and the example config `promtool check config`;
- Prometheus, configured from the example, scrapes a real Envoy running the shipped envoy.yaml
  after mixed traffic for four projects; every query of the Grafana dashboard (panels and
  variables) returns series with a value above zero; the rules load healthy, and the blocked,
  fail-open and posture alerts go pending on that traffic.

Everything listens on 127.0.0.1; Prometheus keeps its data in a temporary directory.
"""
import json
import math
import pathlib
import re
import subprocess
import time
import urllib.parse
import urllib.request

import pytest
import yaml

from conftest import ROOT, Envoy, ScriptedUpstream, free_port, request, stop_process, wait_port
from test_metrics import CLEAN_REPLY, PII_REPLY, chat, reply
from test_posture import ATTACKS, BENIGN, MODES, mode_of

PROMETHEUS = pathlib.Path("/usr/bin/prometheus")
PROMTOOL = pathlib.Path("/usr/bin/promtool")
RULES_DIR = ROOT / "envoy" / "prometheus"
ALERTS = RULES_DIR / "parapet-alerts.yml"
DASHBOARD = ROOT / "envoy" / "grafana" / "parapet-dashboard.json"

# Grafana's built-in variables, as a dashboard over the last few minutes would set them. The
# rate window spans the whole test, so rates stay above zero while the queries run.
BUILTINS = {"__rate_interval": "2m", "__interval": "1m", "__range": "5m"}

CONFIG = {
    "mode": "block",
    "fail_mode": "closed",
    "max_body_bytes": 65536,
    "projects": {"support": "public-facing", "hr": "hr-mask", "bank": "guarded"},
    "policies": {
        "hr-mask": {"sensitivity": "L2", "mode": "mask", "fail_mode": "open",
                    "detectors": {"pii/email": {}, "pii/secret": {"mode": "block"}}},
        # Climbs a mode per attack or two and stays up for the test (10 min half-life).
        "guarded": {"sensitivity": "L2", "detectors": {"prompt_attack": {}, "pii/email": {}}, "posture": {
            "half_life_s": 600, "rate_half_life_s": 1, "rate_lookahead_s": 0, "surge_min": 1000,
            "thresholds": {"scoped": 1.5, "inquiry": 3, "deferral": 4.5, "refusal": 6}}},
    },
}

# What the traffic must raise: (alert, project, direction or None for the posture gauge).
EXPECTED_ALERTS = {
    ("ParapetBlockedSpike", "support", "input"),
    ("ParapetFailOpenSpike", "hr", "input"),
    ("ParapetPostureNotFull", "bank", None),
    ("ParapetPostureRefusal", "bank", None),
}


def binary(path: pathlib.Path) -> str:
    if not path.exists():
        pytest.fail(f"{path} is missing: run scripts/setup.sh (installs Debian's prometheus package)")
    return str(path)


def promtool(*args) -> str:
    r = subprocess.run([binary(PROMTOOL), *args], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"promtool {' '.join(args)}:\n{r.stdout}{r.stderr}"
    return r.stdout + r.stderr


def test_promtool_checks_the_rules():
    out = promtool("check", "rules", str(ALERTS))
    rules = [r for g in yaml.safe_load(ALERTS.read_text())["groups"] for r in g["rules"]]
    assert f"SUCCESS: {len(rules)} rules found" in out, out
    assert {r["alert"] for r in rules} == {a for a, _, _ in EXPECTED_ALERTS} | {"ParapetScreeningLatencyHigh"}
    for r in rules:
        assert r.get("for") and r["labels"]["severity"] in ("warning", "critical"), r["alert"]
        assert {"summary", "description"} <= set(r["annotations"]), r["alert"]


def test_promtool_unit_tests_of_the_rules_pass():
    out = promtool("test", "rules", str(RULES_DIR / "parapet-alerts.test.yml"))
    assert "SUCCESS" in out, out
    # Every alert is tested firing and silent.
    tests = yaml.safe_load((RULES_DIR / "parapet-alerts.test.yml").read_text())["tests"]
    cases = [c for t in tests for c in t["alert_rule_test"]]
    for alert in {r["alert"] for g in yaml.safe_load(ALERTS.read_text())["groups"] for r in g["rules"]}:
        assert any(c["alertname"] == alert and c["exp_alerts"] for c in cases), f"{alert} never tested firing"
        assert any(c["alertname"] == alert and not c["exp_alerts"] for c in cases), f"{alert} never tested silent"


def test_promtool_checks_the_example_config():
    out = promtool("check", "config", str(RULES_DIR / "prometheus.yml"))
    assert "is valid prometheus config file syntax" in out, out


# --- The dashboard's queries, as Grafana would send them ---------------------------------------

def dashboard_queries():
    """(id, PromQL) for every panel target (rows' panels included) and every query variable,
    with Grafana's variables substituted."""
    dash = json.loads(DASHBOARD.read_text())
    variables = {}
    for v in dash["templating"]["list"]:
        if v["type"] == "query":
            # Every selector uses `=~`, so "All" matches every value.
            variables[v["name"]] = v.get("allValue") or ".*"
        elif v["type"] in ("custom", "constant", "textbox"):
            variables[v["name"]] = str((v.get("current") or {}).get("value") or v.get("query", ""))

    def substitute(expr):
        def one(m):
            name = m.group(1) or m.group(2) or m.group(3)
            if name in BUILTINS:
                return BUILTINS[name]
            assert name in variables, f"Grafana variable ${name} has no test value: {expr}"
            return variables[name]
        return re.sub(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]", one, expr)

    def panels(ps):
        for p in ps:
            yield p
            yield from panels(p.get("panels", []))

    out = []
    for p in panels(dash["panels"]):
        for t in p.get("targets", []):
            if t.get("expr"):
                out.append((f"panel {p.get('id')} {p.get('title')!r} {t.get('refId')}", substitute(t["expr"])))
    for v in dash["templating"]["list"]:
        if v["type"] != "query":
            continue
        q = v["query"]["query"] if isinstance(v["query"], dict) else v["query"]
        m = re.fullmatch(r"\s*label_values\((?:(.*),\s*)?(\w+)\)\s*", q)
        assert m, f"variable {v['name']}: only label_values(...) is translated, got {q!r}"
        selector = substitute(m.group(1) or '{__name__=~".+"}')
        # label_values(metric, label) lists the label's values: one series per value here.
        out.append((f"variable {v['name']}", f"count by ({m.group(2)}) ({selector})"))
    assert out, "no queries in the dashboard"
    return out


QUERIES = dashboard_queries()


class Prometheus:
    def __init__(self, tmp, envoy_admin):
        # The shipped example, pointed at the test's Envoy, scraping and evaluating every second.
        cfg = yaml.safe_load((RULES_DIR / "prometheus.yml").read_text())
        cfg["global"].update(scrape_interval="1s", evaluation_interval="1s")
        cfg["rule_files"] = [str(RULES_DIR / f) for f in cfg["rule_files"]]
        [job] = cfg["scrape_configs"]
        job["static_configs"] = [{"targets": [f"127.0.0.1:{envoy_admin}"]}]
        path = tmp / "prometheus.yml"
        path.write_text(yaml.safe_dump(cfg))
        self.port = free_port()
        self.log = tmp / "prometheus.log"
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [binary(PROMETHEUS), f"--config.file={path}", f"--storage.tsdb.path={tmp / 'tsdb'}",
                 f"--web.listen-address=127.0.0.1:{self.port}"],
                stdout=log, stderr=subprocess.STDOUT, cwd=tmp)
        try:
            wait_port(self.port, timeout=30, proc=self.proc)
            self.until(lambda: self.get("/-/ready", raw=True), 30, "Prometheus ready")
        except Exception:
            self.stop()
            raise

    def get(self, path, raw=False, **params):
        url = f"http://127.0.0.1:{self.port}{path}" + ("?" + urllib.parse.urlencode(params) if params else "")
        try:
            with urllib.request.urlopen(url, timeout=10) as r:
                body = r.read()
        except OSError:
            return None
        if raw:
            return body
        data = json.loads(body)
        assert data["status"] == "success", data
        return data["data"]

    def query(self, promql):
        """The instant vector of `promql` now, as [(labels, value)]."""
        data = self.get("/api/v1/query", query=promql)
        assert data["resultType"] == "vector", data
        return [(s["metric"], float(s["value"][1])) for s in data["result"]]

    def until(self, ok, timeout, what):
        deadline = time.monotonic() + timeout
        while not ok():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what}: not after {timeout} s\n" + self.log.read_text(errors="replace")[-3000:])
            if self.proc.poll() is not None:
                raise RuntimeError(f"Prometheus exited with {self.proc.returncode}\n" + self.log.read_text(errors="replace")[-3000:])
            time.sleep(0.5)

    def stop(self):
        stop_process(self.proc)


def positive(samples):
    return any(not math.isnan(v) and v > 0 for _, v in samples)


def active_alerts(prom):
    out = {}
    for a in prom.get("/api/v1/alerts")["alerts"]:
        ls = a["labels"]
        out[(ls["alertname"], ls.get("project"), ls.get("direction"))] = a["state"]
    return out


def send_traffic(envoy, up):
    def send(body, project=None, answer=CLEAN_REPLY):
        reply(up, answer)
        headers = {"x-parapet-project": project} if project else {}
        return request(envoy.port, "POST", "/v1/chat/completions", body, headers=headers)

    # support (public-facing: block, fail closed): clean, a blocked response, a rejected body,
    # and a burst of blocked requests (the blocked alert needs 10 in 5 minutes).
    assert send(chat("What is the capital of France?"), "support").status == 200
    assert send(chat("Who should I write to about billing?"), "support", PII_REPLY).status == 200
    assert send(b"{not json", "support").status == 400
    for i in range(12):
        assert send(chat(f"Please mail jane.doe{i}@example.com the invoice"), "support").status == 403
    # hr (mask, secrets block, fail open): masked, blocked, clean, and six unparseable bodies
    # forwarded unscreened (the fail-open alert needs 5 in 5 minutes).
    assert send(chat("Forward this to bob.smith@corp-mail.com please"), "hr").status == 200
    assert send(chat("deploy with AKIAQ3EGUIXNP4SR7WDK now"), "hr").status == 403
    assert send(chat("Which rooms are free on Friday?"), "hr").status == 200
    for _ in range(6):
        assert send(b"{not json", "hr").status == 200
    # No project (the default policy), and a project that is not configured.
    assert send(chat("What is the capital of France?")).status == 200
    assert send(chat("What is the capital of France?"), "ghost").status == 400
    # bank: attacks walk the posture up to refusal; a benign probe in each mode counts the
    # posture's own answers (inquiry, deferred, refused).
    seen = []
    for i in range(40):
        r = send(chat(ATTACKS[i % len(ATTACKS)]), "bank")
        assert r.status == 403, r.body
        if mode_of(r) not in seen:
            seen.append(mode_of(r))
            send(chat(BENIGN), "bank")
            if seen[-1] == "refusal":
                break
    assert seen == MODES, seen
    assert request(envoy.port, "POST", "/v2/guard", {"messages": [{"role": "user", "content": "Hello there"}]}).status == 200


@pytest.fixture(scope="module")
def prom(tmp_path_factory):
    """Envoy (shipped envoy.yaml) and Prometheus scraping it; traffic once the first scrape is
    in; then a bounded wait until the queries and alerts reflect the traffic."""
    binary(PROMETHEUS)
    tmp = tmp_path_factory.mktemp("prometheus")
    up = ScriptedUpstream()
    envoy = prometheus = None
    try:
        envoy = Envoy(tmp, CONFIG, up.port)
        prometheus = Prometheus(tmp, envoy.admin)
        # Zero-valued samples before the traffic, so the rates see it arrive.
        prometheus.until(lambda: prometheus.query('count(parapet_screen_requests{project="bank"})'), 30,
                         "Parapet's series scraped from Envoy")
        send_traffic(envoy, up)

        # Histograms reach the scrape at Envoy's stats flush (5 s); rules evaluate every second.
        def settled():
            return (all(positive(prometheus.query(q)) for _, q in QUERIES)
                    and EXPECTED_ALERTS <= set(active_alerts(prometheus)))
        try:
            prometheus.until(settled, 60, "dashboard queries and alerts after the traffic")
        except TimeoutError:
            pass  # the tests below say which query or alert is missing
        yield prometheus
    finally:
        for p in (prometheus, envoy):
            if p:
                p.stop()
        up.stop()


@pytest.mark.parametrize("query", [q for _, q in QUERIES], ids=[i for i, _ in QUERIES])
def test_dashboard_query_returns_series(prom, query):
    samples = prom.query(query)
    assert samples, f"no series for {query}"
    assert positive(samples), f"no value above zero for {query}: {samples}"


def test_the_rules_load_healthy_and_evaluate(prom):
    groups = prom.get("/api/v1/rules")["groups"]
    shipped = [r["alert"] for g in yaml.safe_load(ALERTS.read_text())["groups"] for r in g["rules"]]
    loaded = {r["name"]: r for g in groups for r in g["rules"]}
    assert sorted(loaded) == sorted(shipped)
    for name, r in loaded.items():
        assert (r["type"], r["health"], r.get("lastError", "")) == ("alerting", "ok", ""), r
        assert not r["lastEvaluation"].startswith("0001-"), f"{name} never evaluated"


def test_the_rules_query_exported_metrics(prom):
    exprs = [r["expr"] for g in yaml.safe_load(ALERTS.read_text())["groups"] for r in g["rules"]]
    names = {n for e in exprs for n in re.findall(r"\bparapet_\w+", e)}
    assert names
    for name in sorted(names):
        assert prom.query(f"count({name})"), f"the rules use {name}, which Envoy does not export"


def test_the_traffic_raises_the_blocked_fail_open_and_posture_alerts(prom):
    alerts = active_alerts(prom)
    missing = EXPECTED_ALERTS - set(alerts)
    assert not missing, f"alerts not raised: {missing}; active: {alerts}"
    # Each waits out its `for:` first; projects without such traffic stay silent.
    assert {alerts[a] for a in EXPECTED_ALERTS} <= {"pending", "firing"}
    assert not [a for a in alerts if a[0] == "ParapetFailOpenSpike" and a[1] != "hr"], alerts
    assert not [a for a in alerts if a[0].startswith("ParapetPosture") and a[1] != "bank"], alerts
