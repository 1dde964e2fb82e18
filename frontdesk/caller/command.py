"""`frontdesk call`: turn the command's options into a call, run it, show the result."""

import asyncio
from pathlib import Path

from rich.console import Console
from sqlmodel import Session

from frontdesk.caller.conversation import CallOptions, run_call
from frontdesk.caller.report import print_result, result_json, write_wav
from frontdesk.caller.script import Step, parse_script, parse_step
from frontdesk.config import Settings
from frontdesk.domain.database import make_engine
from frontdesk.domain.repository import ClinicRepository, clinic_by_slug
from frontdesk.realtime.speech.piper_tts import PiperTextToSpeech


class CallCommandError(Exception):
    """The options do not describe a call that can be placed; the message says why."""


def clinic_number(settings: Settings, slug: str) -> str:
    """The first phone number of the clinic with this slug, from the stack's database."""
    with Session(make_engine(settings.database_url)) as session:
        clinic = clinic_by_slug(session, slug)
        numbers = ClinicRepository(session, clinic.id).phone_numbers() if clinic else []
    if not numbers:
        raise CallCommandError(f"no clinic {slug!r} with a phone number in {settings.database_url}")
    return numbers[0].e164


def script_steps(say: list[str], script: Path | None) -> list[Step]:
    """The steps of the --say lines, then of the --script file."""
    steps = [step for index, line in enumerate(say, 1) if (step := parse_step(line, f"--say {index}"))]
    if script is not None:
        try:
            steps += parse_script(script.read_text(encoding="utf-8"))
        except OSError as exc:
            raise CallCommandError(f"cannot read the script {script}: {exc.strerror}") from None
    return steps


def run_call_command(
    settings: Settings,
    *,
    clinic: str,
    to: str | None,
    caller: str,
    say: list[str],
    script: Path | None,
    noise_db: float | None,
    audio_out: Path | None,
    as_json: bool,
    url: str | None,
) -> int:
    """Place the call and show it; returns the exit status (0 once the call ran)."""
    console = Console(stderr=as_json)
    options = CallOptions(
        base_url=url or settings.public_base_url,
        to=to or clinic_number(settings, clinic),
        caller=caller,
        steps=script_steps(say, script),
        noise_db=noise_db,
    )
    result, recording = asyncio.run(run_call(settings, options, PiperTextToSpeech(varied=False)))
    if audio_out is not None:
        write_wav(recording, audio_out)
    if as_json:
        print(result_json(result))
    else:
        print_result(result, console)
    return 0
