"""The system card: Hugging Face model-card front matter (model-index) plus Mitchell et al. sections
and the safety disclosures, filled from measured results and a small card config."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import ConfigError, invalid
from ..store.db import Store
from ..store.runs import load_audit_results

# ---- the model-index schema (as used by Hugging Face model cards) ----


class MITask(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: str
    name: str | None = None


class MIDataset(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: str
    name: str
    config: str | None = None
    split: str | None = None
    revision: str | None = None


class MIMetric(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: str
    value: float
    name: str | None = None
    config: str | None = None
    verified: bool = False


class MIResult(BaseModel):
    model_config = ConfigDict(extra="forbid")
    task: MITask
    dataset: MIDataset
    metrics: list[MIMetric] = Field(min_length=1)


class MIEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    results: list[MIResult] = Field(min_length=1)


class CardFrontMatter(BaseModel):
    """The YAML front matter this card writes (extra keys allowed, as in the Hub's metadata)."""

    model_config = ConfigDict(extra="allow")
    model_index: list[MIEntry] = Field(alias="model-index", min_length=1)


class CardConfig(BaseModel):
    """What only people can say: the card config file."""

    model_config = ConfigDict(extra="forbid")
    model_name: str | None = None
    developers: str = "not stated"
    version: str | None = None
    model_type: str = "causal language model (chat)"
    license: str | None = None
    base_model: str | None = None
    language: list[str] = Field(default_factory=lambda: ["en"])
    description: str = ""
    intended_uses: list[str] = Field(default_factory=list)
    out_of_scope_uses: list[str] = Field(default_factory=list)
    prohibited_uses: list[str] = Field(default_factory=list)
    factors: list[str] = Field(default_factory=list)
    human_oversight: list[str] = Field(default_factory=list)
    ethical_considerations: list[str] = Field(default_factory=list)
    caveats: list[str] = Field(default_factory=list)
    incident_contact: str | None = None
    judge_agreement: str | None = None


def load_card_config(path: str | Path | None) -> CardConfig:
    if not path:
        return CardConfig()
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"card config {str(p)!r} not found")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
        return CardConfig.model_validate(data)
    except yaml.YAMLError as exc:
        raise ConfigError(f"card config {p.name}: invalid YAML ({str(exc).splitlines()[0]})") from None
    except ValidationError as exc:
        raise invalid(f"card config {p.name}", exc) from None


