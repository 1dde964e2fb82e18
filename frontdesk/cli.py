"""The `frontdesk` command: the front door to every process and tool.

Each command imports its implementation lazily so that `frontdesk --help` stays fast and a
process only loads what it runs.
"""

import asyncio
import os
from datetime import date
from pathlib import Path

import typer

from frontdesk.campaign_command import campaign_app
from frontdesk.config import get_settings
from frontdesk.keys_command import keys_app
from frontdesk.logs import configure_logging
from frontdesk.users_command import users_app

app = typer.Typer(help="Frontdesk: the AI phone receptionist.", no_args_is_help=True)
app.add_typer(campaign_app, name="campaign")
app.add_typer(keys_app, name="keys")
app.add_typer(users_app, name="users")


@app.callback()
def _main() -> None:
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json, settings.secret_key.get_secret_value())


@app.command()
def dev(
    media_processes: int | None = typer.Option(
        None,
        min=0,
        help="media processes apart from the API on the realtime port, as `frontdesk realtime` runs "
        "them (0: the media socket on the API's port; default: FRONTDESK_DEV_MEDIA_PROCESSES, else 0)",
    ),
) -> None:
    """Run the whole stack embedded: Temporal dev server, worker, API and media server."""
    from frontdesk.devstack.supervisor import run_dev

    settings = get_settings()
    if media_processes is not None:
        settings = settings.model_copy(update={"dev_media_processes": media_processes})
    raise typer.Exit(run_dev(settings))


@app.command()
def worker() -> None:
    """Run a Temporal worker (run more copies to scale out)."""
    from frontdesk.tracing import configure_tracing
    from frontdesk.worker import exit_skipping_finalization, run_worker

    settings = get_settings()
    configure_tracing(settings, "worker")
    asyncio.run(run_worker(settings))
    exit_skipping_finalization(0)


@app.command("payload-key")
def payload_key(
    key_id: str = typer.Option(..., "--id", help="the key's id, kept in each payload it encrypts"),
) -> None:
    """Print a new random key for FRONTDESK_PAYLOAD_KEYS (id:base64): it encrypts Temporal payloads."""
    from frontdesk.payload_codec import PayloadKeyError, new_key_line

    try:
        typer.echo(new_key_line(key_id))
    except PayloadKeyError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


@app.command()
def api() -> None:
    """Run the API server (Twilio webhooks, the admin API under /v1, the dashboard under /app/, /metrics)."""
    from frontdesk.devstack.servers import serve_api

    serve_api(get_settings())


@app.command()
def realtime(
    processes: int = typer.Option(
        0, min=0, help="media processes sharing the port, each carrying its calls whole (0: one per core)"
    ),
) -> None:
    """Run the realtime media server (Twilio Media Streams); on SIGTERM it drains its live calls."""
    count = processes or os.cpu_count() or 1
    if count == 1:
        from frontdesk.devstack.servers import serve_realtime

        serve_realtime(get_settings())
    else:
        from frontdesk.devstack.media_processes import serve_media_processes

        serve_media_processes(count)


@app.command()
def migrate() -> None:
    """Upgrade the database schema to the newest migration."""
    from frontdesk.domain.database import upgrade_database

    upgrade_database(get_settings().database_url)
    typer.echo("database is at the newest migration")


@app.command()
def seed(
    today: str | None = typer.Option(None, help="ISO date the demo schedule is relative to"),
) -> None:
    """Create the demo clinic (slug `demo`, Maple Dental) if it is not there yet."""
    from frontdesk.domain.database import make_engine, upgrade_database
    from frontdesk.domain.seed import seed_demo

    settings = get_settings()
    upgrade_database(settings.database_url)
    clinic = seed_demo(make_engine(settings.database_url), date.fromisoformat(today) if today else None)
    typer.echo(f"demo clinic ready: {clinic.slug} ({clinic.name})")


@app.command()
def chat(
    clinic: str = typer.Option("demo", help="the clinic's slug"),
    caller: str = typer.Option("+15550199001", help="the caller id the clinic sees (E.164)"),
) -> None:
    """Talk to a clinic's receptionist by typing: the conversation engine without audio."""
    from frontdesk.agent.chat_console import run_chat

    raise typer.Exit(asyncio.run(run_chat(get_settings(), clinic, caller)))


