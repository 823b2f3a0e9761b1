"""`redline audit pii`: PII in a run's stored responses or in a text file."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from ..store.db import Store
from .app import DB_HELP, console, fail, write_json
from .audit import audit_app


def _pii_file(path: Path, redacted: bool) -> dict:
    from ..audits.privacy.pii import detect, redact

    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror or exc}")
    found = detect(text)
    by_kind: dict[str, int] = {}
    for f in found:
        by_kind[f.kind] = by_kind.get(f.kind, 0) + 1
    out = {"file": str(path), "findings": [f.to_dict() for f in found], "by_kind": by_kind,
           "names": "unavailable (no local NER model)"}
    if redacted:
        out["redacted_text"] = redact(text)
    return out


@audit_app.command("pii")
def audit_pii(
    run: str = typer.Argument(None, help="Run id (or prefix, or 'last': the newest scan) whose responses to scan"),
    file: Path = typer.Option(None, "--file", help="Scan a text file instead of a run"),
    show_redacted: bool = typer.Option(False, "--redacted", help="With --file: print the redacted text"),
    db: str = typer.Option(None, help=DB_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON"),
) -> None:
    """Detect PII (emails, phones, SSNs, cards, IBANs, IPs, addresses) in a run's responses or a file."""
    if (run is None) == (file is None):
        fail("give either a RUN to scan or --file TEXT_FILE")
    if file is not None:
        result = _pii_file(file, show_redacted)
        if as_json:
            write_json("-", result)
            return
        table = Table("kind", "start", "end", "redacted", title=f"PII in {file}")
        for f in result["findings"]:
            table.add_row(f["kind"], str(f["start"]), str(f["end"]), f["redacted"])
        console.print(table)
        console.print(f"{len(result['findings'])} findings; person names: {result['names']}")
        if show_redacted:
            console.print(result["redacted_text"], markup=False, highlight=False)
        return
    from ..audits.privacy.pii import scan_run
    from ..results import resolve_run_id

    store = Store(db)
    try:
        result = scan_run(store, resolve_run_id(store, run))
    finally:
        store.close()
    if as_json:
        write_json("-", result)
        return
    console.print(
        f"run {result['run_id']}: {result['with_pii']}/{result['attempts']} responses contain PII, "
        f"{result['findings']} findings stored (detector 'pii'); person names: {result['names']}"
    )
    kinds = sorted(result["by_kind"])
    table = Table("category", *kinds, "total", title="PII findings by category and kind")
    for cat, counts in sorted(result["by_category"].items()):
        table.add_row(cat, *(str(counts.get(k, 0)) for k in kinds), str(sum(counts.values())))
    table.add_row("all", *(str(result["by_kind"][k]) for k in kinds), str(result["findings"]), style="bold")
    console.print(table)


def _lines(path: Path, what: str) -> list[str]:
    """Non-empty lines of a UTF-8 text file (one document per line)."""
    try:
        lines = [ln.strip() for ln in path.read_text(encoding="utf-8", errors="replace").splitlines()]
    except OSError as exc:
        fail(f"cannot read {what} file {path}: {exc.strerror or exc}")
    lines = [ln for ln in lines if ln]
    if not lines:
        fail(f"{what} file {path} has no non-empty lines")
    return lines


def _load(path: str | None) -> tuple:
    """(model, tokenizer, id) of a local model folder or .gguf file; None means the embedded model."""
    from ..targets.local import load_model

    return load_model(path or "")


