"""Pure transforms from a behavior to conversations (one module per attack); adaptive methods, no storage."""

from .base import Attack, AttackVariant, ComposedAttack, create_attack, registry

__all__ = ["Attack", "AttackVariant", "ComposedAttack", "create_attack", "registry"]
