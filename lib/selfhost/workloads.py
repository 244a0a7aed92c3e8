"""The live workloads, each tied to a claim, as arguments for vLLM's benchmark client (pure).

A run is one invocation of the client (``vllm.benchmarks.serve``); :class:`RunSpec` holds
its arguments and the labels the analyses group by (workload, variant, shape,
repetition). :class:`Plan` sizes every workload and builds the runs of a recording, in
the order the protocol (:data:`selfhost.stats.PROTOCOL`) fixes.

The workloads (folders of ``data/runs/``):

- ``throughput`` (C08): random prompts over a sweep of concurrency, on vLLM.
- ``prefix`` (C10): the shapes of the SGLang paper's workloads, each sent to a server
  with prefix caching on and to one with it off (variants ``caching-on``/``caching-off``):

  - ``few-shot``: one long shared prefix (the examples) and a short unique question;
  - ``multi-turn``: conversations whose every turn resends the whole history;
  - ``agent``: agent loops that share a tool context and append an observation each step;
  - ``prefix-groups``: many prefixes, each shared by a few requests, sent in shuffled
    order, so that the groups compete for a bounded KV cache (vLLM's prefix-repetition
    dataset).
- ``long_prompt`` (C11): TGI v3's long-prompt scenario in shape: many long prompts at once,
  sent twice (``first`` then ``repeat``), on the caching-on and caching-off servers.
- ``compare`` (C09): the same workloads against two real engines here (vLLM and llama.cpp)
  at several concurrencies: how the ratio between two engines moves.

Prompt contents are random tokens: the client's ``random`` and ``prefix_repetition``
datasets draw them, and for ``custom`` prompts (multi-turn, agent) :class:`Segment` names
the parts prompts share, which the harness renders to text from a seed.

References
----------
vLLM 0.32.0, ``vllm/benchmarks/serve.py`` and ``vllm/benchmarks/datasets/datasets.py``
(``RandomDataset``: one prefix per seed shared by every request;
``PrefixRepetitionRandomDataset``: ``num_prefixes`` prefixes, shuffled; ``CustomDataset``:
a JSONL file of prompts, kept in order with ``--disable-shuffle``).
Zheng et al. (2024), "SGLang: Efficient Execution of Structured Language Model Programs",
NeurIPS, section 6 (the workloads: few-shot, multi-turn chat, agents, tree-of-thought).
TGI v3 documentation, ``docs/source/conceptual/chunking.md`` (the long scenario: 20
requests, about 200k prompt tokens, each run twice).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from selfhost.errors import ParameterError
from selfhost.params import check_choice, check_int, check_number
from selfhost.stats import PROTOCOL, Protocol, alternate

SCALED_NOTE = (
    "sized for a 2-core CPU serving a 4-layer, 512-hidden Llama with dummy weights: prompt shapes as in "
    "the SGLang paper's and TGI's benchmarks, with fewer and shorter requests than on a GPU"
)
#: The C10 workload shapes.
SHAPES = ("few-shot", "multi-turn", "agent", "prefix-groups")
DATASETS = ("random", "prefix_repetition", "custom")
#: vLLM's CPU build allocates the KV cache in blocks of this many tokens (the GPU default is 16).
CPU_BLOCK_TOKENS = 128


@dataclass(frozen=True)
class Segment:
    """A stretch of prompt tokens: prompts that name the same segment share its tokens."""

    name: str
    tokens: int

    def __post_init__(self) -> None:
        check_int("tokens", self.tokens, ge=1)


@dataclass(frozen=True)
class RunSpec:
    """One benchmark-client run: its labels and its dataset/traffic arguments.

    ``prefix_caching`` is the server setting the run needs (None: any server);
    ``engine`` the engine it must run on (None: the recording's default). ``dataset``
    chooses the client's dataset: ``random`` (a shared prefix of ``prefix_len`` and
    ``input_len`` own tokens), ``prefix_repetition`` (``num_prefixes`` prefixes of
    ``prefix_len`` tokens, each followed by ``input_len`` own tokens) or ``custom``
    (``prompts``, each a tuple of :class:`Segment`).
    """

    workload: str
    variant: str
    rep: int
    seed: int
    num_prompts: int
    input_len: int
    output_len: int
    prefix_len: int = 0
    max_concurrency: int = 1
    prefix_caching: bool | None = None
    params: dict[str, Any] = field(default_factory=dict)
    dataset: str = "random"
    num_prefixes: int = 1
    prompts: tuple[tuple[Segment, ...], ...] = ()
    shape: str = ""
    engine: str | None = None
    warmup: bool = False

    def __post_init__(self) -> None:
        check_int("rep", self.rep, ge=0)
        check_int("num_prompts", self.num_prompts, ge=1)
        check_int("input_len", self.input_len, ge=1)
        check_int("output_len", self.output_len, ge=1)
        check_int("prefix_len", self.prefix_len, ge=0)
        check_int("max_concurrency", self.max_concurrency, ge=1)
        check_choice("dataset", self.dataset, DATASETS)
        check_int("num_prefixes", self.num_prefixes, ge=1)
        if self.dataset == "custom" and len(self.prompts) != self.num_prompts:
            raise ParameterError("prompts", len(self.prompts), f"{self.num_prompts} prompts (num_prompts)")
        if self.dataset == "prefix_repetition" and self.num_prompts % self.num_prefixes:
            raise ParameterError("num_prompts", self.num_prompts, f"a multiple of num_prefixes ({self.num_prefixes})")

    @property
    def prompt_len(self) -> int:
        """Tokens per prompt (the mean for custom prompts)."""
        if self.dataset == "custom":
            return round(sum(s.tokens for p in self.prompts for s in p) / len(self.prompts))
        return self.prefix_len + self.input_len

    @property
    def total_prompt_tokens(self) -> int:
        """Prompt tokens the run sends [tokens]."""
        if self.dataset == "custom":
            return sum(s.tokens for p in self.prompts for s in p)
        return self.num_prompts * self.prompt_len

    def client_args(self, dataset_path: str | None = None) -> list[str]:
        """Dataset and traffic arguments for ``vllm.benchmarks.serve`` (no server or model).

        ``dataset_path`` is the JSONL file the harness wrote for a ``custom`` run.

        >>> RunSpec("throughput", "c4", 0, 1, 8, 256, 64, max_concurrency=4).client_args()[:6]
        ['--dataset-name', 'random', '--seed', '1', '--num-prompts', '8']
        """
        common = ["--seed", str(self.seed), "--num-prompts", str(self.num_prompts),
                  "--max-concurrency", str(self.max_concurrency), "--request-rate", "inf",
                  "--ignore-eos", "--temperature", "0",
                  "--percentile-metrics", "ttft,tpot,itl,e2el", "--metric-percentiles", "50,90,99",
                  "--disable-tqdm", "--save-detailed"]
        if self.dataset == "random":
            data = ["--dataset-name", "random", *common[:4], "--random-input-len", str(self.input_len),
                    "--random-output-len", str(self.output_len), "--random-prefix-len", str(self.prefix_len),
                    "--random-range-ratio", "0"]
            return data + common[4:]
        if self.dataset == "prefix_repetition":
            data = ["--dataset-name", "prefix_repetition", *common[:4],
                    "--prefix-repetition-prefix-len", str(self.prefix_len),
                    "--prefix-repetition-suffix-len", str(self.input_len),
                    "--prefix-repetition-num-prefixes", str(self.num_prefixes),
                    "--prefix-repetition-output-len", str(self.output_len)]
            return data + common[4:]
        if dataset_path is None:
            raise ParameterError("dataset_path", None, "the JSONL file of a custom run's prompts")
        return ["--dataset-name", "custom", *common[:4], "--dataset-path", dataset_path,
                "--custom-output-len", str(self.output_len), "--skip-chat-template", "--disable-shuffle",
                *common[4:]]

    def describe(self) -> dict[str, Any]:
        """The run's parameters as a record stores them."""
        total = self.total_prompt_tokens
        shared = shared_tokens(self)
        out = {"seed": self.seed, "num_prompts": self.num_prompts, "input_len": self.input_len,
               "output_len": self.output_len, "prefix_len": self.prefix_len, "prompt_len": self.prompt_len,
               "shared_share": (self.prefix_len / self.prompt_len) if self.dataset != "custom" else shared / total,
               "max_concurrency": self.max_concurrency, "dataset": self.dataset,
               "total_prompt_tok": total, "reusable_tok": shared,
               "cache_bound_128_share": cached_share_bound(self, 128), "cache_bound_16_share": cached_share_bound(self, 16)}
        if self.dataset == "prefix_repetition":
            out["num_prefixes"] = self.num_prefixes
        if self.shape:
            out["shape"] = self.shape
        return {**out, **self.params}


