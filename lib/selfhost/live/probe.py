"""The synthetic probe: Prometheus' blackbox exporter sends a real completion on a schedule (I/O).

A server can answer ``/health`` and ``/metrics`` while it serves no request (a hung
engine core), and a dead one exports nothing at all. The probe asks what a user asks:
every ``interval_s`` Prometheus scrapes the blackbox exporter's ``/probe``, which POSTs a
one-token completion (``max_tokens: 1``) to the engine and reports ``probe_success`` (a
200 whose body holds ``"choices"`` within the timeout) and ``probe_duration_seconds``.
The rules (:mod:`selfhost.alertrules`, module :data:`~selfhost.alertrules.PROBE_MODULE`)
alert on the share of failed probes and on a probe slower than the TTFT target.

- :func:`blackbox_config`: the exporter's module;
- :func:`scrape_config`: the Prometheus scrape job that drives it (``module`` label kept);
- :class:`BlackboxExporter`: the exporter on 127.0.0.1, in its own process group, killed
  with its parent (:func:`selfhost.live.prometheus.spawn`).

An attached server's API key is read from ``$OPENAI_API_KEY`` only and handed to the
exporter in a file readable by this user alone (``bearer_token_file``), never in the
config or on a command line.

The binary is Debian's ``prometheus-blackbox-exporter`` (``make test-deps`` installs it)
or ``$SELFHOST_BLACKBOX``.

References
----------
prometheus/blackbox_exporter 0.23 (Debian 12), CONFIGURATION.md: the ``http`` prober's
``method``, ``headers``, ``body``, ``valid_status_codes``, ``fail_if_body_not_matches_regexp``,
``bearer_token_file``; the timeout is the module's, capped at the scrape timeout minus
``--timeout-offset`` (0.5 s).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from selfhost.alertrules import PROBE_MODULE
from selfhost.live import engine as eng
from selfhost.live import prometheus as prom

BINARY = "prometheus-blackbox-exporter"
INSTALL_HINT = ("install Debian's package: `apt-get install -y prometheus-blackbox-exporter` (or `make test-deps`), "
                "or point $SELFHOST_BLACKBOX at the binary")
#: The probe's scrape job name.
PROBE_JOB = "probe"
#: The exporter subtracts this from the scrape timeout (its ``--timeout-offset``) [s].
TIMEOUT_OFFSET_S = 0.5


def binary() -> str:
    """The exporter's path; raises PrometheusMissing naming how to install it."""
    return prom.binary(BINARY, env="SELFHOST_BLACKBOX", hint=INSTALL_HINT)


@dataclass(frozen=True)
class ProbeSpec:
    """What the probe sends and how often.

    Parameters
    ----------
    model : str
        The served model name the request names.
    interval_s : float
        How often Prometheus runs the probe [s] (its scrape interval).
    timeout_s : float
        The probe fails when the answer takes longer [s]; at most ``interval_s`` minus the
        exporter's 0.5 s offset.
    prompt : str
        The prompt (a few tokens).
    """

    model: str
    interval_s: float = 2.0
    timeout_s: float = 1.5
    prompt: str = "Say ok."

    def __post_init__(self) -> None:
        if not 0.5 <= self.interval_s <= 600:
            raise prom.PrometheusError(f"probe interval_s = {self.interval_s}: expected 0.5-600 s")
        if not 0.1 <= self.timeout_s <= self.interval_s - TIMEOUT_OFFSET_S:
            raise prom.PrometheusError(f"probe timeout_s = {self.timeout_s}: expected 0.1 s to the interval minus "
                                       f"{TIMEOUT_OFFSET_S} s ({self.interval_s - TIMEOUT_OFFSET_S:g} s)")

    def body(self) -> str:
        """The request body: a one-token, greedy completion."""
        return json.dumps({"model": self.model, "prompt": self.prompt, "max_tokens": 1, "temperature": 0})


