"""Which carrier the worker uses, decided once when it starts from its settings.

Twilio when the account is configured; offline (`outbound_carrier` local, which `frontdesk dev`
picks without Twilio credentials) the local carrier places calls and messages go to the outbox.
A worker told to dial through Twilio without credentials still starts (it has every other job to
do); each dial is then refused for good with the setting to fix.
"""

from datetime import datetime

from frontdesk.config import Settings
from frontdesk.telephony.carrier import Carrier, CarrierRefused, OutboundDial, TextMessages
from frontdesk.telephony.twilio.outbound import TwilioCarrier


class _Unconfigured:
    """The carrier of a worker told to use Twilio without its credentials."""

    async def place_call(self, dial: OutboundDial) -> str:
        raise CarrierRefused(
            "outbound calls need Twilio: set FRONTDESK_TWILIO_ACCOUNT_SID and FRONTDESK_TWILIO_AUTH_TOKEN",
            final=True,
        )

    async def find_call(self, dial: OutboundDial, since: datetime, excluding: frozenset[str]) -> str | None:
        await self.place_call(dial)
        return None  # not reached: place_call raises


def worker_carriers(settings: Settings) -> tuple[Carrier, TextMessages | None]:
    """The carrier that places calls, and the one that sends SMS (None: the offline outbox)."""
    twilio = TwilioCarrier(settings) if settings.twilio_account_sid and settings.twilio_auth_token else None
    if settings.outbound_carrier == "local":
        from frontdesk.caller.local_carrier import LocalCarrier  # the simulator, only offline

        return LocalCarrier(settings), twilio
    return twilio or _Unconfigured(), twilio
