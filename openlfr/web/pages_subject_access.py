"""The supervisor's (or auditor's) subject access page (R20): a form for the person's and the
request's references and the recipient; submitting it produces the audited disclosure and shows
it as a standalone page (images inline, nothing written to disk), with its JSON."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from openlfr.api.deps import require, state_of
from openlfr.errors import RuleViolation
from openlfr.reports.subject_access import disclosure_html, disclosure_json
from openlfr.service.sessions import Principal
from openlfr.service.subject_access import subject_access
from openlfr.store.models_accounts import Role
from openlfr.web.pages import page

router = APIRouter(include_in_schema=False)
DISCLOSERS = require(Role.SUPERVISOR, Role.AUDITOR)

# As for the published reports: the disclosure page carries its own <style> and data: images;
# nothing else (no script, no form, no framing).
DISCLOSURE_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)


@router.get("/subject-access", response_class=HTMLResponse)
def form(request: Request, who: Principal = Depends(DISCLOSERS)) -> HTMLResponse:
    return page(request, "subject_access.html", who, values={})


@router.post("/subject-access", response_model=None)
def produce(
    request: Request,
    person_ref: str = Form(""),
    request_ref: str = Form(""),
    recipient: str = Form(""),
    fmt: str = Form("html"),
    who: Principal = Depends(DISCLOSERS),
) -> Response:
    values = {"person_ref": person_ref, "request_ref": request_ref, "recipient": recipient}
    ctx = state_of(request).context(who.username)
    try:
        d = subject_access(ctx, person_ref=person_ref, request_ref=request_ref, recipient=recipient)
    except RuleViolation as exc:
        return page(
            request, "subject_access.html", who, 422, values=values, error=f"{exc.rule}: {exc}"
        )
    if fmt == "json":
        name = f"subject-access-{d.disclosure_id}.json"
        return Response(
            disclosure_json(d),
            media_type="application/json",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return HTMLResponse(
        disclosure_html(d, inline_images=True),
        headers={"Content-Security-Policy": DISCLOSURE_CSP, "Cache-Control": "no-store"},
    )
