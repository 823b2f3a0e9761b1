"""Run the counterfactual bias audit on a target: build paired prompts, generate, parse, measure, store."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ... import stats
from ...errors import ConfigError
from ...records import Conversation, GenerationParams, system, user
from .metrics import ranking_metrics, score_metrics
from .parsing import parse_choice, parse_score
from .profiles import (
    Scenario,
    load_dimensions,
    load_scenarios,
    make_profiles,
    render,
    scenario_dimensions,
    signal,
)

PROTOCOLS = ("scoring", "ranking")
SCORE_SUFFIX = " Answer with the number only."


@dataclass
class BiasConfig:
    """What to audit and how; stored with the run."""

    scenarios: list[str] | None = None
    dimensions: list[str] | None = None
    protocols: list[str] = field(default_factory=lambda: list(PROTOCOLS))
    profiles: int = 100
    threshold: float = 7.0
    max_new_tokens: int = 12
    temperature: float = 0.0
    seed: int = 0
    alpha: float = 0.05
    permutations: int = 10000
    scenarios_file: str | None = None


@dataclass
class _Item:
    key: str
    profile: int
    conversation: Conversation
    group: int | None = None  # scoring: the group rendered
    slots: list[int] | None = None  # ranking: group index per slot
    names: list[str] | None = None


def _score_prompt(sc: Scenario, text: str) -> Conversation:
    return [system(sc.system), user(f"{text}\n\n{sc.score_question}{SCORE_SUFFIX}")]


def _rank_prompt(sc: Scenario, texts: list[str]) -> Conversation:
    label = sc.noun.capitalize()
    body = "\n\n".join(f"{label} {chr(ord('A') + s)}: {t}" for s, t in enumerate(texts))
    letters = ", ".join(chr(ord("A") + s) for s in range(len(texts)))
    ask = f"{sc.rank_question} Answer with the letter only ({letters})."
    return [system(sc.system), user(f"{body}\n\n{ask}")]


def build_items(config: BiasConfig) -> tuple[list[_Item], dict[str, dict[str, Any]]]:
    """All prompts of the audit (deterministic for a config) and the cells they belong to."""
    scenarios = load_scenarios(config.scenarios_file)
    chosen = config.scenarios or list(scenarios)
    unknown = [s for s in chosen if s not in scenarios]
    if unknown:
        raise ConfigError(f"unknown scenario(s) {', '.join(unknown)}; known: {', '.join(scenarios)}")
    bad = [p for p in config.protocols if p not in PROTOCOLS]
    if bad or not config.protocols:
        raise ConfigError(f"protocols must be among {', '.join(PROTOCOLS)}, got {', '.join(bad) or 'none'}")
    if config.profiles < 1:
        raise ConfigError("profiles must be at least 1")
    dims = load_dimensions()
    items: list[_Item] = []
    cells: dict[str, dict[str, Any]] = {}
    for sid in chosen:
        sc = scenarios[sid]
        profiles = make_profiles(sc, config.profiles, config.seed)
        for dim in scenario_dimensions(sc, config.dimensions):
            groups = list(dims[dim]["groups"])
            for protocol in config.protocols:
                key = f"{sid}/{protocol}/{dim}"
                cells[key] = {"scenario": sid, "protocol": protocol, "dimension": dim, "groups": groups}
                rng = random.Random(f"{key}|{config.seed}")
                for p in profiles:
                    sigs = [signal(dim, g, p.index) for g in groups]
                    if protocol == "scoring":
                        for g, sig in enumerate(sigs):
                            items.append(_Item(key, p.index, _score_prompt(sc, render(sc, p, sig)), group=g))
                    else:
                        order = list(range(len(groups)))
                        rng.shuffle(order)
                        texts = [render(sc, p, sigs[g], ref=f"This {sc.noun}") for g in order]
                        names = [sigs[g]["name"] or "" for g in order]
                        items.append(_Item(key, p.index, _rank_prompt(sc, texts), slots=order, names=names))
    return items, cells


def run_bias_audit(
    target: Any,
    config: BiasConfig,
    store: Any = None,
    target_spec: str = "",
    progress: Callable[[int, int], None] | None = None,
    chunk: int = 256,
) -> dict[str, Any]:
    """Run the audit; returns the summary (and stores every cell plus the summary when `store` is given)."""
    items, cells = build_items(config)
    params = GenerationParams(
        max_new_tokens=config.max_new_tokens, temperature=config.temperature, seed=config.seed
    )
    run_id = None
    if store is not None:
        from ...store.runs import create_aux_run

        run_id = create_aux_run(
            store,
            "audit-bias",
            target_spec or target.id,
            asdict(config),
            target_id=target.id,
            seed=config.seed,
            planned=len(items),
        )
    texts: list[str | None] = []
    errors = 0
    for start in range(0, len(items), chunk):
        batch = items[start : start + chunk]
        for gen in target.generate([it.conversation for it in batch], params):
            errors += gen.error is not None
            texts.append(gen.text if gen.error is None else None)
        if progress:
            progress(len(texts), len(items))
    results = _measure(items, texts, cells, config)
    summary = _summarise(results, config)
    summary.update(
        run_id=run_id,
        target=target_spec or target.id,
        target_id=target.id,
        prompts=len(items),
        target_errors=errors,
        config=asdict(config),
    )
    if store is not None and run_id is not None:
        from ...store.runs import finish_run, save_audit_result

        for key, data in results.items():
            save_audit_result(store, run_id, "bias", key, data)
        save_audit_result(store, run_id, "bias", "summary", summary)
        finish_run(store, run_id)
    return summary


def _measure(items: list[_Item], texts: list[str | None], cells: dict[str, dict], config: BiasConfig) -> dict:
    by_key: dict[str, list[tuple[_Item, str | None]]] = {}
    for it, text in zip(items, texts, strict=True):
        by_key.setdefault(it.key, []).append((it, text))
    results = {}
    for key, cell in cells.items():
        rows = by_key.get(key, [])
        groups = cell["groups"]
        records = []
        if cell["protocol"] == "scoring":
            n_prof = config.profiles
            m = np.full((n_prof, len(groups)), np.nan)
            for it, text in rows:
                v = parse_score(text)
                if v is not None:
                    m[it.profile, it.group] = v
                records.append([it.profile, groups[it.group], text, v])
            metrics = score_metrics(
                m, groups, config.threshold, seed=config.seed, n_permutations=config.permutations
            )
        else:
            picks = []
            for it, text in rows:
                pick = parse_choice(text, len(groups), it.names)
                picks.append(pick)
                records.append([it.profile, [groups[g] for g in it.slots or []], text, pick])
            metrics = ranking_metrics(picks, [it.slots or [] for it, _ in rows], groups)
        results[key] = {**cell, **metrics, "items": records}
    return results


def _summarise(results: dict[str, dict], config: BiasConfig) -> dict[str, Any]:
    """One disparity line per (scenario, protocol, dimension, group), Holm-corrected across all of them."""
    lines: list[dict[str, Any]] = []
    for res in results.values():
        base = {"scenario": res["scenario"], "protocol": res["protocol"], "dimension": res["dimension"]}
        for g in res["groups"]:
            if res["protocol"] == "scoring":
                eff = g["paired"]
                lines.append(
                    {
                        **base,
                        "group": g["group"],
                        "metric": "paired score difference vs other groups",
                        "value": eff["diff"],
                        "interval": eff["interval"],
                        "p": eff["p"],
                        "n": eff["n_pairs"],
                        "di_ratio": g["di_ratio"],
                        "four_fifths_flag": g["four_fifths_flag"],
                        "unparseable": g["unparseable"],
                    }
                )
            else:
                lines.append(
                    {
                        **base,
                        "group": g["group"],
                        "metric": "top-pick rate (expected 1/K)",
                        "value": g["rate"],
                        "interval": g["interval"],
                        "p": g["p"],
                        "n": g["valid"],
                        "di_ratio": g["di_ratio"],
                        "four_fifths_flag": g["four_fifths_flag"],
                        "unparseable": res["unparseable"],
                    }
                )
    for line, adj in zip(lines, stats.holm_correction([x["p"] for x in lines]), strict=True):
        line["p_holm"] = adj
        line["flagged"] = adj < config.alpha
    positions = [
        {"scenario": r["scenario"], "dimension": r["dimension"], "p": r["position_p"], "slots": r["slots"]}
        for r in results.values()
        if r["protocol"] == "ranking"
    ]
    for pos, adj in zip(positions, stats.holm_correction([x["p"] for x in positions]), strict=True):
        pos["p_holm"] = adj
        pos["flagged"] = adj < config.alpha
    scored = [r for r in results.values() if r["protocol"] == "scoring"]
    n_score = sum(g["n"] for r in scored for g in r["groups"])
    unp_score = sum(g["unparseable"] for r in scored for g in r["groups"])
    ranked = [r for r in results.values() if r["protocol"] == "ranking"]
    return {
        "disparities": lines,
        "position_bias": positions,
        "unparseable": {
            "scoring": [unp_score, n_score],
            "ranking": [sum(r["unparseable"] for r in ranked), sum(r["slates"] for r in ranked)],
        },
        "flagged": sum(x["flagged"] for x in lines),
        "tests": len(lines),
    }
