"""One input through the engine: recognise its format, read it, write what is found."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from npd.config.logmonitor import LogMonitorConfig
from npd.replay.engine import Finding, ReplayEngine
from npd.replay.formats import Format, ReadOptions, detect, read_batches
from npd.replay.inputs import Input
from npd.replay.output import FindingWriter, InputSummary, Summary
from npd.replay.progress import Progress


def replay_input(
    source: Input,
    configs: Sequence[LogMonitorConfig],
    fmt: Format | None,
    *,
    boot_time: float,
    writer: FindingWriter,
    summary: Summary,
    progress: Progress,
) -> InputSummary:
    """Replay one input from its start to its end; ``fmt=None`` recognises the format.

    Raises :class:`npd.replay.inputs.InputError` when the input cannot be read to its end;
    what was found up to there has been written.
    """
    chunks = source.chunks()
    first = next(chunks, b"")
    note = ""
    if fmt is None:
        fmt = detect(first)
        if fmt is None:
            fmt = Format.PLAIN
            if first.strip():
                note = "no known format recognised, read as plain text"
    result = InputSummary(name=source.name, format=fmt.value, note=note)
    engine = ReplayEngine(configs, source.name)
    options = ReadOptions(reference=source.reference, boot_time=boot_time)
    for batch in read_batches(itertools.chain((first,), chunks), fmt, options):
        findings = engine.feed_batch(batch)
        result.lines += batch.lines
        result.junk += batch.junk
        result.skipped += batch.skipped
        _emit(findings, writer, summary, result)
        progress.update(source.name, source.consumed, source.size, result.lines)
    _emit(engine.finish(), writer, summary, result)
    progress.input_done(result.lines)
    summary.inputs.append(result)
    return result


def _emit(findings: Sequence[Finding], writer: FindingWriter, summary: Summary, result: InputSummary) -> None:
    if findings:
        writer.write(findings)
        summary.add(findings)
        result.findings += len(findings)
