#!/usr/bin/env python3
"""Throughput of ``npd replay`` over recorded logs of 1 M lines, through the bundled monitors.

``../shared/bench/gen_kernlog.py`` writes a kern.log (syslog format, the kernel's lines, about
1 % of them problems); the benchmark also converts it to a raw kmsg dump and to
``journalctl -o json`` output, the same records in each. Each is replayed by the ``npd``
console script with the bundled monitors (``npd replay --output=json --progress FILE``), timed
from process start (interpreter start-up and config compilation included), with stdout to a
file. Reported per format, as the median of ``--runs`` runs: wall time, lines/s, CPU seconds,
peak RSS, the findings per reason (checked against the generator's counts for the reasons it
knows), and the last progress line ``npd replay`` wrote.

A baseline measured in the same run anchors the numbers to the machine: Python reading the
kern.log and splitting it into lines (best of three), the floor for any Python log reader.

    .venv/bin/python benchmarks/replay.py                          # 1 M lines, 3 runs
    .venv/bin/python benchmarks/replay.py --lines 200000 --runs 1 --formats syslog
    .venv/bin/python benchmarks/replay.py --config src/npd/config/defaults/kernel-monitor.json
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from workload import baseline, generate

BIN = Path(sys.executable).parent
FORMATS = ("syslog", "kmsg", "journal-json")
# "Nov 25 16:43:39 vm kernel: [  393.123456] message", as the generator writes it.
KERN_LINE = re.compile(r"^.{15} \S+ kernel: \[\s*(\d+)\.(\d+)\] (.*)$")
# The generator's first line is at this uptime (gen_kernlog.py: uptime0).
GENERATOR_UPTIME0 = 393.0


@dataclass
class Run:
    wall: float
    cpu: float
    peak_rss_mib: float
    findings: Counter[str]
    progress: str


def convert(log: Path, fmt: str, start_epoch: float) -> Path:
    """The kern.log's records as a kmsg dump or journalctl JSON (one line per record)."""
    if fmt == "syslog":
        return log
    out = log.with_name(f"kern.{fmt}")
    with open(log, encoding="utf-8") as source, open(out, "w", encoding="utf-8") as sink:
        for seq, line in enumerate(source, 1):
            found = KERN_LINE.match(line.rstrip("\n"))
            if found is None:
                continue
            usec = int(found.group(1)) * 1_000_000 + int(found.group(2))
            message = found.group(3)
            if fmt == "kmsg":
                sink.write(f"6,{seq},{usec},-;{message}\n")
            else:
                realtime = int(start_epoch * 1e6) + usec - int(GENERATOR_UPTIME0 * 1e6)
                entry = {
                    "__CURSOR": f"s=0123456789abcdef;i={seq:x};b=feedface;m={usec:x};t={realtime:x}",
                    "__REALTIME_TIMESTAMP": str(realtime),
                    "__MONOTONIC_TIMESTAMP": str(usec),
                    "_BOOT_ID": "feedfacefeedfacefeedfacefeedface",
                    "_TRANSPORT": "kernel",
                    "PRIORITY": "6",
                    "SYSLOG_FACILITY": "0",
                    "SYSLOG_IDENTIFIER": "kernel",
                    "_HOSTNAME": "vm",
                    "MESSAGE": message,
                }
                sink.write(json.dumps(entry) + "\n")
    return out


def run_replay(path: Path, fmt: str, workdir: Path, configs: list[str]) -> Run:
    findings_path = workdir / "findings.jsonl"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with open(findings_path, "wb") as findings_file:
        result = subprocess.run(
            [
                str(BIN / "npd"),
                "replay",
                "--output=json",
                "--progress",
                f"--format={fmt}",
                *(f"--config={config}" for config in configs),
                str(path),
            ],
            stdout=findings_file,
            stderr=subprocess.PIPE,
            check=False,
        )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    stderr = result.stderr.decode()
    if result.returncode not in (0, 1) or "Traceback" in stderr:
        raise RuntimeError(f"npd replay failed ({result.returncode}): {stderr}")
    findings: Counter[str] = Counter()
    with open(findings_path, encoding="utf-8") as handle:
        for line in handle:
            findings[json.loads(line)["reason"]] += 1
    progress = [line for line in stderr.splitlines() if "lines/s" in line]
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Run(wall, cpu, after.ru_maxrss / 1024, findings, progress[-1] if progress else "(none)")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--formats", default=",".join(FORMATS), help=f"comma-separated, of {', '.join(FORMATS)}"
    )
    parser.add_argument(
        "--config",
        action="append",
        default=[],
        help="a monitor config to replay with (default: the bundled ones)",
    )
    args = parser.parse_args()
    formats = [fmt for fmt in args.formats.split(",") if fmt]
    unknown = set(formats) - set(FORMATS)
    if unknown:
        parser.error(f"unknown formats: {', '.join(sorted(unknown))}")

    with tempfile.TemporaryDirectory(prefix="npd-replay-bench-") as tmp:
        workdir = Path(tmp)
        log, expected = generate(workdir, args.lines)
        counters: dict[str, int] = expected["expected_problem_counter"]  # type: ignore[assignment]
        floor = baseline(log)
        floor_rate = args.lines / floor
        print(f"workload: {args.lines:,} kernel lines, kern.log {log.stat().st_size / 1e6:.1f} MB")
        print(f"monitors: {', '.join(args.config) or 'the bundled ones'}")
        print(f"baseline (same run): Python read+split of the kern.log {floor_rate / 1e3:,.0f} k lines/s")
        for fmt in formats:
            path = convert(log, fmt, float(expected["start_epoch"]))  # type: ignore[arg-type]
            runs = [run_replay(path, fmt, workdir, args.config) for _ in range(args.runs)]
            wall = statistics.median(run.wall for run in runs)
            cpu = statistics.median(run.cpu for run in runs)
            rate = args.lines / wall
            size_mb = path.stat().st_size / 1e6
            print(
                f"{fmt:13} {size_mb:6.1f} MB  {wall:5.2f} s wall  {rate / 1e3:6,.0f} k lines/s  "
                f"({rate / floor_rate:.3f} x baseline)  {cpu:5.2f} s CPU  "
                f"peak RSS {max(run.peak_rss_mib for run in runs):.1f} MiB"
            )
            findings = runs[-1].findings
            checked = {
                reason: (findings.get(reason, 0), counters[reason])
                for reason in ("OOMKilling", "TaskHung")
                if counters.get(reason)
            }
            agree = all(got == want for got, want in checked.values())
            print(
                f"  {sum(findings.values()):,} findings: "
                + ", ".join(f"{reason} {count:,}" for reason, count in findings.most_common())
            )
            print(
                "  generator's counts: "
                + ", ".join(f"{reason} {want:,} ({'ok' if got == want else f'got {got:,}'})"
                            for reason, (got, want) in checked.items())
                + ("" if agree else "  MISMATCH")
            )  # fmt: skip
            print(f"  last progress line: {runs[-1].progress}")
            for number, run in enumerate(runs, 1):
                print(f"  run {number}: {run.wall:.2f} s wall, {run.cpu:.2f} s CPU")
    return 0


if __name__ == "__main__":
    sys.exit(main())
