"""The custody estate as retrospective search, review and deletion see it: one narrow seam over
the estate's table (``store/models_custody.py``) and its persistent index
(``matching/custody_index.py``), both built by the custody import.

Eligible means, here and everywhere: ``eligible`` (the domain rules at import: R2-R4), not
withdrawn since (R11) and not deleted (R18). The index searches eligible rows only; every hit it
returns is re-checked here against the table in the same call, so a withdrawal committed a
moment ago cannot come back even if the index has not yet heard of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Integer, String, any_, bindparam, func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import ARRAY

from openlfr.service.context import AppContext
from openlfr.store.models_custody import CustodyImage

#: How many more candidates than asked for to take from the index on a re-ask, when some of
#: its hits were refused by the re-check (the index lagging a withdrawal).
_WIDEN = 4
#: Ids per UPDATE ... IN / = ANY.
_CHUNK = 5_000


@dataclass(frozen=True)
class EstateHit:
    row_id: int
    custody_id: str
    person_ref: str
    score: float


@dataclass(frozen=True)
class EstateFound:
    hits: tuple[EstateHit, ...]
    searched: int  # eligible images held (what the probe was compared with)
    excluded_ineligible: int  # held but ineligible: never compared


@dataclass(frozen=True)
class HeldImage:
    custody_id: str
    person_ref: str
    image: bytes


def among(column: Any, values: Sequence[Any], s: Session) -> Any:
    """``column IN values``; on PostgreSQL ``column = ANY(:array)``: one bound parameter, not
    thousands, which planning and sending a 5,000-value chunk otherwise cost several times."""
    if s.get_bind().dialect.name == "postgresql":
        kind = Integer if values and isinstance(values[0], int) else String
        return column == any_(bindparam(None, list(values), type_=ARRAY(kind)))
    return column.in_(list(values))


def eligible_now() -> tuple[ColumnElement[bool], ...]:
    """The WHERE clause of an eligible custody image."""
    return (
        CustodyImage.eligible.is_(True),
        CustodyImage.withdrawn_at.is_(None),
        CustodyImage.erased_at.is_(None),
    )


def _counts(s: Session) -> tuple[int, int]:
    rows = s.execute(
        select(CustodyImage.eligible, CustodyImage.withdrawn_at.is_(None), func.count())
        .where(CustodyImage.erased_at.is_(None))
        .group_by(CustodyImage.eligible, CustodyImage.withdrawn_at.is_(None))
    ).all()
    eligible = sum(n for ok, live, n in rows if ok and live)
    return eligible, sum(n for _, _, n in rows) - eligible


def _recheck(s: Session, ids: Sequence[int]) -> dict[int, tuple[str, str]]:
    if not ids:
        return {}
    rows = s.execute(
        select(CustodyImage.id, CustodyImage.custody_id, CustodyImage.person_ref).where(
            CustodyImage.id.in_(list(ids)), *eligible_now()
        )
    ).all()
    return {int(i): (c, p) for i, c, p in rows}


def estate_search(ctx: AppContext, vector: np.ndarray, top: int) -> EstateFound:
    """The ``top`` eligible images nearest ``vector``, best first (R17)."""
    from openlfr.service.custody_index_sync import open_custody_index

    index = open_custody_index(ctx)
    with ctx.store.session() as s:
        searched, excluded = _counts(s)
        want = top
        while True:
            ids, scores = index.search(vector, want)
            ok = _recheck(s, [int(i) for i in ids])
            hits = [
                EstateHit(int(i), *ok[int(i)], float(score))
                for i, score in zip(ids, scores, strict=True)
                if int(i) in ok
            ]
            # Enough, or the index has no more to give: stop. Else ask for more.
            if len(hits) >= top or len(ids) < want or want >= searched + excluded:
                break
            want *= _WIDEN
    return EstateFound(tuple(hits[:top]), searched, excluded)


def eligible_image(ctx: AppContext, s: Session, row_id: int) -> HeldImage | None:
    """The custody image ``row_id`` unsealed, if it is eligible now; else None."""
    img = s.scalar(select(CustodyImage).where(CustodyImage.id == row_id, *eligible_now()))
    if img is None:
        return None
    return HeldImage(img.custody_id, img.person_ref, ctx.store.unseal(img, "image_blob"))


def forget_custody_images(ctx: AppContext, ids: Sequence[int]) -> None:
    """Withdrawn or deleted images leave the custody index at once (before any compaction)."""
    if not ids:
        return
    from openlfr.service.custody_index_sync import open_custody_index

    open_custody_index(ctx).remove(np.asarray(ids, dtype=np.int64))
    # Recorded only once the index has them out: a failure before this leaves them "indexed",
    # so the custody index sync removes them later (and the search's re-check meanwhile).
    with ctx.store.session() as s:
        for i in range(0, len(ids), _CHUNK):
            s.execute(
                update(CustodyImage)
                .where(among(CustodyImage.id, ids[i : i + _CHUNK], s))
                .values(indexed=False)
                .execution_options(synchronize_session=False)
            )
