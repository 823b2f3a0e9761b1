"""`redline interp ...`: activations, probes, refusal direction, attribution, steering, measured effects."""

from __future__ import annotations

import time
from dataclasses import asdict

import typer
from rich.table import Table

from .app import DB_HELP, app, console, err_console, fail, write_json

interp_app = typer.Typer(
    help="Interpretability for safety on local models (probes, refusal direction, steering).",
    no_args_is_help=True,
)
app.add_typer(interp_app, name="interp")

MODEL_HELP = "Local model: a Hugging Face folder or .gguf path; empty for the embedded SmolLM2-135M-Instruct."
POSITION_HELP = "Token positions: last, post (post-instruction template tokens), or N final tokens."


def _model(model: str):  # noqa: ANN202
    from ..targets.local import load_model

    with err_console.status("loading model"):
        return load_model(model)


def _sets(with_library: bool, harmful: str | None, harmless: str | None) -> tuple[list[str], list[str]]:
    from ..interp.data import instruction_sets, read_lines

    h, b = instruction_sets(with_library)
    return (read_lines(harmful) if harmful else h), (read_lines(harmless) if harmless else b)


@interp_app.command("collect")
def collect(
    model: str = typer.Option("", help=MODEL_HELP),
    position: str = typer.Option("last", help=POSITION_HELP),
    with_library: bool = typer.Option(False, help="Add the probe library's harmful and benign behaviors."),
    harmful: str = typer.Option(None, help="Harmful prompts file (text lines or YAML list)."),
    harmless: str = typer.Option(None, help="Harmless prompts file."),
    refresh: bool = typer.Option(False, help="Recompute even when cached."),
    batch_size: int = typer.Option(16, min=1),
    json_out: str = typer.Option(None, "--json", help="Write the result as JSON ('-' for stdout)."),
) -> None:
    """Collect residual-stream activations for harmful and harmless prompts (cached as safetensors)."""
    from ..interp.activations import cached_activations

    m, tok, model_id = _model(model)
    harm, benign = _sets(with_library, harmful, harmless)
    res = cached_activations(m, tok, model_id, harm + benign, position, batch_size, refresh=refresh)
    info = {
        "model": model_id,
        "prompts": len(harm) + len(benign),
        "shape": list(res.tensor.shape),
        "position": position,
        "seconds": round(res.seconds, 2),
        "from_cache": res.from_cache,
        "path": str(res.path),
    }
    if json_out:
        write_json(json_out, info)
    if json_out != "-":
        console.print(
            f"{info['prompts']} prompts -> {res.path} shape {tuple(res.tensor.shape)} "
            f"({'cached' if res.from_cache else f'{res.seconds:.1f} s'})"
        )


def _labels_and_acts(m, tok, model_id, position, with_library, harmful, harmless, run, db, batch_size):  # noqa: ANN001, ANN202
    import numpy as np

    from ..interp.activations import cached_activations
    from ..records import assistant, conversation_from_dicts

    if run:
        from ..results import load_attempts, resolve_run_id
        from ..store.db import Store

        store = Store(db)
        try:
            records = load_attempts(store, resolve_run_id(store, run))
        finally:
            store.close()
        records = [r for r in records if r.state == "ok" and r.label in ("refused", "complied")]
        convs = [[*conversation_from_dicts(r.conversation), assistant(r.response)] for r in records]
        if not convs:
            fail(f"run {run} has no judged attempts")
        y = np.array([r.label == "refused" for r in records], dtype=int)
        acts = cached_activations(m, tok, model_id, convs, position, batch_size).tensor
        return acts, y, "response", ("complied", "refused")
    harm, benign = _sets(with_library, harmful, harmless)
    acts = cached_activations(m, tok, model_id, harm + benign, position, batch_size).tensor
    y = np.array([1] * len(harm) + [0] * len(benign))
    return acts, y, "input", ("harmless", "harmful")


