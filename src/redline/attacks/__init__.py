"""Transforms from a behavior to conversations; one small module per attack, found by the registry."""

from .base import Attack, AttackVariant, ComposedAttack, create_attack, registry

__all__ = ["Attack", "AttackVariant", "ComposedAttack", "create_attack", "registry"]
