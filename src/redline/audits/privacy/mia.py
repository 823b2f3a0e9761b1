"""Membership inference: loss threshold, offline LiRA, RMIA; ROC metrics and the empirical-epsilon bound.

Scores are oriented so that higher means "member". Inputs are per-example losses (cross-entropy for
classifiers, mean token loss for causal LMs) of the target model and, for the reference attacks,
of reference models trained without the examples (offline setting).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
from scipy import stats as sps

from ...errors import RedlineError


def roc_curve(
    scores_members: np.ndarray, scores_non: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(fpr, tpr, thresholds) predicting member when score >= threshold, from (0,0) to (1,1)."""
    s = np.concatenate([scores_members, scores_non]).astype(np.float64)
    y = np.concatenate([np.ones(len(scores_members)), np.zeros(len(scores_non))])
    if len(scores_members) == 0 or len(scores_non) == 0:
        raise RedlineError("membership inference needs both members and non-members")
    order = np.argsort(-s, kind="mergesort")
    s, y = s[order], y[order]
    distinct = np.r_[np.nonzero(np.diff(s))[0], len(s) - 1]
    tp = np.cumsum(y)[distinct]
    fp = np.cumsum(1 - y)[distinct]
    tpr = np.r_[0.0, tp / y.sum()]
    fpr = np.r_[0.0, fp / (1 - y).sum()]
    return fpr, tpr, np.r_[np.inf, s[distinct]]


def roc_auc(scores_members: np.ndarray, scores_non: np.ndarray) -> float:
    """Area under the ROC curve (ties count one half), i.e. P(score_member > score_non)."""
    fpr, tpr, _ = roc_curve(scores_members, scores_non)
    return float(np.trapezoid(tpr, fpr))


def tpr_at_fpr(scores_members: np.ndarray, scores_non: np.ndarray, max_fpr: float) -> float:
    """The best TPR among thresholds whose FPR is at most `max_fpr` (0 when no threshold qualifies)."""
    fpr, tpr, _ = roc_curve(scores_members, scores_non)
    ok = fpr <= max_fpr + 1e-12
    return float(tpr[ok].max()) if ok.any() else 0.0


def metrics(scores_members: np.ndarray, scores_non: np.ndarray) -> dict:
    """AUC, balanced accuracy at the best threshold, TPR at 1% and 0.1% FPR (with sample sizes)."""
    fpr, tpr, _ = roc_curve(scores_members, scores_non)
    return {
        "auc": roc_auc(scores_members, scores_non),
        "best_accuracy": float(((tpr + 1 - fpr) / 2).max()),
        "tpr_at_1pct_fpr": tpr_at_fpr(scores_members, scores_non, 0.01),
        "tpr_at_0.1pct_fpr": tpr_at_fpr(scores_members, scores_non, 0.001),
        "n_members": len(scores_members),
        "n_non_members": len(scores_non),
        "low_fpr_resolution": 1.0 / len(scores_non),
    }


def loss_attack(losses: np.ndarray) -> np.ndarray:
    """Yeom et al.: a lower loss means member."""
    return -np.asarray(losses, dtype=np.float64)


def _logit_conf(losses: np.ndarray) -> np.ndarray:
    """LiRA's statistic: log(p / (1 - p)) with p = exp(-loss), computed stably."""
    loss = np.maximum(np.asarray(losses, dtype=np.float64), 1e-12)
    return -loss - np.log(-np.expm1(-loss))


def lira_offline(target_losses: np.ndarray, ref_losses: np.ndarray) -> np.ndarray:
    """Offline LiRA (Carlini et al. 2022): fit a Gaussian to each example's out-of-training statistic
    over reference models (ref_losses: [n_refs, n_examples]) and score the target's one-sided tail."""
    return lira(target_losses, ref_losses)


