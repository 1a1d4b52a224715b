"""Figure 3: cold start of each API function against the floor of any Python function using DynamoDB.

Each measurement is a fresh Python process with the environment the function gets from the template
(``PYTHONPATH=layers/shared:.``, fake credentials). It times, inside the process, importing the handler
module (which builds its Logger, Metrics and resolver) and creating the DynamoDB client its first request
creates; the floor is ``import boto3; boto3.client("dynamodb")``. Targets run in turn, round after round,
so that a busy moment of the machine falls on all of them alike; bytecode is compiled once beforehand
(into a private cache folder), as it is for a deployed package's dependencies.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass

from bench import LAYER_DIR, REPO_ROOT
from bench.report import Row
from bench.stack import FAKE_CREDENTIALS

ROUNDS = 7
TARGET_RATIO = 1.3
FLOOR = "floor"
IMPORT_TIME_TOP = 10

_FLOOR_CODE = 'import boto3; boto3.client("dynamodb")'
_PROBE = """
import sys, time
started = time.perf_counter()
if sys.argv[1] == "floor":
    import boto3
    boto3.client("dynamodb")
else:
    import importlib
    importlib.import_module(sys.argv[1])
    from workflowsvc.store import dynamo
    dynamo.dynamodb_client()
print(time.perf_counter() - started)
"""


@dataclass(frozen=True)
class Target:
    label: str
    module: str  # FLOOR for the floor
    environment: dict[str, str]
    has_target: bool = True


@dataclass(frozen=True)
class ImportCost:
    module: str
    cumulative_ms: float
    self_ms: float
    added_ms: float  # spent on this module and those it imports, leaving out the modules the floor loads
    largest_import_ms: float = 0.0  # the largest added_ms among the modules it imports

    @property
    def passes_through(self) -> bool:
        """Nearly all its added time is one module it imports (listing both says nothing new)."""
        return self.largest_import_ms >= 0.9 * self.added_ms


def _environment(function_environment: dict[str, str], cache_dir: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "PYTHONPATH": f"{LAYER_DIR}{os.pathsep}{REPO_ROOT}",
        "PYTHONPYCACHEPREFIX": cache_dir,
        **FAKE_CREDENTIALS,
        **function_environment,
    }


def _python(
    arguments: list[str], environment: dict[str, str], cache_dir: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *arguments],
        env=_environment(environment, cache_dir),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )


def _probe(target: Target, cache_dir: str) -> float:
    result = _python(["-c", _PROBE, target.module], target.environment, cache_dir)
    return float(result.stdout.strip().splitlines()[-1])


def _compile_everything(targets: list[Target], cache_dir: str) -> None:
    """One untimed process that imports every target, so each timed one finds its bytecode."""
    modules = [target.module for target in targets if target.module != FLOOR]
    script = "\n".join([_FLOOR_CODE, *(f"import {module}" for module in modules)])
    _python(["-c", script], targets[0].environment, cache_dir)


def import_costs(
    code: str, environment: dict[str, str], cache_dir: str, floor: frozenset[str] = frozenset()
) -> list[ImportCost]:
    """``python -X importtime -c code``: every module imported, slowest (cumulatively) first.

    importtime lists a module after those it imports, indented one step deeper.
    """
    result = _python(["-X", "importtime", "-c", code], environment, cache_dir)
    costs: list[ImportCost] = []
    pending: list[tuple[int, ImportCost]] = []  # modules whose importer is not listed yet
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "[us]" in line:
            continue
        self_us, cumulative_us, field = line.removeprefix("import time:").split("|", 2)
        depth = (len(field) - len(field.lstrip()) - 1) // 2
        module = field.strip()
        imported: list[ImportCost] = []
        while pending and pending[-1][0] > depth:
            imported.append(pending.pop()[1])
        own_ms = int(self_us) / 1000
        added = 0.0 if module in floor else own_ms + sum(cost.added_ms for cost in imported)
        largest = max((cost.added_ms for cost in imported), default=0.0)
        cost = ImportCost(module, int(cumulative_us) / 1000, own_ms, added, largest)
        pending.append((depth, cost))
        costs.append(cost)
    return sorted(costs, key=lambda cost: cost.cumulative_ms, reverse=True)


def _import_section(slowest: Target, cache_dir: str) -> str:
    floor = frozenset(cost.module for cost in import_costs(_FLOOR_CODE, slowest.environment, cache_dir))
    costs = import_costs(f"import {slowest.module}", slowest.environment, cache_dir, floor)
    root, *rest = sorted(costs, key=lambda cost: cost.added_ms, reverse=True)
    added = [root, *(cost for cost in rest if cost.added_ms > 0 and not cost.passes_through)]
    return "\n".join(
        [
            f'`python -X importtime -c "import {slowest.module}"` (the slowest API handler), top '
            f"{IMPORT_TIME_TOP} by cumulative time (a module's time includes what it imports):",
            "",
            *(
                f"- `{c.module}`: {c.cumulative_ms:.0f} ms ({c.self_ms:.1f} ms itself)"
                for c in costs[:IMPORT_TIME_TOP]
            ),
            "",
            "What the handler adds to the floor: the same import, counting only the modules that "
            f"`{_FLOOR_CODE}` does not load; the first line is the total, and a module whose time is "
            f"nearly all one module it imports gives way to that module (top {IMPORT_TIME_TOP}):",
            "",
            *(f"- `{c.module}`: {c.added_ms:.0f} ms" for c in added[:IMPORT_TIME_TOP]),
        ]
    )


def measure(targets: list[Target]) -> tuple[list[Row], str]:
    """Rows of the table, and where the slowest API handler's import time goes (markdown)."""
    floor = Target("floor", FLOOR, targets[0].environment)
    everything = [floor, *targets]
    with tempfile.TemporaryDirectory(prefix="bench-pycache-") as cache_dir:
        _compile_everything(everything, cache_dir)
        seconds: dict[str, list[float]] = {target.label: [] for target in everything}
        for _ in range(ROUNDS):
            for target in everything:
                seconds[target.label].append(_probe(target, cache_dir))
        medians = {label: statistics.median(values) * 1000 for label, values in seconds.items()}
        slowest = max((t for t in targets if t.has_target), key=lambda t: medians[t.label])
        section = _import_section(slowest, cache_dir)

    floor_ms = medians[floor.label]
    floor_label = f'cold start: floor, `import boto3; boto3.client("dynamodb")` (median of {ROUNDS})'
    rows = [Row(floor_label, f"{floor_ms:.0f} ms")]
    for target in targets:
        ratio = medians[target.label] / floor_ms
        rows.append(
            Row(
                f"cold start: `{target.module}` + DynamoDB client",
                f"{medians[target.label]:.0f} ms = {ratio:.2f}x floor",
                f"<= {TARGET_RATIO}x floor" if target.has_target else "-",
                ratio <= TARGET_RATIO if target.has_target else None,
            )
        )
    return rows, section
