"""``python -m localrun --persist DIR``: every write the server acknowledged is back after ``kill -9``."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

BASE_PATH = "/workflowsvc/api/v1"
STARTERS = 4
KILL_AFTER = 24  # acknowledged starts


def test_every_acknowledged_start_and_pause_is_back_after_the_server_is_killed(
    start_another_server: Callable[..., Any],
    http: Callable[..., Any],
    target: Any,
    namespace: str,
    tmp_path: Path,
) -> None:
    # Given a server keeping its tables in a directory, and a definition whose task takes its time
    state = tmp_path / "state"
    server = start_another_server("--persist", str(state))
    api = f"{server.url}{BASE_PATH}"
    params = {"nsfilter": namespace}
    target.hang("/slow", seconds=30)
    definition = http(
        "POST",
        f"{api}/workflowdefs",
        params=params,
        json_body={"_name": "slow", "_tasks": [{"_name": "call", "_type": "REST_CONNECTOR"}]},
    )
    assert definition.status == 201, definition
    start = {"_workflowDefId": definition.json()["_id"], "_inputParams": {"_url": target.url_for("/slow")}}

    # When clients start runs (and pause every third) as fast as they can, and the server is killed
    acknowledged: dict[str, str] = {}  # run id -> the status its last acknowledged request gave it
    cut_off: list[str] = []  # requests the server's death cut off
    unexpected: list[str] = []
    record = threading.Lock()
    enough = threading.Event()

    def send(method: str, path: str, body: dict[str, Any], status: int) -> dict[str, Any] | None:
        try:
            answer = http(method, f"{api}{path}", params=params, json_body=body, timeout=10)
        except OSError as error:  # the server is gone
            with record:
                cut_off.append(repr(error))
            return None
        if answer.status != status:
            with record:
                unexpected.append(f"{method} {path}: {answer}")
            return None
        result: dict[str, Any] = answer.json()
        return result

    def start_runs() -> None:
        while True:
            run = send("POST", "/workflows", start, 201)
            if run is None:
                return
            with record:
                acknowledged[run["_id"]] = "QUEUED"
                count = len(acknowledged)
            if count >= KILL_AFTER:
                enough.set()
            if count % 3 == 0:
                if send("PUT", f"/workflows/{run['_id']}/status", {"_status": "PAUSED"}, 200) is None:
                    return
                with record:
                    acknowledged[run["_id"]] = "PAUSED"

    starters = [threading.Thread(target=start_runs) for _ in range(STARTERS)]
    for starter in starters:
        starter.start()
    assert enough.wait(60), f"the server acknowledged too few starts: {unexpected}"
    server.process.kill()
    server.process.wait(10)
    for starter in starters:
        starter.join(30)
    assert unexpected == []
    assert len(cut_off) == STARTERS  # every client was still sending when the server died

    # Then the next server over the same directory has every acknowledged run, as last acknowledged
    restarted = start_another_server("--persist", str(state))
    api = f"{restarted.url}{BASE_PATH}"
    found = {}
    for run_id in acknowledged:
        answer = http("GET", f"{api}/workflows/{run_id}", params=params)
        assert answer.status == 200, (run_id, answer, restarted.log_tail())
        found[run_id] = answer.json()["_status"]
    paused = {run_id for run_id, status in acknowledged.items() if status == "PAUSED"}
    assert paused and {found[run_id] for run_id in paused} == {"PAUSED"}
    assert {found[run_id] for run_id in acknowledged.keys() - paused} <= {"QUEUED", "RUNNING"}

    # And each run's counters came back with it (a start and its counters are one transaction)
    listed = _list_all(http, api, params)
    assert set(acknowledged) <= {run["_id"] for run in listed["_list"]}
    assert listed["_total"] == len(listed["_list"])


def _list_all(http: Callable[..., Any], api: str, params: dict[str, str]) -> dict[str, Any]:
    runs: list[dict[str, Any]] = []
    query: dict[str, Any] = {**params, "_pageSize": 100}
    while True:
        page = http("GET", f"{api}/workflows", params=query)
        assert page.status == 200, page
        body = page.json()
        runs += body["_list"]
        if "_nextToken" not in body:
            return {"_total": body["_total"], "_list": runs}
        query = {**params, "_pageSize": 100, "_nextToken": body["_nextToken"]}
