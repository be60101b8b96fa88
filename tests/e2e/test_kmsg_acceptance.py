"""Acceptance: `npd run` with the bundled defaults, fed through the real /dev/kmsg.

Writing ``<3>INFO: task docker:7 blocked for more than 120 seconds.`` to /dev/kmsg must turn
``/conditions`` to KernelDeadlock True (reason DockerHung) within 1 s and set
``problem_gauge{type="KernelDeadlock",reason="DockerHung"} 1``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from npd.sources.starttime import boot_id
from npd.state import StateStore
from tests.support.daemon import start_daemon
from tests.support.kmsg import last_kmsg_seq, require_kmsg, write_kmsg

pytestmark = pytest.mark.root


def kernel_deadlock(body: str) -> dict[str, str] | None:
    return next((c for c in json.loads(body) if c["type"] == "KernelDeadlock"), None)


def test_docker_hung_on_kmsg_sets_kernel_deadlock_within_a_second(tmp_path: Path) -> None:
    require_kmsg()
    # The ring may still hold a docker-hung line from an earlier run inside the bundled monitor's
    # 5-minute lookback; resume after the newest record instead, as a restarted npd would.
    state = StateStore(str(tmp_path / "state"))
    state.delivered(0)
    position = {"boot_id": boot_id(), "seq": last_kmsg_seq()}
    state.offer("bundled:kernel-monitor.json", 0, {"position": position})

    with start_daemon([], tool=True, state_dir=tmp_path / "state") as daemon:
        _, body = daemon.wait_for_page("/conditions", lambda s, b: kernel_deadlock(b) is not None)
        assert kernel_deadlock(body)["status"] == "False"  # type: ignore[index]

        written = time.monotonic()
        write_kmsg("<3>INFO: task docker:7 blocked for more than 120 seconds.")
        _, body = daemon.wait_for_page(
            "/conditions", lambda s, b: (kernel_deadlock(b) or {}).get("status") == "True", timeout=5
        )
        elapsed = time.monotonic() - written
        condition = kernel_deadlock(body)
        assert condition is not None
        assert condition["reason"] == "DockerHung"
        assert condition["message"] == "INFO: task docker:7 blocked for more than 120 seconds."
        assert elapsed < 1.0, f"took {elapsed:.3f}s"

        _, metrics = daemon.get("/metrics")
        assert 'problem_gauge{type="KernelDeadlock",reason="DockerHung"} 1' in metrics.splitlines()
        assert 'problem_counter{reason="TaskHung"} 1' in metrics.splitlines()

        lines = daemon.wait_for_stdout(lambda out: any("DockerHung" in line for line in out))
        assert any("TaskHung" in line and "task docker:7 blocked" in line for line in lines)
        assert daemon.stop() == 0
