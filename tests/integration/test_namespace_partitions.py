"""A namespace's runs spread over partitions of the index: how many, when writers and readers use them.

A quiet namespace stays on one partition, so its first page reads one; a namespace written hard gets
more. Readers always read every partition a writer may use: a raise reaches writers only once every
function's cached count has expired.
"""

from __future__ import annotations

from typing import Any

from workflowsvc.store import Store, keys, shards
from workflowsvc.store.dynamo import dynamodb_client

from tests.support.runs import DEVICE_SYNC_DEFINITION, DEVICE_SYNC_INPUT

NS = 1_000_000_000
NAMESPACE = "first_tchgt1VU"


def _partitions_in_use(table: str, namespace: str, up_to: int) -> dict[int, int]:
    """How many runs each partition of ``namespace`` holds, read straight from the index."""
    counts = {}
    for shard in range(up_to):
        answer = dynamodb_client().query(
            TableName=table,
            IndexName=keys.NAMESPACE_INDEX,
            KeyConditionExpression="gsi1pk = :p",
            ExpressionAttributeValues={":p": {"S": keys.run_partition(namespace, shard)}},
            Select="COUNT",
        )
        if answer["Count"]:
            counts[shard] = answer["Count"]
    return counts


def test_a_new_namespace_has_one_partition_and_eight_counters(store: Store):
    count = store.shards.get("brand_new")
    assert (count.shards, count.counter_shards) == (1, 32)


def test_a_raise_reaches_readers_at_once_and_writers_only_after_every_cache_has_expired(
    clock: Any, table_name: str
):
    # Given two functions that read the namespace's count, one of which then raises it
    raiser, other = Store.for_table(table_name), Store.for_table(table_name)
    assert other.shards.get(NAMESPACE).shards == 1

    # When the first raises it to 8
    raised = raiser.shards.raise_to(NAMESPACE, 8)

    # Then readers of the raising function read 8 at once; its writers keep to 1 until every function's
    # cached count has expired; the other function still has 1 cached, and writes 1 too
    assert raised.shards == 8 and raised.for_writers(clock.now_ns()) == 1
    assert raised.since_ns >= clock.now_ns() + shards.CACHE_SECONDS * NS
    assert other.shards.get(NAMESPACE).shards == 1
    clock.advance(shards.CACHE_SECONDS + 1)
    assert other.shards.get(NAMESPACE).shards == 8  # its cache expired: it reads the raise
    assert other.shards.get(NAMESPACE).for_writers(clock.now_ns()) == 1
    clock.advance(shards.CACHE_SECONDS)
    assert other.shards.get(NAMESPACE).for_writers(clock.now_ns()) == 8


def test_a_count_is_never_lowered_and_two_raises_at_once_raise_once(clock: Any, table_name: str):
    first, second = Store.for_table(table_name), Store.for_table(table_name)
    first.shards.get(NAMESPACE), second.shards.get(NAMESPACE)
    first.shards.raise_to(NAMESPACE, 4)
    assert second.shards.raise_to(NAMESPACE, 8).shards == 4  # it read 1: its raise lost, it reads 4
    assert first.shards.raise_to(NAMESPACE, 2).shards == 4


def test_a_namespace_throttled_often_gets_twice_the_partitions(clock: Any, store: Store):
    for _ in range(10):
        store.shards.pushed_back(NAMESPACE, throttled=False)  # conflicts on counters: another counter item
    for _ in range(shards.PRESSURE_EVENTS - 1):
        store.shards.pushed_back(NAMESPACE, throttled=True)
    assert store.shards.get(NAMESPACE).shards == 1
    store.shards.pushed_back(NAMESPACE, throttled=True)
    assert store.shards.get(NAMESPACE).shards == 2


def test_a_function_keeps_to_one_counter_item_and_picks_another_when_its_write_is_cancelled(store: Store):
    kept = {store.shards.counter_shard(NAMESPACE) for _ in range(20)}
    assert len(kept) == 1
    picked = set()
    for _ in range(40):
        store.shards.pushed_back(NAMESPACE, throttled=False)
        picked.add(store.shards.counter_shard(NAMESPACE))
    assert len(picked) > 5


def test_runs_of_a_namespace_spread_over_partitions_list_and_count_as_one(
    api: Any, given: Any, clock: Any, store: Store, table_name: str
):
    # Given a namespace spread over four partitions, and 24 runs started in it
    definition = given.definition(DEVICE_SYNC_DEFINITION)
    store.shards.raise_to(NAMESPACE, 4)
    clock.advance(2 * shards.CACHE_SECONDS)
    started = [api.start(definition["_id"], input_params=DEVICE_SYNC_INPUT)["_id"] for _ in range(24)]

    # Then they landed on several partitions
    spread = _partitions_in_use(table_name, NAMESPACE, 4)
    assert len(spread) >= 3 and sum(spread.values()) == 24, spread

    # And the list walks them newest first, each once, with the right total
    seen: list[str] = []
    token = None
    while True:
        body = api.list(_pageSize="5", _nextToken=token).body
        assert body["_total"] == 24
        seen += [run["_id"] for run in body["_list"]]
        token = body.get("_nextToken")
        if token is None:
            break
    assert seen == list(reversed(started))
