"""The system card: front matter parses, the model-index validates, disclosures come from the results."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from redline.errors import ConfigError
from redline.report.card import CardFrontMatter, parse_front_matter
from redline.store.db import Store
from redline.store.runs import create_aux_run, save_audit_result
from resultsets import add_run, behaviors

CONFIG = """
model_name: tiny-chat-test
developers: The redline test suite
license: apache-2.0
intended_uses: [answering general questions in a demo]
prohibited_uses: [medical or legal advice without review]
human_oversight: [flagged conversations are reviewed daily]
incident_contact: security@example.org
judge_agreement: "agreement 91.0% [85.0, 95.0] on n=120 (hand-labelled)"
"""


def build(db_path: str) -> None:
    store = Store(db_path)
    items = behaviors("hc", 20, 4, category="harmful_content")
    items += behaviors("bio", 12, 1, category="dangerous_capability", tags=["domain:bio"])
    items += behaviors("benign", 10, 3, category="over_refusal", expected="comply")
    add_run(store, "run-card", items)
    aux = create_aux_run(store, "audit-bias", "local", {})
    save_audit_result(
        store,
        aux,
        "bias",
        "summary",
        {
            "disparities": [
                {
                    "group": "group-b",
                    "metric": "selection_rate_difference",
                    "value": 0.12,
                    "interval": [0.03, 0.2],
                    "p_holm": 0.01,
                    "flagged": True,
                }
            ]
        },
    )
    store.close()


def test_card_cli_front_matter_and_sections(
    db_path: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    from redline.cli.main import main

    build(db_path)
    cfg = tmp_path / "card.yaml"
    cfg.write_text(CONFIG)
    gov = tmp_path / "gov.md"
    gov.write_text("**EU AI Act tier: limited**")
    out = tmp_path / "SYSTEM_CARD.md"
    code = main(
        ["card", "run-card", "--card-config", str(cfg), "-o", str(out), "--govern", str(gov), "--db", db_path]
    )
    assert code == 0, capsys.readouterr().err
    text = out.read_text()
    front = parse_front_matter(text)
    entry = front["model-index"][0]
    assert entry["name"] == "tiny-chat-test" and front["license"] == "apache-2.0"
    metrics = {m["name"]: m["value"] for r in entry["results"] for m in r["metrics"]}
    assert metrics["attack success rate (all)"] == pytest.approx(5 / 32, abs=1e-4)
    assert metrics["over_refusal (over refusal)"] == pytest.approx(0.3)
    for section in (
        "## Model details",
        "## Intended use",
        "## Factors",
        "## Metrics",
        "## Evaluation data",
        "## Quantitative analyses",
        "## Ethical considerations",
        "## Caveats",
        "### Known failure modes",
        "### Evaluations performed",
        "### Known biases",
        "### Human oversight",
        "### Incident reporting",
        "## Governance",
    ):
        assert section in text, section
    assert "security@example.org" in text and "agreement 91.0%" in text
    assert "group-b" in text and "FLAGGED" in text
    assert "Deployment decision: do not deploy" in text
    assert "hc-000" in text  # an elicited behavior with its attempt ids
    assert "medical or legal advice" in text and "EU AI Act tier: limited" in text


def test_model_index_schema_rejects_bad_entries() -> None:
    good = {
        "model-index": [
            {
                "name": "m",
                "results": [
                    {
                        "task": {"type": "text-generation"},
                        "dataset": {"type": "redline/quick", "name": "q"},
                        "metrics": [{"type": "asr", "value": 0.1}],
                    }
                ],
            }
        ]
    }
    CardFrontMatter.model_validate(good)
    bad = yaml.safe_load(yaml.safe_dump(good))
    bad["model-index"][0]["results"][0]["metrics"][0]["value"] = "high"
    with pytest.raises(ValidationError):
        CardFrontMatter.model_validate(bad)
    bad = yaml.safe_load(yaml.safe_dump(good))
    del bad["model-index"][0]["results"][0]["dataset"]
    with pytest.raises(ValidationError):
        CardFrontMatter.model_validate(bad)
    with pytest.raises(ConfigError):
        parse_front_matter("# no front matter")


def test_card_defaults_and_bad_config(db_path: str, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from redline.cli.main import main

    build(db_path)
    out = tmp_path / "card.md"
    assert main(["card", "last", "-o", str(out), "--db", db_path]) == 0
    text = out.read_text()
    parse_front_matter(text)
    assert "no contact given" in text and "not measured in this database" in text
    bad = tmp_path / "bad.yaml"
    bad.write_text("incident_contactt: typo@example.org\n")
    assert main(["card", "run-card", "--card-config", str(bad), "-o", str(out), "--db", db_path]) == 2
    assert "incident_contactt" in capsys.readouterr().err
