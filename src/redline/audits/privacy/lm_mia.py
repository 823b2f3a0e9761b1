"""Membership inference on a causal LM with any number of reference models (`redline audit mia`).

The target and each reference are log-perplexity functions of texts (`lm.scorer`). A reference may
have been trained on some of the audited texts (e.g. adapters trained on random halves of members and
non-members, as in LiRA): give its training texts and those examples are scored online against it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ...errors import RedlineError
from . import mia

Score = Callable[[Sequence[str]], np.ndarray]


def lm_membership(
    target: Score,
    members: Sequence[str],
    non_members: Sequence[str],
    references: Sequence[Score] = (),
    reference_train: Sequence[Sequence[str] | None] | None = None,
    population: Sequence[str] | None = None,
) -> tuple[dict, dict[str, tuple[np.ndarray, np.ndarray]]]:
    """(result, ROC inputs per attack): loss attack, LiRA with all references (per example) and RMIA.

    `reference_train[k]` lists the texts reference k was trained on (None: none of the audited ones).
    """
    texts = list(members) + list(non_members)
    is_member = np.r_[np.ones(len(members), bool), np.zeros(len(non_members), bool)]
    if reference_train is not None and len(reference_train) != len(references):
        raise RedlineError(f"{len(reference_train)} reference training sets for {len(references)} references")
    if population and not references:
        raise RedlineError("RMIA (--population) needs at least one reference model")
    t = target(texts)
    curves = {"loss": _split(mia.loss_attack(t), is_member)}
    result: dict = {"references": len(references)}
    if references:
        r = np.stack([ref(texts) for ref in references])
        ref_in = None
        if reference_train is not None and any(reference_train):
            sets = [set(tr or ()) for tr in reference_train]
            ref_in = np.array([[x in seen for x in texts] for seen in sets])
        scores = mia.lira(t, r, ref_in)
        name = "lira_online" if ref_in is not None else "lira_offline"
        curves[name] = _split(scores, is_member)
        result["per_example"] = mia.per_example_lira(scores, is_member, ref_in, len(references), t)
        if population:
            t_pop, r_pop = target(population), np.stack([ref(population) for ref in references])
            curves["rmia"] = _split(mia.rmia(t, r, t_pop, r_pop), is_member)
    result["attacks"] = {k: mia.metrics(a, b) for k, (a, b) in curves.items()}
    return result, curves


def _split(scores: np.ndarray, is_member: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return scores[is_member], scores[~is_member]
