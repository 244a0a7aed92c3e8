"""The pipeline: parameters, execution errors, committed outputs, and nbval as a guard."""

from __future__ import annotations

import csv
import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from selfhost import paths
from selfhost.book import ledger, pipeline
from selfhost.cli import main
from selfhost.data.profile import inputs_for
from selfhost.data.traffic import load_summary
from selfhost.errors import SelfhostError

DECISION = paths.NOTEBOOKS / "decision-tree.ipynb"


def test_every_notebook_has_a_tagged_parameters_cell_of_typed_literals():
    for nb in pipeline.notebooks():
        params = pipeline.parameters_of(nb)
        assert params, f"{nb.name} has no parameters cell"
        for name, p in params.items():
            kinds = [k.strip() for k in p["inferred_type_name"].split("|")]
            assert all(k in pipeline.PYTHON_TYPES or k == "None" for k in kinds), f"{nb.name}: {name} has no simple type"
            assert p["help"], f"{nb.name}: {name} has no comment"


def test_every_notebook_records_a_verdict_in_a_checked_cell():
    for nb_path in pipeline.notebooks():
        nb = nbformat.read(nb_path, as_version=4)
        if not pipeline.records_claims(nb):
            continue  # a tool page ("Your deployment"): it decides no claim
        checked = [c for c in nb.cells if pipeline.CHECKED_TAG in c.metadata.get("tags", [])]
        assert any("show_verdict" in c.source for c in checked), nb_path.name
        assert ledger.verdicts_in(nb_path), f"{nb_path.name}: committed without its verdict output (make refresh)"


