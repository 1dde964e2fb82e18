"""`frontdesk chat`: a typed booking on the demo clinic, through the real console script."""

import os
import subprocess
import sys
from pathlib import Path

from sqlmodel import Session, select

from frontdesk.domain.database import make_engine
from frontdesk.domain.models import Appointment, Patient

FRONTDESK = Path(sys.executable).parent / "frontdesk"


def test_chat_books_an_appointment_by_typing(tmp_path: Path) -> None:
    lines = [
        "I'd like to book a cleaning",
        "Ana Lopez, March 3rd 1988",
        "the earliest you have",
        "the first one",
        "no thanks",
    ]
    env = {
        **os.environ,
        "FRONTDESK_VAR_DIR": str(tmp_path),
        "FRONTDESK_DATABASE_URL": f"sqlite:///{tmp_path}/c.db",
    }
    env.pop("FRONTDESK_ANTHROPIC_API_KEY", None)
    done = subprocess.run(
        [FRONTDESK, "chat", "--clinic", "demo", "--caller", "+15550199001"],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    # "The first one" picks a slot the offer named: booked without a second read-back.
    assert "You're all set" in done.stdout and "call ended: booked" in done.stdout
    with Session(make_engine(f"sqlite:///{tmp_path}/c.db")) as session:
        booked = session.exec(select(Appointment).join(Patient).where(Patient.first_name == "Ana")).all()
    assert len(booked) == 1


def test_chat_refuses_an_unknown_clinic(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "FRONTDESK_VAR_DIR": str(tmp_path),
        "FRONTDESK_DATABASE_URL": f"sqlite:///{tmp_path}/c.db",
    }
    done = subprocess.run(
        [FRONTDESK, "chat", "--clinic", "nowhere"],
        input="",
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2 and "no clinic with slug 'nowhere'" in done.stdout
