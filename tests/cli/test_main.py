import subprocess

from selfhost import paths
from selfhost.cli import build_parser, main


def test_help_lists_the_pipeline_commands(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    for command in ("book", "refresh", "params"):
        assert command in out


def test_console_script_runs():
    result = subprocess.run([str(paths.ROOT / ".venv" / "bin" / "selfhost"), "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "usage: selfhost" in result.stdout


def test_params_lists_each_parameter_with_its_pages_and_defaults(capsys):
    assert main(["params"]) == 0
    out = capsys.readouterr().out
    assert "api_spend_usd_per_month: float; " in out and "  decision-tree: 4000.0" in out


def test_every_registered_command_has_help():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name, p in sub.choices.items():
        assert p.format_help(), name
