"""The live workloads, each tied to a claim, as arguments for vLLM's benchmark client (pure).

Every workload uses the client's offline ``random`` dataset (``vllm.benchmarks.serve``,
``--dataset-name random``): prompts of random tokens of a set length, with an optional
shared prefix (``--random-prefix-len``) before each request's own tokens. A run is one
client invocation; :class:`RunSpec` holds its arguments and the labels the analyses
group by (workload, variant, repetition).

- ``throughput`` (C08, C09): random prompts over a sweep of concurrency.
- ``prefix`` (C10): a shared prefix of some length and share of the prompt; the same
  prompts are sent to a server with prefix caching on and one with it off (variants
  ``caching-on``/``caching-off``), and, on the caching server, prompts of the same length
  with nothing shared (``unique``).
- ``long_prompt`` (C11): a set of long prompts sent twice (``first``, then ``repeat``),
  on servers with prefix caching on and off; vLLM's V1 engine prefills them in chunks.

The prompt and output lengths are those of GPU benchmarks (1024 in / 256 out; long prompts
of 8K-32K tokens) because the model is tiny; the request counts are scaled down so that
the whole set runs on a 2-core CPU in minutes; :data:`SCALED_NOTE` says so in every record.

References
----------
vLLM 0.32.0, ``vllm/benchmarks/serve.py`` and ``vllm/benchmarks/datasets/datasets.py``
(``RandomDataset``: the prefix is drawn once per seed and shared by every request).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from selfhost.params import check_int, check_number

SCALED_NOTE = (
    "sized for a 2-core CPU serving a 2-layer, 256-hidden Llama with dummy weights: prompt and output "
    "lengths as on a GPU (1024 in / 256 out; long prompts 8K-32K tokens), but few requests per run "
    "(2 per concurrency slot; 32 per prefix run; 2 per long-prompt run) and concurrency at most 32"
)


@dataclass(frozen=True)
class RunSpec:
    """One benchmark-client run: its labels and its dataset/traffic arguments.

    ``prefix_caching`` is the server setting the run needs (None: any server).
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

    def __post_init__(self) -> None:
        check_int("rep", self.rep, ge=0)
        check_int("num_prompts", self.num_prompts, ge=1)
        check_int("input_len", self.input_len, ge=1)
        check_int("output_len", self.output_len, ge=1)
        check_int("prefix_len", self.prefix_len, ge=0)
        check_int("max_concurrency", self.max_concurrency, ge=1)

    @property
    def prompt_len(self) -> int:
        """Tokens per prompt: the shared prefix plus the request's own tokens."""
        return self.prefix_len + self.input_len

    def client_args(self) -> list[str]:
        """Dataset and traffic arguments for ``vllm.benchmarks.serve`` (no server or model).

        >>> RunSpec("throughput", "c4", 0, 1, 8, 256, 64, max_concurrency=4).client_args()[:6]
        ['--dataset-name', 'random', '--seed', '1', '--num-prompts', '8']
        """
        return [
            "--dataset-name", "random", "--seed", str(self.seed), "--num-prompts", str(self.num_prompts),
            "--random-input-len", str(self.input_len), "--random-output-len", str(self.output_len),
            "--random-prefix-len", str(self.prefix_len), "--random-range-ratio", "0",
            "--max-concurrency", str(self.max_concurrency), "--request-rate", "inf",
            "--ignore-eos", "--temperature", "0",
            "--percentile-metrics", "ttft,tpot,itl,e2el", "--metric-percentiles", "50,90,99",
            "--disable-tqdm",
        ]

    def describe(self) -> dict[str, Any]:
        return {"seed": self.seed, "num_prompts": self.num_prompts, "input_len": self.input_len,
                "output_len": self.output_len, "prefix_len": self.prefix_len, "prompt_len": self.prompt_len,
                "shared_share": self.prefix_len / self.prompt_len, "max_concurrency": self.max_concurrency,
                "dataset": "random", **self.params}


