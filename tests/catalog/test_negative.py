"""Normal boot and runtime lines, near-misses included, must not fire any bundled rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.catalog.harness import bundled_names, findings

NEGATIVE = Path(__file__).parent / "negative"


def _lines(path: Path) -> list[str]:
    return [line for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]


@pytest.mark.parametrize("corpus", sorted(NEGATIVE.glob("*.txt")), ids=lambda path: path.stem)
@pytest.mark.parametrize("config", bundled_names())
def test_no_false_positives(config: str, corpus: Path) -> None:
    lines = _lines(corpus)
    assert lines, f"{corpus} is empty"
    assert findings(config, lines) == []
