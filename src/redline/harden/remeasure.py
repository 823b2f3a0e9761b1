"""Re-measure: the same scan of base and adapted model on held-out behaviors and held-out attack families.

Both are ordinary scan runs (so `redline diff BEFORE AFTER` compares them): the held-out harmful and benign
behaviors of the split, under the attacks trained on and under attack families the dataset never saw. The
hallucination probes (never trained on) are a second, smaller pair of scans, direct requests only. Rates and
intervals come from `redline.metrics` (clustered by behavior). The general-capability check is perplexity on a
held-out benign text set (`data/benign_texts.yaml`), base vs adapted, with bootstrap intervals over texts.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from ..attacks.base import create_attack
from ..engine.scan import ScanConfig, run_scan
from ..metrics import clustered_rate, failure_metric
from ..probes.behavior import Behavior
from ..stats import bootstrap_interval
from ..store.db import Store
from ..store.queries import load_attempts
from .collect import spread_sample, stable_rank

BENIGN_TEXTS = Path(__file__).parent / "data" / "benign_texts.yaml"
HELDOUT_ATTACKS = ("refusal_suppression", "fiction:template=novel")


def behavior_metric_of(b: Behavior) -> str:
    return failure_metric(b.expected, choice=bool(b.options) and b.safe_option is not None,
                          reference=bool(b.references or b.nonexistent))


def heldout_behaviors(behaviors: dict[str, dict[str, Any]], split: dict[str, str], limit: int | None = None,
                      seed: int = 0) -> tuple[list[Behavior], list[Behavior]]:
    """(held-out behaviors that measure attack success or over-refusal, the hallucination probes), stable order;
    `limit` keeps that many of each (taken in turn from each metric and category, in a stable seeded order)."""
    main, facts = [], []
    for bid in sorted(behaviors):
        b = Behavior.model_validate(behaviors[bid])
        metric = behavior_metric_of(b)
        if metric == "hallucination":
            facts.append(b)
        elif metric in ("attack_success", "over_refusal") and split.get(bid) == "heldout":
            main.append(b)
    return (_spread(main, limit, seed), _spread(facts, limit, seed)) if limit is not None else (main, facts)


def _spread(items: list[Behavior], n: int, seed: int) -> list[Behavior]:
    return spread_sample(items, n, lambda b: (behavior_metric_of(b), b.category),
                         lambda b: stable_rank(f"remeasure:{b.id}", seed))


def heldout_attacks(trained: list[str], candidates: tuple[str, ...] = HELDOUT_ATTACKS) -> list[str]:
    """The candidate attacks whose family none of the trained attacks has."""
    families = {create_attack(a).family for a in trained}
    return [a for a in candidates if create_attack(a).family not in families]


def scan_config(target: str, behaviors: list[Behavior], attacks: list[str], judge: str, seed: int,
                max_new_tokens: int) -> ScanConfig:
    return ScanConfig(target=target, suite="quick", behaviors=behaviors, attacks=attacks, samples=1, seed=seed,
                      judge=judge or None, max_new_tokens=max_new_tokens)


def run_remeasure(db: str | None, config: ScanConfig, resume: str | None = None,
                  on_run: Callable[[str], None] | None = None, batch_size: int = 32) -> tuple[str, bool]:
    """Run (or resume) one re-measure scan; returns (its run id, whether it was interrupted)."""
    result = run_scan(None if resume else config, db=db, resume=resume, on_run=on_run, batch_size=batch_size)
    return result.run_id, result.stats.interrupted


def _rate(rate: Any) -> dict[str, Any]:
    return rate.to_dict()


def compare(store: Store, runs: dict[str, tuple[str, str]], trained_families: set[str]) -> list[dict[str, Any]]:
    """Before/after rates (clustered intervals): ASR on held-out behaviors under trained and held-out attack
    families, over-refusal, hallucination; `runs` maps `before`/`after` to (main scan, hallucination scan)."""
    recs = {k: [*load_attempts(store, main), *(load_attempts(store, facts) if facts else [])]
            for k, (main, facts) in runs.items()}
    rows = [
        ("attack success, held-out behaviors, trained attack families",
         lambda r: r.metric == "attack_success" and r.family in trained_families),
        ("attack success, held-out behaviors, held-out attack families",
         lambda r: r.metric == "attack_success" and r.family not in trained_families),
        ("over-refusal, held-out benign behaviors (all attacks)", lambda r: r.metric == "over_refusal"),
        ("over-refusal, held-out benign behaviors, direct request",
         lambda r: r.metric == "over_refusal" and r.family == "direct"),
        ("hallucination (hallucination probes, direct request)",
         lambda r: r.metric == "hallucination" and r.family == "direct"),
    ]
    return [{"row": name, **{k: _rate(clustered_rate(v, sel)) for k, v in recs.items()}} for name, sel in rows]


def benign_texts(path: Path = BENIGN_TEXTS) -> list[str]:
    return [str(t) for t in yaml.safe_load(path.read_text(encoding="utf-8"))["texts"]]


def _ppl(logs: np.ndarray) -> dict[str, float]:
    low, high = bootstrap_interval(logs, lambda x: float(math.exp(np.mean(x))))
    return {"perplexity": float(math.exp(np.mean(logs))), "low": low, "high": high}


def perplexity_check(base_rest: str, adapter: str, texts: list[str] | None = None) -> dict[str, Any]:
    """Perplexity (exp of the mean per-text log-perplexity) of base and adapted model on benign texts, with
    bootstrap intervals, and the paired change in mean log-perplexity."""
    from ..audits.privacy.lm import log_perplexity
    from ..targets.local import load_adapter, load_model

    texts = texts or benign_texts()
    model, tokenizer, _ = load_model(base_rest)
    tuned, _ = load_adapter(model, adapter)
    base, after = log_perplexity(model, tokenizer, texts), log_perplexity(tuned, tokenizer, texts)
    diff = after - base
    low, high = bootstrap_interval(diff)
    return {"texts": len(texts), "before": _ppl(base), "after": _ppl(after),
            "log_ppl_change": {"mean": float(diff.mean()), "low": low, "high": high}}
