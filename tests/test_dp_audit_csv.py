"""`redline dp audit` on a user's training run: CSV data with its own scale and classes, a claimed epsilon."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from redline.audits.dp.data import Dataset, make_canaries


def _write_csv(path, n: int = 160, seed: int = 0) -> None:  # noqa: ANN001
    rng = np.random.default_rng(seed)
    x = rng.normal([1000.0, -5.0, 0.01], [50.0, 2.0, 0.001], (n, 3))
    y = (x[:, 0] > 1000).astype(int) + (x[:, 1] > -5).astype(int)  # three classes
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["income", "score", "rate", "label"])
        w.writerows([[*row, int(lab)] for row, lab in zip(x, y, strict=True)])


def test_canaries_are_far_from_the_users_data_in_its_own_units() -> None:
    rng = np.random.default_rng(1)
    data = Dataset(rng.normal([1000.0, 0.01], [50.0, 0.001], (500, 2)).astype(np.float32), np.zeros(500, int))
    can = make_canaries(50, 2, classes=3, like=data)
    z = (can.x - data.x.mean(0)) / data.x.std(0)
    assert np.allclose(np.linalg.norm(z, axis=1), 4.0 * np.sqrt(2) / 2, rtol=1e-3)
    assert set(can.y.tolist()) <= {0, 1, 2} and len(set(can.y.tolist())) > 1


@pytest.mark.slow
def test_audit_runs_on_a_csv_training_run(tmp_path) -> None:  # noqa: ANN001
    import torch

    from redline.audits.dp.audit import run_audit
    from redline.audits.dp.train import load_config

    torch.set_num_threads(1)
    path = tmp_path / "d.csv"
    _write_csv(path)
    cfg = load_config(None, target_epsilon=2.0, epochs=2, batch_size=32, max_physical_batch_size=32,
                      data={"source": "csv", "path": str(path)})
    r = run_audit(cfg, canaries=16, claim_epsilon=1.5, models=("dp",))
    m = r["models"]["dp"]
    assert r["n_train"] == 120 + r["canaries_in"]  # 75% of 160 rows, plus the inserted canaries
    assert m["claimed_epsilon"] == 1.5 and m["accountant_epsilon"] == pytest.approx(2.0, abs=0.05)
    assert m["verdict"] in ("pass", "BROKEN") and 0 <= m["test_accuracy"] <= 1
