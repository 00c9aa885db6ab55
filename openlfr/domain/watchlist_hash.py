"""A watchlist snapshot's fingerprint and size by category (R6, R16).

The hash is recorded in the authorisation and the deployment record, so anyone can later show
which members a deployment searched for - and that the list was not changed while it ran -
even after the watchlist itself has been purged.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from itertools import pairwise

from openlfr.domain.categories import WatchlistCategory, parse_category
from openlfr.domain.rules import cite
from openlfr.errors import RuleViolation

#: Entry: (subject reference, SHA-256 of the reference image, category).
Entry = tuple[str, str, WatchlistCategory | str]

#: Bumped if the canonical form ever changes, so old and new hashes cannot be confused.
_DOMAIN_TAG = "openlfr-watchlist-v1"

_SHA256 = re.compile(r"[0-9a-f]{64}")


def is_sha256_hex(text: str) -> bool:
    """True for 64 lower- or upper-case hex digits."""
    return bool(_SHA256.fullmatch(text.strip().lower()))


def _canonical(entries: Iterable[Entry]) -> list[tuple[str, str, WatchlistCategory]]:
    rows: list[tuple[str, str, WatchlistCategory]] = []
    for subject_ref, image_sha256, category in entries:
        subject = subject_ref.strip()
        if not subject:
            raise RuleViolation("R6", f"a watchlist entry has no subject reference ({cite('R6')})")
        digest = image_sha256.strip().lower()
        if not _SHA256.fullmatch(digest):
            raise RuleViolation(
                "R6",
                f"watchlist entry {subject!r}: image hash {image_sha256!r} is not a SHA-256 hex "
                f"digest ({cite('R6')})",
            )
        rows.append((subject, digest, parse_category(category)))
    rows.sort()
    for previous, current in pairwise(rows):
        if previous[:2] == current[:2]:
            # One image twice (or under two categories) would make the size and the hash
            # disagree about what was searched for.
            raise RuleViolation(
                "R6",
                f"watchlist entry {current[0]!r} lists image {current[1][:12]}... twice "
                f"({cite('R6')})",
            )
    return rows


def member_hash(entries: Iterable[Entry]) -> str:
    """SHA-256 (hex) over the sorted canonical member list; order of ``entries`` is irrelevant.

    The canonical form is JSON (so no subject reference can forge a separator) behind a version
    tag. Refuses, with ``RuleViolation``, unknown categories (R1), malformed hashes and duplicate
    images (R6).
    """
    rows = _canonical(entries)
    payload = json.dumps(
        [_DOMAIN_TAG, [[subject, digest, category.value] for subject, digest, category in rows]],
        ensure_ascii=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode("ascii")).hexdigest()


def size_by_category(entries: Iterable[Entry]) -> dict[str, int]:
    """Number of distinct subjects per category, every category present (zeros included) in
    the enum's order, so published records always have the same columns.
    """
    subjects: dict[WatchlistCategory, set[str]] = {
        category: set() for category in WatchlistCategory
    }
    for subject, _digest, category in _canonical(entries):
        subjects[category].add(subject)
    return {category.value: len(members) for category, members in subjects.items()}
