"""The committed traffic summaries: provenance, the interface the cost analyses use, and re-derivation."""

from __future__ import annotations

import json

import pytest

from selfhost.data import traffic as data_traffic
from selfhost.data.traces import TraceError
from selfhost.errors import DataError
from selfhost.traffic import TrafficSummary

NAMES = ["azure-2023-code", "azure-2023-conv", "mooncake-conversation"]
TRACES = data_traffic.DEFAULT_TRACES


def test_names_and_the_interface():
    assert data_traffic.summary_names() == NAMES
    for name in NAMES:
        s = data_traffic.load_summary(name)
        assert isinstance(s, TrafficSummary) and s.name == name
        assert s.window_s == 60 and s.peak_to_mean_x == s.peak_to_mean_by_window[60]
        assert s.source.startswith("https://github.com/") and len(s.sha256) == 64 and s.licence and s.citation
        assert s.peak_provisioned_utilisation_share == pytest.approx(1 / s.peak_to_mean_x)


def test_the_figures_sources_md_reports():
    """SOURCES.md (2026-12-02): 84.5%, 98.7%, 97.2%; about 1.5, 4.2, 1.2 at 60 s; ~37% cacheable."""
    conv, code, moon = (data_traffic.load_summary(n) for n in ("azure-2023-conv", "azure-2023-code",
                                                               "mooncake-conversation"))
    assert (round(conv.input_share, 3), round(code.input_share, 3), round(moon.input_share, 3)) == (0.845, 0.987, 0.972)
    assert conv.peak_to_mean_x == pytest.approx(1.5, abs=0.05)
    assert code.peak_to_mean_x == pytest.approx(4.2, abs=0.05)
    assert moon.peak_to_mean_x == pytest.approx(1.2, abs=0.05)
    assert moon.prefix_hit_share == pytest.approx(0.37, abs=0.01) and moon.block_tok == 512
    assert conv.prefix_hit_share is None and code.prefix_hit_share_bounded == {}
    assert conv.requests_count == 19_366 and code.requests_count == 8_819 and moon.requests_count == 12_031
    bounded = moon.prefix_hit_share_bounded
    assert list(bounded) == sorted(bounded) and all(a <= b for a, b in zip(bounded.values(), list(bounded.values())[1:]))


def test_manifests_name_source_licence_and_the_trace_checksum():
    for name in NAMES:
        manifest = data_traffic.load_manifest(name)
        assert manifest["trace_sha256"] == data_traffic.load_summary(name).sha256
        assert manifest["retrieved"] and manifest["source_commit"] and "make traffic" in manifest["derived_by"]


def test_an_altered_summary_is_refused(data_copy):
    path = data_copy / "traffic" / "azure-2023-conv.json"
    raw = json.loads(path.read_text())
    raw["input_share"] = 0.7
    path.write_text(json.dumps(raw))
    with pytest.raises(DataError, match="sha256 differs"):
        data_traffic.load_summary("azure-2023-conv")
    with pytest.raises(DataError, match="no such traffic summary; known: azure-2023-code"):
        data_traffic.load_summary("sharegpt")


def test_derive_refuses_a_missing_or_different_trace_and_writes_nothing(data_copy, tmp_path):
    before = {p.name: p.read_bytes() for p in (data_copy / "traffic").iterdir()}
    with pytest.raises(TraceError, match="trace not found"):
        data_traffic.derive_all(tmp_path / "nowhere")
    fake = tmp_path / "traces" / "azure-llm-2023"
    fake.mkdir(parents=True)
    (fake / "AzureLLMInferenceTrace_code.csv").write_text(
        "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:17:03.9799600,4808,10\n")
    with pytest.raises(TraceError, match="a different copy of the trace"):
        data_traffic.derive_all(tmp_path / "traces", ["azure-2023-code"])
    assert {p.name: p.read_bytes() for p in (data_copy / "traffic").iterdir()} == before


@pytest.mark.skipif(not TRACES.is_dir(), reason=f"the raw traces are not at {TRACES} (set SELFHOST_TRACES)")
@pytest.mark.parametrize("name", NAMES)
def test_rederived_summaries_match_the_committed_ones(name):
    summary, _ = data_traffic.derive(name, TRACES)
    committed = data_traffic.load_summary(name)
    fresh, old = summary.to_dict(), committed.to_dict()
    assert fresh.keys() == old.keys()
    for key in fresh:
        if isinstance(fresh[key], float):
            assert fresh[key] == pytest.approx(old[key], rel=1e-12), key
        else:
            assert fresh[key] == old[key], key
    assert data_traffic.summary_json(summary) == (data_traffic.traffic_dir() / f"{name}.json").read_text()
