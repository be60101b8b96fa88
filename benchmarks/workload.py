"""What both benchmarks share: the generated kernel log and the same-run baseline.

Imported by ``run.py`` and ``replay.py``, which run as scripts from this directory.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
GENERATOR = SHARED / "bench" / "gen_kernlog.py"


def generate(workdir: Path, lines: int) -> tuple[Path, dict[str, Any]]:
    """A kern.log of ``lines`` lines from the shared generator, and its ``expected.json``."""
    log = workdir / "kern.log"
    subprocess.run(
        [sys.executable, str(GENERATOR), "--lines", str(lines), "--out", str(log)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return log, json.loads(Path(f"{log}.expected.json").read_text())


def baseline(log: Path) -> float:
    """Seconds for Python to read the file and split it into lines (best of 3)."""
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        with open(log, "rb") as handle:
            while chunk := handle.read(1 << 20):
                chunk.split(b"\n")
        best = min(best, time.perf_counter() - start)
    return best
