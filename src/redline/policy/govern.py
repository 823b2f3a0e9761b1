"""Governance helpers: EU AI Act tier, training-compute thresholds, NIST AI RMF mapping.

This is a checklist aid, not legal advice: it applies the Act's categories to what the questionnaire says.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..datafile import read_mapping
from ..errors import invalid

# Article 5(1) prohibited practices (Regulation (EU) 2024/1689).
PROHIBITED = {
    "subliminal_manipulation": "Art. 5(1)(a): subliminal, manipulative or deceptive techniques "
    "causing significant harm",
    "exploiting_vulnerabilities": "Art. 5(1)(b): exploiting vulnerabilities due to age, disability "
    "or social situation",
    "social_scoring": "Art. 5(1)(c): social scoring leading to detrimental or unfavourable treatment",
    "predictive_policing_profiling": "Art. 5(1)(d): predicting criminal offences solely from "
    "profiling or personality traits",
    "untargeted_face_scraping": "Art. 5(1)(e): untargeted scraping of facial images for "
    "recognition databases",
    "emotion_recognition_work_education": "Art. 5(1)(f): emotion recognition in the workplace or education",
    "biometric_categorisation_sensitive": "Art. 5(1)(g): biometric categorisation inferring sensitive traits",
    "realtime_remote_biometric_id_law_enforcement": "Art. 5(1)(h): real-time remote biometric identification "
    "in publicly accessible spaces for law enforcement",
}
# Annex III high-risk areas.
ANNEX_III = {
    "biometrics": "Annex III(1): biometrics (remote identification, categorisation, emotion recognition)",
    "critical_infrastructure": "Annex III(2): safety components of critical infrastructure",
    "education": "Annex III(3): education and vocational training (admission, assessment, proctoring)",
    "employment": "Annex III(4): employment, workers management, access to self-employment",
    "essential_services": "Annex III(5): access to essential private and public services (credit, benefits, "
    "insurance pricing, emergency dispatch)",
    "law_enforcement": "Annex III(6): law enforcement",
    "migration_border": "Annex III(7): migration, asylum and border control management",
    "justice_democracy": "Annex III(8): administration of justice and democratic processes",
}
HIGH_RISK_OBLIGATIONS = [
    "Art. 9: risk management system over the whole lifecycle",
    "Art. 10: data and data governance (training, validation and test data quality, bias examination)",
    "Art. 11 and Annex IV: technical documentation",
    "Art. 12: record-keeping (automatic logging)",
    "Art. 13: transparency and instructions for use for deployers",
    "Art. 14: human oversight measures",
    "Art. 15: accuracy, robustness and cybersecurity",
    "Art. 17: quality management system",
    "Art. 43 and 48: conformity assessment and CE marking",
    "Art. 49: registration in the EU database",
    "Art. 72 and 73: post-market monitoring and serious-incident reporting",
    "Art. 26 and 27 (deployers): use per instructions, monitoring, fundamental rights impact assessment "
    "where required",
]
GPAI_OBLIGATIONS = [
    "Art. 53(1)(a): technical documentation of the model, including training and evaluation",
    "Art. 53(1)(b): information and documentation for downstream providers",
    "Art. 53(1)(c): a policy to comply with Union copyright law",
    "Art. 53(1)(d): a public summary of the content used for training",
]
SYSTEMIC_OBLIGATIONS = [
    "Art. 52: notify the Commission (within two weeks of meeting the threshold)",
    "Art. 55(1)(a): model evaluation with state-of-the-art protocols, including adversarial testing",
    "Art. 55(1)(b): assess and mitigate possible systemic risks at Union level",
    "Art. 55(1)(c): track, document and report serious incidents",
    "Art. 55(1)(d): adequate cybersecurity protection for the model and its infrastructure",
]
EU_SYSTEMIC_FLOP = 1e25
US_EO_REPORTING_OPS = 1e26
US_EO_BIO_OPS = 1e23


class Questionnaire(BaseModel):
    """What the governance check needs to know about a system and its use."""

    model_config = ConfigDict(extra="forbid")
    system_name: str = "unnamed system"
    use_case: str = ""
    prohibited_practices: list[str] = Field(default_factory=list)
    annex_iii_areas: list[str] = Field(default_factory=list)
    annex_i_safety_component: bool = False
    narrow_procedural_task: bool = False
    profiling: bool = False
    interacts_with_people: bool = True
    generates_synthetic_content: bool = True
    emotion_or_biometric_categorisation: bool = False
    deepfakes_or_public_interest_text: bool = False
    general_purpose_model: bool = False
    open_source_license: bool = False
    training_compute_flop: float | None = Field(default=None, gt=0)
    parameters: float | None = Field(default=None, gt=0)
    training_tokens: float | None = Field(default=None, gt=0)
    mainly_biological_sequence_data: bool = False

    @model_validator(mode="after")
    def _known(self) -> Questionnaire:
        bad = [p for p in self.prohibited_practices if p not in PROHIBITED]
        if bad:
            raise ValueError(f"unknown prohibited practice(s) {bad}; known: {', '.join(PROHIBITED)}")
        bad = [a for a in self.annex_iii_areas if a not in ANNEX_III]
        if bad:
            raise ValueError(f"unknown Annex III area(s) {bad}; known: {', '.join(ANNEX_III)}")
        return self


def load_questionnaire(path: str | Path | None, overrides: dict[str, Any] | None = None) -> Questionnaire:
    """Read a questionnaire YAML (or start empty) and apply flag overrides."""
    data: dict[str, Any] = {}
    if path:
        data = read_mapping(path, "questionnaire", empty_ok=True)
    data.update({k: v for k, v in (overrides or {}).items() if v not in (None, [], ())})
    try:
        return Questionnaire.model_validate(data)
    except ValidationError as exc:
        raise invalid("questionnaire", exc, "questionnaire") from None


def eu_tier(q: Questionnaire) -> dict[str, Any]:
    """The EU AI Act risk tier of the use case and the obligations that follow."""
    transparency = []
    if q.interacts_with_people:
        transparency.append("Art. 50(1): tell people they are interacting with an AI system")
    if q.generates_synthetic_content:
        transparency.append(
            "Art. 50(2): mark synthetic audio, image, video or text as AI-generated (machine-readable)"
        )
    if q.emotion_or_biometric_categorisation:
        transparency.append(
            "Art. 50(3): inform people exposed to emotion recognition or biometric categorisation"
        )
    if q.deepfakes_or_public_interest_text:
        transparency.append(
            "Art. 50(4): disclose deep fakes and AI-generated text published on public-interest matters"
        )
    always = ["Art. 4: AI literacy of staff operating the system"]
    if q.prohibited_practices:
        return {
            "tier": "prohibited",
            "reasons": [PROHIBITED[p] for p in q.prohibited_practices],
            "obligations": [
                "Art. 5: the practice may not be placed on the market, put into service or used "
                "in the EU (narrow law-enforcement exceptions for Art. 5(1)(h))"
            ],
        }
    reasons = []
    if q.annex_i_safety_component:
        reasons.append("Art. 6(1): safety component of a product under Annex I harmonisation legislation")
    areas = [ANNEX_III[a] for a in q.annex_iii_areas]
    if areas and q.narrow_procedural_task and not q.profiling and not q.annex_i_safety_component:
        return {
            "tier": "limited" if transparency else "minimal",
            "reasons": areas
            + [
                "Art. 6(3): declared not high-risk (narrow procedural task, no profiling); "
                "document the assessment (Art. 6(4)) and register it (Art. 49(2))"
            ],
            "obligations": always + transparency,
        }
    reasons += areas
    if reasons:
        return {
            "tier": "high-risk",
            "reasons": reasons,
            "obligations": always + HIGH_RISK_OBLIGATIONS + transparency,
        }
    if transparency:
        return {
            "tier": "limited",
            "reasons": ["transparency duties under Art. 50 apply"],
            "obligations": always + transparency,
        }
    return {
        "tier": "minimal",
        "reasons": ["no prohibited practice, Annex III area or Art. 50 trigger declared"],
        "obligations": always + ["Art. 95: voluntary codes of conduct"],
    }


def compute_checks(q: Questionnaire) -> dict[str, Any]:
    """Training compute against the EU GPAI systemic-risk presumption and the (revoked) US EO threshold."""
    flop, how = q.training_compute_flop, "declared"
    if flop is None and q.parameters and q.training_tokens:
        flop, how = 6 * q.parameters * q.training_tokens, "estimated as 6 x parameters x training tokens"
    if flop is None:
        return {"training_compute_flop": None, "note": "no training compute or parameters x tokens given"}
    us_limit = US_EO_BIO_OPS if q.mainly_biological_sequence_data else US_EO_REPORTING_OPS
    eu = {
        "threshold_flop": EU_SYSTEMIC_FLOP,
        "exceeded": q.general_purpose_model and flop > EU_SYSTEMIC_FLOP,
        "source": "EU AI Act Art. 51(2): a general-purpose model trained with more than 10^25 FLOP "
        "is presumed "
        "to have high-impact capabilities (systemic risk)",
    }
    if not q.general_purpose_model:
        eu["note"] = "applies to general-purpose AI models only"
    obligations: list[str] = []
    if q.general_purpose_model:
        obligations = list(GPAI_OBLIGATIONS)
        if q.open_source_license and not eu["exceeded"]:
            obligations = [o for o in obligations if o.startswith(("Art. 53(1)(c)", "Art. 53(1)(d)"))]
            obligations.append(
                "Art. 53(2): open-source exemption from (a) and (b) (not for systemic-risk models)"
            )
        if eu["exceeded"]:
            obligations += SYSTEMIC_OBLIGATIONS
    return {
        "training_compute_flop": flop,
        "how": how,
        "eu_gpai_systemic_risk": eu,
        "gpai_obligations": obligations,
        "us_eo_14110": {
            "threshold_ops": us_limit,
            "exceeded": flop > us_limit,
            "historical": True,
            "source": "US Executive Order 14110 (Oct 2023) sec. 4.2(b): reporting for models trained "
            "with more "
            "than 10^26 operations (10^23 for mainly biological sequence data); revoked on 20 Jan 2025 "
            "(EO 14148), shown for reference only",
        },
    }


def nist_rmf(measured: dict[str, Any] | None = None) -> dict[str, list[str]]:
    """NIST AI RMF 1.0 functions mapped to what redline measured (from `measured`, a run's report data)."""
    m = measured or {}
    run = m.get("run") or {}
    gate = m.get("gate") or {}
    cats = ", ".join(m.get("categories") or []) or "none measured yet"
    govern = ["a written deployment policy with thresholds and required safeguards (redline policy file)"]
    if gate:
        govern.append(
            f"gate decision under policy {gate.get('policy')}: {gate.get('decision')} ({gate.get('level')})"
        )
    mapping = ["use-case risk tier and obligations (this assessment)", f"risk categories probed: {cats}"]
    measure = []
    if run:
        metrics = m.get("metrics") or {}
        for name, r in metrics.items():
            if r.get("n"):
                measure.append(
                    f"{name.replace('_', ' ')}: {100 * r['rate']:.1f}% "
                    f"[{100 * r['low']:.1f}, {100 * r['high']:.1f}] (n={r['n']}, run {run.get('id')})"
                )
        measure.append(f"judge: {run.get('judge')}; attacks: {', '.join(m.get('attacks') or [])}")
        if m.get("disparities"):
            measure.append(f"bias audit: {len(m['disparities'])} disparities measured")
    else:
        measure.append("no run given: pass --run RUN to map measured results")
    manage = [
        "`redline gate` exit codes block CI on crossed or untested thresholds",
        "`redline diff` flags significant regressions between versions",
    ]
    if gate:
        manage.append(
            f"required safeguards: {', '.join(gate.get('required_safeguards') or []) or 'none'}; "
            f"missing: {', '.join(gate.get('missing_safeguards') or []) or 'none'}"
        )
    return {"Govern": govern, "Map": mapping, "Measure": measure, "Manage": manage}


def assess(q: Questionnaire, measured: dict[str, Any] | None = None) -> dict[str, Any]:
    """The full governance assessment (JSON-ready)."""
    return {
        "system_name": q.system_name,
        "use_case": q.use_case,
        "eu_ai_act": eu_tier(q),
        "compute": compute_checks(q),
        "nist_ai_rmf": nist_rmf(measured),
        "disclaimer": "a checklist aid that applies the categories to the answers given; not legal advice",
    }


def to_markdown(a: dict[str, Any]) -> str:
    """The assessment as Markdown (also embedded in the system card)."""
    eu = a["eu_ai_act"]
    lines = [f"**EU AI Act tier: {eu['tier']}**", ""]
    lines += [f"- {r}" for r in eu["reasons"]]
    lines += ["", "Obligations:", ""] + [f"- {o}" for o in eu["obligations"]]
    c = a["compute"]
    lines += ["", "Training compute:", ""]
    if c.get("training_compute_flop") is None:
        lines.append(f"- {c['note']}")
    else:
        e, u = c["eu_gpai_systemic_risk"], c["us_eo_14110"]
        lines.append(f"- {c['training_compute_flop']:.3g} FLOP ({c['how']})")
        lines.append(
            f"- EU GPAI systemic-risk presumption (> {e['threshold_flop']:.0e} FLOP): "
            f"{'exceeded' if e['exceeded'] else 'not exceeded'}{'; ' + e['note'] if e.get('note') else ''}"
        )
        lines.append(
            f"- US EO 14110 reporting threshold (> {u['threshold_ops']:.0e} ops, historical, revoked 2025): "
            f"{'exceeded' if u['exceeded'] else 'not exceeded'}"
        )
        lines += [f"- {o}" for o in c["gpai_obligations"]]
    lines += ["", "NIST AI RMF:", ""]
    for fn, items in a["nist_ai_rmf"].items():
        lines.append(f"- **{fn}**: " + "; ".join(items))
    lines += ["", f"_{a['disclaimer']}_"]
    return "\n".join(lines)
