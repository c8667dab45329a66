"""Browser fixtures: one headless Chromium per session (Playwright), a fresh page per test."""

from __future__ import annotations

import time

import pytest

CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--autoplay-policy=no-user-gesture-required",
]  # fmt: skip


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(accept_downloads=True, viewport={"width": 1200, "height": 900})
    page = context.new_page()
    yield page
    context.close()


def login(page, live_server, username: str = "alice", password: str = "alice-password-1") -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url("**/videos/")


def wait_for_js(page, expression: str, *, timeout: float = 30_000) -> None:
    """Wait until the JavaScript ``expression`` is truthy in the page (``timeout`` in ms).

    Polled from here: Playwright's ``wait_for_function`` re-evaluates its predicate with ``eval`` inside
    the page, which the Content-Security-Policy refuses (no 'unsafe-eval'); ``page.evaluate`` is not.
    """
    deadline = time.monotonic() + timeout / 1000
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"Timed out after {timeout / 1000:.0f} s waiting for {expression}")
        page.wait_for_timeout(100)


def confirm_each_product(page, scene, products=("1", "2")) -> None:
    """On the confirm step, confirm each of ``products`` (ids; ``scene.objects`` in the same order):
    its found box where its description found it, else a click on it on the first key frame."""
    from tests.e2e.scenes import centre

    page.locator(".key-frame").first.wait_for(timeout=180_000)
    for k, product in enumerate(products):
        page.wait_for_selector(f"#confirm-products li[data-product='{product}']")
        found = page.locator(f".key-frame button.confirm-found[data-product='{product}']")
        if found.count():
            found.first.click()
        else:  # not found by its description: choose it in the list and click it
            page.check(f"#confirm-products li[data-product='{product}'] input[type=radio]")
            card = page.locator(".key-frame").first
            index = int(card.get_attribute("data-frame"))
            x, y = centre(scene, k, index)
            stage = page.locator(f".key-frame[data-frame='{index}'] .stage").bounding_box()
            page.mouse.click(stage["x"] + x * stage["width"] / scene.width, stage["y"] + y * stage["height"] / scene.height)
        page.wait_for_selector(
            f".key-frame [data-product='{product}'].chosen-box, .key-frame [data-product='{product}'].clicked-point"
        )
