"""A subject access disclosure (R20) as readable HTML and JSON, and as files in a folder."""

from __future__ import annotations

import base64
import json
from functools import cache
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from openlfr.service.subject_access import Disclosure

__all__ = ["disclosure_html", "disclosure_json", "write_disclosure"]


@cache
def _env() -> Environment:
    return Environment(
        loader=PackageLoader("openlfr.reports", "templates"),
        autoescape=select_autoescape(["html", "j2"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def disclosure_json(d: Disclosure) -> str:
    return json.dumps(d.as_dict(), indent=2, ensure_ascii=False, default=str) + "\n"


def disclosure_html(d: Disclosure, *, inline_images: bool = False) -> str:
    """The disclosure as one standalone page: images linked to the files beside it, or (for
    the web page) inline as data: URIs, so nothing is written to disk."""
    inline = (
        {n: "data:image/jpeg;base64," + base64.b64encode(b).decode() for n, b in d.images.items()}
        if inline_images
        else {}
    )
    return (
        _env()
        .get_template("subject_access.html.j2")
        .render(d=d.as_dict(), inline=inline, inline_images=inline_images)
    )


def write_disclosure(d: Disclosure, folder: Path) -> list[Path]:
    """disclosure.json, disclosure.html and the disclosed images into ``folder`` (created with
    owner-only permissions: it holds personal data); the paths written."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    written = []
    for name, data in d.images.items():
        path = folder / name
        path.write_bytes(data)
        path.chmod(0o600)
        written.append(path)
    for name, text in (
        ("disclosure.json", disclosure_json(d)),
        ("disclosure.html", disclosure_html(d)),
    ):
        path = folder / name
        path.write_text(text, encoding="utf-8")
        path.chmod(0o600)
        written.append(path)
    return written
