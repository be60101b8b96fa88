"""Real journals for tests: journal files written through systemd-journal-remote, and a private journald.

:class:`JournalFileWriter` turns entries into Journal Export Format and lets ``systemd-journal-remote``
write them into a ``.journal`` file, either in one go (:meth:`~JournalFileWriter.write`) or live from a
FIFO (:meth:`~JournalFileWriter.start` and :meth:`~JournalFileWriter.append`), so a reader can follow the
file while a test appends to it. No journald is needed.

:class:`PrivateJournald` runs a real ``systemd-journald`` in a private mount namespace whose ``/run`` is a
fresh tmpfs, with its socket and journal directories bind-mounted from host-side temporary directories: the
test logs into it with ``systemd-cat`` (:meth:`~PrivateJournald.run_in_namespace`) and reads its journal
files from the host side. The host's own ``/run/log/journal``, ``/var/log/journal`` and journald sockets
are never touched.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import struct
import subprocess
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

from cysystemd.reader import JournalReader, Rule

JOURNAL_REMOTE = "/lib/systemd/systemd-journal-remote"
JOURNALD = "/lib/systemd/systemd-journald"

#: A field every entry written by :class:`JournalFileWriter` carries: the entry's number within its
#: writer, so :meth:`JournalFileWriter.wait_visible` can look for exactly the last appended entry.
SEQ_FIELD = "NPD_TEST_SEQ"

FieldValue = str | bytes | int
Entry = Mapping[str, FieldValue]


def export_entry(fields: Entry) -> bytes:
    """One entry in Journal Export Format, ending with the blank line that separates entries.

    Text values are written as ``KEY=value``; values holding a newline, or bytes that are not plain
    UTF-8 text, use the binary-safe ``KEY\\n<little-endian 64-bit length><bytes>\\n`` form.
    """
    out = bytearray()
    for key, value in fields.items():
        raw = value if isinstance(value, bytes) else str(value).encode()
        if b"\n" in raw or (isinstance(value, bytes) and not _is_text(raw)):
            out += key.encode() + b"\n" + struct.pack("<Q", len(raw)) + raw + b"\n"
        else:
            out += key.encode() + b"=" + raw + b"\n"
    out += b"\n"
    return bytes(out)


def _is_text(raw: bytes) -> bool:
    try:
        text = raw.decode()
    except UnicodeDecodeError:
        return False
    return text.isprintable()


def journal_remote_available() -> str | None:
    """Why journal files cannot be written here, or ``None`` when they can."""
    if not os.access(JOURNAL_REMOTE, os.X_OK):
        return f"{JOURNAL_REMOTE} is not installed (Debian package systemd-journal-remote)"
    return None


class JournalFileWriter:
    """Writes entries into one journal file through ``systemd-journal-remote``.

    Every entry gets ``__REALTIME_TIMESTAMP`` (now unless given), ``__MONOTONIC_TIMESTAMP``, ``_BOOT_ID``
    (one random boot per writer unless given), ``_TRANSPORT`` and :data:`SEQ_FIELD`, then the fields the
    test gives.

    One-shot: :meth:`write` converts a list of entries and appends them to the file (creating it), and can be
    called again later, e.g. to add entries while a reader is "down". Live: :meth:`start` runs a long-lived
    ``systemd-journal-remote`` reading a FIFO, :meth:`append` writes to it, and :meth:`wait_visible` returns
    once the last appended entry can be read from the file. Use the writer as a context manager, or call
    :meth:`stop`, to end the live process.
    """

    def __init__(self, path: Path | str, *, boot_id: str | None = None) -> None:
        path = Path(path)
        if not path.name.endswith(".journal"):
            raise ValueError(f"journal file names must end in .journal: {path}")
        reason = journal_remote_available()
        if reason is not None:
            raise RuntimeError(reason)
        self.path = path
        self.boot_id = boot_id or uuid.uuid4().hex
        self._seq = 0
        self._monotonic_usec = 1_000_000
        self._process: subprocess.Popen[bytes] | None = None
        self._fifo_fd: int | None = None
        self._fifo: Path | None = None

    # Building entries.

    def entry(
        self,
        message: str | bytes | None,
        *,
        identifier: str | None = "kernel",
        realtime: float | None = None,
        transport: str = "kernel",
        **fields: FieldValue,
    ) -> dict[str, FieldValue]:
        """A complete entry: ``message=None`` leaves MESSAGE out, ``identifier=None`` SYSLOG_IDENTIFIER."""
        self._seq += 1
        self._monotonic_usec += 1000
        when = time.time() if realtime is None else realtime
        entry: dict[str, FieldValue] = {
            "__REALTIME_TIMESTAMP": round(when * 1_000_000),
            "__MONOTONIC_TIMESTAMP": self._monotonic_usec,
            "_BOOT_ID": self.boot_id,
            "_TRANSPORT": transport,
            SEQ_FIELD: self._seq,
        }
        if identifier is not None:
            entry["SYSLOG_IDENTIFIER"] = identifier
        if message is not None:
            entry["MESSAGE"] = message
        entry.update(fields)
        return entry

    def _complete(self, entry: Entry) -> Entry:
        # Entries a test built by hand still need the fields journal-remote and wait_visible rely on.
        if SEQ_FIELD in entry:
            return entry
        defaults = self.entry(None, identifier=None)
        return {**defaults, **entry}

    @property
    def last_seq(self) -> int:
        """The :data:`SEQ_FIELD` value of the last entry built."""
        return self._seq

    # One-shot.

    def write(self, entries: Iterable[Entry]) -> None:
        """Append ``entries`` to the file in one ``systemd-journal-remote`` run (creating the file)."""
        if self._process is not None:
            raise RuntimeError("write() while live; use append()")
        data = b"".join(export_entry(self._complete(entry)) for entry in entries)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(
            [JOURNAL_REMOTE, "--split-mode=none", "--compress=no", "-o", str(self.path), "-"],
            input=data,
            capture_output=True,
            timeout=60,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"systemd-journal-remote failed ({result.returncode}): {result.stderr.decode()}"
            )

    # Live.

    def start(self) -> None:
        """Start a long-running ``systemd-journal-remote`` that appends what :meth:`append` sends."""
        if self._process is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fifo = self.path.with_name(f".{self.path.name}.{os.getpid()}.{id(self)}.fifo")
        os.mkfifo(self._fifo)
        self._process = subprocess.Popen(
            [JOURNAL_REMOTE, "--split-mode=none", "--compress=no", "-o", str(self.path), str(self._fifo)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        # Opening a FIFO for writing blocks until the reader opens it; a non-blocking open fails with ENXIO
        # until then, which lets a journal-remote that dies at startup be noticed instead of hanging.
        deadline = time.monotonic() + 10
        while True:
            try:
                self._fifo_fd = os.open(self._fifo, os.O_WRONLY | os.O_NONBLOCK)
                break
            except OSError:
                if self._process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("systemd-journal-remote did not open its input FIFO") from None
                time.sleep(0.002)
        os.set_blocking(self._fifo_fd, True)

    def append(self, entries: Iterable[Entry]) -> None:
        """Send ``entries`` to the live ``systemd-journal-remote`` (see :meth:`wait_visible`)."""
        if self._fifo_fd is None:
            raise RuntimeError("append() needs start()")
        data = b"".join(export_entry(self._complete(entry)) for entry in entries)
        view = memoryview(data)
        while view:
            written = os.write(self._fifo_fd, view)
            view = view[written:]

    def wait_visible(self, seq: int | None = None, timeout: float = 5.0) -> None:
        """Return once the entry numbered ``seq`` (default: the last one built) can be read from the file."""
        wanted = self._seq if seq is None else seq
        deadline = time.monotonic() + timeout
        while True:
            if self.path.exists() and self._has_entry(wanted):
                return
            if self._process is not None and self._process.poll() is not None:
                raise RuntimeError(f"systemd-journal-remote exited: {self._stderr()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"entry {SEQ_FIELD}={wanted} not visible in {self.path} after {timeout}s")
            time.sleep(0.002)

    def _has_entry(self, seq: int) -> bool:
        reader = JournalReader()
        try:
            reader.open_files(str(self.path))
            reader.add_filter(Rule(SEQ_FIELD, str(seq)))
            reader.seek_head()
            return reader.next() is not None
        except (OSError, SystemError):
            # journal-remote has created the file but not yet written its header (ENODATA).
            return False

    def stop(self) -> None:
        """End the live ``systemd-journal-remote`` (it finishes the file when its input closes)."""
        if self._fifo_fd is not None:
            os.close(self._fifo_fd)
            self._fifo_fd = None
        if self._process is not None:
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            if self._process.stderr is not None:
                self._process.stderr.close()
            self._process = None
        if self._fifo is not None:
            with contextlib.suppress(FileNotFoundError):
                self._fifo.unlink()
            self._fifo = None

    def _stderr(self) -> str:
        if self._process is None or self._process.stderr is None:
            return ""
        return self._process.stderr.read().decode(errors="replace")

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


_JOURNALD_CONF = """\
[Journal]
Storage=volatile
Compress=no
ReadKMsg=no
Audit=no
ForwardToSyslog=no
ForwardToKMsg=no
ForwardToConsole=no
ForwardToWall=no
RateLimitIntervalSec=0
RateLimitBurst=0
MaxLevelStore=debug
RuntimeMaxUse=64M
"""

# Runs inside the new mount namespace. /run becomes a fresh tmpfs, so nothing journald creates there (its
# sockets, its runtime journal, kernel-seqnum, streams/) can reach the host's /run; the two directories a
# test needs to see are bind-mounted in from host-side temporary directories. /var/log/journal is covered
# by an empty tmpfs as well, although Storage=volatile never writes there.
_NAMESPACE_SCRIPT = """\
set -eu
mount --make-rprivate /
mount -t tmpfs -o mode=0755 npd-test-run /run
mkdir -p /run/systemd/journal /run/log/journal /run/systemd/journald.conf.d
mount --bind "$NPD_SOCKETS" /run/systemd/journal
mount --bind "$NPD_JOURNAL" /run/log/journal
cp "$NPD_CONF" /run/systemd/journald.conf.d/zz-npd-test.conf
if [ -e /etc/systemd/journald.conf ]; then mount --bind "$NPD_CONF" /etc/systemd/journald.conf; fi
if [ -d /var/log/journal ]; then mount -t tmpfs -o mode=0755 npd-test-var /var/log/journal; fi
exec "$NPD_JOURNALD"
"""


class PrivateJournald:
    """A real ``systemd-journald`` in a private mount (and network) namespace.

    ``journal_dir`` is the host-side directory that journald sees as ``/run/log/journal``: its files end up in
    ``journal_dir/<machine-id>/system.journal``. ``socket_dir`` holds its sockets (``/run/systemd/journal``
    inside). Use :meth:`run_in_namespace` to run ``systemd-cat`` or ``logger`` against it.

    Raises :class:`RuntimeError` from :meth:`start` when namespaces or journald are not available, so a test
    can skip with the reason.
    """

    def __init__(self, base: Path | str) -> None:
        base = Path(base)
        if Path("/run") in base.resolve().parents:
            # /run is replaced by a tmpfs in the namespace, which would hide the bind-mount sources.
            raise ValueError(f"PrivateJournald's base directory must not be under /run: {base}")
        self.base = base
        self.journal_dir = base / "journal"
        self.socket_dir = base / "sockets"
        self._conf = base / "journald.conf"
        self._log = base / "journald.stderr"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        """The journald process id (also the namespace's anchor for ``nsenter``)."""
        if self._process is None:
            raise RuntimeError("journald is not running")
        return self._process.pid

    def start(self, timeout: float = 10.0) -> None:
        """Start journald and return once its stdout socket accepts connections."""
        if os.geteuid() != 0:
            raise RuntimeError("PrivateJournald needs root (mount namespaces and bind mounts)")
        for tool in ("unshare", "nsenter", "mount"):
            if shutil.which(tool) is None:
                raise RuntimeError(f"PrivateJournald needs {tool}, which is not installed")
        if not os.access(JOURNALD, os.X_OK):
            raise RuntimeError(f"{JOURNALD} is not installed")
        for directory in (self.journal_dir, self.socket_dir):
            directory.mkdir(parents=True, exist_ok=True)
        self._conf.write_text(_JOURNALD_CONF)
        env = {
            "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
            "NPD_SOCKETS": str(self.socket_dir.resolve()),
            "NPD_JOURNAL": str(self.journal_dir.resolve()),
            "NPD_CONF": str(self._conf.resolve()),
            "NPD_JOURNALD": JOURNALD,
            # journald logs about itself to the console when it cannot reach a journal; keep that here.
            "SYSTEMD_LOG_TARGET": "console",
        }
        with self._log.open("wb") as log:
            self._process = subprocess.Popen(
                ["unshare", "--mount", "--net", "--propagation", "private", "sh", "-c", _NAMESPACE_SCRIPT],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        stdout_socket = self.socket_dir / "stdout"
        deadline = time.monotonic() + timeout
        while True:
            if self._process.poll() is not None:
                output = self._log.read_text(errors="replace").strip()
                self._process = None
                raise RuntimeError(f"private systemd-journald could not start: {output or 'no output'}")
            if stdout_socket.exists() and self._accepts(stdout_socket):
                break
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"private systemd-journald not ready after {timeout}s")
            time.sleep(0.005)

    @staticmethod
    def _accepts(path: Path) -> bool:
        # The socket file appears at bind(), a moment before listen(); only a connection proves readiness.
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            try:
                probe.connect(str(path))
            except OSError:
                return False
        return True

    def machine_dirs(self) -> list[Path]:
        """The ``<machine-id>`` directories journald created under :attr:`journal_dir`."""
        return sorted(path for path in self.journal_dir.iterdir() if path.is_dir())

    def run_in_namespace(
        self, argv: Sequence[str], *, input: bytes | str | None = None, timeout: float = 10.0
    ) -> subprocess.CompletedProcess[bytes]:
        """Run ``argv`` inside journald's mount namespace (so it logs to the private journald); check=True."""
        data = input.encode() if isinstance(input, str) else input
        return subprocess.run(
            ["nsenter", "--mount", f"--target={self.pid}", "--", *argv],
            input=data,
            capture_output=True,
            timeout=timeout,
            check=True,
        )

    def shell(self, command: str, *, timeout: float = 10.0) -> subprocess.CompletedProcess[bytes]:
        """Run a shell command line inside the namespace, e.g. ``echo "..." | systemd-cat -t kernel``."""
        return self.run_in_namespace(["sh", "-c", command], timeout=timeout)

    def log(self, message: str, identifier: str = "kernel") -> None:
        """Log ``message`` with ``systemd-cat -t identifier`` inside the namespace."""
        self.run_in_namespace(["systemd-cat", "-t", identifier], input=message + "\n")

    def rotate(self) -> None:
        """Ask journald to rotate its journal files (SIGUSR2), as ``journalctl --rotate`` does."""
        os.kill(self.pid, signal.SIGUSR2)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM journald, wait, then SIGKILL; its namespace and mounts vanish with it."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def describe(self) -> str:
        """journald's own output, for assertion messages."""
        try:
            return self._log.read_text(errors="replace")
        except OSError:
            return ""

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
