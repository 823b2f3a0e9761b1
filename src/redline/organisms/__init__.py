"""Model organisms of misalignment: LoRA adapters on the embedded model with a known implanted behaviour
(`manifest`, `dataset`, `train`, `build`), and the detectors scored against them (`detect`)."""
