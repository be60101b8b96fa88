"""Reading JSON the way Go's ``encoding/json`` fills a struct.

Upstream decodes configs with ``encoding/json``: object keys match struct fields
case-insensitively, unknown keys are ignored, ``null`` leaves a field at its default, the last
of duplicate keys wins, and a value of the wrong JSON type is an error. npd accepts the same
files, and additionally warns about every key it ignores.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from npd.config.duration import parse_go_duration
from npd.config.errors import ConfigError


class JSONObject(list[tuple[str, Any]]):
    """A JSON object as its key/value pairs in file order (duplicates kept, as Go sees them)."""


def _reject_constant(name: str) -> Any:
    raise ValueError(f"invalid character {name[0]!r} looking for beginning of value")


def parse_json(text: str, file: str) -> Any:
    """Parse a config document, raising :class:`ConfigError` with the line and column on bad JSON."""
    try:
        return json.loads(text, object_pairs_hook=JSONObject, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            file, "", f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    except ValueError as exc:
        raise ConfigError(file, "", f"invalid JSON: {exc}") from None


def read_json_file(file: str) -> Any:
    """Read and parse a config file; unreadable files and bad JSON become :class:`ConfigError`."""
    try:
        with open(file, "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        raise ConfigError(file, "", f"cannot read file: {exc.strerror or exc}") from None
    # Go's decoder replaces invalid UTF-8 inside strings with U+FFFD rather than failing.
    return parse_json(raw.decode("utf-8", errors="replace"), file)


def json_type_name(value: Any) -> str:
    """The JSON name of a decoded value's type, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, JSONObject):
        return "object"
    return "array"


def join_path(parent: str, key: str | int) -> str:
    """Extend a dotted JSON path with an object key or an array index."""
    if isinstance(key, int):
        return f"{parent}[{key}]"
    return f"{parent}.{key}" if parent else key


class Fields:
    """Typed, case-insensitive access to the fields of one JSON object.

    Call :meth:`done` after reading every field the schema knows, so that the remaining keys
    are reported as ignored.
    """

    def __init__(self, value: Any, file: str, path: str, warn: Callable[[str], None]) -> None:
        if not isinstance(value, JSONObject):
            raise ConfigError(file, path or "(top level)", f"expected an object, got {json_type_name(value)}")
        self.file = file
        self.path = path
        self._warn = warn
        self._pairs = value
        self._used: set[str] = set()

    def error(self, key: str, problem: str) -> ConfigError:
        """A :class:`ConfigError` located at field ``key`` of this object."""
        return ConfigError(self.file, join_path(self.path, key), problem)

    def has(self, key: str) -> bool:
        """Whether the object spells out ``key`` with a non-null value."""
        return self._raw(key) is not None

    def raw(self, key: str) -> Any:
        """The decoded JSON value of field ``key`` (``None`` when absent or null)."""
        return self._raw(key)

    def _raw(self, key: str) -> Any:
        folded = key.casefold()
        found = None
        for name, value in self._pairs:
            if name.casefold() == folded:
                self._used.add(name)
                if value is not None:  # null leaves the field as it was, as in Go
                    found = value
        return found

    def names(self) -> list[str]:
        """The object's keys in file order, without duplicates (for JSON objects used as maps)."""
        names = list(dict.fromkeys(name for name, _ in self._pairs))
        self._used.update(names)
        return names

    def string(self, key: str, default: str = "") -> str:
        value = self._raw(key)
        if value is None:
            return default
        if not isinstance(value, str):
            raise self.error(key, f"expected a string, got {json_type_name(value)}")
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self._raw(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.error(key, f"expected true or false, got {json_type_name(value)}")
        return value

    def integer(self, key: str, default: int) -> int:
        value = self._raw(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(key, f"expected an integer, got {json_type_name(value)} {value!r}")
        return value

    def duration(self, key: str, default: str) -> float:
        """A Go duration string, in seconds."""
        text = self.string(key, default)
        try:
            return parse_go_duration(text)
        except ValueError as exc:
            raise self.error(key, str(exc)) from None

    def obj(self, key: str) -> Fields | None:
        value = self._raw(key)
        if value is None:
            return None
        return Fields(value, self.file, join_path(self.path, key), self._warn)

    def array(self, key: str) -> Iterator[tuple[str, Any]]:
        """The elements of an array field, each with its JSON path."""
        value = self._raw(key)
        if value is None:
            return iter(())
        if not isinstance(value, list) or isinstance(value, JSONObject):
            raise self.error(key, f"expected an array, got {json_type_name(value)}")
        base = join_path(self.path, key)
        return ((join_path(base, index), item) for index, item in enumerate(value))

    def string_list(self, key: str) -> list[str]:
        out = []
        for path, item in self.array(key):
            if not isinstance(item, str):
                raise ConfigError(self.file, path, f"expected a string, got {json_type_name(item)}")
            out.append(item)
        return out

    def string_map(self, key: str) -> dict[str, str]:
        """A JSON object of strings (a Go ``map[string]string``: keys are exact, not case-folded)."""
        value = self._raw(key)
        if value is None:
            return {}
        path = join_path(self.path, key)
        if not isinstance(value, JSONObject):
            raise ConfigError(self.file, path, f"expected an object, got {json_type_name(value)}")
        out: dict[str, str] = {}
        for name, item in value:
            text = "" if item is None else item
            if not isinstance(text, str):
                raise ConfigError(
                    self.file, join_path(path, name), f"expected a string, got {json_type_name(text)}"
                )
            out[name] = text
        return out

    def done(self) -> None:
        """Warn about every key of this object that no field read."""
        for name, _ in self._pairs:
            if name not in self._used:
                self._warn(f"{self.file}: {join_path(self.path, name)}: unknown key ignored")
                self._used.add(name)
