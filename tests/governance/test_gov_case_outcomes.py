"""Case-outcome updates (R11): one at a time and in bulk from a custody-system CSV export.

PNC-GUL has two images from two custody records (CUST-G1, CUST-G2). When CUST-G1 ends in no
further action, acquittal or discontinuance both of his images leave every future watchlist and
he is flagged for review; the next purge erases the CUST-G1 image only.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from gov_support import END, World, audit_rows, cli, dump, login_env
from sqlalchemy import select

from openlfr.errors import RuleViolation
from openlfr.service.case_outcomes import (
    import_outcome_csv,
    read_outcome_csv,
    record_case_outcome,
)
from openlfr.service.context import AppContext
from openlfr.service.retention import purge
from openlfr.service.watchlist_members import watchlist_members
from openlfr.service.watchlists import compile_watchlist, load_gallery
from openlfr.store import models as m
from openlfr.store import verify_audit

TODAY = date(2026, 3, 10)


def _images(ctx: AppContext, subject: str) -> list[m.ReferenceImage]:
    with ctx.store.session() as s:
        return list(
            s.scalars(
                select(m.ReferenceImage)
                .join(m.Subject, m.Subject.id == m.ReferenceImage.subject_id)
                .where(m.Subject.reference == subject)
                .order_by(m.ReferenceImage.id)
            )
        )


def _subject(ctx: AppContext, ref: str) -> m.Subject:
    with ctx.store.session() as s:
        subject = s.scalar(select(m.Subject).where(m.Subject.reference == ref))
        assert subject is not None
        return subject


@pytest.mark.parametrize(
    ("outcome", "withdraws"),
    [
        ("no further action", True),
        ("NFA", True),
        ("acquitted", True),
        ("discontinued", True),
        ("convicted", False),
        ("cautioned", False),
        ("pending", False),
    ],
)
def test_outcome_withdraws_that_persons_images_from_the_next_watchlist(
    ctx: AppContext, world: World, outcome: str, withdraws: bool
) -> None:
    result = record_case_outcome(ctx, "CUST-G1", outcome, reason="custody record updated")

    assert result.images == 1 and result.changed == 1
    gul = world.images["PNC-GUL"]
    assert result.withdrawn == (gul if withdraws else [])
    assert result.flagged == (["PNC-GUL"] if withdraws else [])
    assert all((img.withdrawn_at is not None) is withdraws for img in _images(ctx, "PNC-GUL"))
    subject = _subject(ctx, "PNC-GUL")
    assert subject.flagged_for_review is withdraws
    if withdraws:
        assert subject.flag_reason and "R11" in subject.flag_reason

    # The next compiled watchlist leaves him out (and naming him is refused, R6).
    nxt = compile_watchlist(ctx, "Operation Next")
    members = watchlist_members(ctx, nxt.id, justification="test")
    refs = {x.subject_ref for x in members.members}
    assert ("PNC-GUL" in refs) is not withdraws
    assert {"PNC-BRODY", "PNC-COOK"} <= refs
    if withdraws:
        with pytest.raises(RuleViolation, match="flagged for review"):
            compile_watchlist(ctx, "Only him", ["PNC-GUL"])
        # An existing watchlist that held him no longer searches his images either.
        _gallery, entries = load_gallery(ctx, world.watchlist_id, justification="test")
        assert not {e.reference_image_id for e in entries} & set(gul)

    events = [(e.event, e.object_type) for e in audit_rows(ctx, action="alteration")]
    assert ("case_outcome_changed", "reference_image") in events
    assert (("subject_flagged", "subject") in events) is withdraws
    assert events.count(("image_withdrawn", "reference_image")) == (2 if withdraws else 0)
    with ctx.store.session() as s:
        assert verify_audit(s).ok


def test_purge_erases_the_withdrawn_image_of_that_case_only(ctx: AppContext, world: World) -> None:
    record_case_outcome(ctx, "CUST-G1", "acquitted", reason="verdict")
    report = purge(ctx, now=END + timedelta(hours=1))  # the watchlist is not due yet

    g1, g2 = _images(ctx, "PNC-GUL")
    assert [(s.kind, s.ref) for s in report.steps] == [("erase image", g1.id)]
    assert g1.image_blob == b"" and g1.embedding_blob == b"" and g1.erased_at is not None
    assert g1.image_sha256 and g1.source_ref == "CUST-G1"  # identifiers stay (R16)
    # The other case was not one of those outcomes: withdrawn for review, not erased.
    assert g2.withdrawn_at is not None and g2.erased_at is None
    assert ctx.store.unseal(g2, "embedding_blob")
    [erasure] = audit_rows(ctx, event="reference_image_erased")
    assert erasure.action == "erasure" and erasure.object_id == str(g1.id)
    assert "R11" in erasure.justification and "Custody Images Review 2017" in erasure.justification
    # Still answerable: the watchlist lists the erased image by id and hash.
    members = watchlist_members(ctx, world.watchlist_id, justification="test")
    assert g1.id in {x.reference_image_id for x in members.members} and members.hash_matches


def test_single_outcome_for_an_unknown_record_is_refused_and_audited(
    ctx: AppContext, world: World
) -> None:
    with pytest.raises(RuleViolation) as refused:
        record_case_outcome(ctx, "CUST-NOBODY", "nfa")
    assert refused.value.rule == "R11"
    [entry] = audit_rows(ctx, event="alteration_refused")
    assert entry.action == "alteration" and entry.object_id == "CUST-NOBODY"


def _csv(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "custody_export.csv"
    path.write_text(text)
    return path


GOOD_HEADER = "source_ref,case_outcome,date\n"


@pytest.mark.parametrize(
    ("body", "line", "fragment"),
    [
        ("CUST-G1,nfa,2026-03-01\nCUST-B1,maybe,2026-03-01\n", 3, "'maybe' is not one of"),
        ("CUST-G1,nfa,\n,charged,\n", 3, "custody reference (source_ref) is empty"),
        ("CUST-G1,nfa,2026-03-99\n", 2, "not an ISO date"),
        ("CUST-G1,nfa,2027-01-01\n", 2, "in the future"),
        ("CUST-G1,nfa,\nCUST-C1,charged,\nCUST-G1,convicted,\n", 4, "also on line 2"),
    ],
    ids=["bad outcome", "empty ref", "bad date", "future date", "conflicting duplicate"],
)
def test_csv_bad_row_is_named_by_its_line(
    tmp_path: Path, body: str, line: int, fragment: str
) -> None:
    with pytest.raises(RuleViolation) as refused:
        read_outcome_csv(_csv(tmp_path, GOOD_HEADER + body), today=TODAY)
    assert f"line {line}: " in str(refused.value) and fragment in str(refused.value)
    assert "nothing applied" in str(refused.value)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "is empty"),
        ("ref,result\nCUST-G1,nfa\n", "line 1: the header lacks source_ref, case_outcome"),
        (GOOD_HEADER, "has a header but no rows"),
    ],
)
def test_csv_without_usable_header_or_rows_is_refused(
    tmp_path: Path, text: str, fragment: str
) -> None:
    with pytest.raises(RuleViolation, match=fragment):
        read_outcome_csv(_csv(tmp_path, text), today=TODAY)


def test_bulk_csv_with_one_bad_row_applies_nothing(
    ctx: AppContext, world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _csv(
        tmp_path,
        GOOD_HEADER + "CUST-G1,NFA,2026-03-01\nCUST-B1,acquitted,\nCUST-C1,found guilty,\n",
    )
    before = dump(ctx)
    with pytest.raises(RuleViolation, match="line 4: "):
        import_outcome_csv(ctx, path)
    after = dump(ctx)
    refusal = after["audit_log"][-1]
    assert {k: v for k, v in after.items() if k not in ("audit_log", "audit_head")} == {
        k: v for k, v in before.items() if k not in ("audit_log", "audit_head")
    }
    assert len(after["audit_log"]) == len(before["audit_log"]) + 1  # only the refusal
    assert (refusal["event"], refusal["object_id"]) == ("alteration_refused", path.name)

    # The CLI says the same on one line and exits 2.
    result = cli(
        ctx,
        monkeypatch,
        ["case-outcome", "--csv", str(path)],
        login_env(ctx, "custody.import", "supervisor"),
    )
    assert result.exit_code == 2
    assert "refused (R11)" in result.stderr and "line 4" in result.stderr
    assert "found guilty" in result.stderr


def test_bulk_csv_applies_every_row_and_skips_records_held_nowhere(
    ctx: AppContext, world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _csv(
        tmp_path,
        "\ufeffSource_Ref,Outcome\nCUST-G1,discontinued\nCUST-C1,convicted\nCUST-ELSEWHERE,nfa\n\n",
    )
    env = login_env(ctx, "custody.import", "supervisor")
    result = cli(ctx, monkeypatch, ["case-outcome", "--csv", str(path)], env)
    assert result.exit_code == 0, result.output
    assert "withdrew 2 images and flagged PNC-GUL" in result.stdout
    assert "1 references hold no image here" in result.stdout
    assert [i.case_outcome for i in _images(ctx, "PNC-COOK")] == ["convicted"]
    assert _subject(ctx, "PNC-GUL").flagged_for_review
    assert not _subject(ctx, "PNC-COOK").flagged_for_review
    changed = audit_rows(ctx, event="case_outcome_changed")
    assert len(changed) == 2 and all(e.actor == "custody.import" for e in changed)

    single = cli(ctx, monkeypatch, ["case-outcome", "CUST-B1", "acquitted", "--reason", "x"], env)
    assert single.exit_code == 0, single.output
    assert "flagged PNC-BRODY" in single.stdout
    neither = cli(ctx, monkeypatch, ["case-outcome"], env)
    assert neither.exit_code == 2