@dataclass(frozen=True)
class Plan:
    """The sizes of the three workloads (defaults: ``make live`` on this 2-core CPU).

    Parameters
    ----------
    reps : int
        Repetitions of every measured configuration (speedups are reported with their
        spread over them).
    throughput_concurrency : tuple[int, ...]
        The concurrency sweep [requests].
    throughput_input_len, throughput_output_len : int
        Prompt and output length of the throughput workload [tokens].
    throughput_prompts_per_slot : int
        Requests per run = this x the concurrency.
    prefix_configs : tuple[tuple[int, float], ...]
        The prefix workload's (total prompt length [tokens], share of it that is a
        shared prefix [1]) pairs.
    prefix_output_len, prefix_num_prompts, prefix_concurrency : int
        Output length [tokens], requests per run, concurrency [requests].
    prefix_unique : bool
        Also run prompts of the same length with nothing shared on the caching server
        (the live test's control, since it starts one server only).
    long_prompt_lens : tuple[int, ...]
        Long prompt lengths [tokens] on the server with prefix caching.
    long_prompt_lens_no_caching : tuple[int, ...]
        Long prompt lengths [tokens] on the server without it (the control).
    long_num_prompts, long_output_len : int
        Requests per run (sent one at a time) and output length [tokens].
    """

    reps: int = 3
    throughput_concurrency: tuple[int, ...] = (1, 4, 16, 32)
    throughput_input_len: int = 1024
    throughput_output_len: int = 256
    throughput_prompts_per_slot: int = 2
    prefix_configs: tuple[tuple[int, float], ...] = ((1024, 0.95), (4096, 0.5), (4096, 0.8), (4096, 0.95), (8192, 0.99))
    prefix_output_len: int = 16
    prefix_num_prompts: int = 32
    prefix_concurrency: int = 8
    prefix_unique: bool = False
    long_prompt_lens: tuple[int, ...] = (8000, 16000, 32000)
    long_prompt_lens_no_caching: tuple[int, ...] = (16000,)
    long_num_prompts: int = 2
    long_output_len: int = 16

    def __post_init__(self) -> None:
        check_int("reps", self.reps, ge=1)
        for c in self.throughput_concurrency:
            check_int("throughput_concurrency", c, ge=1)
        for total, share in self.prefix_configs:
            check_int("prefix prompt length", total, ge=16)
            check_number("prefix share", share, gt=0, lt=1)
        for n in (*self.long_prompt_lens, *self.long_prompt_lens_no_caching):
            check_int("long prompt length", n, ge=16)

    @property
    def max_prompt_len(self) -> int:
        """The longest prompt of the plan [tokens]."""
        return max([*self.long_prompt_lens, *self.long_prompt_lens_no_caching,
                    *(total for total, _ in self.prefix_configs), self.throughput_input_len])

    def throughput(self) -> list[RunSpec]:
        return [
            RunSpec("throughput", f"concurrency-{c}", rep, seed=1000 + 100 * rep + i,
                    num_prompts=c * self.throughput_prompts_per_slot, input_len=self.throughput_input_len,
                    output_len=self.throughput_output_len, max_concurrency=c, params={"concurrency": c})
            for rep in range(self.reps) for i, c in enumerate(self.throughput_concurrency)
        ]

    def prefix(self, caching: bool) -> list[RunSpec]:
        """The prefix runs for a server with caching on (shared + unique) or off (shared)."""
        specs = []
        for rep in range(self.reps):
            for total, share in self.prefix_configs:
                prefix_len = round(total * share)
                seed = 2000 + 100 * rep + total // 16 + round(share * 10)
                common = dict(num_prompts=self.prefix_num_prompts, output_len=self.prefix_output_len,
                              max_concurrency=self.prefix_concurrency)
                label = {"config": f"{total}-tok-{share:.2f}-shared", "target_share": share}
                variant = "caching-on" if caching else "caching-off"
                specs.append(RunSpec("prefix", variant, rep, seed, input_len=total - prefix_len,
                                     prefix_len=prefix_len, prefix_caching=caching, params=label, **common))
                if caching and self.prefix_unique:
                    specs.append(RunSpec("prefix", "unique", rep, seed + 50_000, input_len=total, prefix_len=0,
                                         prefix_caching=True, params=label, **common))
        return specs

    def long_prompt(self, caching: bool) -> list[RunSpec]:
        """Each set of long prompts twice: ``first`` then ``repeat`` (same seed, same prompts)."""
        specs = []
        for rep in range(self.reps):
            for n in self.long_prompt_lens if caching else self.long_prompt_lens_no_caching:
                seed = 3000 + 100 * rep + n // 1024
                for variant in ("first", "repeat"):
                    specs.append(RunSpec("long_prompt", variant, rep, seed, num_prompts=self.long_num_prompts,
                                         input_len=n, output_len=self.long_output_len, max_concurrency=1,
                                         prefix_caching=caching, params={"caching": caching}))
        return specs


#: A short plan for the live test (one server, caching on; 3 repetitions of the prefix pair).
TEST_PLAN = Plan(
    reps=3, throughput_concurrency=(4,), throughput_input_len=256, throughput_output_len=32,
    prefix_configs=((2048, 0.9),), prefix_num_prompts=16, prefix_concurrency=4, prefix_unique=True,
    long_prompt_lens=(8000,), long_prompt_lens_no_caching=(8000,), long_num_prompts=1,
)
