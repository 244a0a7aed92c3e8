"""The serving charts: one mark per published setup (never a sum over settings), intervals that show."""

from __future__ import annotations

import pandas as pd

from selfhost.charts import serving as charts
from selfhost.data.tables import load_table


def test_each_published_bar_is_one_setup_and_one_engine():
    bench = load_table("engine_benchmarks")
    setups = charts.published_setups(bench)
    assert not setups.duplicated(["setup", "engine"]).any()  # a bar never adds up two measurements
    dstack = setups[setups["publisher"] == "dstack"]
    assert dstack["setup"].nunique() == dstack["workload"].nunique() > 1
    spec = charts.published_throughput_chart(bench).to_dict()
    assert spec["resolve"]["scale"] == {"x": "independent", "y": "independent"}  # no empty engine rows
    assert spec["encoding"]["y"]["field"] == "engine" and spec["encoding"]["row"]["field"] == "setup"


def test_the_ratio_axis_spans_the_data_and_draws_every_interval():
    table = pd.DataFrame([{"shape": "chat", "concurrency": c, "ratio_x": x, "ratio_low_x": x * 0.95,
                           "ratio_high_x": x * 1.05, "pairs_count": 5, "engine": "vllm", "baseline": "llama.cpp"}
                          for c, x in ((1, 1.4), (4, 3.3), (8, 17.6))])
    spec = charts.engine_ratio_chart(table).to_dict()
    low, high = spec["layer"][1]["encoding"]["y"]["scale"]["domain"]
    assert low <= 1.0 and 17.6 * 1.05 <= high < 30  # not the next power of ten
    marks = [layer["mark"]["type"] for layer in spec["layer"]]
    assert marks.count("tick") == 2 and "rule" in marks
    assert spec["title"].startswith("vllm over llama.cpp")


def test_interval_axes_span_the_intervals_and_the_threshold():
    table = pd.DataFrame([{"setting": "on", "recording": "r", "speedup_x": 8.0, "speedup_low_x": 7.4,
                           "speedup_high_x": 8.2},
                          {"setting": "off", "recording": "r", "speedup_x": 1.0, "speedup_low_x": 0.97,
                           "speedup_high_x": 1.01}])
    spec = charts.interval_chart(table, "setting", "speedup_x", "speedup_low_x", "speedup_high_x",
                                 threshold=1.0).to_dict()
    low, high = spec["layer"][0]["encoding"]["x"]["scale"]["domain"]
    assert 0.5 < low < 0.97 and 8.2 < high < 10
