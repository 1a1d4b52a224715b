"""The console is usable with a keyboard and a screen reader: landmarks, one heading per page, a label on
every control, a skip link, a visible focus, and focus moved to the new page's heading."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from playwright.sync_api import expect

# What a page must have: the banner, navigation and main landmarks, one h1, a label on every control,
# a name on every button and link. Answers what is missing.
AUDIT = """
() => {
  const problems = [];
  for (const selector of ['header', 'nav', 'main']) {
    if (!document.querySelector(selector)) problems.push(`no <${selector}>`);
  }
  const headings = document.querySelectorAll('h1');
  if (headings.length !== 1) problems.push(`${headings.length} h1`);
  for (const control of document.querySelectorAll('input, select, textarea')) {
    const named = control.labels?.length || control.getAttribute('aria-label')
      || control.getAttribute('aria-labelledby');
    if (!named) problems.push(`an unlabelled ${control.tagName} ${control.name || control.id}`);
  }
  for (const element of document.querySelectorAll('button, a[href]')) {
    const named = element.textContent.trim() || element.getAttribute('aria-label');
    if (!named) problems.push(`a nameless ${element.tagName}`);
  }
  return problems;
}
"""


def test_every_page_has_landmarks_a_heading_and_labels(
    console: Any,
    namespace: str,
    target: Any,
    define_workflow: Callable[..., dict[str, Any]],
    start_run: Callable[..., dict[str, Any]],
) -> None:
    # Given
    definition = define_workflow(
        namespace,
        [{"_name": "ping", "_type": "REST_CONNECTOR", "_inputParams": {"_url": target.url_for("/p")}}],
    )
    run = start_run(namespace, definition["_id"])
    pages = [
        f"#/runs?nsfilter={namespace}",
        f"#/runs/{run['_id']}?nsfilter={namespace}",
        f"#/definitions?nsfilter={namespace}",
        f"#/definitions/{definition['_id']}?nsfilter={namespace}",
        f"#/definitions/new?nsfilter={namespace}",
    ]

    for fragment in pages:
        # When
        page = console.open(fragment)
        expect(page.locator("main h1")).not_to_have_text("")
        expect(page.locator(".loading")).to_have_count(0)

        # Then
        assert page.evaluate(AUDIT) == [], fragment
        assert page.evaluate("document.documentElement.lang") == "en"


def test_the_console_works_from_the_keyboard(
    console: Any, namespace: str, define_workflow: Callable[..., dict[str, Any]]
) -> None:
    # Given
    definition = define_workflow(
        namespace,
        [{"_name": "ping", "_type": "REST_CONNECTOR", "_inputParams": {"_url": "http://127.0.0.1:9/"}}],
        _name="keyboard_flow",
    )
    page = console.open("#/definitions?nsfilter=")
    expect(page.get_by_role("heading", level=1)).to_have_text("Definitions")

    # When: the first Tab
    page.keyboard.press("Tab")

    # Then: the skip link, with a visible focus, which takes the focus to the content
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    assert skip.evaluate("link => getComputedStyle(link).outlineStyle") != "none"
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()

    # When: the search is filled and sent with the keyboard alone
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="New definition")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_label("Namespaces")).to_be_focused()
    page.keyboard.type(namespace)
    page.keyboard.press("Enter")

    # Then
    link = page.get_by_role("link", name="keyboard_flow")
    expect(link).to_be_visible()

    # When: a result is opened from the keyboard
    link.focus()
    page.keyboard.press("Enter")

    # Then: the new page's heading has the focus, so a screen reader announces it
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_have_text("keyboard_flow")
    expect(heading).to_be_focused()
    assert definition["_id"] in page.url


def test_the_page_is_served_with_its_security_headers(console: Any, local_server: str) -> None:
    # When
    page = console.context.new_page()
    console.page = page
    response = page.goto(f"{local_server}/console/")

    # Then
    assert response is not None
    headers = response.headers
    assert headers["content-security-policy"].startswith("default-src 'none'; script-src 'self'")
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    expect(page.get_by_role("heading", level=1)).to_have_text("Runs")
