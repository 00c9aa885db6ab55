"""The deployment record's section on equality evidence (issue 12 item 2, issue 13 item 4, R15):
the latest per-group error rates at the deployment's threshold and their date.

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
