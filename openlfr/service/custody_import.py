"""Custody gallery import (issue 11): a CSV of custody records and their images, into the estate.

The CSV is read and checked whole before anything is written: a missing column or a broken
line is an error naming the line, and nothing is applied. Each good row is then decoded
safely, its one face found and embedded, sealed, and given its eligibility by the domain rules
of enrolment (R2-R4); a bad row goes to the rejects with its reason. Rows are written in
batches, one transaction each (nothing half-written); a custody_id already held is skipped,
so re-running an import, or resuming a killed one, adds only what is missing.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from openlfr.domain import ImageFacts, assess_image, parse_outcome
from openlfr.engines.ray_embed import EmbedResult
from openlfr.errors import ImageRejected, OpenLFRError, StoreFull
from openlfr.matching.custody_index import CustodyIndex
from openlfr.service.context import AppContext
from openlfr.service.custody_faces import FaceEngine, choose_engine
from openlfr.service.custody_index_sync import (
    embedder_name,
    mark_indexed,
    open_custody_index,
    sync_custody_index,
)
from openlfr.store import AuditAction, blob_context
from openlfr.store.audit_bulk import AuditDraft, append_audit_many
from openlfr.store.integrity import keyed_image_digest
from openlfr.store.models_custody import CustodyImage

COLUMNS = ("custody_id", "person_ref", "image", "captured", "age_at_capture", "case_outcome")
#: Custody images are taken under PACE 1984 s.64A; the CSV holds no per-row basis (R2).
LAWFUL_BASIS = "PACE 1984 s.64A custody image (custody import)"
#: Rows per transaction: each costs a few fsyncs (database, index), so not one per row.
BATCH = 64


class CustodyCsvError(OpenLFRError):
    """The CSV itself is malformed (missing column, broken line): nothing was applied."""


class CustodyStorageError(OpenLFRError):
    """Writing failed (a full disk, a file-size limit): batches before it are kept whole."""


@dataclass(frozen=True)
class CustodyRow:
    line: int
    custody_id: str
    person_ref: str
    image: str
    captured: date | None
    age: int | None
    outcome: str


@dataclass
class ImportResult:
    rows: int = 0
    imported: int = 0
    skipped_existing: int = 0
    rejected: int = 0
    eligible: int = 0
    ineligible: int = 0
    seconds: float = 0.0
    rejects: list[tuple[int, str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, float | int]:
        rate = self.imported / self.seconds if self.seconds > 0 else 0.0
        return {"rows": self.rows, "imported": self.imported,
                "skipped_existing": self.skipped_existing, "rejected": self.rejected,
                "eligible": self.eligible, "ineligible": self.ineligible,
                "seconds": round(self.seconds, 3), "images_per_s": round(rate, 2)}  # fmt: skip


def read_custody_csv(path: Path) -> list[dict[str, str]]:
    """Every data row as a dict with its line number under "_line"; CustodyCsvError else."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise CustodyCsvError(f"{path}: cannot read the CSV ({exc})") from None
    reader = csv.reader(text.splitlines())
    header = next(reader, None)
    if header is None:
        raise CustodyCsvError(f"{path}: line 1: the file is empty (no header)")
    header = [h.strip() for h in header]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise CustodyCsvError(f"{path}: line 1: missing column(s) {', '.join(missing)}")
    out = []
    for fields in reader:
        line = reader.line_num
        if not fields:
            continue
        if len(fields) != len(header):
            raise CustodyCsvError(
                f"{path}: line {line}: {len(fields)} fields, the header has {len(header)}"
            )
        out.append({**dict(zip(header, fields, strict=True)), "_line": str(line)})
    return out


def _parse(raw: dict[str, str]) -> CustodyRow:
    """A row's typed facts, or ValueError naming what is wrong (the row is rejected)."""
    cid, person = raw["custody_id"].strip(), raw["person_ref"].strip()
    if not cid or len(cid) > 64 or not cid.isprintable():
        raise ValueError("custody_id is empty, over 64 characters or holds control characters")
    if not person or len(person) > 64 or not person.isprintable():
        raise ValueError("person_ref is empty, over 64 characters or holds control characters")
    captured = None
    if raw["captured"].strip():
        try:
            captured = date.fromisoformat(raw["captured"].strip())
        except ValueError:
            raise ValueError(f"bad date {raw['captured']!r} (expected YYYY-MM-DD)") from None
    age = None
    if raw["age_at_capture"].strip():
        try:
            age = int(raw["age_at_capture"])
        except ValueError:
            raise ValueError(f"bad age_at_capture {raw['age_at_capture']!r}") from None
        if not 0 <= age <= 130:
            raise ValueError(f"age_at_capture {age} is out of range")
    outcome = parse_outcome(raw["case_outcome"]).value
    return CustodyRow(int(raw["_line"]), cid, person, raw["image"].strip(), captured, age, outcome)


def _inside(folder: Path, row: CustodyRow) -> Path:
    """The row's image file; ImageRejected when its path leaves the images folder."""
    path = (folder / row.image).resolve()
    if not row.image or not path.is_relative_to(folder.resolve()):
        raise ImageRejected(row.image, "image path must lie inside the images folder")
    return path


