"""The throughput pages (capacity, ttft) and the capacity section of the break-even page run
with non-default parameters; their glued figures and verdicts match calculations made here
from the raw files (run records, data tables, config.json), independently of selfhost.roofline."""

from __future__ import annotations

import csv
import json
import math

import pytest

from selfhost import paths
from selfhost.book import ledger, pipeline
from selfhost.data.hardware import gpu_by_name
from selfhost.data.models import load_model_spec

NB = paths.NOTEBOOKS
DATA = paths.data_dir()


def _cpu_limits(threads: int) -> tuple[float, float]:
    with (DATA / "machine_limits.csv").open(newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["run_id"].startswith("cpu-") and r["torch_threads"] == str(threads)]
    bw = max(float(r["value"]) for r in rows if r["quantity"] == "read_bandwidth_gb_per_s")
    fl = max(float(r["value"]) for r in rows if r["quantity"] == "bf16_matmul_tflop_per_s")
    return bw * 1e9, fl * 1e12


def _capacity_llama() -> dict:
    return json.loads((DATA / "engines" / "capacity-llama" / "config.json").read_text())


@pytest.mark.slow
def test_capacity_page_cpu_gap_and_gpu_count(tmp_path):
    out = tmp_path / "capacity.ipynb"
    params = {"slo_ttft_ms": 2000.0, "prompt_tokens": 256, "compute_efficiency_share": 0.5,
              "bandwidth_efficiency_share": 0.6, "hosted_breakeven_tok_per_day": 80e6}
    pipeline.execute(NB / "capacity.ipynb", out, params)
    glued = ledger.glued(out)
    (verdict,) = ledger.verdicts_in(out)
    assert verdict.claim_id == "C07"
    # The CPU gap, by hand from the run records: decode = C / median TPOT; roofline = bandwidth / bytes per step,
    # bytes = 2 x (weights without the input embedding) + C x context x KV bytes per token (bf16).
    c = _capacity_llama()
    h, inter, layers, vocab = c["hidden_size"], c["intermediate_size"], c["num_hidden_layers"], c["vocab_size"]
    q, kv = c["num_attention_heads"] * c["head_dim"], c["num_key_value_heads"] * c["head_dim"]
    weights = layers * (2 * h * q + 2 * h * kv + 3 * h * inter + 2 * h) + vocab * h + h  # lm_head untied
    kv_per_tok = layers * 2 * kv * 2
    bw, _ = _cpu_limits(1)
    gaps = []
    for path in (DATA / "capacity_runs" / "throughput").glob("*.json"):
        r = json.loads(path.read_text())
        if r["status"] != "ok" or r["hardware"]["load_avg_1m"] > 3.0:  # the page leaves out disturbed runs
            continue
        conc, p = r["workload"]["params"]["max_concurrency"], r["workload"]["params"]
        ctx = p["prompt_len"] + p["output_len"] // 2
        measured = conc / (r["results"]["median_tpot_ms"] / 1e3)
        predicted = conc * bw / (2 * weights + conc * ctx * kv_per_tok)
        gaps.append(abs(measured / predicted - 1))
    assert glued["cpu_max_abs_gap_share"] == pytest.approx(max(gaps), rel=1e-6)
    assert verdict.figures["compute_efficiency_share"] == 0.5 and verdict.figures["bandwidth_efficiency_share"] == 0.6
    assert verdict.sensitivity and {e.kind for e in verdict.evidence} >= {"model", "published", "live"}
    # GPUs for the large volume = ceil(volume / best capacity)
    best = verdict.figures["best_capacity_mtok_per_day"] * 1e6
    assert glued["capacity_mtok_per_day"] == pytest.approx(best / 1e6, rel=1e-5)
    if best > 0:
        assert verdict.figures["gpus_for_80M_count"] == math.ceil(80e6 / best)


@pytest.mark.slow
def test_ttft_page_article_deployment_by_hand(tmp_path):
    out = tmp_path / "ttft.ipynb"
    pipeline.execute(NB / "ttft.ipynb", out, {"prompt_tokens": 1024, "compute_efficiency_share": 0.5,
                                              "ttft_gate_ms": 300.0, "verdict_busy_share": 0.3})
    glued = ledger.glued(out)
    (verdict,) = ledger.verdicts_in(out)
    assert verdict.claim_id == "C15" and verdict.figures["target_ms"] == 300.0 and verdict.figures["busy_share"] == 0.3
    # Llama 3.3 70B FP8 on an A100 (no FP8 tensor cores: the bf16 rate), one 1,024-token prompt, idle:
    # FLOPs = 1024 x 2 x (weights without the input embedding) + causal attention 2 x heads x 2 x d x sum(t).
    spec = load_model_spec("llama-3.3-70b")
    cfg = json.loads((DATA / "models" / "llama-3.3-70b.json").read_text())
    h, layers = cfg["hidden_size"], cfg["num_hidden_layers"]
    heads, d = cfg["num_attention_heads"], h // cfg["num_attention_heads"]
    matmul = spec.params().total - cfg["vocab_size"] * h
    flops = 1024 * 2 * matmul + layers * 2 * heads * 2 * d * (1024 * 1025 // 2)
    card = gpu_by_name("A100 80GB")
    idle_ms = flops / (card.bf16_dense_tflop_per_s * 1e12 * 0.5) * 1e3
    assert glued["article_ttft_ms"] == pytest.approx(idle_ms, rel=1e-9)
    # the p99 at 30% load: the M/D/1 wait's tail, P(W > t) ~ C exp(-theta t), with rho (e^x - 1) = x, x = theta S
    x = 3.0  # above the positive root (0 is the other)
    for _ in range(100):  # Newton on rho (e^x - 1) - x
        x -= (0.3 * math.expm1(x) - x) / (0.3 * math.exp(x) - 1)
    c = 0.7 / (0.3 * math.exp(x) - 1)
    assert glued["article_ttft_p99_ms"] == pytest.approx(idle_ms * (1 + math.log(c / 0.01) / x), rel=1e-6)
