"""DP training: the reported epsilon equals Opacus's accountant recomputed by hand; config errors."""

from __future__ import annotations

import pytest

from redline.audits.dp.train import load_config, load_data, train_model
from redline.errors import ConfigError


@pytest.mark.slow
def test_reported_epsilon_matches_accountant() -> None:
    import torch
    from opacus.accountants import RDPAccountant

    torch.set_num_threads(1)
    cfg = load_config(None, noise_multiplier=1.1, epochs=2, batch_size=50, accountant="rdp", delta=1e-4,
                      data={"n": 400, "features": 6})
    train, test = load_data(cfg.data, cfg.seed)
    model, info = train_model(train, cfg, dp=True)
    acc = RDPAccountant()
    acc.history = [(1.1, 50 / len(train), info["steps"])]
    assert info["sample_rate"] == pytest.approx(50 / len(train))
    assert info["epsilon"] == pytest.approx(acc.get_epsilon(1e-4), rel=1e-9)
    assert 0.1 < info["epsilon"] < 10
    assert model(torch.from_numpy(test.x)).shape == (len(test), 2)


def test_config_errors(tmp_path) -> None:  # noqa: ANN001
    with pytest.raises(ConfigError, match="not both"):
        load_config(None, target_epsilon=1.0, noise_multiplier=1.0)
    bad = tmp_path / "c.yaml"
    bad.write_text("epochs: -1\n")
    with pytest.raises(ConfigError, match="epochs"):
        load_config(bad)
    bad.write_text("data: {source: csv}\n")
    with pytest.raises(ConfigError, match="data.path"):
        load_data(load_config(bad).data)
    assert load_config(None).target_epsilon == 3.0


@pytest.mark.slow
def test_understated_claim_is_broken() -> None:
    """A non-DP model that memorizes its canaries, claimed as epsilon=0.5, must be flagged BROKEN."""
    import torch

    from redline.audits.dp.audit import run_audit

    torch.set_num_threads(1)
    cfg = load_config(None, target_epsilon=1.0, epochs=40, lr=0.5, batch_size=64, data={"n": 1000})
    m = run_audit(cfg, canaries=200, claim_epsilon=0.5, models=("non_dp",))["models"]["non_dp"]
    assert m["claimed_epsilon"] == 0.5 and m["empirical"]["epsilon_lower"] > 0.5
    assert m["verdict"] == "BROKEN"
