"""The results store: SQLAlchemy models, opening and migrating databases, queries."""

from .db import Store, normalize_url

__all__ = ["Store", "normalize_url"]
