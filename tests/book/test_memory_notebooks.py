"""The two pages run with non-default parameters; glued figures and verdicts are checked independently."""

from __future__ import annotations

import math

import pytest

from selfhost import memory
from selfhost.data.hardware import gpu_by_name, load_vllm_overheads
from selfhost.data.models import load_model_spec
from selfhost.paths import NOTEBOOKS, ROOT
from selfhost.verdicts import VERDICT_MIME

pm = pytest.importorskip("papermill")
nbformat = pytest.importorskip("nbformat")


def _outputs(nb):
    glued, verdicts = {}, []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            meta = out.get("metadata", {}) or {}
            name = meta.get("scrapbook", {}).get("name")
            data = out.get("data", {})
            if name:
                value = next(v for k, v in data.items() if k.startswith("application/papermill.record/"))
                try:
                    glued[name] = float(value)
                except (TypeError, ValueError):
                    glued[name] = value
            if VERDICT_MIME in data:
                verdicts.append(data[VERDICT_MIME])
    return glued, verdicts


@pytest.mark.slow
def test_gpu_memory_page_with_8k_context(tmp_path):
    out = tmp_path / "gpu-memory.ipynb"
    pm.execute_notebook(str(NOTEBOOKS / "gpu-memory.ipynb"), str(out), cwd=str(ROOT), kernel_name="python3",
                        parameters={"context_tokens": 8192, "gpu_memory_utilization": 0.9}, progress_bar=False)
    glued, verdicts = _outputs(nbformat.read(out, as_version=4))
    # independent calculation of the C07 int4 figure at these parameters
    spec, card = load_model_spec("llama-3.3-70b"), gpu_by_name("A100 80GB")
    serving = memory.Serving(card.budget_gib, 8192, 0.9, weight_dtype="int4",
                             max_num_batched_tokens=card.max_num_batched_tokens)
    b = memory.budget(spec, serving, load_vllm_overheads())
    kv_gib = b.kv_cache_gib
    by_hand = int(kv_gib * 2**30 // (16 * 80 * 2 * 8 * 128 * 2)) / (8192 / 16)  # blocks / blocks per request
    assert glued["int4_max_concurrency_x"] == pytest.approx(by_hand, rel=1e-6)
    assert glued["int4_sequences_count"] == math.floor(by_hand)  # whole sequences run at full length
    assert glued["runs_equal_count"] == glued["runs_count"]
    assert {v["id"] for v in verdicts} == {"C13"}  # C07 is recorded on the capacity page
    (c13,) = verdicts
    assert {s["input"] for s in c13["sensitivity"]} == {"gpu_memory_utilization", "context_tok"}


@pytest.mark.slow
def test_moe_page_for_maverick(tmp_path):
    out = tmp_path / "moe-vram.ipynb"
    pm.execute_notebook(str(NOTEBOOKS / "moe-vram.ipynb"), str(out), cwd=str(ROOT), kernel_name="python3",
                        parameters={"claim_model": "llama-4-maverick", "claimed_total_params": 400e9, "busy_batch": 8},
                        progress_bar=False)
    glued, verdicts = _outputs(nbformat.read(out, as_version=4))
    p = load_model_spec("llama-4-maverick").params()
    assert glued["scout_total_b"] == pytest.approx(p.total / 1e9)  # the glue names the claim model's figures
    assert glued["scout_busy_share"] == pytest.approx(1 - (1 - 1 / 128) ** 8, rel=1e-9)  # Maverick's 128 experts, top-1
    (verdict,) = verdicts
    assert verdict["id"] == "C12" and verdict["figures"]["total_params_count"] == pytest.approx(p.total, rel=1e-5)
