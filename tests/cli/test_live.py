"""``selfhost live``: bad options and unreachable servers end with a clear message and exit code 2."""

from __future__ import annotations

from selfhost import cli
from selfhost.live import engine as eng


def test_a_url_where_nothing_listens(capsys, tmp_path):
    port = eng.free_port(8280)
    code = cli.main(["live", "--url", f"http://127.0.0.1:{port}", "--runs-dir", str(tmp_path)])
    assert code == 2
    assert "nothing answers at /v1/models" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_another_engine_needs_a_url(capsys, tmp_path):
    assert cli.main(["live", "--engine", "sglang", "--runs-dir", str(tmp_path)]) == 2
    assert "only vLLM is launched here" in capsys.readouterr().err


def test_an_unknown_workload_is_refused(capsys):
    import pytest

    with pytest.raises(SystemExit):
        cli.main(["live", "--workloads", "chat"])
    assert "unknown workload" in capsys.readouterr().err
