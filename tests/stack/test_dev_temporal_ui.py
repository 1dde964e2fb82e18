"""`frontdesk dev`'s Temporal UI, in Chromium: a workflow's input reads as ciphertext to anyone,
and decoded (through the codec server) once an operator has signed in to the dashboard."""

import base64
import subprocess
from uuid import uuid4

import pytest
from temporalio.client import Client

from frontdesk.devstack.demo_clinic import DEMO_ADMIN_EMAIL, DEMO_OPERATOR_EMAIL
from frontdesk.payload_codec import PAYLOAD_KEYS_FILE, PayloadKeys, data_converter
from tests.dashboard.browser import Browser, chromium
from tests.stack.dev_stack import DevStack, banner_password, run_until_ready
from tests.temporal_fixtures import payloads_of

pytestmark = pytest.mark.slow

# What the workflow is started with: in the UI only once decoded.
SECRET_INPUT = "Quintessa Marlowe, born 1961-04-09"


async def _start_idle_workflow(stack: DevStack) -> tuple[str, str]:
    """A workflow no worker polls, started with SECRET_INPUT under the stack's payload key; its id
    and the start of its input's ciphertext as the UI shows it (base64)."""
    keys = PayloadKeys.parse((stack.var_dir / PAYLOAD_KEYS_FILE).read_text())
    client = await Client.connect(stack.temporal_address, data_converter=data_converter(keys))
    workflow_id = f"ui-codec-{uuid4().hex[:8]}"
    await client.start_workflow("Marker", SECRET_INPUT, id=workflow_id, task_queue="ui-codec-idle")
    raw = await Client.connect(stack.temporal_address)
    history = await raw.get_workflow_handle(workflow_id).fetch_history()
    [payload] = payloads_of(history.events[0])
    return workflow_id, base64.b64encode(payload.data).decode()[:24]


async def _sign_in(browser: Browser, email: str, password: str) -> None:
    await browser.open("/app/sign-in")
    await browser.fill("email", email)
    await browser.fill("password", password)
    await browser.submit("button[type=submit]")


async def test_the_temporal_ui_decodes_payloads_for_a_signed_in_operator_only(
    stack: DevStack, started: list[subprocess.Popen[bytes]]
) -> None:
    log = stack.home / "dev.log"
    run_until_ready(stack, started, log)
    workflow_id, ciphertext = await _start_idle_workflow(stack)
    page = f"/temporal/namespaces/default/workflows/{workflow_id}"

    with chromium(stack.api_url) as browser:
        await browser.open(page)  # nobody signed in: the codec server refuses, the UI shows ciphertext
        await browser.wait_for_text("body", ciphertext)
        assert "Quintessa" not in await browser.text()

        await _sign_in(browser, DEMO_ADMIN_EMAIL, banner_password(log, DEMO_ADMIN_EMAIL))
        await browser.open(page)  # a clinic's admin is no operator: still ciphertext
        await browser.wait_for_text("body", ciphertext)
        assert "Quintessa" not in await browser.text()

        await browser.open("/app/")
        await browser.submit("form.sign-out button")
        await _sign_in(browser, DEMO_OPERATOR_EMAIL, banner_password(log, DEMO_OPERATOR_EMAIL))
        await browser.open(page)
        await browser.wait_for_text("body", SECRET_INPUT)
        assert ciphertext not in await browser.text()
