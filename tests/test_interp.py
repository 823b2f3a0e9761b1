"""Interp units without the language model: hooks, files, probes on synthetic data, parsing, CLI errors."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from redline.errors import ConfigError, RedlineError
from redline.interp.classifiers import LinearProbe, auroc, auroc_interval, best_layer, probe_layers
from redline.interp.data import instruction_sets, split
from redline.interp.hooks import add_hooks
from redline.interp.interventions import Direction, parse_steer


def test_add_hooks_removed_after_use_and_after_exception() -> None:
    torch = pytest.importorskip("torch")
    layer = torch.nn.Linear(4, 4)
    calls: list[int] = []

    def hook(_m, _i, out):  # noqa: ANN001, ANN202
        calls.append(1)
        return out * 0

    x = torch.ones(1, 4)
    with add_hooks(module_forward_hooks=[(layer, hook)]):
        assert float(layer(x).detach().abs().sum()) == 0.0
    assert not layer._forward_hooks and float(layer(x).detach().abs().sum()) > 0
    with (
        pytest.raises(RuntimeError),
        add_hooks(
            module_forward_pre_hooks=[(layer, lambda m, i: None)], module_forward_hooks=[(layer, hook)]
        ),
    ):
        raise RuntimeError("boom")
    assert not layer._forward_hooks and not layer._forward_pre_hooks
    assert len(calls) == 1


def test_auroc_matches_sklearn_and_interval_brackets_it() -> None:
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 200)
    s = y + rng.normal(0, 1.2, 200)
    assert auroc(y, s) == pytest.approx(roc_auc_score(y, s))
    low, high = auroc_interval(y, s, n_resamples=300)
    assert low < auroc(y, s) < high and high - low < 0.25


def test_probe_layers_find_the_informative_layer_and_probe_round_trips(tmp_path) -> None:  # noqa: ANN001
    rng = np.random.default_rng(0)
    n, layers, d = 120, 3, 16
    y = np.array([0, 1] * (n // 2))
    x = rng.normal(size=(n, layers, d))
    x[:, 1, 0] += 2.5 * y  # only layer 1 carries the label
    scores, params = probe_layers(x, y, 0.3, 0)
    best = best_layer(scores)
    assert best.layer == 1 and best.auroc > 0.85 and scores[0].auroc < 0.75
    mean, scale, w, b = params[1]
    probe = LinearProbe(1, "last", mean, scale, w, b, "toy", "", "input", ("harmless", "harmful"))
    path = probe.save(tmp_path / "p.safetensors")
    back = LinearProbe.load(path)
    assert back.layer == 1 and back.labels == ("harmless", "harmful") and back.model_id == "toy"
    np.testing.assert_allclose(
        back.predict_proba(x[:, 1]), probe.predict_proba(x[:, 1]), rtol=1e-4, atol=1e-5
    )


def test_direction_round_trip_and_wrong_file(tmp_path) -> None:  # noqa: ANN001
    d = Direction(np.arange(8, dtype=float), 5, "-1", "refusal", "m", {"kl": 0.01})
    back = Direction.load(d.save(tmp_path / "d.safetensors"))
    np.testing.assert_allclose(back.vector, d.vector)
    assert (back.layer, back.position, back.kind, back.scores) == (5, "-1", "refusal", {"kl": 0.01})
    assert back.norm == pytest.approx(np.linalg.norm(np.arange(8)))
    probe = LinearProbe(0, "last", np.zeros(2), np.ones(2), np.ones(2), 0.0)
    probe.save(tmp_path / "p.safetensors")
    with pytest.raises(ConfigError, match="not a redline direction"):
        Direction.load(tmp_path / "p.safetensors")
    with pytest.raises(ConfigError, match="does not exist"):
        Direction.load(tmp_path / "missing.safetensors")
    with pytest.raises(RedlineError):
        LinearProbe.load(tmp_path / "d.safetensors")


def test_parse_steer() -> None:
    assert parse_steer("dir.safetensors:2.5") == ("dir.safetensors", 2.5, None)
    assert parse_steer("a/b.safetensors:-1:7") == ("a/b.safetensors", -1.0, 7)
    with pytest.raises(ConfigError):
        parse_steer("dir.safetensors")


def test_instruction_sets_are_balanced_and_split_is_disjoint() -> None:
    harmful, harmless = instruction_sets()
    assert len(harmful) == len(harmless) == 128
    train, test = split(harmful, 0.25, 0)
    assert not set(train) & set(test) and len(test) == 32 and split(harmful, 0.25, 0)[1] == test


def test_importing_interp_and_probe_judge_does_not_import_torch() -> None:
    code = (
        "import sys, redline.interp.classifiers, redline.interp.effect, redline.judges.probe, redline.cli.interp;"
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_cli_bad_direction_file_is_one_line_error(cli_env, tmp_path) -> None:  # noqa: ANN001
    cmd = [
        sys.executable,
        "-m",
        "redline",
        "interp",
        "attribute",
        "--direction",
        str(tmp_path / "nope.safetensors"),
    ]
    res = subprocess.run(cmd, capture_output=True, text=True, env=cli_env)
    assert (
        res.returncode == 2 and "does not exist" in res.stderr and len(res.stderr.strip().splitlines()) == 1
    )


def test_probe_judge_rejects_missing_file() -> None:
    from redline.judges.base import create_judge

    with pytest.raises(ConfigError):
        create_judge("probe:/nonexistent/probe.safetensors")
    with pytest.raises(ConfigError):
        create_judge("probe:")
