"""Profiles: every field validated with the field named; names resolved against data/; YAML read strictly."""

from __future__ import annotations

import copy
import os
import re

import pytest

from selfhost.data.profile import ARTICLE_PROFILE, read_profile, resolve
from selfhost.data.yamlfile import parse_strict_yaml, read_strict_yaml
from selfhost.errors import DataError, ParameterError
from selfhost.profile import profile_from_mapping


def changed(path: str, value):
    raw = copy.deepcopy(ARTICLE_PROFILE)
    keys = path.split(".")
    target = raw
    for k in keys[:-1]:
        target = target[k]
    if value is KeyError:
        del target[keys[-1]]
    else:
        target[keys[-1]] = value
    return raw


@pytest.mark.parametrize("path, value, named", [
    ("model", 7, "model"), ("model", "", "model"),
    ("traffic.tok_per_day", -1, "traffic.tok_per_day"), ("traffic.tok_per_day", float("inf"), "traffic.tok_per_day"),
    ("traffic.tok_per_day", float("nan"), "traffic.tok_per_day"), ("traffic.tok_per_day", "5M", "traffic.tok_per_day"),
    ("traffic.tok_per_day", True, "traffic.tok_per_day"),
    ("traffic.input_share", 1.5, "traffic.input_share"), ("traffic.input_share", 0, "traffic.input_share"),
    ("traffic.peak_to_mean_x", 0.5, "traffic.peak_to_mean_x"),
    ("traffic.cached_input_share", -0.1, "traffic.cached_input_share"),
    ("traffic.bogus", 1, "traffic.bogus"),
    ("latency.ttft_ms", 0, "latency.ttft_ms"), ("latency.tpot_ms", float("inf"), "latency.tpot_ms"),
    ("latency", {"ttft_ms": 100}, "latency.tpot_ms"), ("latency", [1, 2], "latency"),
    ("availability", 1.0, "availability"), ("availability", 1.5, "availability"), ("availability", 0, "availability"),
    ("gpus", [], "gpus"), ("gpus", "a100-80gb", None), ("gpus", [1], "gpus[0]"), ("gpus", ["a", "a"], "gpus"),
    ("gpu_usd_per_hour", {"a100-80gb": -2}, "gpu_usd_per_hour.a100-80gb"),
    ("gpu_usd_per_hour", {"a100-80gb": float("inf")}, "gpu_usd_per_hour.a100-80gb"),
    ("weight_dtypes", ["fp4"], "weight_dtypes[0]"), ("ops_usd_per_month", -1, "ops_usd_per_month"),
    ("ops_usd_per_month", float("inf"), "ops_usd_per_month"), ("apis", [], "apis"), ("apis", 3, "apis"),
    ("prompt_tokens", 0, "prompt_tokens"), ("prompt_tokens", 1.5, "prompt_tokens"), ("surprise", 1, "surprise"),
    ("model", KeyError, "model"), ("traffic", KeyError, "traffic"),
])
def test_every_field_is_checked_and_named(path, value, named):
    raw = changed(path, value)
    if named is None:  # a single name is accepted as a list of one
        assert profile_from_mapping(raw).gpus == ("a100-80gb",)
        return
    with pytest.raises(ParameterError, match="profile field " + re.escape(named) + " "):
        profile_from_mapping(raw)


def test_volume_and_spend_are_exclusive():
    raw = changed("traffic", {"tok_per_day": 1e6, "api_spend_usd_per_month": 1000, "api": "openai/gpt-5"})
    with pytest.raises(ParameterError, match="exactly one of tok_per_day and api_spend_usd_per_month"):
        profile_from_mapping(raw)
    with pytest.raises(ParameterError, match="traffic.api"):
        profile_from_mapping(changed("traffic", {"api_spend_usd_per_month": 1000}))
    with pytest.raises(ParameterError, match="traffic.api"):
        profile_from_mapping(changed("traffic.api", "openai/gpt-5"))


@pytest.mark.parametrize("path, value, named", [
    ("model", "no-such-model", "model"), ("gpus", ["tpu-v9"], r"gpus\[0\]"), ("apis", ["nobody/nothing"], "apis"),
    ("traffic", {"api_spend_usd_per_month": 100, "api": "nobody/x"}, "traffic.api"),
])
def test_unknown_names_are_named(path, value, named):
    with pytest.raises(ParameterError, match=rf"profile field {named} "):
        resolve(profile_from_mapping(changed(path, value)))


def test_a_yaml_file_is_read_strictly(tmp_path):
    p = tmp_path / "p.yaml"
    p.write_text("model: llama-3.3-70b\ntraffic: {tok_per_day: 5e6, input_share: 0.7}\n"
                 "latency: {ttft_ms: 1000, tpot_ms: 100}\navailability: 0.99\ngpus: [a100-80gb]\n")
    assert read_profile(p).traffic.tok_per_day == 5e6  # YAML 1.1 would read "5e6" as a string
    for text, problem in [("", "empty"), ("- a\n- b\n", "must be a mapping"), ("a: [1\n", "not valid YAML"),
                          ("a: 1\na: 2\n", "given twice"), ("a: &x [1]\nb: *x\n", "aliases")]:
        p.write_text(text)
        with pytest.raises(DataError, match=problem):
            read_strict_yaml(p, "profile", empty_ok=False)


def test_hostile_files_are_refused_without_reading_them(tmp_path):
    big = tmp_path / "big.yaml"
    big.write_text("a: " + "x" * 2_000_000)
    with pytest.raises(DataError, match="too large"):
        read_strict_yaml(big)
    with pytest.raises(DataError, match="not a regular file"):
        read_strict_yaml(tmp_path)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(DataError, match="not a regular file"):
        read_strict_yaml(fifo)
    with pytest.raises(DataError, match="cannot read the parameters file: No such file"):
        read_strict_yaml(tmp_path / "missing.yaml")
    with pytest.raises(DataError, match="not a regular file"):
        read_strict_yaml("/dev/zero")


def test_a_billion_laughs_is_refused_at_once():
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n" + "".join(
        f"{chr(99 + i)}: &{chr(99 + i)} [" + ", ".join([f"*{chr(98 + i)}"] * 9) + "]\n" for i in range(8))
    with pytest.raises(DataError, match="aliases"):
        parse_strict_yaml(bomb)
