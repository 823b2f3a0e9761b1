"""Shared fixtures: a fresh SQLite file per test, the embedded model loaded once per session."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REDLINE = [sys.executable, "-m", "redline"]


@pytest.fixture
def db_path(tmp_path: Path) -> str:
    """A path for a fresh SQLite results database."""
    return str(tmp_path / "redline.db")


@pytest.fixture(scope="session")
def embedded_target():
    """The embedded SmolLM2-135M-Instruct as a LocalTarget (loaded once for the whole session)."""
    from redline.targets import create_target

    return create_target("local", batch_size=16)


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    """Environment for running `python -m redline` in a subprocess."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
    env["HF_HUB_OFFLINE"] = "1"
    env["TRANSFORMERS_VERBOSITY"] = "error"
    return env
