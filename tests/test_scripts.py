"""The GPU check (scripts/gpu_bench.py) and the CPU limits script, run on the CPU at tiny sizes.

Neither was run on a GPU by these tests; they check the pure parts and that a run writes
what the capacity page reads."""

from __future__ import annotations

import importlib.util
import json
import sys

import pytest

from selfhost import paths, roofline
from selfhost.data.models import load_engine_model_config
from selfhost.modelspec import from_config

SCRIPTS = paths.ROOT / "scripts"


def _load(name):
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


gpu_bench = _load("gpu_bench")
machine_limits = _load("machine_limits")


def test_capacity_llama_shape_matches_its_config():
    """The script's shape and the committed config agree on parameters and bytes per step."""
    spec = from_config(load_engine_model_config("capacity-llama"), "capacity-llama")
    shape = gpu_bench.SHAPES["capacity-llama"]
    assert shape.params() == spec.params().total
    step = roofline.step_time(spec, roofline.Device("d", 1.0, 1.0), decode_batch=4, context_tokens=100)
    assert shape.step_bytes(4, 100) == step.bytes


def test_8b_shape_is_llama_3_1_8b():
    from selfhost.data.models import load_model_spec

    assert gpu_bench.SHAPES["llama-3.1-8b"].params() == load_model_spec("llama-3.1-8b").params().total


def test_tiny_run_on_cpu_writes_every_figure(tmp_path):
    out = tmp_path / "bench.json"
    assert gpu_bench.main(["--tiny", "--device", "cpu", "--out", str(out)]) == 0
    data = json.loads(out.read_text())
    for key in ("copy_bandwidth_gb_per_s", "read_bandwidth_gb_per_s", "bf16_matmul_tflop_per_s"):
        assert data[key] > 0
    assert [r["batch"] for r in data["decode"]] == [1, 4]
    row = data["decode"][1]
    assert row["decode_tok_per_s"] == pytest.approx(4 / (row["step_ms"] / 1e3))
    assert row["step_bytes"] == gpu_bench.SHAPES["tiny"].step_bytes(4, 16)


def test_decode_step_output_shape():
    import torch

    shape = gpu_bench.SHAPES["tiny"]
    w = gpu_bench.make_weights(torch, shape, "cpu", torch.float32)
    kv = torch.zeros(shape.layers, 3, shape.kv_heads, 5, shape.head_dim)
    logits = gpu_bench.decode_step(torch, shape, w, torch.randn(3, shape.hidden), kv, kv)
    assert tuple(logits.shape) == (3, shape.vocab)


def test_bad_batches_are_refused(tmp_path):
    with pytest.raises(SystemExit, match="batches"):
        gpu_bench.main(["--device", "cpu", "--out", str(tmp_path / "x.json"), "--batches", "0"])


@pytest.mark.slow
def test_machine_limits_dry_run_writes_nothing(capsys):
    before = (paths.ROOT / "data" / "machine_limits.csv").read_bytes()
    assert machine_limits.main(["--tiny", "--threads", "1", "--decode-batches", "1"]) == 0
    out = capsys.readouterr().out
    assert "read_bandwidth_gb_per_s" in out and "capacity_llama_decode_step_ms_b1" in out
    assert (paths.ROOT / "data" / "machine_limits.csv").read_bytes() == before
