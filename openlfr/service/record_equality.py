"""The deployment record's section on equality evidence (issue 12 item 2, issue 13 item 4, R15):
the latest per-group error rates at the deployment's threshold and their date.

Returns only publishable values (numbers, dates, ranks, names of cameras): the dict is copied
into ``PublicRecord.sections`` and printed on /public, so nothing personal may go in it.
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from openlfr.config import Settings
from openlfr.service.context import utcnow
from openlfr.service.equality import equality_evidence
from openlfr.store import models as m

log = logging.getLogger(__name__)

# service/records.py puts the context's settings under this key before building the sections;
# without them the environment's settings are the best guess (what the CLI and server run with).
SETTINGS_KEY = "openlfr.settings"


def _settings(s: Session) -> Settings | None:
    found = s.info.get(SETTINGS_KEY)
    if isinstance(found, Settings):
        return found
    try:
        return Settings()
    except ValidationError as exc:  # a broken environment must not break the public record
        log.warning("equality section: settings unreadable: %s", exc)
        return None


def section(s: Session, dep: m.Deployment) -> dict[str, Any]:
    """``{"equality": {...}}``: the newest per-group FPIR/FNIR at ``dep``'s threshold, the date
    measured, and a warning when there is none or it is older than the configured max age."""
    settings = _settings(s)
    if settings is None:
        return {"equality": {"measured_at": None, "threshold": dep.threshold, "groups": [],
                             "warning": "no measurement"}}  # fmt: skip
    ev = equality_evidence(settings, dep.threshold, utcnow())
    groups = [
        {"group": g.group, "fpir": g.fpir, "fnir": g.fnir, "mated": g.mated,
         "nonmated": g.nonmated}
        for g in ev.groups
    ]  # fmt: skip
    return {
        "equality": {
            "measured_at": ev.measured_at,
            "group_by": ev.group_by,
            "threshold": ev.threshold,
            "grid_threshold": ev.grid_threshold,
            "groups": groups,
            "max_age_days": settings.accountability.equality_max_age_days,
            "warning": ev.warning if ev.measured_at else "no measurement",
        }
    }
