"""The identity attack: the behavior's prompt as written (the baseline every attack is compared with)."""

from __future__ import annotations

from .base import Attack, registry


@registry.register("identity")
class Identity(Attack):
    """Send the goal unchanged."""

    id = "identity"
    family = "direct"
    description = "The behavior's goal sent as written, no attack."
