"""The serving pages (engines, prefix-caching, long-prompts) run with non-default parameters,
and their glued figures and verdicts match calculations made here from the raw files."""

from __future__ import annotations

import csv
import json
import statistics
from collections import defaultdict

import pytest

from selfhost import paths
from selfhost.book import ledger, pipeline
from selfhost.data.runs import WORKLOADS

NB = paths.NOTEBOOKS
RUNS = paths.data_dir() / "runs"


def bench_rows() -> list[dict]:
    with (paths.data_dir() / "engine_benchmarks.csv").open(newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.slow
def test_engines_page_with_a_wider_tolerance(tmp_path):
    out = tmp_path / "engines.ipynb"
    pipeline.execute(NB / "engines.ipynb", out, {"claim_tolerance_x": 0.3})
    rows = bench_rows()
    tput = {(r["publisher"], r["engine"]): float(r["throughput_tok_per_s"]) for r in rows if r["throughput_tok_per_s"]}
    ratios = [tput[("AIMultiple", "sglang")] / tput[("AIMultiple", "vllm")],
              tput[("Spheron", "sglang")] / tput[("Spheron", "vllm")],
              next(float(r["speedup_x"]) for r in rows if r["publisher"] == "LMSYS blog")]
    verdicts = {v.claim_id: v for v in ledger.verdicts_in(out)}
    assert set(verdicts) == {"C08", "C09"}
    c09 = verdicts["C09"].figures
    assert c09["setups_holding_count"] == sum(r >= 1.29 - 0.3 for r in ratios)
    assert c09["published_ratio_min_x"] == pytest.approx(min(ratios), rel=1e-5)
    glued = ledger.glued(out)
    api_runs = sum(1 for w in WORKLOADS for p in (RUNS / w).glob("*.json") if json.loads(p.read_text())["status"] == "ok")
    assert glued["c08_api_runs_ok_count"] == api_runs == verdicts["C08"].figures["api_runs_ok_count"]


@pytest.mark.slow
def test_prefix_page_with_another_claim(tmp_path):
    out = tmp_path / "prefix.ipynb"
    pipeline.execute(NB / "prefix-caching.ipynb", out, {"claim_x": 2.0})
    glued = ledger.glued(out)
    assert glued["c10_share_needed_share"] == pytest.approx(0.5)
    # the best configuration's speedup, from the raw records: caching-off / caching-on, paired by rep
    durations: dict[tuple, dict[str, float]] = defaultdict(dict)
    for p in sorted((RUNS / "prefix").glob("*.json")):  # file names are start times: the latest pair wins
        r = json.loads(p.read_text())
        if r["status"] == "ok" and r["workload"]["variant"] in ("caching-on", "caching-off"):
            key = (r["workload"]["params"]["config"], r["workload"]["rep"])
            durations[key][r["workload"]["variant"]] = r["results"]["duration"]
    per_config: dict[str, list[float]] = defaultdict(list)
    for (config, _), d in durations.items():
        if len(d) == 2:
            per_config[config].append(d["caching-off"] / d["caching-on"])
    best = max(statistics.mean(v) for v in per_config.values())
    assert glued["c10_max_speedup_x"] == pytest.approx(best, rel=1e-9)
    verdict = ledger.verdicts_in(out)[0]
    assert verdict.claim_id == "C10"
    assert verdict.figures["configs_reaching_claim_count"] == sum(min(v) >= 2.0 for v in per_config.values())


@pytest.mark.slow
def test_long_prompt_page_with_another_threshold(tmp_path):
    out = tmp_path / "long.ipynb"
    pipeline.execute(NB / "long-prompts.ipynb", out, {"min_advantage_x": 2.0})
    glued = ledger.glued(out)
    rows = [r for r in bench_rows() if r["claim_id"] == "C11" and r["workload"].startswith("long") and r["run"] == "first"]
    t = {(r["hardware"], r["engine"]): float(r["duration_s"]) for r in rows}
    firsts = [t[(hw, "vllm")] / t[(hw, "tgi")] for hw, e in t if e == "tgi"]
    assert glued["c11_tgi_first_best_x"] == pytest.approx(max(firsts))
    verdict = ledger.verdicts_in(out)[0]
    assert verdict.claim_id == "C11" and verdict.figures["tgi_first_run_min_advantage_x"] == pytest.approx(min(firsts), rel=1e-5)


@pytest.mark.slow
def test_a_bad_parameter_stops_the_page(tmp_path):
    with pytest.raises(pipeline.NotebookFailed, match=r"claim_x = 0.5 is invalid"):
        pipeline.execute(NB / "prefix-caching.ipynb", tmp_path / "p.ipynb", {"claim_x": 0.5})
