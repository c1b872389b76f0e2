"""The survey page in a real browser, as a person on a phone sees it: Debian's Chromium,
driven headless by Playwright, JavaScript off, a phone's viewport.

The link from the survey mail shows the chosen rating and one button and records nothing;
a comment typed and the button pressed record both and show the thank-you page. Each
page's screenshot lands in the test's ``tmp_path`` (and in ``$MAILD_TEST_SCREENSHOTS``
when set, to look at); the page must fit the phone's width and keep readable text.

Without Chromium (or the ``playwright`` package of the test extras) the tests are skipped
with the reason, unless ``MAILD_REQUIRE_INTEGRATION=1`` (CI), which makes that a failure.
Playwright never downloads a browser here: it drives ``chromium`` from ``PATH``.
"""

from __future__ import annotations

import os
import shutil
import struct
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from maild.clock import ManualClock
from tests.agents.helpers import ADA, events, open_ticket
from tests.conftest import REQUIRE_INTEGRATION
from tests.csat.test_surveys import links, resolve, stored, surveys_to, sweep
from tests.support import DaemonThread, Sink

pytestmark = pytest.mark.integration  # a real Chromium

PHONE = {"width": 390, "height": 844}
SCALE = 2  # device pixels per CSS pixel, as on most phones
MIN_TEXT_PX = 16.0  # smaller text on a phone is hard to read (and iOS zooms into fields)
MIN_TAP_PX = 44.0  # the smallest comfortable touch target, for the form's controls
MIN_LINK_PX = 24.0  # the smallest target size of WCAG 2.2 (2.5.8), for the other ratings


def _unavailable(reason: str) -> None:
    if REQUIRE_INTEGRATION:
        pytest.fail(f"MAILD_REQUIRE_INTEGRATION=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium for the module (Debian's, from PATH)."""
    executable = shutil.which("chromium")
    if executable is None:
        _unavailable("Chromium is not installed (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is missing (pip install -e '.[test]')")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:
    """A fresh page on a phone-sized screen with JavaScript disabled."""
    context = browser.new_context(
        viewport=PHONE,
        device_scale_factor=SCALE,
        is_mobile=True,
        has_touch=True,
        java_script_enabled=False,
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def screenshot(page: Any, tmp_path: Path, name: str) -> bytes:
    """The whole page as a PNG: into ``tmp_path``, and ``$MAILD_TEST_SCREENSHOTS`` if set.

    A full-page shot is as wide as the content: exactly the phone's width times its scale
    unless something overflows sideways."""
    path = tmp_path / f"{name}.png"
    data = page.screenshot(path=str(path), full_page=True)
    folder = os.environ.get("MAILD_TEST_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, Path(folder) / f"{tmp_path.name}-{name}.png")
    width, height = png_size(data)
    assert width == PHONE["width"] * SCALE, f"{name}: the page is wider than the phone"
    assert height >= 300 * SCALE, f"{name}: the page is hardly there"
    assert len(data) > 10_000, f"{name}: a near-blank screenshot ({len(data)} bytes)"
    return data


def assert_fits_the_phone(page: Any) -> None:
    """No sideways scrolling, every element inside the screen's width, readable text."""
    # Page scripts are off (java_script_enabled=False); Playwright's own evaluation works.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    for element in page.locator("main *").all():
        box = element.bounding_box()
        if box is None or box["width"] == 0:
            continue  # hidden (the form's hidden input)
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] + 0.5, (
            element.evaluate("e => e.outerHTML.slice(0, 80)"),
            box,
        )
    font_size = page.locator("body").evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
    assert font_size >= MIN_TEXT_PX


def test_a_phone_without_javascript_rates_and_comments(
    daemon: DaemonThread, sink: Sink, clock: ManualClock, phone: Any, tmp_path: Path
) -> None:
    open_ticket(daemon)
    resolve(daemon)
    sweep(daemon, clock, timedelta(hours=25))
    [survey] = surveys_to(sink, ADA)
    url = links(survey)["4"]

    # A slip of the thumb in the mail: the page offers the other ratings as plain links.
    response = phone.goto(links(survey)["3"])
    assert response is not None and response.status == 200
    assert phone.locator(".choice").inner_text() == "Neither"
    others = phone.locator(".other a")
    assert others.all_inner_texts() == [
        "Very satisfied",
        "Satisfied",
        "Dissatisfied",
        "Very dissatisfied",
    ]
    for link in others.all():
        box = link.bounding_box()
        assert box is not None and box["height"] >= MIN_LINK_PX, box
    phone.get_by_role("link", name="Satisfied", exact=True).click()

    # The chosen rating, one big button, nothing recorded.
    assert phone.url == url
    assert phone.locator("h1").inner_text() == "How did we do?"
    assert phone.locator(".choice").inner_text() == "Satisfied"
    assert "ACME #1000" in phone.locator("main").inner_text()
    button = phone.get_by_role("button", name="Send my rating")
    assert button.is_visible() and button.is_enabled()
    comment = phone.get_by_label("Anything you would like to tell us?")
    assert comment.is_visible()
    assert phone.locator("script").count() == 0  # nothing on this page needs JavaScript
    assert_fits_the_phone(phone)
    for control in (button, comment):
        box = control.bounding_box()
        assert box is not None and box["height"] >= MIN_TAP_PX, box
        assert box["width"] >= PHONE["width"] * 0.6, box  # a wide, easy target
        size = control.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
        assert size >= MIN_TEXT_PX, size
    assert button.bounding_box()["y"] < PHONE["height"], "the button is below the fold"
    screenshot(phone, tmp_path, "survey-confirm")
    [row] = stored(daemon)
    assert row.rating is None  # opening the link (as a mail scanner does) records nothing

    # Typing a comment and pressing the button posts the form: recorded, thanked.
    comment.fill("Quick and friendly, thank you!\nThe printer works again.")
    with phone.expect_navigation():
        button.click()
    assert phone.url.endswith("/csat/" + url.rsplit("/", 2)[1])  # the form's POST target
    assert phone.locator("h1").inner_text() == "Thank you!"
    assert "Satisfied" in phone.locator("strong").inner_text()
    assert_fits_the_phone(phone)
    screenshot(phone, tmp_path, "survey-thanks")
    [row] = stored(daemon)
    assert (row.rating, row.rated_via) == ("4", "web")
    # The browser sent the line break as CRLF (HTML's form encoding); stored as LF.
    assert row.comment == "Quick and friendly, thank you!\nThe printer works again."
    assert "ticket.rated" in [e.kind for e in events(daemon, 1000)]
