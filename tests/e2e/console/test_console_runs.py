"""The console's list of runs: every filter of the list call, sorting, paging, a URL that keeps the view,
and a list that refreshes itself while runs move."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect


def rest(name: str, url: str) -> dict[str, Any]:
    return {"_name": name, "_type": "REST_CONNECTOR", "_inputParams": {"_url": url}}


def shown(first: int, last: int, total: int) -> str:
    """The list's summary, "Runs 1 to 5 of 5" written with an en dash."""
    return f"Runs {first}\N{EN DASH}{last} of {total}"


def view_params(page: Any) -> dict[str, str]:
    """The query of the console's own URL fragment (`#/runs?...`)."""
    fragment = urlsplit(page.url).fragment
    return {name: values[0] for name, values in parse_qs(fragment.partition("?")[2]).items()}


@pytest.fixture
def five_finished_runs(
    namespace: str,
    target: Any,
    define_workflow: Callable[..., dict[str, Any]],
    start_run: Callable[..., dict[str, Any]],
    wait_for_run: Callable[..., dict[str, Any]],
) -> dict[str, Any]:
    """Three runs of alpha_flow that complete and two of beta_flow that fail, in that order of creation."""
    target.program("/ok", (200, {"ok": True}))
    target.program("/boom", (500, {"error": "planned"}))
    alpha = define_workflow(namespace, [rest("call", target.url_for("/ok"))], _name="alpha_flow")
    beta = define_workflow(namespace, [rest("call", target.url_for("/boom"))], _name="beta_flow")
    started = [start_run(namespace, alpha["_id"]) for _ in range(3)]
    started += [start_run(namespace, beta["_id"]) for _ in range(2)]
    runs = [wait_for_run(run["_id"], namespace, {"COMPLETED", "FAILED"}) for run in started]
    return {"alpha": alpha, "beta": beta, "runs": runs}


