"""FileTailer: whole lines only, across every rotation style, resumably, without leaks or spinning.

The rotation tests run a writer thread that appends numbered lines at a measured ≥ 10,000 lines/s
and rotates the file while it writes; every line written must arrive exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import os
import shutil
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Coroutine
from pathlib import Path
from typing import Any

import pytest

from npd.sources import tail
from npd.sources.base import Position, SourceHealth
from npd.sources.tail import FileTailer, TailChunk

FILLER = b"kernel: [ 1234.567890] some message text to make the line longer"
END = b"END"


def line_for(number: int) -> bytes:
    return b"%08d %s\n" % (number, FILLER)


def health() -> SourceHealth:
    return SourceHealth(kind="filelog", name="test")


def run(coro: Coroutine[Any, Any, Any], timeout: float = 10.0) -> Any:
    """Run ``coro`` under a deadline, so that a hung tailer fails the test instead of hanging it."""

    async def guarded() -> Any:
        async with asyncio.timeout(timeout):
            return await coro

    return asyncio.run(guarded())


async def take_lines(chunks: AsyncIterator[TailChunk], count: int) -> tuple[list[bytes], TailChunk]:
    """The next ``count`` lines (whole chunks; more is an error) and the last chunk."""
    lines: list[bytes] = []
    while len(lines) < count:
        chunk = await anext(chunks)
        assert chunk.data.endswith(b"\n")
        assert chunk.lines == chunk.data.count(b"\n")
        lines.extend(chunk.data.splitlines())
    assert len(lines) == count, lines
    return lines, chunk


async def assert_quiet(chunks: AsyncIterator[TailChunk], seconds: float) -> None:
    """No chunk arrives for ``seconds`` (awaiting one, with a deadline; ends the iterator)."""
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(seconds):
            chunk = await anext(chunks)
            pytest.fail(f"unexpected chunk {chunk.data[:200]!r}")


def fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


# -- the writer -------------------------------------------------------------------------------


class Writer(threading.Thread):
    """Appends numbered lines to ``path`` at ``rate`` lines/s and rotates it every ``every`` lines.

    Like a real logger it writes with O_APPEND and, after a rename or delete rotation, keeps
    writing to the old file for ``lag`` more lines before it reopens the path (its SIGHUP), while
    another process logs the first line of the new file at once: the new file has data while
    the old one is still being written. Every seventh line is written in two halves, so the
    tailer sees partial lines. copytruncate is done between two lines: the writer is paused
    while the file is copied and truncated, because lines written in between are lost by
    copytruncate itself, for every reader.
    """

    def __init__(
        self, path: Path, style: str, *, total: int, every: int, lag: int, rate: float = 20_000
    ) -> None:
        super().__init__(daemon=True)
        self.path, self.style, self.total, self.every, self.lag, self.rate = (
            path,
            style,
            total,
            every,
            lag,
            rate,
        )
        self.rotations = 0
        self.elapsed = 0.0
        self.error: BaseException | None = None

    def _open(self) -> int:
        return os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)

    def _shift(self) -> None:
        """path.N -> path.N+1, oldest first, as logrotate does."""
        for n in range(self.rotations, 0, -1):
            os.rename(f"{self.path}.{n}", f"{self.path}.{n + 1}")

    def _rotate(self) -> None:
        if self.style == "rename":
            self._shift()
            os.rename(self.path, f"{self.path}.1")
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))  # logrotate's `create`
        elif self.style == "delete":
            os.unlink(self.path)
        else:
            self._shift()
            shutil.copyfile(self.path, f"{self.path}.1")
            os.truncate(self.path, 0)
        self.rotations += 1

    def run(self) -> None:
        try:
            self._write_all()
        except BaseException as exc:  # reported by the test
            self.error = exc

    def _write_all(self) -> None:
        fd = self._open()
        reopen_at = -1
        start = time.perf_counter()
        for number in range(self.total):
            if number and number % self.every == 0:
                self._rotate()
                if self.style != "copytruncate":
                    reopen_at = number + self.lag
                    other = self._open()
                    os.write(other, line_for(number))
                    os.close(other)
                    continue
            if number == reopen_at:
                os.close(fd)
                fd = self._open()
            line = line_for(number)
            if number % 7 == 3:
                os.write(fd, line[:5])
                os.write(fd, line[5:])
            else:
                os.write(fd, line)
            if number % 100 == 99:
                ahead = start + (number + 1) / self.rate - time.perf_counter()
                if ahead > 0:
                    time.sleep(ahead)  # pacing the writer, not waiting for the tailer
        self.elapsed = time.perf_counter() - start
        os.write(fd, END + b"\n")
        os.close(fd)


async def follow_writer(tailer: FileTailer, writer: Writer, quiet: float) -> list[int]:
    """Every line number the tailer yields up to the writer's END line, then checks it stays quiet."""
    numbers: list[int] = []
    chunks = tailer.chunks()
    writer.start()
    try:
        done = False
        while not done:
            chunk = await anext(chunks)
            assert chunk.data.endswith(b"\n") and chunk.lines == chunk.data.count(b"\n")
            json.dumps(chunk.position)
            for line in chunk.data.splitlines():
                if line == END:
                    done = True
                    continue
                number = int(line[:8])
                assert line + b"\n" == line_for(number), line
                numbers.append(number)
        await assert_quiet(chunks, quiet)
    finally:
        await tailer.aclose()
        await asyncio.to_thread(writer.join)
    return numbers


