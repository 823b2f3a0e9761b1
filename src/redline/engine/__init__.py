"""Planning, batching, resume and execution of scans."""

from .plan import WorkItem, build_plan
from .scan import ScanConfig, ScanResult, make_plan, run_scan

__all__ = ["ScanConfig", "ScanResult", "WorkItem", "build_plan", "make_plan", "run_scan"]
