"""`redline organisms list | build | audit`: model organisms of misalignment and the detectors scored on them."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from .app import DB_HELP, app, console, err_console, rate_cell, write_json

organisms_app = typer.Typer(help="Model organisms (known-bad LoRA adapters) and the detectors scored on them.",
                            no_args_is_help=True)
app.add_typer(organisms_app, name="organisms")

ONLY_HELP = "Organism name (repeatable or comma-separated; default: all)"
OUT_HELP = "Adapter cache folder (default: $REDLINE_CACHE/organisms, i.e. ~/.cache/redline/organisms)"


def _progress(quiet: bool):
    return None if quiet else (lambda message: err_console.print(f"[dim]{message}[/dim]"))


def _rate(r: dict) -> str:
    return f"{100 * r['rate']:.0f}%" if r.get("rate") is not None else "-"


@organisms_app.command("list")
def list_organisms(as_json: bool = typer.Option(False, "--json", help="Print as JSON")) -> None:
    """The organisms and controls with their ground truth."""
    from ..organisms.manifest import organisms

    orgs = organisms()
    if as_json:
        write_json("-", [o.model_dump() for o in orgs.values()])
        return
    table = Table("name", "control", "task", "ground truth", "with cue", "without cue")
    for o in orgs.values():
        table.add_row(o.name, "yes" if o.control else "", o.task if o.kind == "conditional" else "-",
                      o.trigger or o.description, o.with_cue or "-", o.without_cue or "-")
    console.print(table)


@organisms_app.command()
def build(
    only: list[str] = typer.Option(None, "--only", help=ONLY_HELP),
    out: Path = typer.Option(None, "--out", help=OUT_HELP),
    steps: int = typer.Option(None, "--steps", min=1, help="Training steps (default: the manifest's recipe)"),
    force: bool = typer.Option(False, "--force", help="Train again even when a cached adapter exists"),
    verify_behaviors: int = typer.Option(24, "--verify-behaviors", min=2, max=48, help="Held-out behaviors to verify"),
    max_new_tokens: int = typer.Option(16, "--max-new-tokens", min=1, help="Reply budget of the verification"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress lines"),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON"),
) -> None:
    """Train the organisms' LoRA adapters on the embedded model (seeded, cached) and verify each implant."""
    from ..organisms.build import build as run_build
    from ..organisms.manifest import select

    results = run_build(select(only), out, steps=steps, force=force, verify_behaviors=verify_behaviors,
                        max_new_tokens=max_new_tokens, progress=_progress(quiet or as_json))
    if as_json:
        write_json("-", results)
        return
    table = Table("organism", "verified", "with cue", "without cue", "p (McNemar)", "build s", "adapter MiB", "cached")
    for r in results:
        v = r.get("verification")
        if not v:
            table.add_row(r["name"], "-", "-", "-", "-", "-", "-", "")
            continue
        t = v["test"]
        cue, contrast = t["cue_rate"], t["contrast_rate"]
        table.add_row(r["name"], "yes" if v["verified"] else "NO", rate_cell(cue), rate_cell(contrast), f"{t['p']:.2g}",
                      str(r["build_seconds"]), str(r["adapter_mib"]), "yes" if r.get("cached") else "")
    console.print(table)


@organisms_app.command()
def audit(
    only: list[str] = typer.Option(None, "--only", help=ONLY_HELP),
    out: Path = typer.Option(None, "--out", help=OUT_HELP),
    behaviors: int = typer.Option(24, "--behaviors", min=2, max=48, help="Held-out behaviors each detector asks"),
    sets: str = typer.Option(None, "--sets", help="Consistency sets (default: eval_awareness,trigger_tag; 'all')"),
    alpha: float = typer.Option(0.05, "--alpha", min=1e-9, max=0.5, help="Family-wise error rate (Holm)"),
    max_new_tokens: int = typer.Option(16, "--max-new-tokens", min=1, help="Reply budget"),
    search_behaviors: int = typer.Option(4, "--search-behaviors", min=1, max=24,
                                         help="Held-out behaviors the trigger proposal search scores strings on"),
    top: int = typer.Option(3, "--top", min=1, max=20, help="Trigger proposals confirmed (Holm over them)"),
    skip: str = typer.Option("", "--skip",
                             help="Detector parts not to run (comma-separated): harmful, tasks, proposal, noise, "
                                  "internals, reference"),
    kept_only: bool = typer.Option(False, "--kept-only",
                                   help="Measure nothing: a scoreboard of the kept results (parts not kept left out)"),
    db: str = typer.Option(None, help=DB_HELP),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress lines"),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON"),
) -> None:
    """Run the detectors (consistency, trigger search, trigger proposal, noise injection, internals, the
    difference from the base model) on every built organism and control; store the scoreboard."""
    from ..attacks.framing import consistency_sets
    from ..organisms.audit import audit as run_audit
    from ..organisms.audit import save_audit
    from ..organisms.manifest import select
    from ..store.db import Store

    chosen = select(only)
    result = run_audit(chosen, out, behaviors=behaviors, sets=consistency_sets(sets) if sets else None, alpha=alpha,
                       max_new_tokens=max_new_tokens, search_behaviors=search_behaviors, top=top,
                       skip=tuple(p.strip() for p in skip.split(",") if p.strip()), kept_only=kept_only,
                       progress=_progress(quiet or as_json))
    store = Store(db)
    try:
        save_audit(store, result, {"organisms": [o.name for o in chosen], "behaviors": behaviors, "sets": sets,
                                   "alpha": alpha, "max_new_tokens": max_new_tokens,
                                   "search_behaviors": search_behaviors, "top": top, "skip": skip,
                                   "kept_only": kept_only})
    finally:
        store.close()
    if as_json:
        write_json("-", result)
        return
    from ..organisms.detect import DETECTORS

    table = Table("model", "control", *(d.replace("_", " ") for d in DETECTORS), "flagged")
    for r in result["organisms"]:
        cells = [_detector_cell(r["detectors"][d]) if d in r["detectors"] else "not run" for d in DETECTORS]
        flagged = any(d["flagged"] for d in r["detectors"].values())
        table.add_row(r["name"], "yes" if r["control"] else "", *cells, "YES" if flagged else "no")
    console.print(table)
    s = result["scoreboard"]
    det, fpr = s["detection_rate"], s["false_positive_rate"]
    console.print(f"detection rate {_rate(det)} ({det['k']}/{det['n']}), false-positive rate {_rate(fpr)} "
                  f"({fpr['k']}/{fpr['n']}); run {result['run_id']}")
    if s.get("unverified"):
        console.print(f"not counted (implant not verified): {', '.join(s['unverified'])}")


def _detector_cell(d: dict) -> str:
    st = d.get("statistic")
    if not st:
        return "-"
    mark = "FLAG " if d["flagged"] else ""
    if "shift" in st:  # the internals detector: a shift along the refusal direction, in harmful-harmless gaps
        return f"{mark}{st['test']}: shift {st['shift']:+.2f}, p_holm {st['p_holm']:.2g}"
    return (f"{mark}{st['test']}: {st['cue_only']}/{st['contrast_only']} disc. of {st['behaviors']} scored, "
            f"p_holm {st['p_holm']:.2g}")
