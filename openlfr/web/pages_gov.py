"""Pages for supervisors (watchlists, exceptional reasons). Forms post here
with the session's CSRF token; a refused form comes back as typed, the error beside its field.
(Deployments: pages_deploy and pages_review; the audit log: pages_audit; users: pages_users.)"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from openlfr.api.deps import state_of
from openlfr.api.params import RowId
from openlfr.domain import WatchlistCategory
from openlfr.errors import RuleViolation
from openlfr.service import exceptional as exceptional_reasons
from openlfr.service.reference_reassess import pending_references, reassess_references
from openlfr.service.sessions import Principal
from openlfr.service.subject_decisions import subjects_with_decisions
from openlfr.service.watchlists import compile_watchlist
from openlfr.web.forms import FormErrors
from openlfr.web.pages import page
from openlfr.web.pages_deploy import SUPERVISOR, see_other, watchlist_choices

router = APIRouter(include_in_schema=False)
#: Images one page request measures (~30 ms each on 2 cores): a few seconds at most.
REASSESS_BATCH = 100


def _composer(
    request: Request, who: Principal, q: str = "", category: str = "", *,
    values: dict[str, Any] | None = None, errors: FormErrors | None = None, status: int = 200,
) -> HTMLResponse:  # fmt: skip
    ctx = state_of(request).context(who.username)
    subjects = subjects_with_decisions(ctx)
    total = len(subjects)
    needle = q.strip().casefold()
    subjects = [
        x
        for x in subjects
        if (not needle or needle in x["reference"].casefold())
        and (not category or x["category"] == category)
    ]
    return page(
        request, "watchlists.html", who, status, subjects=subjects, total=total,
        watchlists=watchlist_choices(request), q=q, category=category,
        categories=sorted(c.value for c in WatchlistCategory),
        values=values or {"name": "", "subject": []}, errors=errors,
        unmeasured=len(pending_references(ctx)), reassessed=_count_param(request, "measured"),
        reassess_batch=REASSESS_BATCH,
    )  # fmt: skip


def _count_param(request: Request, name: str) -> int | None:
    """A non-negative count from the query (a redirect's result), else None: never echoed as
    typed."""
    raw = request.query_params.get(name, "")
    return int(raw) if raw.isdigit() and len(raw) < 10 else None


@router.get("/watchlists", response_class=HTMLResponse)
def watchlists(
    request: Request, q: str = "", category: str = "", who: Principal = Depends(SUPERVISOR)
) -> HTMLResponse:
    """The composer. ``q`` (part of a reference) and ``category`` filter the subjects here
    without script; static/watchlists.js filters the same rows as one types."""
    return _composer(request, who, q, category)


@router.post("/watchlists", response_model=None)
async def compose(request: Request, who: Principal = Depends(SUPERVISOR)) -> Response:
    form = await request.form()
    refs = [str(v) for v in form.getlist("subject")]
    name = str(form.get("name") or "").strip()
    errors = FormErrors()
    if not name:
        errors.add("name", "give the watchlist a name")
    if not refs:
        errors.add("subject", "choose at least one subject")
    if not errors:
        try:
            compile_watchlist(state_of(request).context(who.username), name, refs)
        except RuleViolation as exc:  # e.g. nobody chosen has an eligible image
            errors.absorb(exc, ("name", "subject"), {})
    if errors:
        values = {"name": name, "subject": refs}
        return _composer(request, who, values=values, errors=errors, status=422)
    return see_other("/watchlists")


@router.post("/watchlists/reassess", response_model=None)
def reassess(request: Request, who: Principal = Depends(SUPERVISOR)) -> Response:
    """Measures the strength of up to REASSESS_BATCH images enrolled before it was kept (each
    audited, as `openlfr reassess` does); the page then says how many, and how many are left."""
    done = reassess_references(
        state_of(request).context(who.username, models=True),  # loaded once, shared
        justification="reference strength measured from the watchlists page",
        limit=REASSESS_BATCH,
    )
    return see_other(f"/watchlists?measured={done.measured}")


def _exceptional(
    request: Request, who: Principal, *, values: dict[str, str] | None = None,
    errors: FormErrors | None = None, status: int = 200,
) -> HTMLResponse:  # fmt: skip
    rows = exceptional_reasons.list_requests(state_of(request).context(who.username))
    return page(request, "exceptional.html", who, status, requests=rows, values=values or {},
                errors=errors)  # fmt: skip


@router.get("/exceptional", response_class=HTMLResponse)
def exceptional(request: Request, who: Principal = Depends(SUPERVISOR)) -> HTMLResponse:
    return _exceptional(request, who)


@router.post("/exceptional", response_model=None)
async def request_exception(
    request: Request,
    subject_reference: str = Form(""), category: str = Form(""), source_ref: str = Form(""),
    lawful_basis: str = Form(""), case_outcome: str = Form(""), reason: str = Form(""),
    captured_on: str = Form(""), age_at_capture: str = Form(""),
    image: UploadFile | None = File(None), who: Principal = Depends(SUPERVISOR),
) -> Response:  # fmt: skip
    data = await image.read(20 * 1024 * 1024) if image is not None else b""
    fields = dict(subject_reference=subject_reference, category=category, source_ref=source_ref,
                  lawful_basis=lawful_basis, case_outcome=case_outcome, reason=reason,
                  captured_on=captured_on, age_at_capture=age_at_capture)  # fmt: skip
    errors = FormErrors()
    for name in ("subject_reference", "source_ref", "lawful_basis"):
        if not fields[name].strip():
            errors.add(name, "required")
    if not errors:
        try:
            ctx = state_of(request).context(who.username)
            exceptional_reasons.request_exception(ctx, fields, data)
        except RuleViolation as exc:
            errors.add("reason" if "reason" in str(exc) else None, str(exc), exc.rule)
        except ValueError as exc:  # no image, a date or an age that does not parse
            text = str(exc)
            found = [n for n in ("image", "captured_on", "age_at_capture") if n[:5] in text]
            errors.add(found[0] if found else None, text)
    if errors:
        errors.add("image", "files cannot be kept by the browser: choose the image again")
        return _exceptional(request, who, values=fields, errors=errors, status=422)
    return see_other("/exceptional")


@router.post("/exceptional/{request_id}/{verdict}", response_model=None)
def decide(
    request_id: RowId, verdict: str, request: Request, note: str = Form(""),
    who: Principal = Depends(SUPERVISOR),
) -> Response:  # fmt: skip
    approve = verdict == "approve"
    ctx = state_of(request).context(who.username, models=approve)
    try:
        exceptional_reasons.decide_request(ctx, request_id, approve=approve, note=note)
    except RuleViolation as exc:  # e.g. the requester approving their own request (R3)
        errors = FormErrors()
        errors.add(None, f"request {request_id}: {exc}", exc.rule)
        return _exceptional(request, who, errors=errors, status=422)
    return see_other("/exceptional")