def test_filter_sort_and_page_the_runs(
    console: Any, namespace: str, five_finished_runs: dict[str, Any]
) -> None:
    # Given
    runs, beta = five_finished_runs["runs"], five_finished_runs["beta"]
    page = console.open(f"#/runs?nsfilter={namespace}")
    summary = page.locator("#runs-summary")
    rows = page.locator("table.runs tbody tr")
    statuses = rows.locator(".status")
    names = rows.locator("td:first-child")
    show = page.get_by_role("button", name="Show runs")

    # Then: every run, newest first, each status in words
    expect(summary).to_contain_text(shown(1, 5, 5))
    expect(statuses).to_have_text(["FAILED", "FAILED", "COMPLETED", "COMPLETED", "COMPLETED"])
    console.screenshot("runs")

    # When: one status, then several
    page.get_by_label("FAILED", exact=True).check()
    show.click()

    # Then
    expect(statuses).to_have_text(["FAILED", "FAILED"])
    assert view_params(page)["_status"] == "FAILED"

    page.get_by_label("COMPLETED", exact=True).check()
    show.click()
    expect(summary).to_contain_text("of 5")
    assert view_params(page)["_status"] == "COMPLETED,FAILED"

    # When: the name, then the definition id
    page.get_by_label("COMPLETED", exact=True).uncheck()
    page.get_by_label("FAILED", exact=True).uncheck()
    page.get_by_label("Name contains").fill("ALPHA")
    show.click()
    expect(names).to_have_text(["alpha_flow"] * 3)

    page.get_by_label("Name contains").fill("")
    page.get_by_label("Definition id contains").fill(beta["_id"][:13])
    show.click()
    expect(names).to_have_text(["beta_flow"] * 2)
    assert view_params(page)["_defId"] == beta["_id"][:13]

    # When: the creation times, both ends inclusive
    page.get_by_label("Definition id contains").fill("")
    page.get_by_label("Created from").fill(runs[1]["_createdAt"])
    page.get_by_label("Created until").fill(runs[3]["_createdAt"])
    show.click()

    # Then
    expect(summary).to_contain_text(shown(1, 3, 3))

    # When: a date that is no date
    page.get_by_label("Created until").fill("")
    page.get_by_label("Created from").fill("2026-02-30")
    show.click()

    # Then: the API's message, beside the field it names
    created_from = page.get_by_label("Created from")
    expect(created_from).to_have_attribute("aria-invalid", "true")
    expect(page.locator(".field", has=created_from).locator(".field-error")).to_contain_text("2026-02-30")
    expect(rows).to_have_count(0)

    # When: sorted by name, ascending then descending, from the column heading
    page.get_by_label("Created from").fill("")
    show.click()
    expect(summary).to_contain_text("of 5")
    page.get_by_role("link", name=re.compile("^Name")).click()

    # Then
    expect(page.locator("th[aria-sort='ascending']")).to_have_text(re.compile("^Name"))
    expect(names).to_have_text(["alpha_flow"] * 3 + ["beta_flow"] * 2)
    assert view_params(page)["sort"] == '{"_name":1}'
    page.get_by_role("link", name=re.compile("^Name")).click()
    expect(page.locator("th[aria-sort='descending']")).to_have_text(re.compile("^Name"))
    expect(names).to_have_text(["beta_flow"] * 2 + ["alpha_flow"] * 3)

    # When: sorted from the form, by status then by update time
    page.get_by_label("Sort by").select_option("_status")
    page.get_by_label("Order", exact=True).select_option("1")
    page.get_by_label("Then by").select_option("_updatedAt")
    page.get_by_label("Then order").select_option("-1")
    show.click()

    # Then
    expect(statuses).to_have_text(["COMPLETED"] * 3 + ["FAILED"] * 2)
    assert view_params(page)["sort"] == '{"_status":1,"_updatedAt":-1}'

    # When: two runs a page, forward to the end and back
    page.get_by_label("Runs per page").fill("2")
    show.click()
    expect(summary).to_contain_text(shown(1, 2, 5))
    first_page = names.all_text_contents()
    page.get_by_role("link", name="Next page").click()
    expect(summary).to_contain_text(shown(3, 4, 5))
    assert "_nextToken" in view_params(page)
    page.get_by_role("link", name="Next page").click()
    expect(summary).to_contain_text(shown(5, 5, 5))
    expect(page.get_by_role("link", name="Next page")).to_have_count(0)
    page.get_by_role("link", name="Previous page").click()
    expect(summary).to_contain_text(shown(3, 4, 5))
    page.get_by_role("link", name="First page").click()

    # Then
    expect(summary).to_contain_text(shown(1, 2, 5))
    expect(names).to_have_text(first_page)

    # When: the same address opened afresh, as a shared link would be
    shared = page.url
    page.goto("about:blank")
    page.goto(shared)

    # Then: the same view, its filters in the form
    expect(summary).to_contain_text(shown(1, 2, 5))
    expect(page.get_by_label("Sort by")).to_have_value("_status")
    expect(page.get_by_label("Runs per page")).to_have_value("2")


def test_the_list_refreshes_itself_while_runs_move(
    console: Any,
    namespace: str,
    target: Any,
    define_workflow: Callable[..., dict[str, Any]],
    start_run: Callable[..., dict[str, Any]],
) -> None:
    # Given: a run whose only call takes a second and a half
    target.program("/slow", target.Answer(json={"ok": True}, delay=1.5))
    definition = define_workflow(namespace, [rest("slow", target.url_for("/slow"))])
    start_run(namespace, definition["_id"])

    # When
    page = console.open(f"#/runs?nsfilter={namespace}")

    # Then: it moves, and the page follows it to the end without being reloaded
    status = page.locator("table.runs tbody tr .status")
    expect(status).to_have_text(re.compile("QUEUED|RUNNING"))
    expect(page.locator(".refresh-state")).to_contain_text("while runs are moving")
    expect(status).to_have_text("COMPLETED")
    expect(page.locator(".refresh-state")).to_have_text("")


def test_on_a_phone_the_runs_are_cards_that_fit_the_screen(
    phone_console: Any, namespace: str, five_finished_runs: dict[str, Any]
) -> None:
    # When
    page = phone_console.open(f"#/runs?nsfilter={namespace}")

    # Then
    expect(page.locator("#runs-summary")).to_contain_text("of 5")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert (
        page.locator("table.runs tbody tr").first.evaluate("row => getComputedStyle(row).display") == "block"
    )
    page.locator("#runs-summary").scroll_into_view_if_needed()
    phone_console.screenshot("runs-phone")
