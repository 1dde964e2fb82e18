"""`frontdesk chat`: a typed conversation with a clinic's receptionist in the terminal."""

from rich.console import Console

from frontdesk.agent.brains.claude import make_claude_brain
from frontdesk.agent.text_call import TextCall
from frontdesk.config import Settings
from frontdesk.domain.database import make_engine, session_scope, upgrade_database
from frontdesk.domain.models import check_e164
from frontdesk.domain.repository import clinic_by_slug
from frontdesk.domain.seed import DEMO_SLUG, seed_demo
from frontdesk.logs import configure_logging


async def run_chat(settings: Settings, slug: str, caller: str) -> int:
    """Hold a typed call until the agent ends it or the input ends; return an exit code."""
    configure_logging("WARNING", settings.log_json)  # the conversation is the output here
    console = Console()
    try:
        check_e164(caller, "--caller")
    except ValueError as error:
        console.print(f"[red]{error}[/red]")
        return 2
    upgrade_database(settings.database_url)
    engine = make_engine(settings.database_url)
    with session_scope(engine) as session:
        clinic = clinic_by_slug(session, slug)
    if clinic is None and slug == DEMO_SLUG:
        clinic = seed_demo(engine)
    if clinic is None:
        console.print(f"[red]no clinic with slug {slug!r}[/red]")
        return 2
    claude = make_claude_brain(settings)
    call = TextCall(engine, clinic.id, caller, brains=[claude] if claude else [])
    brain = "Claude, falling back to the deterministic brain" if claude else "the deterministic brain"
    console.print(f"[dim]{clinic.name}, answered by {brain}. Ctrl-D hangs up.[/dim]")
    console.print(f"[bold cyan]agent:[/bold cyan] {await call.start()}")
    while not call.ended:
        try:
            line = console.input("[bold green]you:[/bold green] ").strip()
        except EOFError:
            break
        if line:
            console.print(f"[bold cyan]agent:[/bold cyan] {await call.say(line)}")
    outcome = call.state.outcome.value if call.state.outcome else "hung up"
    console.print(f"[dim]call ended: {outcome}[/dim]")
    return 0
