"""Load the GPU table, vLLM's measured overheads and the measured machine limits: ``data/gpus.csv``,
``data/gpu_reported_memory.csv``, ``data/vllm_overheads.csv``, ``data/machine_limits.csv``; parse
the deployments pages name ("GPU:precision[:GPUs]"). Reads files.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from selfhost import memory, roofline
from selfhost.data.tables import load_rows, load_table, table_path
from selfhost.errors import DataError, ParameterError
from selfhost.gpus import Gpu
from selfhost.memory import Overheads
from selfhost.params import check_choice, check_int


def load_gpus(path: str | Path = "gpus", reported: str | Path = "gpu_reported_memory") -> dict[str, Gpu]:
    """``data/gpus.csv`` as name -> :class:`~selfhost.gpus.Gpu` (keyed by the display name), with reported totals joined."""
    fields = Gpu.__dataclass_fields__
    rows = load_rows(path)
    smi = {r["key"]: r["nvidia_smi_total_mib"] / 1024 for r in load_rows(reported)}
    unknown = sorted(set(smi) - {r["key"] for r in rows})
    if unknown:
        raise DataError(table_path(reported), f"keys not in {table_path(path).name}: {unknown}")
    both = [r["cuda_total_gib"] / smi[r["key"]] for r in rows if r["cuda_total_gib"] is not None and r["key"] in smi]
    ratio = min(both) if both else None  # the smallest share seen: the cautious reading
    return {
        row["gpu"]: Gpu(**{k: v for k, v in row.items() if k in fields},
                        nvidia_smi_total_gib=smi.get(row["key"]), cuda_per_smi=ratio)
        for row in rows
    }


def gpu_by_name(name: str, path: str | Path = "gpus") -> Gpu:
    """The GPU called ``name`` (display name or key, any case); the error lists known names."""
    gpus = load_gpus(path)
    wanted = name.strip().lower()
    for gpu in gpus.values():
        if wanted in (gpu.gpu.lower(), gpu.key.lower()):
            return gpu
    known = ", ".join(f"{g.gpu!r} ({g.key})" for g in gpus.values())
    raise DataError(table_path(path), f"unknown GPU {name!r}; known GPUs: {known}")


def load_vllm_overheads(path: str | Path = "vllm_overheads") -> Overheads:
    """The default :class:`selfhost.memory.Overheads` from ``data/vllm_overheads.csv``."""
    csv_path = table_path(path)
    rows = {row["quantity"]: row for row in load_rows(csv_path)}
    needed = ("activation_gib_per_ktok", "non_torch_gib", "non_torch_extra_gib_when_tp", "cuda_graph_gib")
    for name in needed:
        if name not in rows:
            raise DataError(csv_path, f"no row for {name!r}", column="quantity")
    width = rows["activation_gib_per_ktok"]["reference_width"]
    if width is None:
        raise DataError(csv_path, "the activation row needs a reference_width", column="reference_width")
    return Overheads(rows["activation_gib_per_ktok"]["value"], width, rows["non_torch_gib"]["value"],
                     rows["non_torch_extra_gib_when_tp"]["value"], rows["cuda_graph_gib"]["value"])


# ---------------------------------------------------------------------- measured limits (data/machine_limits.csv)
def load_machine_limits(path: str | Path = "machine_limits") -> pd.DataFrame:
    """``data/machine_limits.csv`` as a table (validated against its manifest)."""
    return load_table(path)


def cpu_device(threads: int, path: str | Path = "machine_limits") -> roofline.Device:
    """This machine's roofline on ``threads`` cores: the best read bandwidth and bf16 matmul rate measured there.

    The best of the recorded runs is the least disturbed (the cores are shared).
    """
    check_int("cpu_threads", threads, ge=1)
    t = load_table(path)
    mine = t[t["run_id"].str.startswith("cpu-") & (t["torch_threads"] == threads)]
    bw = mine.loc[mine["quantity"] == "read_bandwidth_gb_per_s", "value"]
    mm = mine.loc[mine["quantity"] == "bf16_matmul_tflop_per_s", "value"]
    if bw.empty or mm.empty:
        raise DataError(table_path(path), f"no CPU measurement with torch_threads = {threads}: run "
                        f"`selfhost record machine-limits --threads {threads}`", column="torch_threads")
    return roofline.Device(f"this CPU, {threads} core(s)", float(bw.max()), float(mm.max()))


def cpu_limit_rows(path: str | Path = "machine_limits") -> pd.DataFrame:
    """The CPU bandwidth and matmul measurements (not the decode-step timings), for a table."""
    t = load_table(path)
    rows = t[t["run_id"].str.startswith("cpu-") & ~t["quantity"].str.startswith("capacity_llama")]
    return rows.rename(columns={"load_avg_1m": "load_avg_1m_x", "torch_threads": "threads_count"})


def decode_floor_ms(threads: int, path: str | Path = "machine_limits") -> dict[int, float]:
    """Batch -> the fastest plain-PyTorch decode step of capacity-llama measured on ``threads`` cores [ms]."""
    t = load_table(path)
    mine = t[t["run_id"].str.startswith("cpu-") & (t["torch_threads"] == threads)
             & t["quantity"].str.startswith("capacity_llama_decode_step_ms_b")]
    out: dict[int, float] = {}
    for q, v in zip(mine["quantity"], mine["value"]):
        b = int(str(q).rsplit("b", 1)[1])
        out[b] = min(out.get(b, float("inf")), float(v))
    return out


#: The rows of data/machine_limits.csv measured on GPUs, by the GPU they were measured on.
GPU_LIMIT_RUNS = {"sources-h100": "H100 SXM", "sources-h200": "H200"}


def gpu_ceiling_rows(path: str | Path = "machine_limits") -> list[dict]:
    """Measured copy bandwidth and bf16 matmul on GPUs against their datasheets: what the hardware itself reaches."""
    t = load_table(path)
    gpus = load_gpus()
    rows = []
    for prefix, name in GPU_LIMIT_RUNS.items():
        mine = t[t["run_id"].str.startswith(prefix)]
        bw = mine.loc[mine["quantity"] == "copy_bandwidth_gb_per_s", "value"]
        mm = mine.loc[mine["quantity"] == "bf16_matmul_tflop_per_s", "value"]
        if bw.empty or mm.empty:
            continue
        card = gpus[name]
        sheet_bw = card.memory_bandwidth_tb_per_s * 1000
        rows.append({"gpu": name, "copy_measured_gb_per_s": float(bw.max()), "datasheet_gb_per_s": sheet_bw,
                     "bandwidth_reached_share": float(bw.max()) / sheet_bw,
                     "bf16_matmul_measured_tflop_per_s": float(mm.max()),
                     "datasheet_bf16_tflop_per_s": card.bf16_dense_tflop_per_s,
                     "matmul_reached_share": float(mm.max()) / (card.bf16_dense_tflop_per_s or math.inf)})
    return rows


def parse_deployment(text: str, what: str = "alternatives") -> tuple[Gpu, str, int]:
    """``"GPU:precision[:GPUs]"`` (``"H100 SXM:fp8"``, ``"A100 80GB:bf16:2"``) as (GPU, precision, count).

    A malformed entry is a ParameterError naming the parameter ``what``.
    """
    parts = str(text).split(":")
    if len(parts) not in (2, 3):
        raise ParameterError(what, text, "'GPU:precision' or 'GPU:precision:GPUs'")
    gpu = gpu_by_name(parts[0])
    check_choice(what, parts[1], memory.WEIGHT_DTYPES)
    try:
        count = int(parts[2]) if len(parts) == 3 else 1
    except ValueError:
        raise ParameterError(what, text, "a whole number of GPUs after the second ':'") from None
    return gpu, parts[1], check_int(what, count, ge=1, le=1024)


def parse_model_deployment(text: str, what: str = "deployments") -> tuple[str, Gpu, str, int]:
    """``"model:GPU:precision[:GPUs]"`` as (model name, GPU, precision, count); ParameterError naming ``what``."""
    parts = str(text).split(":")
    if len(parts) not in (3, 4):
        raise ParameterError(what, text, "'model:GPU:precision' or 'model:GPU:precision:GPUs'")
    gpu, dtype, count = parse_deployment(":".join(parts[1:]), what)
    return parts[0], gpu, dtype, count


def parse_deployments(items: list, what: str = "alternatives") -> list[tuple[Gpu, str, int]]:
    """Each ``"GPU:precision[:GPUs]"`` of a page's parameter list, parsed (:func:`parse_deployment`)."""
    if not isinstance(items, list):
        raise ParameterError(what, items, "a list of 'GPU:precision[:GPUs]' strings")
    return [parse_deployment(item, what) for item in items]


def gpu_memory_table() -> dict[str, tuple[float, float]]:
    """GPU name -> (memory vLLM budgets from [GiB], datasheet memory [GB]): what :func:`selfhost.memory.fit_cells` takes."""
    return {g.gpu: (g.budget_gib, g.memory_gb) for g in load_gpus().values()}
