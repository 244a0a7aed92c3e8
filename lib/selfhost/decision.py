"""The article's "Should you self-host?" decision tree (claim C01) as a function.

The article draws five yes/no gates. Read in order, each gate either ends in an outcome
or passes to the next one:

1. Regulated data or privacy mandate?  yes -> self-host (privacy)
2. Spending >$10K/month on inference APIs?  no -> use API providers
3. Need <200ms TTFT consistently?  yes -> self-host (latency)
4. Fine-tuned or custom model?  yes -> self-host (custom model)
5. Team has GPU infra experience?  yes -> self-host (cost-driven);
   no -> hosted open APIs (start here first)

The article's text ("Most teams stop at gate 2 -- API spend below $10K/month means
operational overhead exceeds GPU savings") fixes gate 2 as the spend gate whose "no"
leads to the APIs. Its Quick Reference states the same criteria as a list joined by
"or": self-host when regulated data, >$10K/month on frontier APIs, a <200ms TTFT
requirement, or fine-tuned models. :func:`quick_reference_self_hosts` encodes that list
so that the two readings can be compared profile by profile.

Pure functions; no I/O.

References
----------
The article, "Self-Hosting LLMs", section "Should You Self-Host?" (``seed`` text).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

import pandas as pd

from selfhost.costs import tok_per_day_for_spend
from selfhost.params import check_bool, check_number
from selfhost.prices import ApiPrice
from selfhost.robustness import sensitivity
from selfhost.units import significant
from selfhost.verdicts import CONDITIONAL, FAILS, HOLDS, Evidence, Verdict


class Outcome(str, Enum):
    """The six leaves of the tree."""

    SELF_HOST_PRIVACY = "Self-host (privacy)"
    USE_APIS = "Use API providers"
    SELF_HOST_LATENCY = "Self-host (latency)"
    SELF_HOST_CUSTOM = "Self-host (custom model)"
    SELF_HOST_COST = "Self-host (cost-driven)"
    HOSTED_OPEN_APIS = "Hosted open APIs (start here first)"

    @property
    def self_hosts(self) -> bool:
        return self.name.startswith("SELF_HOST")


@dataclass(frozen=True)
class Gate:
    """One yes/no question; ``yes``/``no`` name the next gate's key or an Outcome."""

    key: str
    question: str
    yes: str | Outcome
    no: str | Outcome


#: The tree, in the order the article draws it.
GATES: tuple[Gate, ...] = (
    Gate("regulated_data", "Regulated data or privacy mandate?", Outcome.SELF_HOST_PRIVACY, "api_spend"),
    Gate("api_spend", "Spending >$10K/month on inference APIs?", "ttft", Outcome.USE_APIS),
    Gate("ttft", "Need <200ms TTFT consistently?", Outcome.SELF_HOST_LATENCY, "custom_model"),
    Gate("custom_model", "Fine-tuned or custom model?", Outcome.SELF_HOST_CUSTOM, "gpu_experience"),
    Gate("gpu_experience", "Team has GPU infra experience?", Outcome.SELF_HOST_COST, Outcome.HOSTED_OPEN_APIS),
)
GATE_BY_KEY = {g.key: g for g in GATES}


@dataclass(frozen=True)
class TeamProfile:
    """What the tree asks about a team.

    Parameters
    ----------
    regulated_data : bool
        Regulated data or a privacy mandate that rules out third-party APIs.
    api_spend_usd_per_month : float
        Current (or planned) spend on inference APIs [USD/month].
    ttft_target_ms : float
        The time-to-first-token the product must meet consistently [ms]; use a large
        value when there is no latency requirement.
    custom_model : bool
        Serves a fine-tuned or custom model that no API offers.
    gpu_experience : bool
        The team already runs GPU infrastructure.
    """

    regulated_data: bool
    api_spend_usd_per_month: float
    ttft_target_ms: float
    custom_model: bool
    gpu_experience: bool

    def __post_init__(self) -> None:
        check_bool("regulated_data", self.regulated_data)
        object.__setattr__(
            self, "api_spend_usd_per_month", check_number("api_spend_usd_per_month", self.api_spend_usd_per_month, ge=0)
        )
        object.__setattr__(self, "ttft_target_ms", check_number("ttft_target_ms", self.ttft_target_ms, gt=0))
        check_bool("custom_model", self.custom_model)
        check_bool("gpu_experience", self.gpu_experience)