@interp_app.command("probe")
def probe(
    model: str = typer.Option("", help=MODEL_HELP),
    position: str = typer.Option("last", help=POSITION_HELP),
    out: str = typer.Option("probe.safetensors", help="Where to save the best layer's probe."),
    plot: str = typer.Option(None, help="Save a PNG of AUROC by layer."),
    run: str = typer.Option(None, help="Fit refused-vs-complied probes on a judged run's responses instead."),
    db: str = typer.Option(None, help=DB_HELP),
    test_fraction: float = typer.Option(0.3, min=0.05, max=0.8),
    seed: int = typer.Option(0),
    with_library: bool = typer.Option(False, help="Add the probe library's harmful and benign behaviors."),
    harmful: str = typer.Option(None, help="Harmful prompts file."),
    harmless: str = typer.Option(None, help="Harmless prompts file."),
    batch_size: int = typer.Option(16, min=1),
    json_out: str = typer.Option(None, "--json", help="Write the scores as JSON ('-' for stdout)."),
) -> None:
    """Per-layer linear probes with held-out AUROC; saves the best one (usable as --judge probe:FILE)."""
    from ..interp.classifiers import LinearProbe, best_layer, probe_layers

    m, tok, model_id = _model(model)
    acts, y, kind, labels = _labels_and_acts(
        m, tok, model_id, position, with_library, harmful, harmless, run, db, batch_size
    )
    scores, params = probe_layers(acts.mean(dim=2).double().numpy(), y, test_fraction, seed)
    best = best_layer(scores)
    mean, scale, w, b = params[best.layer]
    saved = LinearProbe(
        best.layer,
        position,
        mean,
        scale,
        w,
        b,
        model_id,
        model,
        kind,
        labels,
        scores=[asdict(s) for s in scores],
    ).save(out)
    if plot:
        from ..interp.attribution import plot_auroc

        title = "Linear probe: refused vs complied responses" if kind == "response" else ""
        plot_auroc(scores, plot, title)
    if json_out:
        write_json(
            json_out,
            {
                "model": model_id,
                "kind": kind,
                "n": len(y),
                "best_layer": best.layer,
                "probe": str(saved),
                "layers": [asdict(s) for s in scores],
            },
        )
    if json_out != "-":
        table = Table("layer", "AUROC", "95% CI", "train")
        for s in scores:
            mark = " *" if s.layer == best.layer else ""
            table.add_row(
                f"{s.layer}{mark}", f"{s.auroc:.3f}", f"{s.low:.3f}-{s.high:.3f}", f"{s.train_auroc:.3f}"
            )
        console.print(table)
        console.print(
            f"best layer {best.layer}: AUROC {best.auroc:.3f} [{best.low:.3f}, {best.high:.3f}] "
            f"on {int(round(len(y) * test_fraction))} held-out; saved {saved}"
        )


@interp_app.command("direction")
def direction(
    model: str = typer.Option("", help=MODEL_HELP),
    position: str = typer.Option("post", help=POSITION_HELP),
    positions: str = typer.Option("last", help="Candidate positions to score: last or all."),
    out: str = typer.Option("refusal_direction.safetensors", help="Where to save the chosen direction."),
    val_fraction: float = typer.Option(0.25, min=0.05, max=0.6, help="Held-out prompts for selection."),
    val_size: int = typer.Option(32, min=4, help="At most this many held-out prompts per class."),
    skip: float = typer.Option(0.2, min=0.0, max=0.9, help="Skip this fraction of the last layers."),
    max_kl: float = typer.Option(0.1, min=0.0),
    seed: int = typer.Option(0),
    with_library: bool = typer.Option(False, help="Add the probe library's harmful and benign behaviors."),
    batch_size: int = typer.Option(16, min=1),
    json_out: str = typer.Option(None, "--json", help="Write the candidate table as JSON ('-' for stdout)."),
) -> None:
    """Difference-of-means refusal direction, chosen by its ablation/steering effect; saved."""
    from ..interp.activations import cached_activations
    from ..interp.data import instruction_sets, split
    from ..interp.direction import select_direction

    m, tok, model_id = _model(model)
    harm, benign = instruction_sets(with_library)
    harm_train, harm_val = split(harm, val_fraction, seed)
    benign_train, benign_val = split(benign, val_fraction, seed)
    a_h = cached_activations(m, tok, model_id, harm_train, position, batch_size).tensor
    a_b = cached_activations(m, tok, model_id, benign_train, position, batch_size).tensor
    with err_console.status("scoring candidate directions"):
        chosen, cands, base = select_direction(
            m,
            tok,
            a_h,
            a_b,
            harm_val[:val_size],
            benign_val[:val_size],
            position,
            model_id,
            skip=skip,
            positions=positions,
            max_kl=max_kl,
        )
    chosen.save(out)
    if json_out:
        write_json(
            json_out, {"chosen": chosen.scores, "baseline": base, "candidates": [asdict(c) for c in cands]}
        )
    if json_out != "-":
        table = Table("layer", "pos", "ablate score", "steer score", "KL", "norm", "ok")
        for c in cands:
            table.add_row(
                str(c.layer),
                str(c.position),
                f"{c.ablate_score:.2f}",
                f"{c.steer_score:.2f}",
                f"{c.kl:.3f}",
                f"{c.norm:.2f}",
                "yes" if c.passes else "",
            )
        console.print(table)
        console.print(
            f"baseline refusal score: harmful {base['harmful_score']:.2f}, harmless "
            f"{base['harmless_score']:.2f}; chosen layer {chosen.layer} pos {chosen.position} "
            f"({'passed filters' if chosen.scores['passed_filters'] else 'NO candidate passed'}); "
            f"saved {out}"
        )


