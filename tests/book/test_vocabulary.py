"""One parameter vocabulary: a name means the same thing, with the same type, on every page."""

from __future__ import annotations

from selfhost.book import pipeline
from selfhost.book.vocabulary import VOCABULARY
from selfhost.cli import main


def test_every_notebook_parameter_is_in_the_vocabulary_with_its_type():
    problems = []
    for nb in pipeline.notebooks():
        for name, p in pipeline.parameters_of(nb).items():
            term = VOCABULARY.get(name)
            if term is None:
                problems.append(f"{nb.stem}.{name}: not in selfhost.book.vocabulary")
            elif term.type != p["inferred_type_name"]:
                problems.append(f"{nb.stem}.{name}: {p['inferred_type_name']}, the vocabulary says {term.type}")
    assert problems == []


def test_the_vocabulary_names_carry_their_units():
    for name, term in VOCABULARY.items():
        assert term.meaning, name
        if term.type in ("float", "int") and "[" not in term.meaning:
            assert name.endswith(("_count", "_x", "_share")) or "[1]" in term.meaning, f"{name}: give its unit"


def test_selfhost_params_lists_the_vocabulary(capsys):
    assert main(["params"]) == 0
    out = capsys.readouterr().out
    assert "gpu: str; the GPU the deployment rents" in out and "  break-even: " in out

