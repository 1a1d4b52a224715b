"""The API keeps to its own OpenAPI document under fuzzing: schemathesis, every check, on the local server.

A bounded run (a few examples per operation and phase, a fixed seed: under a minute); ``make fuzz`` runs
the full one with a random seed. What runs and why is in ``localrun/fuzz.py``, ``localrun/schemathesis.toml``
and ``localrun/fuzz_hooks.py``.
"""

from __future__ import annotations

from localrun import fuzz

MAX_EXAMPLES = 3
SEED = 20261129


def test_fuzzing_finds_no_server_error_and_no_answer_outside_the_document(local_server: str) -> None:
    # When
    result = fuzz.fuzz_api(local_server, max_examples=MAX_EXAMPLES, seed=SEED)

    # Then
    assert result.generated >= 500, result.figures()
    assert result.clean, f"{result.figures()}\n\n{result.output[-30000:]}"
