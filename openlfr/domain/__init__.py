"""Pure domain rules (DESIGN.md §4, §6): no I/O, no database, no clock reads.

Every function that depends on time takes ``now``/``today``; every rule takes the policy.
"""

from __future__ import annotations

from openlfr.domain.authorisation import (
    AuthorisationRequest,
    AuthorisationWindow,
    DraftRequest,
    FieldViolation,
    check_authorisation,
    check_draft,
    deployment_may_run,
    seconds_until_end,
)
from openlfr.domain.categories import WatchlistCategory, parse_category
from openlfr.domain.eligibility import (
    CaseOutcome,
    EligibilityDecision,
    ImageCandidate,
    ImageFacts,
    assess_image,
    outcome_withdraws_images,
    parse_outcome,
    prefer_newest,
)
from openlfr.domain.policy import GovernanceSettings
from openlfr.domain.ranks import Rank, parse_rank
from openlfr.domain.retention import (
    HOLDING_STATUSES,
    AlertRecord,
    ImageRecord,
    PurgeItem,
    PurgePlan,
    WatchlistRecord,
    alert_purge_due,
    audit_retention_floor,
    deployment_holds_watchlist,
    plan_purge,
    watchlist_purge_due,
)
from openlfr.domain.rules import RULES, Rule, cite
from openlfr.domain.watchlist_hash import member_hash, size_by_category

__all__ = [
    "HOLDING_STATUSES",
    "RULES",
    "AlertRecord",
    "AuthorisationRequest",
    "AuthorisationWindow",
    "CaseOutcome",
    "DraftRequest",
    "EligibilityDecision",
    "FieldViolation",
    "GovernanceSettings",
    "ImageCandidate",
    "ImageFacts",
    "ImageRecord",
    "PurgeItem",
    "PurgePlan",
    "Rank",
    "Rule",
    "WatchlistCategory",
    "WatchlistRecord",
    "alert_purge_due",
    "assess_image",
    "audit_retention_floor",
    "check_authorisation",
    "check_draft",
    "cite",
    "deployment_holds_watchlist",
    "deployment_may_run",
    "member_hash",
    "outcome_withdraws_images",
    "parse_category",
    "parse_outcome",
    "parse_rank",
    "plan_purge",
    "prefer_newest",
    "seconds_until_end",
    "size_by_category",
    "watchlist_purge_due",
]
