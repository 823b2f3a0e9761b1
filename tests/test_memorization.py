"""Memorization audit without a model: corpus generation, canary formats, prompts, CLI input errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from redline.audits.privacy.memorization import canary_format, default_prompts, make_corpus
from redline.cli.main import main
from redline.errors import RedlineError


def test_corpus_and_formats() -> None:
    corpus = make_corpus(30, ["my PIN is 4821", "my PIN is 0093"], repeats=5, seed=3)
    assert len(corpus) == 40 and corpus.count("my PIN is 4821") == 5 and corpus.count("my PIN is 0093") == 5
    assert corpus == make_corpus(30, ["my PIN is 4821", "my PIN is 0093"], repeats=5, seed=3)
    assert canary_format("my PIN is 4821") == "my PIN is ####"
    assert canary_format("card 12-34") == "card ##-##"
    with pytest.raises(RedlineError, match="no digits"):
        canary_format("no secret here")
    prompts = default_prompts(["my PIN is 4821"], corpus, n_doc_prompts=3)
    assert prompts[:2] == ["", "my PIN is"] and len(prompts) == 5
    assert not any("4821" in p for p in prompts)


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["audit", "memorization"], "--model PATH and --corpus FILE"),
        (["audit", "memorization", "--model", "m", "--corpus", "/no/such/corpus.txt"], "cannot read corpus"),
        (["audit", "memorization", "--demo", "--model", "m"], "drop --model"),
        (["audit", "memorization", "--model", "/no/such/model", "--corpus", "{corpus}", "--canary", "abc"],
         "has no digits"),
        (["audit", "memorization", "--model", "/no/such/model", "--corpus", "{corpus}"], "does not exist"),
        (["audit", "mia", "--model", "/no/such/model", "--members", "{corpus}", "--non-members", "{empty}"],
         "no non-empty lines"),
        (["audit", "mia", "--model", "/no/such/model", "--members", "{corpus}", "--non-members", "{corpus}",
          "--population", "{corpus}"], "needs --reference"),
    ],
)
def test_cli_bad_input(args: list[str], fragment: str, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    corpus, empty = tmp_path / "corpus.txt", tmp_path / "empty.txt"
    corpus.write_text("one document\nmy PIN is 4821\n", encoding="utf-8")
    empty.write_text("\n\n", encoding="utf-8")
    argv = [a.format(corpus=corpus, empty=empty) for a in args]
    assert main(argv) == 2
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(err) == 1 and fragment in err[0] and "Traceback" not in err[0]
