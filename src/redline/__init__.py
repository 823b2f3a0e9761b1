"""redline: red-team, audit and gate AI models before they ship.

    from redline import scan
    result = scan(target="local", suite="quick")

Importing redline does not import torch; backends load their heavy dependencies on use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .version import __version__

if TYPE_CHECKING:
    from .engine.scan import ScanResult


def scan(target: str = "local", suite: str = "quick", db: str | None = None, **options: Any) -> ScanResult:
    """Run a scan and return its run id, counts and the summary `redline scan` prints (`result.summary`);
    options are the fields of `ScanConfig` (`behaviors=[Behavior(...)]` scans behaviors held in memory) and how it
    runs: `batch_size`, `concurrency`, `executor="ray"` with `replicas` and `ray_address`."""
    from .engine.scan import ScanConfig, run_scan

    how = ("batch_size", "concurrency", "executor", "replicas", "ray_address")
    run = {k: options.pop(k) for k in how if k in options}
    config = ScanConfig(target=target, suite=suite, **options)
    return run_scan(config, db=db, **run)


__all__ = ["__version__", "scan"]
