"""A configuration pushed to a running Envoy: a bad one is rejected and the old one keeps
serving; a good one takes over. The listener (with the Parapet filter and its plugin config) is
served to Envoy as a file-based LDS resource, the way a control plane would push it, and replaced
by an atomic rename, which Envoy watches.
"""
import json
import subprocess
import time

import yaml

from conftest import ENVOY_WASM, ROOT, envoy_binary, free_port, request, require, wait_port

BLOCK_EMAIL = {"policies": {"mail": {"sensitivity": "L2", "detectors": {"pii/email": {}}}}, "default_policy": "mail"}
BLOCK_SECRET = {"policies": {"keys": {"sensitivity": "L2", "detectors": {"pii/secret": {}}}}, "default_policy": "keys"}
BAD = {"policies": {"mail": {"sensitivity": "L9", "detectors": {"pii/email": {}}}}, "default_policy": "mail"}


def shipped():
    return yaml.safe_load((ROOT / "envoy" / "envoy.yaml").read_text())


def listener(port, plugin_config):
    lst = shipped()["static_resources"]["listeners"][0]
    lst["address"]["socket_address"]["port_value"] = port
    for f in lst["filter_chains"][0]["filters"][0]["typed_config"]["http_filters"]:
        if f["name"] == "envoy.filters.http.wasm":
            cfg = f["typed_config"]["config"]
            cfg["vm_config"]["code"]["local"]["filename"] = str(ENVOY_WASM)
            cfg["configuration"]["value"] = json.dumps(plugin_config)
    lst["@type"] = "type.googleapis.com/envoy.config.listener.v3.Listener"
    return {"resources": [lst]}


def push(path, doc):
    tmp = path.with_suffix(".tmp")
    tmp.write_text(yaml.safe_dump(doc))
    tmp.rename(path)


def stat(admin, name):
    r = request(admin, "GET", f"/stats?filter=^{name}$")
    for line in r.body.decode().splitlines():
        k, _, v = line.partition(": ")
        if k == name:
            return int(v)
    return 0


def wait_for(pred, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(0.2)
    return False


def guard(port, content):
    return request(port, "POST", "/v2/guard", {"messages": [{"role": "user", "content": content}]})


def test_bad_config_push_is_rejected_and_the_old_one_keeps_serving(tmp_path):
    require(ENVOY_WASM)
    port, admin, up = free_port(), free_port(), free_port()
    lds = tmp_path / "lds.yaml"
    push(lds, listener(port, BLOCK_EMAIL))
    boot = shipped()
    boot["admin"]["address"]["socket_address"]["port_value"] = admin
    boot["node"] = {"id": "parapet-test", "cluster": "parapet-test"}
    boot["static_resources"] = {"clusters": boot["static_resources"]["clusters"]}
    boot["static_resources"]["clusters"][0]["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]["socket_address"]["port_value"] = up
    boot["dynamic_resources"] = {"lds_config": {"path_config_source": {"path": str(lds)}, "resource_api_version": "V3"}}
    cfg = tmp_path / "bootstrap.yaml"
    cfg.write_text(yaml.safe_dump(boot))
    log = tmp_path / "envoy.log"
    proc = subprocess.Popen([str(envoy_binary()), "-c", str(cfg), "--concurrency", "2", "--use-dynamic-base-id", "-l", "info",
                             "--log-path", str(log)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path)
    try:
        wait_port(port, timeout=120, proc=proc)
        assert guard(port, "mail bob@example.com").json()["flagged"] is True
        assert guard(port, "key AKIAQ3EGUIXNP4SR7WDK").json()["flagged"] is False

        rejected = stat(admin, "listener_manager.lds.update_rejected")
        push(lds, listener(port, BAD))
        assert wait_for(lambda: stat(admin, "listener_manager.lds.update_rejected") > rejected), log.read_text()[-3000:]
        # The old configuration still answers, on every worker.
        for _ in range(10):
            assert guard(port, "mail bob@example.com").json()["flagged"] is True
        assert "sensitivity" in log.read_text(), "the rejection names the bad field"

        ok = stat(admin, "listener_manager.lds.update_success")
        push(lds, listener(port, BLOCK_SECRET))
        assert wait_for(lambda: stat(admin, "listener_manager.lds.update_success") > ok), log.read_text()[-3000:]
        # The new listener answers once Envoy has drained the old one.
        assert wait_for(lambda: guard(port, "key AKIAQ3EGUIXNP4SR7WDK").json().get("flagged") is True, timeout=90)
        assert guard(port, "mail bob@example.com").json()["flagged"] is False
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
