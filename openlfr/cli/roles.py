"""Which account may run which command: the one table, mirroring the web's `require(...)`.

A command missing from this table cannot open the store (see `common.acting`), so a new command
has to be given its roles here before it can run at all. `None` means no account is needed:
the command reads only published figures, acts on nobody's behalf (the demo in its own store,
retention that the rules make due anyway) or bootstraps the first accounts.
"""

from __future__ import annotations

from openlfr.store.models_accounts import Role

_SUPERVISOR = frozenset({Role.SUPERVISOR})
_AO = frozenset({Role.AUTHORISING_OFFICER})
_RUNNERS = frozenset({Role.SUPERVISOR, Role.OPERATOR})
_OPERATOR = frozenset({Role.OPERATOR})
_REVIEWERS = frozenset({Role.OPERATOR, Role.SUPERVISOR})
_RECORD_READERS = frozenset({Role.SUPERVISOR, Role.AUTHORISING_OFFICER, Role.AUDITOR})

ROLES: dict[str, frozenset[Role] | None] = {
    "enrol": _SUPERVISOR,
    "reassess": _SUPERVISOR,
    "watchlist build": _SUPERVISOR,
    "watchlist show": frozenset({Role.SUPERVISOR, Role.AUTHORISING_OFFICER}),
    "watchlist members": frozenset({Role.SUPERVISOR, Role.AUDITOR}),
    "exceptional list": _SUPERVISOR,
    "exceptional approve": _SUPERVISOR,
    "exceptional reject": _SUPERVISOR,
    "case-outcome": _SUPERVISOR,
    "deployment create": _SUPERVISOR,
    "deployment amend": _SUPERVISOR,
    "deployment withdraw": _SUPERVISOR,
    "deployment brief": frozenset({Role.AUTHORISING_OFFICER, Role.SUPERVISOR}),
    "deployment authorise": _AO,
    "deployment refuse": _AO,
    "deployment return": _AO,
    "deployment run": _RUNNERS,
    "deployment stop": _RUNNERS,
    # A published record (authorised, live or ended) is public, as on /public; any other
    # (a draft, a refusal) names a planned operation and is for those who plan or oversee.
    "deployment record": None,
    "deployment record (unpublished)": _RECORD_READERS,
    "alerts list": _REVIEWERS,
    "alerts images": _REVIEWERS,
    "alerts adjudicate": _OPERATOR,
    "alerts outcome": _OPERATOR,
    "audit export": frozenset({Role.AUDITOR}),
    "audit verify": None,
    # The signed head is no personal data: anyone may export it, to hold it outside the store.
    "audit anchor": None,
    "audit backfill": frozenset({Role.ADMIN}),
    "audit rotate-key": frozenset({Role.ADMIN}),
    "report": None,
    # R19: notices are published to everyone; R20: a disclosure of personal data, made by
    # those who hold the records (supervisors) or oversee them (auditors).
    "notices": None,
    "subject-access": frozenset({Role.SUPERVISOR, Role.AUDITOR}),
    "purge": None,
    "demo": None,
    "user add": frozenset({Role.ADMIN}),
    "user grant": frozenset({Role.ADMIN}),
    "user approve": frozenset({Role.ADMIN}),
    "user reject": frozenset({Role.ADMIN}),
    "user pending": frozenset({Role.ADMIN}),
    "user create-admin": None,
    # R17: retrospective search is the investigator's work, and the investigator's only.
    "search": frozenset({Role.INVESTIGATOR}),
    # R18: the estate review publishes counts only; those who oversee the estate run it.
    "custody review": frozenset({Role.SUPERVISOR, Role.AUDITOR}),
    "custody import": frozenset({Role.SUPERVISOR}),
}


def role_names(roles: frozenset[Role]) -> str:
    """'supervisor' or 'operator or supervisor', in a stable order."""
    names = [r.value for r in Role if r in roles]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
