"""The live controls of the "Your deployment" page, resolved against the data (a page helper).

:func:`plan_controls_inputs` gathers what the controls need from a profile: the page's
plan inputs, the same profile with every GPU that ``data/gpu_prices.csv`` prices added as
a candidate the reader may tick (the profile's own GPUs ticked, at the profile's prices),
the dated API table, and the precomputed capacity table
(:func:`selfhost.plan_controls.capacity_table`). :func:`plan_controls` draws them
(:func:`selfhost.charts.controls.plan_controls`). The parity test
(``tests/book/test_controls.py``) rebuilds the same inputs to compare the page with lib.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from selfhost import plan_controls as pc
from selfhost.charts import controls as controls_chart
from selfhost.data.hardware import load_gpus
from selfhost.data.prices import load_api_prices, load_gpu_prices
from selfhost.data.profile import ARTICLE_PROFILE, inputs_for
from selfhost.plan import PlanInputs
from selfhost.prices import ApiPrice


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