def blackbox_config(spec: ProbeSpec, bearer_token_file: str | None = None) -> str:
    """The exporter's config: one module, :data:`~selfhost.alertrules.PROBE_MODULE`.

    >>> print(blackbox_config(ProbeSpec("m")).splitlines()[1])
      llm_completion:
    """
    import yaml

    http: dict[str, Any] = {
        "method": "POST",
        "headers": {"Content-Type": "application/json"},
        "body": spec.body(),
        "valid_status_codes": [200],
        "fail_if_body_not_matches_regexp": ['"choices"'],
        "preferred_ip_protocol": "ip4",
        "ip_protocol_fallback": False,
    }
    if bearer_token_file:
        http["bearer_token_file"] = bearer_token_file
    return yaml.safe_dump({"modules": {PROBE_MODULE: {"prober": "http", "timeout": f"{spec.timeout_s:g}s",
                                                      "http": http}}}, sort_keys=False)


def completions_url(base_url: str) -> str:
    """The URL the probe POSTs to.

    >>> completions_url("http://127.0.0.1:8401/")
    'http://127.0.0.1:8401/v1/completions'
    """
    return base_url.rstrip("/") + "/v1/completions"


def scrape_config(exporter: str, engine_url: str, spec: ProbeSpec) -> dict[str, Any]:
    """The Prometheus scrape job that runs the probe against ``engine_url`` through ``exporter`` (host:port).

    The probed URL becomes the ``instance`` label and the module the ``module`` label.

    >>> scrape_config("127.0.0.1:8402", "http://127.0.0.1:8401", ProbeSpec("m"))["params"]
    {'module': ['llm_completion']}
    """
    interval = f"{spec.interval_s:g}s"
    return {
        "job_name": PROBE_JOB,
        "metrics_path": "/probe",
        "params": {"module": [PROBE_MODULE]},
        "scrape_interval": interval,
        "scrape_timeout": interval,
        "static_configs": [{"targets": [completions_url(engine_url)]}],
        "relabel_configs": [
            {"source_labels": ["__address__"], "target_label": "__param_target"},
            {"source_labels": ["__param_target"], "target_label": "instance"},
            {"source_labels": ["__param_module"], "target_label": "module"},
            {"target_label": "__address__", "replacement": exporter},
        ],
    }


class BlackboxExporter:
    """The blackbox exporter on 127.0.0.1, configured for ``spec``, as a context manager.

    Parameters
    ----------
    spec : ProbeSpec
        What the probe sends.
    port : int
        In :data:`selfhost.live.prometheus.PORT_RANGE`; refused if something listens there.
    """

    def __init__(self, spec: ProbeSpec, port: int, *, startup_timeout_s: float = 30.0) -> None:
        if port not in prom.PORT_RANGE:
            raise prom.PrometheusError(f"port {port} is outside {prom.PORT_RANGE.start}-{prom.PORT_RANGE.stop - 1}")
        self.spec, self.port, self.startup_timeout_s = spec, port, startup_timeout_s
        self.workdir: Path | None = None
        self.proc: subprocess.Popen | None = None

    @property
    def address(self) -> str:
        return f"{eng.HOST}:{self.port}"

    def start(self) -> BlackboxExporter:
        exe = binary()
        if not eng.port_is_free(self.port):
            raise prom.PrometheusError(f"port {self.port} on {eng.HOST} is already in use: stop what listens there or "
                                       f"choose another port in {prom.PORT_RANGE.start}-{prom.PORT_RANGE.stop - 1}")
        self.workdir = Path(tempfile.mkdtemp(prefix="selfhost-blackbox-"))
        try:
            token_file = None
            key = os.environ.get(eng.API_KEY_ENV, "").strip()
            if key:
                token_file = self.workdir / "bearer_token"
                fd = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "w") as handle:
                    handle.write(key)
            config = self.workdir / "blackbox.yml"
            config.write_text(blackbox_config(self.spec, str(token_file) if token_file else None))
            log = self.workdir / "blackbox.log"
            self.proc = prom.spawn([exe, f"--config.file={config}", f"--web.listen-address={self.address}",
                                    "--log.level=warn"], log, self.workdir)
            prom.wait_ready(self.proc, f"http://{self.address}/metrics", "the blackbox exporter", log,
                            self.startup_timeout_s)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self.proc is not None:
            prom.stop_group(self.proc, grace_s=5.0)
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> BlackboxExporter:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