@dataclass(frozen=True)
class Thresholds:
    """The article's gate thresholds, as parameters so that a reader can move them.

    Parameters
    ----------
    spend_gate_usd_per_month : float
        Gate 2: API spend above which self-hosting is considered [USD/month]; 10,000 in
        the article.
    ttft_gate_ms : float
        Gate 3: a TTFT requirement below this needs self-hosting [ms]; 200 in the article.
    """

    spend_gate_usd_per_month: float = 10_000.0
    ttft_gate_ms: float = 200.0

    def __post_init__(self) -> None:
        check_number("spend_gate_usd_per_month", self.spend_gate_usd_per_month, ge=0)
        check_number("ttft_gate_ms", self.ttft_gate_ms, gt=0)


def answers(profile: TeamProfile, thresholds: Thresholds) -> dict[str, bool]:
    """The yes/no answer a profile gives at every gate."""
    return {
        "regulated_data": profile.regulated_data,
        "api_spend": profile.api_spend_usd_per_month > thresholds.spend_gate_usd_per_month,
        "ttft": profile.ttft_target_ms < thresholds.ttft_gate_ms,
        "custom_model": profile.custom_model,
        "gpu_experience": profile.gpu_experience,
    }


@dataclass(frozen=True)
class Decision:
    """Where the tree ends for one set of answers, and the gates passed on the way."""

    outcome: Outcome
    path: tuple[tuple[str, bool], ...]


def walk(gate_answers: dict[str, bool]) -> Decision:
    """Follow the tree from gate 1 with the given answers (gate key -> yes/no).

    Examples
    --------
    >>> walk({"regulated_data": False, "api_spend": False}).outcome.value
    'Use API providers'
    >>> [key for key, _ in walk({"regulated_data": True}).path]
    ['regulated_data']
    """
    node: str | Outcome = GATES[0].key
    path: list[tuple[str, bool]] = []
    while not isinstance(node, Outcome):
        gate = GATE_BY_KEY[node]
        said = gate_answers[gate.key]
        path.append((gate.key, said))
        node = gate.yes if said else gate.no
    return Decision(node, tuple(path))


def decide(profile: TeamProfile, thresholds: Thresholds = Thresholds()) -> Decision:
    """The tree's advice for a team profile."""
    return walk(answers(profile, thresholds))


def quick_reference_self_hosts(gate_answers: dict[str, bool]) -> bool:
    """The Quick Reference list: self-host when any of its four criteria is met.

    "Self-host when: regulated data/privacy, >$10K/month on frontier APIs, <200ms TTFT
    requirement, or fine-tuned models". GPU experience is not on the list.
    """
    return any(gate_answers[k] for k in ("regulated_data", "api_spend", "ttft", "custom_model"))


def all_answer_sets() -> list[dict[str, bool]]:
    """Every combination of yes/no over the five gates (2**5 = 32)."""
    keys = [g.key for g in GATES]
    return [dict(zip(keys, combo)) for combo in itertools.product([True, False], repeat=len(keys))]


def reachable_paths() -> list[Decision]:
    """Every distinct root-to-leaf path of the tree (one per leaf here: six)."""
    seen: dict[tuple[tuple[str, bool], ...], Decision] = {}
    for combo in all_answer_sets():
        decision = walk(combo)
        seen.setdefault(decision.path, decision)
    return list(seen.values())


@dataclass(frozen=True)
class Disagreement:
    """A set of answers on which the tree and the Quick Reference list part."""

    gate_answers: dict[str, bool]
    tree: Outcome
    list_self_hosts: bool


def disagreements() -> list[Disagreement]:
    """The answer sets where the tree and the Quick Reference list give opposite advice.

    >>> len(disagreements())
    7
    """
    out = []
    for combo in all_answer_sets():
        tree = walk(combo).outcome
        listed = quick_reference_self_hosts(combo)
        if tree.self_hosts != listed:
            out.append(Disagreement(combo, tree, listed))
    return out


