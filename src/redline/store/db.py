"""Opening the results database: SQLite (WAL) by default, PostgreSQL by URL; schema kept by Alembic."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from ..errors import StoreError

DEFAULT_DB = "redline.db"
MIGRATIONS = Path(__file__).parent / "migrations"


def normalize_url(db: str | None) -> str:
    """`None` -> $REDLINE_DB or ./redline.db; a bare path -> sqlite URL; URLs pass through."""
    db = db or os.environ.get("REDLINE_DB") or DEFAULT_DB
    if "://" in db:
        if db.startswith("postgresql://") or db.startswith("postgres://"):
            db = "postgresql+psycopg://" + db.split("://", 1)[1]
        return db
    return f"sqlite:///{Path(db).expanduser()}"


def redact_url(url: str) -> str:
    """The URL with any password masked, for messages and logs."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}"
    return url


def _check_sqlite_path(url: str) -> None:
    path = url.split(":///", 1)[1] if ":///" in url else ""
    if not path or path == ":memory:":
        return
    parent = Path(path).expanduser().resolve().parent
    if not parent.is_dir():
        raise StoreError(f"database folder {str(parent)!r} does not exist")
    if Path(path).exists() and not os.access(path, os.W_OK):
        raise StoreError(f"database file {path!r} is not writable")
    if not os.access(parent, os.W_OK):
        raise StoreError(f"database folder {str(parent)!r} is not writable")


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # noqa: ANN001 - DBAPI types
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _alembic_config(connection):  # noqa: ANN001, ANN202
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    cfg = _alembic_config(None)
    return ScriptDirectory.from_config(cfg).get_current_head() or ""


def migrate(engine: Engine) -> None:
    """Bring the schema to this version's head; refuse databases that are newer or foreign."""
    from alembic import command
    from alembic.script import ScriptDirectory

    with engine.connect() as conn:
        tables = set(inspect(conn).get_table_names())
        current = None
        if "alembic_version" in tables:
            current = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    script = ScriptDirectory.from_config(_alembic_config(None))
    known = {rev.revision for rev in script.walk_revisions()}
    if current is None and tables - {"alembic_version"}:
        raise StoreError("the database holds tables but is not a redline database (no schema version)")
    if current is not None and current not in known:
        raise StoreError(
            f"the database schema version {current!r} is unknown to this redline "
            f"(head {script.get_current_head()!r}); upgrade redline to read it"
        )
    if current == script.get_current_head():
        return
    with engine.begin() as conn:
        command.upgrade(_alembic_config(conn), "head")


class Store:
    """A results database: an engine, a session factory, and the migration check done on open."""

    def __init__(self, url: str | None = None, *, migrate_schema: bool = True) -> None:
        self.url = normalize_url(url)
        if self.url.startswith("sqlite"):
            _check_sqlite_path(self.url)
        try:
            self.engine = create_engine(self.url, future=True, pool_pre_ping=True)
        except (SQLAlchemyError, ImportError, ModuleNotFoundError) as exc:
            raise StoreError(f"cannot open database {redact_url(self.url)}: {exc}".splitlines()[0]) from None
        if self.url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        if migrate_schema:
            try:
                migrate(self.engine)
            except StoreError:
                raise
            except (SQLAlchemyError, OSError) as exc:
                msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                raise StoreError(f"cannot open database {redact_url(self.url)}: {msg}") from None

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session committed on success and rolled back on any error."""
        session = self._sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def close(self) -> None:
        self.engine.dispose()
