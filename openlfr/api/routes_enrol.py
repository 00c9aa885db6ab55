"""Enrolment from the browser or the API: uploaded images go through `enrol_subject`, the
very service (and rules) that `openlfr enrol` uses; each image's decision comes back.

Uploads are bounded twice: the whole body by its Content-Length, checked before anything is
read (the CSRF check would otherwise spool it all), and each image by its own size, so one
oversized or broken file is refused on its own and the others are still enrolled.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from starlette.datastructures import FormData, UploadFile

from openlfr.api.deps import require, state_of
from openlfr.domain import parse_category, parse_outcome
from openlfr.domain.reasons import check_reason_fits
from openlfr.errors import ImageRejected, RuleViolation
from openlfr.service import exceptional as exceptional_reasons
from openlfr.service.context import AppContext
from openlfr.service.enrolment import ImageSpec, enrol_subject
from openlfr.service.sessions import Principal
from openlfr.store.models_accounts import Role
from openlfr.vision.images import read_image_bytes

router = APIRouter(tags=["governance"])
MIB = 2**20
MAX_IMAGE_BYTES = 20 * MIB
MAX_IMAGES = 6
# The images at their limit plus room for the text fields and multipart framing.
MAX_BODY_BYTES = MAX_IMAGES * MAX_IMAGE_BYTES + MIB
#: What the upload middleware (api.uploads) allows the two enrolment forms, before any is read.
_ENROL_LIMIT = (MAX_BODY_BYTES, f"at most {MAX_IMAGES} images of {MAX_IMAGE_BYTES // MIB} MiB each")
UPLOAD_LIMITS = {"/api/subjects": _ENROL_LIMIT, "/enrol": _ENROL_LIMIT}
DEFAULT_BASIS = "PACE Code D; DPA 2018 s35 (law enforcement processing)"
FACT_FIELDS = ("source_ref", "lawful_basis", "case_outcome", "captured_on", "age_at_capture",
               "under18_reason", "exceptional_reason")  # fmt: skip
_SUPERVISOR = require(Role.SUPERVISOR)


def check_upload_size(request: Request) -> None:
    length = request.headers.get("content-length", "")
    if not length.isdigit():
        raise HTTPException(411, "an upload must state its length (Content-Length)")
    if int(length) > MAX_BODY_BYTES:
        raise HTTPException(
            413,
            f"upload of {int(length) / MIB:.0f} MiB is over the {MAX_BODY_BYTES // MIB} MiB "
            f"limit (at most {MAX_IMAGES} images of {MAX_IMAGE_BYTES // MIB} MiB each): "
            "nothing was enrolled",
        )


async def upload_supervisor(request: Request) -> Principal:
    """A supervisor's upload: the size is checked first, before the CSRF check reads the body."""
    check_upload_size(request)
    return await _SUPERVISOR(request)


@dataclass
class UploadRow:
    """One uploaded image and the custody-record facts typed beside it."""

    filename: str
    data: bytes
    facts: dict[str, str] = field(default_factory=dict)
    slot: str = ""  # the form row it came from (its fields' suffix)


def _safe_name(name: str, i: int) -> str:
    # The name only labels refusals and the audit entry; it must not steer the temp path.
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(name).name).strip("._")[:100]
    return base or f"image{i + 1}"


async def read_upload(upload: UploadFile) -> tuple[str, bytes]:
    return upload.filename or "", await upload.read(MAX_IMAGE_BYTES + 1)


async def rows_from_form(form: FormData, suffixes: list[str]) -> list[UploadRow]:
    """Rows with a file chosen; a row's fields are named FIELD{suffix} (suffix '' for one
    set of facts shared by every file under 'images')."""
    rows = []
    for suffix in suffixes:
        facts = {f: str(form.get(f + suffix) or "").strip() for f in FACT_FIELDS}
        if "lawful_basis" + suffix not in form:  # the command line's default, when not sent
            facts["lawful_basis"] = DEFAULT_BASIS
        files = form.getlist("images") if suffix == "" else [form.get(f"image{suffix}")]
        for item in files:
            if isinstance(item, UploadFile) and (item.filename or item.size):
                name, data = await read_upload(item)
                rows.append(UploadRow(name or "upload", data, facts, suffix))
    return rows


def _decision(row: UploadRow, status: str, reason: str, rule: str | None = None,
              **extra: Any) -> dict[str, Any]:  # fmt: skip
    return {"image": row.filename, "status": status, "eligible": status == "enrolled",
            "rule": rule, "reason": reason, "warnings": [], "slot": row.slot, **extra}  # fmt: skip


def _spec(row: UploadRow, path: Path, actor: str) -> ImageSpec:
    f = row.facts
    return ImageSpec(
        path=path,
        data=row.data,  # decoded from memory: the face is never written to disk in the clear
        source_ref=f["source_ref"],
        lawful_basis=f["lawful_basis"],
        case_outcome=f["case_outcome"] or "pending",
        captured_on=date.fromisoformat(f["captured_on"]) if f["captured_on"] else None,
        age_at_capture=int(f["age_at_capture"]) if f["age_at_capture"] else None,
        under18_reason=f["under18_reason"] or None,
        exceptional_reason=f["exceptional_reason"] or None,
        # As on the command line, the one enrolling asks; nobody approves here (see below).
        exceptional_requested_by=actor if f["exceptional_reason"] else None,
    )


