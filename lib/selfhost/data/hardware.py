"""Load the GPU table and vLLM's measured overheads: ``data/gpus.csv``, ``data/gpu_reported_memory.csv``,
``data/vllm_overheads.csv``. Reads files.
"""

from __future__ import annotations

from pathlib import Path

from selfhost.data.tables import load_rows, table_path
from selfhost.errors import DataError
from selfhost.gpus import Gpu
from selfhost.memory import Overheads


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
