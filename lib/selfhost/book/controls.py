"""The live controls of the "Your deployment" page, resolved against the data (a page helper).

:func:`plan_controls_inputs` gathers what the controls need from a profile: the page's
plan inputs, the same profile with every GPU that ``data/gpu_prices.csv`` prices added as
a candidate the reader may tick (the profile's own GPUs ticked, at the profile's prices),
the dated API table, and the precomputed capacity table
(:func:`selfhost.plan_controls.capacity_table`). :func:`plan_controls` draws them
(:func:`selfhost.charts.controls.plan_controls`). The parity test
(``tests/book/test_controls.py``) rebuilds the same inputs to compare the page with lib.

:func:`breakeven_page` does the same for the break-even page: its case, the GPUs and
GPUs-per-replica choices offered with a setup for each, the GPUs' starting prices and the
dated API table; :func:`breakeven_controls` draws them, with the replica table
(:func:`selfhost.breakeven_controls.replica_table`) computed over the share grid.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from selfhost import breakeven as be
from selfhost import breakeven_controls as bc
from selfhost import plan_controls as pc
from selfhost.breakeven import CostCase
from selfhost.charts import controls as controls_chart
from selfhost.data.hardware import load_gpus
from selfhost.data.prices import load_api_prices, load_gpu_prices, load_serving_setup
from selfhost.data.profile import ARTICLE_PROFILE, inputs_for
from selfhost.plan import PlanInputs
from selfhost.prices import GPU_PRICING_KINDS, ApiPrice


@dataclass(frozen=True)
class ControlsInputs:
    """Everything the controls are built from (see the module's docstring)."""

    inputs: PlanInputs
    wide: PlanInputs
    apis: tuple[ApiPrice, ...]
    table: list[dict[str, Any]]
    spare_replicas: int


def wide_profile(profile: Mapping[str, Any] | None, inputs: PlanInputs) -> dict[str, Any]:
    """The profile with every priced GPU of the data added to its candidates (after its own).

    Only GPUs that ``data/gpus.csv`` describes can be sized; a price row for another part
    (an H100 NVL, say) is left out of the controls.
    """
    wide = copy.deepcopy(dict(profile) if profile else ARTICLE_PROFILE)
    own = {o.gpu.key for o in inputs.gpus}
    known = {g.key for g in load_gpus().values()}
    priced = sorted({p.gpu for p in load_gpu_prices()} & known - own)
    listed = wide["gpus"] if isinstance(wide["gpus"], list) else [wide["gpus"]]
    wide["gpus"] = [*listed, *priced]
    return wide


def resolved(profile: Mapping[str, Any] | None) -> tuple[PlanInputs, PlanInputs, tuple[ApiPrice, ...]]:
    """The page's plan inputs, the same with every priced GPU a candidate, and the dated API table."""
    inputs = inputs_for(dict(profile) if profile else None)
    return inputs, inputs_for(wide_profile(profile, inputs)), tuple(load_api_prices())


def plan_controls_inputs(profile: Mapping[str, Any] | None) -> ControlsInputs:
    """The controls' inputs for the page's ``profile`` parameter (empty: the article's scenario)."""
    inputs, wide, apis = resolved(profile)
    table, spares = pc.capacity_table(wide, pc.share_grid(inputs.traffic.input_share))
    return ControlsInputs(inputs, wide, apis, table, spares)


def plan_controls(profile: Mapping[str, Any] | None) -> controls_chart.ControlsChart:
    """The page's live controls, figures and cost chart, starting at ``profile``'s numbers."""
    c = plan_controls_inputs(profile)
    return controls_chart.plan_controls(c.inputs, c.wide, c.apis, c.table, c.spare_replicas)


# ---------------------------------------------------------------------- the break-even page
def breakeven_page(case: CostCase, tok_per_day: float, page_api: ApiPrice, *, model: str, weight_dtype: str,
                   prompt_tokens: int, slo_ttft_ms: float, slo_tpot_ms: float,
                   kv_cache_dtype: str) -> bc.Page:
    """What the break-even page's controls are built over (:class:`selfhost.breakeven_controls.Page`).

    The GPUs offered: the page's, then every other GPU that ``data/gpus.csv`` describes and
    ``data/gpu_prices.csv`` prices, each starting at its cheapest on-demand price (the page's at
    the page's price); the GPUs of a replica: the fewest the model fits on, each tensor-parallel
    size the model accepts, and the page's own choice. Each setup is the page's (model, precision,
    prompt, latency target, KV cache) on that GPU, at its generation's calibrated efficiency.
    """
    assert case.setup is not None
    own = case.setup.gpu.key
    known = {g.key for g in load_gpus().values()}
    prices = load_gpu_prices()
    on_demand, any_kind = be.cheapest_gpu_prices(prices), be.cheapest_gpu_prices(prices, GPU_PRICING_KINDS)
    keys = [own, *sorted(({p.gpu for p in prices} & known) - {own})]
    start = {k: (on_demand.get(k) or any_kind[k]).gpu_usd_per_hour for k in keys[1:]} | {own: case.gpu_usd_per_hour}
    spec = case.setup.spec
    choices = sorted({bc.FEWEST, *(n for n in be.TP_SIZES if spec.tp_problem(n) is None),
                      case.setup.gpus_per_replica or bc.FEWEST})
    setups = {}
    for key in keys:
        for n in choices:
            setups[(key, n)] = (case.setup if key == own and n == (case.setup.gpus_per_replica or bc.FEWEST) else
                                load_serving_setup(model, key, weight_dtype=weight_dtype, gpus_per_replica=n or None,
                                                   prompt_tokens=prompt_tokens, slo_ttft_ms=slo_ttft_ms,
                                                   slo_tpot_ms=slo_tpot_ms, kv_cache_dtype=kv_cache_dtype))
    return bc.Page(case, tok_per_day, page_api, setups, start, tuple(load_api_prices()))


def breakeven_controls(page: bc.Page) -> controls_chart.ControlsChart:
    """The break-even page's live controls, figures and cost chart, starting at the page's numbers."""
    table = bc.replica_table(page.setups, page.shares)
    return controls_chart.breakeven_controls(page, table)
