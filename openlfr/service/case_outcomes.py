"""Case-outcome updates from the custody system, one at a time or in bulk (R11).

A custody image's use depends on how its matter ended (R3). When the outcome changes to no
further action, acquittal or discontinuance (``domain.outcome_withdraws_images``), R11 and the
Custody Images Review 2017 say the person's images leave every watchlist at once. So:

- every image with that custody reference takes the new outcome (audited as an alteration);
- every image of each subject concerned is withdrawn now (``withdrawn_at``): not only the image
  of that matter, because R11 speaks of "that person's images" and a person flagged for review
  should not stay searchable through another photograph until someone has looked;
- the subject is flagged for review (``compile_watchlist`` skips flagged subjects);
- the next purge erases the images whose own case ended so (``service/retention.py``); the
  subject's other images stay withdrawn, not erased, for the reviewing supervisor;
- a deployment already running drops them from its search at its next purge tick
  (``service/runs.py``).

A bulk CSV is validated completely before anything is applied, then applied in one
transaction: a custody export is all taken or, with a bad row, none of it.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from openlfr.domain import CaseOutcome, cite, outcome_withdraws_images, parse_outcome
from openlfr.domain.text import clean_text
from openlfr.errors import RuleViolation
from openlfr.service.context import AppContext, utcnow
from openlfr.service.custody_estate import forget_custody_images
from openlfr.service.custody_outcomes import apply_custody_outcomes
from openlfr.service.refusals import audits_refusals
from openlfr.store import AuditAction, append_audit
from openlfr.store import models as m
from openlfr.store.integrity import bind_many

#: Accepted header names (lower case) for each column of a custody export.
_COLUMNS = {
    "source_ref": ("source_ref", "custody_ref", "source"),
    "case_outcome": ("case_outcome", "outcome"),
    "date": ("date", "outcome_date", "decided_on"),
}


@dataclass(frozen=True)
class OutcomeChange:
    source_ref: str
    outcome: CaseOutcome
    decided_on: date | None = None
    line: int | None = None  # line of the CSV it came from


@dataclass
class OutcomeResult:
    source_ref: str
    outcome: CaseOutcome
    images: int = 0  # images held under this custody reference
    changed: int = 0  # of those, how many had another outcome before
    withdrawn: list[int] = field(default_factory=list)  # image ids withdrawn now (R11)
    flagged: list[str] = field(default_factory=list)  # subject references flagged now
    custody_images: int = 0  # custody-estate images held under this reference (issue 11)
    custody_withdrawn: int = 0  # of those, how many were withdrawn now (R11, R18)


def parse_change(
    source_ref: str,
    outcome: str | CaseOutcome,
    decided_on: str | date | None = None,
    *,
    today: date,
) -> OutcomeChange:
    """One validated change; ``RuleViolation`` (R11) says what is wrong with it."""
    ref = source_ref.strip()
    if not ref:
        raise RuleViolation("R11", "the custody reference (source_ref) is empty")
    # Fits its column and holds no control character (it reaches the audit log): H5, issue 9.
    ref = clean_text(ref, field="source_ref", max_length=128)
    try:
        value = parse_outcome(outcome)
    except ValueError as exc:
        raise RuleViolation("R11", str(exc)) from None
    when: date | None
    if isinstance(decided_on, date) or decided_on is None:
        when = decided_on
    elif not decided_on.strip():
        when = None
    else:
        try:
            when = date.fromisoformat(decided_on.strip())
        except ValueError:
            raise RuleViolation(
                "R11", f"date {decided_on!r} is not an ISO date (YYYY-MM-DD)"
            ) from None
    if when is not None and when > today:
        raise RuleViolation("R11", f"date {when.isoformat()} is in the future")
    return OutcomeChange(ref, value, when)


def _header_map(header: list[str], path: Path) -> dict[str, int]:
    names = [h.strip().casefold() for h in header]
    found: dict[str, int] = {}
    for column, aliases in _COLUMNS.items():
        for alias in aliases:
            if alias in names:
                found[column] = names.index(alias)
                break
    missing = [c for c in ("source_ref", "case_outcome") if c not in found]
    if missing:
        raise RuleViolation(
            "R11",
            f"{path.name} line 1: the header lacks {', '.join(missing)} "
            "(expected source_ref,case_outcome[,date])",
        )
    return found


def read_outcome_csv(path: Path, *, today: date) -> list[OutcomeChange]:
    """Every row of a custody export, validated; refuses the whole file naming each bad line."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RuleViolation("R11", f"{path.name} is not UTF-8 text: {exc.reason}") from None
    reader = csv.reader(text.splitlines(keepends=True))
    header = next(reader, None)
    if header is None:
        raise RuleViolation("R11", f"{path.name} is empty")
    cols = _header_map(header, path)
    changes: list[OutcomeChange] = []
    problems: list[str] = []
    first_line: dict[str, OutcomeChange] = {}
    # A million-row export repeats a handful of outcome and date spellings: each distinct
    # (outcome, date) pair is parsed once, by parse_change itself, so the rules and messages
    # are the one-row path's.
    parsed: dict[tuple[str, str], tuple[CaseOutcome, date | None] | str] = {}
    i_ref, i_out, i_date = cols["source_ref"], cols["case_outcome"], cols.get("date")
    for row in reader:
        line = reader.line_num
        if not "".join(row).strip():
            continue  # a blank line (often the last) is no row
        width = len(row)
        ref = row[i_ref].strip() if i_ref < width else ""
        key = (
            row[i_out] if i_out < width else "",
            row[i_date] if i_date is not None and i_date < width else "",
        )
        got = parsed.get(key)
        if got is None:
            try:
                one = parse_change("-", key[0], key[1] or None, today=today)
                got = (one.outcome, one.decided_on)
            except RuleViolation as exc:
                got = str(exc)
            parsed[key] = got
        if not ref:
            problems.append(f"line {line}: the custody reference (source_ref) is empty")
            continue
        if len(ref) > 128 or not (ref.isascii() and ref.isprintable()):
            try:  # the rare reference that is not plain ASCII: the full text rule decides
                ref = clean_text(ref, field="source_ref", max_length=128)
            except RuleViolation as exc:
                problems.append(f"line {line}: {exc}")
                continue
        if isinstance(got, str):
            problems.append(f"line {line}: {got}")
            continue
        change = OutcomeChange(ref, got[0], got[1], line)
        earlier = first_line.get(ref)
        if earlier is not None and earlier.outcome != change.outcome:
            problems.append(
                f"line {line}: {change.source_ref} is also on line {earlier.line} with "
                f"another outcome ({earlier.outcome.label} / {change.outcome.label})"
            )
            continue
        first_line.setdefault(ref, change)
        changes.append(change)
    if problems:
        raise RuleViolation(
            "R11",
            f"{path.name}: nothing applied; "
            + "; ".join(problems[:20])
            + (f"; and {len(problems) - 20} more" if len(problems) > 20 else ""),
        )
    if not changes:
        raise RuleViolation("R11", f"{path.name} has a header but no rows")
    return changes


