"""Triage and specialists: which part of the front desk is handling the caller right now.

Each caller turn is triaged into a specialist (scheduling, insurance, billing, clinical, or the
general desk). The specialist's brief and what is already known about the call go to the brain
as a short system block after the cached prefix, while the whole conversation stays as it is,
so a hand-off never makes the caller repeat themselves.
"""

from datetime import datetime
from typing import Any

from frontdesk.agent.call_state import CallState, Specialist
from frontdesk.agent.understanding.intents import Intent
from frontdesk.agent.understanding.reading import understand

ROUTES: dict[Intent, Specialist] = {
    Intent.book: Specialist.scheduling,
    Intent.reschedule: Specialist.scheduling,
    Intent.cancel: Specialist.scheduling,
    Intent.confirm_appointment: Specialist.scheduling,
    Intent.insurance: Specialist.insurance,
    Intent.billing: Specialist.billing,
    Intent.clinical: Specialist.clinical,
    Intent.emergency: Specialist.clinical,
}

BRIEFS: dict[Specialist, str] = {
    Specialist.desk: "General front desk: answer questions about hours, location and the clinic, and find "
    "out what the caller needs.",
    Specialist.scheduling: "Scheduling: book, reschedule or cancel. Find the service and a preferred day "
    "and time, search with get_availability, offer at most three slots, read the chosen one back and book "
    "only after a clear yes. Identify existing patients before touching their appointments.",
    Specialist.insurance: "Insurance: find the carrier (and member id if offered), check it with "
    "verify_insurance, and say plainly whether the clinic accepts it. Never guess coverage amounts.",
    Specialist.billing: "Billing: the billing team handles every billing or payment question. Do not answer "
    "it yourself; transfer with transfer_to_human(reason=billing).",
    Specialist.clinical: "Clinical: never give medical advice. If it sounds like an emergency, tell the "
    "caller to hang up and dial 911. Otherwise transfer to the nurse line with "
    "transfer_to_human(reason=clinical).",
}


def triage(utterance: str, current: Specialist, now: datetime) -> Specialist:
    """The specialist for this caller turn: a clear new need moves the caller, else they stay."""
    intent = understand(utterance, now).primary
    return ROUTES.get(intent, current) if intent is not None else current


def known_so_far(state: CallState) -> list[str]:
    """The facts of the call a specialist takes over with."""
    facts = []
    if state.patient is not None:
        facts.append(f"the caller is verified as {state.patient.first_name} {state.patient.last_name}")
    elif state.known_caller is not None:
        facts.append("the calling number belongs to a known patient, not yet verified")
    if state.offered:
        facts.append(f"{len(state.offered)} slot(s) were offered; use only their slot ids")
    if state.outcome is not None:
        facts.append(f"so far this call: {state.outcome.value}")
    return facts


def focus_block(state: CallState) -> dict[str, Any]:
    """The system block naming the current specialist's brief and the call's known facts."""
    facts = known_so_far(state)
    known = ("Known so far: " + "; ".join(facts) + ".") if facts else "Nothing is known about the caller yet."
    return {"type": "text", "text": f"# Current focus\n{BRIEFS[state.specialist]}\n{known}"}
