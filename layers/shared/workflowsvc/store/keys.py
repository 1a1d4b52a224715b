"""Every key of the table: the one place a key string is built or read. The design: docs/design.md.

- run, one copy per namespace: ``RUN#<id>`` / ``NS#<namespace>``; on the NamespaceIndex
  ``NS#<namespace>#RUN#<shard>`` / ``<_createdAt>#<id>``; the first copy, while the run can move on its
  own, on the ActiveRunIndex ``ACTIVE#<shard>`` / ``<due time in ns, 20 digits>#<id>``.
- iteration task: ``RUN#<id>`` / ``LOOP#<parent task id>#<index, 7 digits>#<_sequenceno, 7 digits>``.
- definition, one copy per namespace: ``DEF#<id>`` / ``NS#<namespace>``; on the NamespaceIndex
  ``NS#<namespace>#DEF`` / ``<_createdAt>#<id>``.
- run counters, one item per shard: ``COUNT#<namespace>#<shard>`` / ``COUNTS``, a number per status and
  ``ALL``.
- a namespace's shard count: ``NAMESPACE#<namespace>`` / ``SHARDS``.
- idempotency record: ``IDEMPOTENCY#<hash>`` / ``IDEMPOTENCY``.
"""

from __future__ import annotations

import hashlib

AttributeValue = dict[str, str]
Key = dict[str, AttributeValue]

NAMESPACE_INDEX = "NamespaceIndex"
ACTIVE_RUN_INDEX = "ActiveRunIndex"
# Every run that can move is on the active index: spread over this many keys, no key takes more than a
# sixty-fourth of the writes of the whole service.
ACTIVE_SHARDS = 64

# Below and above every "<timestamp>#<id>" sort key of the namespace index.
LOWEST_SORT_KEY, HIGHEST_SORT_KEY = "0", "~"

RUN = "RUN"
DEFINITION = "DEF"

_RUN_PREFIX = "RUN#"
_DEFINITION_PREFIX = "DEF#"
_COPY_PREFIX = "NS#"
_ITERATION_PREFIX = "LOOP#"


def key(pk: str, sk: str) -> Key:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


# ------------------------------------------------------------------ runs


def run_pk(run_id: str) -> str:
    return f"{_RUN_PREFIX}{run_id}"


def run_id_of(pk: str) -> str:
    return pk.removeprefix(_RUN_PREFIX)


def copy_sk(namespace: str) -> str:
    """A run's or a definition's copy for one of its namespaces."""
    return f"{_COPY_PREFIX}{namespace}"


COPY_SK_PREFIX = _COPY_PREFIX


def run_partition(namespace: str, shard: int) -> str:
    """One of the NamespaceIndex partitions of a namespace's runs (a run stays on the one it started on)."""
    return f"{_COPY_PREFIX}{namespace}#{RUN}#{shard}"


def definition_partition(namespace: str) -> str:
    """The NamespaceIndex partition of a namespace's definitions (written rarely: one is enough)."""
    return f"{_COPY_PREFIX}{namespace}#{DEFINITION}"


def created_sort_key(created_at: str, item_id: str) -> str:
    return f"{created_at}#{item_id}"


def created_upper_bound(end: str) -> str:
    """Above every sort key of an item created at ``end``, whatever its id."""
    return f"{end}#~"


def after_sort_key(sort_key: str, *, descending: bool) -> str:
    """The nearest bound strictly past ``sort_key`` in the listing's direction (sort keys all have one
    length, so one character more or less is enough)."""
    if descending:
        return sort_key[:-1] + chr(ord(sort_key[-1]) - 1) + "~"
    return sort_key + " "


def active_shard(run_id: str) -> int:
    return int(hashlib.sha256(run_id.encode()).hexdigest()[:4], 16) % ACTIVE_SHARDS


def active_partition(shard: int) -> str:
    return f"ACTIVE#{shard}"


def due_sort_key(due_ns: int) -> str:
    """(An index's sort key need not be unique: the entry's table key tells runs due together apart.)"""
    return f"{due_ns:020d}"


def due_upper_bound(now_ns: int) -> str:
    """Above the sort key of every run due at ``now_ns`` or before."""
    return f"{now_ns:020d}~"


# ------------------------------------------------------------------ iteration tasks


def iteration_sk(parent_task_id: str, index: int, sequenceno: int) -> str:
    return f"{_ITERATION_PREFIX}{parent_task_id}#{index:07d}#{sequenceno:07d}"


def iteration_prefix(parent_task_id: str | None = None, index: int | None = None) -> str:
    """Sort key prefix of a run's iteration tasks: all, those of one parent task, or of one iteration."""
    prefix = _ITERATION_PREFIX
    if parent_task_id is not None:
        prefix += f"{parent_task_id}#"
        if index is not None:
            prefix += f"{index:07d}#"
    return prefix


# ------------------------------------------------------------------ definitions


def definition_pk(definition_id: str) -> str:
    return f"{_DEFINITION_PREFIX}{definition_id}"


# ------------------------------------------------------------------ counters and idempotency


ALL_RUNS = "ALL"  # the counter attribute of all of a namespace's runs, beside one per status


def counter_key(namespace: str, shard: int) -> Key:
    """One shard of a namespace's run counters (the counts are the sums over its shards)."""
    return key(f"COUNT#{namespace}#{shard}", "COUNTS")


def namespace_shards_key(namespace: str) -> Key:
    return key(f"NAMESPACE#{namespace}", "SHARDS")


def idempotency_key(key_hash: str) -> Key:
    return key(f"IDEMPOTENCY#{key_hash}", "IDEMPOTENCY")