def test_committed_notebooks_keep_only_checked_outputs():
    for nb_path in pipeline.notebooks():
        nb = nbformat.read(nb_path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code" and pipeline.CHECKED_TAG not in cell.metadata.get("tags", []):
                assert not cell.outputs, f"{nb_path.name}: untagged cell with outputs (make refresh strips them)"
        assert "papermill" not in nb.metadata


def test_params_top_level_and_per_notebook():
    books = [DECISION]
    resolved = pipeline.resolve_params(
        {"input_share": 0.8, "decision-tree": {"ttft_target_ms": 150}}, books
    )
    assert resolved == {"decision-tree": {"input_share": 0.8, "ttft_target_ms": 150}}


def test_a_profile_gives_the_other_pages_its_resolved_traffic_gpu_price_and_api():
    # $25,000 a month on Claude Sonnet 4.6 at 85% input ($3 in, $15 out): $4.80/Mtok blended, 730 / 24 days a month.
    spec = pipeline.load_params_file(paths.ROOT / "examples" / "sonnet-spend-25k.yaml")
    resolved = pipeline.resolve_params(spec, pipeline.notebooks())
    be = resolved["break-even"]
    assert be["tok_per_day"] == round(25_000 / (0.85 * 3.0 + 0.15 * 15.0) * 1e6 / (730 / 24))
    assert (be["input_share"], be["peak_to_mean_x"], be["cached_share"]) == (0.85, 2.0, 0.0)
    assert (be["api_input_usd_per_mtok"], be["api_output_usd_per_mtok"]) == (3.0, 15.0)
    plan_inputs = inputs_for(spec)  # the GPU's price is the plan's: the data's, the profile giving none
    assert be["gpu"] == "a100-80gb" and be["gpu_usd_per_hour"] == plan_inputs.gpus[0].usd_per_hour
    assert resolved["cost-of-ownership"]["peak_to_mean_x"] == 2.0
    assert resolved["decision-tree"]["api_spend_usd_per_month"] == 25_000
    assert resolved["plan"] == {"profile": spec}


def test_a_profiles_trace_sets_the_other_pages_traffic():
    spec = pipeline.load_params_file(paths.ROOT / "examples" / "mooncake-8b.yaml")
    trace = load_summary("mooncake-conversation")
    be = pipeline.resolve_params(spec, pipeline.notebooks())["break-even"]
    assert (be["tok_per_day"], be["input_share"], be["peak_to_mean_x"], be["cached_share"]) == (
        5e8, trace.input_share, trace.peak_to_mean_x, trace.prefix_hit_share)
    assert be["prompt_tokens"] == round(trace.input_tok_quantiles["p50"])
    assert "api_spend_usd_per_month" not in be


def test_a_profile_naming_what_the_data_lacks_stops_before_any_notebook_runs():
    spec = pipeline.load_params_file(paths.ROOT / "examples" / "mooncake-8b.yaml")
    spec["model"] = "no-such-model"
    with pytest.raises(SelfhostError, match="model = 'no-such-model'"):
        pipeline.resolve_params(spec, pipeline.notebooks())


def test_int_is_accepted_for_a_float_parameter_but_not_a_string():
    assert pipeline.resolve_params({"input_share": 1}, [DECISION])["decision-tree"]["input_share"] == 1
    with pytest.raises(SelfhostError, match=r"decision-tree.input_share = '0.8': expected float"):
        pipeline.resolve_params({"input_share": "0.8"}, [DECISION])
    with pytest.raises(SelfhostError, match=r"decision-tree.custom_model = 1: expected bool"):
        pipeline.resolve_params({"custom_model": 1}, [DECISION])


def test_unknown_parameters_are_all_listed():
    with pytest.raises(SelfhostError) as err:
        pipeline.resolve_params({"gpu_colour": "red", "decision-tree": {"nope": 1}}, [DECISION])
    assert "gpu_colour: no notebook has a parameter of that name" in str(err.value)
    assert "decision-tree.nope: decision-tree has no such parameter" in str(err.value)


def test_book_with_bad_params_file_fails_before_running_anything(tmp_path, capsys):
    bad = tmp_path / "my.yaml"
    bad.write_text("gpu_colour: red\n")
    assert main(["book", "--params", str(bad)]) == 2
    assert "gpu_colour" in capsys.readouterr().err


def test_params_file_that_is_not_a_mapping(tmp_path):
    bad = tmp_path / "my.yaml"
    bad.write_text("- 1\n- 2\n")
    with pytest.raises(SelfhostError, match="must be a mapping of names to values"):
        pipeline.load_params_file(bad)


def independent_gate_min_tok_per_day(spend_usd_per_month: float, input_share: float) -> float:
    """The cheapest-volume frontier model for a spend, straight from the CSV (no selfhost code)."""
    with open(paths.ROOT / "data" / "api_prices.csv", newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["tier"] == "frontier" and r["status"] == "current"]
    days = 730 / 24  # the book's month: 730 hours, as cloud providers bill
    return min(
        spend_usd_per_month / days / (input_share * float(r["input_usd_per_mtok"])
                                      + (1 - input_share) * float(r["output_usd_per_mtok"])) * 1e6
        for r in rows
    )


@pytest.mark.slow
def test_decision_tree_with_non_default_parameters(tmp_path):
    out = tmp_path / "dt.ipynb"
    params = {"api_spend_usd_per_month": 25_000.0, "ttft_target_ms": 150.0, "input_share": 0.8,
              "spend_gate_usd_per_month": 20_000.0}
    pipeline.execute(DECISION, out, params)
    glued = ledger.glued(out)
    assert glued["c01_profile_outcome"] == "Self-host (latency)"
    (verdict,) = ledger.verdicts_in(out)
    expected = independent_gate_min_tok_per_day(20_000.0, 0.8)
    assert verdict.figures["gate_min_tok_per_day"] == pytest.approx(expected, rel=1e-5)
    assert glued["c01_gate_min_mtok_per_day"] == pytest.approx(expected / 1e6, rel=1e-9)


@pytest.mark.slow
@pytest.mark.parametrize("name,value,expected", [
    ("api_spend_usd_per_month", -5.0, "api_spend_usd_per_month = -5.0 is invalid: expected a number >= 0"),
    ("input_share", 1.5, r"input_share = 1.5 is invalid: expected a number in \[0, 1\]"),
    ("regulated_data", "maybe", "regulated_data = 'maybe' is invalid: expected true or false"),
])
def test_bad_parameter_stops_at_the_validation_cell(tmp_path, name, value, expected):
    with pytest.raises(pipeline.NotebookFailed) as err:
        pipeline.execute(DECISION, tmp_path / "dt.ipynb", {name: value})
    message = str(err.value)
    assert message.startswith("notebooks/decision-tree.ipynb failed at cell 5 ('PROFILE = decision.TeamProfile(")
    assert "ParameterError" in message
    import re

    assert re.search(expected, message)


def test_strip_for_commit_keeps_checked_outputs_only():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("1", execution_count=1, outputs=[nbformat.v4.new_output("execute_result", data={"text/plain": "1"}, execution_count=1)]),
        nbformat.v4.new_code_cell("2", execution_count=2, metadata={"tags": [pipeline.CHECKED_TAG]},
                                  outputs=[nbformat.v4.new_output("execute_result", data={"text/plain": "2"}, execution_count=2)]),
        nbformat.v4.new_code_cell("x = 3", metadata={"tags": ["injected-parameters"]}),
    ])
    nb.metadata["papermill"] = {"duration": 1}
    stripped = pipeline.strip_for_commit(nb)
    assert [c.source for c in stripped.cells] == ["1", "2"]
    assert stripped.cells[0].outputs == [] and stripped.cells[0].execution_count is None
    assert stripped.cells[1].outputs and "papermill" not in stripped.metadata


