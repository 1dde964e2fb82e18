"""Running Frontdesk commands as subprocesses in the stack tests, with their output kept for failures."""

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx

from frontdesk.devstack.executables import installed_executable


def frontdesk_env(**settings: str) -> dict[str, str]:
    """Our environment without any FRONTDESK_ variable, plus `settings` as FRONTDESK_<NAME>."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("FRONTDESK_")}
    env.update({f"FRONTDESK_{name.upper()}": value for name, value in settings.items()})
    return env


def start_frontdesk(args: list[str], env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen[bytes]:
    """Start `frontdesk <args>` in its own session, its output going to `log`."""
    with log.open("ab") as output:
        return subprocess.Popen(
            [str(installed_executable("frontdesk", "frontdesk")), *args],
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def output_of(log: Path) -> str:
    """What a process started by `start_frontdesk` has written so far."""
    return log.read_text(errors="replace")


def wait_for_http_200(url: str, process: subprocess.Popen[bytes], log: Path, within: float = 180) -> None:
    """Poll `url` until it answers 200; fail with the process's output if it exits or `within` passes."""
    deadline = time.monotonic() + within
    last = "no answer"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"exited with {process.returncode} before {url} answered:\n{output_of(log)}")
        try:
            response = httpx.get(url, timeout=5)
            if response.status_code == 200:
                return
            last = f"{response.status_code} {response.text}"
        except httpx.HTTPError as exc:
            last = repr(exc)
        time.sleep(0.3)
    raise AssertionError(f"{url} did not answer 200 within {within}s (last: {last}):\n{output_of(log)}")


def wait_for_output(text: str, process: subprocess.Popen[bytes], log: Path, within: float = 60) -> None:
    """Poll `log` until `text` appears; fail with the process's output if it exits or `within` passes."""
    deadline = time.monotonic() + within
    while text not in output_of(log):
        if process.poll() is not None:
            raise AssertionError(f"exited with {process.returncode} before {text!r}:\n{output_of(log)}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{text!r} not printed within {within}s:\n{output_of(log)}")
        time.sleep(0.2)


def stop(process: subprocess.Popen[bytes], sig: signal.Signals, log: Path, within: float = 90) -> int:
    """Send `sig` to `process` and return its exit code; fail with its output if it hangs."""
    process.send_signal(sig)
    try:
        return process.wait(timeout=within)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        raise AssertionError(f"did not exit within {within}s of {sig.name}:\n{output_of(log)}") from None


def kill_session(process: subprocess.Popen[bytes]) -> None:
    """Cleanup after a failed test: kill whatever is left of the process's session."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