def check_all_once(numbers: list[int], writer: Writer, rotations: int) -> None:
    assert writer.error is None, writer.error
    rate = writer.total / writer.elapsed
    assert rate >= 10_000, f"the writer managed only {rate:.0f} lines/s"
    assert writer.rotations == rotations
    duplicates = [n for n, seen in Counter(numbers).items() if seen > 1]
    assert not duplicates, duplicates[:20]
    missing = sorted(set(range(writer.total)) - set(numbers))
    assert not missing, f"{len(missing)} lines lost, first {missing[:20]}"
    assert len(numbers) == writer.total


@pytest.mark.parametrize("use_inotify", [True, False], ids=["inotify", "polling"])
@pytest.mark.parametrize("style", ["rename", "copytruncate", "delete"])
def test_rotation_while_writing_loses_and_doubles_nothing(
    tmp_path: Path, style: str, use_inotify: bool
) -> None:
    path = tmp_path / "kern.log"
    path.touch()
    writer = Writer(path, style, total=30_000, every=7_500, lag=1_000)
    h = health()
    tailer = FileTailer(str(path), h, poll_interval=0.05, use_inotify=use_inotify)
    numbers = run(follow_writer(tailer, writer, quiet=0.2), timeout=20)
    check_all_once(numbers, writer, rotations=3)
    if style == "copytruncate":
        assert h.extra["truncations"] == 3
    else:
        assert h.extra["rotations"] == 3
    assert h.extra["rotation_gaps"] == 0
    assert h.lines_read == writer.total + 1
    print(f"{style}/{'inotify' if use_inotify else 'polling'}: {writer.total} lines at "
          f"{writer.total / writer.elapsed:.0f} lines/s")  # fmt: skip


def test_rotations_faster_than_the_grace_period_chain_files(tmp_path: Path) -> None:
    """A file rotated away again before the one before it was let go still gets read in full."""
    path = tmp_path / "kern.log"
    path.touch()
    writer = Writer(path, "rename", total=24_000, every=2_000, lag=300)
    tailer = FileTailer(str(path), health(), poll_interval=0.1, rotate_grace=0.3)
    numbers = run(follow_writer(tailer, writer, quiet=0.4), timeout=20)
    check_all_once(numbers, writer, rotations=11)


# -- lines --------------------------------------------------------------------------------------


def test_reads_from_the_start_then_follows_appends(tmp_path: Path) -> None:
    path = tmp_path / "log"
    path.write_bytes(b"a\nb\n")

    async def main() -> None:
        tailer = FileTailer(str(path), health())
        chunks = tailer.chunks()
        try:
            lines, chunk = await take_lines(chunks, 2)
            assert lines == [b"a", b"b"]
            assert chunk.position["offset"] == 4
            with path.open("ab") as f:
                f.write(b"c\n")
            lines, chunk = await take_lines(chunks, 1)
            assert lines == [b"c"]
            assert chunk.position["offset"] == 6
        finally:
            await tailer.aclose()

    run(main())


def test_partial_line_is_held_until_its_newline_arrives(tmp_path: Path) -> None:
    path = tmp_path / "log"
    path.write_bytes(b"one\ntw")

    async def main() -> None:
        tailer = FileTailer(str(path), health())
        chunks = tailer.chunks()
        try:
            lines, chunk = await take_lines(chunks, 1)
            assert lines == [b"one"]
            assert chunk.position["offset"] == 4
            with path.open("ab") as f:
                f.write(b"o")
            pending = asyncio.ensure_future(anext(chunks))
            await asyncio.sleep(0)  # one loop turn: the tailer reads "two" and waits for its newline
            assert not pending.done()
            with path.open("ab") as f:
                f.write(b"\nthree\n")
            assert (await pending).data == b"two\nthree\n"
        finally:
            await tailer.aclose()

    run(main())