@pytest.mark.slow
def test_nbval_fails_when_a_data_change_moves_a_number(data_copy, tmp_path):
    """A price change that moves the verdict's figures must fail CI until `make refresh`."""
    prices = data_copy / "api_prices.csv"
    with prices.open(newline="") as handle:
        reader = csv.DictReader(handle)
        fields, rows = reader.fieldnames, list(reader)
    for r in rows:  # every current frontier price halved: the spend gate buys twice the volume
        if r["tier"] == "frontier" and r["status"] == "current":
            r["input_usd_per_mtok"] = f"{float(r['input_usd_per_mtok']) / 2:.4f}"
            r["output_usd_per_mtok"] = f"{float(r['output_usd_per_mtok']) / 2:.4f}"
    with prices.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    meta = data_copy / "api_prices.meta.yaml"  # the manifest vouches for the edited copy, so only the numbers move
    digest = hashlib.sha256(prices.read_bytes()).hexdigest()
    meta.write_text(re.sub(r"(?m)^sha256: [0-9a-f]{64}$", f"sha256: {digest}", meta.read_text()))
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval-lax",
           "--nbval-sanitize-with", str(paths.ROOT / "tests" / "nbval-sanitize.cfg"), str(DECISION)]
    env = dict(os.environ, SELFHOST_DATA_DIR=str(data_copy))
    moved = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=tmp_path)
    assert moved.returncode == 1, moved.stdout[-2000:]
    assert "'id': 'C01'" in moved.stdout  # the verdict's recorded figures are what moved


# ---------------------------------------------------------------- a reader's parameters file (issue 16)

def params_file(tmp_path, text: str):
    path = tmp_path / "my.yaml"
    path.write_text(text)
    return path


def test_scientific_notation_is_a_float_as_selfhost_params_prints_it(tmp_path):
    spec = pipeline.load_params_file(params_file(tmp_path, "decision-tree:\n  api_spend_usd_per_month: 2.5e4\n"
                                                 "input_share: 7e-1\n"))
    assert spec == {"decision-tree": {"api_spend_usd_per_month": 25_000.0}, "input_share": 0.7}
    resolved = pipeline.resolve_params(spec, [DECISION])
    assert resolved["decision-tree"]["api_spend_usd_per_month"] == 25_000.0


def test_yaml_1_1_traps_stay_text(tmp_path):
    spec = pipeline.load_params_file(params_file(tmp_path, "custom_model: yes\ngpu: 2026-12-02\nx: 1:30\n"))
    assert spec == {"custom_model": "yes", "gpu": "2026-12-02", "x": "1:30"}
    with pytest.raises(SelfhostError, match=r"decision-tree.custom_model = 'yes': expected bool"):
        pipeline.resolve_params({"custom_model": "yes"}, [DECISION])


def test_a_duplicate_key_is_an_error_naming_it_and_both_lines(tmp_path):
    with pytest.raises(SelfhostError, match=r"line 3: 'input_share' is given twice \(first on line 1\)"):
        pipeline.load_params_file(params_file(tmp_path, "input_share: 0.8\ngpu: a100-80gb\ninput_share: 0.6\n"))
    with pytest.raises(SelfhostError, match=r"line 3: 'ttft_target_ms' is given twice"):
        pipeline.load_params_file(params_file(tmp_path, "decision-tree:\n  ttft_target_ms: 1\n  ttft_target_ms: 2\n"))