@audit_app.command("memorization")
def audit_memorization(
    model: str = typer.Option(None, "--model", help="Fine-tuned local model (folder or .gguf)"),
    corpus: Path = typer.Option(None, "--corpus", help="Its fine-tuning corpus, one document per line"),
    canaries: list[str] = typer.Option(None, "--canary", "--canaries",
                                       help="An inserted canary, e.g. 'my PIN is 4821' (repeatable)"),
    reference: str = typer.Option(None, "--reference", help="Reference model for the perplexity-ratio metric"),
    demo: bool = typer.Option(False, "--demo", help="Fine-tune the embedded model on a generated corpus"),
    steps: int = typer.Option(120, min=1, help="--demo: LoRA steps"),
    candidates: int = typer.Option(1000, min=20, help="Candidates scored per canary format"),
    samples: int = typer.Option(64, min=1, help="Generations sampled for extraction"),
    max_new_tokens: int = typer.Option(32, min=1, help="Tokens per generation"),
    seed: int = typer.Option(0, help="Sampling seed"),
    out: str = typer.Option(None, "--out", help="Write the result as JSON ('-' for stdout)"),
) -> None:
    """Canary exposure and training-data extraction (perplexity, zlib and reference ranks)."""
    from ..audits.privacy import memorization as mem
    from ..audits.privacy.lm import scorer

    if demo:
        if model or corpus:
            fail("--demo fine-tunes the embedded model on its own corpus; drop --model/--corpus")
        with console.status("demo: LoRA fine-tuning and auditing the embedded model (minutes on CPU)"):
            r = mem.demo(steps=steps, n_candidates=candidates, n_samples=samples, max_new_tokens=max_new_tokens,
                         seed=seed)
    else:
        if not model or corpus is None:
            fail("give --model PATH and --corpus FILE (or --demo)")
        docs = _lines(corpus, "corpus")
        for c in canaries or []:
            mem.canary_format(c)
        m, tok, model_id = _load(model)
        ref = None
        if reference:
            rm, rtok, _ = _load(reference)
            ref = scorer(rm, rtok)
        with console.status("scoring canaries and sampling generations"):
            r = mem.audit(m, tok, docs, canaries or [], reference=ref, n_candidates=candidates, n_samples=samples,
                          max_new_tokens=max_new_tokens, seed=seed)
        r.update(model=model_id, corpus_docs=len(docs))
    if out:
        write_json(out, r)
        if out == "-":
            return
    _print_memorization(r)


def _print_memorization(r: dict) -> None:
    base = {e["canary"]: e for e in r.get("base_exposure", [])}
    if r["exposure"]:
        table = Table("canary", "|R|", "scored", "method", "rank", "exposure (bits)", *(["base model"] if base else []),
                      title=f"Canary exposure: {r['model']}")
        for e in r["exposure"]:
            extra = [f"{base[e['canary']]['exposure']:.2f}"] if e["canary"] in base else []
            table.add_row(e["canary"], str(e["candidates"]), str(e["scored"]), e["method"], f"{e['rank']:.0f}",
                          f"{e['exposure']:.2f}", *extra)
        console.print(table)
    ext = r["extraction"]
    metrics = ext["metrics"]
    found = [m for m in ext["matches"] if m["n_samples"]]
    table = Table("kind", "target", "samples", *(f"best rank: {m}" for m in metrics),
                  title=f"Extraction: {len(found)}/{len(ext['matches'])} targets reproduced verbatim "
                        f"in {ext['n_samples']} samples")
    for m in found:
        table.add_row(m["kind"], m["target"][:60], str(m["n_samples"]), *(str(m["best_rank"][k]) for k in metrics))
    console.print(table)
    for k in metrics:
        top = ext["top"][k][0] if ext["top"][k] else None
        if top:
            console.print(f"most suspicious by {k}: {top['sample'][:80]!r}", markup=False, highlight=False)


@audit_app.command("mia")
def audit_mia(
    model: str = typer.Option(..., "--model", help="Target local model (folder or .gguf)"),
    members: Path = typer.Option(..., "--members", help="Texts in its training data, one per line"),
    non_members: Path = typer.Option(..., "--non-members", help="Texts not in its training data, one per line"),
    reference: list[str] = typer.Option(None, "--reference", help="Reference model (repeatable: several for LiRA)"),
    reference_train: list[Path] = typer.Option(
        None, "--reference-train", help="Texts each --reference was trained on, in the same order (repeatable)"
    ),
    population: Path = typer.Option(None, "--population", help="With --reference: extra non-member texts (RMIA)"),
    roc: Path = typer.Option(None, "--roc", help="Save the ROC curves as JSON (and a PNG beside it)"),
    batch_size: int = typer.Option(16, min=1, help="Texts per forward pass"),
    out: str = typer.Option(None, "--out", help="Write the result as JSON ('-' for stdout)"),
) -> None:
    """Membership inference on a causal LM: loss threshold, and with --reference LiRA (per example) and RMIA."""
    from ..audits.privacy import mia
    from ..audits.privacy.lm import scorer
    from ..audits.privacy.lm_mia import lm_membership

    mem_texts, non_texts = _lines(members, "members"), _lines(non_members, "non-members")
    pop_texts = _lines(population, "population") if population else None
    if pop_texts and not reference:
        fail("--population is used by RMIA, which needs --reference")
    if reference_train and len(reference_train) != len(reference or []):
        fail(f"give one --reference-train per --reference ({len(reference_train)} for {len(reference or [])})")
    trained = [_lines(p, "reference training") for p in reference_train] if reference_train else None
    m, tok, model_id = _load(model)
    refs = [scorer(*_load(r)[:2], batch_size) for r in reference or []]
    with console.status("scoring members and non-members"):
        result, curves = lm_membership(scorer(m, tok, batch_size), mem_texts, non_texts, refs, trained, pop_texts)
    result = {"model": model_id, "reference": reference or None, **result}
    if roc:
        result["roc_files"] = mia.save_roc(roc, curves, png=True)
    if out:
        write_json(out, result)
        if out == "-":
            return
    table = Table("attack", "AUC", "TPR@1%FPR", "TPR@0.1%FPR", "members", "non-members",
                  title=f"Membership inference: {model_id}")
    for name, k in result["attacks"].items():
        table.add_row(name, f"{k['auc']:.3f}", f"{k['tpr_at_1pct_fpr']:.3f}", f"{k['tpr_at_0.1pct_fpr']:.3f}",
                      str(k["n_members"]), str(k["n_non_members"]))
    console.print(table)
    if result.get("per_example"):
        top = Table("set", "text #", "LiRA", "loss", "refs in/out", "mode", title="Most member-like examples")
        for r in result["per_example"][:10]:
            top.add_row(r["set"], str(r["index"] + 1), f"{r['lira']:.2f}", f"{r['loss']:.3f}",
                        f"{r['refs_in']}/{r['refs_out']}", r["mode"])
        console.print(top)
    if result["attacks"]["loss"]["n_non_members"] < 1000:
        console.print("note: TPR at 0.1% FPR needs at least 1000 non-members to mean anything")


