"""Real engines and Prometheus (machinery: processes, sockets, files).

- :mod:`~selfhost.live.engine`: launch vLLM's CPU build here, or attach to a server by URL;
- :mod:`~selfhost.live.metrics`: read an engine's ``/metrics`` text;
- :mod:`~selfhost.live.harness`: drive a server with vLLM's own benchmark client and record
  each run (``make live``);
- :mod:`~selfhost.live.prometheus`, :mod:`~selfhost.live.overload`: Prometheus with the
  generated alert rules, and the overload run (``make overload``);
- :mod:`~selfhost.live.kvprobe`: start vLLM on a probe config and read its KV cache report.

May import the foundations, the formula modules and :mod:`selfhost.data`; never
:mod:`selfhost.charts`, :mod:`selfhost.book` or :mod:`selfhost.cli`.
"""
