"""`redline harden`: findings -> constitutional revision -> dataset -> LoRA -> re-measure.

`collect` gathers a run's attack successes and benign look-alikes, `revise` writes critiques and revised replies
(judged again, template fallback), `dataset` writes SFT/DPO JSONL split by behavior, `train` fits a LoRA adapter
of a `local` target, `remeasure` scans base and adapted model on held-out behaviors and attack families, and
`pipeline` runs the stages as a resumable run of kind `harden`. Nothing here imports torch at import time.
"""
