"""Free text typed by people (justifications, reasons, names, references): what may be stored.

Control characters are refused, not stripped: an ESC sequence in an audit justification
repaints an auditor's terminal, a CR forges a second line in a log or CSV export, a NUL cuts
the text short in some readers, and the bidirectional overrides show a reader words in another
order than the one stored. Stripping would store something other than what was typed, with no
one told; a refusal names the field and the character so the person can retype it.

Pure functions: no I/O.
"""

from __future__ import annotations

import unicodedata

from openlfr.errors import RuleViolation

RULE = "text"
# Line breaks and tabs are ordinary in multi-line text (a textarea sends CR LF; it is kept as
# LF so the stored text has one form whichever browser sent it).
_MULTILINE_ALLOWED = frozenset("\n\t")
# Format characters (Unicode category Cf) that reorder or hide text as it is shown.
_DECEPTIVE = frozenset(
    "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u2028\u2029\ufeff"
)


class TextRefused(RuleViolation, ValueError):
    """A field's text cannot be stored as typed; the message names the field and the reason.

    A ValueError too, so that Pydantic validators turn it into a 422 naming the field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(RULE, f"{field}: {message}")
        self.field = field


def bad_character(text: str, *, multiline: bool) -> tuple[int, str] | None:
    """The first refused character of ``text`` as (index, its code point name), or None."""
    for i, ch in enumerate(text):
        if multiline and ch in _MULTILINE_ALLOWED:
            continue
        if unicodedata.category(ch) in ("Cc", "Cs") or ch in _DECEPTIVE:
            name = unicodedata.name(ch, "") or f"U+{ord(ch):04X}"
            return i, f"{name} (U+{ord(ch):04X})" if name[:2] != "U+" else name
    return None


def clean_text(
    text: str,
    *,
    field: str,
    max_length: int,
    multiline: bool = False,
    required: bool = False,
) -> str:
    """``text`` as it is to be stored (CR LF as LF when multi-line), or TextRefused.

    ``max_length`` is the column's length: a longer value is refused here with its length
    rather than cut (or refused by the database, or silently kept by SQLite)."""
    if multiline:
        text = text.replace("\r\n", "\n")
    found = bad_character(text, multiline=multiline)
    if found is not None:
        index, what = found
        kind = "a control or direction character" if multiline else "a control character"
        raise TextRefused(field, f"contains {kind}, {what}, at position {index + 1}")
    if len(text) > max_length:
        raise TextRefused(field, f"is {len(text)} characters; at most {max_length} are kept")
    if required and not text.strip():
        raise TextRefused(field, "must not be blank")
    return text
