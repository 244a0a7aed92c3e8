"""The price tables and their loaders (data/api_prices.csv, data/gpu_prices.csv), hostile input included,
and the API table cross-checked against genai-prices."""

import datetime as dt
import sys
from pathlib import Path

import pytest
import yaml

from selfhost import paths
from selfhost.data.prices import load_api_prices, load_gpu_prices
from selfhost.errors import DataError, ParameterError

sys.path.insert(0, str(Path(__file__).parent))
import genai_cross_check


def _rewrite(data_dir, old, new, name="gpu_prices.csv", checked_in=False):
    """Edit a table copy; ``checked_in`` also puts the new sha256 in its manifest (a reviewed edit)."""
    path = data_dir / name
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))
    if checked_in:
        from selfhost.data.tables import manifest_path, sha256_of

        meta = manifest_path(path)
        lines = [f"sha256: {sha256_of(path)}" if line.startswith("sha256:") else line
                 for line in meta.read_text().splitlines()]
        meta.write_text("\n".join(lines) + "\n")


def _append(data_dir, line, name="api_prices.csv"):
    path = data_dir / name
    path.write_text(path.read_text() + line + "\n")


def test_gpu_prices_load_typed_and_dated():
    prices = load_gpu_prices()
    assert prices and all(p.gpu_usd_per_hour > 0 and p.source.startswith("http") for p in prices)
    assert len({p.key for p in prices}) == len(prices)
    runpod = next(p for p in prices if p.key == "a100-80gb/community/runpod")  # once filed as spot
    assert runpod.gpu_usd_per_hour == 1.39 and runpod.copy_date == dt.date(2026, 3, 1)
    aws = {p.pricing: p.gpu_usd_per_hour for p in prices if p.gpu == "h100-80gb" and p.provider == "aws"}
    assert aws["on-demand"] == 6.88 and all(v <= aws["on-demand"] for v in aws.values())
    gcp = {p.pricing: p.gpu_usd_per_hour for p in prices if p.gpu == "h100-80gb" and p.provider == "gcp"}
    assert gcp == {"on-demand": 10.98, "spot": 6.57}
    assert any(p.gpu == "h100-nvl-94gb" and p.provider == "azure" for p in prices)


def test_reserved_is_never_dearer_than_on_demand():
    prices = load_gpu_prices()
    for p in prices:
        if p.pricing == "reserved":
            od = [q.gpu_usd_per_hour for q in prices if (q.gpu, q.provider, q.pricing) == (p.gpu, p.provider, "on-demand")]
            assert all(p.gpu_usd_per_hour <= v for v in od), p.key


def test_api_prices_cover_the_current_generation_with_copy_dates():
    prices = {p.key: p for p in load_api_prices()}
    for key in ("anthropic/claude-fable-5.2", "anthropic/claude-opus-5.5", "anthropic/claude-sonnet-5.5",
                "anthropic/claude-haiku-5.5", "openai/gpt-6.2-astra", "openai/gpt-6.2-sol", "openai/gpt-6-luna",
                "google/gemini-4-argon", "google/gemini-3.8-flash", "deepseek/deepseek-v4-pro",
                "deepinfra/qwen3.8-27b"):
        assert prices[key].status == "current" and prices[key].copy_date is not None, key
    assert all(p.copy_date is not None and p.copy_date <= p.retrieved for p in prices.values())
    sonnet = prices["anthropic/claude-sonnet-5.5"]
    assert sonnet.batch_input_usd_per_mtok == 1.0 and sonnet.cached_input_usd_per_mtok == 0.1
    assert sonnet.blended_usd_per_mtok(0.7, batch=True) == pytest.approx(0.5 * sonnet.blended_usd_per_mtok(0.7))


def test_cross_check_against_genai_prices():
    """Every disagreement with genai-prices for the models both cover is the one the manifest documents
    and resolves (data/api_prices.meta.yaml, cross_check.disagreements)."""
    found = genai_cross_check.disagreements(load_api_prices(), dt.date(2026, 12, 2))
    documented = yaml.safe_load((paths.ROOT / "data" / "api_prices.meta.yaml").read_text())["cross_check"]
    listed = {(d["model"], d["column"], d["ours"], d["theirs"]) for d in documented["disagreements"]}
    assert all(d.get("resolution") for d in documented["disagreements"])
    found_set = {(d.model, d.column, d.ours, d.theirs) for d in found}
    assert found_set == listed, ("disagreements with genai-prices not documented in the manifest: "
                                 f"{sorted(found_set - listed)}; documented but gone: {sorted(listed - found_set)}")
    prices = {p.key for p in load_api_prices()}
    assert len([k for k in genai_cross_check.MAPPING if k in prices]) >= 20  # the models both cover


def test_missing_date_names_file_row_and_column(data_copy):
    _rewrite(data_copy, "runpod-gpu-pricing,2026-11-27,", "runpod-gpu-pricing,,")
    with pytest.raises(DataError, match=r"gpu_prices.csv, row 1, column retrieved: empty"):
        load_gpu_prices()


def test_source_must_be_an_address(data_copy):
    _rewrite(data_copy, "https://deploybase.ai/articles/runpod-gpu-pricing,", "a blog,", checked_in=True)
    with pytest.raises(DataError, match=r"row 1, column source: 'a blog' is not a web address"):
        load_gpu_prices()


@pytest.mark.parametrize("bad", ["-1.39", "0", "0.023"])
def test_out_of_range_gpu_price_is_refused(data_copy, bad):
    """Negative, zero, and a per-minute price ($1.39/h = $0.023/min) entered as per hour."""
    _rewrite(data_copy, "community,1.39,", f"community,{bad},")
    with pytest.raises(DataError, match=r"row 1, column gpu_usd_per_hour: .* out of range: must be >= 0.2"):
        load_gpu_prices()


