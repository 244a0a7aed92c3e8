"""The GPU rental table and its loader (data/gpu_prices.csv, selfhost.data.prices.load_gpu_prices)."""

import pytest

from selfhost.data.prices import load_gpu_prices
from selfhost.errors import DataError, ParameterError


def _rewrite(data_dir, old, new, name="gpu_prices.csv"):
    path = data_dir / name
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_gpu_prices_load_typed():
    prices = load_gpu_prices()
    assert prices and all(p.gpu_usd_per_hour > 0 and p.source.startswith("http") for p in prices)
    assert len({p.key for p in prices}) == len(prices)
    runpod = next(p for p in prices if p.key == "a100-80gb/spot/runpod")
    assert runpod.gpu_usd_per_hour == 1.39 and runpod.retrieved.year == 2026


def test_missing_date_names_file_row_and_column(data_copy):
    _rewrite(data_copy, "runpod-gpu-pricing,2026-11-27,", "runpod-gpu-pricing,,")
    with pytest.raises(DataError, match=r"gpu_prices.csv, row 1, column retrieved: empty"):
        load_gpu_prices()


def test_missing_source_names_file_row_and_column(data_copy):
    _rewrite(data_copy, "https://deploybase.ai/articles/runpod-gpu-pricing,", ",")
    with pytest.raises(DataError, match=r"gpu_prices.csv, row 1, column source: empty"):
        load_gpu_prices()


def test_source_must_be_an_address(data_copy):
    _rewrite(data_copy, "https://deploybase.ai/articles/runpod-gpu-pricing,", "a blog,")
    with pytest.raises(DataError, match=r"row 1, column source: 'a blog' is not a web address"):
        load_gpu_prices()


@pytest.mark.parametrize("bad", ["-1.39", "0"])
def test_non_positive_price_is_refused(data_copy, bad):
    _rewrite(data_copy, "spot,1.39,", f"spot,{bad},")
    with pytest.raises(DataError, match=r"row 1, column gpu_usd_per_hour: .* out of range: must be > 0"):
        load_gpu_prices()


def test_unknown_pricing_kind_is_refused(data_copy):
    _rewrite(data_copy, "runpod,spot,1.39", "runpod,cheap,1.39")
    with pytest.raises(DataError, match=r"row 1, column pricing: 'cheap' is not one of"):
        load_gpu_prices()


def test_unknown_unit_is_refused(data_copy):
    _rewrite(data_copy, "unit: USD/h", "unit: EUR/h", "gpu_prices.meta.yaml")
    with pytest.raises(DataError, match=r"column gpu_usd_per_hour: unknown unit 'EUR/h'"):
        load_gpu_prices()


def test_duplicate_price_is_refused(data_copy):
    path = data_copy / "gpu_prices.csv"
    first = path.read_text().splitlines()[1]
    path.write_text(path.read_text() + first + "\n")
    with pytest.raises(DataError, match=r"a100-80gb/spot/runpod already appears in row 1"):
        load_gpu_prices()


def test_malformed_row_is_refused(data_copy):
    path = data_copy / "gpu_prices.csv"
    path.write_text(path.read_text() + "a100-80gb,x,spot,not-a-price,1,https://e.org,2026-11-27,\n")
    with pytest.raises(DataError, match=r"row 20, column gpu_usd_per_hour: 'not-a-price' is not a valid float"):
        load_gpu_prices()


def test_gpu_price_type_validates():
    import datetime as dt

    from selfhost.prices import GpuPrice

    with pytest.raises(ParameterError, match="pricing"):
        GpuPrice("a100-80gb", "x", "cheap", 1.0, 1, "https://e.org", dt.date(2026, 1, 1))
