"""The rules openlfr enforces (DESIGN.md §6), as data that messages, docs and README can cite.

Each refusal names its rule id and a short source so that an officer reading the message, and an
auditor reading the log later, can see which legal or policy requirement stopped the act.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Rule:
    """One enforced rule: a stable id, what it requires, where it comes from."""

    id: str
    summary: str
    source: str
    #: A short form of ``source`` for one-line refusal messages.
    citation: str


_TABLE: tuple[Rule, ...] = (
    Rule(
        "R1",
        "watchlist categories limited; no catch-all",
        "Bridges v CC South Wales [2020] EWCA Civ 1058, paras 121-130",
        "Bridges v CC South Wales [2020] EWCA Civ 1058",
    ),
    Rule(
        "R2",
        "every reference image records its source and lawful basis",
        "College of Policing LFR APP, watchlist section",
        "College of Policing LFR APP",
    ),
    Rule(
        "R3",
        "NFA / acquitted / discontinued images refused unless an approved exceptional reason",
        "RMC & FJ v MPC [2012] EWHC 1681; Custody Images Review 2017",
        "RMC & FJ v MPC [2012] EWHC 1681",
    ),
    Rule(
        "R4",
        "under 18 at capture needs a recorded reason",
        "SWP policy (in Bridges); Custody Images Review 2017",
        "Custody Images Review 2017",
    ),
    Rule(
        "R5",
        "authorisation: officer's rank, purpose, place and reasons, start and end",
        "College of Policing LFR APP; Bridges v CC South Wales [2020] EWCA Civ 1058",
        "College of Policing LFR APP; Bridges",
    ),
    Rule(
        "R6",
        "watchlist frozen per deployment, size by category recorded",
        "College of Policing LFR APP",
        "College of Policing LFR APP",
    ),
    Rule(
        "R7",
        "threshold recorded, never below the calibrated floor",
        "NPL equitability study 2023; College of Policing LFR APP",
        "NPL equitability study 2023",
    ),
    Rule(
        "R8",
        "non-matches deleted at once - provably never written",
        "Bridges v CC South Wales [2020] EWCA Civ 1058, para 93",
        "Bridges, para 93",
    ),
    Rule(
        "R9",
        "watchlist purged within 24 h of the deployment's end",
        "Home Office and force practice",
        "Home Office and force practice",
    ),
    Rule(
        "R10",
        "alert data purged after 31 days unless tied to an outcome",
        "force practice (configurable)",
        "force practice",
    ),
    Rule(
        "R11",
        "a case outcome of NFA/acquittal withdraws that person's images at once and flags them",
        "Custody Images Review 2017",
        "Custody Images Review 2017",
    ),
    Rule(
        "R12",
        "log of collection, alteration, consultation, disclosure, combination, erasure; "
        "tamper-evident; kept at least 6 months",
        "Data Protection Act 2018 s62; EU AI Act Art 12(3), 26(6)",
        "DPA 2018 s62; EU AI Act Art 26(6)",
    ),
    Rule(
        "R13",
        "a human adjudicates every alert; nothing is automated on an alert",
        "EU AI Act recital 35 and Art 14(5); College of Policing LFR APP",
        "EU AI Act Art 14(5)",
    ),
    Rule(
        "R14",
        "per-deployment records and aggregate outcome reports published",
        "Biometrics and Surveillance Camera Commissioner; force annual reports",
        "Biometrics and Surveillance Camera Commissioner",
    ),
    Rule(
        "R15",
        "performance monitored per demographic group",
        "Public Sector Equality Duty as read in Bridges, paras 173-181",
        "Public Sector Equality Duty (Bridges, paras 173-181)",
    ),
    Rule(
        "R16",
        "who was on a past watchlist can be answered after its purge",
        "SWP practice cited in Bridges",
        "SWP practice cited in Bridges",
    ),
    Rule(
        "R17",
        "retrospective search returns only eligible custody images; every search is an audited "
        "consultation with its case and reason; candidates are leads, never an identification",
        "RMC & FJ v MPC [2012] EWHC 1681; DPA 2018 s62; College of Policing APP (RFR)",
        "RMC & FJ v MPC [2012] EWHC 1681; DPA 2018 s62",
    ),
    Rule(
        "R18",
        "the custody estate is reviewed and published; ineligible images withdrawn at once and "
        "deleted after the review period",
        "RMC & FJ v MPC [2012] EWHC 1681; Custody Images Review 2017; BSCC annual report",
        "Custody Images Review 2017",
    ),
    Rule(
        "R19",
        "a deployment is announced publicly a set time before it may start; a notice is "
        "withheld only for a listed reason, recorded and counted",
        "Biometrics and Surveillance Camera Commissioner; College of Policing LFR APP",
        "BSCC; College of Policing LFR APP",
    ),
    Rule(
        "R20",
        "a subject access request is answered from the records, an audited disclosure; a face "
        "that did not match is never stored, so is never disclosed",
        "Data Protection Act 2018 s45",
        "DPA 2018 s45",
    ),
)

RULES: dict[str, Rule] = {rule.id: rule for rule in _TABLE}


def cite(rule_id: str) -> str:
    """``"R3; RMC & FJ v MPC [2012] EWHC 1681"``: the tail every refusal message ends with.

    A ``KeyError`` here is a programming error (a message citing a rule that does not exist), so
    it is not caught.
    """
    return f"{rule_id}; {RULES[rule_id].citation}"
