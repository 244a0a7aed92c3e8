"""``selfhost monitor``: the rules for a target, and hostile input: one line naming the input,
exit code 2, and no file changed."""

from __future__ import annotations

import hashlib

import pytest

from selfhost import alertrules as ar
from selfhost import cli, paths


def digest_of_data() -> dict[str, str]:
    """Every file under data/ and its sha256: a failed command changes none."""
    return {str(p.relative_to(paths.ROOT)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(paths.data_dir().rglob("*")) if p.is_file()}


@pytest.fixture
def data_unchanged():
    before = digest_of_data()
    yield
    assert digest_of_data() == before, "a command changed a file under data/"


def one_line_exit_2(capsys, argv: list[str], *needles: str) -> str:
    try:
        code = cli.main(argv)
    except SystemExit as exc:  # usage errors exit from the parser
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    for needle in needles:
        assert needle in err, err
    return err


def test_rules_to_stdout_follow_the_target(capsys):
    assert cli.main(["monitor", "rules", "--ttft-slo-ms", "800"]) == 0
    out = capsys.readouterr().out
    assert out == ar.rules_yaml(ar.AlertPolicy(ttft_slo_ms=800))
    assert "selfhost:vllm_ttft_quantile_seconds > 0.8" in out


def test_rules_file_is_checked_and_never_silently_replaced(tmp_path, capsys):
    out = tmp_path / "rules.yml"
    assert cli.main(["monitor", "rules", "--out", str(out), "--for-s", "60"]) == 0
    assert "promtool: ok" in capsys.readouterr().out
    one_line_exit_2(capsys, ["monitor", "rules", "--out", str(out)], "exists; pass --force")
    assert "for: 60s" in out.read_text()
    assert cli.main(["monitor", "rules", "--out", str(out), "--force"]) == 0
    assert "for: 15s" in out.read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["rules.yml"]  # no temporary file left


@pytest.mark.parametrize("argv, needles", [
    (["--ttft-slo-ms", "inf"], ("--ttft-slo-ms", "'inf' is not a finite number")),
    (["--ttft-slo-ms", "nan"], ("--ttft-slo-ms", "'nan' is not a finite number")),
    (["--ttft-slo-ms", "-5"], ("--ttft-slo-ms", "out of range")),
    (["--ttft-slo-ms", "1e308"], ("--ttft-slo-ms", "out of range")),
    (["--ttft-quantile", "1"], ("--ttft-quantile",)),
    (["--error-ratio-max", "1.5"], ("--error-ratio-max",)),
    (["--for-s", "2.5"], ("--for-s", "not a whole number")),
    (["--rate-window-s", "1"], ("--rate-window-s",)),
    (["--job", "vllm"], ("unrecognized arguments: --job",)),
])
def test_bad_targets_are_named(capsys, argv, needles, data_unchanged):
    one_line_exit_2(capsys, ["monitor", "rules", *argv], *needles)


def test_a_data_file_is_never_replaced_by_rules(capsys, data_unchanged):
    one_line_exit_2(capsys, ["monitor", "rules", "--out", "data/api_prices.csv", "--force"],
                    "data/api_prices.csv", ".yml or .yaml")
    one_line_exit_2(capsys, ["monitor", "rules", "--out", "data/rules.yml", "--force"], "data/rules.yml", "inside")
    one_line_exit_2(capsys, ["monitor", "rules", "--out", str(paths.data_dir() / "runs" / "x.yml")], "inside")


def test_a_directory_is_refused(capsys, tmp_path, data_unchanged):
    one_line_exit_2(capsys, ["monitor", "rules", "--out", str(tmp_path)], str(tmp_path), "is a directory")
    one_line_exit_2(capsys, ["monitor", "rules", "--out", "data"], "--out data is a directory")
    assert list(tmp_path.iterdir()) == []


def test_an_existing_file_that_is_not_a_rules_file_is_never_replaced(capsys, tmp_path):
    other = tmp_path / "prometheus.yml"
    other.write_text("global: {}\n")
    one_line_exit_2(capsys, ["monitor", "rules", "--out", str(other), "--force"], "not a rules file written by")
    assert other.read_text() == "global: {}\n"
    link = tmp_path / "link.yml"
    link.symlink_to(paths.data_dir() / "api_prices.meta.yaml")
    one_line_exit_2(capsys, ["monitor", "rules", "--out", str(link), "--force"], "inside")


def test_a_missing_folder_is_named(capsys, tmp_path):
    one_line_exit_2(capsys, ["monitor", "rules", "--out", str(tmp_path / "nope" / "rules.yml")], "does not exist")
    assert not (tmp_path / "nope").exists()


@pytest.mark.parametrize("engine", ["../../..", "a/b", "..", "x" * 100])
def test_overload_refuses_an_engine_name_that_is_not_a_file_name(capsys, tmp_path, engine, data_unchanged):
    one_line_exit_2(capsys, ["monitor", "overload", "--engine", engine, "--runs-dir", str(tmp_path)], "engine name")
    assert list(tmp_path.iterdir()) == []


def test_overload_needs_a_url_for_other_engines(capsys, tmp_path):
    one_line_exit_2(capsys, ["monitor", "overload", "--engine", "sglang", "--runs-dir", str(tmp_path)],
                    "only vLLM is launched here")


@pytest.mark.parametrize("argv, needle", [
    (["--overload-rate", "1"], "must exceed baseline_rate_req_per_s"),
    (["--overload-rate", "inf"], "--overload-rate"),
    (["--request-timeout-s", "0"], "--request-timeout-s"),
    (["--request-timeout-s", "1e9"], "--request-timeout-s"),
    (["--kv-blocks", "-3"], "--kv-blocks"),
    (["--engine-port", "80"], "--engine-port"),
])
def test_overload_refuses_a_bad_plan_before_starting_anything(capsys, tmp_path, argv, needle, data_unchanged):
    one_line_exit_2(capsys, ["monitor", "overload", *argv, "--runs-dir", str(tmp_path)], needle)
    assert not any(tmp_path.iterdir())


def test_a_runs_dir_that_is_a_file_is_refused(capsys, tmp_path):
    f = tmp_path / "f"
    f.write_text("x")
    one_line_exit_2(capsys, ["monitor", "overload", "--runs-dir", str(f)], "is not a folder")
    assert f.read_text() == "x"


def test_faults_refuse_an_unknown_kind(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["monitor", "faults", "--kind", "explode"])
    assert exc.value.code == 2 and "invalid choice: 'explode'" in capsys.readouterr().err


def test_an_unreachable_server(capsys, tmp_path):
    from selfhost.live import engine as eng

    port = eng.free_port(8460, range(8400, 8500))
    one_line_exit_2(capsys, ["monitor", "overload", "--url", f"http://127.0.0.1:{port}", "--runs-dir", str(tmp_path)],
                    "nothing answers at /v1/models")


def test_a_missing_exporter_is_named_before_anything_starts(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("SELFHOST_BLACKBOX", str(tmp_path / "nope"))
    one_line_exit_2(capsys, ["monitor", "faults", "--kind", "kill", "--runs-dir", str(tmp_path)],
                    "$SELFHOST_BLACKBOX", "prometheus-blackbox-exporter")


def test_an_action_is_required(capsys):
    with pytest.raises(SystemExit):
        cli.main(["monitor"])
