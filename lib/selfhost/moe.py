"""The MoE VRAM trap (C12): memory follows total parameters, compute per token follows active.

A mixture-of-experts layer routes each token to ``k`` of ``E`` experts, so one token
multiplies only the active parameters; but every expert must sit in GPU memory because the
next token may pick any of them. During decoding a server runs one step for a whole batch
of sequences, and the experts that step touches are the union of every token's picks:
:func:`weights_read_per_step` counts the bytes a decode step reads as the batch grows,
using :func:`selfhost.modelspec.expected_distinct_experts` (uniform routing).

Pure functions; no I/O.

References
----------
Shazeer et al. 2017, "Outrageously Large Neural Networks: The Sparsely-Gated
Mixture-of-Experts Layer"; Fedus et al. 2022, Switch Transformers (top-1 routing); Meta,
Llama 4 model card (2025-04-05): Scout 17B active / 109B total.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction

from selfhost import memory
from selfhost.modelspec import ModelSpec, expected_distinct_experts
from selfhost.params import check_int, check_number
from selfhost.robustness import categorical, sensitivity
from selfhost.units import GIB, and_list
from selfhost.verdicts import CONDITIONAL, FAILS, HOLDS, Evidence, Verdict


def weights_read_per_step(spec: ModelSpec, batch: int, bytes_per_param: float = 2.0) -> float:
    """Bytes of weights one decode step reads for ``batch`` sequences, uniform routing [B].

    Everything but the routed experts is read once per step (the input embedding only for
    the batch's rows, counted as zero); each MoE layer reads the experts the batch touches.

    >>> from selfhost.modelspec import ModelSpec
    >>> spec = ModelSpec("t", "MixtralForCausalLM", "mixtral", 8, 1, 10, True, 2, 1, 4, ("moe",), (None,),
    ...                  moe_intermediate_size=16, num_experts=4, experts_per_token=1)
    >>> weights_read_per_step(spec, 1, 1.0) < weights_read_per_step(spec, 64, 1.0)
    True
    """
    check_int("batch", batch, ge=1)
    check_number("bytes_per_param", bytes_per_param, gt=0)
    p = spec.params()
    dense_part = p.text_total - p.embedding - p.routed_experts
    if not spec.is_moe:
        return dense_part * bytes_per_param
    touched = expected_distinct_experts(spec.num_experts, spec.experts_per_token, batch)
    experts = spec.moe_layers * touched * spec.expert_params()
    return (dense_part + experts) * bytes_per_param


@dataclass(frozen=True)
class TrapFigures:
    """The C12 numbers for one model."""

    total_params: float
    active_params: float
    vision_params: float
    bf16_weights_gib: float
    busy_expert_coverage_share: float


def trap_figures(spec: ModelSpec, busy_batch: int) -> TrapFigures:
    """Total, active and vision parameters, 16-bit weights, and the expert share a busy step touches."""
    p = spec.params()
    coverage = (expected_distinct_experts(spec.num_experts, spec.experts_per_token, busy_batch) / spec.num_experts
                if spec.is_moe else 1.0)
    return TrapFigures(p.total, p.active, p.vision, 2.0 * p.total / GIB, coverage)


def coverage_rows(specs: Sequence[ModelSpec], batches: Sequence[int]) -> list[dict]:
    """Share of experts, and of all weights, one decode step touches for each MoE model and batch (uniform routing)."""
    rows = []
    for s in specs:
        if not s.is_moe:
            continue
        total_bytes = 2.0 * (s.params().text_total - s.params().embedding)
        for b in batches:
            rows.append({"model": s.name, "batch": b, "what": "experts touched",
                         "share": expected_distinct_experts(s.num_experts, s.experts_per_token, b) / s.num_experts})
            rows.append({"model": s.name, "batch": b, "what": "weights read",
                         "share": weights_read_per_step(s, b) / total_bytes})
    return rows


def coinciding_coverage(specs: Sequence[ModelSpec]) -> list[tuple[Fraction, list[str]]]:
    """MoE models whose expert-coverage curves coincide: ``(k/E, [models])`` for every share of experts a
    token uses that more than one model has, largest share first.

    With uniform routing the share of experts a step touches, ``1 - (1 - k/E)^B``, depends on
    ``k/E`` alone: models with the same share draw one and the same curve.
    """
    groups: dict[Fraction, list[str]] = {}
    for s in specs:
        if s.is_moe:
            groups.setdefault(Fraction(s.experts_per_token, s.num_experts), []).append(s.name)
    return sorted(((f, names) for f, names in groups.items() if len(names) > 1), reverse=True)


def coverage_note(specs: Sequence[ModelSpec]) -> str:
    """The models whose "experts touched" lines lie on top of each other in the coverage chart, in words."""
    shared = coinciding_coverage(specs)
    if not shared:
        return "Every model's lines are its own: no two use the same share of their experts per token."
    groups = [f"{and_list(names)} (each token uses {f.numerator} in {f.denominator} of the experts)"
              for f, names in shared]
    return ("The share of experts a step touches depends only on the share each token uses, so some "
            "\"experts touched\" lines lie exactly on top of each other: " + "; ".join(groups)
            + ". Each model's points have their own shape, so a hidden line still shows its points.")


def smallest_busy_batch(spec: ModelSpec, coverage: float, max_batch: int = 65_536) -> int | None:
    """The smallest batch whose decode step touches at least ``coverage`` of the experts (uniform routing) [1].

    1 for a dense model; None when no batch up to ``max_batch`` does.

    >>> from selfhost.modelspec import ModelSpec
    >>> spec = ModelSpec("t", "MixtralForCausalLM", "mixtral", 8, 1, 10, True, 2, 1, 4, ("moe",), (None,),
    ...                  moe_intermediate_size=16, num_experts=16, experts_per_token=1)
    >>> smallest_busy_batch(spec, 0.9)   # 1 - (15/16)^B >= 0.9 from B = 36
    36
    """
    check_number("coverage", coverage, gt=0, le=1)
    if not spec.is_moe:
        return 1
    for batch in range(1, max_batch + 1):
        if expected_distinct_experts(spec.num_experts, spec.experts_per_token, batch) / spec.num_experts >= coverage:
            return batch
    return None


def busy_batch_statement(spec: ModelSpec, coverage: float) -> str:
    """What "a busy step" means for the verdict, in words: the smallest batch whose step touches ``coverage``
    of the experts (:func:`smallest_busy_batch`), below which the verdict flips."""
    if not spec.is_moe:
        return f"{spec.name} is dense: every decode step reads all of its weights, whatever the batch."
    n = smallest_busy_batch(spec, coverage)
    if n is None:
        return (f"With uniform routing no batch makes a decode step of {spec.name} touch {coverage:.0%} of its "
                "experts.")
    return (f"The verdict asks a busy decode step to touch at least {coverage:.0%} of the experts: with uniform "
            f"routing {spec.name} does so from a batch of **{n} sequences** on; with fewer the claim holds only "
            "under conditions (the robustness line's `busy_batch_count`).")


def parts_rows(spec: ModelSpec) -> list[dict]:
    """A model's parameters by part [millions, so that a router or the norms read as more than zero]:
    what is loaded, and what one token multiplies."""
    p = spec.params()
    rows = []
    for part, n in p.as_dict().items():
        if not n:
            continue
        active = p.routed_experts_active if part == "routed_experts" else 0 if part == "vision" else n
        rows.append({"part": part.replace("_", " "), "loaded_m_params": n / 1e6, "active_m_params": active / 1e6})
    return rows


def c12_verdict(fig: TrapFigures, claimed_total: float, claimed_active: float, gpu_memory_gib: float,
                tolerance: float = 0.02, busy_coverage: float = 0.9, weights_gib: float | None = None,
                weight_dtype: str = "bf16") -> Verdict:
    """The verdict on C12 ("17B active, 109B loaded") from the config's counts.

    Holds when the config reproduces both claimed counts within ``tolerance`` and the
    16-bit weights exceed ``gpu_memory_gib`` (so all experts must be loaded, across GPUs);
    the share of experts a busy decode step touches is reported beside. "Holds only under
    conditions" when the counts match but the weights fit one GPU; "does not hold" when a
    count is off. ``weights_gib`` (at ``weight_dtype``) replaces the 16-bit weights.
    """
    check_number("tolerance", tolerance, gt=0, le=1)
    check_number("busy_coverage", busy_coverage, gt=0, le=1)
    total_off = fig.total_params / claimed_total - 1
    active_off = fig.active_params / claimed_active - 1
    figures = {
        "total_params_count": fig.total_params, "active_params_count": fig.active_params,
        "vision_params_count": fig.vision_params, "total_over_active_x": fig.total_params / fig.active_params,
        "bf16_weights_gib": fig.bf16_weights_gib, "busy_expert_coverage_share": fig.busy_expert_coverage_share,
    }
    if abs(total_off) > tolerance or abs(active_off) > tolerance:
        return Verdict("C12", FAILS, f"The config gives {fig.total_params / 1e9:.1f}B total and "
                       f"{fig.active_params / 1e9:.1f}B active parameters, not the claimed counts.", figures,
                       ("the claimed counts differ from the model's own config",))
    reason = (f"The config gives {fig.total_params / 1e9:.1f}B parameters to load ({fig.vision_params / 1e9:.2f}B of "
              f"them the vision encoder) and {fig.active_params / 1e9:.1f}B per token: "
              f"{fig.bf16_weights_gib:.0f} GiB in 16-bit, and a busy decode step touches "
              f"{fig.busy_expert_coverage_share:.0%} of the experts.")
    held = fig.bf16_weights_gib if weights_gib is None else weights_gib
    if held <= gpu_memory_gib:
        return Verdict("C12", CONDITIONAL, reason, figures,
                       (f"the {weight_dtype} weights ({held:.0f} GiB) fit one GPU of the size given, so the trap is "
                        "one of cost, not of fit",))
    if fig.busy_expert_coverage_share < busy_coverage:
        return Verdict("C12", CONDITIONAL, reason, figures,
                       ("at the batch given a step reads only part of the experts; memory still follows the total",))
    return Verdict("C12", HOLDS, reason, figures)


def c12_assess(spec: ModelSpec, claimed_total: float, claimed_active: float, gpu_memory_gib: float, *,
               busy_batch: int, evidence: Sequence[Evidence], tolerance: float = 0.02, busy_coverage: float = 0.9,
               gpus_gib: Mapping[str, float] | None = None, weights_gib_by_dtype: Mapping[str, float] | None = None,
               baseline_gpu: str = "", batch_range: tuple[int, int] = (1, 256)) -> Verdict:
    """C12's verdict (:func:`c12_verdict`) with its evidence and what flips it.

    Moved one at a time: the busy batch (one request to vLLM's default ``max_num_seqs`` of
    256), the GPU (``gpus_gib``: name -> memory vLLM budgets from) and the weight precision
    (``weights_gib_by_dtype``: the whole model's weights at each) as categories.
    """
    def at(batch: int = busy_batch, gib: float = gpu_memory_gib, dtype: str = "bf16") -> str:
        weights = None if weights_gib_by_dtype is None else weights_gib_by_dtype[dtype]
        return c12_verdict(trap_figures(spec, max(1, int(batch))), claimed_total, claimed_active, gib, tolerance,
                           busy_coverage, weights, dtype).verdict

    base = c12_verdict(trap_figures(spec, busy_batch), claimed_total, claimed_active, gpu_memory_gib, tolerance,
                       busy_coverage)
    sens = [sensitivity("busy_batch_count", lambda v: at(batch=round(v)), busy_batch, *batch_range,
                        "one request at a time to vLLM's default max_num_seqs (256)", log=True, steps=12)]
    if gpus_gib:
        values = {name: at(gib=g) for name, g in gpus_gib.items()}
        sens.append(categorical("gpu", values, baseline_gpu or next(iter(values)), "data/gpus.csv"))
    if weights_gib_by_dtype:
        values = {d: at(dtype=d) for d in weights_gib_by_dtype}
        sens.append(categorical("weight_dtype", values, "bf16" if "bf16" in values else next(iter(values)),
                                "the precisions vLLM serves (selfhost.memory.weight_bytes)"))
    return replace(base, evidence=tuple(evidence), sensitivity=tuple(sens))


def doubling_batches(max_batch: int) -> list[int]:
    """1, 2, 4 ... up to ``max_batch`` [1].

    >>> doubling_batches(20)
    [1, 2, 4, 8, 16]
    """
    check_int("max_batch", max_batch, ge=1)
    out, b = [], 1
    while b <= max_batch:
        out.append(b)
        b *= 2
    return out


def coverage_at(specs: Sequence[ModelSpec], batch: int) -> dict[str, float]:
    """MoE model -> share of its experts one decode step of ``batch`` sequences touches [1]."""
    return {s.name: expected_distinct_experts(s.num_experts, s.experts_per_token, batch) / s.num_experts
            for s in specs if s.is_moe}


def parts_statement(spec: ModelSpec) -> str:
    """One sentence: loaded, text, vision and active parameters."""
    p = spec.params()
    return (f"**{spec.name}: {p.total / 1e9:.1f}B loaded ({p.text_total / 1e9:.1f}B text model + "
            f"{p.vision / 1e9:.2f}B vision encoder), {p.active / 1e9:.1f}B active per token.**")


def memory_compare_rows(specs: Sequence[ModelSpec], weight_dtypes: Sequence[str], gpu_memory_gib: float,
                        context_tokens: int, overheads: memory.Overheads, max_num_batched_tokens: int) -> list[dict]:
    """Per model and precision: whole-model weights, fewest GPUs vLLM needs, active parameters, KV per token and sequence."""
    rows = []
    for s in specs:
        q = s.params()
        for dtype in weight_dtypes:
            serving = memory.Serving(gpu_memory_gib, context_tokens, weight_dtype=dtype,
                                     max_num_batched_tokens=max_num_batched_tokens)
            rows.append({"model": s.name, "weight_dtype": dtype,
                         "whole_model_weights_gib": memory.weight_bytes(s, serving, text_only=False) / GIB,
                         "fewest_gpus_count": memory.fewest_gpus(s, serving, overheads),
                         "active_b_params": q.active / 1e9, "kv_per_token_bytes": s.kv_bytes_per_token(),
                         "kv_per_sequence_gib": s.kv_bytes_per_sequence(context_tokens) / GIB})
    return rows


def weights_gib_by_dtype(spec: ModelSpec, gpu_memory_gib: float, context_tokens: int,
                         dtypes: Sequence[str] = ("bf16", "fp8", "int4")) -> dict[str, float]:
    """The whole model's weights at each precision [GiB] (the vision encoder included)."""
    return {d: memory.weight_bytes(spec, memory.Serving(gpu_memory_gib, context_tokens, weight_dtype=d),
                                   text_only=False) / GIB for d in dtypes}


def budgets_by_gpu(table: Mapping[str, tuple[float, float]]) -> dict[str, float]:
    """GPU -> the memory vLLM budgets from [GiB], from :func:`selfhost.data.hardware.gpu_memory_table`."""
    return {name: gib for name, (gib, _) in table.items()}


def c12_evidence(spec: ModelSpec) -> tuple[Evidence, ...]:
    """What the C12 verdict rests on."""
    return (
        Evidence("data", f"{spec.name}'s config.json (data/models/, copy read 2026-11-27) and the publishers' "
                         "official counts in data/models/manifest.yaml"),
        Evidence("model", "parameters counted by part from the config (selfhost.modelspec; equal to transformers' "
                          "count on PyTorch's meta device, a test), expert coverage with uniform routing"),
        Evidence("article", "'Llama 4 Scout has 17B active parameters but needs 109B loaded in VRAM'"),
    )
