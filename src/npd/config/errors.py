"""The one error type a bad configuration produces."""

from __future__ import annotations


class ConfigError(Exception):
    """A configuration problem, reported as one line: ``file: json.path: problem``.

    ``path`` is a JSON path in the dotted form operators read in ``jq`` (``rules[3].pattern``);
    it is empty when the problem concerns the whole file (unreadable, not JSON).
    """

    def __init__(self, file: str, path: str, problem: str) -> None:
        self.file = file
        self.path = path
        self.problem = problem
        super().__init__(self.line())

    def line(self) -> str:
        """The single line printed to the operator."""
        where = f"{self.file}: {self.path}" if self.path else self.file
        return f"{where}: {self.problem}"