@pytest.mark.parametrize("text,shown", [(".inf", "inf"), ("-.inf", "-inf"), (".nan", "nan"), ("1e999", "inf")])
def test_infinite_or_nan_numbers_are_refused_by_name(tmp_path, text, shown):
    spec = pipeline.load_params_file(params_file(tmp_path, f"input_share: {text}\n"))
    with pytest.raises(SelfhostError, match=rf"decision-tree.input_share = {shown}: expected a finite number"):
        pipeline.resolve_params(spec, [DECISION])


LAUGHS = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},"
    f"*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)}]\n" for i in range(8))


@pytest.mark.parametrize("key", ["input_share", "decision-tree"])
def test_billion_laughs_fails_fast_without_the_value(tmp_path, key):
    import time

    text = LAUGHS + f"{key}: *i\n"
    start = time.perf_counter()
    with pytest.raises(SelfhostError) as err:
        pipeline.load_params_file(params_file(tmp_path, text))
    assert time.perf_counter() - start < 1.0
    assert "an anchor (&a)" in str(err.value) and "lol" not in str(err.value) and len(str(err.value)) < 300


def test_a_huge_or_special_file_is_refused_before_reading(tmp_path):
    big = tmp_path / "big.yaml"
    big.write_text("input_share: 0.8\n" + "#" * 100_000 + "\n")
    with pytest.raises(SelfhostError, match="at most 65,536 are read"):
        pipeline.load_params_file(big)
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    with pytest.raises(SelfhostError, match="is not a regular file"):
        pipeline.load_params_file(fifo)
    with pytest.raises(SelfhostError, match="is not a regular file"):
        pipeline.load_params_file(Path("/dev/zero"))
    deep = params_file(tmp_path, "input_share: " + "[" * 200 + "]" * 200 + "\n")
    with pytest.raises(SelfhostError, match="nested deeper than"):
        pipeline.load_params_file(deep)


def test_a_huge_value_is_shown_cut_short():
    with pytest.raises(SelfhostError) as err:
        pipeline.resolve_params({"input_share": "x" * 10_000}, [DECISION])
    assert len(str(err.value)) < 300 and "(10002 ch)" in str(err.value)


def test_unknown_names_wrong_types_and_infinities_are_listed_together():
    with pytest.raises(SelfhostError) as err:
        pipeline.resolve_params({"gpu_colour": "red", "input_share": float("inf"), "custom_model": 1,
                                 "decision-tree": {"nope": 1}}, [DECISION])
    message = str(err.value)
    for part in ("gpu_colour: no notebook has", "decision-tree.nope:", "input_share = inf: expected a finite",
                 "custom_model = 1: expected bool"):
        assert part in message


def test_make_book_quotes_params(tmp_path):
    """`make book PARAMS='x; echo INJECTED'` reads a file of that name; the shell never runs the echo."""
    done = subprocess.run(["make", "-s", "-o", str(paths.ROOT / ".venv" / ".installed"), "book",
                           "PARAMS=x; echo INJECTED"], cwd=paths.ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "x; echo INJECTED: cannot read the parameters file" in done.stderr
    assert "INJECTED" not in done.stdout.replace("x; echo INJECTED", "")


# ---------------------------------------------------------------- one build at a time, Ctrl-C


def test_a_second_build_stops_at_once_naming_the_first(capsys):
    with pipeline.build_lock("book"):
        assert main(["book"]) == 2
        assert main(["refresh", "decision-tree"]) == 2
    err = capsys.readouterr().err
    assert f"another build is running in this checkout (selfhost book, pid {os.getpid()})" in err


def test_ctrl_c_is_one_line(monkeypatch, capsys):
    def interrupted(*_a, **_k):
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "build", interrupted)
    assert main(["book"]) == 130
    assert capsys.readouterr().err == "selfhost book: stopped (Ctrl-C)\n"