def import_custody(
    ctx: AppContext, csv_path: Path, images: Path, *, reason: str = "custody estate import",
    progress: Callable[[int, int], None] | None = None, workers: int | None = None,
    engine: str | FaceEngine = "local", ray_address: str | None = None,
) -> ImportResult:  # fmt: skip
    """Imports the CSV's rows not yet held. ``engine``: where faces are found and embedded
    ("local": every core here; "ray": a Ray cluster, at ``ray_address`` or settings.ray's;
    or a FaceEngine)."""
    start = time.perf_counter()
    raws = read_custody_csv(csv_path)  # CustodyCsvError before any write
    result = ImportResult(rows=len(raws))
    rows: list[CustodyRow] = []
    for raw in raws:
        try:
            rows.append(_parse(raw))
        except ValueError as exc:
            result.rejects.append((int(raw["_line"]), raw.get("custody_id", ""), str(exc)))
    with ctx.store.session() as s:
        held = set(s.scalars(select(CustodyImage.custody_id)).all())
    todo: list[tuple[CustodyRow, Path]] = []
    for r in rows:
        if r.custody_id in held:
            result.skipped_existing += 1
            continue
        try:
            todo.append((r, _inside(images, r)))
        except ImageRejected as exc:
            result.rejects.append((r.line, r.custody_id, exc.reason))
    done = result.rows - len(todo)
    index = open_custody_index(ctx)
    sync_custody_index(ctx)  # rows a stopped import committed but did not index go in now
    faces = (
        choose_engine(ctx, len(todo), workers=workers, engine=engine, ray_address=ray_address)
        if isinstance(engine, str)
        else engine
    )
    try:
        jobs = ((i, path, r.image) for i, (r, path) in enumerate(todo))
        batch: list[tuple[CustodyRow, EmbedResult]] = []
        for res in faces.embed(jobs):
            batch.append((todo[res.index][0], res))
            if len(batch) == BATCH or res.index == len(todo) - 1:
                _store_batch(ctx, index, batch, reason, result)
                done += len(batch)
                batch = []
                if progress:
                    progress(done, result.rows)
    finally:
        if isinstance(engine, str):
            faces.close()
    result.rejected = len(result.rejects)
    result.seconds = time.perf_counter() - start
    return result


def _store_batch(
    ctx: AppContext, index: CustodyIndex, batch: list[tuple[CustodyRow, EmbedResult]],
    reason: str, result: ImportResult,
) -> None:  # fmt: skip
    good = []
    for r, res in batch:
        if res.vector is None or res.image is None:
            result.rejects.append((r.line, r.custody_id, res.reason or "no face found"))
        else:
            good.append((r, res.image, res.vector))
    if not good:
        return
    try:
        _write(ctx, index, good, reason, result)
    except (OSError, SQLAlchemyError, StoreFull) as exc:
        # The batch's transaction rolled back; earlier batches are committed and a row
        # committed but not yet indexed is picked up by the next index sync.
        raise CustodyStorageError(
            f"import stopped at CSV line {batch[0][0].line}: could not write ({exc}); "
            f"{result.imported} images imported before it are kept; free space "
            "and run the same import again to resume"
        ) from None


def _write(
    ctx: AppContext, index: CustodyIndex, good: list[tuple[CustodyRow, bytes, np.ndarray]],
    reason: str, result: ImportResult,
) -> None:  # fmt: skip
    eligible: list[tuple[int, np.ndarray]] = []
    today = date.today()
    with ctx.store.session() as s:  # one transaction per batch: all of it, or none
        made = []
        for r, jpeg, vec in good:
            facts = ImageFacts(source_ref=r.custody_id, lawful_basis=LAWFUL_BASIS,
                               case_outcome=parse_outcome(r.outcome), captured_on=r.captured,
                               age_at_capture=r.age)  # fmt: skip
            decision = assess_image(facts, today=today, policy=ctx.settings.governance)
            row = CustodyImage(
                custody_id=r.custody_id, person_ref=r.person_ref, case_outcome=r.outcome,
                captured_on=r.captured, age_at_capture=r.age, eligible=decision.eligible,
                eligibility_rule=decision.rule, eligibility_reason=decision.reason,
                image_sha256=keyed_image_digest(s, jpeg), embedding_model=embedder_name(ctx),
                imported_by=ctx.actor, image_blob=b"", embedding_blob=b"",
            )  # fmt: skip
            made.append((row, r, jpeg, np.asarray(vec, np.float32), decision))
        # One INSERT of the batch for its ids, then each row sealed under its id.
        s.add_all([m[0] for m in made])
        s.flush()
        drafts = []
        cipher = ctx.store.cipher
        for row, r, jpeg, vec32, decision in made:
            # `Store.seal` for rows that have their ids, with one flush for the whole batch.
            for column, data in (("image_blob", jpeg), ("embedding_blob", vec32.tobytes())):
                where = blob_context(CustodyImage.__tablename__, column, row.id)
                setattr(row, column, cipher.encrypt(data, context=where))
            drafts.append(AuditDraft(
                AuditAction.COLLECTION, "custody_image_imported", "custody_image", str(row.id),
                reason, {"eligible": decision.eligible, "rule": decision.rule,
                         "custody_id": r.custody_id},
            ))  # fmt: skip
            if decision.eligible:
                eligible.append((row.id, vec32))
            result.imported += 1
            result.eligible += int(decision.eligible)
            result.ineligible += int(not decision.eligible)
        s.flush()
        append_audit_many(s, actor=ctx.actor, drafts=drafts)
    if eligible:  # after the commit: the table is the record, the index follows it
        ids = np.asarray([i for i, _ in eligible], np.int64)
        index.add(ids, np.stack([v for _, v in eligible]))
        mark_indexed(ctx, [int(i) for i in ids])
