"""Dashboard users: made with a hashed password, signed in with a lock-out, kept by a session;
and `frontdesk users create`."""

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select
from typer.testing import CliRunner

from frontdesk.cli import app
from frontdesk.config import get_settings
from frontdesk.domain.errors import NotFound
from frontdesk.domain.models import Clinic, User, UserRole, UserSession, utcnow
from frontdesk.domain.seed import DEMO_SLUG
from frontdesk.domain.users import (
    LOCK_OUT,
    MAX_FAILED_SIGN_INS,
    SignInRefused,
    create_user,
    session_user,
    sign_in,
    sign_out,
)

PASSWORD = "correct horse battery"


def make_admin(engine: Engine, email: str = "Admin@Maple.example") -> User:
    return create_user(engine, email=email, password=PASSWORD, role=UserRole.admin, clinic_slug=DEMO_SLUG)


def test_a_user_is_kept_with_a_hash_and_signs_in(engine: Engine, demo_clinic: Clinic) -> None:
    user = make_admin(engine)
    assert user.email == "admin@maple.example" and user.clinic_id == demo_clinic.id
    assert PASSWORD not in user.password_hash and user.password_hash.startswith("$argon2id$")

    signed_in = sign_in(engine, " ADMIN@maple.example ", PASSWORD)
    with Session(engine) as session:
        found = session_user(session, signed_in.token)
        stored = session.exec(select(UserSession)).one()
    assert found is not None and (found.user_id, found.role, found.clinic_id) == (
        user.id,
        UserRole.admin,
        demo_clinic.id,
    )
    assert signed_in.token not in stored.token_hash and len(found.csrf_token) >= 32

    sign_out(engine, signed_in.token)
    with Session(engine) as session:
        assert session_user(session, signed_in.token) is None


@pytest.mark.parametrize(
    ("email", "password", "role", "slug", "message"),
    [
        ("not-an-email", PASSWORD, UserRole.admin, DEMO_SLUG, "not an email address"),
        ("a@b.example", "short", UserRole.admin, DEMO_SLUG, "at least 12 characters"),
        ("a@b.example", PASSWORD, UserRole.operator, DEMO_SLUG, "an operator belongs to no clinic"),
        ("a@b.example", PASSWORD, UserRole.staff, None, "needs the clinic's slug"),
    ],
)
def test_bad_users_are_refused_with_the_reason(
    engine: Engine,
    demo_clinic: Clinic,
    email: str,
    password: str,
    role: UserRole,
    slug: str | None,
    message: str,
) -> None:
    with pytest.raises(ValueError, match=message):
        create_user(engine, email=email, password=password, role=role, clinic_slug=slug)
    with Session(engine) as session:
        assert session.exec(select(User)).all() == []


def test_a_duplicate_email_or_an_unknown_clinic_is_refused(engine: Engine, demo_clinic: Clinic) -> None:
    make_admin(engine)
    with pytest.raises(ValueError, match="already exists"):
        make_admin(engine, "admin@maple.EXAMPLE")
    with pytest.raises(NotFound):
        create_user(engine, email="x@y.example", password=PASSWORD, role=UserRole.admin, clinic_slug="nope")


def test_repeated_failures_lock_the_account_until_the_lock_out_ends(
    engine: Engine, demo_clinic: Clinic
) -> None:
    user = make_admin(engine)
    for _ in range(MAX_FAILED_SIGN_INS - 1):
        with pytest.raises(SignInRefused, match="not right"):
            sign_in(engine, user.email, "wrong password!")
    with pytest.raises(SignInRefused, match="locked for 15 more minute"):
        sign_in(engine, user.email, "wrong password!")
    with pytest.raises(SignInRefused, match="locked"):
        sign_in(engine, user.email, PASSWORD)  # the right password changes nothing during the lock-out
    with pytest.raises(SignInRefused, match="not right"):
        sign_in(
            engine, "nobody@maple.example", PASSWORD
        )  # an unknown email reads the same as a wrong password

    with Session(engine) as session:  # the lock-out has passed
        row = session.get(User, user.id)
        assert row is not None and row.locked_until is not None
        row.locked_until = utcnow() - timedelta(seconds=1)
        session.add(row)
        session.commit()
    assert sign_in(engine, user.email, PASSWORD).user_id == user.id
    with Session(engine) as session:
        row = session.get(User, user.id)
        assert row is not None and (row.failed_sign_ins, row.locked_until) == (0, None)
    assert LOCK_OUT == timedelta(minutes=15)


def test_expired_sessions_and_disabled_users_sign_nobody_in(engine: Engine, demo_clinic: Clinic) -> None:
    user = make_admin(engine)
    first, second = sign_in(engine, user.email, PASSWORD), sign_in(engine, user.email, PASSWORD)
    with Session(engine) as session:
        for row in session.exec(select(UserSession)):
            if row.expires_at == first.expires_at:
                row.expires_at = utcnow() - timedelta(seconds=1)
                session.add(row)
        session.commit()
        assert session_user(session, first.token) is None
        assert session_user(session, second.token) is not None
        disabled = session.get(User, user.id)
        assert disabled is not None
        disabled.disabled_at = utcnow()
        session.add(disabled)
        session.commit()
        assert session_user(session, second.token) is None
    with pytest.raises(SignInRefused):
        sign_in(engine, user.email, PASSWORD)
    sign_out(engine, "no such token")  # harmless


@pytest.fixture
def cli_database(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("FRONTDESK_DATABASE_URL", database_url)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.usefixtures("cli_database")
def test_users_create_makes_a_user_who_can_sign_in(engine: Engine, demo_clinic: Clinic) -> None:
    runner = CliRunner()
    made = runner.invoke(
        app,
        ["users", "create", "--clinic", DEMO_SLUG, "--email", "front@maple.example", "--role", "staff"],
        input=f"{PASSWORD}\n{PASSWORD}\n",  # the prompt, and its confirmation
    )
    assert made.exit_code == 0, made.output
    assert "front@maple.example, staff of clinic demo" in made.stdout and PASSWORD not in made.stdout
    assert sign_in(engine, "front@maple.example", PASSWORD)

    operator = runner.invoke(
        app,
        ["users", "create", "--email", "ops@frontdesk.example", "--role", "operator"],
        env={"FRONTDESK_NEW_USER_PASSWORD": PASSWORD},
    )
    assert operator.exit_code == 0, operator.output
    for arguments, message in [
        (["--clinic", "nope", "--email", "x@y.example"], "no clinic with slug 'nope'"),
        (["--clinic", DEMO_SLUG, "--email", "x@y.example", "--role", "owner"], "--role must be one of"),
        (["--email", "x@y.example"], "needs the clinic's slug"),
    ]:
        refused = runner.invoke(
            app, ["users", "create", *arguments], env={"FRONTDESK_NEW_USER_PASSWORD": PASSWORD}
        )
        assert refused.exit_code == 2 and message in refused.output, refused.output
    short = runner.invoke(
        app,
        ["users", "create", "--clinic", DEMO_SLUG, "--email", "x@y.example"],
        env={"FRONTDESK_NEW_USER_PASSWORD": "short"},
    )
    assert short.exit_code == 2 and "at least 12 characters" in short.output
