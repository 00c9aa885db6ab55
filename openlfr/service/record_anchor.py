"""The deployment record's section on the signed audit head (issue 9 item 1): the latest signed
audit checkpoint, so that anyone holding the record can check the log was not rewound.

Returns only publishable values (numbers, dates, ranks, names of cameras): the dict is copied
into ``PublicRecord.sections`` and printed on /public, so nothing personal may go in it. A
checkpoint holds only ids, a hash, a time, a fixed reason and a signature.

``sections["audit_anchor"]["anchor"]`` is exactly the file ``openlfr audit anchor --out`` writes:
save it as JSON and ``openlfr audit verify --anchor FILE`` checks the log still holds it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from openlfr.store import models as m
from openlfr.store.signing import latest_anchor


def section(s: Session, dep: m.Deployment) -> dict[str, Any]:
    """``{"audit_anchor": {"anchor", "line", "covers_end"}}`` for ``dep``: the latest signed
    checkpoint (taken when the record is built, so at or after the deployment's end once it
    ended) and whether it was signed at or after that end. Empty when nothing is signed yet."""
    anchor = latest_anchor(s)
    if anchor is None:
        return {}
    ended = dep.ended_at
    covers_end = None
    if ended is not None:
        end = ended if ended.tzinfo else ended.replace(tzinfo=UTC)
        covers_end = datetime.fromisoformat(anchor.signed_at) >= end
    return {
        "audit_anchor": {
            "anchor": anchor.as_dict(),
            "line": anchor.line(),
            "covers_end": covers_end,
        }
    }
