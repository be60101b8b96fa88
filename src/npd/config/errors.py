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
        """The single line printed to the operator (control and line-separating characters escaped)."""
        where = f"{self.file}: {self.path}" if self.path else self.file
        return one_line(f"{where}: {self.problem}")


def one_line(text: str) -> str:
    """``text`` with every character that could break or hide a line escaped (``\\n``, ``\\u2028``)."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else _escape(char) for char in text)


def _escape(char: str) -> str:
    code = ord(char)
    if char == "\n":
        return "\\n"
    if char == "\t":
        return "\\t"
    if char == "\r":
        return "\\r"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"
