"""The serving pages (engines, prefix-caching, long-prompts) run with non-default parameters,
and their glued figures and verdicts match calculations made here from the raw files."""

from __future__ import annotations

import csv
import json
import math
from collections import defaultdict

import pytest

from selfhost import paths, stats
from selfhost.book import ledger, pipeline

NB = paths.NOTEBOOKS
RUNS = paths.data_dir() / "runs"


def bench_rows() -> list[dict]:
    with (paths.data_dir() / "engine_benchmarks.csv").open(newline="") as f:
        return list(csv.DictReader(f))


def evidence_records(workload: str) -> list[dict]:
    out = []
    for p in sorted((RUNS / workload).glob("*.json")):
        r = json.loads(p.read_text())
        if r["status"] == "ok" and not (r.get("protocol") or {}).get("busy"):
            out.append(r)
    return out


@pytest.mark.slow
def test_engines_page_never_counts_the_articles_source(tmp_path):
    out = tmp_path / "engines.ipynb"
    pipeline.execute(NB / "engines.ipynb", out, {"claim_tolerance_x": 0.3})
    rows = [r for r in bench_rows() if r["claim_id"] == "C09"]
    tput: dict[tuple, dict[str, float]] = defaultdict(dict)
    for r in rows:
        if r["throughput_tok_per_s"] and r["role"] != "article-source":
            tput[(r["publisher"], r["hardware"], r["model"], r["workload"])][r["engine"]] = float(r["throughput_tok_per_s"])
    ratios = [d["sglang"] / d["vllm"] for d in tput.values() if "sglang" in d and "vllm" in d]
    ratios += [float(r["speedup_x"]) for r in rows if r["speedup_x"] and r["engine"] == "sglang"]
    verdicts = {v.claim_id: v for v in ledger.verdicts_in(out)}
    assert set(verdicts) == {"C08", "C09"}
    c09 = verdicts["C09"].figures
    assert c09["setups_holding_count"] == sum(r >= 1.29 - 0.3 for r in ratios)
    assert c09["published_ratio_min_x"] == pytest.approx(min(ratios), rel=1e-5)
    assert not any("AIMultiple" in c for c in verdicts["C09"].conditions)
    api_runs = sum(r["engine"]["name"] == "vllm"  # C08 is about vLLM; the compare workload also holds llama.cpp's runs
                   for w in ("throughput", "prefix", "long_prompt", "compare") for r in evidence_records(w))
    assert verdicts["C08"].figures["api_runs_ok_count"] == api_runs
    assert {e.kind for e in verdicts["C08"].evidence} >= {"live"}


@pytest.mark.slow
def test_prefix_page_with_another_claim(tmp_path):
    out = tmp_path / "prefix.ipynb"
    pipeline.execute(NB / "prefix-caching.ipynb", out, {"claim_x": 2.0, "claim_low_x": 1.5})
    glued = ledger.glued(out)
    assert glued["c10_share_needed_share"] == pytest.approx(0.5)
    # the best shape's speedup, from the raw records: caching-off / caching-on, paired by recording and rep
    durations: dict[tuple, dict[str, float]] = defaultdict(dict)
    for r in evidence_records("prefix"):
        rec = r.get("recording_id") or r["started_at"][:10] + " (schema 1)"
        key = (rec, r["workload"]["params"].get("config"), r["workload"]["rep"], r["engine"]["version"])
        durations[key][r["workload"]["variant"]] = r["results"]["duration"]
    latest = max(k[0] for k in durations)
    per: dict[str, list[float]] = defaultdict(list)
    for (rec, config, _, _), d in durations.items():
        if rec == latest and len(d) == 2:
            per[config].append(d["caching-off"] / d["caching-on"])
    best = max(math.exp(sum(math.log(x) for x in v) / len(v)) for v in per.values())
    verdict = ledger.verdicts_in(out)[0]
    assert verdict.claim_id == "C10"
    assert verdict.figures["max_speedup_x"] == pytest.approx(best, rel=1e-5)
    assert glued["c10_max_speedup_x"] == pytest.approx(best, rel=1e-5)
    assert "vLLM 0.2.5" in verdict.would_test
    assert {s.input for s in verdict.sensitivity} >= {"recording", "metric", "claim_x"}


@pytest.mark.slow
def test_long_prompt_page_with_another_threshold(tmp_path):
    out = tmp_path / "long.ipynb"
    pipeline.execute(NB / "long-prompts.ipynb", out, {"min_advantage_x": 2.0})
    rows = [r for r in bench_rows() if r["claim_id"] == "C11" and r["workload"].startswith("long") and r["run"] == "first"]
    t = {(r["hardware"], r["engine"]): float(r["duration_s"]) for r in rows}
    firsts = [t[(hw, "vllm")] / t[(hw, "tgi")] for hw, e in t if e == "tgi"]
    verdict = ledger.verdicts_in(out)[0]
    assert verdict.claim_id == "C11"
    assert verdict.figures["tgi_first_run_max_advantage_x"] == pytest.approx(max(firsts), rel=1e-5)
    assert verdict.figures["tgi_first_run_min_advantage_x"] == pytest.approx(min(firsts), rel=1e-5)
    assert any("maintenance" in c for c in verdict.conditions) or "maintenance" in verdict.reason


def test_the_protocol_is_stated_from_the_library():
    nb = json.loads((NB / "prefix-caching.ipynb").read_text())
    text = "".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    assert "protocol_min_pairs_count" in text and "protocol_level_share" in text
    assert stats.PROTOCOL.min_pairs >= 5


@pytest.mark.slow
def test_a_bad_parameter_stops_the_page(tmp_path):
    with pytest.raises(pipeline.NotebookFailed, match=r"claim_x = 0.5 is invalid"):
        pipeline.execute(NB / "prefix-caching.ipynb", tmp_path / "p.ipynb", {"claim_x": 0.5})
