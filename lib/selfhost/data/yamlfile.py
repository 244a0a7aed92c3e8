"""A reader's YAML file (``make book PARAMS=my.yaml``, ``selfhost plan PROFILE.yaml``), read strictly.

:func:`read_strict_yaml` is :func:`yaml.safe_load` without the traps that a file of
numbers and names falls into (:func:`read_params_file` is it for a parameters file):

- Numbers resolve as in YAML 1.2: ``5.0e6``, ``5e6`` and ``1e-5`` are floats (YAML 1.1, which
  PyYAML implements, reads them as strings; ``selfhost params`` prints ``5.0e6``), ``.inf``
  and ``.nan`` are floats that :func:`selfhost.book.pipeline.resolve_params` then refuses by
  name. Only ``true``/``false`` are booleans (``yes``, ``no``, ``on``, ``off`` stay text), a
  date stays text, and ``1:30`` is not a sexagesimal 5400.
- A key given twice is an error naming the key and both lines (PyYAML keeps the last).
- Anchors and aliases (``&a``/``*a``) are refused: a parameters file has no use for them,
  and they are how a file of a few hundred bytes expands to gigabytes (a "billion laughs").
- A file larger than :data:`MAX_BYTES`, or that is not a regular file (a FIFO that would
  block, ``/dev/zero``), is refused before it is read; so is nesting deeper than
  :data:`MAX_DEPTH`.

Every error is a :class:`selfhost.errors.DataError` naming the file and the line. Reads files.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Any

import yaml

from selfhost.errors import DataError

#: The largest parameters file read [bytes]: a reader's file is a few hundred bytes.
MAX_BYTES = 64 * 1024
#: The deepest nesting accepted (a notebook's mapping holding a list is depth 3).
MAX_DEPTH = 8

_INT = re.compile(r"^[-+]?(?:[0-9][0-9_]*|0o[0-7]+|0x[0-9a-fA-F]+)$")
_FLOAT = re.compile(r"^(?:[-+]?(?:\.[0-9]+|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?"
                    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$")
_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")


class ParamsLoader(yaml.SafeLoader):
    """PyYAML's safe loader with YAML 1.2 core scalars, no aliases, no duplicate keys, bounded depth."""

    yaml_implicit_resolvers: dict[str, list[tuple[str, re.Pattern[str]]]] = {}
    _depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise DataError(self.name, f"line {event.start_mark.line + 1}: an alias (*{event.anchor}); "
                                "a parameters file takes plain values, without anchors or aliases")
        event = self.peek_event()
        if getattr(event, "anchor", None):
            raise DataError(self.name, f"line {event.start_mark.line + 1}: an anchor (&{event.anchor}); "
                                "a parameters file takes plain values, without anchors or aliases")
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise DataError(self.name, f"line {event.start_mark.line + 1}: nested deeper than "
                                    f"{MAX_DEPTH} levels")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise DataError(self.name, f"line {key_node.start_mark.line + 1}: a key must be a name")
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise DataError(self.name, f"line {line}: {key!r} is given twice (first on line {seen[key]})")
            seen[key] = line
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_int(self, node: Any) -> int:
        text = str(self.construct_scalar(node)).replace("_", "")
        sign = -1 if text.startswith("-") else 1
        text = text.lstrip("+-")
        if text.startswith("0o"):
            return sign * int(text[2:], 8)
        if text.startswith("0x"):
            return sign * int(text[2:], 16)
        return sign * int(text)

    def construct_yaml_float(self, node: Any) -> float:
        text = str(self.construct_scalar(node)).replace("_", "").lower()
        if text.endswith(".inf"):
            return float("-inf") if text.startswith("-") else float("inf")
        if text.endswith(".nan"):
            return float("nan")
        return float(text)


for _tag, _pattern, _first in [
    ("tag:yaml.org,2002:bool", _BOOL, list("tTfF")),
    ("tag:yaml.org,2002:int", _INT, list("-+0123456789")),
    ("tag:yaml.org,2002:float", _FLOAT, list("-+0123456789.")),
    ("tag:yaml.org,2002:null", _NULL, ["~", "n", "N", ""]),
]:
    ParamsLoader.add_implicit_resolver(_tag, _pattern, _first)
ParamsLoader.add_constructor("tag:yaml.org,2002:int", ParamsLoader.construct_yaml_int)
ParamsLoader.add_constructor("tag:yaml.org,2002:float", ParamsLoader.construct_yaml_float)


def parse_params(text: str, name: str = "parameters") -> Any:
    """Parse YAML text as :func:`read_params_file` reads a file.

    >>> parse_params("tok_per_day: 5.0e6\\nshare: 1e-1\\nflag: yes\\nday: 2026-12-02")
    {'tok_per_day': 5000000.0, 'share': 0.1, 'flag': 'yes', 'day': '2026-12-02'}
    >>> parse_params("a: 1\\na: 2")
    Traceback (most recent call last):
    ...
    selfhost.errors.DataError: parameters: line 2: 'a' is given twice (first on line 1)
    """
    loader = ParamsLoader(text)
    loader.name = name
    try:
        return loader.get_single_data()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise DataError(name, f"{where}not valid YAML ({problem})") from None
    except RecursionError:
        raise DataError(name, "nested too deeply") from None
    finally:
        loader.dispose()


def read_strict_yaml(path: Path | str, what: str = "parameters file", max_bytes: int | None = None,
                     empty_ok: bool = True) -> dict[str, Any]:
    """A reader's YAML file as a mapping of names to values, read strictly (see the module docstring).

    ``what`` names the file in messages ("parameters file", "profile"); an empty file is
    ``{}`` when ``empty_ok``, else an error.
    """
    path = Path(path)
    limit = MAX_BYTES if max_bytes is None else max_bytes
    try:
        info = os.stat(path)
    except OSError as exc:
        raise DataError(path, f"cannot read the {what}: {exc.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        raise DataError(path, f"the {what} is not a regular file")
    if info.st_size > limit:
        raise DataError(path, f"the {what} is {info.st_size:,} bytes, too large: at most {limit:,} are read")
    try:
        with open(path, "rb") as handle:
            raw = handle.read(limit + 1)
    except OSError as exc:
        raise DataError(path, f"cannot read the {what}: {exc.strerror}") from None
    if len(raw) > limit:
        raise DataError(path, f"the {what} is too large: more than {limit:,} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(path, f"the {what} is not UTF-8 text (byte {exc.start})") from None
    spec = parse_params(text, str(path))
    if spec is None:
        if empty_ok:
            return {}
        raise DataError(path, f"the {what} is empty")
    if not isinstance(spec, dict):
        raise DataError(path, f"the {what} must be a mapping of names to values, not a {type(spec).__name__}")
    bad = [k for k in spec if not isinstance(k, str)]
    if bad:
        raise DataError(path, f"names must be text, got {', '.join(repr(k) for k in bad)}")
    return spec


def read_params_file(path: Path | str) -> dict[str, Any]:
    """The reader's parameters: a mapping of names (or notebook names) to values; see the module docstring."""
    return read_strict_yaml(path, "parameters file")


#: The name :mod:`selfhost.data.profile` parses inline YAML with.
parse_strict_yaml = parse_params
