"""`redline dp audit`: an empirical lower bound on epsilon from a membership attack on inserted canaries.

The training run is the config's: demo data or the user's CSV (`data: {source: csv, path, label}`),
model, epochs, learning rate, batch size and DP settings; the claim to check is `--claim` (default: the
accountant's epsilon). Canaries sit far from the data's center in units of each feature's sd.

Canaries (out-of-distribution points with random labels) are each included in training with
probability 1/2. The loss attack scores every canary; a threshold is chosen on one half of the
canaries and applied to the other half, whose TPR/FPR give a Clopper-Pearson lower bound on epsilon
(see `redline.audits.privacy.mia.epsilon_lower_bound`). The audit passes when that bound does not
exceed the accountant's epsilon. Caveat: canaries share one training run, so trials are not fully
independent (Steinke et al. 2023 show one-run audits are valid but loose); many-run audits are tighter.
"""

from __future__ import annotations

import numpy as np

from ..privacy import mia
from .data import Dataset, make_canaries
from .train import DPConfig, accuracy, load_data, predict_losses, train_model


def run_audit(cfg: DPConfig, canaries: int = 200, confidence: float = 0.95,
              claim_epsilon: float | None = None, seed: int = 0,
              models: tuple[str, ...] = ("dp", "non_dp")) -> dict:
    """Train a DP and/or a non-DP model with canaries and bound epsilon empirically for each.

    `claim_epsilon` is the epsilon claimed for every audited model (default: the DP model's accountant
    epsilon; no claim for the non-DP model). Claiming a small epsilon for a non-DP model that memorizes
    the canaries must give the verdict BROKEN."""
    rng = np.random.default_rng(seed)
    train, test = load_data(cfg.data, seed)
    n_classes = max(2, train.n_classes, test.n_classes)
    like = train if cfg.data.source == "csv" else None  # demo features are already standard normal
    can = make_canaries(canaries, train.x.shape[1], seed=seed + 1, classes=n_classes, like=like)
    inside = rng.random(canaries) < 0.5
    full = Dataset(np.concatenate([train.x, can.x[inside]]), np.concatenate([train.y, can.y[inside]]))
    calib = rng.random(canaries) < 0.5
    results = {}
    for dp in (True, False):
        if ("dp" if dp else "non_dp") not in models:
            continue
        model, info = train_model(full, cfg, dp=dp, n_classes=n_classes)
        scores = mia.loss_attack(predict_losses(model, can)[0])
        delta = info.get("delta", cfg.delta or 1.0 / (10 * len(full)))
        cal_in, cal_out = scores[calib & inside], scores[calib & ~inside]
        t, direction = mia.choose_threshold(cal_in, cal_out, delta, confidence)
        ev_in, ev_out = scores[~calib & inside], scores[~calib & ~inside]
        tp, fp = mia.apply_threshold(ev_in, ev_out, t, direction)
        bound = mia.epsilon_lower_bound(tp, len(ev_in), fp, len(ev_out), delta, confidence)
        claimed = info.get("epsilon") if dp else claim_epsilon
        if dp and claim_epsilon is not None:
            claimed = claim_epsilon
        verdict = "no claim"
        if claimed is not None:
            verdict = "pass" if bound["epsilon_lower"] <= claimed else "BROKEN"
        results["dp" if dp else "non_dp"] = {
            "accountant_epsilon": info.get("epsilon"), "claimed_epsilon": claimed, "delta": delta,
            "empirical": bound, "verdict": verdict, "threshold": t, "direction": direction,
            "attack": mia.metrics(scores[inside], scores[~inside]), "test_accuracy": accuracy(model, test),
            "noise_multiplier": info.get("noise_multiplier"), "seconds": info["seconds"],
        }
    return {"canaries": canaries, "canaries_in": int(inside.sum()), "confidence": confidence,
            "n_train": len(full), "models": results}