def test_big_file_is_read_in_chunks_of_whole_lines(tmp_path: Path) -> None:
    path = tmp_path / "log"
    path.write_bytes(b"".join(line_for(n) for n in range(100_000)))  # 7.4 MB

    async def main() -> None:
        h = health()
        tailer = FileTailer(str(path), h, chunk_size=1 << 16)
        chunks = tailer.chunks()
        try:
            seen = 0
            count = 0
            while seen < 100_000:
                chunk = await anext(chunks)
                assert chunk.data.endswith(b"\n")
                assert chunk.data.startswith(line_for(seen))
                seen += chunk.lines
                count += 1
            assert seen == 100_000
            assert count >= path.stat().st_size // (1 << 16)
            assert chunk.position["offset"] == path.stat().st_size
            assert h.lines_read == 100_000 and h.alive
        finally:
            await tailer.aclose()

    run(main())


def test_binary_junk_passes_through_as_bytes(tmp_path: Path) -> None:
    junk = b"\x00\xff\xfe bad utf-8 \xc3\x28 \x00\x00\n" + bytes(range(256)).replace(b"\n", b"") + b"\n"
    path = tmp_path / "log"
    path.write_bytes(junk)

    async def main() -> None:
        tailer = FileTailer(str(path), health())
        try:
            chunk = await anext(tailer.chunks())
            assert chunk.data == junk
            assert chunk.lines == 2
        finally:
            await tailer.aclose()

    run(main())


def test_a_line_without_newline_is_cut_at_max_line(tmp_path: Path) -> None:
    long = bytes(range(97, 123)) * 100  # 2600 bytes
    path = tmp_path / "log"
    path.write_bytes(long + b"\nshort\n")

    async def main() -> None:
        h = health()
        tailer = FileTailer(str(path), h, chunk_size=256, max_line=1000)
        try:
            lines, _ = await take_lines(tailer.chunks(), 4)
            assert b"".join(lines[:3]) == long
            assert all(len(line) <= 1000 + 256 for line in lines)
            assert lines[3] == b"short"
            assert h.extra["oversized_lines"] == 2
        finally:
            await tailer.aclose()

    run(main())


# -- rotation, deterministic -----------------------------------------------------------------------


def test_partial_last_line_of_a_rotated_file_becomes_a_line(tmp_path: Path) -> None:
    path = tmp_path / "log"
    path.write_bytes(b"x\ny")

    async def main() -> None:
        tailer = FileTailer(str(path), health(), poll_interval=0.05)
        chunks = tailer.chunks()
        try:
            assert (await take_lines(chunks, 1))[0] == [b"x"]
            path.rename(tmp_path / "log.1")
            path.write_bytes(b"z\n")
            first = await anext(chunks)
            assert first.data == b"y\n"
            assert first.position["offset"] == 3  # just after "y" in the old file
            assert (await anext(chunks)).data == b"z\n"
        finally:
            await tailer.aclose()

    run(main())


def test_copytruncate_finishes_the_copy_before_the_truncated_file(tmp_path: Path) -> None:
    path = tmp_path / "log"
    old = b"".join(line_for(n) for n in range(30))
    path.write_bytes(old[: len(line_for(0)) * 10])

    async def main() -> None:
        h = health()
        tailer = FileTailer(str(path), h)
        chunks = tailer.chunks()
        try:
            await take_lines(chunks, 10)
            # All of this happens before the tailer runs again: lines 10..29 were never read
            # from the live file, only the copy still has them.
            path.write_bytes(old)
            shutil.copyfile(path, tmp_path / "log.1")
            os.truncate(path, 0)
            path.write_bytes(line_for(100))
            lines, _ = await take_lines(chunks, 21)
            assert lines == [line_for(n)[:-1] for n in [*range(10, 30), 100]]
            assert h.extra["truncations"] == 1
        finally:
            await tailer.aclose()

    run(main())


