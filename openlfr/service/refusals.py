"""Every refusal is logged (issue 3, item 5): a decorator for the use-cases that can refuse.

The Data Protection Act 2018 s62 names six kinds of processing and the ``audit_log`` accepts only
those six, so there is no "refusal" action. A refusal is logged under the verb of the processing
that was attempted and refused, with an ``event`` that says it was refused (as enrolment already
logs ``collection`` / ``collection_refused``): an authorisation that would have let a deployment
search its watchlist is a refused ``consultation`` (``authorisation_refused``), a refused
case-outcome update a refused ``alteration``, and so on. The rule id goes in ``detail``.

The entry is written in its own transaction, after the refused act's transaction has rolled
back: nothing of the act is kept, but the attempt is.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable, Mapping
from typing import Any, ParamSpec, TypeVar

from openlfr.errors import RuleViolation
from openlfr.service.context import AppContext
from openlfr.store import AuditAction, append_audit

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

#: Set on an exception once logged, so a refusal raised in a nested use-case (authorise ->
#: watchlist_summary) is logged once, by the innermost one, which knows the most about it.
_LOGGED = "_openlfr_refusal_logged"

ObjectId = str | Callable[[Mapping[str, Any]], object] | None


def record_refusal(
    ctx: AppContext,
    exc: RuleViolation,
    *,
    action: AuditAction,
    event: str,
    object_type: str,
    object_id: object,
) -> None:
    """Log ``exc`` once. A failure to log is reported but never replaces the refusal itself."""
    if getattr(exc, _LOGGED, False):
        return
    setattr(exc, _LOGGED, True)
    try:
        with ctx.store.session() as s:
            append_audit(
                s,
                actor=ctx.actor,
                action=action,
                event=event,
                object_type=object_type,
                object_id=str(object_id)[:128] or "-",
                justification=f"refused ({exc.rule}): {exc}",
                detail={"rule": exc.rule},
            )
    except Exception:  # the refusal must still reach the caller, whatever the log did
        log.exception("could not log the refusal %r", str(exc))


def audits_refusals(
    action: AuditAction, object_type: str, *, event: str, object_id: ObjectId = None
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Log every ``RuleViolation`` the decorated use-case raises, then re-raise it.

    The use-case takes the ``AppContext`` as its first argument. ``object_id`` names the
    argument that identifies the object (or computes it from the bound arguments).
    """

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        signature = inspect.signature(fn)

        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return fn(*args, **kwargs)
            except RuleViolation as exc:
                bound = signature.bind_partial(*args, **kwargs).arguments
                ctx = next(iter(bound.values()))
                if isinstance(ctx, AppContext):
                    record_refusal(
                        ctx,
                        exc,
                        action=action,
                        event=event,
                        object_type=object_type,
                        object_id=_object_id(object_id, bound),
                    )
                raise

        return wrapper

    return decorate


def _object_id(spec: ObjectId, bound: Mapping[str, Any]) -> object:
    if spec is None:
        return "-"
    if isinstance(spec, str):
        return bound.get(spec, "-")
    return spec(bound)
