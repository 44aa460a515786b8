"""Headless Chromium for the browser tests: Debian's (never a downloaded one), launched through Playwright."""

import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright, expect

# Debian's Chromium (`make browser` installs it); FLAMA_CHROMIUM names another Chromium-based browser.
CHROMIUM = Path(os.environ.get("FLAMA_CHROMIUM", "/usr/bin/chromium"))
# What Chromium needs on a headless CI machine; Playwright gives every launch a fresh profile of its own.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
EXPECT_TIMEOUT = 5_000  # Playwright's own default for expect(), restored after a launch that changed it


@contextlib.asynccontextmanager
async def chromium(expect_timeout: int = EXPECT_TIMEOUT) -> AsyncIterator[Browser]:
    """A headless Chromium, closed on exit; ``expect()`` assertions wait ``expect_timeout`` ms meanwhile.

    A missing browser fails the test in CI (``CI`` set) and skips it elsewhere, saying how to install one.
    """
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: install Debian's chromium (`make browser` as root) or set FLAMA_CHROMIUM"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)
    expect.set_options(timeout=expect_timeout)
    try:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            yield browser
            await browser.close()
    finally:
        expect.set_options(timeout=EXPECT_TIMEOUT)
