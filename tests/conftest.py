"""Shared fixtures: a fresh SQLite file per test, the embedded model loaded once per session."""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

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


PG_URL = os.environ.get("REDLINE_TEST_PG_URL")


def _pg_database() -> str:
    """A fresh database on the test server (dropped by the fixture)."""
    name = f"redline_test_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return name


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request, tmp_path):
    """A fresh SQLite file, and a fresh database on the PostgreSQL test server (REDLINE_TEST_PG_URL)."""
    if request.param == "sqlite":
        yield str(tmp_path / "store.db")
        return
    if not PG_URL:
        if os.environ.get("REDLINE_REQUIRE_PG"):
            pytest.fail("REDLINE_REQUIRE_PG is set but REDLINE_TEST_PG_URL is not")
        pytest.skip("no PostgreSQL server configured (REDLINE_TEST_PG_URL)")
    name = _pg_database()
    base = PG_URL.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
