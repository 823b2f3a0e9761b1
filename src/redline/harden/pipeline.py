"""The harden job as a run of kind `harden`: collect -> revise -> dataset -> train -> re-measure, each stage
checkpointed with `RunRecorder.save_result("harden", STAGE, ...)` so an interrupted job resumes where it stopped
(revisions are checkpointed per batch, re-measure scans resume as scans)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..attacks.base import create_attack
from ..attacks.select import suite_selection
from ..errors import ConfigError, RedlineError
from ..judges.base import create_judge
from ..judges.rubric import load_constitution
from ..store.db import Store
from ..store.queries import get_run, load_audit_results, resolve_run_id
from ..store.recorder import RunRecorder
from ..targets.base import create_target, parse_target_spec
from .collect import collect
from .dataset import build_rows, read_jsonl, split_behaviors, write_dataset
from .remeasure import compare, heldout_attacks, heldout_behaviors, perplexity_check, run_remeasure, scan_config
from .revise import Revision, revise_all, revision_counts
from .train import local_rest, train_adapter

REUSABLE = ("collect", "revise", "dataset")
SAME_DATA = ("source_run", "reviser", "judge", "confirmed_only", "benign_ratio", "heldout_fraction", "seed",
             "revise_tokens", "attacks", "suite", "max_failures")
STAGES = ("collect", "revise", "dataset", "train", "before", "after", "facts_before", "facts_after", "perplexity",
          "compare")


class HardenConfig(BaseModel):
    """What a harden job does; stored with the run (resume uses the stored one)."""

    model_config = ConfigDict(extra="forbid")
    source_run: str
    out: str
    reviser: str = "local"
    judge: str | None = None  # whose verdicts on the source run are read (default: the run's own)
    confirmed_only: bool = True
    benign_ratio: float = Field(1.0, ge=1.0)
    heldout_fraction: float = Field(0.3, gt=0, lt=1)
    heldout_attacks: list[str] | None = None
    method: Literal["sft", "dpo"] = "sft"
    beta: float = Field(0.1, gt=0)
    steps: int | None = Field(None, ge=1)
    epochs: float = Field(4.0, gt=0)
    batch_size: int = Field(8, ge=1)
    lr: float = Field(5e-4, gt=0)
    rank: int = Field(8, ge=1)
    seed: int = 0
    revise_tokens: int = Field(64, ge=8)
    max_new_tokens: int = Field(64, ge=8)
    reuse: str | None = None  # an earlier harden run of the same source whose collect/revise/dataset are taken
    attacks: list[str] | None = None  # only these attacks' attempts of the source run are collected
    suite: str | None = None  # only this suite's attacks and behaviors (e.g. `standard` from a `full` run)
    max_failures: int | None = Field(None, ge=1)  # failures kept (spread over categories and attack families)
    max_heldout: int | None = Field(None, ge=1)  # held-out behaviors re-measured (and hallucination probes)


Progress = Callable[[str, str], None]


class HardenJob:
    """One harden run: its recorder, config and the stage results stored so far."""

    def __init__(self, store: Store, recorder: RunRecorder, config: HardenConfig, progress: Progress | None = None):
        self.store, self.recorder, self.config = store, recorder, config
        self.progress = progress or (lambda stage, msg: None)
        self.results: dict[str, Any] = {r.key: r.data for r in load_audit_results(store, recorder.run_id, "harden")}

    @property
    def run_id(self) -> str:
        return self.recorder.run_id

    def save(self, stage: str, data: dict[str, Any]) -> dict[str, Any]:
        self.recorder.save_result("harden", stage, data)
        self.results[stage] = data
        return data

    def run(self) -> dict[str, Any]:
        cfg, store = self.config, self.store
        source = get_run(store, cfg.source_run)
        out = Path(cfg.out)
        self.recorder.set_status("running")
        if cfg.reuse and "dataset" not in self.results:
            self._reuse(cfg.reuse)
        collection = collect(store, cfg.source_run, judge=cfg.judge, confirmed_only=cfg.confirmed_only,
                             seed=cfg.seed, benign_ratio=cfg.benign_ratio, attacks=cfg.attacks, suite=cfg.suite,
                             max_failures=cfg.max_failures)
        split = split_behaviors(collection.behaviors, cfg.heldout_fraction, cfg.seed)
        if "collect" not in self.results:
            self.save("collect", {"counts": collection.counts, "split": split})
        self.progress("collect", f"{len(collection.failures)} failures, {len(collection.benign)} benign prompts")
        judge = create_judge(source.judge or None)
        if "revise" not in self.results:
            self.results["revise"] = self._revise(collection, judge)
        revisions = {k: Revision(**v) for k, v in self._revisions().items()}
        if "dataset" not in self.results:
            sft, dpo, counts = build_rows(collection, revisions, split)
            files = write_dataset(out, sft, dpo)
            self.save("dataset", {"files": files, "counts": counts})
        self.progress("dataset", ", ".join(f"{k} {v['rows']}" for k, v in self.results["dataset"]["files"].items()))
        adapter = out / "adapter"
        if "train" not in self.results or not (adapter / "adapter_config.json").exists():
            rows = read_jsonl(self.results["dataset"]["files"][f"{cfg.method}.train"]["path"])
            self.progress("train", f"LoRA {cfg.method.upper()} on {len(rows)} {cfg.method.upper()} rows")
            info = train_adapter(source.target, rows, adapter, method=cfg.method, steps=cfg.steps, epochs=cfg.epochs,
                                 batch_size=cfg.batch_size, lr=cfg.lr, rank=cfg.rank, beta=cfg.beta, seed=cfg.seed,
                                 progress=lambda k, loss: self.progress("train", f"step {k}: loss {loss:.3f}"))
            self.save("train", info)
        trained = _attacks_of(collection)
        held_attacks = cfg.heldout_attacks if cfg.heldout_attacks is not None else heldout_attacks(trained)
        behaviors, facts = heldout_behaviors(collection.behaviors, split, cfg.max_heldout, cfg.seed)
        attacks = trained + [a for a in held_attacks if a not in trained]
        tuned = f"{source.target};adapter={adapter}"
        scans = [("before", source.target, behaviors, attacks), ("after", tuned, behaviors, attacks)]
        if facts:
            scans += [("facts_before", source.target, facts, ["identity"]), ("facts_after", tuned, facts, ["identity"])]
        for stage, target, items, used in scans:
            if self.results.get(stage, {}).get("status") == "complete":
                continue
            conf = scan_config(target, items, used, source.judge, cfg.seed, cfg.max_new_tokens)
            self.progress(stage, f"scan of {len(items)} behaviors x {len(used)} attacks on {target}")
            resume = self.results.get(stage, {}).get("run_id")
            run_id, interrupted = run_remeasure(
                store.url, conf, resume, on_run=lambda rid, s=stage: self.save(s, {"run_id": rid, "status": "running"})
            )
            if interrupted:
                raise KeyboardInterrupt
            self.save(stage, {"run_id": run_id, "status": "complete", "target": target})
        if "perplexity" not in self.results:
            self.progress("perplexity", "benign texts, base vs adapted")
            self.save("perplexity", perplexity_check(local_rest(source.target), str(adapter)))
        families = sorted({_family(a) for a in trained})
        runs = {side: (self.results[side]["run_id"], self.results.get(f"facts_{side}", {}).get("run_id"))
                for side in ("before", "after")}
        table = compare(store, runs, set(families))
        summary = self.save("compare", {
            "rows": table, "trained_attacks": trained, "trained_families": families,
            "heldout_attacks": [a for a in attacks if a not in trained], "heldout_behaviors": len(behaviors),
            "perplexity": self.results["perplexity"], "revisions": self.results["revise"]["counts"],
            "before_run": runs["before"][0], "after_run": runs["after"][0],
            "facts_before_run": runs["before"][1], "facts_after_run": runs["after"][1],
        })
        self.recorder.finish("complete")
        return {"run_id": self.run_id, **summary, "dataset": self.results["dataset"], "train": self.results["train"],
                "collect": self.results["collect"]["counts"]}

    def _reuse(self, other: str) -> None:
        """Take the collect, revise (with its checkpoints) and dataset stages of an earlier harden run."""
        done = {r.key: r.data for r in load_audit_results(self.store, other, "harden")}
        missing = [s for s in REUSABLE if s not in done]
        if missing:
            raise RedlineError(f"harden run {other} has not finished its {missing[0]} stage; nothing to reuse yet")
        for r in load_audit_results(self.store, other, "harden-revise"):
            self.recorder.save_result("harden-revise", r.key, r.data)
        for stage in REUSABLE:
            self.save(stage, {**done[stage], "reused_from": other})

    def _revisions(self) -> dict[str, dict]:
        return {r.key: r.data for r in load_audit_results(self.store, self.run_id, "harden-revise")}

    def _revise(self, collection: Any, judge: Any) -> dict[str, Any]:
        items = [*collection.failures, *collection.benign]
        done = self._revisions()
        reviser = create_target(self.config.reviser)
        todo = len({i.key for i in items}) - len(done)
        self.progress("revise", f"{todo} prompts to revise with {self.config.reviser}")

        def store_batch(batch: list[Revision]) -> None:
            for r in batch:
                self.recorder.save_result("harden-revise", r.key, r.to_dict())
            self.progress("revise", f"{len(batch)} more done")

        try:
            revisions = revise_all(items, reviser, judge, load_constitution(), done=done,
                                   batch_size=32, max_new_tokens=self.config.revise_tokens, seed=self.config.seed,
                                   on_batch=store_batch)
        finally:
            reviser.close()
        return self.save("revise", {"counts": revision_counts(revisions), "reviser": self.config.reviser})


def _attacks_of(collection: Any) -> list[str]:
    return sorted({i.attack for i in [*collection.failures, *collection.benign]})


def _family(spec: str) -> str:
    return create_attack(spec).family


def start_job(store: Store, source_ref: str, progress: Progress | None = None, **options: Any) -> HardenJob:
    """Validate the options and create the harden run (nothing is written when they are bad)."""
    source_id = resolve_run_id(store, source_ref)
    source = get_run(store, source_id)
    if source.kind != "scan":
        raise RedlineError(f"run {source_id} is a {source.kind!r} run; harden reads a scan")
    local_rest(source.target)
    options = {k: v for k, v in options.items() if v is not None}
    options["out"] = str(Path(options.get("out") or f"harden-{source_id}").resolve())  # runs store the adapter path
    try:
        config = HardenConfig(source_run=source_id, **options)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise ConfigError(f"harden: {'.'.join(str(x) for x in err['loc'])}: {err['msg']}") from None
    parse_target_spec(config.reviser)
    for spec in suite_selection(config.suite, config.attacks)[0]:
        create_attack(spec)  # an unknown suite or attack is one line, exit 2, before the run is created
    if config.reuse:
        config = config.model_copy(update={"reuse": _check_reuse(store, config)})
    recorder = RunRecorder.start(store, "harden", source.target, config.model_dump(mode="json"),
                                 target_id=source.target_id, judge=source.judge, seed=config.seed,
                                 planned=len(STAGES))
    return HardenJob(store, recorder, config, progress)


def stored_harden_run(store: Store, run_ref: str) -> tuple[str, HardenConfig]:
    """(id, config) of a stored harden run (id, prefix or `last`: the newest harden run)."""
    run_id = resolve_run_id(store, run_ref, kind="harden")
    run = get_run(store, run_id)
    if run.kind != "harden":
        raise RedlineError(f"run {run_id} is a {run.kind!r} run, not a harden run")
    try:
        return run_id, HardenConfig.model_validate(run.config)
    except ValidationError:
        raise RedlineError(f"run {run_id} has a config this redline cannot read") from None


def _check_reuse(store: Store, config: HardenConfig) -> str:
    """The id of the harden run to reuse; its data options must be the same as this job's."""
    other_id, theirs = stored_harden_run(store, str(config.reuse))
    differ = [k for k in SAME_DATA if getattr(theirs, k) != getattr(config, k)]
    if differ:
        raise RedlineError(f"--reuse {other_id}: its {differ[0]} differs from this job's; the data would not match")
    return other_id


def open_job(store: Store, run_ref: str, progress: Progress | None = None) -> HardenJob:
    """The harden run to resume (id, prefix or `last`: the newest harden run)."""
    run_id, config = stored_harden_run(store, run_ref)
    return HardenJob(store, RunRecorder.open(store, run_id, lease=True), config, progress)


def harden(db: str | None, run_ref: str, *, resume: bool = False, progress: Progress | None = None,
           **options: Any) -> dict[str, Any]:
    """Start (or, with `resume`, continue) a harden job; an interruption leaves it `interrupted` and resumable."""
    store = Store(db)
    try:
        job = open_job(store, run_ref, progress) if resume else start_job(store, run_ref, progress, **options)
        if progress:
            progress("run", f"harden run {job.run_id}")
        try:
            return job.run()
        except BaseException:
            job.recorder.finish("interrupted")
            raise
    finally:
        store.close()