@audits_refusals(
    AuditAction.ALTERATION, "case_outcome", event="alteration_refused", object_id="source_ref"
)
def record_case_outcome(
    ctx: AppContext,
    source_ref: str,
    outcome: str | CaseOutcome,
    *,
    reason: str = "",
    decided_on: date | None = None,
    now: datetime | None = None,
) -> OutcomeResult:
    """One update (CLI, API). Refuses a custody reference that no image is held under."""
    now = now or utcnow()
    change = parse_change(source_ref, outcome, decided_on, today=now.date())
    [result] = apply_case_outcomes(ctx, [change], reason=reason, now=now)
    if result.images == 0 and result.custody_images == 0:
        raise RuleViolation(
            "R11", f"no reference or custody image is held under custody record {source_ref}"
        )
    return result


@audits_refusals(
    AuditAction.ALTERATION,
    "case_outcome",
    event="alteration_refused",
    object_id=lambda bound: Path(bound["path"]).name,
)
def import_outcome_csv(
    ctx: AppContext, path: Path, *, reason: str = "", now: datetime | None = None
) -> list[OutcomeResult]:
    """A custody export: all rows or none. References openlfr holds no image under are
    skipped (most people in a custody system are on no watchlist) and reported with 0 images."""
    now = now or utcnow()
    changes = read_outcome_csv(path, today=now.date())
    why = reason or f"custody-system export {path.name}"
    return apply_case_outcomes(ctx, changes, reason=why, now=now)


