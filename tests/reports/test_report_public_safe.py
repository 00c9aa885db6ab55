"""No personal data in any published output (R14 records are public): subject references and
names, custody sources, the authorising officer's and the operators' names and their free-text
reasons are all in the store, and none of them may reach JSON, CSV or HTML."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from openlfr.reports import (
    aggregate,
    load_public_record,
    record_html,
    record_json,
    to_csv,
    to_html,
    to_json,
)
from openlfr.service.context import utcnow


def _outputs(sc: Any) -> dict[str, str]:
    now = utcnow()
    rep = aggregate(sc.ctx, now - timedelta(days=1), now + timedelta(days=1))
    assert rep.totals.alerts == 2  # the personal data is really behind these numbers
    rec = load_public_record(sc.ctx, sc.dep_a)
    failed = load_public_record(sc.ctx, sc.dep_failed)
    return {
        "json": to_json(rep),
        "csv": to_csv(rep),
        "html": to_html(rep),
        "record_html": record_html(rec),
        "record_json": record_json(rec),
        "failed_html": record_html(failed),
        "failed_json": record_json(failed),
    }


def test_no_personal_data_in_any_format(scenario: Any, personal: dict[str, str]) -> None:
    outputs = _outputs(scenario)
    for fmt, text in outputs.items():
        folded = text.casefold()
        for what, value in personal.items():
            assert value.casefold() not in folded, f"{what} ({value!r}) leaked into {fmt}"
        # The distinctive stem of every secret, in case a renderer reformats it.
        assert "zqx" not in folded, f"a ZQX marker leaked into {fmt}"
        # Camera sources are file paths or URLs (which may carry credentials): names only.
        assert str(scenario.workdir) not in text, f"a camera source leaked into {fmt}"
        assert "jpeg" not in folded and "base64" not in folded, f"an image leaked into {fmt}"


def test_the_secrets_are_really_in_the_store(scenario: Any, personal: dict[str, str]) -> None:
    """Guards the test above: it proves something only if the store holds those strings."""
    from sqlalchemy import text

    def column(sql: str) -> set[str]:
        with scenario.ctx.store.session() as s:
            return {str(v) for (v,) in s.execute(text(sql))}

    assert {personal["ref_a"], personal["ref_b"]} <= column("SELECT reference FROM subjects")
    assert {personal["name_a"], personal["name_b"]} <= column("SELECT display_name FROM subjects")
    assert personal["officer"] in column("SELECT authorised_by FROM deployments")
    notes = column("SELECT review_note FROM deployments WHERE review_note IS NOT NULL")
    assert {personal["refusal"], personal["withdrawal"]} <= notes
    # The failed run's stored reason names the missing camera file; the record must not.
    reasons = " ".join(column("SELECT end_reason FROM deployments WHERE end_reason IS NOT NULL"))
    assert personal["gone_camera"] in reasons
