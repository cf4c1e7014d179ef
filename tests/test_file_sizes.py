"""One idea per module: no file in relaywidgets/ over 500 lines unless its top says why."""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "relaywidgets"
LIMIT = 500
REASON = "Longer than 500 lines because"


def test_no_module_over_the_limit_without_a_written_reason():
    too_long = []
    for path in sorted(PACKAGE.rglob("*.py")):
        lines = path.read_text(encoding="utf-8").splitlines()
        if len(lines) > LIMIT and not any(REASON in line for line in lines[:30]):
            too_long.append(f"{path.relative_to(PACKAGE.parent)} ({len(lines)} lines)")
    assert not too_long, (
        f"Split these modules, or write '{REASON} ...' in their first 30 lines: {too_long}"
    )
