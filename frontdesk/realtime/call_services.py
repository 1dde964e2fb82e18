"""What every call in a realtime process shares: the database, speech providers, brains, and
pre-rendered audio for fixed phrases (greetings, prompts, ready phrases), created once per process."""

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import select

from frontdesk.agent.acknowledgements import READY_PHRASES
from frontdesk.agent.brains.base import Brain
from frontdesk.agent.brains.claude import make_claude_brain
from frontdesk.agent.brains.fallback import FallbackBrain
from frontdesk.agent.clinic_profile import ClinicProfile
from frontdesk.agent.database_actions import load_clinic_profile
from frontdesk.config import Settings, get_settings
from frontdesk.domain.database import database_is_empty, make_engine, session_scope
from frontdesk.domain.insurance import EligibilityChecker, OfflineEligibility
from frontdesk.domain.models import Clinic
from frontdesk.domain.repository import clinic_by_phone_number
from frontdesk.logs import get_logger
from frontdesk.realtime.audio.turn_model import TurnModel, load_turn_model
from frontdesk.realtime.speech.base import SpeechToText, TextToSpeech
from frontdesk.realtime.speech.factory import make_speech_to_text, make_text_to_speech
from frontdesk.realtime.turn.clauses import clauses_of
from frontdesk.realtime.turn.listening import END_OF_TURN_SILENCE_MS
from frontdesk.temporal_client import TemporalClientCache

log = get_logger(__name__)


def _clinic_ids(engine: Engine) -> list[uuid.UUID]:
    # A media server may start before the first migration (the API or worker runs it): no
    # clinics to prepare yet, each call then prepares its own.
    if database_is_empty(engine):
        return []
    with session_scope(engine) as session:
        return list(session.exec(select(Clinic.id)))


def _silence(profile: ClinicProfile) -> int:
    return END_OF_TURN_SILENCE_MS[profile.end_of_turn_profile]


@dataclass(frozen=True)
class Vendors:
    """How a process gets its speech providers and its LLM brain: the vendors chained to their
    offline twins as the settings say, or (in tests of the turn loop) scripted stand-ins."""

    speech_to_text: Callable[[int], SpeechToText]  # by end-of-speech silence (ms)
    text_to_speech: Callable[[str | None], TextToSpeech]  # by the clinic's voice
    llm: Brain | None  # None: the deterministic brain alone
    eligibility: EligibilityChecker = field(default_factory=OfflineEligibility)  # insurance checks

    @classmethod
    def from_settings(cls, settings: Settings) -> "Vendors":
        """The vendors the settings key in, each chained to its offline twin."""
        return cls(
            speech_to_text=lambda silence: make_speech_to_text(settings, silence),
            text_to_speech=lambda voice: make_text_to_speech(settings, voice),
            llm=make_claude_brain(settings),
        )


class UnknownNumber(LookupError):
    """No clinic owns the dialled number."""


