import datetime as dt
from pathlib import Path

import pytest

from selfhost import paths
from selfhost.data.prices import load_api_prices
from selfhost.data.tables import load_table, read_manifest, sha256_of
from selfhost.errors import DataError


def source_is_resolvable(source: str) -> bool:
    """An http(s) address, or a file of this repository (a script or run record that measured it)."""
    if source.startswith(("https://", "http://")):
        return True
    path = source.split()[0]
    return (paths.ROOT / path).exists()


TABLES = sorted(p for p in (paths.ROOT / "data").glob("*.csv"))


def test_there_are_tables():
    assert TABLES


@pytest.mark.parametrize("table", TABLES, ids=lambda p: p.name)
def test_every_table_loads_and_matches_its_manifest_checksum(table: Path):
    manifest = read_manifest(table)
    assert manifest.sha256 == sha256_of(table), f"{table.name} changed: update sha256 in {manifest.path.name}"
    frame = load_table(table)
    assert len(frame) > 0
    for i, source in enumerate(frame["source"], start=1):
        assert source_is_resolvable(source), f"{table.name}, row {i}: source {source!r} is neither an address nor a file here"
    assert all(isinstance(d, dt.date) for d in frame["retrieved"])


@pytest.mark.parametrize("table", TABLES, ids=lambda p: p.name)
def test_every_table_names_the_pages_that_use_it(table: Path):
    for page in read_manifest(table).used_by:
        assert (paths.ROOT / page).exists(), f"{table.name}: used_by names a missing file {page}"


def test_api_prices_are_typed():
    prices = load_api_prices()
    gpt5 = next(p for p in prices if p.key == "openai/gpt-5")
    assert gpt5.input_usd_per_mtok == 1.25 and gpt5.cached_input_usd_per_mtok == 0.125
    assert gpt5.copy_date == dt.date(2026, 11, 5)


def _rewrite(data_copy: Path, old: str, new: str) -> None:
    csv = data_copy / "api_prices.csv"
    text = csv.read_text()
    assert old in text
    csv.write_text(text.replace(old, new, 1))


def test_missing_source_names_file_row_and_column(data_copy):
    _rewrite(data_copy, "https://docs.laozhang.ai/announcements/claude-fable-5-2-2026-11.md", "")
    with pytest.raises(DataError, match=r"api_prices.csv, row 1, column source: empty"):
        load_api_prices()


def test_non_numeric_price_names_file_row_and_column(data_copy):
    _rewrite(data_copy, "current,8.00,", "current,eight,")
    with pytest.raises(DataError, match=r"row 1, column input_usd_per_mtok: 'eight' is not a valid float"):
        load_api_prices()


def test_negative_price_is_refused(data_copy):
    _rewrite(data_copy, "current,8.00,", "current,-8.00,")
    with pytest.raises(DataError, match=r"column input_usd_per_mtok: -8 USD/Mtok is out of range: must be >= 0.01"):
        load_api_prices()


def test_malformed_date_is_refused(data_copy):
    _rewrite(data_copy, "2026-12-02", "02/12/2026")
    with pytest.raises(DataError, match=r"column retrieved: '02/12/2026' is not a valid date"):
        load_api_prices()


def test_future_date_is_refused(data_copy):
    _rewrite(data_copy, "2026-12-02", "2999-01-01")
    with pytest.raises(DataError, match="lies in the future"):
        load_api_prices()


def test_unknown_unit_in_manifest_is_refused(data_copy):
    meta = data_copy / "api_prices.meta.yaml"
    meta.write_text(meta.read_text().replace("unit: USD/Mtok, ge: 0.01, le: 200, description: \"uncached", "unit: EUR/Mtok, ge: 0.01, le: 200, description: \"uncached"))
    with pytest.raises(DataError, match=r"column input_usd_per_mtok: unknown unit 'EUR/Mtok'"):
        load_api_prices()


def test_header_mismatch_is_refused(data_copy):
    _rewrite(data_copy, "provider,model", "vendor,model")
    with pytest.raises(DataError, match=r"missing \['provider'\], unexpected \['vendor'\]"):
        load_api_prices()


def test_missing_manifest_is_refused(data_copy):
    (data_copy / "api_prices.meta.yaml").unlink()
    with pytest.raises(DataError, match="no manifest"):
        load_api_prices()
