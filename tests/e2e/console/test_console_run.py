"""One run in the console: its tasks and what went wrong, the status changes the API allows from where the
run is, loop iterations on demand, tasks nested under their parent, and refreshing that stops when the tab
is hidden."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from playwright.sync_api import expect

SLOW_ANSWER_S = 1.5


def rest(name: str, url: str) -> dict[str, Any]:
    return {"_name": name, "_type": "REST_CONNECTOR", "_inputParams": {"_url": url}}


def task_item(page: Any, name: str) -> Any:
    """The list item of the task named so (its own, not one nested in it)."""
    return page.locator("li.task").filter(
        has=page.locator(":scope > .task-head .task-name", has_text=re.compile(f"^{name}$"))
    )


def buttons(page: Any) -> dict[str, Any]:
    return {
        label: page.get_by_role("button", name=label, exact=True)
        for label in ("Pause", "Resume", "Retry", "Terminate")
    }


def expect_enabled(page: Any, *enabled: str) -> None:
    for label, button in buttons(page).items():
        if label in enabled:
            expect(button).to_be_enabled()
        else:
            expect(button).to_be_disabled()


def test_a_failed_task_shows_its_error_and_the_run_can_be_retried(
    console: Any,
    namespace: str,
    target: Any,
    define_workflow: Callable[..., dict[str, Any]],
    start_run: Callable[..., dict[str, Any]],
    wait_for_run: Callable[..., dict[str, Any]],
) -> None:
    # Given: a run whose call answers 500
    target.program("/ok", (200, {"token": "t-1"}))
    target.program("/sensor", (500, {"error": "sensor offline"}))
    definition = define_workflow(
        namespace,
        [rest("login", target.url_for("/ok")), rest("read_sensor", target.url_for("/sensor"))],
        _name="read_the_sensor",
    )
    run = start_run(namespace, definition["_id"], {"site": "north"})
    wait_for_run(run["_id"], namespace, "FAILED")

    # When
    page = console.open(f"#/runs/{run['_id']}?nsfilter={namespace}")

    # Then: the run's and the task's error, the tasks in order with their facts
    expect(page.get_by_role("heading", level=1)).to_have_text("read_the_sensor")
    expect(page.locator(".run-status .status")).to_have_text("FAILED")
    expect(page.locator(".run-error")).to_contain_text("read_sensor")
    failed = task_item(page, "read_sensor")
    expect(failed.locator(".task-error")).to_contain_text("500")
    expect(failed.locator(".task-error")).to_contain_text("sensor offline")
    expect(failed.locator(".task-facts")).to_contain_text("Attempts1 of 1")
    expect(page.locator(".tasks > li.task .task-name")).to_have_text(["login", "read_sensor"])
    expect(task_item(page, "login").locator(".status")).to_have_text("COMPLETED")
    expect(page.locator("pre[aria-label='Input of the run']")).to_contain_text('"site": "north"')
    expect(page.locator(".facts")).to_contain_text("local-developer")
    expect_enabled(page, "Retry")

    # When: the input and output of a task are asked for
    task_item(page, "login").get_by_text("Input and output").click()

    # Then
    expect(task_item(page, "login").locator("pre").last).to_contain_text('"token": "t-1"')
    console.screenshot("run")

    # When: the target is fixed and the run retried
    target.program("/sensor", (200, {"reading": 21.5}))
    buttons(page)["Retry"].click()

    # Then: the page follows the run to its end
    expect(page.locator(".run-status .status")).to_have_text("COMPLETED")
    expect(failed.locator(".status")).to_have_text("COMPLETED")
    expect(page.locator(".run-error")).to_have_count(0)
    expect_enabled(page)


def test_pause_and_resume_a_run_and_watch_it_move(
    console: Any,
    namespace: str,
    target: Any,
    define_workflow: Callable[..., dict[str, Any]],
    start_run: Callable[..., dict[str, Any]],
) -> None:
    # Given: a run whose first call is slow
    target.program("/first", target.Answer(json={"step": 1}, delay=SLOW_ANSWER_S))
    target.program("/second", (200, {"step": 2}))
    definition = define_workflow(
        namespace, [rest("first", target.url_for("/first")), rest("second", target.url_for("/second"))]
    )
    run = start_run(namespace, definition["_id"])
    page = console.open(f"#/runs/{run['_id']}?nsfilter={namespace}")
    status = page.locator(".run-status .status")
    expect(status).to_have_text(re.compile("^(QUEUED|RUNNING)$"))
    expect_enabled(page, "Pause", "Terminate")

    # When
    buttons(page)["Pause"].click()

    # Then: paused; the call in flight finishes, the next task waits
    expect(status).to_have_text("PAUSED")
    expect_enabled(page, "Resume", "Terminate")
    expect(task_item(page, "first").locator(".status")).to_have_text("COMPLETED")
    expect(task_item(page, "second").locator(".status")).to_have_text("PAUSED")
    assert target.calls("/second") == 0

    # When
    buttons(page)["Resume"].click()

    # Then: it goes on to the end, shown without a reload
    expect(status).to_have_text("COMPLETED")
    expect(task_item(page, "second").locator(".status")).to_have_text("COMPLETED")
    expect_enabled(page)
    expect(page.locator("pre[aria-label='Output of the run']")).to_contain_text('"step": 2')


def test_a_change_the_api_refuses_shows_its_message_and_terminate_asks_first(
    console: Any,
    api: Any,
    namespace: str,
    target: Any,
    define_workflow: Callable[..., dict[str, Any]],
    start_run: Callable[..., dict[str, Any]],
) -> None:
    # Given: a run paused on the page, its call in flight finished
    target.program("/first", target.Answer(json={"step": 1}, delay=SLOW_ANSWER_S))
    definition = define_workflow(
        namespace, [rest("first", target.url_for("/first")), rest("second", target.url_for("/first"))]
    )
    run = start_run(namespace, definition["_id"])
    page = console.open(f"#/runs/{run['_id']}?nsfilter={namespace}")
    buttons(page)["Pause"].click()
    expect(task_item(page, "first").locator(".status")).to_have_text("COMPLETED")
    expect(page.locator(".refresh-state")).to_have_text("")

    # When: someone else terminates it, and then this page asks to resume it
    terminated = api.put(
        f"/workflows/{run['_id']}/status", params={"nsfilter": namespace}, json={"_status": "TERMINATED"}
    )
    assert terminated.status == 200, terminated
    buttons(page)["Resume"].click()

    # Then: the API's own words, and the run as it now is
    expect(page.get_by_role("alert").filter(has_text="Resume refused")).to_contain_text(
        "cannot change a run that is TERMINATED to RESUMED"
    )
    expect(page.locator(".run-status .status")).to_have_text("TERMINATED")
    expect_enabled(page, "Retry")

    # When: retried, then terminated from the page, declining the question once
    buttons(page)["Retry"].click()
    expect_enabled(page, "Pause", "Terminate")
    page.once("dialog", lambda dialog: dialog.dismiss())
    buttons(page)["Terminate"].click()
    expect(page.locator(".run-status .status")).not_to_have_text("TERMINATED")
    page.once("dialog", lambda dialog: dialog.accept())
    buttons(page)["Terminate"].click()

    # Then
    expect(page.locator(".run-status .status")).to_have_text("TERMINATED")
    expect_enabled(page, "Retry")


def test_loop_iterations_are_shown_on_demand_under_their_loop(
    console: Any,
    namespace: str,
    target: Any,
    define_workflow: Callable[..., dict[str, Any]],
    start_run: Callable[..., dict[str, Any]],
    wait_for_run: Callable[..., dict[str, Any]],
) -> None:
    # Given
    loop = {
        "_name": "each_device",
        "_type": "LOOP_OVER",
        "_inputParams": {"_items": ["a", "b"]},
        "_tasks": [rest("get_device", target.url_for("/device/${loop.item}"))],
    }
    definition = define_workflow(namespace, [loop, rest("report", target.url_for("/report"))])
    run = start_run(namespace, definition["_id"])
    wait_for_run(run["_id"], namespace, "COMPLETED")
    page = console.open(f"#/runs/{run['_id']}?nsfilter={namespace}")
    expect(page.locator(".tasks > li.task .task-name")).to_have_text(["each_device", "report"])
    expect(page.locator(".task-group")).to_have_count(0)

    # When
    page.get_by_label("Show loop iterations").check()

    # Then: each iteration's task under the loop, in a group of its own
    groups = task_item(page, "each_device").locator(".task-group")
    expect(groups.locator(".group-title")).to_have_text(["Iteration 0", "Iteration 1"])
    expect(groups.locator(".task-name")).to_have_text(["get_device", "get_device"])
    expect(groups.locator(".status")).to_have_text(["COMPLETED", "COMPLETED"])
    assert "_includeLoopOverTasks=true" in page.url
    expect(
        page.locator(":is(main > div > section) > ol.tasks > li.task > .task-head .task-name")
    ).to_have_text(["each_device", "report"])


NESTED_RUN_ID = "0f6c1a4e-8d7b-4f0e-9a51-3f2d8c6b7e10"


def nested_task(name: str, task_type: str, status: str, **fields: Any) -> dict[str, Any]:
    return {"_id": f"id-{name}", "_name": name, "_type": task_type, "_status": status, **fields}


# A run as the API lists tasks nested in SWITCH cases and FORK_JOIN branches: right after their parent,
# depth first, with `_parentTaskId` and `_branch`.
NESTED_RUN = {
    "_id": NESTED_RUN_ID,
    "_workflowDefId": "5b0c5c1e-2f0b-4a8e-9a3c-6f7d1e2a3b4c",
    "_name": "route_by_region",
    "_namespaces": ["console-fixture"],
    "_status": "COMPLETED",
    "_createdAt": "2026-03-01T10:00:00.000000000Z",
    "_updatedAt": "2026-03-01T10:00:05.000000000Z",
    "_createdBy": "alice",
    "_updatedBy": "workflowsvc",
    "_inputParams": {"region": "eu"},
    "_output": {"ok": True},
    "_timeoutSeconds": None,
    "_timeoutPolicy": None,
    "_tasks": [
        nested_task("fetch", "REST_CONNECTOR", "COMPLETED"),
        nested_task("route", "SWITCH", "COMPLETED", _output={"_selectedCase": "eu"}),
        nested_task("eu_call", "REST_CONNECTOR", "COMPLETED", _parentTaskId="id-route", _branch="eu"),
        nested_task("eu_fanout", "FORK_JOIN", "COMPLETED", _parentTaskId="id-route", _branch="eu"),
        nested_task("left", "REST_CONNECTOR", "COMPLETED", _parentTaskId="id-eu_fanout", _branch=0),
        nested_task("right_1", "REST_CONNECTOR", "COMPLETED", _parentTaskId="id-eu_fanout", _branch=1),
        nested_task("right_2", "WAIT", "COMPLETED", _parentTaskId="id-eu_fanout", _branch=1),
        nested_task("us_call", "REST_CONNECTOR", "SKIPPED", _parentTaskId="id-route", _branch="us"),
        nested_task(
            "fallback", "REST_CONNECTOR", "SKIPPED", _parentTaskId="id-route", _branch="_defaultCase"
        ),
        nested_task("after", "SET_VARIABLE", "COMPLETED"),
        nested_task("stray", "REST_CONNECTOR", "COMPLETED", _parentTaskId="id-not-in-this-run", _branch=0),
    ],
}

# The page's task list as data: each task's name and, per group, its title and tasks.
READ_TREE = """
() => {
  const read = (list) => [...list.children].map((item) => ({
    name: item.querySelector(':scope > .task-head .task-name').textContent,
    groups: [...item.querySelectorAll(':scope > .task-group')].map((group) => ({
      title: group.querySelector(':scope > .group-title').textContent,
      tasks: read(group.querySelector(':scope > ol.tasks')),
    })),
  }));
  return read(document.querySelector('#tasks-heading').closest('section').querySelector('ol.tasks'));
}
"""


def leaf(name: str) -> dict[str, Any]:
    return {"name": name, "groups": []}


def test_tasks_with_a_parent_are_shown_under_it_grouped_by_branch(console: Any) -> None:
    # Given: the API's answer for this run is the one above
    page = console.context.new_page()
    console.page = page
    page.route(lambda url: f"/workflows/{NESTED_RUN_ID}" in url, lambda route: route.fulfill(json=NESTED_RUN))

    # When
    console.open(f"#/runs/{NESTED_RUN_ID}?nsfilter=console-fixture")
    expect(page.get_by_role("heading", level=1)).to_have_text("route_by_region")

    # Then
    assert page.evaluate(READ_TREE) == [
        leaf("fetch"),
        {
            "name": "route",
            "groups": [
                {
                    "title": "Case “eu” (chosen)",
                    "tasks": [
                        leaf("eu_call"),
                        {
                            "name": "eu_fanout",
                            "groups": [
                                {"title": "Branch 0", "tasks": [leaf("left")]},
                                {"title": "Branch 1", "tasks": [leaf("right_1"), leaf("right_2")]},
                            ],
                        },
                    ],
                },
                {"title": "Case “us”", "tasks": [leaf("us_call")]},
                {"title": "Default case", "tasks": [leaf("fallback")]},
            ],
        },
        leaf("after"),
        leaf("stray"),
    ]
    group = page.get_by_role("group", name="Case “us”")
    expect(group.locator(".status")).to_have_text("SKIPPED")


def test_refreshing_stops_while_the_tab_is_hidden(
    console: Any,
    namespace: str,
    target: Any,
    define_workflow: Callable[..., dict[str, Any]],
    start_run: Callable[..., dict[str, Any]],
) -> None:
    # Given: a run that stays RUNNING for a few seconds, on the page
    target.program("/slow", target.Answer(json={"ok": True}, delay=4.0))
    definition = define_workflow(namespace, [rest("slow", target.url_for("/slow"))])
    run = start_run(namespace, definition["_id"])
    reads: list[str] = []
    page = console.open(f"#/runs/{run['_id']}?nsfilter={namespace}")
    page.on(
        "request",
        lambda request: reads.append(request.url) if f"/workflows/{run['_id']}?" in request.url else None,
    )
    expect(page.locator(".refresh-state")).to_contain_text("while the run moves")

    # When: the tab is hidden for longer than the refresh interval
    page.evaluate(
        """() => {
          Object.defineProperty(document, 'hidden', { configurable: true, get: () => true });
          Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'hidden' });
          document.dispatchEvent(new Event('visibilitychange'));
        }"""
    )
    expect(page.locator(".refresh-state")).to_contain_text("paused while this tab is hidden")
    seen = len(reads)
    page.wait_for_timeout(2000)

    # Then: nothing was read; shown again, it reads at once and follows the run to its end
    assert len(reads) == seen
    page.evaluate(
        """() => {
          delete document.hidden;
          delete document.visibilityState;
          document.dispatchEvent(new Event('visibilitychange'));
        }"""
    )
    expect(page.locator(".run-status .status")).to_have_text("COMPLETED", timeout=10_000)
    assert len(reads) > seen
