"""Governance helpers: EU AI Act tiers, compute thresholds, NIST AI RMF mapping, CLI output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from redline.errors import ConfigError
from redline.policy.govern import (
    Questionnaire,
    assess,
    compute_checks,
    eu_tier,
    load_questionnaire,
    to_markdown,
)


def test_tiers() -> None:
    assert eu_tier(Questionnaire(prohibited_practices=["social_scoring"]))["tier"] == "prohibited"
    hr = eu_tier(Questionnaire(annex_iii_areas=["employment"]))
    assert hr["tier"] == "high-risk" and any("Art. 14" in o for o in hr["obligations"])
    assert eu_tier(Questionnaire(annex_i_safety_component=True))["tier"] == "high-risk"
    # the Art. 6(3) derogation does not apply to profiling
    assert (
        eu_tier(Questionnaire(annex_iii_areas=["employment"], narrow_procedural_task=True, profiling=True))[
            "tier"
        ]
        == "high-risk"
    )
    assert (
        eu_tier(Questionnaire(annex_iii_areas=["employment"], narrow_procedural_task=True))["tier"]
        == "limited"
    )
    lim = eu_tier(Questionnaire())
    assert lim["tier"] == "limited" and any("Art. 50(1)" in o for o in lim["obligations"])
    none = eu_tier(Questionnaire(interacts_with_people=False, generates_synthetic_content=False))
    assert none["tier"] == "minimal"


def test_compute_thresholds() -> None:
    # 6 * 70e9 params * 15e12 tokens = 6.3e24 FLOP: below 1e25
    c = compute_checks(Questionnaire(general_purpose_model=True, parameters=70e9, training_tokens=15e12))
    assert c["training_compute_flop"] == pytest.approx(6.3e24)
    assert not c["eu_gpai_systemic_risk"]["exceeded"] and not c["us_eo_14110"]["exceeded"]
    assert c["us_eo_14110"]["historical"] is True
    c = compute_checks(Questionnaire(general_purpose_model=True, training_compute_flop=3e25))
    assert c["eu_gpai_systemic_risk"]["exceeded"] and not c["us_eo_14110"]["exceeded"]
    assert any("Art. 55" in o for o in c["gpai_obligations"])
    c = compute_checks(Questionnaire(general_purpose_model=True, training_compute_flop=2e26))
    assert c["us_eo_14110"]["exceeded"] and c["us_eo_14110"]["threshold_ops"] == 1e26
    c = compute_checks(Questionnaire(training_compute_flop=2e23, mainly_biological_sequence_data=True))
    assert c["us_eo_14110"]["exceeded"] and not c["eu_gpai_systemic_risk"]["exceeded"]
    assert compute_checks(Questionnaire())["training_compute_flop"] is None


def test_questionnaire_validation(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown Annex III"):
        load_questionnaire(None, {"annex_iii_areas": ["astrology"]})
    f = tmp_path / "q.yaml"
    f.write_text("system_name: hr-screener\nannex_iii_areas: [employment]\n")
    q = load_questionnaire(str(f), {"use_case": "ranks CVs"})
    assert q.system_name == "hr-screener" and q.use_case == "ranks CVs"


def test_govern_cli_json_and_markdown(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from redline.cli.main import main

    out = tmp_path / "gov.json"
    md = tmp_path / "gov.md"
    code = main(
        [
            "govern",
            "--annex-iii",
            "education",
            "--gpai",
            "--training-flop",
            "2e25",
            "--json",
            str(out),
            "--markdown",
            str(md),
            "--db",
            str(tmp_path / "x.db"),
        ]
    )
    assert code == 0, capsys.readouterr().err
    data = json.loads(out.read_text())
    assert data["eu_ai_act"]["tier"] == "high-risk" and data["compute"]["eu_gpai_systemic_risk"]["exceeded"]
    assert set(data["nist_ai_rmf"]) == {"Govern", "Map", "Measure", "Manage"}
    assert "EU AI Act tier: high-risk" in md.read_text() and to_markdown(data) == md.read_text().strip()
    assert main(["govern", "--prohibited", "mind_reading"]) == 2


def test_nist_mapping_uses_measured_results() -> None:
    measured = {
        "run": {"id": "r1", "judge": "refusal"},
        "categories": ["harmful_content"],
        "attacks": ["identity"],
        "metrics": {"attack_success": {"k": 2, "n": 20, "rate": 0.1, "low": 0.03, "high": 0.3}},
        "gate": {
            "policy": "p",
            "decision": "do not deploy",
            "level": "ASL-2",
            "required_safeguards": ["monitoring"],
            "missing_safeguards": ["monitoring"],
        },
    }
    rmf = assess(Questionnaire(), measured)["nist_ai_rmf"]
    assert any("10.0%" in m and "n=20" in m for m in rmf["Measure"])
    assert any("do not deploy" in g for g in rmf["Govern"]) and any("monitoring" in m for m in rmf["Manage"])