@app.command(name="eval")
def eval_(
    paths: list[Path] = typer.Argument(..., help="scenario files or folders of *.yaml"),
    text: bool = typer.Option(
        False,
        "--text",
        help="at text level (no audio); with --url or --embedded through the stack's workflows",
    ),
    url: str | None = typer.Option(
        None, help="call the running stack at this URL (default: the local frontdesk dev)"
    ),
    embedded: bool = typer.Option(False, "--embedded", help="start a stack of its own for the run"),
    json_file: Path | None = typer.Option(None, "--json", help="write every detail of the run here"),
    min_pass: float | None = typer.Option(None, help="pass when this share of scenarios passes, e.g. 0.9"),
) -> None:
    """Run the test-call suite: call scenarios with expected outcomes, checked in the database.

    Without --text each scenario is a phone call through the Media Streams path, its caller's
    lines spoken by the offline voice."""
    from frontdesk.eval.command import Target, run_eval_command
    from frontdesk.worker import exit_skipping_finalization

    target = Target(url=url, embedded=embedded)
    code = run_eval_command(paths, text=text, target=target, json_file=json_file, min_pass=min_pass)
    # The Temporal SDK's Rust threads can crash a finalizing interpreter (SIGABRT) after a client
    # tried to connect, as they can the worker's: the suite saw it after an unreachable Temporal.
    exit_skipping_finalization(code)


@app.command()
def bench(
    profile: str = typer.Option("seed", help="vendor latency profile: seed, fast or zero"),
    calls: int = typer.Option(100, min=1, help="how many calls to place"),
    concurrency: int = typer.Option(50, min=1, help="the most calls on the line at once"),
    find_capacity: bool = typer.Option(
        False, "--find-capacity", help="raise concurrency step by step until the platform stops keeping up"
    ),
    capacity_step: int = typer.Option(10, min=1, help="--find-capacity: concurrency added per step"),
    capacity_max: int = typer.Option(100, min=1, help="--find-capacity: the highest concurrency tried"),
    overhead_limit_ms: float = typer.Option(
        20.0, min=0, help="--find-capacity: the platform overhead p95 a step may reach, ms"
    ),
    arrival_ms: float = typer.Option(200.0, min=0, help="the least time between two calls' starts, ms"),
    seed: int = typer.Option(7, help="seed of the injected delays"),
    workdir: Path | None = typer.Option(None, help="keep the benchmark stack's data here"),
    end_of_turn: bool = typer.Option(
        False, "--end-of-turn", help="instead: measure the end-of-turn rules on the labelled set (no stack)"
    ),
) -> None:
    """Benchmark whole calls through the media path against vendor fakes; prints one JSON object."""
    if end_of_turn:
        from frontdesk.bench.command import run_end_of_turn_command

        raise typer.Exit(run_end_of_turn_command())
    from frontdesk.bench.command import run_bench_command
    from frontdesk.bench.profiles import profile_named
    from frontdesk.bench.run import BenchOptions

    try:
        latency = profile_named(profile)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--profile") from None
    options = BenchOptions(
        latency, calls, concurrency, seed, workdir, capacity_step, capacity_max, arrival_ms, overhead_limit_ms
    )
    raise typer.Exit(run_bench_command(options, find_capacity))


@app.command()
def call(
    clinic: str = typer.Option("demo", help="the clinic to call (its first number), unless --to is given"),
    to: str | None = typer.Option(None, help="the number to dial (E.164)"),
    caller: str = typer.Option("+15550199001", "--from", help="the caller id (E.164)"),
    say: list[str] = typer.Option([], help="a line to say (repeatable), before any --script"),
    script: Path | None = typer.Option(None, help="a script file: one line per turn (dtmf:, silence:, ...)"),
    noise_db: float | None = typer.Option(None, help="white noise mixed into the caller's audio, dBFS"),
    audio_out: Path | None = typer.Option(None, help="write both sides to this wav (caller left)"),
    json_output: bool = typer.Option(False, "--json", help="print a JSON result instead of a table"),
    url: str | None = typer.Option(None, help="the stack's address (default: public_base_url)"),
) -> None:
    """Phone a running stack as Twilio would and speak lines with the offline voice."""
    from frontdesk.caller.command import CallCommandError, run_call_command
    from frontdesk.caller.script import ScriptError
    from frontdesk.caller.webhook import WebhookError

    try:
        status = run_call_command(
            get_settings(),
            clinic=clinic,
            to=to,
            caller=caller,
            say=say,
            script=script,
            noise_db=noise_db,
            audio_out=audio_out,
            as_json=json_output,
            url=url,
        )
    except (CallCommandError, ScriptError, WebhookError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    raise typer.Exit(status)
