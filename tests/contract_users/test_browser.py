"""Swagger UI in a real browser (Debian's chromium, headless, driven by Playwright through
``executable_path``; nothing is downloaded): the page loads without console errors, lists the five
documents, and "Try it out" on ``GET /api/version`` shows a 200 from this server."""

from __future__ import annotations

import shutil

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian package chromium is not installed")


@pytest.mark.timeout(300)
def test_swagger_ui_in_chromium(live_server):
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        page = browser.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{live_server.url}/docs/")
        page.wait_for_selector(".opblock", timeout=60_000)
        options = page.locator(".topbar select option").all_inner_texts()
        assert options[0] == "All APIs (merged)" and len(options) == 5, options
        assert {"Virtual Banker API", "Virstack VoiceAI API", "ServiceAi API",
                "SiteLLM Vertebro Voice API"} <= set(options)
        # "Try it out" on GET /api/version (ServiceAi, unauthenticated) in the merged document.
        operation = page.locator(".opblock-get").filter(has=page.locator('[data-path="/api/version"]'))
        operation.locator(".opblock-summary").click()
        operation.locator("button.try-out__btn").click()
        operation.locator("button.execute").click()
        status = operation.locator(".live-responses-table tr.response .response-col_status").first
        status.wait_for(timeout=30_000)
        assert status.inner_text().strip().startswith("200"), status.inner_text()
        body = operation.locator(".live-responses-table .microlight").first.inner_text()
        assert '"apiVersion"' in body
        browser.close()
    assert errors == [], errors
