"""``selfhost monitor``: Prometheus rules from a team's targets, and the monitored runs (C14).

- ``selfhost monitor rules --ttft-slo-ms 800 [--out FILE.yml]``: the recording and alert
  rules for those targets (stdout, or a new ``.yml`` file; ``--force`` replaces a rules
  file this command wrote, never anything else, and never inside ``data/``).
- ``selfhost monitor overload``: launch vLLM (CPU) here, or attach with ``--url``, push it
  past capacity while Prometheus and the probe watch, and record the run in
  data/runs/overload/ (``make overload``). An attached server's API key comes from
  ``$OPENAI_API_KEY`` only.
- ``selfhost monitor faults``: kill, hang and crash-loop vLLM (CPU) under load while
  Prometheus and the probe watch; one record per fault in data/runs/faults/ (``make faults``).
- ``selfhost monitor watch --url URL``: Prometheus with the rules (and the probe) against
  your server, printing alerts as they change, until Ctrl-C.

A bad option is one line naming it, exit code 2, and nothing written. SIGTERM or Ctrl-C
stops a run: everything it started is stopped and nothing is recorded (exit 143 or 130).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

from selfhost import alertrules, paths
from selfhost.cli.options import number, positive, whole
from selfhost.errors import SelfhostError


def _on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds the context managers: engine, Prometheus, exporter


def _interruptible(func):
    """SIGTERM and Ctrl-C stop the run: one line, nothing recorded, exit 143 or 130."""

    def run(args: argparse.Namespace) -> int:
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
        try:
            return func(args)
        except KeyboardInterrupt:
            print(f"selfhost monitor {args.monitor_command}: interrupted; everything it started is stopped, "
                  "nothing recorded", file=sys.stderr)
            return 130
        except SystemExit as exc:
            if exc.code == 128 + signal.SIGTERM:
                print(f"selfhost monitor {args.monitor_command}: stopped by SIGTERM; everything it started is "
                      "stopped, nothing recorded", file=sys.stderr)
            raise
        finally:
            signal.signal(signal.SIGTERM, previous)

    return run


def _policy(args: argparse.Namespace) -> alertrules.AlertPolicy:
    return alertrules.AlertPolicy(
        ttft_slo_ms=args.ttft_slo_ms, ttft_quantile=args.ttft_quantile, error_ratio_max=args.error_ratio_max,
        kv_cache_usage_max=args.kv_cache_usage_max, restarts_max_count=args.restarts_max,
        rate_window_s=args.rate_window_s, restart_window_s=args.restart_window_s,
        probe_window_s=args.probe_window_s, for_s=args.for_s)


def check_rules_target(out: Path, force: bool) -> Path:
    """Where ``monitor rules --out`` may write, or a SelfhostError naming why not.

    Only a ``.yml``/``.yaml`` file, outside ``data/``, in a folder that exists; an existing
    file only with ``--force`` and only if this command wrote it (its first line is
    :data:`selfhost.alertrules.HEADER`).
    """
    shown = str(out)
    if out.is_dir():
        raise SelfhostError(f"--out {shown} is a directory; give a file name ending in .yml, e.g. monitoring/rules.yml")
    if out.suffix not in (".yml", ".yaml"):
        raise SelfhostError(f"--out {shown}: a rules file must end in .yml or .yaml")
    resolved = out.resolve()
    data = paths.data_dir().resolve()
    if resolved == data or resolved.is_relative_to(data):
        raise SelfhostError(f"--out {shown} is inside {paths.data_dir()}: the rules never go there (that folder "
                            "holds the book's data tables and recorded runs)")
    if not resolved.parent.is_dir():
        raise SelfhostError(f"--out {shown}: the folder {out.parent} does not exist")
    if out.exists() or out.is_symlink():
        if not out.is_file():
            raise SelfhostError(f"--out {shown} exists and is not a regular file")
        try:
            with out.open(errors="replace") as handle:
                first = handle.readline(512).rstrip("\n")
        except OSError as exc:
            raise SelfhostError(f"--out {shown}: cannot read it ({exc.strerror})") from None
        if first != alertrules.HEADER:
            raise SelfhostError(f"--out {shown} exists and is not a rules file written by `selfhost monitor rules`; "
                                "refusing to replace it (choose another file)")
        if not force:
            raise SelfhostError(f"--out {shown} exists; pass --force to replace it")
    return resolved


def _rules(args: argparse.Namespace) -> int:
    text = alertrules.rules_yaml(_policy(args))
    if not args.out:
        sys.stdout.write(text)
        return 0
    out = Path(args.out)
    target = check_rules_target(out, args.force)
    from selfhost.live import prometheus

    fd, tmp_name = tempfile.mkstemp(prefix=".rules-", suffix=".yml", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        try:
            check = prometheus.promtool_check_rules(tmp)
            note = "promtool: ok"
            if check.returncode != 0:
                raise SelfhostError(f"promtool rejects the generated rules; {out} is unchanged:\n"
                                    f"{check.stdout}{check.stderr}")
        except prometheus.PrometheusMissing:
            note = "promtool not installed: not checked"
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    print(f"wrote {out} ({note})")
    return 0


def _check_binaries() -> None:
    from selfhost.live import probe, prometheus

    prometheus.binary("prometheus"), prometheus.binary("promtool"), probe.binary()


def _runs_dir(text: str) -> Path:
    folder = Path(text)
    if folder.exists() and not folder.is_dir():
        raise SelfhostError(f"--runs-dir {text} is not a folder")
    return folder


def _overload(args: argparse.Namespace) -> int:
    from selfhost.data import overload as records

    records.check_engine_name(args.engine)
    from selfhost.live import overload as plan_module

    plan = plan_module.QUICK_PLAN if args.quick else plan_module.OverloadPlan()
    changes = {k: v for k, v in {"baseline_rate_req_per_s": args.baseline_rate, "baseline_s": args.baseline_s,
                                 "overload_rate_req_per_s": args.overload_rate, "overload_s": args.overload_s,
                                 "kv_blocks": args.kv_blocks, "request_timeout_s": args.request_timeout_s}.items()
               if v is not None}
    plan = dataclasses.replace(plan, **changes)
    policy = _policy(args)
    runs_dir = _runs_dir(args.runs_dir)
    if not args.url and args.engine != "vllm":
        raise SelfhostError(f"--engine {args.engine} without --url: only vLLM is launched here")
    _check_binaries()
    t0 = time.monotonic()
    if args.url:
        path, record = plan_module.record_attached_overload(
            args.url, args.engine, runs_dir, plan, policy, model=args.model, hardware=args.hardware,
            prometheus_port=args.prometheus_port)
    else:
        path, record = plan_module.record_cpu_overload(runs_dir, plan, policy, engine_port=args.engine_port,
                                                       prometheus_port=args.prometheus_port)
    from selfhost import monitoring

    run = monitoring.OverloadRun.from_record(record)
    table = monitoring.alert_table(run)
    fired = table.dropna(subset=["firing_after_s"])
    counts = monitoring.outcome_counts(run.requests or ())
    print(f"recorded {path} ({record['status']}) in {time.monotonic() - t0:.0f} s; HTTP statuses "
          f"{record['http_status_counts']}; clients: " + ", ".join(f"{k} {v}" for k, v in counts.items() if v))
    for r in fired.itertuples():
        print(f"  {r.alertname:<26} ({r.signal}) fired {r.firing_after_s:.0f} s after the overload began")
    if fired.empty:
        print("  no alert fired")
    if record["status"] != "ok":
        print(f"  the run failed: {record['error']}", file=sys.stderr)
    return 0 if record["status"] == "ok" else 1


def _faults(args: argparse.Namespace) -> int:
    from selfhost import monitoring
    from selfhost.live import faults

    kinds = tuple(args.kind or monitoring.FAULT_KINDS)
    plans = {k: faults.QUICK_PLANS[k] if args.quick else faults.FaultPlan(kind=k) for k in kinds}
    if args.request_timeout_s is not None:
        plans = {k: dataclasses.replace(p, request_timeout_s=args.request_timeout_s) for k, p in plans.items()}
    policy = _policy(args)
    runs_dir = _runs_dir(args.runs_dir)
    _check_binaries()
    t0 = time.monotonic()
    failed = 0
    for kind in kinds:
        path, record = faults.run_fault(plans[kind], runs_dir, policy)
        run = monitoring.FaultRun.from_record(record)
        s = monitoring.fault_summary(run)
        first = (f"{', '.join(s.first_alerts)} fired first, {s.first_alert_after_s:.0f} s after the fault"
                 if s.first_alerts else "no alert fired")
        seen = ", ".join(f"{k} {v}" for k, v in s.outcomes_after.items() if v)
        print(f"recorded {path} ({record['status']}): {kind}: {first}; clients after the fault: {seen}")
        if record["status"] != "ok":
            failed += 1
            print(f"  the run failed: {record['error']}", file=sys.stderr)
    print(f"{len(kinds)} fault runs in {time.monotonic() - t0:.0f} s ({failed} failed)")
    return 1 if failed else 0


def _watch(args: argparse.Namespace) -> int:
    from selfhost.live import engine as eng
    from selfhost.live import overload
    from selfhost.live import probe as prb

    _check_binaries()
    info = eng.attach(args.url, args.engine)
    spec = None if args.no_probe else prb.ProbeSpec(info.model_id, args.probe_interval_s,
                                                    max(0.1, args.probe_interval_s - 1.0))
    with overload.Watch(info.base_url, info.model_id, _policy(args), scrape_interval_s=args.scrape_interval_s,
                        probe=spec, prometheus_port=args.prometheus_port) as w:
        assert w.server is not None
        print(f"Prometheus on {w.server.base_url} (alerts: {w.server.base_url}/alerts); Ctrl-C stops it")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            print("stopped")
    return 0


def _add_policy(p: argparse.ArgumentParser) -> None:
    d = alertrules.AlertPolicy()
    p.add_argument("--ttft-slo-ms", type=number(gt=0, le=86_400_000), default=d.ttft_slo_ms,
                   help=f"the time to first token your users must get [ms] (default {d.ttft_slo_ms:g})")
    p.add_argument("--ttft-quantile", type=number(gt=0, lt=1), default=d.ttft_quantile,
                   help=f"which quantile of TTFT must meet it (default {d.ttft_quantile:g})")
    p.add_argument("--error-ratio-max", type=number(ge=0, lt=1), default=d.error_ratio_max,
                   help=f"share of requests that may fail: errors, aborts, 4xx, 503s, probes (default "
                        f"{d.error_ratio_max:g})")
    p.add_argument("--kv-cache-usage-max", type=number(gt=0, le=1), default=d.kv_cache_usage_max,
                   help=f"KV cache share in use that warns (default {d.kv_cache_usage_max:g})")
    p.add_argument("--restarts-max", type=whole(ge=0, le=1000), default=d.restarts_max_count,
                   help=f"restarts tolerated within --restart-window-s (default {d.restarts_max_count})")
    p.add_argument("--rate-window-s", type=whole(ge=2, le=86_400), default=d.rate_window_s,
                   help=f"window of rates and quantiles [s], at least 4 scrape intervals (default {d.rate_window_s})")
    p.add_argument("--restart-window-s", type=whole(ge=2, le=86_400), default=d.restart_window_s,
                   help=f"window over which restarts are counted [s] (default {d.restart_window_s})")
    p.add_argument("--probe-window-s", type=whole(ge=2, le=86_400), default=d.probe_window_s,
                   help=f"window of the probe's failure share [s] (default {d.probe_window_s})")
    p.add_argument("--for-s", type=whole(ge=0, le=86_400), default=d.for_s,
                   help=f"how long a condition holds before its alert fires [s] (default {d.for_s})")


def _add_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--request-timeout-s", type=number(gt=0, le=3600),
                   help="a client gives up on a request after this long [s]")
    p.add_argument("--runs-dir", default=str(paths.data_dir() / "runs"),
                   help="where the records go (default data/runs)")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("monitor", help="Prometheus rules, the overload and the fault runs (C14)",
                              description="Monitoring for a self-hosted engine: alert rules from your targets, an "
                                          "overload run that shows the silent failure they catch, and fault runs "
                                          "(killed, hung, crash-looping engine).")
    sub = p.add_subparsers(dest="monitor_command", metavar="ACTION", required=True)

    rules = sub.add_parser("rules", help="print or write the Prometheus rules for your targets")
    _add_policy(rules)
    rules.add_argument("--out", help="write to this .yml file (e.g. monitoring/rules.yml) instead of stdout")
    rules.add_argument("--force", action="store_true", help="replace --out if this command wrote it before")
    rules.set_defaults(func=_rules)

    over = sub.add_parser("overload", help="record an overload run with Prometheus watching (make overload)",
                          description="Launch vLLM (CPU) here on 127.0.0.1:8400-8499, or attach with --url, send "
                                      "requests below and then above its capacity while Prometheus and a probe watch, "
                                      "and record the series, the alert timeline, the HTTP statuses and every "
                                      "request's outcome. An attached server's API key is read from "
                                      "$OPENAI_API_KEY, never from an option.")
    _add_policy(over)
    over.add_argument("--url", help="base URL of a running OpenAI-compatible server")
    over.add_argument("--engine", default="vllm", help="the engine behind --url (default vllm)")
    over.add_argument("--model", help="served model name (default: the first /v1/models lists)")
    over.add_argument("--hardware", help="what the server runs on (default: this machine)")
    over.add_argument("--quick", action="store_true", help="the live test's short plan")
    over.add_argument("--baseline-rate", type=positive, help="requests/s below capacity (default 2)")
    over.add_argument("--baseline-s", type=number(ge=1, le=3600), help="baseline length [s] (default 30)")
    over.add_argument("--overload-rate", type=positive, help="requests/s above capacity (default 20)")
    over.add_argument("--overload-s", type=number(ge=1, le=3600), help="how long the overload sends [s] (default 45)")
    over.add_argument("--kv-blocks", type=whole(ge=2, le=10_000_000),
                      help="KV cache blocks of the engine launched here (default 272)")
    over.add_argument("--engine-port", type=whole(ge=8400, le=8499), help="port of the launched engine, 8400-8499")
    over.add_argument("--prometheus-port", type=whole(ge=8400, le=8499), help="Prometheus' port, 8400-8499")
    _add_run_options(over)
    over.set_defaults(func=_interruptible(_overload))

    flt = sub.add_parser("faults", help="record fault runs: the engine killed, hung, crash-looping (make faults)",
                         description="Launch vLLM (CPU) here on 127.0.0.1:8400-8499 under steady load with "
                                     "Prometheus and a probe watching, and kill it (SIGKILL), hang its engine core "
                                     "(SIGSTOP, then SIGCONT) or kill it again and again while a supervisor restarts "
                                     "it; one record per fault.")
    _add_policy(flt)
    flt.add_argument("--kind", action="append", choices=("kill", "hang", "restart_loop"),
                     help="the fault (repeatable; default: all three)")
    flt.add_argument("--quick", action="store_true", help="the live test's short plans")
    _add_run_options(flt)
    flt.set_defaults(func=_interruptible(_faults))

    watch = sub.add_parser("watch", help="run Prometheus with the rules against your server until Ctrl-C")
    _add_policy(watch)
    watch.add_argument("--url", required=True, help="base URL of the server (its /metrics is scraped)")
    watch.add_argument("--engine", default="vllm", help="the engine behind --url (default vllm)")
    watch.add_argument("--scrape-interval-s", type=number(ge=0.5, le=2), default=1.0,
                       help="scrape interval [s] (default 1)")
    watch.add_argument("--probe-interval-s", type=number(ge=1.5, le=60), default=5.0,
                       help="how often the probe sends a one-token completion [s] (default 5)")
    watch.add_argument("--no-probe", action="store_true", help="no synthetic probe")
    watch.add_argument("--prometheus-port", type=whole(ge=8400, le=8499), help="Prometheus' port, 8400-8499")
    watch.set_defaults(func=_interruptible(_watch))


if __name__ == "__main__":  # pragma: no cover
    from selfhost.cli import main

    sys.exit(main(["monitor", *sys.argv[1:]]))
