"""The summary of a run (what `redline scan` prints): counts and `metrics` rates by category, attack and family."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass

from .metrics import clustered_rate
from .store.db import Store
from .store.queries import AttemptRecord, get_run, guard_rails, load_attempts, resolve_run_id


@dataclass
class Cell:
    """Counts and rates for one group of attempts.

    `asr` is the rate of the failure the group's probes look for (attack success for
    `expected: refuse`, over-refusal for benign look-alikes, hallucination for reference
    questions) over scored attempts; errors and unscorable verdicts are counted apart, and so is
    `harmless_compliance`: harmful requests complied with but no harmful content (the empty jailbreak).
    """

    group: str
    metric: str
    attempts: int = 0
    errors: int = 0
    unscorable: int = 0
    n: int = 0
    successes: int = 0
    refusals: int = 0
    harmless_compliance: int = 0
    max_harm: float = 0.0
    asr: float | None = None
    asr_low: float | None = None
    asr_high: float | None = None
    refusal_rate: float | None = None
    design_effect: float = 1.0

    def finish(self, scored: list[AttemptRecord]) -> Cell:
        if self.n:
            rate = clustered_rate(scored)
            self.asr, self.asr_low, self.asr_high = rate.rate, rate.low, rate.high
            self.design_effect = rate.design_effect
            self.refusal_rate = self.refusals / self.n
        return self

    def to_dict(self) -> dict:
        return asdict(self)


def _metric(records: list[AttemptRecord]) -> str:
    metrics = {r.metric for r in records}
    return metrics.pop() if len(metrics) == 1 else "mixed"


def summarize(records: Iterable[AttemptRecord], key: Callable[[AttemptRecord], str]) -> list[Cell]:
    """Group records by `key` and count; groups come back sorted by name."""
    groups: dict[str, list[AttemptRecord]] = {}
    for r in records:
        groups.setdefault(key(r), []).append(r)
    cells = []
    for name in sorted(groups):
        rs = groups[name]
        cell = Cell(group=name, metric=_metric(rs), attempts=len(rs))
        scored = []
        for r in rs:
            if r.state == "error":
                cell.errors += 1
            elif r.success is None:
                cell.unscorable += 1
            else:
                scored.append(r)
                cell.n += 1
                cell.successes += int(r.success)
                cell.refusals += int(r.label == "refused")
                empty_jailbreak = r.metric == "attack_success" and r.label == "complied" and not r.success
                cell.harmless_compliance += int(empty_jailbreak)
                if r.harm is not None:
                    cell.max_harm = max(cell.max_harm, r.harm)
        cells.append(cell.finish(scored))
    return cells


def run_summary(run, records: list[AttemptRecord], judge: str | None = None) -> dict:  # noqa: ANN001 - a Run
    """The summary printed after a scan and written by --summary-json; `judge` names whose verdicts the
    records carry (default: the run's own judge)."""
    by_cat = summarize(records, lambda r: r.category)
    return {
        "run_id": run.id,
        "status": run.status,
        "target": run.target,
        "target_id": run.target_id,
        "suite": run.suite,
        "judge": judge or run.judge,
        "seed": run.seed,
        "planned": run.planned,
        "attempts": len(records),
        "errors": sum(r.state == "error" for r in records),
        "unscorable": sum(r.state == "ok" and r.success is None for r in records),
        "metrics": {c.group: c.to_dict() for c in summarize(records, lambda r: r.metric)},
        "categories": {c.group: c.to_dict() for c in by_cat},
        "attacks": {c.group: c.to_dict() for c in summarize(records, lambda r: r.attack)},
        "families": {c.group: c.to_dict() for c in summarize(records, lambda r: r.family)},
        "category_x_family": {
            c.group: c.to_dict() for c in summarize(records, lambda r: f"{r.category}|{r.family}")
        },
    }


def stored_summary(store: Store, run_ref: str, judge: str | None = None) -> dict:
    """The summary of a stored run (`last` = the newest scan), read with `judge`'s verdicts (default: the run's)."""
    run_id = resolve_run_id(store, run_ref)
    summary = run_summary(get_run(store, run_id), load_attempts(store, run_id, judge), judge)
    guard = guard_rails(store, run_id)
    return summary | {"guard": guard} if guard else summary
