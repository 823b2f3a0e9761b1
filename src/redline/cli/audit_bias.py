"""`redline audit bias | fairness | weat | bbq`: bias and fairness audits."""

from __future__ import annotations

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from .app import DB_HELP, console, err_console, fail, write_json
from .audit import audit_app


def _csv(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


def _fmt(v: object, nd: int = 3) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.{nd}f}"
    if isinstance(v, list | tuple) and len(v) == 2 and all(isinstance(x, float) for x in v):
        return f"[{v[0]:.{nd}f}, {v[1]:.{nd}f}]"
    return str(v)


def _store(db: str | None):
    from ..store.db import Store

    return Store(db)


@audit_app.command("bias")
def bias(
    target: str = typer.Option(
        "local", help="Target spec: local, local:PATH, openai:MODEL@URL, python:mod:fn"
    ),
    scenarios: str = typer.Option(
        None, help="Scenario ids, comma-separated (default: all packaged scenarios)"
    ),
    attributes: str = typer.Option(None, help="Attribute dimensions: gender,race,pronoun,age (default: all)"),
    protocol: str = typer.Option("scoring,ranking", help="Protocols: scoring, ranking"),
    profiles: int = typer.Option(100, min=1, help="Profiles per scenario"),
    threshold: float = typer.Option(7.0, help="Score at or above which a profile counts as selected"),
    max_new_tokens: int = typer.Option(12, min=1, help="Token budget per answer"),
    batch_size: int = typer.Option(32, min=1, help="Batch size for local targets"),
    seed: int = typer.Option(0, help="Seed for profiles, slate order and sampling"),
    scenarios_file: str = typer.Option(
        None, help="Your own scenario YAML (same layout as the packaged file)"
    ),
    db: str = typer.Option(None, help=DB_HELP),
    json_path: str = typer.Option(
        None, "--json", help="Write the summary as JSON to this path ('-' for stdout)"
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar or tables"),
) -> None:
    """Counterfactual audit: identical profiles with swapped names, pronouns or ages, scored and ranked."""
    from ..audits.bias import BiasConfig, build_items, run_bias_audit
    from ..targets import create_target

    config = BiasConfig(
        scenarios=_csv(scenarios),
        dimensions=_csv(attributes),
        protocols=_csv(protocol) or [],
        profiles=profiles,
        threshold=threshold,
        max_new_tokens=max_new_tokens,
        seed=seed,
        scenarios_file=scenarios_file,
    )
    build_items(config)  # validate before loading a model
    tgt = (
        create_target(target, batch_size=batch_size) if target.startswith("local") else create_target(target)
    )
    store = _store(db)
    try:
        with Progress(
            TextColumn("bias audit"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err_console,
            disable=quiet,
        ) as bar:
            task = bar.add_task("audit", total=None)
            summary = run_bias_audit(
                tgt,
                config,
                store=store,
                target_spec=target,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
    finally:
        store.close()
    if json_path:
        write_json(json_path, summary)
    if quiet or json_path == "-":
        return
    unp = summary["unparseable"]
    console.print(
        f"run [bold]{summary['run_id']}[/bold]  target {summary['target']}  prompts {summary['prompts']}  "
        f"target errors {summary['target_errors']}  "
        f"unparseable scoring {unp['scoring'][0]}/{unp['scoring'][1]}"
        f"  ranking {unp['ranking'][0]}/{unp['ranking'][1]}"
    )
    table = Table(title="Disparities (p Holm-corrected across all groups and scenarios)")
    for col in ("scenario", "protocol", "attr", "group", "value", "95% CI", "DI", "4/5", "n", "p_holm"):
        table.add_column(col)
    for d in summary["disparities"]:
        table.add_row(
            d["scenario"],
            d["protocol"],
            d["dimension"],
            d["group"],
            _fmt(d["value"]),
            _fmt(d["interval"]),
            _fmt(d["di_ratio"], 2),
            "!" if d["four_fifths_flag"] else "",
            str(d["n"]),
            f"[red]{d['p_holm']:.3g}[/red]" if d["flagged"] else f"{d['p_holm']:.3g}",
        )
    console.print(table)
    for pos in summary["position_bias"]:
        rates = " ".join(f"{s['slot']}={_fmt(s['rate'], 2)}" for s in pos["slots"])
        console.print(
            f"position bias {pos['scenario']}/{pos['dimension']}: {rates}  p_holm={pos['p_holm']:.3g}"
            + ("  [red]position-biased[/red]" if pos["flagged"] else "")
        )
    console.print(
        "scoring value = mean score difference vs the other groups for the same profile; "
        "ranking value = top-pick rate (1/K expected)"
    )


@audit_app.command("fairness")
def fairness(
    data: str = typer.Option(
        ..., help="CSV/TSV/Parquet/JSONL table, or 'synthetic' for the built-in example"
    ),
    y_true: str = typer.Option("y_true", help="Column of true labels (0/1)"),
    y_pred: str = typer.Option("y_pred", help="Column of predictions (0/1)"),
    sensitive: str = typer.Option(
        ..., help="Sensitive column(s), comma-separated (several = intersectional)"
    ),
    score: str = typer.Option(None, help="Column of predicted probabilities (enables calibration)"),
    criterion: str = typer.Option(
        None, help="demographic_parity|equalized_odds|equal_opportunity|predictive_parity|calibration"
    ),
    mitigate: bool = typer.Option(
        False, help="Post-process with fairlearn's ThresholdOptimizer (before/after)"
    ),
    features: str = typer.Option(
        None, help="Feature columns for --mitigate (else the --score column is used)"
    ),
    min_group_size: int = typer.Option(30, min=1, help="Groups smaller than this are warned about"),
    tolerance: float = typer.Option(
        0.05, help="A criterion holds when its difference's 95% CI stays below this"
    ),
    seed: int = typer.Option(0, help="Seed for bootstrap and the mitigation split"),
    db: str = typer.Option(None, help=DB_HELP),
    json_path: str = typer.Option(
        None, "--json", help="Write the result as JSON to this path ('-' for stdout)"
    ),
) -> None:
    """Fairness of a classifier's decisions by group, with the criteria that can and cannot hold together."""
    from ..audits.fairness import audit_fairness, save_fairness

    frame = data
    if data == "synthetic":
        from ..audits.synthetic import make_synthetic

        frame = make_synthetic(seed=seed)
    cols = _csv(sensitive) or []
    result = audit_fairness(
        frame,
        y_true,
        y_pred,
        cols,
        score=score,
        criterion=criterion,
        min_group_size=min_group_size,
        tolerance=tolerance,
        seed=seed,
        mitigate=mitigate,
        features=_csv(features),
    )
    store = _store(db)
    try:
        config = {"sensitive": cols, "criterion": criterion, "score": score, "mitigate": mitigate,
                  "tolerance": tolerance}
        run_id = save_fairness(store, result, data, config, seed=seed)
    finally:
        store.close()
    if json_path:
        write_json(json_path, result)
        if json_path == "-":
            return
    console.print(f"run [bold]{run_id}[/bold]  rows {result['rows']}  sensitive {', '.join(cols)}")
    table = Table(title="By group")
    metrics = ["n", "base_rate", "selection_rate", "tpr", "fpr", "precision", "accuracy"] + (
        ["ece"] if score else []
    )
    for col in ["group", *metrics]:
        table.add_column(col)
    for g in result["groups"]:
        table.add_row(g["group"] + (" (small)" if g["small"] else ""), *[_fmt(g.get(m)) for m in metrics])
    console.print(table)
    crit = Table(title=f"Criteria (difference = max - min over groups; tolerance {tolerance})")
    for col in ("criterion", "difference", "95% CI", "ratio", "status"):
        crit.add_column(col)
    for name, c in result["criteria"].items():
        crit.add_row(
            name, _fmt(c["difference"]), _fmt(c["difference_interval"]), _fmt(c["ratio"]), c["status"]
        )
    console.print(crit)
    for w in result["warnings"]:
        err_console.print(f"warning: {w}")
    if result["impossibility"]:
        console.print(result["impossibility"])
    console.print(result["verdict"])
    if mitigate:
        m = result["mitigation"]
        c = m["criterion"]
        console.print(
            f"mitigation ({m['method']}, {m['constraint']}; fit on {m['fit_rows']} rows, evaluated on "
            f"{m['evaluated_rows']} others): {c} difference {_fmt(m['before']['criteria'][c]['difference'])}"
            f" -> {_fmt(m['after']['criteria'][c]['difference'])}, accuracy "
            f"{_fmt(m['before']['accuracy'])} -> {_fmt(m['after']['accuracy'])}"
        )


@audit_app.command("weat")
def weat_cmd(
    target: str = typer.Option(None, help="Use a local target's hidden states instead of the sentence model"),
    word_sets: str = typer.Option(None, help="Your own word-set YAML (tests: {name: {X, Y, A, B}})"),
    tests: str = typer.Option(None, help="Only these test names, comma-separated"),
    permutations: int = typer.Option(10000, min=100, help="Random re-partitions for the p-value"),
    seed: int = typer.Option(0),
    json_path: str = typer.Option(
        None, "--json", help="Write the results as JSON to this path ('-' for stdout)"
    ),
) -> None:
    """Embedding association test (WEAT effect size, permutation p-value, Holm across tests)."""
    from ..audits.weat import hidden_state_embedder, load_tests, run_weat, sentence_embedder

    sets = load_tests(word_sets)
    if tests:
        names = _csv(tests) or []
        unknown = [n for n in names if n not in sets]
        if unknown:
            fail(f"unknown word-set test(s) {', '.join(unknown)}; known: {', '.join(sets)}")
        sets = {n: sets[n] for n in names}
    if target:
        from ..targets import create_target

        embed, source = (
            hidden_state_embedder(create_target(target)),
            f"{target} hidden states (last layer, mean)",
        )
    else:
        embed, source = sentence_embedder(), "all-MiniLM-L6-v2 (sentence-transformers)"
    rows = run_weat(embed, sets, permutations, seed)
    if json_path:
        write_json(json_path, {"embeddings": source, "tests": rows})
        if json_path == "-":
            return
    table = Table(title=f"WEAT on {source}")
    for col in ("test", "effect size", "p (one-sided)", "p_holm"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["test"], f"{r['effect_size']:.3f}", f"{r['p_value']:.4g}", f"{r['p_holm']:.4g}")
    console.print(table)


@audit_app.command("bbq")
def bbq_cmd(
    data: str = typer.Option(..., help="BBQ-format JSONL file"),
    target: str = typer.Option("local", help="Target spec"),
    limit: int = typer.Option(None, min=1, help="Only the first N questions"),
    max_new_tokens: int = typer.Option(8, min=1),
    batch_size: int = typer.Option(32, min=1, help="Batch size for local targets"),
    json_path: str = typer.Option(
        None, "--json", help="Write the results as JSON to this path ('-' for stdout)"
    ),
) -> None:
    """BBQ bias score (ambiguous and disambiguated contexts) of any target on your BBQ file."""
    from ..audits.bbq import load_bbq, run_bbq
    from ..targets import create_target

    items = load_bbq(data)[:limit] if limit else load_bbq(data)
    tgt = (
        create_target(target, batch_size=batch_size) if target.startswith("local") else create_target(target)
    )
    result = run_bbq(tgt, items, max_new_tokens=max_new_tokens)
    if json_path:
        write_json(json_path, result)
        if json_path == "-":
            return
    table = Table(title=f"BBQ on {tgt.id} ({len(items)} questions)")
    for col in ("context", "n", "unparseable", "accuracy", "bias score"):
        table.add_column(col)
    for cond, r in result["overall"].items():
        table.add_row(
            cond, str(r["n"]), str(r["unparseable"]), f"{r['accuracy']:.3f}", f"{r['bias_score']:+.3f}"
        )
    console.print(table)
