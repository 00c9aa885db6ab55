"""Enrolment of uploaded images, for the browser form and the API alike: each image goes
through `enrol_subject`, the very service (and rules) that `openlfr enrol` uses, and each
image's decision comes back (enrolled, refused with its rule, or held for a second supervisor).

The interfaces only read the form: the text fields as they came, and each chosen file's bytes
(read up to one byte past `MAX_IMAGE_BYTES`, so that an oversized file is refused here on its
own and the others are still enrolled). Nothing here knows of HTTP.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from openlfr.domain import parse_category, parse_outcome
from openlfr.domain.reasons import check_reason_fits
from openlfr.errors import ImageRejected, RuleViolation
from openlfr.service import exceptional as exceptional_reasons
from openlfr.service.context import AppContext
from openlfr.service.enrolment import ImageSpec, enrol_subject
from openlfr.vision.images import read_image_bytes

MIB = 2**20
MAX_IMAGE_BYTES = 20 * MIB
MAX_IMAGES = 6
# The images at their limit plus room for the text fields and multipart framing.
MAX_BODY_BYTES = MAX_IMAGES * MAX_IMAGE_BYTES + MIB
#: What the body limit is made of, said in a refusal.
BODY_LIMIT_MADE_OF = f"at most {MAX_IMAGES} images of {MAX_IMAGE_BYTES // MIB} MiB each"
DEFAULT_BASIS = "PACE Code D; DPA 2018 s35 (law enforcement processing)"
FACT_FIELDS = ("source_ref", "lawful_basis", "case_outcome", "captured_on", "age_at_capture",
               "under18_reason", "exceptional_reason")  # fmt: skip


@dataclass
class UploadRow:
    """One uploaded image and the custody-record facts typed beside it."""

    filename: str
    data: bytes
    facts: dict[str, str] = field(default_factory=dict)
    slot: str = ""  # the form row it came from (its fields' suffix)


def row_facts(form: Mapping[str, object], suffix: str) -> dict[str, str]:
    """The custody facts of one form row, whose fields are named FIELD{suffix} (suffix '' for
    one set of facts shared by every file)."""
    facts = {f: str(form.get(f + suffix) or "").strip() for f in FACT_FIELDS}
    if "lawful_basis" + suffix not in form:  # the command line's default, when not sent
        facts["lawful_basis"] = DEFAULT_BASIS
    return facts


def upload_row(form: Mapping[str, object], suffix: str, filename: str, data: bytes) -> UploadRow:
    return UploadRow(filename or "upload", data, row_facts(form, suffix), suffix)


def _safe_name(name: str, i: int) -> str:
    # The name only labels refusals and the audit entry; it must not steer any path.
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(name).name).strip("._")[:100]
    return base or f"image{i + 1}"


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
