"""`guard:UPSTREAM_SPEC;policy=FILE[;log=FILE]`: the runtime guard (redline.guard) around any other target.

The guard's own options are `policy` (guard.yaml; default: the packaged policy), `log` (JSON-lines decision
log) and `db` (a store URL or SQLite path: every decision also recorded there, in a run of kind `guard`); every
other option belongs to the upstream, e.g. `guard:openai:m@http://host/v1;key_env=VAR;policy=g.yaml`.
"""

from __future__ import annotations

from .base import TargetSpec, create_target, registry

GUARD_OPTIONS = ("policy", "log", "db")


@registry.register("guard")
def make_guard_target(spec: TargetSpec, **options: object):  # noqa: ANN201 - redline.guard.guarded.GuardedTarget
    from ..errors import ConfigError
    from ..guard.engine import Guard
    from ..guard.guarded import GuardedTarget
    from ..guard.policy import load_guard_policy

    if not spec.rest:
        raise ConfigError("guard target needs an upstream: guard:UPSTREAM_SPEC;policy=FILE (e.g. guard:local)")
    if spec.rest.split(":", 1)[0].strip().lower() == "guard":
        raise ConfigError("a guard target cannot guard another guard target")
    policy = load_guard_policy(str(options.pop("policy")) if options.get("policy") else None)
    log = options.pop("log", None)
    db = options.pop("db", None)
    upstream_opts = ";".join(f"{k}={v}" for k, v in spec.options.items() if k not in GUARD_OPTIONS)
    upstream_spec = spec.rest + (f";{upstream_opts}" if upstream_opts else "")
    overrides = {k: v for k, v in options.items() if k not in spec.options}
    upstream = create_target(upstream_spec, **overrides)
    store = None
    if db:
        from ..guard.record import DecisionStore

        store = DecisionStore(str(db), spec.rest, policy)
    return GuardedTarget(upstream, Guard(policy, log=str(log) if log else None, store=store), spec.rest)
