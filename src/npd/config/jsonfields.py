"""Reading JSON the way Go's ``encoding/json`` fills a struct.

Upstream decodes configs with ``encoding/json``: object keys match struct fields
case-insensitively, unknown keys are ignored, ``null`` leaves a field at its default, the last
of duplicate keys wins, and a value of the wrong JSON type is an error. npd accepts the same
files, and additionally warns about every key it ignores.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

from npd.config.duration import parse_go_duration
from npd.config.errors import ConfigError
from npd.gostrconv import INT64


class JSONObject(list[tuple[str, Any]]):
    """A JSON object as its key/value pairs in file order (duplicates kept, as Go sees them)."""


def _reject_constant(name: str) -> Any:
    raise ValueError(f"invalid character {name[0]!r} looking for beginning of value")


def parse_json(text: str, file: str) -> Any:
    """Parse a config document, raising :class:`ConfigError` with the line and column on bad JSON."""
    try:
        document = json.loads(text, object_pairs_hook=JSONObject, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            file, "", f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    except ValueError as exc:
        raise ConfigError(file, "", f"invalid JSON: {exc}") from None
    except RecursionError:
        # Python's decoder recurses; Go's allows 10000 levels, far beyond any real config.
        raise ConfigError(file, "", "JSON nested too deeply to read") from None
    try:
        return _without_surrogates(document)
    except RecursionError:
        raise ConfigError(file, "", "JSON nested too deeply to read") from None


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


_SURROGATE = re.compile("[\ud800-\udfff]")


def _without_surrogates(value: Any) -> Any:
    """Go decodes an unpaired ``\\uD800``-style escape as U+FFFD; Python keeps a lone surrogate."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value) if _SURROGATE.search(value) else value
    if isinstance(value, JSONObject):
        return JSONObject((_without_surrogates(k), _without_surrogates(v)) for k, v in value)
    if isinstance(value, list):
        return [_without_surrogates(item) for item in value]
    return value


def _fold_char(char: str) -> str:
    # The smallest character of its simple case-folding orbit, as Go's encoding/json folds names
    # (so "K" matches the Kelvin sign and "s" matches "ſ", but "ß" does not match "ss").
    forms = {char, char.lower(), char.upper(), char.lower().upper(), char.upper().lower()}
    return min(form for form in forms if len(form) == 1)


def go_fold(name: str) -> str:
    """A key folded so that equal folds mean Go's ``bytes.EqualFold`` would match them."""
    return name.upper() if name.isascii() else "".join(_fold_char(char) for char in name)


class Fields:
    """Typed access to the fields of one JSON object, following Go's ``encoding/json``.

    Keys match case-insensitively. Every occurrence of a duplicated key is decoded in turn, as
    Go does: each must have the right type, the last one wins, ``null`` leaves a plain value as
    it was but resets a pointer field (``nullable=True``) to its default and an array or map to
    empty, and duplicated objects merge. Call :meth:`done` after reading every field the schema
    knows, so that the remaining keys are reported as ignored.
    """

    def __init__(self, value: Any, file: str, path: str, warn: Callable[[str], None]) -> None:
        if value is None and path:
            value = JSONObject()  # Go decodes a null element into the zero value
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

    def _occurrences(self, key: str) -> list[Any]:
        folded = go_fold(key)
        found = []
        for name, value in self._pairs:
            if go_fold(name) == folded:
                self._used.add(name)
                found.append(value)
        return found

    def _scalar(self, key: str, default: Any, nullable: bool, check: Callable[[Any], bool], kind: str) -> Any:
        result = default
        for value in self._occurrences(key):
            if value is None:
                if nullable:
                    result = default
                continue
            if not check(value):
                raise self.error(key, f"expected {kind}, got {json_type_name(value)}")
            result = value
        return result

    def has(self, key: str) -> bool:
        """Whether the object sets ``key`` to something other than null."""
        return any(value is not None for value in self._occurrences(key))

    def string(self, key: str, default: str = "", *, nullable: bool = False) -> str:
        """A string field; ``nullable`` for Go ``*string`` fields."""
        value: str = self._scalar(key, default, nullable, lambda v: isinstance(v, str), "a string")
        return value

    def boolean(self, key: str, default: bool, *, nullable: bool = False) -> bool:
        """A boolean field; ``nullable`` for Go ``*bool`` fields."""
        value: bool = self._scalar(key, default, nullable, lambda v: isinstance(v, bool), "true or false")
        return value

    def integer(self, key: str, default: int, *, nullable: bool = False) -> int:
        """A Go ``int`` (64-bit) field; ``nullable`` for Go ``*int`` fields."""

        value: int = self._scalar(
            key, default, nullable, lambda v: isinstance(v, int) and not isinstance(v, bool), "an integer"
        )
        if value not in INT64:
            raise self.error(key, f"{value} does not fit a 64-bit integer")
        return value

    def number(self, key: str, default: float) -> float:
        """A Go ``float64`` field: any JSON number."""
        value: float = self._scalar(
            key, default, False, lambda v: isinstance(v, int | float) and not isinstance(v, bool), "a number"
        )
        return float(value)

    def duration(self, key: str, default: str, *, nullable: bool = False) -> float:
        """A Go duration string, in seconds; an empty string is an error, as in Go."""
        text = self.string(key, default, nullable=nullable)
        try:
            return parse_go_duration(text)
        except ValueError as exc:
            raise self.error(key, str(exc)) from None

    def obj(self, key: str) -> Fields | None:
        """A nested struct; duplicated objects merge, as Go decodes each into the same struct."""
        merged: JSONObject | None = None
        for value in self._occurrences(key):
            if value is None:
                continue
            if not isinstance(value, JSONObject):
                raise self.error(key, f"expected an object, got {json_type_name(value)}")
            merged = JSONObject([*(merged or ()), *value])
        if merged is None:
            return None
        return Fields(merged, self.file, join_path(self.path, key), self._warn)

    def mapping(self, key: str) -> list[tuple[str, Any]]:
        """A JSON object decoded into a Go map: exact keys, the last duplicate wins, null clears it."""
        pairs: list[tuple[str, Any]] = []
        for value in self._occurrences(key):
            if value is None:
                pairs = []
            elif not isinstance(value, JSONObject):
                raise self.error(key, f"expected an object, got {json_type_name(value)}")
            else:
                pairs.extend(value)
        return list(dict(pairs).items())

    def array(self, key: str) -> Iterator[tuple[str, Any]]:
        """The elements of an array field, each with its JSON path (a later array or null replaces it)."""
        elements: list[Any] = []
        for value in self._occurrences(key):
            if value is None:
                elements = []
            elif not isinstance(value, list) or isinstance(value, JSONObject):
                raise self.error(key, f"expected an array, got {json_type_name(value)}")
            else:
                elements = value
        base = join_path(self.path, key)
        return ((join_path(base, index), item) for index, item in enumerate(elements))

    def string_list(self, key: str) -> list[str]:
        """An array of strings (null elements are empty strings, Go's zero value)."""
        out = []
        for path, item in self.array(key):
            text = "" if item is None else item
            if not isinstance(text, str):
                raise ConfigError(self.file, path, f"expected a string, got {json_type_name(text)}")
            out.append(text)
        return out

    def done(self) -> None:
        """Warn about every key of this object that no field read."""
        for name, _ in self._pairs:
            if name not in self._used:
                self._warn(f"{self.file}: {join_path(self.path, name)}: unknown key ignored")
                self._used.add(name)
