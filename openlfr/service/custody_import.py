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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import cv2
import numpy as np
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from openlfr.domain import ImageFacts, assess_image, parse_outcome
from openlfr.errors import ImageRejected, OpenLFRError, StoreFull
from openlfr.service.context import AppContext
from openlfr.service.custody_index_sync import (
    mark_indexed,
    open_custody_index,
    sync_custody_index,
)
from openlfr.store import AuditAction, append_audit
from openlfr.store.integrity import keyed_image_digest
from openlfr.store.models_custody import CustodyImage
from openlfr.vision.align import align_face
from openlfr.vision.images import find_single_face, read_image

COLUMNS = ("custody_id", "person_ref", "image", "captured", "age_at_capture", "case_outcome")
#: Custody images are taken under PACE 1984 s.64A; the CSV holds no per-row basis (R2).
LAWFUL_BASIS = "PACE 1984 s.64A custody image (custody import)"
BATCH = 32


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


def _face(ctx: AppContext, folder: Path, row: CustodyRow) -> tuple[bytes, np.ndarray]:
    """(JPEG bytes, aligned crop) of the row's one face; ImageRejected otherwise."""
    path = (folder / row.image).resolve()
    if not row.image or not path.is_relative_to(folder.resolve()):
        raise ImageRejected(row.image, "image path must lie inside the images folder")
    image = read_image(path)
    face = find_single_face(image, ctx.detector, row.image)
    crop = align_face(face.image, face.detections.landmarks[0])
    ok, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 95])
    if not ok:  # pragma: no cover - a decoded image always re-encodes
        raise ImageRejected(row.image, "could not re-encode the image")
    return jpeg.tobytes(), crop


def import_custody(
    ctx: AppContext, csv_path: Path, images: Path, *, reason: str = "custody estate import",
    progress: Callable[[int, int], None] | None = None, threads: int = 2,
) -> ImportResult:  # fmt: skip
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
    todo = [r for r in rows if r.custody_id not in held]
    result.skipped_existing = len(rows) - len(todo)
    done = result.skipped_existing + len(result.rejects)
    index = open_custody_index(ctx)
    sync_custody_index(ctx)  # rows a stopped import committed but did not index go in now
    with ThreadPoolExecutor(threads) as pool:
        for a in range(0, len(todo), BATCH):
            batch = todo[a : a + BATCH]

            def one(r: CustodyRow) -> tuple[bytes, np.ndarray] | str:
                try:
                    return _face(ctx, images, r)
                except ImageRejected as exc:
                    return exc.reason

            faces = list(pool.map(one, batch))
            good = [(r, f) for r, f in zip(batch, faces, strict=True) if not isinstance(f, str)]
            for r, f in zip(batch, faces, strict=True):
                if isinstance(f, str):
                    result.rejects.append((r.line, r.custody_id, f))
            crops = [f[1] for _, f in good]
            vectors: list[np.ndarray] = (
                list(ctx.embedder.embed_batch(crops).vectors) if good else []
            )
            try:
                _write(ctx, index, good, vectors, reason, result)
            except (OSError, SQLAlchemyError, StoreFull) as exc:
                # The batch's transaction rolled back; earlier batches are committed and a
                # row committed but not yet indexed is picked up by the next index sync.
                raise CustodyStorageError(
                    f"import stopped at CSV line {batch[0].line}: could not write ({exc}); "
                    f"{result.imported} images imported before it are kept; free space "
                    "and run the same import again to resume"
                ) from None
            done += len(batch)
            if progress:
                progress(done, result.rows)
    result.rejected = len(result.rejects)
    result.seconds = time.perf_counter() - start
    return result


def _write(ctx, index, good, vectors, reason, result) -> None:  # type: ignore[no-untyped-def]
    eligible: list[tuple[int, np.ndarray]] = []
    with ctx.store.session() as s:  # one transaction per batch: all of it, or none
        for (r, (jpeg, _)), vec in zip(good, vectors, strict=True):
            facts = ImageFacts(source_ref=r.custody_id, lawful_basis=LAWFUL_BASIS,
                               case_outcome=parse_outcome(r.outcome), captured_on=r.captured,
                               age_at_capture=r.age)  # fmt: skip
            decision = assess_image(facts, today=date.today(), policy=ctx.settings.governance)
            row = CustodyImage(
                custody_id=r.custody_id, person_ref=r.person_ref, case_outcome=r.outcome,
                captured_on=r.captured, age_at_capture=r.age, eligible=decision.eligible,
                eligibility_rule=decision.rule, eligibility_reason=decision.reason,
                image_sha256=keyed_image_digest(s, jpeg), embedding_model=ctx.embedder.name,
                imported_by=ctx.actor,
            )  # fmt: skip
            vec32 = np.asarray(vec, np.float32)
            ctx.store.seal(s, row, image_blob=jpeg, embedding_blob=vec32.tobytes())
            append_audit(
                s, actor=ctx.actor, action=AuditAction.COLLECTION, event="custody_image_imported",
                object_type="custody_image", object_id=row.id, justification=reason,
                detail={"eligible": decision.eligible, "rule": decision.rule,
                        "custody_id": r.custody_id},
            )  # fmt: skip
            if decision.eligible:
                eligible.append((row.id, vec32))
            result.imported += 1
            result.eligible += int(decision.eligible)
            result.ineligible += int(not decision.eligible)
    if eligible:  # after the commit: the table is the record, the index follows it
        ids = np.asarray([i for i, _ in eligible], np.int64)
        index.add(ids, np.stack([v for _, v in eligible]))
        mark_indexed(ctx, [int(i) for i in ids])