@audit_app.command("attribute")
def audit_attribute(
    model: str = typer.Option(None, "--model", help="Fine-tuned local model (folder or .gguf)"),
    records: Path = typer.Option(None, "--records", help='JSON lines {"text": "... {?} ...", "value": "true"}'),
    values: str = typer.Option(None, "--values", help="Candidate values, comma-separated (default: the true ones)"),
    reference: str = typer.Option(None, "--reference", help="Base model for comparison and the ratio attack"),
    demo: bool = typer.Option(False, "--demo", help="LoRA-tune the embedded model on the memorization demo data"),
    docs: int = typer.Option(120, min=4, help="--demo: training documents (and as many held out)"),
    steps: int = typer.Option(120, min=1, help="--demo: LoRA steps"),
    seed: int = typer.Option(0, help="Seed (fine-tune and bootstrap)"),
    out: str = typer.Option(None, "--out", help="Write the result as JSON ('-' for stdout)"),
) -> None:
    """Attribute inference: how often the model's likelihood picks a record's masked value, against the prior."""
    from ..audits.privacy import attribute as attr
    from ..audits.privacy.lm import scorer

    if demo:
        if model or records:
            fail("--demo fine-tunes the embedded model on its own data; drop --model/--records")
        with console.status("demo: LoRA fine-tuning and attacking the embedded model (minutes on CPU)"):
            result = attr.demo(n_docs=docs, steps=steps, seed=seed)
        splits = {"training": result["training"], "held out": result["held_out"]}
    else:
        if not model or records is None:
            fail("give --model PATH and --records FILE (or --demo)")
        recs = attr.load_records(records)
        cands = [v.strip() for v in values.split(",") if v.strip()] if values else None
        m, tok, model_id = _load(model)
        ref = scorer(*_load(reference)[:2], total=True) if reference else None
        with console.status("scoring every candidate value"):
            r = attr.attribute_inference(scorer(m, tok, total=True), recs, cands, ref, seed)
        result = {"model": model_id, "reference": reference, **r}
        splits = {"records": r}
    if out:
        write_json(out, result)
        if out == "-":
            return
    table = Table("records", "attacker", "accuracy [95% CI]", "prior", "advantage over prior [95% CI]",
                  "over reference [95% CI]", title=f"Attribute inference: {result['model']}")
    for split, s in splits.items():
        for name in ("target", "reference", "ratio"):
            if name not in s:
                continue
            a = s[name]
            lo, hi = a["advantage_over_prior_ci"]
            vs = (f"{a['advantage_over_reference']:+.3f} [{a['advantage_over_reference_ci'][0]:+.3f}, "
                  f"{a['advantage_over_reference_ci'][1]:+.3f}]" if "advantage_over_reference" in a else "-")
            table.add_row(f"{split} (n={s['records']})", name,
                          f"{a['accuracy']:.3f} [{a['accuracy_ci'][0]:.3f}, {a['accuracy_ci'][1]:.3f}]",
                          f"{s['prior']:.3f}", f"{a['advantage_over_prior']:+.3f} [{lo:+.3f}, {hi:+.3f}]", vs)
    console.print(table)