def test_a_queued_file_copytruncated_before_it_is_read_is_finished_from_its_copy(tmp_path: Path) -> None:
    """Rename rotation, then a copytruncate of the new file while the old one is still drained."""
    path = tmp_path / "log"
    path.write_bytes(b"".join(line_for(n) for n in range(10)))

    async def main() -> None:
        tailer = FileTailer(str(path), health(), poll_interval=0.05, rotate_grace=0.3)
        chunks = tailer.chunks()
        try:
            await take_lines(chunks, 10)
            os.rename(path, tmp_path / "log.1")
            path.write_bytes(b"".join(line_for(n) for n in range(20, 30)))
            # The old writer is not done yet: line 10 lands in the rotated file.
            (tmp_path / "log.1").write_bytes(b"".join(line_for(n) for n in range(11)))
            await asyncio.sleep(0.1)  # past the poll interval: the next step looks at the path again
            await take_lines(chunks, 1)  # line 10, from the old file; the new one is queued behind it
            # Before the tailer runs again, the queued file is copytruncated and written anew.
            shutil.copyfile(path, tmp_path / "log.2")
            os.truncate(path, 0)
            path.write_bytes(line_for(100))
            lines, _ = await take_lines(chunks, 11)
            assert lines == [line_for(n)[:-1] for n in [*range(20, 30), 100]]
        finally:
            await tailer.aclose()

    run(main())


def test_truncate_and_rewrite_past_the_offset_is_seen_by_the_first_bytes(tmp_path: Path) -> None:
    """The writer got past our old offset before we looked: the size check alone would miss it."""
    path = tmp_path / "log"
    path.write_bytes(b"".join(line_for(n) for n in range(5)))

    async def main() -> None:
        h = health()
        tailer = FileTailer(str(path), h)
        chunks = tailer.chunks()
        try:
            await take_lines(chunks, 5)
            path.write_bytes(b"".join(line_for(n) for n in range(1000, 1020)))  # O_TRUNC, longer than before
            lines, _ = await take_lines(chunks, 20)
            assert lines == [line_for(n)[:-1] for n in range(1000, 1020)]
            assert h.extra["truncations"] == 1
        finally:
            await tailer.aclose()

    run(main())


def test_deleted_file_is_drained_and_the_recreated_one_read(tmp_path: Path) -> None:
    path = tmp_path / "log"
    path.write_bytes(b"a\n")
    writer_fd = os.open(path, os.O_WRONLY | os.O_APPEND)

    async def main() -> None:
        h = health()
        tailer = FileTailer(str(path), h, poll_interval=0.05)
        chunks = tailer.chunks()
        try:
            await take_lines(chunks, 1)
            path.unlink()
            os.write(writer_fd, b"b\n")  # the writer still has the deleted file open
            assert (await take_lines(chunks, 1))[0] == [b"b"]
            os.write(writer_fd, b"c\n")
            path.write_bytes(b"d\n")
            lines, _ = await take_lines(chunks, 2)
            assert lines == [b"c", b"d"]
            assert h.extra["rotations"] == 1
        finally:
            await tailer.aclose()
            os.close(writer_fd)

    run(main())