def apply_case_outcomes(
    ctx: AppContext, changes: list[OutcomeChange], *, reason: str, now: datetime | None = None
) -> list[OutcomeResult]:
    """Applies validated changes in one transaction; withdraws and flags per R11."""
    now = now or utcnow()
    results = []
    with ctx.store.session() as s:
        # One read of the (small) reference-image table instead of one query per row: a
        # million-row export mostly names custody records that are on no watchlist.
        held: dict[str, list[tuple[int, int, str]]] = {}
        for image_id, subject_id, stored, ref in s.execute(
            select(
                m.ReferenceImage.id,
                m.ReferenceImage.subject_id,
                m.ReferenceImage.case_outcome,
                m.ReferenceImage.source_ref,
            ).order_by(m.ReferenceImage.id)
        ):
            held.setdefault(ref, []).append((image_id, subject_id, stored))
        for change in changes:
            rows = held.get(change.source_ref)
            if not rows:
                results.append(OutcomeResult(change.source_ref, change.outcome))
                continue
            result, subjects = _apply_one(s, ctx.actor, change, rows, reason, now)
            for subject_id in sorted(subjects):
                _withdraw_subject(s, ctx.actor, subject_id, change, now, result)
            results.append(result)
        # The custody estate (issue 11), set-based, in the same transaction.
        custody_withdrawn = apply_custody_outcomes(
            s, ctx.actor, changes, results, reason=reason, received_at=now
        )
    forget_custody_images(ctx, custody_withdrawn)  # the index, after the commit
    return results


def _apply_one(
    s: Session,
    actor: str,
    change: OutcomeChange,
    rows: list[tuple[int, int, str]],
    reason: str,
    now: datetime,
) -> tuple[OutcomeResult, set[int]]:
    result = OutcomeResult(change.source_ref, change.outcome)
    result.images = len(rows)
    to_withdraw: set[int] = set()
    when = f" on {change.decided_on.isoformat()}" if change.decided_on else ""
    for image_id, subject_id, stored in rows:
        old = parse_outcome(stored)
        if old == change.outcome:
            continue
        s.execute(
            update(m.ReferenceImage)
            .where(m.ReferenceImage.id == image_id)
            .values(case_outcome=change.outcome.value)
        )
        bind_many(s, "reference_image", [image_id])  # issue 9 (H3): eligibility stays bound
        result.changed += 1
        append_audit(
            s,
            actor=actor,
            action=AuditAction.ALTERATION,
            event="case_outcome_changed",
            object_type="reference_image",
            object_id=image_id,
            justification=f"case outcome of {change.source_ref} changed from '{old.label}' to "
            f"'{change.outcome.label}'{when}" + (f": {reason}" if reason else ""),
            detail={"from": old.value, "to": change.outcome.value, "line": change.line},
        )
        if outcome_withdraws_images(old, change.outcome):
            to_withdraw.add(subject_id)
    return result, to_withdraw


def _withdraw_subject(
    s: Session,
    actor: str,
    subject_id: int,
    change: OutcomeChange,
    now: datetime,
    result: OutcomeResult,
) -> None:
    why = f"R11 ({cite('R11')}): case {change.source_ref} ended in '{change.outcome.label}'"
    image_ids = list(
        s.scalars(
            select(m.ReferenceImage.id)
            .where(
                m.ReferenceImage.subject_id == subject_id, m.ReferenceImage.withdrawn_at.is_(None)
            )
            .order_by(m.ReferenceImage.id)
        )
    )
    for image_id in image_ids:
        s.execute(
            update(m.ReferenceImage).where(m.ReferenceImage.id == image_id).values(withdrawn_at=now)
        )
        bind_many(s, "reference_image", [image_id])  # issue 9 (H3): eligibility stays bound
        append_audit(
            s,
            actor=actor,
            action=AuditAction.ALTERATION,
            event="image_withdrawn",
            object_type="reference_image",
            object_id=image_id,
            justification=f"{why}: withdrawn from every watchlist, flagged for review and deletion",
            detail={"rule": "R11"},
        )
    result.withdrawn.extend(image_ids)
    subject = s.get(m.Subject, subject_id)
    if subject is None:  # pragma: no cover - the foreign key makes this impossible
        return
    subject.flagged_for_review = True
    subject.flag_reason = f"{why}: all images withdrawn pending review"
    result.flagged.append(subject.reference)
    append_audit(
        s,
        actor=actor,
        action=AuditAction.ALTERATION,
        event="subject_flagged",
        object_type="subject",
        object_id=subject_id,
        justification=f"{why}: flagged for review; left out of every future watchlist",
        detail={"rule": "R11", "images_withdrawn": len(image_ids)},
    )