def c01_verdict(
    parted: list[Disagreement],
    profiles: int,
    gate_tok_per_day: dict[str, float],
    article_breakeven_tok_per_day: float,
    consistency_factor: float,
) -> Verdict:
    """The verdict on C01 from the two checks this page computes.

    1. Do the tree and the Quick Reference list give the same advice on every profile?
    2. Does the spend gate sit near the article's own break-even volume? The gate's
       volume at each current frontier price must lie within ``consistency_factor`` of
       ``article_breakeven_tok_per_day``.

    Both pass: "holds". A gate *below* the break-even by more than the factor would send
    teams to self-host where it loses money: "does not hold". Otherwise the tree is a
    usable ordering whose conditions are named: "holds only under conditions".

    Parameters
    ----------
    parted : list of Disagreement
        The profiles on which tree and list part (:func:`disagreements`).
    profiles : int
        All yes/no profiles [1].
    gate_tok_per_day : dict
        Model -> tokens per day that the spend gate buys at its price [tok/day].
    article_breakeven_tok_per_day : float
        The article's break-even volume against frontier APIs [tok/day].
    consistency_factor : float
        How far from the break-even the gate may sit and still "agree" [1].
    """
    disagreeing = len(parted)
    under_gate = sum(not d.gate_answers["api_spend"] for d in parted)
    low_model = min(gate_tok_per_day, key=gate_tok_per_day.__getitem__)
    high_model = max(gate_tok_per_day, key=gate_tok_per_day.__getitem__)
    low, high = gate_tok_per_day[low_model], gate_tok_per_day[high_model]
    low_x, high_x = low / article_breakeven_tok_per_day, high / article_breakeven_tok_per_day
    figures = {
        "disagreeing_profiles_count": disagreeing,
        "profiles_count": profiles,
        "gate_min_tok_per_day": low,
        "gate_max_tok_per_day": high,
        "gate_min_over_breakeven_x": low_x,
        "gate_max_over_breakeven_x": high_x,
    }
    conditions = []
    if disagreeing:
        conditions.append(
            f"the tree and the Quick Reference list give opposite advice on {disagreeing} of {profiles} yes/no "
            f"profiles: {under_gate} are teams under the spend gate that need low TTFT or run a fine-tuned model "
            f"(the tree says APIs, the list self-host), {disagreeing - under_gate} a team above it with no GPU "
            "experience (the tree says hosted open APIs, the list self-host)"
        )
    if high_x > consistency_factor or low_x < 1 / consistency_factor:
        conditions.append(
            f"the spend gate is a cost threshold only if operating overhead fills the gap: at current frontier "
            f"prices it buys {significant(low / 1e6)}M ({low_model}) to {significant(high / 1e6)}M ({high_model}) "
            f"tokens/day, {significant(low_x)}x to {significant(high_x)}x the article's own break-even volume"
        )
    if low_x < 1 / consistency_factor:
        return Verdict("C01", FAILS, "The spend gate admits teams whose volume lies below the article's own "
                       f"break-even ({significant(low_x)}x at {low_model}).", figures, tuple(conditions))
    if not conditions:
        return Verdict("C01", HOLDS, "The tree, the list and the article's break-even agree.", figures)
    parts = []
    if disagreeing:
        parts.append(f"it contradicts the article's own list of criteria on {disagreeing} of {profiles} profiles")
    if high_x > consistency_factor or low_x < 1 / consistency_factor:
        parts.append(f"its spend gate buys {significant(low_x)}x to {significant(high_x)}x the article's own "
                     "break-even volume")
    reason = "The tree is a coherent ordering of the article's criteria, but " + ", and ".join(parts) + "."
    return Verdict("C01", CONDITIONAL, reason, figures, tuple(conditions))


def gates_table() -> pd.DataFrame:
    """The gates in the order the article draws them: number, question, where yes and no lead."""
    return pd.DataFrame([{"gate_count": i + 1, "question": g.question,
                          "yes": g.yes.value if isinstance(g.yes, Outcome) else "next gate",
                          "no": g.no.value if isinstance(g.no, Outcome) else "next gate"}
                         for i, g in enumerate(GATES)])


def paths_table() -> pd.DataFrame:
    """Every root-to-leaf path: its outcome and the answers on the way."""
    return pd.DataFrame([{"outcome": d.outcome.value,
                          "answers": ", ".join(f"{k}={'yes' if v else 'no'}" for k, v in d.path)}
                         for d in reachable_paths()])


