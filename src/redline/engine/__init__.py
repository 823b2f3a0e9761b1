"""The one run engine: plans, batching, resume, static and adaptive execution, re-judging."""

from .plan import WorkItem, build_plan
from .scan import ScanConfig, ScanResult, make_plan, run_scan

__all__ = ["ScanConfig", "ScanResult", "WorkItem", "build_plan", "make_plan", "run_scan"]
