"""Read a reader's YAML file (a profile, a parameters file) strictly: one clear error, never a surprise.

:func:`read_strict_yaml` is :func:`yaml.safe_load` with the traps of YAML 1.1 and of a
hostile file closed:

- scientific notation without a dot (``5e6``, the way ``selfhost params`` and people write
  numbers) is a float, not the string ``"5e6"``;
- a key given twice is an error, not "the last one wins";
- aliases (``*name``) are refused: a "billion laughs" file of a few lines expands to
  gigabytes; a reader's profile needs none;
- a file larger than ``max_bytes`` is refused before it is parsed; so is anything that is
  not a regular file (a FIFO would hang, ``/dev/zero`` would never end);
- the top level must be a mapping.

Reads files; raises :class:`selfhost.errors.DataError` naming the file (and the line).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from selfhost.errors import DataError

#: The largest reader's YAML file read [B]: a profile or a parameters file is a few hundred bytes.
MAX_BYTES = 1_000_000

_FLOAT = re.compile(r"""^(?:[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?
                    |[-+]?\.[0-9_]+(?:[eE][-+]?[0-9]+)?
                    |[-+]?\.(?:inf|Inf|INF)
                    |\.(?:nan|NaN|NAN))$""", re.X)


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 floats, no duplicate keys and no aliases."""


_StrictLoader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:float"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_StrictLoader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT, list("-+0123456789."))


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    out: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in out:
            raise DataError(_name(loader), f"key {key!r} is given twice (line {key_node.start_mark.line + 1})")
        out[key] = loader.construct_object(value_node, deep=deep)
    return out


def _construct_float(loader: _StrictLoader, node: yaml.ScalarNode) -> float:
    text = str(loader.construct_scalar(node)).replace("_", "").lower()
    if text in (".inf", "+.inf"):
        return float("inf")
    if text == "-.inf":
        return float("-inf")
    if text == ".nan":
        return float("nan")
    return float(text)


def _name(loader: _StrictLoader) -> str:
    return str(getattr(loader, "source_name", "YAML file"))


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_StrictLoader.add_constructor("tag:yaml.org,2002:float", _construct_float)


def _compose_node(self: _StrictLoader, parent: Any, index: Any) -> Any:
    if self.check_event(yaml.AliasEvent):
        event = self.peek_event()
        raise DataError(_name(self), f"line {event.start_mark.line + 1}: aliases (*{event.anchor}) are not allowed "
                        "in this file")
    return yaml.SafeLoader.compose_node(self, parent, index)


_StrictLoader.compose_node = _compose_node  # type: ignore[method-assign, assignment]


def parse_strict_yaml(text: str, source: str = "YAML text") -> Any:
    """Parse YAML text as :func:`read_strict_yaml` reads a file (for tests and inline values).

    >>> parse_strict_yaml("tok_per_day: 5e6\\nshare: 0.85")
    {'tok_per_day': 5000000.0, 'share': 0.85}
    >>> parse_strict_yaml("a: 1\\na: 2")
    Traceback (most recent call last):
    ...
    selfhost.errors.DataError: YAML text: key 'a' is given twice (line 2)
    """
    loader = _StrictLoader(text)
    loader.source_name = source  # type: ignore[attr-defined]
    try:
        return loader.get_single_data()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise DataError(source, f"{where}not valid YAML ({problem})") from None
    finally:
        loader.dispose()


def read_strict_yaml(path: str | Path, max_bytes: int = MAX_BYTES, what: str = "file") -> dict[str, Any]:
    """A reader's YAML file as a mapping, read strictly (see the module docstring)."""
    p = Path(path)
    if not p.exists():
        raise DataError(p, f"{what} not found")
    if not p.is_file():
        raise DataError(p, f"not a regular file; a {what} must be a YAML file")
    size = p.stat().st_size
    if size > max_bytes:
        raise DataError(p, f"{size:,} bytes: too large for a {what} (at most {max_bytes:,})")
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise DataError(p, "not UTF-8 text") from None
    data = parse_strict_yaml(text, str(p))
    if data is None:
        raise DataError(p, f"the {what} is empty")
    if not isinstance(data, dict):
        raise DataError(p, f"the top level must be a mapping of names to values, not a {type(data).__name__}")
    return data
