"""The results store: models, migrations, the RunRecorder (the only writer of runs) and queries."""

from .db import Store, normalize_url

__all__ = ["Store", "normalize_url"]
