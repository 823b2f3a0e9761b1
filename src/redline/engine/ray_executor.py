"""`--executor ray`: attempt batches as tasks on a pool of target replicas (Ray actors).

The driver keeps everything that touches the store: it plans, judges and records each batch as it comes
back (the `RunRecorder` stays the only writer), so killing the driver loses at most the batches in flight and
`--resume` completes the run; a replica that dies is restarted by Ray and its batch retried. Targets that hold
a model (`local`, `vllm`) get one CPU per replica (one GPU when the cluster has them); endpoint and `python:`
targets need none, so many replicas fan out over one machine. Ray is imported only here.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import RedlineError
from ..records import Conversation, Generation, GenerationParams
from ..redaction import add_secret
from ..targets.base import create_target, parse_target_spec
from .execute import Outcome, generate_items
from .plan import WorkItem

MODEL_KINDS = frozenset({"local", "vllm"})
RESTARTS = 3


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise RedlineError("--executor ray needs Ray: pip install 'redline[ray]'") from None
    return ray


def _register_token_as_secret() -> None:
    """Ray's cluster token (token authentication is on by default) is redacted wherever it could be printed."""
    token = os.environ.get("RAY_AUTH_TOKEN")
    path = Path(os.environ.get("RAY_AUTH_TOKEN_PATH", Path.home() / ".ray" / "auth_token"))
    if not token and path.is_file():
        token = path.read_text(encoding="utf-8").strip()
    if token:
        add_secret(token)


def connect(address: str | None = None) -> bool:
    """Join the cluster at `address` (`auto`, HOST:PORT) or start a local one; True when this call started it."""
    ray = _ray()
    if ray.is_initialized():
        return False
    options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "logging_level": logging.WARNING}
    try:
        if address:
            ray.init(address=address, **options)
        else:
            ray.init(num_cpus=os.cpu_count() or 1, **options)
    except Exception as exc:  # noqa: BLE001 - connection problems are the user's to fix, in one line
        raise RedlineError(f"cannot start or join a Ray cluster ({address or 'local'}): {exc}") from None
    finally:
        _register_token_as_secret()
    return True


def disconnect() -> None:
    """Leave (or stop, when this process started it) the Ray session."""
    ray = _ray()
    if ray.is_initialized():
        ray.shutdown()


class _Replica:
    """One target built from its spec inside a Ray worker (one model load per replica)."""

    def __init__(self, spec: str, options: dict[str, Any]) -> None:
        self.target = create_target(spec, **options)

    def target_id(self) -> str:
        return self.target.id

    def pid(self) -> int:
        return os.getpid()

    def generate(self, batch: list[Conversation], params: GenerationParams) -> list[Generation]:
        return self.target.generate(batch, params)

    def generate_items(self, items: list[WorkItem]) -> list[Outcome]:
        return generate_items(self.target, items)


def replica_resources(spec: str, replicas: int) -> dict[str, float]:
    """A model-holding target takes a GPU when the cluster has enough, else one CPU; endpoints take none."""
    ray = _ray()
    if parse_target_spec(spec).kind not in MODEL_KINDS:
        return {"num_cpus": 0}
    gpus = ray.cluster_resources().get("GPU", 0)
    return {"num_gpus": 1, "num_cpus": 1} if gpus >= replicas else {"num_cpus": 1}


class RayTargetPool:
    """A `Target` whose generation runs on `replicas` Ray actors; `map_batches` fans a scan's batches out."""

    def __init__(self, spec: str, options: dict[str, Any], replicas: int = 1, address: str | None = None) -> None:
        if replicas < 1:
            raise RedlineError("--replicas must be at least 1")
        ray = _ray()
        self.started = connect(address)
        self.replicas = replicas
        resources = replica_resources(spec, replicas)
        actor = ray.remote(max_restarts=RESTARTS, max_task_retries=RESTARTS, **resources)(_Replica)
        self.actors = [actor.remote(spec, options) for _ in range(replicas)]
        try:  # every replica up (its model loaded) before the scan starts
            self.id = ray.get([a.target_id.remote() for a in self.actors])[0]
        except Exception as exc:  # noqa: BLE001 - the target's own error, raised inside the replica
            self.close()
            cause = str(getattr(exc, "cause", None) or exc).strip().splitlines() or [type(exc).__name__]
            raise RedlineError(f"target {spec!r} could not start on Ray: {cause[-1]}") from None
        self._next = 0

    def generate(self, batch: list[Conversation], params: GenerationParams) -> list[Generation]:
        """One call on the next replica (adaptive attacks and anything that asks one batch at a time)."""
        ray = _ray()
        actor = self.actors[self._next % len(self.actors)]
        self._next += 1
        try:
            return ray.get(actor.generate.remote(batch, params))
        except ray.exceptions.RayError as exc:
            return [Generation(error=f"replica failed: {type(exc).__name__}") for _ in batch]

    def map_batches(self, batches: list[list[WorkItem]], in_flight: int | None = None) -> Iterator[list[Outcome]]:
        """Outcomes of every batch, yielded as replicas finish them (not in order); each replica has at most
        `in_flight` batches queued (default 2, so a replica never waits for the driver)."""
        ray = _ray()
        per = in_flight or 2
        todo = list(enumerate(batches))[::-1]
        running: dict[Any, tuple[int, list[WorkItem]]] = {}
        load = [0] * len(self.actors)
        try:
            while todo or running:
                while todo and min(load) < per:
                    slot = load.index(min(load))
                    index, batch = todo.pop()
                    running[self.actors[slot].generate_items.remote(batch)] = (slot, batch)
                    load[slot] += 1
                done, _ = ray.wait(list(running), num_returns=1)
                slot, batch = running.pop(done[0])
                load[slot] -= 1
                try:
                    yield ray.get(done[0])
                except ray.exceptions.RayError as exc:  # the replica died more often than Ray restarts it
                    error = f"replica failed after {RESTARTS} restarts: {type(exc).__name__}"
                    yield [Outcome(item, list(item.variant.conversation), Generation(error=error)) for item in batch]
        finally:
            for ref in running:
                ray.cancel(ref, force=False)

    def close(self) -> None:
        ray = _ray()
        for actor in getattr(self, "actors", []):
            ray.kill(actor)
        self.actors = []
        if self.started:
            disconnect()
