"""The monitoring page (C14) runs with non-default parameters, and its glued figures and
verdict match calculations made here from the raw overload record."""

from __future__ import annotations

import json

import pytest

from selfhost import alertrules as ar
from selfhost import paths
from selfhost.book import ledger, pipeline

ARTICLE = {"TTFT", "throughput", "queue depth", "KV cache usage"}


def latest_record() -> dict:
    files = sorted((paths.data_dir() / "runs" / "overload").glob("*.json"))
    records = [json.loads(p.read_text()) for p in files]
    return max(records, key=lambda r: r["started_at"])


@pytest.mark.slow
@pytest.mark.parametrize("max_detection_s", [5.0, 120.0])
def test_the_page_with_another_detection_limit(tmp_path, max_detection_s):
    out = tmp_path / "monitoring.ipynb"
    pipeline.execute(paths.NOTEBOOKS / "monitoring.ipynb", out, {"max_detection_s": max_detection_s})
    record = latest_record()
    start = record["timeline"]["overload_started_s"]
    counts = record["http_status_counts"]
    share_2xx = sum(v for k, v in counts.items() if k.startswith("2")) / sum(counts.values())
    finished = [v for t, v in record["series"][ar.FINISHED_RATE]
                if start <= t <= record["timeline"]["overload_drained_s"] and v is not None]
    overload_rate = next(p["request_rate_req_per_s"] for p in record["phases"] if p["name"] == "overload")
    signal_of = {a["alertname"]: a["signal"] for a in record["alerts"]}
    first_s = min(e["t_s"] - start for e in record["alert_events"]
                  if e["state"] == "firing" and e["t_s"] >= start and signal_of.get(e["alertname"]) in ARTICLE)

    glued = ledger.glued(out)
    assert glued["c14_http_2xx_share"] == pytest.approx(share_2xx)
    assert glued["c14_overload_x"] == pytest.approx(overload_rate / max(finished))
    assert glued["c14_requests_count"] == sum(counts.values())
    (verdict,) = ledger.verdicts_in(out)
    assert verdict.claim_id == "C14"
    assert verdict.figures["first_alert_after_s"] == pytest.approx(first_s, abs=1e-3)
    expected = "holds" if first_s <= max_detection_s else "holds only under conditions"
    assert verdict.verdict == expected