def judge_agreement(store: Store, judge: str, cfg: CardConfig) -> str:
    """The judge's measured agreement with human labels: card config, a stored judge-eval, or the judge
    module's `AGREEMENT` (when the judges package exposes one); otherwise says it was not measured here."""
    if cfg.judge_agreement:
        return cfg.judge_agreement
    evals = [a for a in load_audit_results(store) if a.audit.replace("_", "-") == "judge-eval"]
    for a in reversed(evals):
        d = a.data or {}
        if d.get("judge") == judge and isinstance(d.get("agreement"), dict):
            ag = d["agreement"]
            return (
                f"agreement {100 * ag.get('value', 0):.1f}% [{100 * ag.get('low', 0):.1f}, "
                f"{100 * ag.get('high', 0):.1f}] on n={d.get('n')} human-labelled items (stored judge-eval)"
            )
    try:
        mod = importlib.import_module(f"redline.judges.{judge.split(':')[0]}")
        value = getattr(mod, "AGREEMENT", None)
        if value:
            return str(value)
    except ImportError:
        pass
    return (
        f"not measured in this database; run `redline judge-eval` for judge {judge!r} and set "
        "judge_agreement in the card config"
    )


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def model_index(d: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """model-index entries: one result per metric family, one metric per category."""
    dataset = {
        "type": f"redline/{d['run']['suite'] or 'custom'}",
        "name": f"redline suite {d['run']['suite']}",
        "config": d["run"]["id"],
    }
    results = []
    overall = [
        {"type": f"{m}_rate", "name": f"{m.replace('_', ' ')} rate (all)", "value": round(r["rate"], 4)}
        for m, r in d["metrics"].items()
        if r["n"]
    ]
    if overall:
        results.append(
            {
                "task": {"type": "text-generation", "name": "Red-team evaluation"},
                "dataset": dataset,
                "metrics": overall,
            }
        )
    cats = [
        {
            "type": f"{c['metric']}_rate",
            "name": f"{c['group']} ({c['metric'].replace('_', ' ')})",
            "value": round(c["asr"], 4),
            "config": c["group"],
        }
        for c in d["bars"]
        if c["n"]
    ]
    if cats:
        results.append(
            {
                "task": {"type": "text-generation", "name": "Red-team evaluation by category"},
                "dataset": dataset,
                "metrics": cats,
            }
        )
    if not results:
        results.append(
            {
                "task": {"type": "text-generation"},
                "dataset": dataset,
                "metrics": [{"type": "scored_attempts", "value": 0.0}],
            }
        )
    entry = [{"name": name, "results": results}]
    CardFrontMatter.model_validate({"model-index": entry})
    return entry


class _PlainDumper(yaml.SafeDumper):
    """Writes repeated objects out in full: no `&id001` anchors or `*id001` aliases in the front matter."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _bullets(items: list[str], empty: str) -> list[str]:
    return [f"- {x}" for x in items] if items else [f"- {empty}"]


def render_card(d: dict[str, Any], cfg: CardConfig, agreement: str, governance_md: str | None = None) -> str:
    """The system card as Markdown with YAML front matter."""
    run, gate = d["run"], d.get("gate")
    name = cfg.model_name or run["target_id"] or run["target"]
    front: dict[str, Any] = {
        "language": cfg.language,
        "tags": ["redline", "red-teaming", "safety-evaluation"],
    }
    if cfg.license:
        front["license"] = cfg.license
    if cfg.base_model:
        front["base_model"] = cfg.base_model
    front["model-index"] = model_index(d, name)
    L = [
        "---",
        yaml.dump(front, Dumper=_PlainDumper, sort_keys=False, allow_unicode=True).rstrip(),
        "---",
        "",
        f"# System card: {name}",
        "",
    ]
    if gate:
        L += [
            f"**Deployment decision: {gate['decision']}** (level {gate['level']}, policy {gate['policy']}, "
            f"run `{run['id']}`)",
            "",
        ]
    L += [
        "## Model details",
        "",
        f"- Name: {name}",
        f"- Developers: {cfg.developers}",
        f"- Version: {cfg.version or run['target_id'] or 'not stated'}",
        f"- Type: {cfg.model_type}",
        f"- License: {cfg.license or 'not stated'}",
        f"- Evaluated target spec: `{run['target']}`",
    ]
    if cfg.description:
        L.append(f"- {cfg.description}")
    L += ["", "## Intended use", ""] + _bullets(cfg.intended_uses, "not stated in the card config")
    L += ["", "Out of scope:", ""] + _bullets(cfg.out_of_scope_uses, "not stated")
    L += ["", "Prohibited uses:", ""] + _bullets(cfg.prohibited_uses, "not stated")
    L += ["", "## Factors", ""] + _bullets(
        cfg.factors
        or [f"risk category: {', '.join(d['categories'])}", f"attack family: {', '.join(d['families'])}"],
        "none",
    )
    m = d["metrics"]
    L += [
        "",
        "## Metrics",
        "",
        "Failure rates over scored attempts with 95% Wilson intervals: attack success (the model complied "
        "with a request it should refuse), over-refusal (it refused a benign look-alike), hallucination "
        "(wrong answer to "
        "a question with references). Errors and unscorable verdicts are counted apart, never as refusals. "
        "Gate thresholds compare the upper bound of the interval with the limit.",
        "",
    ]
    L += ["| metric | rate | 95% CI | k / n |", "| --- | --- | --- | --- |"]
    L += [
        f"| {k.replace('_', ' ')} | {_pct(r['rate'])} | [{_pct(r['low'])}, {_pct(r['high'])}] | "
        f"{r['k']} / {r['n']} |"
        for k, r in m.items()
    ]
    s = d["summary"]
    L += [
        "",
        "## Evaluation data",
        "",
        f"- Suite: `{run['suite']}`; {len(d['elicitation'])} harmful behaviors, "
        f"{s['attempts']} attempts ({s['errors']} errors, {s['unscorable']} unscorable); seed {run['seed']}",
        f"- Attacks: {', '.join(d['attacks']) or 'none'}",
        f"- Judge: `{run['judge']}`; {agreement}",
        "",
    ]
    L += [
        "## Quantitative analyses",
        "",
        "| category | metric | rate | 95% CI | k / n | errors | unscorable |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    L += [
        f"| {c['group']} | {c['metric']} | {_pct(c['asr'])} | "
        f"[{_pct(c['asr_low'])}, {_pct(c['asr_high'])}] | "
        f"{c['successes']} / {c['n']} | {c['errors']} | {c['unscorable']} |"
        for c in d["bars"]
    ]
    if gate:
        L += [
            "",
            "Gate thresholds:",
            "",
            "| threshold | domain | level | k / n | upper bound | limit | status |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        L += [
            f"| {t['id']} | {t['domain']} | {t['level']} | {t['successes']} / {t['n']} | {_pct(t['high'])} | "
            f"{_pct(t['limit'])} | {t['status']}{' (advisory)' if t['advisory'] else ''} |"
            for t in gate["thresholds"]
        ]
    L += ["", "## Safety disclosures", "", "### Known failure modes and boundary conditions", ""]
    fails = [
        f"category {c['group']}: {_pct(c['asr'])} attack success ({c['successes']}/{c['n']})"
        for c in d["worst_categories"]
    ]
    fails += [
        f"attack {c['group']}: {_pct(c['asr'])} ({c['successes']}/{c['n']})" for c in d["worst_attacks"]
    ]
    examples = [
        f"{b['behavior_id']} (attempts {', '.join(map(str, b['examples'][:3]))})"
        for b in d["elicitation"]
        if b["elicited"]
    ][:8]
    if examples:
        fails.append("elicited behaviors, e.g. " + "; ".join(examples))
    L += _bullets(
        fails, "no failures observed in this run (see intervals: absence of evidence is bounded, not zero)"
    )
    L += [
        "",
        "### Evaluations performed",
        "",
        f"- Suite `{run['suite']}`, attacks {', '.join(d['attacks'])}, judge `{run['judge']}` ({agreement})",
    ]
    if gate:
        L.append(f"- Policy `{gate['policy']}`: decision {gate['decision']}, level {gate['level']}")
        L += [f"  - {r}" for r in gate["reasons"]]
    L += ["", "### Known biases and demographic disparities", ""]
    disp = [
        f"{x.get('group')}: {x.get('metric')} {x.get('value')} interval {x.get('interval')} "
        f"p(Holm) {x.get('p_holm')}{' FLAGGED' if x.get('flagged') else ''}"
        for x in d["disparities"]
    ]
    L += _bullets(disp, "no bias audit stored for this target (run `redline audit bias`)")
    L += ["", "### Human oversight", ""] + _bullets(cfg.human_oversight, "not stated in the card config")
    L += [
        "",
        "### Incident reporting",
        "",
        f"- {cfg.incident_contact or 'no contact given (set incident_contact)'}",
    ]
    if governance_md:
        L += ["", "## Governance", "", governance_md]
    L += ["", "## Ethical considerations", ""] + _bullets(
        cfg.ethical_considerations,
        "probe texts state harmful goals only; stored responses may contain harmful text",
    )
    L += ["", "## Caveats and recommendations", ""] + _bullets(
        cfg.caveats
        + [
            "automated judges make errors; rates inherit the judge's error (see its agreement above)",
            "a suite samples behaviors; results bound the failure rate on that distribution, not all misuse",
        ],
        "",
    )
    return "\n".join(L) + "\n"


def parse_front_matter(text: str) -> dict[str, Any]:
    """The YAML front matter of a card (validated)."""
    if not text.startswith("---\n"):
        raise ConfigError("card has no YAML front matter")
    block = text[4:].split("\n---\n", 1)[0]
    data = yaml.safe_load(block)
    CardFrontMatter.model_validate(data)
    return data
