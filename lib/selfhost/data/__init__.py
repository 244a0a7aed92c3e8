"""Reading and writing ``data/``: the dated tables with their manifests, model configs, and the
records of live runs (machinery: file I/O).

- :mod:`~selfhost.data.tables`: any ``data/NAME.csv`` validated against ``NAME.meta.yaml``;
- :mod:`~selfhost.data.prices`, :mod:`~selfhost.data.hardware`, :mod:`~selfhost.data.models`,
  :mod:`~selfhost.data.serving`: the typed loaders of each kind of table or config;
- :mod:`~selfhost.data.runs`, :mod:`~selfhost.data.overload`: the JSON schemas of recorded
  runs, written exclusively (never over an existing file) and read back validated.

May import the foundations and the formula modules; never :mod:`selfhost.live`,
:mod:`selfhost.charts`, :mod:`selfhost.book` or :mod:`selfhost.cli`.
"""
