#!/usr/bin/env python3
"""End-to-end throughput and memory benchmark of the npd daemon.

Measures what ../shared/README.md measured for upstream, the same way: the daemon reads a
pre-written kern.log of 1 M lines (../shared/bench/gen_kernlog.py) with upstream's 14 kernel
rules as a filelog config (../shared/bench/kernel-monitor-filelog-14rules.json, large
lookback), and is done when ``problem_counter`` on /metrics reaches the generator's expected
totals. Reported: wall time and lines/s (from process start, so interpreter start-up counts),
CPU seconds per million lines, peak RSS; then idle RSS with the bundled monitors.

A baseline is measured in the same run on the same file: reading it and splitting it into
lines in Python, the floor for any Python log reader. Ratios are printed against that and
against upstream's reference figures for this machine class.

    make bench                      # 1 M lines, 3 runs, median reported
    .venv/bin/python benchmarks/run.py --lines 200000 --runs 1   # quicker
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from workload import SHARED, baseline
from workload import generate as generate_kernlog

CONFIG = SHARED / "bench" / "kernel-monitor-filelog-14rules.json"
BIN = Path(sys.executable).parent

# Upstream node-problem-detector at commit 6632ca67 on this machine class (../shared/README.md).
UPSTREAM = {"lines_per_s": 86_000, "cpu_s_per_m": 11.5, "peak_rss_mib": 44.0, "idle_rss_mib": 37.0}


@dataclass
class Run:
    wall: float
    cpu: float
    peak_rss_mib: float


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def proc_status(pid: int, field: str) -> float:
    """A ``kB`` field of /proc/PID/status, in MiB."""
    with open(f"/proc/{pid}/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise KeyError(field)


def proc_cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def scrape_counters(port: int) -> dict[str, float] | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
            text = response.read().decode()
    except OSError:
        return None
    counters = {}
    for line in text.splitlines():
        if line.startswith("problem_counter{"):
            reason = line.split('reason="', 1)[1].split('"', 1)[0]
            counters[reason] = float(line.rsplit(" ", 1)[1])
    return counters


def generate(workdir: Path, lines: int) -> tuple[Path, dict[str, int]]:
    log, expected = generate_kernlog(workdir, lines)
    return log, {reason: count for reason, count in expected["expected_problem_counter"].items() if count}


def run_daemon(log: Path, expected: dict[str, int], workdir: Path, timeout: float) -> Run:
    config = json.loads(CONFIG.read_text())
    config["logPath"] = str(log)
    config_path = workdir / "kernel-monitor-filelog.json"
    config_path.write_text(json.dumps(config))
    state = workdir / "state"
    shutil.rmtree(state, ignore_errors=True)
    port = free_port()
    command = [
        str(BIN / "node-problem-detector"),
        "--enable-k8s-exporter=false",
        f"--config.system-log-monitor={config_path}",
        "--port=0",
        f"--prometheus-port={port}",
        f"--state-dir={state}",
    ]
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        while True:
            counters = scrape_counters(port)
            if counters is not None and all(counters.get(r, 0) >= n for r, n in expected.items()):
                wall = time.perf_counter() - start
                break
            if process.poll() is not None:
                raise RuntimeError(
                    f"daemon exited: {process.stderr.read().decode() if process.stderr else ''}"
                )
            if time.perf_counter() - start > timeout:
                raise RuntimeError(f"timed out; counters: {counters}")
            time.sleep(0.02)
        cpu = proc_cpu(process.pid)
        peak = proc_status(process.pid, "VmHWM")
        if counters != {**{r: 0.0 for r in counters}, **{r: float(n) for r, n in expected.items()}}:
            raise RuntimeError(f"counters differ from the expected totals: {counters} vs {expected}")
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)
    return Run(wall, cpu, peak)


def idle_rss(workdir: Path, settle: float) -> float:
    """RSS of ``npd run`` with the bundled monitors once it has settled."""
    port = free_port()
    command = [
        str(BIN / "npd"),
        "run",
        "--port=0",
        f"--prometheus-port={port}",
        f"--state-dir={workdir / 'idle'}",
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.perf_counter() + 20
        while scrape_counters(port) is None:
            if process.poll() is not None or time.perf_counter() > deadline:
                raise RuntimeError("npd run did not start")
            time.sleep(0.05)
        time.sleep(settle)
        return proc_status(process.pid, "VmRSS")
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--settle", type=float, default=5.0, help="seconds before reading idle RSS")
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="npd-bench-") as tmp:
        workdir = Path(tmp)
        log, expected = generate(workdir, args.lines)
        size_mb = log.stat().st_size / 1e6
        floor = baseline(log)
        runs = [run_daemon(log, expected, workdir, args.timeout) for _ in range(args.runs)]
        idle = idle_rss(workdir, args.settle)

    wall = statistics.median(run.wall for run in runs)
    cpu = statistics.median(run.cpu for run in runs)
    peak = max(run.peak_rss_mib for run in runs)
    lines_per_s = args.lines / wall
    cpu_per_m = cpu / args.lines * 1e6
    floor_rate = args.lines / floor
    print(f"workload: {args.lines:,} lines, {size_mb:.1f} MB, {sum(expected.values()):,} expected problems")
    print(f"baseline (same run): Python read+split {floor_rate / 1e3:,.0f} k lines/s")
    print(f"npd ({args.runs} runs, median): {wall:.2f} s wall from process start")
    print(
        f"  throughput   {lines_per_s / 1e3:8,.0f} k lines/s   {lines_per_s / floor_rate:.3f} x baseline   "
        f"{lines_per_s / UPSTREAM['lines_per_s']:.1f} x upstream ({UPSTREAM['lines_per_s'] / 1e3:.0f} k)"
    )
    print(
        f"  CPU          {cpu_per_m:8.2f} s per M lines      "
        f"{UPSTREAM['cpu_s_per_m'] / cpu_per_m:.1f} x less than upstream ({UPSTREAM['cpu_s_per_m']})"
    )
    print(f"  peak RSS     {peak:8.1f} MiB               upstream {UPSTREAM['peak_rss_mib']} MiB")
    print(f"  idle RSS     {idle:8.1f} MiB (bundled monitors) upstream {UPSTREAM['idle_rss_mib']} MiB")
    for number, run in enumerate(runs, 1):
        print(f"  run {number}: {run.wall:.2f} s wall, {run.cpu:.2f} s CPU, peak {run.peak_rss_mib:.1f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
