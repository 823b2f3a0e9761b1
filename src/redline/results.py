"""Reading stored results back (kept for callers of `redline.results`; the queries live in `store.queries`)."""

from .store.queries import AttemptRecord, get_run, iter_attempts, latest_run_id, load_attempts, resolve_run_id

__all__ = ["AttemptRecord", "get_run", "iter_attempts", "latest_run_id", "load_attempts", "resolve_run_id"]