def shared_tokens(spec: RunSpec) -> int:
    """Prompt tokens of a run that a perfect prefix cache could serve (already computed earlier in the run).

    A token is reusable when an earlier prompt of the run began with the same segments up
    to and including it: the first prompt of each group pays for its prefix, the others
    reuse it.

    >>> spec = RunSpec("prefix", "x", 0, 1, 4, 100, 8, prefix_len=900)
    >>> shared_tokens(spec)  # 3 of 4 prompts reuse the 900-token prefix
    2700
    """
    if spec.dataset == "random":
        return (spec.num_prompts - 1) * spec.prefix_len
    if spec.dataset == "prefix_repetition":
        return (spec.num_prompts - spec.num_prefixes) * spec.prefix_len
    seen: set[tuple[str, ...]] = set()
    reusable = 0
    for prompt in spec.prompts:
        path: tuple[str, ...] = ()
        for seg in prompt:
            path = (*path, seg.name)
            if path in seen:
                reusable += seg.tokens
            else:
                seen.add(path)
    return reusable


def cached_share_bound(spec: RunSpec, block_tokens: int = CPU_BLOCK_TOKENS) -> float:
    """The share of a run's prompt tokens a prefix cache of ``block_tokens``-token blocks can serve [1].

    Only whole blocks are cached, and the block holding a prompt's last token is always
    recomputed: each reusable stretch is rounded down to a multiple of the block size.

    >>> spec = RunSpec("prefix", "x", 0, 1, 4, 100, 8, prefix_len=1000)  # 1000 shared -> 896 or 992 cached
    >>> round(cached_share_bound(spec, 128), 4), round(cached_share_bound(spec, 16), 4)
    (0.6109, 0.6764)
    """
    b = check_int("block_tokens", block_tokens, ge=1)
    total = spec.total_prompt_tokens
    if spec.dataset in ("random", "prefix_repetition"):
        per = (spec.prefix_len // b) * b
        sharers = spec.num_prompts - (1 if spec.dataset == "random" else spec.num_prefixes)
        return sharers * per / total
    seen: set[tuple[str, ...]] = set()
    cached = 0
    for prompt in spec.prompts:
        path: tuple[str, ...] = ()
        offset = 0
        reusable_end = 0
        for seg in prompt:
            path = (*path, seg.name)
            offset += seg.tokens
            if path in seen:
                reusable_end = offset
            else:
                seen.add(path)
        length = offset
        cached += min((reusable_end // b) * b, ((length - 1) // b) * b)
    return cached / total


def amdahl_bound_x(cached_share: float) -> float:
    """The most a cache serving ``cached_share`` of the prompt tokens can speed a prefill-only run [x].

    >>> round(amdahl_bound_x(0.9), 9)
    10.0
    """
    s = check_number("cached_share", cached_share, ge=0, le=1)
    return math.inf if s >= 1 else 1 / (1 - s)


# --------------------------------------------------------------------------- prompt plans


def conversation_prompts(conversations: int, turns: int, system_len: int, user_len: int,
                         reply_len: int) -> tuple[tuple[Segment, ...], ...]:
    """Multi-turn chat: turn ``t`` of each conversation resends the system prompt and the whole history.

    Turn-major order (every conversation's turn 1, then every turn 2, ...), the way
    concurrent users interleave. The system prompt is shared by all conversations.

    >>> p = conversation_prompts(2, 2, 10, 3, 4)
    >>> [[s.name for s in q] for q in p]
    [['sys', 'c0u0'], ['sys', 'c1u0'], ['sys', 'c0u0', 'c0a0', 'c0u1'], ['sys', 'c1u0', 'c1a0', 'c1u1']]
    """
    for name, v in (("conversations", conversations), ("turns", turns), ("system_len", system_len),
                    ("user_len", user_len), ("reply_len", reply_len)):
        check_int(name, v, ge=1)
    prompts = []
    for t in range(turns):
        for c in range(conversations):
            segs = [Segment("sys", system_len)]
            for k in range(t):
                segs += [Segment(f"c{c}u{k}", user_len), Segment(f"c{c}a{k}", reply_len)]
            segs.append(Segment(f"c{c}u{t}", user_len))
            prompts.append(tuple(segs))
    return tuple(prompts)


def agent_prompts(agents: int, steps: int, context_len: int, step_len: int) -> tuple[tuple[Segment, ...], ...]:
    """Agent loops: a shared tool context, then each step's observation appended to the trajectory.

    >>> p = agent_prompts(1, 3, 100, 10)
    >>> [sum(s.tokens for s in q) for q in p]
    [110, 120, 130]
    """
    for name, v in (("agents", agents), ("steps", steps), ("context_len", context_len), ("step_len", step_len)):
        check_int(name, v, ge=1)
    prompts = []
    for k in range(steps):
        for a in range(agents):
            prompts.append((Segment("tools", context_len), *(Segment(f"a{a}s{j}", step_len) for j in range(k + 1))))
    return tuple(prompts)


# --------------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class Plan:
    """The sizes of every workload and the protocol of a recording (defaults: ``make live`` here).

    Parameters
    ----------
    reps : int
        Repetitions of every comparison (pairs); at least the protocol's minimum for a
        verdict.
    model : str
        The served model, a folder of ``data/engines/``.
    kv_cache_tokens : int
        The KV cache each vLLM server gets [tokens]: bounded, so that prefix groups compete
        for it (``--num-gpu-blocks-override``).
    throughput_concurrency : tuple[int, ...]
        The concurrency sweep of the throughput workload [requests].
    compare_concurrency : tuple[int, ...]
        Concurrencies of the engine comparison [requests].
    compare_shapes : tuple[str, ...]
        Workloads of the engine comparison: ``chat`` (random prompts) and C10 shapes.
    requests_per_slot : int
        Requests per throughput or comparison run = this x the concurrency (at least the
        protocol's ``min_requests``).
    shapes : tuple[str, ...]
        The C10 shapes recorded.
    """

    reps: int = 5
    model: str = "small-llama"
    kv_cache_tokens: int = 32_768
    max_model_len: int = 16_384
    throughput_concurrency: tuple[int, ...] = (1, 4, 8)
    throughput_input_len: int = 512
    throughput_output_len: int = 64
    requests_per_slot: int = 4
    shapes: tuple[str, ...] = SHAPES
    prefix_output_len: int = 16
    prefix_concurrency: int = 8
    few_shot_prefix_len: int = 3_072
    few_shot_unique_len: int = 128
    few_shot_prompts: int = 32
    chat_conversations: int = 8
    chat_turns: int = 4
    chat_system_len: int = 512
    chat_user_len: int = 128
    chat_reply_len: int = 128
    agent_count: int = 4
    agent_steps: int = 6
    agent_context_len: int = 2_048
    agent_step_len: int = 192
    groups_count: int = 16
    groups_prompts_each: int = 2
    groups_prefix_len: int = 2_048
    groups_suffix_len: int = 128
    long_prompt_len: int = 4_096
    long_num_prompts: int = 6
    long_output_len: int = 16
    compare_concurrency: tuple[int, ...] = (1, 4, 8)
    compare_shapes: tuple[str, ...] = ("chat", "few-shot")
    compare_input_len: int = 512
    compare_output_len: int = 32
    protocol: Protocol = PROTOCOL
    # Earlier plans' fields, kept so that old scripts still build: not used by the v2 workloads.
    prefix_configs: tuple[tuple[int, float], ...] = ()
    prefix_num_prompts: int = 32
    prefix_unique: bool = False
    long_prompt_lens: tuple[int, ...] = ()
    long_prompt_lens_no_caching: tuple[int, ...] = ()
    throughput_prompts_per_slot: int = 0

    def __post_init__(self) -> None:
        check_int("reps", self.reps, ge=1)
        check_int("kv_cache_tokens", self.kv_cache_tokens, ge=CPU_BLOCK_TOKENS)
        for c in (*self.throughput_concurrency, *self.compare_concurrency):
            check_int("concurrency", c, ge=1)
        for s in self.shapes:
            check_choice("shapes", s, SHAPES)
        for s in self.compare_shapes:
            check_choice("compare_shapes", s, ("chat", *SHAPES))
        if self.max_prompt_len + 64 > self.max_model_len:
            raise ParameterError("max_model_len", self.max_model_len, f"at least {self.max_prompt_len + 64} tokens")

    @property
    def kv_cache_blocks(self) -> int:
        """The KV cache of each vLLM server in 128-token blocks (``--num-gpu-blocks-override``)."""
        return self.kv_cache_tokens // CPU_BLOCK_TOKENS

    @property
    def max_prompt_len(self) -> int:
        """The longest prompt of the plan [tokens]."""
        chat = self.chat_system_len + self.chat_turns * (self.chat_user_len + self.chat_reply_len)
        agent = self.agent_context_len + self.agent_steps * self.agent_step_len
        return max(self.long_prompt_len, self.few_shot_prefix_len + self.few_shot_unique_len, chat, agent,
                   self.groups_prefix_len + self.groups_suffix_len, self.throughput_input_len, self.compare_input_len)

    def _slots(self, concurrency: int) -> int:
        return max(self.protocol.min_requests, self.requests_per_slot * concurrency)

    def shape_spec(self, shape: str, variant: str, rep: int, seed: int, concurrency: int | None = None,
                   caching: bool | None = None, workload: str = "prefix", engine: str | None = None) -> RunSpec:
        """One run of a C10 shape (or ``chat``: random prompts) with the given labels."""
        c = concurrency or self.prefix_concurrency
        common: dict[str, Any] = dict(workload=workload, variant=variant, rep=rep, seed=seed, max_concurrency=c,
                                      prefix_caching=caching, shape=shape, engine=engine,
                                      params={"config": shape, "concurrency": c})
        out = self.prefix_output_len
        if shape == "chat":
            n = self._slots(c)
            return RunSpec(num_prompts=n, input_len=self.compare_input_len, output_len=self.compare_output_len, **common)
        if shape == "few-shot":
            return RunSpec(num_prompts=self.few_shot_prompts, input_len=self.few_shot_unique_len, output_len=out,
                           prefix_len=self.few_shot_prefix_len, **common)
        if shape == "prefix-groups":
            return RunSpec(num_prompts=self.groups_count * self.groups_prompts_each, input_len=self.groups_suffix_len,
                           output_len=out, prefix_len=self.groups_prefix_len, dataset="prefix_repetition",
                           num_prefixes=self.groups_count, **common)
        if shape == "multi-turn":
            prompts = conversation_prompts(self.chat_conversations, self.chat_turns, self.chat_system_len,
                                           self.chat_user_len, self.chat_reply_len)
        elif shape == "agent":
            prompts = agent_prompts(self.agent_count, self.agent_steps, self.agent_context_len, self.agent_step_len)
        else:
            raise ParameterError("shape", shape, f"one of {('chat', *SHAPES)}")
        return RunSpec(num_prompts=len(prompts), input_len=1, output_len=out, dataset="custom", prompts=prompts,
                       **common)

    # -- the workloads, one list per server setting -------------------------------------------

    def throughput(self) -> list[RunSpec]:
        """The concurrency sweep on vLLM (any server)."""
        return [
            RunSpec("throughput", f"concurrency-{c}", rep, seed=1000 + 100 * rep + i,
                    num_prompts=self._slots(c), input_len=self.throughput_input_len,
                    output_len=self.throughput_output_len, max_concurrency=c, params={"concurrency": c})
            for rep in range(self.reps) for i, c in enumerate(self.throughput_concurrency)
        ]

    def prefix(self, caching: bool) -> list[RunSpec]:
        """The C10 shapes for a server with caching on or off (same seeds: same prompts on both)."""
        return [self.shape_spec(shape, "caching-on" if caching else "caching-off", rep,
                                seed=2000 + 100 * rep + 10 * i, caching=caching)
                for rep in range(self.reps) for i, shape in enumerate(self.shapes)]

    def long_prompt(self, caching: bool) -> list[RunSpec]:
        """TGI's long scenario in shape: the same long prompts twice, ``first`` then ``repeat``."""
        specs = []
        for rep in range(self.reps):
            seed = 3000 + 100 * rep
            for variant in ("first", "repeat"):
                specs.append(RunSpec("long_prompt", variant, rep, seed, num_prompts=self.long_num_prompts,
                                     input_len=self.long_prompt_len, output_len=self.long_output_len,
                                     max_concurrency=self.long_num_prompts, prefix_caching=caching,
                                     params={"caching": caching, "config": "tgi-long"}))
        return specs

    def compare(self, engine: str) -> list[RunSpec]:
        """The engine comparison's runs on ``engine`` (same seeds on every engine)."""
        return [self.shape_spec(shape, f"{shape}-c{c}", rep, seed=4000 + 100 * rep + 10 * i + j, concurrency=c,
                                workload="compare", engine=engine)
                for rep in range(self.reps) for i, shape in enumerate(self.compare_shapes)
                for j, c in enumerate(self.compare_concurrency)]

    def warmup(self, caching: bool | None = None, engine: str | None = None) -> RunSpec:
        """The unrecorded warm-up of a server: unique prompts as long as the plan's longest.

        It compiles and allocates what the first measured run would otherwise pay for; its
        prompts share nothing with the measured ones (another seed, no prefix).
        """
        return RunSpec("throughput", "warmup", 0, seed=999, num_prompts=4, input_len=self.max_prompt_len,
                       output_len=8, max_concurrency=4, prefix_caching=caching, engine=engine, warmup=True)

    def sized(self, requests_x: float = 1.0, lengths_x: float = 1.0, max_concurrency: int | None = None) -> Plan:
        """The plan with request counts and prompt lengths scaled (a GPU wants both larger).

        >>> Plan().sized(requests_x=2).few_shot_prompts
        64
        """
        rx = check_number("requests_x", requests_x, gt=0, le=1000)
        lx = check_number("lengths_x", lengths_x, gt=0, le=64)

        def n(v: int, x: float) -> int:
            return max(1, round(v * x))

        conc = tuple(sorted({min(c, max_concurrency) if max_concurrency else c for c in self.compare_concurrency}))
        plan = replace(
            self, few_shot_prompts=n(self.few_shot_prompts, rx), chat_conversations=n(self.chat_conversations, rx),
            agent_count=n(self.agent_count, rx), groups_count=n(self.groups_count, rx),
            long_num_prompts=n(self.long_num_prompts, rx), requests_per_slot=n(self.requests_per_slot, rx),
            few_shot_prefix_len=n(self.few_shot_prefix_len, lx), few_shot_unique_len=n(self.few_shot_unique_len, lx),
            chat_system_len=n(self.chat_system_len, lx), chat_user_len=n(self.chat_user_len, lx),
            chat_reply_len=n(self.chat_reply_len, lx), agent_context_len=n(self.agent_context_len, lx),
            agent_step_len=n(self.agent_step_len, lx), groups_prefix_len=n(self.groups_prefix_len, lx),
            groups_suffix_len=n(self.groups_suffix_len, lx), long_prompt_len=n(self.long_prompt_len, lx),
            throughput_input_len=n(self.throughput_input_len, lx), compare_input_len=n(self.compare_input_len, lx),
            kv_cache_tokens=n(self.kv_cache_tokens, rx * lx), max_model_len=max(self.max_model_len, n(self.max_model_len, lx)),
            compare_concurrency=conc,
        )
        return plan


def order_pairs(first: list[RunSpec], second: list[RunSpec]) -> list[RunSpec]:
    """Pairs of twin runs back to back, the order within each pair alternating by repetition.

    ``first`` and ``second`` hold the same runs for the two conditions (same workload,
    shape or variant, repetition, seed). Repetition 0 runs ``first``'s run first,
    repetition 1 ``second``'s, and so on (:func:`selfhost.stats.alternate`). A run
    without a twin runs where it stands.

    >>> p = Plan(reps=2, shapes=("few-shot",))
    >>> [(s.variant, s.rep) for s in order_pairs(p.prefix(True), p.prefix(False))]
    [('caching-on', 0), ('caching-off', 0), ('caching-off', 1), ('caching-on', 1)]
    """
    twins = {twin_key(s): s for s in second}
    out: list[RunSpec] = []
    for spec in first:
        twin = twins.pop(twin_key(spec), None)
        if twin is None:
            out.append(spec)
        elif alternate(spec.rep):
            out += [spec, twin]
        else:
            out += [twin, spec]
    return out + [s for s in second if twin_key(s) in twins]


def twin_key(spec: RunSpec) -> tuple:
    """What two twin runs share: workload, repetition, seed, and the variant where it names the prompts."""
    variant = spec.variant if spec.workload in ("long_prompt", "compare") else ""
    return (spec.workload, spec.rep, spec.seed, variant, spec.shape)


def long_prompt_order(on: list[RunSpec], off: list[RunSpec]) -> list[RunSpec]:
    """The long-prompt runs: each server's first+repeat pair kept together, servers alternating by repetition.

    >>> p = Plan(reps=2)
    >>> [(s.prefix_caching, s.variant, s.rep) for s in long_prompt_order(p.long_prompt(True), p.long_prompt(False))][:4]
    [(True, 'first', 0), (True, 'repeat', 0), (False, 'first', 0), (False, 'repeat', 0)]
    """
    reps = sorted({s.rep for s in (*on, *off)})
    out: list[RunSpec] = []
    for rep in reps:
        a = [s for s in on if s.rep == rep]
        b = [s for s in off if s.rep == rep]
        out += (a + b) if alternate(rep) else (b + a)
    return out


#: A short plan for the live tests and ``selfhost live --quick`` (every workload, 2 repetitions, small sizes).
TEST_PLAN = Plan(
    reps=2, model="tiny-llama", kv_cache_tokens=32_768, max_model_len=8_192, throughput_concurrency=(4,),
    throughput_input_len=256, throughput_output_len=16, requests_per_slot=2, shapes=("few-shot", "multi-turn"),
    few_shot_prefix_len=1_920, few_shot_unique_len=128, few_shot_prompts=16, chat_conversations=4, chat_turns=3,
    chat_system_len=256, chat_user_len=64, chat_reply_len=64, long_prompt_len=2_048, long_num_prompts=4,
    compare_concurrency=(1, 4), compare_shapes=("chat",), compare_input_len=256, compare_output_len=16,
    protocol=replace(PROTOCOL, min_pairs=2, min_requests=8),
)


# --------------------------------------------------------------------------- records, typed


@dataclass(frozen=True)
class RequestResult:
    """One request of a run, as the client saw it (schema 2 records)."""

    ok: bool
    prompt_tokens: int
    output_tokens: int
    ttft_ms: float | None
    e2el_ms: float | None
    error: str | None = None


@dataclass(frozen=True)
class RunRecord:
    """A run record (``data/runs/<workload>/*.json``) as a typed object.

    Built from the JSON by :meth:`from_json` (schema 1 or 2; fields a schema-1 record
    lacks are None or empty); :attr:`raw` keeps the JSON itself.
    """

    schema_version: int
    run_id: str
    session_id: str
    recording: str
    status: str
    error: str | None
    failure: str | None
    started_at: dt.datetime
    ended_at: dt.datetime
    engine: str
    engine_version: str
    launched: bool
    prefix_caching: bool | None
    hardware: str
    hardware_kind: str
    model: str
    workload: str
    variant: str
    rep: int
    params: Mapping[str, Any]
    results: Mapping[str, Any]
    deltas: Mapping[str, float]
    gauge_maxima: Mapping[str, float]
    scrapes_count: int
    load_avg_1m: float | None
    load_avg_1m_before: float | None
    cpu_busy_share_before: float | None
    busy: bool
    warmed_up: bool
    order: int | None
    requests: tuple[RequestResult, ...]
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @property
    def ok(self) -> bool:
        """Whether the run counts as evidence: it completed, and the machine was not busy."""
        return self.status == "ok"

    @classmethod
    def from_json(cls, r: Mapping[str, Any]) -> RunRecord:
        w, e, hw, m = r["workload"], r["engine"], r["hardware"], r["metrics"]
        proto = r.get("protocol") or {}
        reqs = tuple(RequestResult(bool(q["ok"]), int(q.get("prompt_tokens") or 0), int(q.get("output_tokens") or 0),
                                   q.get("ttft_ms"), q.get("e2el_ms"), q.get("error")) for q in r.get("requests") or ())
        version = int(r["schema_version"])
        started = dt.datetime.fromisoformat(r["started_at"])
        recording = r.get("recording_id") or f"{started.date().isoformat()} (schema 1)"
        return cls(
            schema_version=version, run_id=r["run_id"], session_id=r["session_id"], recording=recording,
            status=r["status"], error=r.get("error"), failure=r.get("failure"), started_at=started,
            ended_at=dt.datetime.fromisoformat(r["ended_at"]), engine=e["name"], engine_version=e["version"],
            launched=bool(e["launched"]), prefix_caching=e.get("prefix_caching"), hardware=hw["description"],
            hardware_kind=hw["kind"], model=(r.get("model") or {}).get("name", ""), workload=w["name"],
            variant=w["variant"], rep=int(w.get("rep", 0)), params=w["params"], results=r["results"],
            deltas=m["deltas"], gauge_maxima=m["gauge_maxima"], scrapes_count=int(m["scrapes_count"]),
            load_avg_1m=hw.get("load_avg_1m"), load_avg_1m_before=proto.get("load_avg_1m_before"),
            cpu_busy_share_before=proto.get("cpu_busy_share_before"),
            busy=bool(proto.get("busy", False)), warmed_up=bool(proto.get("warmed_up", False)),
            order=proto.get("order"), requests=reqs, raw=r,
        )