INTERRUPTED = """
import sys
from pathlib import Path
from selfhost.book import pipeline
try:
    pipeline.execute_all(None, pipeline.Timings(), workers=1, out_dir=Path(sys.argv[1]))
except KeyboardInterrupt:
    sys.exit(130)
"""


@pytest.mark.slow
def test_ctrl_c_stops_every_notebook_at_once(tmp_path):
    """SIGINT to the build's process group (what a terminal's Ctrl-C sends): workers and kernels end, no queued one starts."""
    import signal
    import time

    out = tmp_path / "executed"
    proc = subprocess.Popen([sys.executable, "-c", INTERRUPTED, str(out)], start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not workers_for(out) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert workers_for(out), "no worker started"
    time.sleep(1.0)
    start = time.monotonic()
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err[-2000:]
    assert time.monotonic() - start < 8
    time.sleep(1.5)  # a kernel whose worker is gone exits within a second
    assert workers_for(out) == []
    assert len(list(out.glob("*.ipynb"))) < len(pipeline.notebooks())


def workers_for(out) -> list[str]:
    ps = subprocess.run(["ps", "-ww", "-eo", "pid,args"], capture_output=True, text=True).stdout
    return [line for line in ps.splitlines() if "selfhost.book.pipeline execute" in line and str(out) in line]


# ---------------------------------------------------------------- what the site shows


def test_differences_from_the_defaults():
    resolved = pipeline.resolve_params({"input_share": 0.7, "decision-tree": {"api_spend_usd_per_month": 4000,
                                                                              "ttft_target_ms": 150}}, [DECISION])
    assert pipeline.differences(resolved, [DECISION]) == {
        "decision-tree": {"ttft_target_ms": {"value": 150, "default": 800.0}}}
    assert pipeline.differences({"decision-tree": {"input_share": 0.7}}, [DECISION]) == {}


def test_banner_lists_what_differs_and_nothing_in_a_default_build():
    changed = {"ttft_target_ms": {"value": 150, "default": 800.0}}
    text = pipeline.banner_markdown(changed, custom_build=True)
    assert "custom parameters" in text and "`ttft_target_ms = 150` (default `800`)" in text
    assert ":class: warning selfhost-custom-build" in text
    assert "uses its defaults" in pipeline.banner_markdown({}, custom_build=True)
    assert pipeline.banner_markdown({}, custom_build=False) == ""
    ledger_banner = pipeline.banner_markdown({}, True, ledger_page=True, all_changes={"decision-tree": changed})
    assert "- decision-tree: `ttft_target_ms = 150`" in ledger_banner


def test_finish_executed_puts_the_banner_under_the_title_and_scrubs_paths(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# Title (C01)\n\n> the claim"),
        nbformat.v4.new_code_cell("x", outputs=[nbformat.v4.new_output(
            "stream", name="stdout", text=f"read {paths.ROOT}/data/api_prices.csv\n")]),
    ])
    nb.metadata["papermill"] = {"input_path": str(paths.NOTEBOOKS / "x.ipynb"), "output_path": str(tmp_path / "x.ipynb")}
    path = tmp_path / "x.ipynb"
    nbformat.write(nb, path)
    pipeline.finish_executed(path, pipeline.banner_markdown({"x": {"value": 1, "default": 2}}, True))
    done = nbformat.read(path, as_version=4)
    assert [c.source.splitlines()[0] for c in done.cells[:3]] == [
        "# Title (C01)", ":::{admonition} Custom build: computed with custom parameters, not the book's defaults",
        "> the claim"]
    assert done.cells[2 + 1].outputs[0]["text"] == "read data/api_prices.csv\n"
    assert done.metadata["papermill"]["input_path"] == "notebooks/x.ipynb"
    assert [c.source for c in pipeline.strip_for_commit(done).cells if "admonition" in c.source] == []


def test_web_address_of_a_remote_and_the_repository_setting(monkeypatch):
    assert pipeline.web_address("ssh://git@github.com/o/book.git") == "https://github.com/o/book"
    assert pipeline.web_address("https://github.com/o/book") == "https://github.com/o/book"
    monkeypatch.setenv("SELFHOST_REPOSITORY_URL", "https://example.org/o/book")
    assert pipeline.repository_url() == "https://example.org/o/book"
    monkeypatch.setenv("SELFHOST_REPOSITORY_URL", "file:///srv/x")
    with pytest.raises(SelfhostError, match="expected an http"):
        pipeline.repository_url()


