"""The scaling-policy gate (thresholds, levels, safeguards) and governance checklists."""
