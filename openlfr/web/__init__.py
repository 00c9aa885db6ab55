"""Server-rendered pages: Jinja2 templates and a little vanilla JS (no build step, no CDN)."""

from __future__ import annotations

from pathlib import Path

from fastapi.templating import Jinja2Templates

WEB_DIR = Path(__file__).resolve().parent
STATIC_DIR = WEB_DIR / "static"
TEMPLATES = Jinja2Templates(directory=str(WEB_DIR / "templates"))

OUTCOME_LABELS = {
    "engaged_no_arrest": "Engaged, no arrest",
    "arrested": "Arrested",
    "charged_or_cautioned": "Charged or cautioned",
    "bailed_or_released_under_investigation": "Bailed or released under investigation",
    "no_further_action": "No further action",
}
TEMPLATES.env.globals["OUTCOME_LABELS"] = OUTCOME_LABELS
