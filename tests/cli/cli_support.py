"""Accounts the CLI tests log in as (tests/cli/conftest.py creates them)."""

from __future__ import annotations

PASSWORD = "correct horse battery staple"
# username -> (role, rank, display name): one account of each role, and the odd ones tests need.
ACCOUNTS: dict[str, tuple[str, str | None, str]] = {
    "admin": ("admin", None, "Ada Admin"),
    "sup": ("supervisor", None, "Sgt Sam Supervisor"),
    "sup2": ("supervisor", None, "Sgt Second Supervisor"),
    "ao": ("authorising_officer", "superintendent", "Alex Smith"),
    "insp": ("authorising_officer", "inspector", "Bea Jones"),
    "ops": ("operator", None, "PC Olu Operator"),
    "aud": ("auditor", None, "Avery Auditor"),
}
