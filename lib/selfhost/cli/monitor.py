"""``selfhost monitor``: Prometheus rules from a latency target, and the overload run (C14).

- ``selfhost monitor rules --ttft-slo-ms 800 [--out FILE]``: the recording and alert rules
  for that target (stdout, or a new file; ``--force`` replaces one).
- ``selfhost monitor overload``: launch vLLM (CPU) here, or attach with ``--url``, push it
  past capacity while Prometheus scrapes it, and record the run in data/runs/overload/
  (``make overload``). An attached server's API key comes from ``$OPENAI_API_KEY`` only.
- ``selfhost monitor watch --url URL``: Prometheus with the rules against your server,
  printing alerts as they change, until Ctrl-C.
"""

from __future__ import annotations

import argparse
import dataclasses
import signal
import sys
import time
from pathlib import Path

from selfhost import alertrules, paths
from selfhost.errors import SelfhostError


def _on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds the context managers: engine and Prometheus are stopped


def _policy(args: argparse.Namespace) -> alertrules.AlertPolicy:
    return alertrules.AlertPolicy(ttft_slo_ms=args.ttft_slo_ms, ttft_quantile=args.ttft_quantile,
                                  kv_cache_usage_max=args.kv_cache_usage_max, error_ratio_max=args.error_ratio_max,
                                  rate_window_s=args.rate_window_s, for_s=args.for_s, job=args.job)


def _rules(args: argparse.Namespace) -> int:
    text = alertrules.rules_yaml(_policy(args))
    if not args.out:
        sys.stdout.write(text)
        return 0
    out = Path(args.out)
    if out.exists() and not args.force:
        raise SelfhostError(f"{out} exists; pass --force to replace it")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    from selfhost.live import prometheus

    try:
        check = prometheus.promtool_check_rules(out)
        print(f"wrote {out} ({'promtool: ok' if check.returncode == 0 else 'promtool: ' + check.stdout + check.stderr})")
        return 0 if check.returncode == 0 else 1
    except prometheus.PrometheusMissing:
        print(f"wrote {out} (promtool not installed: not checked)")
        return 0


def _overload(args: argparse.Namespace) -> int:
    from selfhost.live import overload

    signal.signal(signal.SIGTERM, _on_sigterm)
    plan = overload.QUICK_PLAN if args.quick else overload.OverloadPlan()
    changes = {k: v for k, v in {"baseline_rate_req_per_s": args.baseline_rate, "baseline_s": args.baseline_s,
                                 "overload_rate_req_per_s": args.overload_rate, "overload_s": args.overload_s,
                                 "kv_blocks": args.kv_blocks}.items() if v is not None}
    plan = dataclasses.replace(plan, **changes)
    policy = _policy(args)
    runs_dir = Path(args.runs_dir)
    t0 = time.monotonic()
    if args.url:
        path, record = overload.record_attached_overload(
            args.url, args.engine, runs_dir, plan, policy, model=args.model, tokenizer=args.tokenizer,
            hardware=args.hardware, prometheus_port=args.prometheus_port)
    else:
        if args.engine != "vllm":
            raise SelfhostError(f"--engine {args.engine} without --url: only vLLM is launched here")
        path, record = overload.record_cpu_overload(runs_dir, plan, policy, engine_port=args.engine_port,
                                                    prometheus_port=args.prometheus_port)
    from selfhost import monitoring

    table = monitoring.alert_table(record)
    fired = table.dropna(subset=["firing_after_s"])
    print(f"recorded {path} ({record['status']}) in {time.monotonic() - t0:.0f} s; HTTP statuses "
          f"{record['http_status_counts']}")
    for r in fired.itertuples():
        print(f"  {r.alertname:<26} ({r.signal}) fired {r.firing_after_s:.0f} s after the overload began")
    if fired.empty:
        print("  no alert fired")
    return 0 if record["status"] == "ok" else 1


def _watch(args: argparse.Namespace) -> int:
    from selfhost.live import engine as eng
    from selfhost.live import overload, prometheus

    signal.signal(signal.SIGTERM, _on_sigterm)
    info = eng.attach(args.url, args.engine)
    port = args.prometheus_port or eng.free_port(prometheus.PORT_RANGE.start, prometheus.PORT_RANGE)
    with prometheus.PrometheusServer(info.base_url, alertrules.rules_yaml(_policy(args)), port,
                                     scrape_interval_s=args.scrape_interval_s, job=args.job) as server:
        server.wait_for_scrape()
        print(f"Prometheus on {server.base_url} (alerts: {server.base_url}/alerts) scrapes {info.base_url}/metrics; "
              "Ctrl-C stops it")
        watcher = overload.AlertWatcher(server, time.time())
        try:
            while True:
                watcher.poll()
                time.sleep(args.scrape_interval_s)
        except KeyboardInterrupt:
            print("stopped")
    return 0


