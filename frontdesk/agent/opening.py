"""How a call opens: who the records say is on the line, and the agent's first words.

Inbound, caller id suggests a patient (context only) and the agent says the clinic's greeting.
Outbound, the call was placed to a patient: the appointment's patient when the call is about
one, else the patient on file for the number. The agent says who is calling from which clinic
and asks for that patient by first name; why it calls is said only once the person on the line
says they are that patient (`purpose_statement`), so nobody else hears a patient's business.
"""

from frontdesk.agent.actions import Actions
from frontdesk.agent.call_state import CallState
from frontdesk.agent.clinic_profile import ClinicProfile
from frontdesk.agent.tool_runner import appointment_summary
from frontdesk.logs import get_logger

log = get_logger(__name__)


async def open_call(profile: ClinicProfile, actions: Actions, state: CallState) -> str:
    """Look up who the call is with (filling `state`) and return the agent's first words."""
    if state.direction == "inbound":
        state.known_caller = await actions.patient_by_phone(state.caller_number)
        return profile.greeting_text()
    await _find_called_patient(actions, state)
    return outbound_greeting(profile, state)


async def _find_called_patient(actions: Actions, state: CallState) -> None:
    """The patient an outbound call was placed to, and the appointment it is about (remembered
    under a handle, so the call may confirm, move or cancel it)."""
    patient = None
    if state.appointment_id is not None:
        patient = await actions.patient_of_appointment(state.appointment_id)
    if patient is None:
        state.known_caller = await actions.patient_by_phone(state.caller_number)
    else:
        state.known_caller = patient
        for appointment in await actions.upcoming_appointments(patient.id):
            if appointment.id == state.appointment_id:
                state.remember_appointment(appointment)
    if state.appointment_id is not None and state.call_appointment() is None:
        # Cancelled or past since the campaign queued the call: there is nothing to confirm.
        log.warning("outbound appointment not upcoming", appointment_id=str(state.appointment_id))
        state.appointment_id = None


def outbound_greeting(profile: ClinicProfile, state: CallState) -> str:
    """Who is calling, from which clinic, and a request for the patient by first name only."""
    intro = f"Hi, this is {profile.agent_name} calling from {profile.name}."
    if state.known_caller is None:
        return f"{intro} Am I speaking with the patient we have on file for this number?"
    return f"{intro} May I speak with {state.known_caller.first_name}, please?"


def purpose_statement(profile: ClinicProfile, state: CallState) -> str:
    """Why the clinic calls, for the patient's ears only: the campaign's words, else the appointment."""
    if state.purpose:
        return f"I'm calling about {state.purpose}."
    handle = state.call_appointment()
    if handle is not None:
        appointment = appointment_summary(handle, state.appointments[handle], profile)
        return f"I'm calling about your {appointment['service'].lower()} on {appointment['when']}."
    return f"I'm calling from {profile.name} to check in with you."
