"""``selfhost monitor``: the rules for a target, and clear errors for bad options."""

from __future__ import annotations

import pytest

from selfhost import alertrules as ar
from selfhost import cli


def test_rules_to_stdout_follow_the_target(capsys):
    assert cli.main(["monitor", "rules", "--ttft-slo-ms", "800"]) == 0
    out = capsys.readouterr().out
    assert out == ar.rules_yaml(ar.AlertPolicy(ttft_slo_ms=800))
    assert "selfhost:vllm_ttft_quantile_seconds > 0.8" in out


def test_rules_file_is_checked_and_never_silently_replaced(tmp_path, capsys):
    out = tmp_path / "rules.yml"
    assert cli.main(["monitor", "rules", "--out", str(out), "--for-s", "60"]) == 0
    assert "promtool: ok" in capsys.readouterr().out
    assert cli.main(["monitor", "rules", "--out", str(out)]) == 2
    assert "exists; pass --force" in capsys.readouterr().err
    assert "for: 60s" in out.read_text()
    assert cli.main(["monitor", "rules", "--out", str(out), "--force"]) == 0
    assert "for: 15s" in out.read_text()


def test_a_bad_target_is_named(capsys):
    assert cli.main(["monitor", "rules", "--ttft-slo-ms", "-5"]) == 2
    assert "parameter ttft_slo_ms = -5.0 is invalid" in capsys.readouterr().err


def test_overload_needs_a_url_for_other_engines(capsys, tmp_path):
    assert cli.main(["monitor", "overload", "--engine", "sglang", "--runs-dir", str(tmp_path)]) == 2
    assert "only vLLM is launched here" in capsys.readouterr().err


def test_overload_refuses_a_bad_plan_before_starting_anything(capsys, tmp_path):
    assert cli.main(["monitor", "overload", "--overload-rate", "1", "--runs-dir", str(tmp_path)]) == 2
    assert "must exceed baseline_rate_req_per_s" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_an_unreachable_server(capsys, tmp_path):
    from selfhost.live import engine as eng

    port = eng.free_port(8460, range(8400, 8500))
    assert cli.main(["monitor", "overload", "--url", f"http://127.0.0.1:{port}", "--runs-dir", str(tmp_path)]) == 2
    assert "nothing answers at /v1/models" in capsys.readouterr().err


def test_an_action_is_required(capsys):
    with pytest.raises(SystemExit):
        cli.main(["monitor"])