def _hold(ctx: AppContext, row: UploadRow, subject: dict[str, str]) -> dict[str, Any]:
    """An image of a person not convicted, with an exceptional reason, waits for a second
    supervisor (R3): the reason cannot be approved by the one who wrote it."""
    read_image_bytes(row.data, row.filename)  # a broken file is refused now, not at approval
    fields = {**subject, **row.facts, "subject_reference": subject["reference"],
              "reason": row.facts["exceptional_reason"]}  # fmt: skip
    request_id = exceptional_reasons.request_exception(ctx, fields, row.data)
    return _decision(
        row, "held", f"held for approval as exceptional request #{request_id}: a supervisor "
        "other than you must approve its reason (Exceptional reasons page)", "R3",
        request_id=request_id,
    )  # fmt: skip


def enrol_uploads(
    ctx: AppContext,
    *,
    reference: str,
    display_name: str,
    category: str,
    rows: list[UploadRow],
    reason_wanted: str = "",
) -> list[dict[str, Any]]:
    """Each row's decision, in order: enrolled (with its image id), refused (with its rule
    and reason) or held for a second supervisor's approval."""
    reference = reference.strip()
    if not reference:
        raise ValueError("a subject reference is needed")
    if not rows:
        raise ValueError("choose at least one image")
    parse_category(category)  # R1 refuses a catch-all before any image is looked at
    if reason_wanted:
        check_reason_fits(reason_wanted, category)  # R1: the reason wanted fits the category
    subject = {"reference": reference, "display_name": display_name or reference,
               "category": category}  # fmt: skip
    out: list[dict[str, Any] | None] = [None] * len(rows)
    specs: dict[str, int] = {}
    # The uploads stay in memory: a server killed mid-way leaves no face on disk.
    batch = []
    for i, row in enumerate(rows):
        try:
            if i >= MAX_IMAGES:
                raise ValueError(f"at most {MAX_IMAGES} images at a time")
            if len(row.data) > MAX_IMAGE_BYTES:
                raise ValueError(f"file is over the {MAX_IMAGE_BYTES // MIB} MiB limit")
            outcome = parse_outcome(row.facts["case_outcome"] or "pending")
            if outcome.not_convicted and row.facts["exceptional_reason"]:
                out[i] = _hold(ctx, row, subject)
                continue
            path = Path(str(i)) / _safe_name(row.filename, i)  # a label, not a file
            batch.append(_spec(row, path, ctx.actor))
            specs[str(path)] = i
        except ImageRejected as exc:
            out[i] = _decision(row, "refused", exc.reason)
        except RuleViolation as exc:
            out[i] = _decision(row, "refused", str(exc), exc.rule)
        except ValueError as exc:  # a malformed date or age, an unknown outcome
            out[i] = _decision(row, "refused", str(exc))
    if batch:
        result = enrol_subject(ctx, reference=reference, display_name=subject["display_name"],
                               category=category, images=batch,
                               reason_wanted=reason_wanted or None)  # fmt: skip
        for name, image_id in result.enrolled:
            i = specs[name]
            out[i] = _decision(rows[i], "enrolled", "eligible: enrolled", image_id=image_id)
        for refusal in result.refused:
            i = specs[refusal.image]
            out[i] = _decision(rows[i], "refused", refusal.reason, refusal.rule)
        for warning in result.warnings:
            name, _, text = warning.partition(": ")
            if name in specs and out[specs[name]] is not None:
                out[specs[name]]["warnings"].append(text)  # type: ignore[index]
    return [d for d in out if d is not None]


def _error(description: str) -> dict[str, Any]:
    schema = {"type": "object", "properties": {"detail": {}}, "required": ["detail"]}
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_TEXT = {"type": "string", "maxLength": 10_000}
#: The multipart body, declared by hand: the route reads the form itself (to bound it before
#: parsing), so FastAPI cannot infer it.
ENROL_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["reference", "category", "images"],
                "properties": {
                    "reference": {"type": "string", "maxLength": 64},
                    "display_name": {"type": "string", "maxLength": 200},
                    "category": {"type": "string", "maxLength": 64},
                    **{f: _TEXT for f in FACT_FIELDS},
                    "images": {
                        "type": "array",
                        "maxItems": MAX_IMAGES,
                        "items": {"type": "string", "format": "binary"},
                    },
                },
            },
            "encoding": {"images": {"contentType": "image/*, application/octet-stream"}},
        }
    },
}
ENROL_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _error("A malformed form (no reference, no image, an unknown category)."),
    401: _error("Not logged in."),
    403: _error("Not a supervisor, or the page's CSRF token is missing."),
    404: _error("Not found."),
    411: _error("No Content-Length."),
    413: _error("Over the upload limit: nothing was enrolled."),
    422: _error("A rule refused the subject (its rule and reason)."),
    429: _error("Too many requests."),
}


@router.post("/api/subjects", openapi_extra={"requestBody": ENROL_BODY}, responses=ENROL_RESPONSES)
async def enrol(request: Request, who: Principal = Depends(upload_supervisor)) -> dict[str, Any]:
    """Enrol a subject from uploaded images (multipart: reference, display_name, category, the
    custody facts shared by every image, and one or more files under 'images'). Each image's
    decision is returned: enrolled, refused with its rule and reason, or held for approval."""
    form = await request.form(max_files=MAX_IMAGES + 1)
    rows = await rows_from_form(form, [""])
    ctx = state_of(request).context(who.username, models=True)
    decisions = await asyncio.to_thread(
        enrol_uploads, ctx, reference=str(form.get("reference") or ""),
        display_name=str(form.get("display_name") or ""),
        category=str(form.get("category") or ""), rows=rows,
        reason_wanted=str(form.get("reason_wanted") or ""),
    )  # fmt: skip
    return {"reference": str(form.get("reference") or "").strip(), "images": decisions}
