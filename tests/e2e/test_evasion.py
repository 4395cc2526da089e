"""The evasion techniques Parapet handles stay handled (tests/evasion/, docs/robustness.md):
invisible characters, bidi controls, markdown and HTML hiding, and PII in base64 or hex keep
every detection the plain text had; encoded attacks keep the prompt-attack detection."""
import json
import subprocess
import sys

from conftest import PARAPET_BIN, ROOT, require


def test_handled_evasion_techniques_keep_their_detections():
    require(PARAPET_BIN)
    r = subprocess.run([sys.executable, str(ROOT / "tests" / "evasion" / "retention.py"), "--json"],
                       capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    assert res["plain_detected"]["pii"] == res["plain_total"]["pii"] == 6
    assert res["plain_detected"]["attack"] >= 6
    kept = res["retention"]
    for technique in ("zero_width", "bidi", "markdown", "base64", "hex"):
        for kind in ("attack", "pii"):
            k = kept[f"{technique}/{kind}"]
            assert k["kept"] == k["of"], f"{technique}/{kind}: {k}"
    assert kept["html_hidden/pii"]["kept"] == kept["html_hidden/pii"]["of"]
