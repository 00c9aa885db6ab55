"""The authorising officer's review of a draft: everything the decision rests on (the brief:
who is on the watchlist, each camera source's verdict, the threshold beside its floor and the
calibration behind it, the equality note), then authorise (reasons, optional conditions), refuse
or return for changes (a reason each), each through a confirmation page. Forms only, no script:
the CSP forbids inline script and a decision needs none."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from openlfr.api.deps import require, state_of
from openlfr.api.params import RowId
from openlfr.errors import RuleViolation
from openlfr.service.authorisation_brief import authorisation_brief
from openlfr.service.deployments import (
    authorise_deployment,
    refuse_deployment,
    return_deployment,
)
from openlfr.service.sessions import Principal
from openlfr.store.models_accounts import Role
from openlfr.web.forms import FormErrors
from openlfr.web.pages import page

router = APIRouter(include_in_schema=False)
AUTHORISER = require(Role.AUTHORISING_OFFICER)
Action = Literal["authorise", "refuse", "return"]
#: The input holding each decision's reason (authorise has a second, optional one: conditions).
REASON_INPUT = {"authorise": "reasons", "refuse": "refuse_reason", "return": "return_reason"}
VERB = {"authorise": "Authorise", "refuse": "Refuse", "return": "Return for changes"}


def _review_page(
    request: Request,
    who: Principal,
    dep_id: int,
    *,
    values: dict[str, str] | None = None,
    errors: FormErrors | None = None,
    status: int = 200,
    probe_urls: bool = True,
    template: str = "review.html",
    **extra: Any,
) -> HTMLResponse:
    brief = authorisation_brief(
        state_of(request).context(who.username), dep_id, probe_urls=probe_urls
    )
    return page(
        request,
        template,
        who,
        status,
        brief=brief,
        values=values or {},
        errors=errors,
        cameras_ok=all(c.ok for c in brief.cameras),
        **extra,
    )


@router.get("/deployments/{dep_id}/review", response_class=HTMLResponse)
def review(dep_id: RowId, request: Request, who: Principal = Depends(AUTHORISER)) -> HTMLResponse:
    return _review_page(request, who, dep_id)


def _check(action: str, values: dict[str, str], who: Principal) -> FormErrors:
    errors = FormErrors()
    field = REASON_INPUT.get(action)
    if field is None:
        errors.add(None, "choose authorise, refuse or return for changes")
    elif not values.get(field, "").strip():
        what = "your reasons for authorising" if action == "authorise" else "a reason"
        errors.add(field, f"required: write {what}")
    if action == "authorise" and not who.rank:
        errors.add(None, "this account records no rank: an administrator must set it", "R5")
    return errors


@router.post("/deployments/{dep_id}/review/confirm", response_class=HTMLResponse)
def confirm(
    dep_id: RowId,
    request: Request,
    action: str = Form(""),
    reasons: str = Form(""),
    conditions: str = Form(""),
    refuse_reason: str = Form(""),
    return_reason: str = Form(""),
    withhold_notice: str = Form(""),
    withhold_note: str = Form(""),
    who: Principal = Depends(AUTHORISER),
) -> HTMLResponse:
    """The second step: what will be recorded, under whose name, with one button to confirm."""
    values = dict(
        reasons=reasons,
        conditions=conditions,
        refuse_reason=refuse_reason,
        return_reason=return_reason,
        withhold_notice=withhold_notice,
        withhold_note=withhold_note,
    )
    errors = _check(action, values, who)
    if errors:
        return _review_page(request, who, dep_id, values=values, errors=errors, status=422)
    return _review_page(
        request,
        who,
        dep_id,
        values=values,
        probe_urls=False,
        template="review_confirm.html",
        action=action,
        verb=VERB[action],
        reason=values[REASON_INPUT[action]],
    )


def _decide(
    request: Request, who: Principal, dep_id: int, action: Action, values: dict[str, str]
) -> Response:
    if values.get("confirm") != "yes":  # only the confirmation page sends this
        return RedirectResponse(f"/deployments/{dep_id}/review", status_code=303)
    errors = _check(action, values, who)
    if not errors:
        ctx = state_of(request).context(who.username)
        reason = values[REASON_INPUT[action]]
        try:
            if action == "authorise":
                assert who.rank is not None
                authorise_deployment(
                    ctx,
                    dep_id,
                    officer=who.display_name,
                    rank=who.rank,
                    reasons=reason,
                    conditions=values.get("conditions", ""),
                    withhold_notice=values.get("withhold_notice") or None,
                    withhold_note=values.get("withhold_note", ""),
                )
            elif action == "refuse":
                refuse_deployment(ctx, dep_id, officer=who.display_name, reason=reason)
            else:
                return_deployment(ctx, dep_id, officer=who.display_name, reason=reason)
        except RuleViolation as exc:  # every unmet rule, on the review page itself
            errors.absorb(
                exc,
                (REASON_INPUT[action],),
                {"reasons": REASON_INPUT[action], "reason": REASON_INPUT[action]},
            )
    if errors:
        return _review_page(
            request, who, dep_id, values=values, errors=errors, status=422, refused=VERB[action]
        )
    return RedirectResponse(f"/deployments/{dep_id}", status_code=303)


@router.post("/deployments/{dep_id}/authorise", response_model=None)
def authorise(
    dep_id: RowId,
    request: Request,
    reasons: str = Form(""),
    conditions: str = Form(""),
    confirm: str = Form(""),
    withhold_notice: str = Form(""),
    withhold_note: str = Form(""),
    who: Principal = Depends(AUTHORISER),
) -> Response:
    values = {"reasons": reasons, "conditions": conditions, "confirm": confirm,
              "withhold_notice": withhold_notice, "withhold_note": withhold_note}  # fmt: skip
    return _decide(request, who, dep_id, "authorise", values)


@router.post("/deployments/{dep_id}/refuse", response_model=None)
def refuse(
    dep_id: RowId,
    request: Request,
    refuse_reason: str = Form(""),
    confirm: str = Form(""),
    who: Principal = Depends(AUTHORISER),
) -> Response:
    values = {"refuse_reason": refuse_reason, "confirm": confirm}
    return _decide(request, who, dep_id, "refuse", values)


@router.post("/deployments/{dep_id}/return", response_model=None)
def return_for_changes(
    dep_id: RowId,
    request: Request,
    return_reason: str = Form(""),
    confirm: str = Form(""),
    who: Principal = Depends(AUTHORISER),
) -> Response:
    values = {"return_reason": return_reason, "confirm": confirm}
    return _decide(request, who, dep_id, "return", values)
