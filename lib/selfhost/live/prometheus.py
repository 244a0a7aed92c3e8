"""Run Prometheus against an engine's ``/metrics``, query it, and test rules with promtool (I/O).

:class:`PrometheusServer` writes a config and the rules into a temporary folder, starts
the ``prometheus`` binary bound to 127.0.0.1 in its own process group (never the
system's service), scraping the engine every ``scrape_interval_s`` and evaluating the
rules as often, waits until it is ready, and kills it on exit, on error, on Ctrl-C and at
interpreter exit. It answers instant and range queries and lists the alerts through
Prometheus' HTTP API. :func:`promtool_test_rules` runs ``promtool test rules``.

Never orphaned: :func:`spawn` starts every helper process (Prometheus, the blackbox
exporter) with the kernel's parent-death signal set (``prctl(PR_SET_PDEATHSIG,
SIGKILL)``), so that a harness killed with SIGKILL, which runs no clean-up of its own,
takes them with it. The signal follows the thread that started the process: start them
from the main thread.

The binaries come from Debian's ``prometheus`` package (``apt-get install -y prometheus``;
``make test-deps`` does it) or from ``$SELFHOST_PROMETHEUS`` / ``$SELFHOST_PROMTOOL``.

References
----------
Prometheus 2.42 (Debian 12), HTTP API: ``/-/ready``, ``/api/v1/query``,
``/api/v1/query_range``, ``/api/v1/alerts``, ``/api/v1/targets``
(prometheus.io/docs/prometheus/latest/querying/api).
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from selfhost.errors import SelfhostError
from selfhost.live import engine as eng

#: Ports for what the monitoring code starts (Prometheus, and the engine of an overload run).
PORT_RANGE = range(8400, 8500)
INSTALL_HINT = ("install Debian's package: `apt-get update && apt-get install -y prometheus` "
                "(or `make test-deps`), or point $SELFHOST_PROMETHEUS / $SELFHOST_PROMTOOL at the binaries")


class PrometheusError(SelfhostError):
    """Prometheus could not be started or queried."""


class PrometheusMissing(PrometheusError):
    """The ``prometheus`` or ``promtool`` binary is not installed."""


def binary(name: str, env: str | None = None, hint: str = INSTALL_HINT) -> str:
    """The path of ``prometheus``, ``promtool`` (or another binary: ``env`` names its override
    variable); raises PrometheusMissing naming how to install it."""
    var = env or f"SELFHOST_{name.upper()}"
    override = os.environ.get(var)
    if override:
        if not (Path(override).is_file() and os.access(override, os.X_OK)):
            raise PrometheusMissing(f"${var}={override} is not an executable file; " + hint)
        return override
    found = shutil.which(name)
    if not found:
        raise PrometheusMissing(f"`{name}` is not installed (not on PATH); " + hint)
    return found


# --------------------------------------------------------------------------- processes

_PR_SET_PDEATHSIG = 1
#: Helper processes started here and not yet stopped (killed at interpreter exit too).
LIVE: set[subprocess.Popen] = set()


def _die_with_parent(parent_pid: int) -> None:  # runs in the child, between fork and exec
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:  # the parent died before the prctl: follow it now
        os._exit(1)


def spawn(command: list[str], log_path: Path, cwd: Path) -> subprocess.Popen:
    """Start ``command`` in its own process group, output to ``log_path``, killed with its parent.

    The child gets SIGKILL the moment the process that started it dies, however it dies;
    it is also stopped at interpreter exit (:data:`LIVE`).
    """
    parent = os.getpid()
    with Path(log_path).open("w") as log:
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, cwd=cwd,
                                preexec_fn=lambda: _die_with_parent(parent))
    LIVE.add(proc)
    return proc


def stop_group(proc: subprocess.Popen, grace_s: float = 10.0) -> None:
    """SIGTERM ``proc``'s process group, SIGKILL what is left after ``grace_s``, and reap it."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=grace_s)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)
    deadline = time.monotonic() + 5
    while eng.group_members(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    LIVE.discard(proc)


@atexit.register
def _stop_all() -> None:
    for proc in list(LIVE):
        stop_group(proc, grace_s=3.0)


def wait_ready(proc: subprocess.Popen, url: str, what: str, log_path: Path, timeout_s: float) -> None:
    """Wait until ``url`` answers 200; raise PrometheusError with the log's tail if ``proc`` exits or times out."""
    t0 = time.monotonic()
    while True:
        if proc.poll() is not None:
            raise PrometheusError(f"{what} exited with code {proc.returncode} before it was ready on {url}; "
                                  f"its last lines:\n{eng.tail(log_path)}")
        if time.monotonic() - t0 > timeout_s:
            raise PrometheusError(f"{what} was not ready on {url} within {timeout_s:.0f} s; its last lines:\n"
                                  f"{eng.tail(log_path)}")
        try:
            if eng.http_get(url, 2.0)[0] == 200:
                return
        except (OSError, ValueError):
            pass
        time.sleep(0.2)


def version(prometheus: str | None = None) -> str:
    """``prometheus --version``'s first line, e.g. ``prometheus, version 2.42.0+ds (...)``."""
    out = subprocess.run([prometheus or binary("prometheus"), "--version"], capture_output=True, text=True, timeout=30)
    return (out.stdout or out.stderr).splitlines()[0].strip() if (out.stdout or out.stderr) else "unknown"


#: The scrape job of the engine in the runs made here: not "vllm", since the rules select no job.
ENGINE_JOB = "engine"


def config_yaml(targets: list[str], *, scrape_interval_s: float, job: str = ENGINE_JOB,
                rule_files: tuple[str, ...] = ("rules.yml",),
                extra_scrape_configs: tuple[dict[str, Any], ...] = ()) -> str:
    """The prometheus.yml for scraping ``targets`` (``host:port``) every ``scrape_interval_s``,
    and any ``extra_scrape_configs`` (the probe's, :func:`selfhost.live.probe.scrape_config`).

    >>> print(config_yaml(["127.0.0.1:8401"], scrape_interval_s=1))
    global:
      scrape_interval: 1s
      evaluation_interval: 1s
      scrape_timeout: 1s
    rule_files:
    - rules.yml
    scrape_configs:
    - job_name: engine
      metrics_path: /metrics
      static_configs:
      - targets:
        - 127.0.0.1:8401
    <BLANKLINE>
    """
    import yaml

    interval = f"{scrape_interval_s:g}s"
    return yaml.safe_dump({
        "global": {"scrape_interval": interval, "evaluation_interval": interval, "scrape_timeout": interval},
        "rule_files": list(rule_files),
        "scrape_configs": [{"job_name": job, "metrics_path": "/metrics", "static_configs": [{"targets": targets}]},
                           *extra_scrape_configs],
    }, sort_keys=False)


class PrometheusServer:
    """Prometheus on 127.0.0.1 scraping ``target``'s ``/metrics``, as a context manager.

    Parameters
    ----------
    target : str
        The engine's base URL (``http://127.0.0.1:8401``) or ``host:port``.
    rules_text : str
        The rules file's text (:func:`selfhost.alertrules.rules_yaml`).
    port : int
        Prometheus' port, in :data:`PORT_RANGE`; refused if something listens there.
    scrape_interval_s : float
        Scrape and rule-evaluation interval [s], 1-2 s for an overload run.
    job : str
        The engine's scrape job name (the rules select none).
    extra_scrape_configs : tuple of dict
        More scrape jobs (the probe's).
    workdir : Path
        Where the config, rules, data and log go (default: a new temporary folder,
        removed on exit).
    """

    def __init__(self, target: str, rules_text: str, port: int, *, scrape_interval_s: float = 1.0,
                 job: str = ENGINE_JOB, workdir: Path | None = None, startup_timeout_s: float = 60.0,
                 extra_scrape_configs: tuple[dict[str, Any], ...] = ()) -> None:
        if port not in PORT_RANGE:
            raise PrometheusError(f"port {port} is outside {PORT_RANGE.start}-{PORT_RANGE.stop - 1}")
        if not 0.1 <= scrape_interval_s <= 60:
            raise PrometheusError(f"scrape_interval_s = {scrape_interval_s}: expected 0.1-60 s")
        self.target = target.split("://", 1)[-1].rstrip("/")
        self.rules_text, self.port, self.job = rules_text, port, job
        self.scrape_interval_s, self.startup_timeout_s = scrape_interval_s, startup_timeout_s
        self.extra_scrape_configs = tuple(extra_scrape_configs)
        self._own_workdir = workdir is None
        self.workdir = Path(workdir) if workdir else None
        self.proc: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://{eng.HOST}:{self.port}"

    @property
    def log_path(self) -> Path:
        assert self.workdir is not None
        return self.workdir / "prometheus.log"

    def command(self) -> list[str]:
        assert self.workdir is not None
        return [binary("prometheus"), f"--config.file={self.workdir / 'prometheus.yml'}",
                f"--storage.tsdb.path={self.workdir / 'data'}", f"--web.listen-address={eng.HOST}:{self.port}",
                "--storage.tsdb.retention.time=1d", "--log.level=warn"]

    def start(self) -> PrometheusServer:
        binary("prometheus"), binary("promtool")  # raise PrometheusMissing first: the clearest error
        if not eng.port_is_free(self.port):
            raise PrometheusError(f"port {self.port} on {eng.HOST} is already in use: stop what listens there or "
                                  f"choose another port in {PORT_RANGE.start}-{PORT_RANGE.stop - 1}")
        if self.workdir is None:
            self.workdir = Path(tempfile.mkdtemp(prefix="selfhost-prometheus-"))
        try:
            self._launch()
        except BaseException:
            self.stop()
            raise
        return self

    def _launch(self) -> None:
        assert self.workdir is not None
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "rules.yml").write_text(self.rules_text)
        (self.workdir / "prometheus.yml").write_text(
            config_yaml([self.target], scrape_interval_s=self.scrape_interval_s, job=self.job,
                        extra_scrape_configs=self.extra_scrape_configs))
        check = subprocess.run([binary("promtool"), "check", "config", str(self.workdir / "prometheus.yml")],
                               capture_output=True, text=True, timeout=60)
        if check.returncode != 0:
            raise PrometheusError(f"promtool rejects the generated config or rules:\n{check.stdout}{check.stderr}")
        self.proc = spawn(self.command(), self.log_path, self.workdir)
        wait_ready(self.proc, f"{self.base_url}/-/ready", "prometheus", self.log_path, self.startup_timeout_s)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        if self.proc is not None:
            stop_group(self.proc, grace_s=10.0)
        if self._own_workdir and self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> PrometheusServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ----------------------------------------------------------------- the HTTP API

    def api(self, path: str, **params: Any) -> Any:
        """GET ``/api/v1/<path>`` and return its ``data``; raises PrometheusError on an error answer."""
        url = f"{self.base_url}/api/v1/{path}"
        if params:
            url += "?" + urllib.parse.urlencode({k: str(v) for k, v in params.items()})
        try:
            with urllib.request.urlopen(url, timeout=30) as resp:
                body = json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            body = json.loads(exc.read() or b"{}") if exc.code in (400, 422, 503) else {"error": str(exc)}
        except (OSError, ValueError) as exc:
            raise PrometheusError(f"{url}: {exc}") from None
        if body.get("status") != "success":
            raise PrometheusError(f"{url}: {body.get('errorType', 'error')}: {body.get('error', body)}")
        return body["data"]

    def query(self, expr: str, at: float | None = None) -> list[dict[str, Any]]:
        """Instant query: the result vector (``[{"metric": {...}, "value": [t, "v"]}]``)."""
        return self.api("query", query=expr, **({"time": at} if at is not None else {}))["result"]

    def query_range(self, expr: str, start: float, end: float, step_s: float) -> list[dict[str, Any]]:
        """Range query: the result matrix (``[{"metric": {...}, "values": [[t, "v"], ...]}]``)."""
        return self.api("query_range", query=expr, start=start, end=end, step=f"{step_s:g}s")["result"]

    def alerts(self) -> list[dict[str, Any]]:
        """Pending and firing alerts (``labels``, ``state``, ``activeAt``, ``value``)."""
        return self.api("alerts")["alerts"]

    def targets_up(self) -> bool:
        """Whether every scrape target is up (a probe target is up when the exporter answers)."""
        active = self.api("targets")["activeTargets"]
        return bool(active) and all(t.get("health") == "up" for t in active)

    def wait_for_scrape(self, timeout_s: float = 30.0) -> None:
        """Wait until the target has been scraped successfully (Prometheus starts scraping
        a few seconds after it is ready); raises PrometheusError naming the scrape error."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.targets_up():
                return
            time.sleep(0.5)
        errors = [t.get("lastError") for t in self.api("targets")["activeTargets"]]
        raise PrometheusError(f"prometheus could not scrape {self.target}/metrics within {timeout_s:.0f} s "
                              f"(last error: {errors})")


def promtool_test_rules(test_files: list[Path]) -> subprocess.CompletedProcess:
    """``promtool test rules FILES``: returncode 0 when every rule unit test passes."""
    return subprocess.run([binary("promtool"), "test", "rules", *map(str, test_files)],
                          capture_output=True, text=True, timeout=120)


def promtool_check_rules(rules_file: Path) -> subprocess.CompletedProcess:
    """``promtool check rules FILE``."""
    return subprocess.run([binary("promtool"), "check", "rules", str(rules_file)],
                          capture_output=True, text=True, timeout=60)
