"""Hypothesis fuzzing of the parsers that take outside input: image decoding (random bytes and
real pictures with bytes flipped, cut or spliced), the case-outcome CSV reader, and the draft
form's fields. Each either gives a well-formed result or refuses with the project's own error,
never any other exception. Examples are capped (FUZZ_EXAMPLES) to keep the directory quick;
`OPENLFR_ATTACK_EXAMPLES=2000` runs a longer campaign by hand."""

from __future__ import annotations

import io
import os
from datetime import date
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from openlfr.domain import bounds
from openlfr.domain.text import bad_character
from openlfr.errors import ImageRejected, RuleViolation
from openlfr.service.case_outcomes import read_outcome_csv
from openlfr.vision.images import MAX_DECODED_SIDE, read_image_bytes
from openlfr.web.forms import DRAFT_FIELDS, FormErrors, parse_draft

FUZZ_EXAMPLES = int(os.environ.get("OPENLFR_ATTACK_EXAMPLES", "200"))
FUZZ = settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
TODAY = date(2026, 6, 1)


def _seed_images() -> list[bytes]:
    rng = np.random.default_rng(7)
    pixels = Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8))
    out = []
    for fmt in ("JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF"):
        buf = io.BytesIO()
        pixels.save(buf, fmt)
        out.append(buf.getvalue())
    return out


SEEDS = _seed_images()


@st.composite
def damaged_images(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(0, 8))):
        i = draw(st.integers(0, len(data) - 1))
        data[i] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    if draw(st.booleans()):
        data += draw(st.binary(max_size=64))
    return bytes(data)


def _check_decoded(data: bytes) -> None:
    try:
        image = read_image_bytes(data, "fuzz")
    except ImageRejected as exc:
        assert exc.reason and "\n" not in exc.reason
        return
    assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
    assert 0 < max(image.shape[:2]) <= MAX_DECODED_SIDE
    assert image.flags.c_contiguous


@FUZZ
@given(data=st.binary(max_size=2048))
def test_random_bytes_decode_or_are_refused(data: bytes) -> None:
    _check_decoded(data)


@FUZZ
@given(data=damaged_images())
def test_damaged_pictures_decode_or_are_refused(data: bytes) -> None:
    _check_decoded(data)


_CELL = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "charged",
            "convicted",
            "nfa",
            "acquitted",
            "pending",
            "2026-01-01",
            "9999-99-99",
            "CUST-1",
            "",
            " ",
            '"',
            "a,b",
            "\x00",
            "\r",
            "\u202e",
        ]
    ),
)
_HEADERS = st.sampled_from(
    [
        "source_ref,case_outcome",
        "source_ref,case_outcome,date",
        "case_outcome,source_ref",
        "x,y",
        "",
    ]
)


@FUZZ
@given(
    header=_HEADERS,
    rows=st.lists(st.lists(_CELL, max_size=4), max_size=8),
    raw=st.binary(max_size=64),
    use_raw=st.booleans(),
)
def test_the_case_outcome_csv_reader_validates_or_refuses(
    header: str, rows: list[list[str]], raw: bytes, use_raw: bool
) -> None:
    import tempfile

    text = header + "\n" + "\n".join(",".join(r) for r in rows)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "outcomes.csv"
        path.write_bytes(raw if use_raw else text.encode("utf-8", "surrogatepass"))
        try:
            changes = read_outcome_csv(path, today=TODAY)
        except RuleViolation as exc:
            assert str(exc)
            return
    assert changes
    for change in changes:
        # What the reader accepts fits the column it is matched against (VARCHAR(128)) and
        # carries no control character into the audit log.
        assert change.source_ref and len(change.source_ref) <= 128
        assert bad_character(change.source_ref, multiline=False) is None
        assert change.decided_on is None or change.decided_on <= TODAY


_FORM_VALUE = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        [
            "1e-12",
            "nan",
            "inf",
            "-1",
            "0",
            "8",
            "744",
            "745",
            str(2**63),
            "1",
            "9999-12-31T23:59",
            "2026-05-01T10:00",
            "0001-01-01T00:00",
            "abc",
        ]
    ),
)


@FUZZ
@given(values=st.fixed_dictionaries({k: _FORM_VALUE for k in DRAFT_FIELDS}))
def test_the_draft_form_never_raises_and_a_draft_it_returns_is_in_range(
    values: dict[str, str],
) -> None:
    errors = FormErrors()
    draft = parse_draft(values, errors)
    if draft is None:
        assert errors, "a refused form names at least one error"
        return
    assert not errors
    assert draft.end > draft.start
    hours = (draft.end - draft.start).total_seconds() / 3600
    assert bounds.MIN_WINDOW_HOURS - 1e-6 <= hours <= bounds.MAX_WINDOW_HOURS + 1e-6
    assert 1 <= draft.watchlist_id <= bounds.DB_INT_MAX
    assert bounds.EARLIEST_DAY <= draft.start.date() <= bounds.LATEST_DAY