class CallServices:
    """Process-wide resources for calls."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        temporal: TemporalClientCache,
        vendors: Vendors | None = None,
    ) -> None:
        """`vendors` makes the speech providers and the LLM brain (by default, from the settings)."""
        self.settings = settings
        self.engine = engine
        self.temporal = temporal
        self._vendors = vendors or Vendors.from_settings(settings)
        self._stt: dict[int, SpeechToText] = {}  # by end-of-turn silence (ms)
        self._tts: dict[str, TextToSpeech] = {}  # by voice
        self._phrases: dict[tuple[str, str], list[bytes]] = {}  # by (voice, text)
        self.turn_model: TurnModel | None = None  # loaded by create() when the settings ask for it

    @classmethod
    async def create(
        cls, settings: Settings, temporal: TemporalClientCache | None = None, vendors: Vendors | None = None
    ) -> "CallServices":
        """Build and warm the services: models loaded, connections opened and every clinic's
        greeting rendered, before the first call. `temporal` is the process's client, if it has one."""
        temporal = temporal or TemporalClientCache.of(settings)
        services = cls(settings, make_engine(settings.database_url), temporal, vendors)
        if settings.end_of_turn_model:
            services.turn_model = await asyncio.to_thread(load_turn_model)
        for clinic_id in await asyncio.to_thread(_clinic_ids, services.engine):
            await services.prepare(await services.profile(clinic_id))
        return services

    @classmethod
    async def for_app(cls, app_state: Any) -> "CallServices":
        """The app's shared services, created once (at start-up, or by the first call)."""
        lock = getattr(app_state, "call_services_lock", None)
        if lock is None:  # no await since the lookup: no other task can have set it meanwhile
            lock = app_state.call_services_lock = asyncio.Lock()
        async with lock:
            if getattr(app_state, "call_services", None) is None:
                backends = getattr(app_state, "backends", None)
                app_state.call_services = await cls.create(
                    getattr(app_state, "settings", None) or get_settings(),
                    backends.temporal if backends is not None else None,
                )
        services: CallServices = app_state.call_services
        return services

    @property
    def eligibility(self) -> EligibilityChecker:
        """The insurance eligibility checker every call of this process asks."""
        return self._vendors.eligibility

    async def prepare(self, profile: ClinicProfile) -> None:
        """Warm a clinic's speech providers and render its greeting and ready phrases."""
        fresh_stt = _silence(profile) not in self._stt
        fresh_tts = profile.voice_key not in self._tts
        stt, tts = self.stt_for(profile), self.tts_for(profile)
        await asyncio.gather(*([stt.warm()] if fresh_stt else []), *([tts.warm()] if fresh_tts else []))
        for clause in clauses_of(profile.greeting_text()):  # as the call session will ask for them
            await self.phrase_audio(profile, clause)
        await asyncio.gather(*(self.phrase_audio(profile, phrase) for phrase in sorted(READY_PHRASES)))

    def stt_for(self, profile: ClinicProfile) -> SpeechToText:
        """Speech-to-text ending turns after the clinic's silence (vendor chained to the twin)."""
        silence = _silence(profile)
        if silence not in self._stt:
            self._stt[silence] = self._vendors.speech_to_text(silence)
        return self._stt[silence]

    def tts_for(self, profile: ClinicProfile) -> TextToSpeech:
        """Text-to-speech in the clinic's voice (vendor chained to the twin)."""
        if profile.voice_key not in self._tts:
            self._tts[profile.voice_key] = self._vendors.text_to_speech(profile.voice)
        return self._tts[profile.voice_key]

    def brains(self, now: Callable[[], datetime]) -> list[Brain]:
        """A call's brain chain, reading the call's clock: Claude when configured, then the
        deterministic brain."""
        fallback = FallbackBrain(now)
        llm = self._vendors.llm
        return [llm, fallback] if llm else [fallback]

    async def profile(self, clinic_id: uuid.UUID) -> ClinicProfile:
        """The clinic as this call sees it (read per call, so admin changes apply to the next one)."""
        return await asyncio.to_thread(load_clinic_profile, self.engine, clinic_id)

    async def clinic_for_number(self, e164: str) -> uuid.UUID:
        """The clinic that owns a dialled number."""

        def find() -> uuid.UUID:
            with session_scope(self.engine) as session:
                clinic = clinic_by_phone_number(session, e164)
                if clinic is None:
                    raise UnknownNumber("no clinic owns the dialled number")
                return clinic.id

        return await asyncio.to_thread(find)

    async def phrase_audio(self, profile: ClinicProfile, text: str) -> list[bytes]:
        """Audio of a fixed phrase in the clinic's voice, synthesized once per process."""
        key = (profile.voice_key, text)
        if key not in self._phrases:
            self._phrases[key] = [chunk async for chunk in self.tts_for(profile).synthesize(text)]
        return self._phrases[key]
