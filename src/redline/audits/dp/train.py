"""`redline dp train`: a small PyTorch model trained with Opacus DP-SGD, and the same model without DP.

Config (YAML): data (demo or CSV), model (MLP spec), epochs, lr, batch_size, target_epsilon or
noise_multiplier, delta, max_grad_norm, accountant (prv|rdp), max_physical_batch_size.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ...errors import ConfigError, invalid
from .data import Dataset, load_csv, make_tabular, split


class DataSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    source: Literal["demo", "csv"] = "demo"
    path: str | None = None
    label: str = "label"
    n: int = Field(4000, ge=20)
    features: int = Field(20, ge=2)
    noise: float = Field(0.1, ge=0.0, le=0.5)
    test_fraction: float = Field(0.25, gt=0.0, lt=1.0)


class ModelSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    hidden: list[int] = Field(default_factory=lambda: [64, 64])
    batchnorm: bool = False  # Opacus cannot use BatchNorm: ModuleValidator.fix swaps it for GroupNorm


class DPConfig(BaseModel):
    """A DP training configuration; exactly one of target_epsilon / noise_multiplier (or neither: no DP)."""

    model_config = ConfigDict(extra="forbid")
    data: DataSpec = Field(default_factory=DataSpec)
    model: ModelSpec = Field(default_factory=ModelSpec)
    epochs: int = Field(10, ge=1)
    lr: float = Field(0.1, gt=0)
    batch_size: int = Field(256, ge=1)
    max_physical_batch_size: int = Field(128, ge=1)
    target_epsilon: float | None = Field(None, gt=0)
    noise_multiplier: float | None = Field(None, ge=0)
    delta: float | None = Field(None, gt=0, lt=1)
    max_grad_norm: float = Field(1.0, gt=0)
    accountant: Literal["prv", "rdp"] = "prv"
    seed: int = 0

    @model_validator(mode="after")
    def _one_budget(self) -> DPConfig:
        if self.target_epsilon is not None and self.noise_multiplier is not None:
            raise ValueError("give target_epsilon or noise_multiplier, not both")
        if self.target_epsilon is None and self.noise_multiplier is None:
            raise ValueError("give target_epsilon or noise_multiplier")
        return self


def load_config(path: str | Path | None, **overrides: Any) -> DPConfig:
    """Read a YAML config (or defaults) and apply overrides that are not None."""
    import yaml

    raw: dict[str, Any] = {}
    if path:
        try:
            raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except OSError as exc:
            raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: invalid YAML ({str(exc).splitlines()[0]})") from None
        if not isinstance(raw, dict):
            raise ConfigError(f"{path}: expected a mapping")
    raw.update({k: v for k, v in overrides.items() if v is not None})
    if raw.get("target_epsilon") is None and raw.get("noise_multiplier") is None:
        raw["target_epsilon"] = 3.0
    try:
        return DPConfig.model_validate(raw)
    except ValidationError as exc:
        raise invalid("dp config", exc, "config") from None


def load_data(spec: DataSpec, seed: int = 0) -> tuple[Dataset, Dataset]:
    """(train, test) for a data spec."""
    if spec.source == "csv":
        if not spec.path:
            raise ConfigError("data.source csv needs data.path")
        data = load_csv(spec.path, spec.label)
    else:
        data = make_tabular(spec.n, spec.features, noise=spec.noise, seed=seed)
    if len(data) < 20:
        raise ConfigError("need at least 20 rows of data")
    test, train = split(data, (spec.test_fraction, 1 - spec.test_fraction), seed=seed)
    return train, test


def build_model(in_features: int, n_classes: int, spec: ModelSpec):  # noqa: ANN201 - torch.nn.Module
    import torch.nn as nn

    layers: list[nn.Module] = []
    width = in_features
    for h in spec.hidden:
        layers.append(nn.Linear(width, h))
        if spec.batchnorm:
            layers.append(nn.BatchNorm1d(h))
        layers.append(nn.ReLU())
        width = h
    layers.append(nn.Linear(width, n_classes))
    return nn.Sequential(*layers)


def _loader(data: Dataset, batch_size: int, shuffle: bool, seed: int):  # noqa: ANN202
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    ds = TensorDataset(torch.from_numpy(data.x), torch.from_numpy(data.y))
    gen = torch.Generator().manual_seed(seed)
    return DataLoader(ds, batch_size=batch_size, shuffle=shuffle, generator=gen)


def train_model(train: Dataset, cfg: DPConfig, dp: bool, n_classes: int | None = None) -> tuple[Any, dict]:
    """Train the configured model with DP-SGD (Opacus) or plain SGD; returns (model, info)."""
    import torch
    import torch.nn.functional as F

    torch.manual_seed(cfg.seed)
    n_classes = n_classes or max(2, train.n_classes)
    model = build_model(train.x.shape[1], n_classes, cfg.model)
    info: dict[str, Any] = {"dp": dp, "n_train": len(train)}
    loader = _loader(train, cfg.batch_size, True, cfg.seed)
    if dp:
        from opacus import PrivacyEngine
        from opacus.validators import ModuleValidator

        if ModuleValidator.validate(model, strict=False):
            model = ModuleValidator.fix(model)
            info["fixed_modules"] = True
        optimizer = torch.optim.SGD(model.parameters(), lr=cfg.lr)
        delta = cfg.delta or 1.0 / (10 * len(train))
        engine = PrivacyEngine(accountant=cfg.accountant)
        common = dict(module=model, optimizer=optimizer, data_loader=loader, max_grad_norm=cfg.max_grad_norm)
        if cfg.target_epsilon is not None:
            model, optimizer, loader = engine.make_private_with_epsilon(
                **common, target_epsilon=cfg.target_epsilon, target_delta=delta, epochs=cfg.epochs)
        else:
            model, optimizer, loader = engine.make_private(**common, noise_multiplier=cfg.noise_multiplier)
        info.update(delta=delta, noise_multiplier=float(optimizer.noise_multiplier),
                    sample_rate=float(1 / len(loader)), accountant=cfg.accountant)
    else:
        optimizer = torch.optim.SGD(model.parameters(), lr=cfg.lr)
        engine = None
    start = time.perf_counter()
    model.train()
    for _ in range(cfg.epochs):
        if engine is not None:
            from opacus.utils.batch_memory_manager import BatchMemoryManager

            with BatchMemoryManager(data_loader=loader, max_physical_batch_size=cfg.max_physical_batch_size,
                                    optimizer=optimizer) as mem_loader:
                _epoch(model, optimizer, mem_loader, F)
        else:
            _epoch(model, optimizer, loader, F)
    info["seconds"] = round(time.perf_counter() - start, 2)
    info["steps"] = int(cfg.epochs * len(loader))
    if engine is not None:
        info["epsilon"] = float(engine.get_epsilon(info["delta"]))
    model.eval()
    return model, info


def _epoch(model, optimizer, loader, F) -> None:  # noqa: ANN001, N803
    for xb, yb in loader:
        if len(yb) == 0:  # Poisson sampling can give empty batches
            continue
        optimizer.zero_grad()
        F.cross_entropy(model(xb), yb).backward()
        optimizer.step()


def predict_losses(model: Any, data: Dataset) -> tuple[np.ndarray, np.ndarray]:
    """Per-example cross-entropy losses and correctness of the argmax prediction."""
    import torch
    import torch.nn.functional as F

    with torch.no_grad():
        logits = model(torch.from_numpy(data.x))
        losses = F.cross_entropy(logits, torch.from_numpy(data.y), reduction="none")
        correct = logits.argmax(1).numpy() == data.y
    return losses.numpy().astype(np.float64), correct


def accuracy(model: Any, data: Dataset) -> float:
    return float(predict_losses(model, data)[1].mean())


def train_and_compare(cfg: DPConfig) -> dict:
    """Train with and without DP on the same data; report (epsilon, delta), accuracies and the cost."""
    train, test = load_data(cfg.data, cfg.seed)
    n_classes = max(2, int(max(train.y.max(), test.y.max())) + 1)
    dp_model, dp_info = train_model(train, cfg, dp=True, n_classes=n_classes)
    base_model, base_info = train_model(train, cfg, dp=False, n_classes=n_classes)
    acc_dp, acc_base = accuracy(dp_model, test), accuracy(base_model, test)
    return {
        "epsilon": dp_info["epsilon"], "delta": dp_info["delta"], "accountant": cfg.accountant,
        "noise_multiplier": dp_info["noise_multiplier"], "sample_rate": dp_info["sample_rate"],
        "steps": dp_info["steps"], "accuracy_dp": acc_dp, "accuracy_non_dp": acc_base,
        "accuracy_cost": acc_base - acc_dp, "n_train": len(train), "n_test": len(test),
        "seconds_dp": dp_info["seconds"], "seconds_non_dp": base_info["seconds"],
        "fixed_modules": bool(dp_info.get("fixed_modules")), "config": cfg.model_dump(mode="json"),
    }