@interp_app.command("attribute")
def attribute_cmd(
    direction_file: str = typer.Option(..., "--direction", help="A saved direction file."),
    model: str = typer.Option("", help=MODEL_HELP),
    position: str = typer.Option("last", help=POSITION_HELP),
    plot: str = typer.Option(None, help="Save a PNG bar chart."),
    n: int = typer.Option(64, min=1, help="Harmful prompts to average over."),
    json_out: str = typer.Option(None, "--json", help="Write the table as JSON ('-' for stdout)."),
) -> None:
    """Per-layer direct projection of attention and MLP outputs on the direction (harmful prompts)."""
    from ..interp.attribution import attribute, plot_attribution
    from ..interp.data import instruction_sets
    from ..interp.interventions import Direction

    d = Direction.load(direction_file)
    m, tok, _ = _model(model)
    rows = attribute(m, tok, instruction_sets()[0][:n], d, position)
    if plot:
        plot_attribution(rows, plot)
    if json_out:
        write_json(json_out, [asdict(r) for r in rows])
    if json_out != "-":
        table = Table("layer", "attention", "MLP", "residual")
        for r in rows:
            table.add_row(str(r.layer), f"{r.attn:+.3f}", f"{r.mlp:+.3f}", f"{r.resid:+.3f}")
        console.print(table)


@interp_app.command("steer-vector")
def steer_vector(
    pairs: str = typer.Option(..., help="YAML/JSON/JSONL of {positive, negative} prompt pairs."),
    out: str = typer.Option("steering.safetensors", help="Where to save the vector."),
    layer: int = typer.Option(None, help="Layer (default: where the pairs separate most)."),
    model: str = typer.Option("", help=MODEL_HELP),
    position: str = typer.Option("last", help=POSITION_HELP),
) -> None:
    """A contrastive steering vector (mean difference of pairs); use with local;steer=FILE:alpha."""
    from ..interp.steering import read_pairs, steering_vector

    prompt_pairs = read_pairs(pairs)
    m, tok, model_id = _model(model)
    d = steering_vector(m, tok, prompt_pairs, layer, position, model_id)
    d.save(out)
    console.print(f"{len(prompt_pairs)} pairs -> layer {d.layer}, norm {d.norm:.2f}; saved {out}")


@interp_app.command("effect")
def effect(
    direction_file: str = typer.Option(..., "--direction", help="A saved direction file."),
    alpha: float = typer.Option(1.0, help="Steering strength in units of the direction's norm."),
    layer: int = typer.Option(None, help="Steering layer (default: the direction's layer)."),
    suite: str = typer.Option("quick", help="Suite to run under each condition."),
    held_out: bool = typer.Option(False, help="Use the held-out interp instructions instead of a suite."),
    limit: int = typer.Option(None, min=1, help="At most this many behaviors (per class with --held-out)."),
    model: str = typer.Option("", help=MODEL_HELP),
    judge: str = typer.Option(None, help="Judge spec (default: the suite's, else refusal)."),
    max_new_tokens: int = typer.Option(48, min=1),
    batch_size: int = typer.Option(16, min=1),
    db: str = typer.Option(None, help=DB_HELP),
    json_out: str = typer.Option(None, "--json", help="Write the table as JSON ('-' for stdout)."),
) -> None:
    """The same scan on the plain, ablated and steered model: ASR and over-refusal with Wilson intervals."""
    from ..interp.effect import held_out_behaviors, results_to_dicts, run_effect
    from ..interp.interventions import Direction
    from ..targets import create_target

    d = Direction.load(direction_file)
    target = create_target("local" + (f":{model}" if model else ""), batch_size=batch_size)
    behaviors = None
    if held_out:
        behaviors = held_out_behaviors(limit=limit)
        limit = None
    start = time.perf_counter()
    results = run_effect(
        target,
        d,
        alpha=alpha,
        layer=layer,
        suite=suite,
        behaviors=behaviors,
        db=db,
        judge=judge,
        max_new_tokens=max_new_tokens,
        limit=limit,
        direction_path=direction_file,
        on_condition=lambda c: err_console.print(f"[dim]running {c}[/dim]"),
    )
    if json_out:
        write_json(
            json_out, {"direction": direction_file, "alpha": alpha, "results": results_to_dicts(results)}
        )
    if json_out != "-":

        def fmt(r) -> str:  # noqa: ANN001
            return "n/a" if r.rate is None else f"{r.rate:.2f} [{r.low:.2f}, {r.high:.2f}] ({r.k}/{r.n})"

        table = Table("condition", "attack success", "over-refusal", "run")
        for r in results:
            table.add_row(
                r.condition if r.condition != "steer" else f"steer a={alpha:g}",
                fmt(r.attack_success),
                fmt(r.over_refusal),
                r.run_id,
            )
        console.print(table)
        console.print(f"[dim]{time.perf_counter() - start:.0f} s[/dim]")