def disagreements_table(parted: Sequence[Disagreement]) -> pd.DataFrame:
    """The profiles on which tree and list part: each gate's answer, what each says."""
    return pd.DataFrame([{**d.gate_answers, "tree_says": d.tree.value,
                          "list_says": "self-host" if d.list_self_hosts else "use APIs"} for d in parted])


def gate_table(prices: Sequence[ApiPrice], spend_gate_usd_per_month: float, input_share: float,
               article_breakeven_tok_per_day: float, cached_share: float = 0.0,
               api_price_x: float = 1.0) -> pd.DataFrame:
    """What the spend gate buys at each API's price: ``model``, ``blended_usd_per_mtok``,
    ``gate_tok_per_day``, ``gate_mtok_per_day``, ``gate_over_breakeven_x``, ``copy_date``; by volume."""
    check_number("api_price_x", api_price_x, gt=0)
    rows = []
    for p in prices:
        blended = p.blended_usd_per_mtok(input_share, cached_share) * api_price_x
        tok = tok_per_day_for_spend(spend_gate_usd_per_month, blended)
        rows.append({"model": p.key, "blended_usd_per_mtok": blended, "gate_tok_per_day": tok,
                     "gate_mtok_per_day": tok / 1e6, "gate_over_breakeven_x": tok / article_breakeven_tok_per_day,
                     "copy_date": p.copy_date})
    return pd.DataFrame(rows).sort_values("gate_tok_per_day").reset_index(drop=True)


def gate_statement(table: pd.DataFrame) -> str:
    """What the spend gate buys, in one sentence, from :func:`gate_table`: its range of volumes [M tokens/day]
    and of multiples of the article's break-even, in the digits the table prints."""
    low, high = table["gate_mtok_per_day"].min(), table["gate_mtok_per_day"].max()
    low_x, high_x = table["gate_over_breakeven_x"].min(), table["gate_over_breakeven_x"].max()
    return (f"At current frontier prices the gate buys **{significant(low)}M to {significant(high)}M tokens a day**: "
            f"{significant(low_x)}x to {significant(high_x)}x the article's own break-even volume against the same "
            "APIs.")


def c01_assess(parted: list[Disagreement], profiles: int, prices: Sequence[ApiPrice], spend_gate_usd_per_month: float,
               input_share: float, article_breakeven_tok_per_day: float, consistency_factor: float, *,
               input_share_range: tuple[float, float], cached_share_high: float, traffic_source: str,
               api_price_low_x: float = 0.5, evidence: Sequence[Evidence] = ()) -> Verdict:
    """:func:`c01_verdict` at the gate volumes the prices give, with what flips it.

    The uncertain inputs: the input share and the cached share (the traces), and the API
    prices (batch, about half, to list). The tree's own structure is not uncertain.
    """

    def verdict_at(share: float = input_share, cached: float = 0.0, x: float = 1.0) -> Verdict:
        t = gate_table(prices, spend_gate_usd_per_month, share, article_breakeven_tok_per_day, cached, x)
        return c01_verdict(parted, profiles, dict(zip(t["model"], t["gate_tok_per_day"])),
                           article_breakeven_tok_per_day, consistency_factor)

    base = verdict_at()
    flips = (
        sensitivity("input_share", lambda v: verdict_at(share=v).verdict, input_share, input_share_range[0],
                    input_share_range[1], traffic_source),
        sensitivity("cached_share", lambda v: verdict_at(cached=v).verdict, 0.0, 0.0, cached_share_high,
                    traffic_source),
        sensitivity("api_price_x", lambda v: verdict_at(x=v).verdict, 1.0, api_price_low_x, 1.0,
                    "data/api_prices.csv: batch prices (about half) to list prices"),
    )
    return base.with_(sensitivity=flips, evidence=tuple(evidence))


def price_evidence(prices: Sequence[ApiPrice]) -> Evidence:
    """The dated prices the gate volumes rest on."""
    from selfhost.prices import copy_dates

    return Evidence("data", f"{len(prices)} current frontier API prices from data/api_prices.csv ({copy_dates(prices)})")