def test_missing_file_is_waited_for(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "log"  # not even the directory exists yet

    async def main() -> None:
        h = health()
        tailer = FileTailer(str(path), h, poll_interval=0.05)
        chunks = tailer.chunks()
        try:
            pending = asyncio.ensure_future(anext(chunks))
            await asyncio.sleep(0)  # one loop turn: the tailer looks and starts waiting
            assert not h.alive and "does not exist" in h.detail
            path.parent.mkdir()
            path.write_bytes(b"hello\n")
            assert (await pending).data == b"hello\n"
            assert h.alive and h.read_errors == 0
            path.unlink()
            pending = asyncio.ensure_future(anext(chunks))
            path.write_bytes(b"again\n")
            assert (await pending).data == b"again\n"
        finally:
            await tailer.aclose()

    run(main())


def test_read_errors_are_retried_with_backoff(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "log"
    path.write_bytes(b"ok\n")
    failures = [PermissionError(errno.EACCES, "Permission denied", str(path))] * 2
    real_open = tail._open_fd

    def flaky_open(name: str) -> int:
        if failures:
            raise failures.pop()
        return real_open(name)

    monkeypatch.setattr(tail, "_open_fd", flaky_open)

    async def main() -> None:
        h = health()
        tailer = FileTailer(str(path), h)
        try:
            assert (await anext(tailer.chunks())).data == b"ok\n"
            assert h.read_errors == 2 and h.alive and h.detail == "reading"
        finally:
            await tailer.aclose()

    run(main())


def test_an_unopenable_new_file_does_not_stop_the_old_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "log"
    path.write_bytes(b"1\n")
    locked = [True]
    real_open = tail._open_fd

    def guarded_open(name: str) -> int:
        if locked[0] and os.stat(name).st_ino != (tmp_path / "log.1").stat().st_ino:
            raise PermissionError(errno.EACCES, "Permission denied", name)
        return real_open(name)

    async def main() -> None:
        tailer = FileTailer(str(path), health(), poll_interval=0.05)
        chunks = tailer.chunks()
        try:
            await take_lines(chunks, 1)
            path.rename(tmp_path / "log.1")
            monkeypatch.setattr(tail, "_open_fd", guarded_open)
            path.write_bytes(b"3\n")
            with (tmp_path / "log.1").open("ab") as f:
                f.write(b"2\n")
            assert (await take_lines(chunks, 1))[0] == [b"2"]
            locked[0] = False
            assert (await take_lines(chunks, 1))[0] == [b"3"]
        finally:
            await tailer.aclose()

    run(main())


# -- resuming ---------------------------------------------------------------------------------------


async def read_all_then_position(path: Path, count: int) -> Position:
    tailer = FileTailer(str(path), health())
    try:
        _, chunk = await take_lines(tailer.chunks(), count)
    finally:
        await tailer.aclose()
    saved: Position = json.loads(json.dumps(chunk.position))
    return saved


async def resume_and_take(path: Path, position: Position, count: int, h: SourceHealth) -> list[bytes]:
    tailer = FileTailer(str(path), h, position=position, poll_interval=0.05)
    chunks = tailer.chunks()
    try:
        lines, _ = await take_lines(chunks, count)
        await assert_quiet(chunks, 0.2)
    finally:
        await tailer.aclose()
    return lines


def test_resume_in_the_same_file(tmp_path: Path) -> None:
    path = tmp_path / "log"
    path.write_bytes(b"1\n2\n3\n")

    async def main() -> None:
        position = await read_all_then_position(path, 3)
        with path.open("ab") as f:
            f.write(b"4\n5\n")
        assert await resume_and_take(path, position, 2, health()) == [b"4", b"5"]

    run(main())


def test_resume_after_rename_rotation_while_down(tmp_path: Path) -> None:
    path = tmp_path / "log"
    path.write_bytes(b"1\n2\n")

    async def main() -> None:
        position = await read_all_then_position(path, 2)
        with path.open("ab") as f:
            f.write(b"3\n")  # written after the daemon stopped, before the rotation
        path.rename(tmp_path / "log.1")
        path.write_bytes(b"4\n5\n")
        h = health()
        assert await resume_and_take(path, position, 3, h) == [b"3", b"4", b"5"]
        assert h.extra["rotation_gaps"] == 0

    run(main())


def test_resume_from_a_position_in_a_rotated_file(tmp_path: Path) -> None:
    path = tmp_path / "log"
    path.write_bytes(b"1\n")

    async def main() -> None:
        tailer = FileTailer(str(path), health(), poll_interval=0.05)
        chunks = tailer.chunks()
        try:
            await take_lines(chunks, 1)
            path.rename(tmp_path / "log.1")
            with (tmp_path / "log.1").open("ab") as f:
                f.write(b"2\n")
            path.write_bytes(b"3\n")
            _, chunk = await take_lines(chunks, 1)  # "2", from the rotated file
        finally:
            await tailer.aclose()
        assert chunk.position["ino"] == (tmp_path / "log.1").stat().st_ino
        assert await resume_and_take(path, chunk.position, 1, health()) == [b"3"]

    run(main())


def test_resume_after_truncation_while_down_reads_from_the_start(tmp_path: Path) -> None:
    path = tmp_path / "log"
    path.write_bytes(b"1\n2\n3\n")

    async def main() -> None:
        position = await read_all_then_position(path, 3)
        with path.open("r+b") as f:  # same inode, shorter
            f.truncate(0)
            f.write(b"9\n")
        assert await resume_and_take(path, position, 1, health()) == [b"9"]

    run(main())


def test_resume_after_rewrite_while_down_is_caught_by_the_fingerprint(tmp_path: Path) -> None:
    path = tmp_path / "log"
    path.write_bytes(b"1\n2\n")

    async def main() -> None:
        position = await read_all_then_position(path, 2)
        with path.open("r+b") as f:  # same inode, now longer than the offset, other content
            f.truncate(0)
            f.write(b"7\n8\n9\n")
        assert await resume_and_take(path, position, 3, health()) == [b"7", b"8", b"9"]

    run(main())


def test_resume_after_copytruncate_while_down_finishes_the_copy(tmp_path: Path) -> None:
    path = tmp_path / "log"
    first = b"".join(line_for(n) for n in range(3))
    path.write_bytes(first)

    async def main() -> None:
        position = await read_all_then_position(path, 3)
        with path.open("ab") as f:
            f.write(line_for(3))
        shutil.copyfile(path, tmp_path / "log.1")
        with path.open("r+b") as f:
            f.truncate(0)
            f.write(line_for(4))
        lines = await resume_and_take(path, position, 2, health())
        assert lines == [line_for(3)[:-1], line_for(4)[:-1]]

    run(main())


def test_resume_when_the_saved_file_is_gone_counts_a_gap(tmp_path: Path) -> None:
    path = tmp_path / "log"
    path.write_bytes(b"1\n2\n")

    async def main() -> None:
        position = await read_all_then_position(path, 2)
        path.rename(tmp_path / "log.1.gz")  # compressed: not readable as the log
        path.write_bytes(b"3\n")
        h = health()
        assert await resume_and_take(path, position, 1, h) == [b"3"]
        assert h.extra["rotation_gaps"] == 1

    run(main())


def test_unusable_position_reads_from_the_start(tmp_path: Path) -> None:
    path = tmp_path / "log"
    path.write_bytes(b"1\n")
    assert run(resume_and_take(path, {"offset": "x"}, 1, health())) == [b"1"]
    other = {"path": "/elsewhere", "dev": 1, "ino": 2, "offset": 0, "fingerprint": "", "fingerprint_len": 0}
    assert run(resume_and_take(path, other, 1, health())) == [b"1"]


# -- resources --------------------------------------------------------------------------------------


@pytest.mark.parametrize("stop", ["cancel", "aclose"])
def test_stopping_closes_every_fd(tmp_path: Path, stop: str) -> None:
    path = tmp_path / "log"
    path.write_bytes(b"1\n")

    async def main() -> None:
        before = fd_count()
        tailer = FileTailer(str(path), health(), rotate_grace=30)
        chunks = tailer.chunks()
        await take_lines(chunks, 1)
        path.rename(tmp_path / "log.1")
        path.write_bytes(b"2\n")
        task = asyncio.ensure_future(anext(chunks))
        await asyncio.sleep(0)  # one loop turn: the tailer opens the new file and waits
        assert fd_count() >= before + 3  # inotify, the old file, the new one
        if stop == "cancel":
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        else:  # from another task, while the iterating one waits inside the generator
            await tailer.aclose()
            with pytest.raises(StopAsyncIteration):
                await task
        assert fd_count() == before

    run(main())


def test_aclose_while_suspended_at_a_chunk_closes_every_fd(tmp_path: Path) -> None:
    path = tmp_path / "log"
    path.write_bytes(b"1\n")

    async def main() -> None:
        before = fd_count()
        tailer = FileTailer(str(path), health())
        await anext(tailer.chunks())
        assert fd_count() == before + 2
        await tailer.aclose()
        assert fd_count() == before

    run(main())


@pytest.mark.parametrize("use_inotify", [True, False], ids=["inotify", "polling"])
def test_idle_tailer_uses_almost_no_cpu(tmp_path: Path, use_inotify: bool) -> None:
    path = tmp_path / "log"
    path.write_bytes(b"1\n")

    async def main() -> None:
        tailer = FileTailer(str(path), health(), poll_interval=0.05, use_inotify=use_inotify)
        chunks = tailer.chunks()
        try:
            await anext(chunks)
            pending = asyncio.ensure_future(anext(chunks))
            cpu = time.process_time()
            await asyncio.sleep(1.0)  # the idle interval being measured
            used = time.process_time() - cpu
            assert used < 0.05, f"{used:.3f}s of CPU in 1s idle"
            with path.open("ab") as f:
                f.write(b"2\n")
            assert (await pending).data == b"2\n"
        finally:
            await tailer.aclose()

    run(main())


def test_chunks_can_only_be_iterated_once(tmp_path: Path) -> None:
    tailer = FileTailer(str(tmp_path / "log"), health())
    tailer.chunks()
    with pytest.raises(RuntimeError):
        tailer.chunks()
    run(tailer.aclose())
