"""The book's one parameter vocabulary: every notebook parameter's name, type and meaning.

A name means the same thing on every page that has it (``gpu`` is always the GPU the
deployment rents, a name in ``data/gpus.csv``); ``selfhost params`` prints this list with
the pages that use each name, and ``tests/book/test_vocabulary.py`` checks that every
notebook's parameters cell declares only names listed here, with the type listed here.
A new parameter is added here first.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Term:
    """One parameter name: its type (as papermill infers it from the annotation) and what it means, with its unit."""

    type: str
    meaning: str


VOCABULARY: dict[str, Term] = {
    'profile': Term('dict', 'your deployment profile: model, traffic, latency, availability, gpus, prices, ops cost, APIs (README, "Your deployment"); empty: the article\'s scenario'),
    'alternatives': Term('list', 'other deployments, "GPU:precision[:GPUs]"'),
    'api_high_ms': Term('float', "the article's acceptable API TTFT, high end [ms]"),
    'api_input_usd_per_mtok': Term('float', "the API's input price; default Claude Sonnet 4.x [USD/Mtok]"),
    'api_low_ms': Term('float', "the article's acceptable API TTFT, low end [ms]"),
    'api_outages_per_year': Term('float', 'how often the primary API fails (assumption) [1/year]'),
    'api_output_usd_per_mtok': Term('float', "the API's output price; default Claude Sonnet 4.x [USD/Mtok]"),
    'api_spend_usd_per_month': Term('float', "the team's spend on inference APIs [USD/month]"),
    'api_target': Term('float', "the article's uptime for APIs with failover, 99.9% [1]"),
    'article_deployment': Term('str', "the article's deployment (one of deployments)"),
    'article_frontier_high_usd_per_mtok': Term('float', "high end of the article's frontier price range [USD/Mtok]"),
    'article_frontier_low_usd_per_mtok': Term('float', "low end of the article's frontier price range [USD/Mtok]"),
    'article_hosted_high_usd_per_mtok': Term('float', "high end of the article's hosted open-model price range [USD/Mtok]"),
    'article_hosted_low_usd_per_mtok': Term('float', "low end of the article's hosted open-model price range [USD/Mtok]"),
    'article_overhead_gb': Term('float', "the article's CUDA overhead [GB]"),
    'article_ratio_x': Term('float', 'the article\'s "10x difference in the crossover point" (C04) [1]'),
    'bandwidth_efficiency_share': Term('float', 'share of peak bandwidth decode reaches; 0: calibrated per GPU generation on data/published_serving.csv [1]'),
    'bound_requests': Term('int', 'requests sharing one prefix, for the bound curve [requests]'),
    'breakdown_cases': Term('list', '"model:precision" entries of the memory-breakdown chart'),
    'breakdown_gpu': Term('str', 'GPU of the memory-breakdown chart (a name in data/gpus.csv)'),
    'busy_batch': Term('int', 'sequences decoded per step on a busy server [1]'),
    'busy_coverage': Term('float', 'a busy step "reads nearly all" experts above this share [1]'),
    'c07_min_sequences': Term('float', 'C07 counts a precision as fitting if this many sequences fit [1]'),
    'challenger': Term('str', 'the engine the claim says is faster'),
    'claim_model': Term('str', 'the model the claim names (a name in data/models/)'),
    'claim_ratio_x': Term('float', 'the article\'s "29% faster", as challenger / engine throughput [x]'),
    'claim_tolerance_x': Term('float', 'a setup shows the claim when its ratio is at least claim - tolerance [x]'),
    'claim_low_x': Term('float', 'the low end of the claim\'s own range: the paper\'s first version said "up to 5x" [x]'),
    'claim_x': Term('float', 'the article\'s (and the paper\'s "up to") speedup [x]'),
    'claimed_active_params': Term('float', "the article's active parameters [1]"),
    'claimed_total_params': Term('float', "the article's loaded parameters [1]"),
    'compute_efficiency_share': Term('float', 'share of peak FLOP/s prefill reaches; 0: calibrated per GPU generation on data/published_serving.csv [1]'),
    'conditional_share': Term('float', 'below this share C13 does not hold [1]'),
    'consistency_factor': Term('float', 'the gate agrees with the break-even when within this factor of it [1]'),
    'context_tokens': Term('int', 'max_model_len of the fit table, as on the GPU memory page [tok]'),
    'count_tolerance_share': Term('float', 'counts must match the claim within this fraction [1]'),
    'cpu_gap_target_share': Term('float', 'target: predicted vs measured CPU decode throughput within this share [1]'),
    'cpu_threads': Term('int', "cores vLLM's CPU build computes on here (it reserves the other for its front end) [1]"),
    'custom_model': Term('bool', 'serves a fine-tuned or custom model that no API offers'),
    'dense_peer': Term('str', 'a dense model of similar memory to set beside it'),
    'deployments': Term('list', '"model:GPU:precision[:GPUs]" entries'),
    'engine': Term('str', 'the engine whose recorded runs this page shows'),
    'engineer_fte': Term('float', 'engineer time on the deployment, full-time equivalents (assumption) [1]'),
    'engineer_usd_per_year': Term('float', 'fully loaded cost of one engineer (assumption) [USD/year]'),
    'failover_s': Term('float', 'health-check detection plus re-routing [s]'),
    'frontier_api': Term('str', 'the frontier API to compare with, a key of data/api_prices.csv (provider/model)'),
    'frontier_breakeven_tok_per_day': Term('float', "the article's break-even against frontier APIs (C02) [tok/day]"),
    'frontier_threshold_usd_per_month': Term('float', "C06: the article's frontier spend threshold [USD/month]"),
    'gpu': Term('str', 'the GPU the deployment rents (a name or key in data/gpus.csv)'),
    'gpu_count': Term('int', 'GPUs rented around the clock [1]'),
    'gpu_experience': Term('bool', 'the team already runs GPU infrastructure'),
    'gpu_memory_utilization': Term('float', "fraction of each GPU vLLM may use; vLLM 0.32.0's default [1]"),
    'gpu_usd_per_hour': Term('float', 'rental price of one GPU, to price the replicas [USD/h]'),
    'holds_share': Term('float', "C13 holds if the formula names vLLM's GPU count in this share of deciding cases [1]"),
    'hosted_api': Term('str', 'the hosted open-model API to compare with, a key of data/api_prices.csv (provider/model)'),
    'hosted_breakeven_tok_per_day': Term('float', "the article's break-even against hosted open-model APIs (C03) [tok/day]"),
    'hosted_model_match': Term('str', 'C03/C04 compare hosted APIs whose model contains this ("the same Llama 3.3 70B")'),
    'hosted_threshold_usd_per_month': Term('float', "C06: the article's hosted open-model spend threshold [USD/month]"),
    'include_legacy': Term('bool', 'also judge against superseded models still listed [bool]'),
    'input_share': Term('float', "input tokens as a share of all tokens; the article's 70/30 split [1]"),
    'kv_cache_dtype': Term('str', 'KV cache precision: by-gpu (fp8 where the GPU has FP8 tensor cores, else 16-bit), auto or fp8'),
    'loads': Term('list', 'shares of time the device spends on prompts (queueing) [1]'),
    'max_batch': Term('int', 'largest batch in the coverage chart [1]'),
    'max_detection_s': Term('float', "an alert on the article's four signals must fire this soon after the overload began [s]"),
    'max_end_load_avg': Term('float', 'a CPU run whose 1-minute load average at its end exceeds this was disturbed by other work (the engine alone makes about 2) [1]'),
    'max_replicas': Term('int', 'largest deployment searched [1]'),
    'max_tp': Term('int', 'most GPUs tried for one model (tensor parallelism) [1]'),
    'max_zones': Term('int', 'most zones searched [1]'),
    'min_2xx_share': Term('float', 'share of HTTP answers that must be 2xx for the failure to count as silent [1]'),
    'min_advantage_x': Term('float', 'a first-run advantage over vLLM this large would make TGI "best" [x]'),
    'model': Term('str', 'the self-hosted model (a name in data/models/)'),
    'monitoring_usd_per_month': Term('float', 'monitoring, logging, alerting (assumption) [USD/month]'),
    'most_share': Term('float', 'C05: "most" means at least this share of current APIs [1]'),
    'ops_usd_per_month': Term('float', 'operating cost (engineer time, monitoring); the article counts none [USD/month]'),
    'prompt_tokens': Term('int', 'prompt tokens per request; the output follows from input_share [tok]'),
    'regulated_data': Term('bool', 'regulated data or a privacy mandate rules out third-party APIs'),
    'replica_availability': Term('float', 'one GPU server; 0 means the single-instance SLA in data/availability.csv [1]'),
    'replica_failures_per_year': Term('float', 'how often a replica fails (assumption) [1/year]'),
    'required_hardware': Term('str', 'the hardware the claim names, comma-separated'),
    'run_id': Term('str', 'the overload run to read; empty for the latest'),
    'runs_dir': Term('str', 'folder of recorded runs; empty for data/runs'),
    'second_engine': Term('str', 'the second real engine run on this machine, compared with vLLM'),
    'selfhost_target': Term('float', "the article's self-hosted uptime, 99.99% [1]"),
    'slo_tpot_ms': Term('float', 'latency target on mean time per output token [ms]'),
    'slo_ttft_ms': Term('float', 'latency target on mean time to first token [ms]'),
    'spend_gate_usd_per_month': Term('float', "gate 2, the article's spend threshold [USD/month]"),
    'tco_volume_tok_per_day': Term('float', 'C05: the volume below which "APIs win" [tok/day]'),
    'tolerance_x': Term('float', 'a figure counts as "around" the article\'s when within this factor of it [1]'),
    'ttft_gate_ms': Term('float', "gate 3, the article's TTFT threshold [ms]"),
    'ttft_target_ms': Term('float', 'time to first token the product must meet consistently [ms]'),
    'verdict_busy_share': Term('float', 'the load (share of time the device spends on prompts) at which a TTFT target held "consistently", the p99, is judged [1]'),
    'volume_max_tok_per_day': Term('float', 'right end of the cost chart [tok/day]'),
    'volume_min_tok_per_day': Term('float', 'left end of the cost chart [tok/day]'),
    'window_s': Term('int', 'the window a peak-to-mean is counted over, a whole number of seconds [s]'),
    'zone_availability': Term('float', 'one zone or data centre (assumption) [1]'),
}