def test_the_build_record_is_where_the_tests_and_publish_read_it():
    assert pipeline.BUILD_RECORD == paths.BUILD / "book-build.json"


def test_verdict_tables_render_in_output_markdown():
    """The cause of the literal '| figure | value |' tables: myst-nb renders output markdown as commonmark."""
    import yaml
    from markdown_it.renderer import RendererHTML
    from myst_parser.config.main import MdParserConfig
    from myst_parser.parsers.mdit import create_md_parser

    config = yaml.safe_load((paths.ROOT / "_config.yml").read_text())
    fmt = config["sphinx"]["config"]["nb_render_markdown_format"]
    assert fmt == "gfm"
    from selfhost.verdicts import HOLDS, Verdict

    md = Verdict("C02", HOLDS, "why", {"breakeven_tok_per_day": 5e6}).to_markdown()
    html = create_md_parser(MdParserConfig(gfm_only=True), RendererHTML).render(md)
    assert "<table>" in html and "5,000,000 tok/day" in html


def test_site_extension_keeps_one_copy_of_each_script_and_no_thebe():
    from sphinx.builders.html._assets import _JavaScript

    from selfhost.book import site

    toggle = "var togglebuttonSelector = '.toggle';"
    context = {"script_files": [
        _JavaScript("_static/doctools.js"), _JavaScript(None, body=toggle),  # type: ignore[arg-type]
        _JavaScript(None, body='const THEBE_JS_URL = "x"'), _JavaScript("_static/sphinx-thebe.js"),  # type: ignore[arg-type]
        _JavaScript("", body=toggle), _JavaScript("", body='const THEBE_JS_URL = "x"'),
    ]}
    site.dedupe_scripts(None, "p", "page.html", context, None)
    kept = [(s.filename or "", s.attributes.get("body", "")) for s in context["script_files"]]
    assert kept == [("_static/doctools.js", ""), ("", toggle)]


def test_references_are_clickable_and_safe():
    from selfhost.book import page

    rows = [{"source": "https://example.org/a?b=1&c=2", "retrieved": "2026-11-27", "note": "copy dated 2026-03"},
            {"source": "https://example.org/a?b=1&c=2", "retrieved": "2026-11-28", "note": "copy dated 2026-03"},
            {"source": "javascript:alert(1)", "retrieved": "2026-11-27"},
            {"source": "data/runs/x.json", "retrieved": "2026-11-27"}, {"source": "", "retrieved": None}]
    out = page.references_html(rows, items=[("SGLang paper", "https://arxiv.org/abs/2312.07104")], notes=True)
    assert out.count("<li>") == 4
    assert '<a href="https://example.org/a?b=1&amp;c=2">example.org/a</a>, read 2026-11-27, 2026-11-28 (copy dated 2026-03)' in out
    assert "<code>javascript:alert(1)</code>" in out and "<code>data/runs/x.json</code>" in out
    assert '<li>SGLang paper: <a href="https://arxiv.org/abs/2312.07104">arxiv.org/abs/2312.07104</a></li>' in out


def test_site_extension_sets_the_repository_button_only_from_the_environment(monkeypatch):
    from types import SimpleNamespace

    from selfhost.book import site

    config = SimpleNamespace(html_theme_options={"repository_url": "https://github.com/executablebooks/jupyter-book"},
                             html_context={})
    monkeypatch.delenv(site.REPOSITORY_ENV, raising=False)
    site.set_theme_options(None, config)
    assert "repository_url" not in config.html_theme_options and not config.html_theme_options["use_repository_button"]
    assert config.html_context["default_mode"] == "light"
    monkeypatch.setenv(site.REPOSITORY_ENV, "https://gitlab.example.org/team/book")
    site.set_theme_options(None, config)
    assert config.html_theme_options["repository_url"] == "https://gitlab.example.org/team/book"
    assert config.html_theme_options["repository_provider"] == "gitlab"
    assert config.html_theme_options["use_repository_button"] is True