def _gaussian(conf: np.ndarray, use: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-example mean and sd of `conf` [refs, examples] over the references where `use` is True.

    With fewer than 4 such references an example gets the pooled sd of the examples that have two or
    more (LiRA's fixed variance, better with few references); one reference overall: the spread across
    examples."""
    n = use.sum(0)
    mu = np.where(n > 0, (conf * use).sum(0) / np.maximum(n, 1), np.nan)
    dev = np.where(use, conf - mu, 0.0)
    var = (dev**2).sum(0) / np.maximum(n - 1, 1)
    pooled_from = n >= 2
    if pooled_from.any():
        pooled = float(np.sqrt(np.mean(var[pooled_from])))
    else:
        pooled = float(np.std(conf[use])) if use.sum() > 1 else 1.0
    pooled = pooled or 1.0
    sd = np.where(n >= 4, np.sqrt(var), pooled)
    return mu, np.maximum(sd, pooled * 0.1 + 1e-6)


def lira(target_losses: np.ndarray, ref_losses: np.ndarray, ref_in: np.ndarray | None = None) -> np.ndarray:
    """LiRA per example; higher = more likely a member.

    `ref_losses` [n_refs, n_examples] are the losses under reference models; `ref_in[k, i]` says that
    reference k was trained on example i (None: none was, the offline setting). An example with both
    in- and out-references gets the online score, the log-likelihood ratio of its target statistic under
    the fitted "in" and "out" Gaussians; one with only out-references gets the offline one-sided tail
    log P(out statistic <= target statistic). The statistic is the logit-scaled confidence exp(-loss).
    """
    conf = _logit_conf(np.atleast_2d(ref_losses))
    x = _logit_conf(target_losses)
    inside = np.zeros(conf.shape, bool) if ref_in is None else np.atleast_2d(np.asarray(ref_in, bool))
    if inside.shape != conf.shape:
        raise RedlineError(f"ref_in has shape {inside.shape}, the reference losses {conf.shape}")
    if (~inside).sum(0).min() == 0:
        raise RedlineError("every example needs at least one reference model that was not trained on it")
    mu_out, sd_out = _gaussian(conf, ~inside)
    offline = sps.norm.logcdf(x, loc=mu_out, scale=sd_out)
    if not inside.any():
        return offline
    mu_in, sd_in = _gaussian(conf, inside)
    online = sps.norm.logpdf(x, loc=np.nan_to_num(mu_in), scale=sd_in) - sps.norm.logpdf(x, loc=mu_out, scale=sd_out)
    return np.where(inside.any(0), online, offline)


def per_example_lira(scores: np.ndarray, member: np.ndarray, ref_in: np.ndarray | None, n_refs: int,
                     target_losses: np.ndarray) -> list[dict]:
    """One row per example, most member-like first: index within its set, set, score, loss, references used."""
    n_in = np.zeros(len(scores), int) if ref_in is None else np.asarray(ref_in, bool).sum(0)
    rows = []
    counters = {True: 0, False: 0}
    for i, (sc, m) in enumerate(zip(scores, member, strict=True)):
        rows.append({"set": "member" if m else "non-member", "index": counters[bool(m)], "lira": float(sc),
                     "loss": float(target_losses[i]), "refs_in": int(n_in[i]), "refs_out": int(n_refs - n_in[i]),
                     "mode": "online" if n_in[i] else "offline"})
        counters[bool(m)] += 1
    return sorted(rows, key=lambda r: -r["lira"])


def rmia(target_losses: np.ndarray, ref_losses: np.ndarray, population_target: np.ndarray,
         population_ref: np.ndarray, a: float = 1.0, gamma: float = 1.0) -> np.ndarray:
    """RMIA (Zarifzadeh et al. 2024), offline: ratio of the target's probability of x to its average
    probability under reference models (p_in approximated as (1+a)/2 * p_out + (1-a)/2), compared with
    the same ratio on population samples z; the score is the fraction of z that x dominates by gamma.
    a=1 uses the reference average as is; the paper tunes a < 1 on reference models (offline)."""

    def ratio(t: np.ndarray, r: np.ndarray) -> np.ndarray:
        p_t = np.exp(-np.asarray(t, dtype=np.float64))
        p_out = np.exp(-np.atleast_2d(r)).mean(0)
        p_x = 0.5 * ((1 + a) * p_out + (1 - a))
        return p_t / np.maximum(p_x, 1e-300)

    rx = ratio(target_losses, ref_losses)
    rz = np.sort(ratio(population_target, population_ref))
    return np.searchsorted(rz, rx / gamma, side="left") / len(rz)


def epsilon_lower_bound(tp: int, n_pos: int, fp: int, n_neg: int, delta: float = 0.0,
                        confidence: float = 0.95) -> dict:
    """A statistically valid lower bound on epsilon from one attack's confusion counts.

    (eps, delta)-DP implies TPR <= e^eps FPR + delta and (1-FPR) <= e^eps (1-TPR) + delta. With
    Clopper-Pearson bounds (TPR lower, FPR upper; each at 1-(1-confidence)/2) the bound
    eps >= max(ln((TPR_lo - delta) / FPR_hi), ln((1 - FPR_hi - delta) / (1 - TPR_lo))) holds with the
    stated confidence. The point estimate uses the raw rates (not a bound; shown for reference).
    """
    from ...stats import clopper_pearson_interval

    if n_pos <= 0 or n_neg <= 0:
        raise RedlineError("the epsilon bound needs members and non-members")
    each = 1 - (1 - confidence) / 2
    tpr_lo = clopper_pearson_interval(tp, n_pos, 2 * each - 1)[0]
    fpr_hi = clopper_pearson_interval(fp, n_neg, 2 * each - 1)[1]

    def bound(tpr: float, fpr: float) -> float:
        vals = [0.0]
        if tpr - delta > 0 and fpr > 0:
            vals.append(math.log((tpr - delta) / fpr))
        if 1 - fpr - delta > 0 and 1 - tpr > 0:
            vals.append(math.log((1 - fpr - delta) / (1 - tpr)))
        if (tpr - delta > 0 and fpr == 0) or (1 - fpr - delta > 0 and tpr == 1):
            vals.append(math.inf)
        return max(vals)

    return {"epsilon_lower": bound(tpr_lo, fpr_hi), "epsilon_point": bound(tp / n_pos, fp / n_neg),
            "tpr": tp / n_pos, "fpr": fp / n_neg, "tpr_lower": tpr_lo, "fpr_upper": fpr_hi,
            "confidence": confidence, "delta": delta}


def _predict(scores: np.ndarray, t: float, direction: int) -> np.ndarray:
    return scores >= t if direction == 1 else scores < t


def choose_threshold(scores_members: np.ndarray, scores_non: np.ndarray, delta: float = 0.0,
                     confidence: float = 0.95) -> tuple[float, int]:
    """(threshold, direction) maximizing the epsilon bound on a calibration split; direction 1 predicts
    member when score >= threshold, -1 when score < threshold. Apply it to fresh data for a valid bound."""
    best, choice = -1.0, (math.inf, 1)
    _, _, thresholds = roc_curve(scores_members, scores_non)
    for t in thresholds[1:]:
        for direction in (1, -1):
            m, n = _predict(scores_members, t, direction), _predict(scores_non, t, direction)
            b = epsilon_lower_bound(int(m.sum()), len(m), int(n.sum()), len(n), delta, confidence)
            if math.isfinite(b["epsilon_lower"]) and b["epsilon_lower"] > best:
                best, choice = b["epsilon_lower"], (float(t), direction)
    return choice


def apply_threshold(scores_members: np.ndarray, scores_non: np.ndarray, threshold: float,
                    direction: int = 1) -> tuple[int, int]:
    """(true positives, false positives) of a (threshold, direction) test."""
    return (int(_predict(scores_members, threshold, direction).sum()),
            int(_predict(scores_non, threshold, direction).sum()))


def save_roc(
    path: str | Path, curves: dict[str, tuple[np.ndarray, np.ndarray]], png: bool = False
) -> list[str]:
    """Write ROC curves {attack: (member scores, non-member scores)} as JSON, and as a log-log PNG."""
    path = Path(path)
    data = {}
    for name, (mem, non) in curves.items():
        fpr, tpr, _ = roc_curve(mem, non)
        data[name] = {"fpr": fpr.round(6).tolist(), "tpr": tpr.round(6).tolist(), **metrics(mem, non)}
    written = [str(path)]
    try:
        path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    except OSError as exc:
        raise RedlineError(f"cannot write {path}: {exc.strerror or exc}") from None
    if png:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(4.5, 4.5))
        for name, d in data.items():
            label = f"{name} (AUC {d['auc']:.3f})"
            ax.plot(np.maximum(d["fpr"], 1e-5), np.maximum(d["tpr"], 1e-5), label=label)
        ax.plot([1e-5, 1], [1e-5, 1], "k--", lw=0.8)
        ax.set(xscale="log", yscale="log", xlabel="FPR", ylabel="TPR", title="Membership inference ROC")
        ax.legend(fontsize=7)
        png_path = path.with_suffix(".png")
        fig.savefig(png_path, dpi=120, bbox_inches="tight")
        plt.close(fig)
        written.append(str(png_path))
    return written
