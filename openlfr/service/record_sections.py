"""The deployment record's extra sections, one module per concern, merged into one dict.

Each ``section(s, dep)`` returns its own keys (publishable values only); they land in
``PublicRecord.sections`` and each has its template ``reports/templates/record_<name>.html.j2``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from openlfr.service import record_anchor, record_cameras, record_equality, record_sightings
from openlfr.store import models as m

SECTIONS = (record_sightings, record_cameras, record_equality, record_anchor)
TEMPLATES = tuple(f"{mod.__name__.rsplit('.', 1)[1]}.html.j2" for mod in SECTIONS)


def record_sections(s: Session, dep: m.Deployment) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for mod in SECTIONS:
        out |= mod.section(s, dep)
    return out
