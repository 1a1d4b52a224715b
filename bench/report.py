"""The results table, printed and written to ``docs/benchmarks.md``."""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Row:
    figure: str
    measured: str
    target: str = "-"
    met: bool | None = None  # None: reported, no target
    peer: str = "-"  # the same figure for a service users would compare with, where one is published

    @property
    def verdict(self) -> str:
        if self.met is None:
            return "-"
        return "yes" if self.met else "**NO**"


def table(rows: list[Row]) -> str:
    header = ("figure", "measured", "target", "met", "peer")
    cells = [header, *[(row.figure, row.measured, row.target, row.verdict, row.peer) for row in rows]]
    widths = [max(len(line[column]) for line in cells) for column in range(len(header))]

    def line(values: tuple[str, ...]) -> str:
        return (
            "| " + " | ".join(value.ljust(width) for value, width in zip(values, widths, strict=True)) + " |"
        )

    rule = "|" + "|".join("-" * (width + 2) for width in widths) + "|"
    return "\n".join([line(cells[0]), rule, *(line(values) for values in cells[1:])])


def machine() -> str:
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    versions = ", ".join(
        f"{package} {metadata.version(package)}" for package in ("boto3", "moto", "aws-lambda-powertools")
    )
    return (
        f"{cpus} CPUs (nproc), {platform.machine()}, Python {platform.python_version()} "
        f"({sys.implementation.name}), {versions}; run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    )


def write_markdown(
    path: Path, rows: list[Row], how_measured: str, sections: dict[str, str], duration_s: float
) -> None:
    parts = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`python -m bench`); run it again to refresh this page.",
        "",
        table(rows),
        "",
        "## How measured",
        "",
        how_measured.strip(),
        "",
    ]
    for title, text in sections.items():
        parts += [f"## {title}", "", text.strip(), ""]
    parts += ["## Machine", "", f"{machine()}. The whole bench took {duration_s:.0f} s.", ""]
    path.write_text("\n".join(parts), encoding="utf-8")
