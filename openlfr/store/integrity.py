"""Keyed bindings: a MAC over every row that decides who is alerted on or how.

Bound (HMAC-SHA256 under a key derived from the blob key, never in the database):

- ``reference_image``: whose image it is (subject id), its custody source, lawful basis, case
  outcome, age, exceptional approval, withdrawal, keyed image digest and embedding model;
- ``subject``: reference, display name and category;
- ``watchlist``: name, member hash and every member (subject, image, category);
- ``deployment``: the authorisation: watchlist, threshold, window, officer, rank, time, reasons,
  conditions and every camera (name and source).

``bind`` is called by service/ in the transaction that writes the row; ``require_bound`` where
the row is used (a run, a gallery), so an edit made in SQL is refused, not believed. The
payloads are read back with Core selects (not the ORM identity map), so a binding always
covers what the database actually holds. The key comes from the session (``Store.session``
puts the store's keys in ``session.info``): whoever has only the database has no key.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session, object_session

from openlfr.errors import OpenLFRError, RuleViolation
from openlfr.store import models as m
from openlfr.store.integrity_keys import IntegrityKeys
from openlfr.store.models_integrity import IntegrityBinding, IntegrityState

SESSION_KEY = "openlfr.integrity"

_IMAGE_FIELDS = (
    "id", "subject_id", "source_ref", "lawful_basis", "captured_on", "case_outcome",
    "age_at_capture", "under18_reason", "exceptional_reason", "exceptional_approved_by",
    "image_sha256", "embedding_model", "withdrawn_at", "mirror_agreement",
)  # fmt: skip
#: Fields a binding made before it covered them does not hold (binding v1): such a row still
#: verifies by the message it was bound with, and is covered from its next binding on.
_LATER_FIELDS = {"reference_image": ("mirror_agreement",)}
#: The message version of each type's bindings as they are made now (v1 where not named).
_VERSION = {"reference_image": 2}
_SUBJECT_FIELDS = ("id", "reference", "display_name", "category")
_DEPLOYMENT_FIELDS = (
    "id", "watchlist_id", "threshold", "start_at", "end_at", "authorised_by", "authoriser_rank",
    "authorised_at", "authorisation_reasons", "authorisation_conditions",
)  # fmt: skip


#: The rule a forged row would break: an authorisation (R5, threshold R7), an image's
#: eligibility and whose it is (R2), a watchlist snapshot (R6).
_RULE = {"deployment": "R5", "reference_image": "R2", "subject": "R2", "watchlist": "R6"}


class IntegrityViolation(RuleViolation):
    """A row's contents no longer match its keyed binding: edited outside openlfr. A
    RuleViolation, so the refusal is audited like any other (service/refusals)."""

    def __init__(self, object_type: str, object_id: int, reason: str) -> None:
        self.object_type, self.object_id, self.reason = object_type, object_id, reason
        super().__init__(
            _RULE.get(object_type, "R5"),
            f"{object_type} {object_id} {reason}: it was changed outside openlfr (or the key "
            "files are not this database's); refused. Run `openlfr audit verify`.",
        )


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)  # exact: 0.05 and 0.050000001 must not canonicalise alike
    return value


def _row(s: Session, table: Any, fields: tuple[str, ...], row_id: int) -> dict[str, Any] | None:
    cols = [getattr(table, f) for f in fields]
    got = s.execute(select(*cols).where(table.id == row_id)).first()
    return None if got is None else {f: _plain(v) for f, v in zip(fields, got, strict=True)}


def _image(s: Session, row_id: int) -> dict[str, Any] | None:
    return _row(s, m.ReferenceImage, _IMAGE_FIELDS, row_id)


def _subject(s: Session, row_id: int) -> dict[str, Any] | None:
    return _row(s, m.Subject, _SUBJECT_FIELDS, row_id)


def _watchlist(s: Session, row_id: int) -> dict[str, Any] | None:
    wl = s.execute(
        select(m.Watchlist.id, m.Watchlist.name, m.Watchlist.member_hash).where(
            m.Watchlist.id == row_id
        )
    ).first()
    if wl is None:
        return None
    e = m.WatchlistEntry
    members = s.execute(
        select(e.subject_id, e.reference_image_id, e.category)
        .where(e.watchlist_id == row_id)
        .order_by(e.reference_image_id, e.subject_id)
    ).all()
    return {
        "id": wl[0], "name": wl[1], "member_hash": wl[2],
        "members": [list(r) for r in members],
    }  # fmt: skip


def _deployment(s: Session, row_id: int) -> dict[str, Any] | None:
    out = _row(s, m.Deployment, _DEPLOYMENT_FIELDS, row_id)
    if out is None:
        return None
    c = m.Camera
    cams = s.execute(
        select(c.id, c.name, c.source).where(c.deployment_id == row_id).order_by(c.id)
    ).all()
    out["cameras"] = [list(r) for r in cams]
    return out


PAYLOADS: dict[str, Callable[[Session, int], dict[str, Any] | None]] = {
    "reference_image": _image,
    "subject": _subject,
    "watchlist": _watchlist,
    "deployment": _deployment,
}
_TYPE_OF: dict[type[Any], str] = {
    m.ReferenceImage: "reference_image",
    m.Subject: "subject",
    m.Watchlist: "watchlist",
    m.Deployment: "deployment",
}


def keys_of(s: Session) -> IntegrityKeys:
    keys = s.info.get(SESSION_KEY)
    if not isinstance(keys, IntegrityKeys):
        raise OpenLFRError("this session has no integrity keys: open it with Store.session()")
    return keys


def _message(object_type: str, payload: dict[str, Any], version: int | None = None) -> bytes:
    text = json.dumps(
        {"type": object_type, "row": payload},
        sort_keys=True, separators=(",", ":"), ensure_ascii=False,
    )  # fmt: skip
    v = version or _VERSION.get(object_type, 1)
    return f"openlfr:binding:v{v}".encode() + b"\x00" + text.encode("utf-8")


def _matches(keys: IntegrityKeys, object_type: str, payload: dict[str, Any], mac: str) -> bool:
    """Whether `mac` is the binding of `payload` as bound now or, for a row bound before some
    of its fields were covered, as bound then. The version is inside the MAC'd message, so a
    row bound now cannot pass as one bound then: editing a later field of it still fails."""
    if hmac.compare_digest(keys.mac(_message(object_type, payload)), mac):
        return True
    later = _LATER_FIELDS.get(object_type)
    if not later:
        return False
    then = {k: v for k, v in payload.items() if k not in later}
    return hmac.compare_digest(keys.mac(_message(object_type, then, version=1)), mac)


def bind_row(s: Session, object_type: str, object_id: int) -> None:
    """(Re)compute the binding of one row as it now stands in ``s`` (flushed first)."""
    s.flush()
    payload = PAYLOADS[object_type](s, object_id)
    if payload is None:
        raise OpenLFRError(f"cannot bind {object_type} {object_id}: no such row")
    keys = keys_of(s)
    mac = keys.mac(_message(object_type, payload))
    row = s.get(IntegrityBinding, (object_type, object_id))
    if row is None:
        s.add(IntegrityBinding(object_type=object_type, object_id=object_id,
                               key_id=keys.mac_key_id, mac=mac))  # fmt: skip
    else:
        row.key_id, row.mac = keys.mac_key_id, mac
    s.flush()


_TABLES: dict[str, tuple[Any, tuple[str, ...]]] = {
    "reference_image": (m.ReferenceImage, _IMAGE_FIELDS),
    "subject": (m.Subject, _SUBJECT_FIELDS),
}
_BULK_CHUNK = 1000


def bind_many(s: Session, object_type: str, ids: Iterable[int]) -> int:
    """``bind_row`` for many reference images or subjects at once (a case-outcome import of a
    million rows): one select, one delete and one insert per chunk. Returns how many."""
    table, fields = _TABLES[object_type]
    keys = keys_of(s)
    s.flush()
    todo = sorted(set(int(i) for i in ids))
    b = IntegrityBinding
    now = m.utcnow()
    for start in range(0, len(todo), _BULK_CHUNK):
        chunk = todo[start : start + _BULK_CHUNK]
        cols = [getattr(table, f) for f in fields]
        rows = s.execute(select(*cols).where(table.id.in_(chunk))).all()
        values = []
        for got in rows:
            payload = {f: _plain(v) for f, v in zip(fields, got, strict=True)}
            mac = keys.mac(_message(object_type, payload))
            values.append({"object_type": object_type, "object_id": payload["id"],
                           "key_id": keys.mac_key_id, "mac": mac, "bound_at": now})  # fmt: skip
        s.execute(
            delete(b)
            .where(b.object_type == object_type, b.object_id.in_(chunk))
            .execution_options(synchronize_session=False)
        )
        if values:
            s.execute(insert(b), values)
    for obj in list(s.identity_map.values()):  # bindings loaded before are stale now
        if isinstance(obj, IntegrityBinding):
            s.expire(obj)
    return len(todo)


def bind(s: Session, obj: m.Base) -> None:
    """Bind an ORM row (a Subject, ReferenceImage, Watchlist or Deployment)."""
    bind_row(s, _TYPE_OF[type(obj)], int(obj.id))  # type: ignore[attr-defined]


def check_row(s: Session, object_type: str, object_id: int) -> str | None:
    """None if the row matches its binding; else what is wrong, in words."""
    payload = PAYLOADS[object_type](s, object_id)
    if payload is None:
        return "is missing"
    binding = s.get(IntegrityBinding, (object_type, object_id))
    if binding is None:
        return "has no integrity binding"
    keys = keys_of(s)
    if binding.key_id != keys.mac_key_id:
        return f"was bound with another key (key id {binding.key_id})"
    if not _matches(keys, object_type, payload, binding.mac):
        return "does not match its integrity binding"
    return None


def require_bound(s: Session, object_type: str, object_id: int) -> None:
    """Raise ``IntegrityViolation`` unless the row matches its binding."""
    problem = check_row(s, object_type, object_id)
    if problem is not None:
        raise IntegrityViolation(object_type, object_id, problem)


def check_many(s: Session, object_type: str, ids: Iterable[int]) -> dict[int, str]:
    """``check_row`` for many images or subjects: one select of rows and one of bindings per
    chunk. Returns id -> problem for the rows that fail."""
    table, fields = _TABLES[object_type]
    keys = keys_of(s)
    b = IntegrityBinding
    todo = sorted(set(int(i) for i in ids))
    bad: dict[int, str] = {}
    for start in range(0, len(todo), _BULK_CHUNK):
        chunk = todo[start : start + _BULK_CHUNK]
        cols = [getattr(table, f) for f in fields]
        rows = {
            int(got[0]): {f: _plain(v) for f, v in zip(fields, got, strict=True)}
            for got in s.execute(select(*cols).where(table.id.in_(chunk)))
        }
        macs = {
            int(r[0]): (r[1], r[2])
            for r in s.execute(
                select(b.object_id, b.key_id, b.mac).where(
                    b.object_type == object_type, b.object_id.in_(chunk)
                )
            )
        }
        for object_id in chunk:
            if object_id not in rows:
                bad[object_id] = "is missing"
            elif object_id not in macs:
                bad[object_id] = "has no integrity binding"
            elif macs[object_id][0] != keys.mac_key_id:
                bad[object_id] = f"was bound with another key (key id {macs[object_id][0]})"
            elif not _matches(keys, object_type, rows[object_id], macs[object_id][1]):
                bad[object_id] = "does not match its integrity binding"
    return bad


def verify_deployment(s: Session, dep: m.Deployment) -> None:
    """A run's check (R5, R7), before it goes live: the authorisation, the watchlist it names
    and every member image and person are as bound when they were written."""
    require_bound(s, "deployment", dep.id)
    require_bound(s, "watchlist", dep.watchlist_id)
    e = m.WatchlistEntry
    members = s.execute(
        select(e.reference_image_id, e.subject_id).where(e.watchlist_id == dep.watchlist_id)
    ).all()
    for object_type, ids in (
        ("reference_image", [r[0] for r in members]),
        ("subject", [r[1] for r in members]),
    ):
        bad = check_many(s, object_type, ids)
        if bad:
            object_id = min(bad)
            raise IntegrityViolation(object_type, object_id, bad[object_id])
    images = {int(r[0]): int(r[1]) for r in members}
    if images:
        owners = dict(
            s.execute(
                select(m.ReferenceImage.id, m.ReferenceImage.subject_id).where(
                    m.ReferenceImage.id.in_(list(images))
                )
            ).all()
        )
        for image_id, subject_id in sorted(images.items()):
            if owners.get(image_id) != subject_id:
                raise IntegrityViolation(
                    "watchlist", dep.watchlist_id, f"lists image {image_id} under another person"
                )


def verify_deployment_of(dep: m.Deployment) -> None:
    """``verify_deployment`` in the session ``dep`` was loaded in."""
    s = object_session(dep)
    if s is None:
        raise OpenLFRError(f"deployment {dep.id} is not attached to a session: cannot verify it")
    verify_deployment(s, dep)


def verify_gallery_entry(s: Session, image_id: int, subject_id: int) -> None:
    """An alert names whose image it matched: that image and that person, as enrolled."""
    require_bound(s, "reference_image", image_id)
    require_bound(s, "subject", subject_id)


def keyed_image_digest(s: Session, data: bytes) -> str:
    """What goes in ``reference_images.image_sha256`` (see IntegrityKeys.keyed_digest)."""
    return keys_of(s).keyed_digest(data)


@dataclass
class BindingReport:
    checked: int = 0
    problems: list[str] = field(default_factory=list)


def _ids(s: Session, object_type: str) -> list[int]:
    if object_type == "deployment":  # only an authorisation is bound; a draft is still edited
        q = select(m.Deployment.id).where(m.Deployment.authorised_at.is_not(None))
    elif object_type == "watchlist":  # a purged snapshot's members are gone (R9, R16)
        q = select(m.Watchlist.id).where(m.Watchlist.purged_at.is_(None))
    elif object_type == "subject":
        q = select(m.Subject.id)
    else:
        q = select(m.ReferenceImage.id)
    return [int(i) for i in s.scalars(q.order_by("id"))]


def verify_bindings(s: Session) -> BindingReport:
    """Every bound row checked; a binding whose row vanished is reported too."""
    report = BindingReport()
    for object_type in PAYLOADS:
        ids = _ids(s, object_type)
        report.checked += len(ids)
        if object_type in _TABLES:
            bad = check_many(s, object_type, ids)
        else:
            found = ((i, check_row(s, object_type, i)) for i in ids)
            bad = {i: problem for i, problem in found if problem is not None}
        report.problems.extend(f"{object_type} {i} {p}" for i, p in sorted(bad.items()))
    return report


def backfill_pending(s: Session) -> bool:
    state = s.get(IntegrityState, 1)
    return bool(state and state.backfill_pending)


def backfill(s: Session) -> int:
    """Bind every row an upgrade found (once: refused when nothing is pending). Returns how
    many rows were bound. The caller audits it: whoever runs it vouches for those rows."""
    state = s.get(IntegrityState, 1)
    if state is None or not state.backfill_pending:
        raise OpenLFRError("no backfill is pending: every row was bound when it was written")
    count = 0
    for object_type in PAYLOADS:
        for object_id in _ids(s, object_type):
            bind_row(s, object_type, object_id)
            count += 1
    state.backfill_pending = False
    return count
