"""Definitions in the console: list and search them, create one from JSON with the API's complaints shown
where they point, and start a run of it."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from playwright.sync_api import expect

# Two mistakes the API reports together: a task with no name, and more retries than allowed.
WITH_MISTAKES = """{
  "_name": "sensor_sync",
  "_tasks": [
    { "_type": "REST_CONNECTOR", "_inputParams": { "_url": "${workflow._inputParams._url}" } },
    {
      "_name": "second",
      "_type": "REST_CONNECTOR",
      "_retryCount": 99
    }
  ]
}"""
NOT_JSON = '{\n  "_name": "sensor_sync",\n  "_tasks": [],\n}'


SELECTED_TEXT = (
    "() => { const t = document.activeElement; return t.value.slice(t.selectionStart, t.selectionEnd); }"
)


def selected_text(page: Any) -> str:
    """What is selected in the focused text field."""
    return str(page.evaluate(SELECTED_TEXT))


def test_create_a_definition_fixing_what_the_api_refuses_then_start_a_run(
    console: Any, namespace: str, target: Any
) -> None:
    # Given
    page = console.open(f"#/definitions?nsfilter={namespace}")
    expect(page.get_by_text("No definitions match.")).to_be_visible()
    page.get_by_role("link", name="New definition").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New definition")
    expect(page.get_by_label("Namespaces")).to_have_value(namespace)
    editor = page.get_by_label("Definition (JSON)")
    create = page.get_by_role("button", name="Create definition")
    errors = page.locator(".editor-errors li")

    # When: text that is not JSON
    editor.fill(NOT_JSON)
    create.click()

    # Then: said where, before anything is sent
    expect(errors).to_have_count(1)
    expect(errors.first).to_contain_text("Not valid JSON")
    expect(errors.first.get_by_role("button")).to_have_text("Line 4")

    # When: JSON with two mistakes
    editor.fill(WITH_MISTAKES)
    create.click()

    # Then: each of the API's messages beside the editor, naming the field, its place marked in the text
    expect(errors).to_have_count(2)
    expect(errors.nth(0)).to_contain_text("_tasks[0]._name: required")
    expect(errors.nth(1)).to_contain_text("_tasks[1]._retryCount")
    expect(errors.nth(1)).to_contain_text("less than or equal to 10")
    expect(editor).to_have_attribute("aria-invalid", "true")
    marks = page.locator(".editor-marks mark")
    expect(marks).to_have_count(2)
    expect(marks.nth(1)).to_have_text('"_retryCount": 99')
    assert marks.nth(0).text_content().startswith('{ "_type": "REST_CONNECTOR"')  # the task that lacks it
    console.screenshot("new-definition")

    # When: the message's line is followed
    errors.nth(1).get_by_role("button", name="Line 8").click()

    # Then: the text it names is selected in the editor
    expect(editor).to_be_focused()
    assert selected_text(page) == '"_retryCount": 99'

    # When: fixed
    fixed = json.loads(WITH_MISTAKES)
    fixed["_tasks"][0]["_name"] = "first"
    fixed["_tasks"][1]["_retryCount"] = 1
    editor.fill(json.dumps(fixed, indent=2))
    create.click()

    # Then: the new definition's page
    expect(page.get_by_role("heading", level=1)).to_have_text("sensor_sync")
    expect(page.locator(".outline .task-name")).to_have_text(["first", "second"])
    definition_id = re.search(r"#/definitions/([0-9a-f-]{36})", page.url).group(1)  # type: ignore[union-attr]

    # When: a run is started with an input that is not an object, then with a proper one
    start = page.get_by_role("button", name="Start run")
    run_input = page.get_by_label("Input (_inputParams)")
    run_input.fill(json.dumps({"_url": target.url_for("/hello")}))
    console.screenshot("definition")
    run_input.fill("[1, 2]")
    start.click()
    expect(page.locator(".start-run .editor-errors")).to_contain_text("a JSON object")
    run_input.fill(json.dumps({"_url": target.url_for("/hello")}))
    start.click()

    # Then: the new run's page, followed to the end
    expect(page).to_have_url(re.compile(r"#/runs/[0-9a-f-]{36}\?nsfilter="))
    expect(page.locator(".run-status .status")).to_have_text("COMPLETED")
    expect(page.locator("pre[aria-label='Output of the run']")).to_contain_text('"path": "/hello"')
    assert target.calls("/hello") == 2  # both tasks read the run's input

    # When: the definitions are searched by name
    page.get_by_role("link", name="Definitions", exact=True).click()
    page.get_by_label("Name contains").fill("SENSOR")
    page.get_by_role("button", name="Search").click()

    # Then
    rows = page.locator("table.definitions tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("sensor_sync")
    expect(rows.first).to_contain_text("2 tasks")
    expect(rows.first).to_contain_text(definition_id[:8])
    console.screenshot("definitions")
    page.get_by_label("Name contains").fill("no-such-name")
    page.get_by_role("button", name="Search").click()
    expect(rows).to_have_count(0)


def test_a_definition_can_be_copied_into_a_new_one(
    console: Any, namespace: str, define_workflow: Callable[..., dict[str, Any]], target: Any
) -> None:
    # Given
    definition = define_workflow(
        namespace,
        [{"_name": "ping", "_type": "REST_CONNECTOR", "_inputParams": {"_url": target.url_for("/p")}}],
    )
    page = console.open(f"#/definitions/{definition['_id']}?nsfilter={namespace}")

    # When
    page.get_by_role("link", name="Copy into a new definition").click()

    # Then: the same body, without what the service added
    editor = page.get_by_label("Definition (JSON)")
    expect(editor).to_have_value(re.compile('"ping"'))
    copied = json.loads(editor.input_value())
    assert copied["_tasks"] == definition["_tasks"]
    assert not {"_id", "_namespaces", "_createdAt", "_createdBy"} & set(copied)
