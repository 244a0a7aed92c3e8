"""A GPU as one typed record: its memory, bandwidth and peak FLOP/s, and what follows from them.

:class:`Gpu` is one row of ``data/gpus.csv`` (read by :func:`selfhost.data.hardware.load_gpus`),
with memory converted once, by name, from the datasheet's GB (10^9 bytes) to GiB. The
formula modules take a ``Gpu`` whole instead of its fields one by one: the roofline
:class:`~selfhost.roofline.Device` it makes (:meth:`Gpu.device`), the memory vLLM budgets
from (:attr:`Gpu.budget_gib`), vLLM's default batch budget (:attr:`Gpu.max_num_batched_tokens`).

Pure; no I/O.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from selfhost import memory, roofline
from selfhost.errors import DataError
from selfhost.units import GB, GIB


@dataclass(frozen=True)
class Gpu:
    """One GPU model.

    Parameters
    ----------
    gpu : str
        The display name (``A100 80GB``).
    key : str
        The slug shared with the price table (``a100-80gb``).
    vendor : str
        ``NVIDIA`` or ``AMD``.
    memory_gb : float
        Memory as the datasheet prints it [GB] (10^9 bytes).
    cuda_total_gib : float or None
        Total memory CUDA reports for the card, where a source shows it [GiB].
    memory_bandwidth_tb_per_s : float
        Peak memory bandwidth [TB/s].
    bf16_dense_tflop_per_s, fp8_dense_tflop_per_s : float or None
        Dense tensor-core peaks [TFLOP/s]; None where the source gives none or the GPU
        has no such format.
    source : str
        Where the figures were read.
    retrieved : datetime.date
        When.
    nvidia_smi_total_gib : float or None
        What nvidia-smi reports (``data/gpu_reported_memory.csv``) [GiB].
    cuda_per_smi : float or None
        CUDA's total over nvidia-smi's, on the cards that report both [1].
    int8_dense_tflop_per_s : float or None
        Dense INT8 tensor peak [10^12 op/s]; None where not read (W8A8 INT8 then computes at
        the 16-bit rate, the cautious reading).
    interconnect_gb_per_s : float or None
        GPU-to-GPU bandwidth of one GPU in one direction [GB/s] (the tensor-parallel term).
    generation : str
        The architecture (``Ampere``, ``Hopper`` ...): the engine efficiency is calibrated per generation.
    """

    gpu: str
    key: str
    vendor: str
    memory_gb: float
    cuda_total_gib: float | None
    memory_bandwidth_tb_per_s: float
    bf16_dense_tflop_per_s: float | None
    fp8_dense_tflop_per_s: float | None
    source: str
    retrieved: dt.date
    nvidia_smi_total_gib: float | None = None
    cuda_per_smi: float | None = None
    int8_dense_tflop_per_s: float | None = None
    interconnect_gb_per_s: float | None = None
    generation: str = ""

    @property
    def memory_gib(self) -> float:
        """Datasheet memory in GiB: ``memory_gb x 10^9 / 2^30`` [GiB]."""
        return self.memory_gb * GB / GIB

    @property
    def budget_gib(self) -> float:
        """Memory a vLLM budget starts from [GiB]; :attr:`budget_basis` says which reading.

        What CUDA reports where a source shows it; else nvidia-smi's total scaled by the
        CUDA / nvidia-smi ratio measured on other cards; else the datasheet in 10^9 bytes.
        """
        if self.cuda_total_gib is not None:
            return self.cuda_total_gib
        if self.nvidia_smi_total_gib is not None and self.cuda_per_smi is not None:
            return self.nvidia_smi_total_gib * self.cuda_per_smi
        return self.memory_gib

    @property
    def budget_basis(self) -> str:
        if self.cuda_total_gib is not None:
            return "CUDA-reported total (data/gpus.csv cuda_total_gib)"
        if self.nvidia_smi_total_gib is not None and self.cuda_per_smi is not None:
            return (f"nvidia-smi total x {self.cuda_per_smi:.4f}, CUDA's share of it on the cards that report both "
                    "(data/gpu_reported_memory.csv)")
        return "datasheet GB read as 10^9 bytes"

    @property
    def max_num_batched_tokens(self) -> int:
        """vLLM's default token budget of one step on this GPU [tok] (:func:`selfhost.memory.default_max_num_batched_tokens`)."""
        return memory.default_max_num_batched_tokens(self.budget_gib, self.gpu)

    @property
    def has_fp8(self) -> bool:
        """FP8 tensor cores (Ada, Hopper and later): W8A8 FP8 matmuls and vLLM's fp8 KV cache by default here."""
        return self.fp8_dense_tflop_per_s is not None

    def device(self, weight_dtype: str = "bf16", count: int = 1) -> roofline.Device:
        """The roofline :class:`~selfhost.roofline.Device` of ``count`` of these GPUs serving ``weight_dtype`` weights.

        >>> h100 = Gpu("H100 SXM", "h100-80gb", "NVIDIA", 80, 79.22, 3.35, 989.4, 1978.9, "s", dt.date(2026, 11, 27))
        >>> h100.device("fp8").matmul_tflop_per_s, h100.device("bf16", 2).bytes_per_s
        (1978.9, 6700000000000.0)
        """
        if self.bf16_dense_tflop_per_s is None:
            raise DataError("data/gpus.csv", f"{self.gpu} has no dense BF16 peak, which the roofline needs",
                            column="bf16_dense_tflop_per_s")
        return roofline.Device(self.gpu, self.memory_bandwidth_tb_per_s * 1000.0,
                               roofline.compute_tflop_per_s(weight_dtype, self.bf16_dense_tflop_per_s,
                                                            self.fp8_dense_tflop_per_s, self.int8_dense_tflop_per_s),
                               count, self.interconnect_gb_per_s)

    def serving(self, max_model_len: int, weight_dtype: str = "bf16", **options: object) -> memory.Serving:
        """vLLM started on this GPU with its defaults (``options`` override :class:`~selfhost.memory.Serving` fields)."""
        fields: dict[str, object] = {"weight_dtype": weight_dtype, "max_num_batched_tokens": self.max_num_batched_tokens}
        fields.update(options)
        return memory.Serving(self.budget_gib, max_model_len, **fields)  # type: ignore[arg-type]
