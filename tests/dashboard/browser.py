"""Debian's headless Chromium, driven by its chromedriver through Selenium, from async tests.

Selenium blocks, and the app under test is served in the test's own event loop, so every step
runs in a thread (`await browser.open(...)`). Without Chromium installed the test is skipped,
except in CI (CI=true), where that fails: .ci/run installs it.
"""

import asyncio
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final, TypeVar

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select, WebDriverWait

CHROMIUM: Final = "/usr/bin/chromium"
CHROMEDRIVER: Final = "/usr/bin/chromedriver"
# Generous: a busy two-core machine renders slowly, and a wait ends as soon as its condition holds.
WAIT_S: Final = 60.0

T = TypeVar("T")


def _require_chromium() -> None:
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if shutil.which(path) is None]
    if not missing:
        return
    reason = f"{', '.join(missing)} missing: apt-get install chromium chromium-driver"
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


class Browser:
    """One headless Chromium, its steps awaitable."""

    def __init__(self, driver: webdriver.Chrome, base_url: str) -> None:
        self.driver = driver
        self.base_url = base_url

    async def _run(self, step: Callable[[], T]) -> T:
        return await asyncio.to_thread(step)

    async def open(self, path: str) -> None:
        """Load `path` of the app and wait until the page has loaded."""
        await self._run(lambda: self.driver.get(self.base_url + path))

    async def fill(self, name: str, value: str) -> None:
        """Type `value` into the input named `name`, replacing what it held."""

        def step() -> None:
            element = self.driver.find_element(By.NAME, name)
            element.clear()
            element.send_keys(value)

        await self._run(step)

    async def set_value(self, name: str, value: str) -> None:
        """Set the input named `name` to `value` as a script would (date and time pickers take no typing)."""
        await self._run(
            lambda: self.driver.execute_script(
                "arguments[0].value = arguments[1]", self.driver.find_element(By.NAME, name), value
            )
        )

    async def choose(self, name: str, value: str) -> None:
        """Pick the option `value` of the select named `name`."""
        await self._run(lambda: Select(self.driver.find_element(By.NAME, name)).select_by_value(value))

    async def submit(self, css: str) -> None:
        """Click the button `css` selects and wait until the page it posts to has loaded."""

        def step() -> None:
            old = self.driver.find_element(By.TAG_NAME, "html")
            self.driver.find_element(By.CSS_SELECTOR, css).click()
            WebDriverWait(self.driver, WAIT_S).until(lambda _d: _stale(old), message=f"no page after {css}")
            WebDriverWait(self.driver, WAIT_S).until(
                lambda d: d.execute_script("return document.readyState") == "complete"
            )

        await self._run(step)

    async def click(self, css: str) -> None:
        """Click the element `css` selects (a button that stays on the page)."""
        await self._run(lambda: self.driver.find_element(By.CSS_SELECTOR, css).click())

    async def text(self, css: str = "body") -> str:
        """The visible text of the first element `css` selects."""
        return await self._run(lambda: self.driver.find_element(By.CSS_SELECTOR, css).text)

    async def texts(self, css: str) -> list[str]:
        """The visible text of every element `css` selects."""
        return await self._run(lambda: [e.text for e in self.driver.find_elements(By.CSS_SELECTOR, css)])

    async def value(self, name: str) -> str:
        """The current value of the input named `name`."""
        return await self._run(lambda: self.driver.find_element(By.NAME, name).get_attribute("value") or "")

    async def wait_until(self, condition: Callable[[webdriver.Chrome], Any], what: str) -> Any:
        """Wait (up to WAIT_S) until `condition(driver)` is truthy; its value."""
        return await self._run(lambda: WebDriverWait(self.driver, WAIT_S).until(condition, message=what))

    async def wait_for_text(self, css: str, words: str) -> None:
        """Wait until the element `css` selects shows `words` (htmx swaps it in)."""
        # Read in the page in one step: htmx may swap the element between a find and a read.
        script = "return Array.from(document.querySelectorAll(arguments[0]), e => e.innerText)"
        await self.wait_until(
            lambda d: any(words in text for text in d.execute_script(script, css)),
            f"{words!r} in {css}",
        )

    async def screenshot(self, path: Path) -> None:
        """The page as a PNG."""
        await self._run(lambda: self.driver.save_screenshot(str(path)))

    @property
    def path(self) -> str:
        """The path (and query) of the page shown."""
        url = self.driver.current_url
        return url.removeprefix(self.base_url)


def _stale(element: WebElement) -> bool:
    try:
        element.is_enabled()
    except StaleElementReferenceException:  # the page was replaced
        return True
    return False


@contextmanager
def chromium(base_url: str, *, width: int = 1280, fake_audio: Path | None = None) -> Iterator[Browser]:
    """A headless Chromium on `base_url`; `fake_audio`: a WAV file played as the microphone."""
    _require_chromium()
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root
        "--disable-dev-shm-usage",
        "--disable-gpu",
        f"--window-size={width},900",
    ):
        options.add_argument(argument)
    if fake_audio is not None:
        options.add_argument("--use-fake-ui-for-media-stream")  # grant the microphone without asking
        options.add_argument("--use-fake-device-for-media-stream")
        options.add_argument(f"--use-file-for-fake-audio-capture={fake_audio}")
        options.add_argument("--autoplay-policy=no-user-gesture-required")
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    try:
        yield Browser(driver, base_url)
    finally:
        driver.quit()
