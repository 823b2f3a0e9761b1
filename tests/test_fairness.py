"""Classifier fairness: hand-computed metrics, injected-disparity recovery, trade-offs, mitigation, CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from redline.audits.fairness import audit_fairness
from redline.audits.synthetic import make_synthetic, population_gaps
from redline.errors import ConfigError


def _tiny() -> pd.DataFrame:
    # group a: y=[1,1,0,0], p=[1,0,1,0]; group b: y=[1,0,0,0], p=[1,1,1,0]
    return pd.DataFrame(
        {
            "y": [1, 1, 0, 0, 1, 0, 0, 0],
            "p": [1, 0, 1, 0, 1, 1, 1, 0],
            "s": [0.9, 0.4, 0.6, 0.1, 0.8, 0.7, 0.6, 0.2],
            "g": ["a"] * 4 + ["b"] * 4,
        }
    )


def test_metrics_hand_computed() -> None:
    r = audit_fairness(_tiny(), "y", "p", ["g"], score="s", min_group_size=1, n_boot=50)
    a, b = r["groups"]
    assert (a["selection_rate"], a["tpr"], a["fpr"], a["precision"], a["base_rate"]) == (
        0.5,
        0.5,
        0.5,
        0.5,
        0.5,
    )
    assert (b["selection_rate"], b["tpr"], b["fpr"], b["base_rate"]) == (0.75, 1.0, 2 / 3, 0.25)
    assert b["precision"] == pytest.approx(1 / 3)
    c = r["criteria"]
    assert c["demographic_parity"]["difference"] == pytest.approx(0.25)
    assert c["demographic_parity"]["ratio"] == pytest.approx(0.5 / 0.75)
    assert c["equal_opportunity"]["difference"] == pytest.approx(0.5)
    assert c["equalized_odds"]["difference"] == pytest.approx(0.5)  # max(tpr gap .5, fpr gap 1/6)
    assert c["predictive_parity"]["difference"] == pytest.approx(0.5 - 1 / 3)
    # ECE with 10 bins, group a: bins .9->y1, .4->y1, .6->y0, .1->y0 => (.1+.6+.6+.1)/4
    assert a["ece"] == pytest.approx(1.4 / 4)


def test_injected_disparity_is_recovered() -> None:
    truth = population_gaps(threshold_shift=0.15, n=200_000)["gap_b_minus_a"]
    r = audit_fairness(
        make_synthetic(n=4000, seed=1), "y_true", "y_pred", ["group"], score="score", n_boot=300
    )
    for crit, metric in (("demographic_parity", "selection_rate"), ("equal_opportunity", "tpr")):
        lo, hi = r["criteria"][crit]["difference_interval"]
        assert lo <= abs(truth[metric]) <= hi, (crit, truth[metric], lo, hi)
        assert lo > 0.05 and r["criteria"][crit]["status"] == "violated"
    # the score itself is calibrated in both groups
    assert r["criteria"]["calibration"]["difference"] < 0.06
    assert r["base_rates_differ"] and "Chouldechova 2017" in r["impossibility"]


def test_no_injected_disparity_no_false_alarm() -> None:
    r = audit_fairness(
        make_synthetic(n=4000, threshold_shift=0.0, base_rate_gap=0.0, seed=2),
        "y_true",
        "y_pred",
        ["group"],
        criterion="demographic_parity",
        n_boot=300,
    )
    assert r["criteria"]["demographic_parity"]["difference_interval"][0] < 0.03
    assert r["criteria"]["demographic_parity"]["status"] in ("holds", "inconclusive")
    assert not r["base_rates_differ"] and r["impossibility"] is None


def test_intersectional_groups_and_small_group_warning() -> None:
    df = make_synthetic(n=600, seed=3)
    df.loc[df.index[:12], "sex"] = "X"  # a tiny third category
    r = audit_fairness(df, "y_true", "y_pred", ["group", "sex"], min_group_size=30, n_boot=50)
    names = {g["group"] for g in r["groups"]}
    assert {"A|F", "A|M", "B|F", "B|M"} <= names
    assert any("'A|X'" in w or "'B|X'" in w for w in r["warnings"])
    assert set(r["by_attribute"]) == {"group", "sex"}


def test_mitigation_reduces_the_gap() -> None:
    df = make_synthetic(n=3000, seed=4)
    r = audit_fairness(
        df,
        "y_true",
        "y_pred",
        ["group"],
        score="score",
        criterion="demographic_parity",
        mitigate=True,
        n_boot=100,
    )
    m = r["mitigation"]
    before = m["before"]["criteria"]["demographic_parity"]["difference"]
    after = m["after"]["criteria"]["demographic_parity"]["difference"]
    assert before > 0.15 and after < before / 2
    assert m["evaluated_rows"] == 1500


def test_bad_input_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not in the data"):
        audit_fairness(_tiny(), "y", "nope", ["g"])
    with pytest.raises(ConfigError, match="criterion"):
        audit_fairness(_tiny(), "y", "p", ["g"], criterion="vibes")
    bad = _tiny().assign(p=[0, 1, 2, 0, 1, 0, 1, 0])
    with pytest.raises(ConfigError, match="binary"):
        audit_fairness(bad, "y", "p", ["g"])
    with pytest.raises(ConfigError, match="does not exist"):
        audit_fairness(tmp_path / "missing.csv", "y", "p", ["g"])


def test_cli_fairness_on_a_csv(tmp_path: Path, cli_env: dict, db_path: str) -> None:
    data = tmp_path / "credit.csv"
    make_synthetic(n=1500, seed=5).to_csv(data, index=False)
    out = tmp_path / "fair.json"
    cmd = [
        sys.executable,
        "-m",
        "redline",
        "audit",
        "fairness",
        "--data",
        str(data),
        "--sensitive",
        "group",
        "--score",
        "score",
        "--criterion",
        "equal_opportunity",
        "--db",
        db_path,
        "--json",
        str(out),
    ]
    proc = subprocess.run(cmd, env=cli_env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(out.read_text())
    assert result["criteria"]["equal_opportunity"]["status"] == "violated"
    assert "violated" in proc.stdout and "Chouldechova" in proc.stdout
    bad = subprocess.run(
        cmd[:-2] + ["--sensitive", "nope"], env=cli_env, capture_output=True, text=True, timeout=600
    )
    assert bad.returncode == 2 and "nope" in bad.stderr and "Traceback" not in bad.stderr
