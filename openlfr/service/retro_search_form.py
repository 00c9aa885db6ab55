"""A retrospective search's form (R17) read into a request, for the page and the API alike.

Only the shape is checked here (a probe was sent, within its size; whole numbers are whole
numbers); the rules themselves are `retro_search.retrospective_search`'s. Nothing here knows of
HTTP: the interfaces pass the text fields as they came and the probe's bytes, read up to one
byte past `MAX_PROBE_BYTES`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from openlfr.service.context import AppContext
from openlfr.service.retro_search import SearchResult, retrospective_search

MIB = 2**20
#: A probe is one photograph.
MAX_PROBE_BYTES = 20 * MIB
#: The whole body: the probe with its text fields and multipart framing.
MAX_SEARCH_BODY_BYTES = MAX_PROBE_BYTES + MIB
DEFAULT_TOP = 20


class SearchFormError(ValueError):
    """The form cannot be searched as sent; ``status`` is the HTTP status that says why."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class SearchRequest:
    data: bytes
    name: str
    case_ref: str
    reason: str
    top: int
    face: int | None

    def values(self) -> dict[str, str]:
        """What was typed, to show on the form again."""
        return {"case_ref": self.case_ref, "reason": self.reason, "top": str(self.top),
                "face": "" if self.face is None else str(self.face)}  # fmt: skip


def _int(value: object, name: str) -> int | None:
    if value is None or value == "":
        return None
    text = str(value).strip()
    # Six digits bound it long before any column or loop could overflow.
    if not text.lstrip("-").isdigit() or len(text) > 6:
        raise SearchFormError(f"{name} must be a whole number")
    return int(text)


def search_request(form: Mapping[str, object], probe: tuple[str, bytes] | None) -> SearchRequest:
    """The request the form describes; ``probe`` is the uploaded (filename, bytes), if any."""
    if probe is None:
        raise SearchFormError("image: a probe image file is required")
    name, data = probe
    if len(data) > MAX_PROBE_BYTES:
        raise SearchFormError(f"a probe image may be at most {MAX_PROBE_BYTES // MIB} MiB", 413)
    top = _int(form.get("top"), "top")
    return SearchRequest(
        data=data,
        name=name or "probe",
        case_ref=str(form.get("case_ref") or ""),
        reason=str(form.get("reason") or ""),
        top=DEFAULT_TOP if top is None else top,
        face=_int(form.get("face"), "face"),
    )


def run_search(ctx: AppContext, req: SearchRequest) -> SearchResult:
    """The search the request describes (the probe is never stored: see retro_search)."""
    return retrospective_search(ctx, req.data, case_ref=req.case_ref, reason=req.reason,
                                top=req.top, face=req.face, name=req.name)  # fmt: skip
