"""The fallback brain's working memory for one call: the task, what the agent waits for, and the
frame of details the task needs, filled from whatever the caller says whenever they say it."""

from dataclasses import dataclass, field
from enum import StrEnum

from frontdesk.agent.understanding.intents import Intent
from frontdesk.agent.understanding.reading import Understanding
from frontdesk.agent.understanding.when import TimePreference
from frontdesk.log_redaction import remember_names

# How far ahead a search without a date looks, and how far it widens when nothing fits.
DEFAULT_SEARCH_DAYS = 14
WIDEN_DAYS = 7
MAX_MISUNDERSTOOD = 2
MAX_IDENTITY_ASKS = 3
# An urgent visit waits less on details that do not come: a person takes it sooner.
URGENT_IDENTITY_ASKS = 2


class Task(StrEnum):
    """What the caller and the agent are working on."""

    book = "book"
    reschedule = "reschedule"
    cancel = "cancel"
    confirm = "confirm_appointment"
    lookup = "lookup"  # "when is my appointment?"
    insurance = "insurance"
    message = "message"


# The tasks that change an existing appointment (and so need to know which one).
CHANGES = (Task.reschedule, Task.cancel, Task.confirm)


class Awaiting(StrEnum):
    """What the agent last asked the caller for."""

    nothing = "nothing"
    service = "service"
    identity = "identity"
    when = "when"
    choice = "choice"
    confirm = "confirm"
    which_appointment = "which_appointment"
    carrier = "carrier"
    message = "message"
    anything_else = "anything_else"
    patient = "patient"  # outbound: asked for the patient by name
    appointment_answer = "appointment_answer"  # outbound: stated why, asked "will you make it?"
    change_choice = "change_choice"  # outbound: they can't make it; reschedule or cancel?
    rebook = "rebook"  # cancelled: would they like another time?


@dataclass
class Dialogue:
    """The state of one call as the fallback brain sees it."""

    task: Task | None = None
    awaiting: Awaiting = Awaiting.nothing
    service: str | None = None  # slug
    provider_id: str | None = None
    when: TimePreference = field(default_factory=TimePreference)  # when the caller wants to come
    existing_when: TimePreference = field(default_factory=TimePreference)  # the appointment to change
    urgent: bool = False  # a dental urgency: the soonest slot
    same_time: bool = False  # a move asked for at the appointment's own time of day
    just_changed: str | None = None  # booked or moved by the last action: "oh wait, Thursday" moves it
    first_name: str | None = None
    last_name: str | None = None
    date_of_birth: str | None = None  # ISO
    identified: bool = False
    identify_attempts: int = 0
    identity_asks: int = 0
    appointment_id: str | None = None  # handle of the appointment being changed
    upcoming: list[dict[str, str]] = field(default_factory=list)
    offered: list[dict[str, str]] = field(default_factory=list)  # the slots offered last
    chosen: dict[str, str] | None = None
    widened: int = 0
    misunderstood: int = 0
    goodbye_after_action: bool = False  # "yes, that's all, thanks" with a yes or a question: end after it
    pending_tool: str | None = None
    outbound_begun: bool = False
    patient_on_line: bool = False  # outbound: the person said they are the patient
    carrier_to_check: str | None = None  # asked about with a yes: checked once the change is made

    def take_in(self, heard: Understanding) -> None:
        """Every detail the utterance gives goes into the frame, whatever was asked: a time given
        with the name is kept, and a later correction replaces an earlier one. Until a change has
        found its appointment, a time said without a new one ("my Tuesday cleaning") names it."""
        if heard.service:
            self.service = heard.service
        if heard.provider_id:
            self.provider_id = heard.provider_id
        self.same_time = self.same_time or heard.same_time
        if not heard.existing_when.is_empty and self.appointment_id is None:
            self.existing_when = heard.existing_when
        if not heard.when.is_empty:
            # Mid-booking, "the earliest you've got, we'll be there" is a wish for the booking.
            changing = self.task in CHANGES or (
                self.task is None
                and heard.primary
                in (
                    Intent.reschedule,
                    Intent.cancel,
                    Intent.confirm_appointment,
                )
            )
            if changing and self.appointment_id is None and not heard.new_time:
                self.existing_when = heard.when
            else:
                self.when = self.when.merge(heard.when)
        someone_else = (
            self.identified
            and self.task == Task.book
            and heard.name is not None
            and heard.date_of_birth is not None
            and heard.name != (self.first_name, self.last_name)
        )
        if someone_else:
            # "Chloe Smith, born May 22nd 2012, she needs a cleaning too": after the caller was
            # identified, a booking is for the person whose name and birth date come next.
            self.identified, self.identify_attempts, self.identity_asks = False, 0, 0
        if heard.name and not self.identified:
            self.first_name, self.last_name = heard.name
            remember_names(*heard.name)  # the call knows it now: never in its logs
        if heard.date_of_birth and not self.identified:
            self.date_of_birth = heard.date_of_birth.isoformat()
