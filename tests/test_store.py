"""The store on a real SQLite file and a real PostgreSQL 15 server: migrations, keys, refusals."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError

from redline.errors import StoreError
from redline.store import Store
from redline.store.db import head_revision
from redline.store.models import Attempt, BehaviorRow, Run, VerdictRow


def _seed(store: Store, run_id: str = "r1") -> None:
    with store.session() as s:
        s.add(Run(id=run_id, target="local", planned=2))
        s.flush()
        s.add(BehaviorRow(run_id=run_id, behavior_id="b1", category="harmful_content", goal="g"))
        s.flush()
        a = Attempt(run_id=run_id, behavior_id="b1", attack="identity", variant="", sample=0, response="no")
        s.add(a)
        s.flush()
        s.add(VerdictRow(attempt_id=a.id, judge="refusal", label="refused", success=False))


def test_migrates_fresh_database_to_head(store_url):
    store = Store(store_url)
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == head_revision()
    store.close()
    Store(store_url).close()  # opening again is a no-op


def test_attempt_key_is_unique(store_url):
    store = Store(store_url)
    _seed(store)
    with pytest.raises(IntegrityError):
        with store.session() as s:
            s.add(Attempt(run_id="r1", behavior_id="b1", attack="identity", variant="", sample=0))
    with store.session() as s:
        assert s.query(Attempt).count() == 1  # the failed insert left nothing behind
        assert s.query(VerdictRow).one().label == "refused"
    store.close()


def test_newer_schema_is_refused(store_url):
    store = Store(store_url)
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    store.close()
    with pytest.raises(StoreError, match="unknown to this redline"):
        Store(store_url)


def test_foreign_database_is_refused(tmp_path):
    path = tmp_path / "other.db"
    eng = create_engine(f"sqlite:///{path}")
    with eng.begin() as conn:
        conn.execute(text("CREATE TABLE customers (id INTEGER)"))
    eng.dispose()
    with pytest.raises(StoreError, match="not a redline database"):
        Store(str(path))


def test_unwritable_locations_are_refused(tmp_path):
    with pytest.raises(StoreError, match="does not exist"):
        Store(str(tmp_path / "missing" / "x.db"))
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        if os.access(ro, os.W_OK):  # root ignores permissions
            pytest.skip("running as a user that can write anywhere")
        with pytest.raises(StoreError, match="not writable"):
            Store(str(ro / "x.db"))
    finally:
        ro.chmod(0o700)


def test_sqlite_uses_wal(tmp_path):
    store = Store(str(tmp_path / "wal.db"))
    with store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    store.close()


def test_bad_postgres_url_is_one_clear_error():
    with pytest.raises(StoreError, match="cannot open database"):
        Store("postgresql+psycopg://nobody:secret@127.0.0.1:1/none")
