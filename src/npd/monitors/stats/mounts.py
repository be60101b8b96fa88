"""The mount table as ``/proc/<pid>/mountinfo`` lists it, for the disk metrics and the file system
exhaustion conditions (which choose different mounts from it)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class MountEntry:
    """One line of mountinfo."""

    #: ``major:minor`` of the mounted file system: tmpfs instances differ, bind mounts do not.
    device_id: str
    mountpoint: str
    #: The per-mount options (``rw,relatime``), as listed.
    options: str
    fs_type: str
    #: The mount source: a device path for block file systems, anything for others.
    source: str

    @property
    def read_only(self) -> bool:
        """Whether the mount is read-only."""
        return "ro" in self.options.split(",")


def parse_mountinfo(text: str) -> list[MountEntry]:
    """The entries of a mountinfo file, in order; malformed lines are skipped.

    A line is ``id parent major:minor root mountpoint options [optional fields] - fstype source
    superoptions``; octal escapes of spaces in the mount point (``\\040``) are undone.
    """
    entries: list[MountEntry] = []
    for line in text.splitlines():
        head, sep, tail = line.partition(" - ")
        before, after = head.split(), tail.split()
        if not sep or len(before) < 6 or len(after) < 2:
            continue
        entries.append(
            MountEntry(
                device_id=before[2],
                mountpoint=before[4].replace("\\040", " "),
                options=before[5],
                fs_type=after[0],
                source=after[1],
            )
        )
    return entries


def nodev_filesystems(text: str) -> set[str]:
    """File system types ``/proc/filesystems`` marks ``nodev`` (needing no block device)."""
    return {
        fields[1]
        for line in text.splitlines()
        if (fields := line.split()) and fields[0] == "nodev" and len(fields) > 1
    }


#: Where a mount table is found under procPath: the host's init first (the node's view when
#: procPath is the host's /proc), then the reading process's own.
MOUNTINFO_CANDIDATES = ("1/mountinfo", "self/mountinfo")
