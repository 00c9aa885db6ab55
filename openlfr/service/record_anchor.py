"""The deployment record's section on the signed audit head (issue 9 item 1): the latest signed
audit checkpoint, so that anyone holding the record can check the log was not rewound.

Returns only publishable values (numbers, dates, ranks, names of cameras): the dict is copied
into ``PublicRecord.sections`` and printed on /public, so nothing personal may go in it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from openlfr.store import models as m


def section(s: Session, dep: m.Deployment) -> dict[str, Any]:
    """This section's keys for ``dep``'s record (empty until filled in)."""
    del s, dep
    return {}