def _add_policy(p: argparse.ArgumentParser) -> None:
    d = alertrules.AlertPolicy()
    p.add_argument("--ttft-slo-ms", type=float, default=d.ttft_slo_ms,
                   help=f"the time to first token your users must get [ms] (default {d.ttft_slo_ms:g})")
    p.add_argument("--ttft-quantile", type=float, default=d.ttft_quantile,
                   help=f"which quantile of TTFT must meet it (default {d.ttft_quantile:g})")
    p.add_argument("--kv-cache-usage-max", type=float, default=d.kv_cache_usage_max,
                   help=f"KV cache share in use that warns (default {d.kv_cache_usage_max:g})")
    p.add_argument("--error-ratio-max", type=float, default=d.error_ratio_max,
                   help=f"share of failed requests that alerts (default {d.error_ratio_max:g})")
    p.add_argument("--rate-window-s", type=int, default=d.rate_window_s,
                   help=f"window of rates and quantiles [s], at least 4 scrape intervals (default {d.rate_window_s})")
    p.add_argument("--for-s", type=int, default=d.for_s,
                   help=f"how long a condition holds before its alert fires [s] (default {d.for_s})")
    p.add_argument("--job", default=d.job, help=f"the Prometheus job scraping the engine (default {d.job})")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("monitor", help="Prometheus rules and the overload run (C14; make overload)",
                              description="Monitoring for a self-hosted engine: alert rules from a latency target, "
                                          "and an overload run that shows the silent failure they catch.")
    sub = p.add_subparsers(dest="monitor_command", metavar="ACTION", required=True)

    rules = sub.add_parser("rules", help="print or write the Prometheus rules for your TTFT target")
    _add_policy(rules)
    rules.add_argument("--out", help="write to this file (e.g. monitoring/rules.yml) instead of stdout")
    rules.add_argument("--force", action="store_true", help="replace --out if it exists")
    rules.set_defaults(func=_rules)

    over = sub.add_parser("overload", help="record an overload run with Prometheus watching (make overload)",
                          description="Launch vLLM (CPU) here on 127.0.0.1:8400-8499, or attach with --url, send "
                                      "requests below and then above its capacity while Prometheus scrapes it, and "
                                      "record the series, the alert timeline and the HTTP statuses. An attached "
                                      "server's API key is read from $OPENAI_API_KEY, never from an option.")
    _add_policy(over)
    over.add_argument("--url", help="base URL of a running OpenAI-compatible server")
    over.add_argument("--engine", default="vllm", help="the engine behind --url (default vllm)")
    over.add_argument("--model", help="served model name (default: the first /v1/models lists)")
    over.add_argument("--tokenizer", help="tokenizer for the client (default: the model name)")
    over.add_argument("--hardware", help="what the server runs on (default: this machine)")
    over.add_argument("--quick", action="store_true", help="the live test's short plan")
    over.add_argument("--baseline-rate", type=float, help="requests/s below capacity (default 2)")
    over.add_argument("--baseline-s", type=float, help="baseline length [s] (default 30)")
    over.add_argument("--overload-rate", type=float, help="requests/s above capacity (default 20)")
    over.add_argument("--overload-s", type=float, help="how long the overload sends [s] (default 45)")
    over.add_argument("--kv-blocks", type=int, help="KV cache blocks of the engine launched here (default 272)")
    over.add_argument("--engine-port", type=int, help="port of the launched engine, 8400-8499 (default: first free)")
    over.add_argument("--prometheus-port", type=int, help="Prometheus' port, 8400-8499 (default: first free)")
    over.add_argument("--runs-dir", default=str(paths.data_dir() / "runs"),
                      help="where the record goes, under overload/ (default data/runs)")
    over.set_defaults(func=_overload)

    watch = sub.add_parser("watch", help="run Prometheus with the rules against your server until Ctrl-C")
    _add_policy(watch)
    watch.add_argument("--url", required=True, help="base URL of the server (its /metrics is scraped)")
    watch.add_argument("--engine", default="vllm", help="the engine behind --url (default vllm)")
    watch.add_argument("--scrape-interval-s", type=float, default=5.0, help="scrape interval [s] (default 5)")
    watch.add_argument("--prometheus-port", type=int, help="Prometheus' port, 8400-8499 (default: first free)")
    watch.set_defaults(func=_watch)


if __name__ == "__main__":  # pragma: no cover
    from selfhost.cli import main

    sys.exit(main(["monitor", *sys.argv[1:]]))
