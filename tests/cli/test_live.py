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
    assert "vLLM and llama.cpp are launched here" in capsys.readouterr().err


def test_an_unknown_workload_is_refused(capsys):
    import pytest

    with pytest.raises(SystemExit):
        cli.main(["live", "--workloads", "chat"])
    assert "unknown workload" in capsys.readouterr().err


def test_the_estimate_names_its_duration_and_runs_nothing(capsys, tmp_path):
    assert cli.main(["live", "--estimate", "--runs-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("about ") and "minutes" in out
    assert not any(tmp_path.iterdir())


def test_bad_plan_sizes_are_one_line_and_exit_2(capsys):
    import pytest

    for argv in (["live", "--reps", "0"], ["live", "--requests-x", "nan"], ["live", "--port", "80"]):
        with pytest.raises(SystemExit) as exc:
            cli.main(argv)
        assert exc.value.code == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1


def test_the_gpu_size_scales_the_plan():
    import argparse

    from selfhost.cli.live import plan_from

    args = argparse.Namespace(quick=False, size="gpu", requests_x=1.0, lengths_x=1.0, max_concurrency=None, reps=None,
                              model=None, url="http://x")
    plan = plan_from(args)
    assert plan.few_shot_prompts == 8 * 32 and plan.few_shot_prefix_len == 2 * 3072
