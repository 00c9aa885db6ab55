"""The production password hashing, unpatched: tests/api swaps in cheap argon2 parameters for
speed, so this is the one place the real ones run (about a third of a second per hash)."""

from __future__ import annotations

from argon2 import PasswordHasher, Type, extract_parameters, profiles
from argon2.exceptions import VerifyMismatchError
from sqlalchemy import select

from openlfr.service import accounts
from openlfr.store import Store
from openlfr.store.models_accounts import Account

# RFC 9106 section 4, second recommended option ("low memory"): argon2id, t=3, 64 MiB, p=4,
# 16-byte salt, 32-byte tag. Written out rather than read from argon2-cffi, so that a library
# upgrade that changes its defaults is caught here, not in production.
RFC_9106_LOW_MEMORY = {
    "type": Type.ID, "time_cost": 3, "memory_cost": 65536, "parallelism": 4,
    "salt_len": 16, "hash_len": 32,
}  # fmt: skip


def test_production_hasher_uses_rfc_9106_low_memory_parameters() -> None:
    hasher = accounts._HASHER
    assert isinstance(hasher, PasswordHasher)
    got = {key: getattr(hasher, key) for key in RFC_9106_LOW_MEMORY}
    assert got == RFC_9106_LOW_MEMORY
    params = extract_parameters(hasher.hash("a password"))
    assert params.version == 19  # Argon2 1.3, the version RFC 9106 specifies
    assert {key: getattr(params, key) for key in RFC_9106_LOW_MEMORY} == RFC_9106_LOW_MEMORY
    assert params == profiles.RFC_9106_LOW_MEMORY


def test_an_account_hashed_with_them_verifies(store: Store) -> None:
    accounts.create_account(
        store, username="pc.smith", password="correct horse battery", role="operator",
        display_name="PC Smith", rank=None, created_by="test",
    )  # fmt: skip
    with store.session() as s:
        stored = s.scalars(select(Account.password_hash)).one()
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$"), stored
    accounts._HASHER.verify(stored, "correct horse battery")
    try:
        accounts._HASHER.verify(stored, "correct horse battery!")
    except VerifyMismatchError:
        pass
    else:
        raise AssertionError("a wrong password verified")
    found = accounts.authenticate(store, "pc.smith", "correct horse battery")
    assert found is not None and found.username == "pc.smith"
    assert accounts.authenticate(store, "pc.smith", "wrong horse battery") is None
    # Hashed at the current parameters: logging in does not rewrite it.
    with store.session() as s:
        assert s.scalars(select(Account.password_hash)).one() == stored
