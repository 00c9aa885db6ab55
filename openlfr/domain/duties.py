"""Separation of duties, as a pure rule: which grants no single administrator may make."""

from __future__ import annotations

# Roles whose holder can authorise deployments or hand out accounts: never one person's gift.
GUARDED_ROLES = frozenset({"admin", "authorising_officer"})


def needs_second_admin(role: str, rank: str | None) -> bool:
    """The admin or authorising-officer role, or any rank (a rank decides what an officer may
    authorise, R7), waits for a second administrator's approval."""
    return role in GUARDED_ROLES or bool(rank and rank.strip())