def test_an_instance_price_entered_per_gpu_is_refused(data_copy):
    _rewrite(data_copy, "on-demand,6.88,8", "on-demand,55.04,8")
    with pytest.raises(DataError, match=r"column gpu_usd_per_hour: 55.04 USD/h is out of range: must be <= 20"):
        load_gpu_prices()


def test_unknown_pricing_kind_is_refused(data_copy):
    _rewrite(data_copy, "runpod,community,1.39", "runpod,cheap,1.39")
    with pytest.raises(DataError, match=r"row 1, column pricing: 'cheap' is not one of"):
        load_gpu_prices()


def test_duplicate_gpu_price_names_both_rows(data_copy):
    path = data_copy / "gpu_prices.csv"
    first = path.read_text().splitlines()[1]
    _append(data_copy, first, "gpu_prices.csv")
    rows = len(path.read_text().splitlines()) - 1
    with pytest.raises(DataError, match=rf"row {rows}: rows 1 and {rows} both have gpu=a100-80gb, provider=runpod, "
                                        "pricing=community"):
        load_gpu_prices()


def test_duplicate_api_row_names_both_rows(data_copy):
    """The book used both duplicate rows and the CLI the first: a duplicate is now an error for both."""
    first = (data_copy / "api_prices.csv").read_text().splitlines()[1]
    _append(data_copy, first)
    with pytest.raises(DataError, match=r"rows 1 and \d+ both have provider=anthropic, model=claude-fable-5.2"):
        load_api_prices()


def test_extra_cells_are_refused_not_dropped(data_copy):
    _rewrite(data_copy, "2026-11-10,\"reseller", "2026-11-10,extra,\"reseller", "api_prices.csv")
    with pytest.raises(DataError, match=r"api_prices.csv, row 1: 1 cell\(s\) more than the header's 13 columns"):
        load_api_prices()


@pytest.mark.parametrize("old, new, column", [
    ("current,8.00,0.20,40.00,4.00,20.00", "current,0.008,0.0002,0.04,0.004,0.02", "input_usd_per_mtok"),
    ("current,2.00,0.10,10.00,1.00,5.00", "current,0.002,0.0001,0.01,0.001,0.005", "input_usd_per_mtok"),
])
def test_a_price_per_1k_tokens_is_refused(data_copy, old, new, column):
    _rewrite(data_copy, old, new, "api_prices.csv")
    with pytest.raises(DataError, match=rf"column {column}: .*(out of range|per 1k tokens)"):
        load_api_prices()


def test_a_price_far_from_its_tier_is_refused(data_copy):
    # Opus 5.5 at $0.015/$0.10: above every column floor, but under 1/100 of the frontier median
    _rewrite(data_copy, "current,4.00,0.20,20.00,2.00,10.00", "current,0.015,0.001,0.10,0.01,0.05", "api_prices.csv",
             checked_in=True)
    with pytest.raises(DataError, match=r"row 2, column input_usd_per_mtok: \$0.015/Mtok is more than 100x from the "
                                        r"frontier median"):
        load_api_prices()


@pytest.mark.parametrize("old, new, message", [
    ("current,8.00,0.20,40.00,4.00,20.00", "current,8.00,9.00,40.00,4.00,20.00", "cached input \\$9 is above"),
    ("current,8.00,0.20,40.00,4.00,20.00", "current,40.00,0.20,8.00,4.00,4.00", "output \\$8 is below input"),
    ("current,8.00,0.20,40.00,4.00,20.00", "current,8.00,0.20,40.00,9.00,20.00", "batch input \\$9 is above"),
    ("frontier,current,8.00", "frontier,curent,8.00", "'curent' is not one of"),
    ("anthropic,claude-fable-5.2,frontier", "anthropic,claude-fable-5.2,fronteer", "'fronteer' is not one of"),
])
def test_row_checks_name_row_and_column(data_copy, old, new, message):
    _rewrite(data_copy, old, new, "api_prices.csv", checked_in=True)
    with pytest.raises(DataError, match=rf"api_prices.csv, row 1, column .*{message}"):
        load_api_prices()


def test_an_unchecked_edit_is_refused_by_its_sha256(data_copy):
    """A valid edit without its manifest's sha256 fails loading, naming the file (make book used to miss it)."""
    _rewrite(data_copy, "current,8.00,0.20,40.00,4.00,20.00", "current,8.50,0.20,40.00,4.00,20.00", "api_prices.csv")
    with pytest.raises(DataError, match=r"api_prices.csv: its sha256 is [0-9a-f]{64}, not the [0-9a-f]{64} that "
                                        r"api_prices.meta.yaml records"):
        load_api_prices()


def test_price_types_validate():
    from selfhost.prices import ApiPrice, GpuPrice

    with pytest.raises(ParameterError, match="pricing"):
        GpuPrice("a100-80gb", "x", "cheap", 1.0, 1, "https://e.org", dt.date(2026, 1, 1))
    with pytest.raises(ParameterError, match="tier"):
        ApiPrice("a", "b", "closed", "current", 1.0, 2.0, None, "https://e.org", dt.date(2026, 1, 1))
    with pytest.raises(ParameterError, match="batch_output_usd_per_mtok"):
        ApiPrice("a", "b", "frontier", "current", 1.0, 2.0, None, "https://e.org", dt.date(2026, 1, 1), 0.5, None)
    no_batch = ApiPrice("a", "b", "frontier", "current", 1.0, 2.0, None, "https://e.org", dt.date(2026, 1, 1))
    with pytest.raises(ParameterError, match="batch"):
        no_batch.blended_usd_per_mtok(0.5, batch=True)
