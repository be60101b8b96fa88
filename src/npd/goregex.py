"""Go regular expressions, compiled with RE2 and analysed for fast matching.

Upstream compiles every pattern with Go's ``regexp``, whose syntax and semantics are RE2's, so
google-re2 gives each pattern the meaning it has upstream. The one construct RE2 accepts and
Go rejects, ``\\C``, is rejected here.

:func:`analyze` answers two questions the matcher needs, conservatively (a "no" is always safe):

* can the pattern match a newline? If not, a match that ends at the end of a buffer of lines
  lies entirely in the newest line, so the buffer never has to be joined;
* what weaker pattern must match a single line for the rule to possibly fire? The rule with
  its zero-width assertions removed matches everything the rule matches, so it serves as a
  prefilter over raw lines and whole chunks of lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import re2

_ESCAPE_VALUES = {"a": 7, "f": 12, "t": 9, "n": 10, "r": 13, "v": 11}
_PERL_CLASS_NL = {"s": True, "S": False, "d": False, "D": True, "w": False, "W": True}
# POSIX classes that contain a newline.
_POSIX_NL = {"space", "cntrl", "ascii"}
_ASSERTION_ESCAPES = {"A", "z", "b", "B"}
_NEWLINE = 10


class GoRegexError(ValueError):
    """A pattern Go's ``regexp`` would refuse."""


def re2_options(*, never_capture: bool = False, max_mem: int | None = None) -> Any:
    """RE2 options for npd: errors are raised, never logged by RE2 itself."""
    options = re2.Options()
    options.log_errors = False
    options.never_capture = never_capture
    if max_mem is not None:
        options.max_mem = max_mem
    return options


def compile_go(pattern: str, *, never_capture: bool = False, max_mem: int | None = None) -> Any:
    """Compile a Go-syntax pattern with RE2; raise :class:`GoRegexError` with RE2's reason."""
    _check_go_only(pattern)
    try:
        return re2.compile(pattern, re2_options(never_capture=never_capture, max_mem=max_mem))
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise GoRegexError(f"invalid regular expression {pattern!r}: {reason}") from None


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # lit, nl, class, dot, assert, open, flags, close, alt, quant, quote
    text: str
    may_match_nl: bool = False
    is_start_anchor: bool = False


@dataclass(frozen=True, slots=True)
class PatternInfo:
    """What the matcher needs to know about one rule pattern.

    ``anchored`` is the pattern as it is matched: it must end at the end of the newest line.
    ``last_line_exact`` is true when matching ``anchored`` against the newest message alone
    gives the same answer as matching it against the joined buffer. ``prefilter`` is a
    pattern that matches somewhere in the newest line whenever the rule fires, or ``None``
    when no such single-line pattern could be derived.
    """

    pattern: str
    anchored: str
    line_local: bool
    last_line_exact: bool
    prefilter: str | None


def anchor_end(pattern: str) -> str:
    """The pattern anchored at the end of the text as a whole.

    Upstream appends ``\\z`` to the raw pattern, so in ``a|b`` only the last branch is anchored
    and branch ``a`` fires on any buffered line. npd anchors the whole alternation (a documented,
    deliberate difference).
    """
    tokens = _tokenize(pattern)
    closing = "\\E" if tokens and tokens[-1].kind == "quote" and not tokens[-1].text.endswith("\\E") else ""
    return f"(?:{pattern}{closing})\\z"


def analyze(pattern: str) -> PatternInfo:
    """Analyse a pattern that compiles (see :func:`compile_go`)."""
    tokens = _tokenize(pattern)
    line_local = not _may_match_newline(tokens)
    start_anchored = any(token.is_start_anchor for token in tokens)
    prefilter: str | None = None
    if line_local:
        prefilter = _without_assertions(tokens)
    else:
        tail = _last_line_segment(tokens)
        if tail is not None and not _may_match_newline(tail):
            prefilter = _without_assertions(tail)
    if prefilter is not None:
        try:
            compile_go(prefilter, never_capture=True)
        except GoRegexError:
            prefilter = None  # e.g. a tail that starts with a quantified flag group: no prefilter
    return PatternInfo(
        pattern=pattern,
        anchored=anchor_end(pattern),
        line_local=line_local,
        last_line_exact=line_local and not start_anchored,
        prefilter=prefilter,
    )


def _check_go_only(pattern: str) -> None:
    for token in _tokenize(pattern):
        if token.text == "\\C":
            raise GoRegexError(f"invalid regular expression {pattern!r}: invalid escape sequence: \\C")


def _may_match_newline(tokens: list[_Token]) -> bool:
    dot_nl = any(token.kind in ("flags", "open") and _sets_flag(token.text, "s") for token in tokens)
    return any(token.may_match_nl or (token.kind == "dot" and dot_nl) for token in tokens)


def _sets_flag(group_text: str, flag: str) -> bool:
    if not group_text.startswith("(?") or group_text.startswith(("(?P<", "(?<")):
        return False
    body = group_text[2:].rstrip(":)")
    return flag in body.split("-", 1)[0]


def _without_assertions(tokens: list[_Token]) -> str:
    # An assertion only ever rules matches out, so dropping it yields a superset. "(?:)" keeps
    # a following quantifier syntactically valid.
    return "".join("(?:)" if token.kind == "assert" else token.text for token in tokens) + _close_quote(
        tokens
    )


def _close_quote(tokens: list[_Token]) -> str:
    if tokens and tokens[-1].kind == "quote" and not tokens[-1].text.endswith("\\E"):
        return "\\E"
    return ""


def _last_line_segment(tokens: list[_Token]) -> list[_Token] | None:
    """For ``X\\nY`` at the top level, ``Y`` (with leading top-level flags): it must match the
    start of the newest line through its end. ``None`` when the pattern has no such shape."""
    depth = 0
    split = None
    flags: list[tuple[int, _Token]] = []
    for index, token in enumerate(tokens):
        if token.kind == "open":
            depth += 1
        elif token.kind == "close":
            depth -= 1
        elif depth == 0 and token.kind == "alt":
            return None
        elif depth == 0 and token.kind == "flags":
            flags.append((index, token))
        elif depth == 0 and token.kind == "nl":
            split = index
    if split is None:
        return None
    tail = tokens[split + 1 :]
    if tail and tail[0].kind == "quant":
        return None
    return [token for index, token in flags if index < split] + tail


def _tokenize(pattern: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    end = len(pattern)
    while pos < end:
        ch = pattern[pos]
        if ch == "\\":
            if pattern.startswith("\\Q", pos):
                stop = pattern.find("\\E", pos + 2)
                stop = end if stop < 0 else stop + 2
                text = pattern[pos:stop]
                tokens.append(_Token("quote", text, may_match_nl="\n" in text))
                pos = stop
                continue
            text, value, nl = _escape(pattern, pos)
            if text[1:] in _ASSERTION_ESCAPES:
                tokens.append(_Token("assert", text, is_start_anchor=text == "\\A"))
            elif value == _NEWLINE:
                tokens.append(_Token("nl", text, may_match_nl=True))
            else:
                tokens.append(_Token("lit" if value is not None else "class", text, may_match_nl=nl))
            pos += len(text)
        elif ch == "[":
            stop, may_nl = _scan_class(pattern, pos)
            tokens.append(_Token("class", pattern[pos:stop], may_match_nl=may_nl))
            pos = stop
        elif ch == "(":
            if pattern.startswith("(?", pos) and not pattern.startswith(("(?P<", "(?<"), pos):
                stop = pos + 2
                while stop < end and pattern[stop] not in ":)":
                    stop += 1
                text = pattern[pos : stop + 1]
                kind = "flags" if text.endswith(")") else "open"
                tokens.append(_Token(kind, text))
                pos = stop + 1
            elif pattern.startswith(("(?P<", "(?<"), pos):
                stop = pattern.find(">", pos)
                stop = end - 1 if stop < 0 else stop
                tokens.append(_Token("open", pattern[pos : stop + 1]))
                pos = stop + 1
            else:
                tokens.append(_Token("open", "("))
                pos += 1
        elif ch == ")":
            tokens.append(_Token("close", ")"))
            pos += 1
        elif ch == "|":
            tokens.append(_Token("alt", "|"))
            pos += 1
        elif ch in "*+?":
            stop = pos + 1
            if stop < end and pattern[stop] == "?":
                stop += 1
            tokens.append(_Token("quant", pattern[pos:stop]))
            pos = stop
        elif ch == "{" and _repeat_end(pattern, pos) > 0:
            stop = _repeat_end(pattern, pos)
            if stop < end and pattern[stop] == "?":
                stop += 1
            tokens.append(_Token("quant", pattern[pos:stop]))
            pos = stop
        elif ch == ".":
            tokens.append(_Token("dot", "."))
            pos += 1
        elif ch in "^$":
            tokens.append(_Token("assert", ch, is_start_anchor=ch == "^"))
            pos += 1
        elif ch == "\n":
            tokens.append(_Token("nl", ch, may_match_nl=True))
            pos += 1
        else:
            tokens.append(_Token("lit", ch))
            pos += 1
    return tokens


def _repeat_end(pattern: str, pos: int) -> int:
    """End of a ``{n}``, ``{n,}`` or ``{n,m}`` repetition at ``pos``, or 0 if it is a literal brace."""
    stop = pattern.find("}", pos)
    if stop < 0:
        return 0
    body = pattern[pos + 1 : stop]
    low, comma, high = body.partition(",")
    if not low.isdigit() or (high and not high.isdigit()):
        return 0
    if not comma and high:
        return 0
    return stop + 1


def _escape(pattern: str, pos: int) -> tuple[str, int | None, bool]:
    """One escape at ``pos``: its text, its code point when it is a single character, and
    whether it may match a newline."""
    if pos + 1 >= len(pattern):
        return pattern[pos:], None, False
    letter = pattern[pos + 1]
    if letter in _PERL_CLASS_NL:
        return pattern[pos : pos + 2], None, _PERL_CLASS_NL[letter]
    if letter in "pP":
        if pos + 2 < len(pattern) and pattern[pos + 2] == "{":
            stop = pattern.find("}", pos)
            stop = len(pattern) - 1 if stop < 0 else stop
            return pattern[pos : stop + 1], None, True
        return pattern[pos : pos + 3], None, True
    if letter == "x":
        if pos + 2 < len(pattern) and pattern[pos + 2] == "{":
            stop = pattern.find("}", pos)
            stop = len(pattern) - 1 if stop < 0 else stop
            text = pattern[pos : stop + 1]
            return text, _int_or_none(text[3:-1], 16), _int_or_none(text[3:-1], 16) == _NEWLINE
        text = pattern[pos : pos + 4]
        value = _int_or_none(text[2:], 16)
        return text, value, value == _NEWLINE
    if letter in "01234567":
        stop = pos + 2
        while stop < len(pattern) and stop < pos + 4 and pattern[stop] in "01234567":
            stop += 1
        text = pattern[pos:stop]
        value = _int_or_none(text[1:], 8)
        return text, value, value == _NEWLINE
    if letter in _ESCAPE_VALUES:
        value = _ESCAPE_VALUES[letter]
        return pattern[pos : pos + 2], value, value == _NEWLINE
    if letter == "\n":
        return pattern[pos : pos + 2], _NEWLINE, True
    return pattern[pos : pos + 2], ord(letter), False


def _int_or_none(text: str, base: int) -> int | None:
    try:
        return int(text, base)
    except ValueError:
        return None


def _scan_class(pattern: str, pos: int) -> tuple[int, bool]:
    """End of the character class at ``pos`` and whether it may match a newline."""
    end = len(pattern)
    stop = pos + 1
    negated = stop < end and pattern[stop] == "^"
    if negated:
        stop += 1
    contains_nl = False  # the listed items surely include "\n"
    maybe_nl = False  # the listed items might include "\n"
    first = True
    previous: int | None = None
    while stop < end:
        ch = pattern[stop]
        if ch == "]" and not first:
            stop += 1
            break
        first = False
        if pattern.startswith("[:", stop):
            close = pattern.find(":]", stop + 2)
            if close > 0:
                name = pattern[stop + 2 : close]
                negated_posix = name.startswith("^")
                name = name.lstrip("^")
                includes = (name in _POSIX_NL) != negated_posix
                contains_nl |= includes
                maybe_nl |= includes
                stop = close + 2
                previous = None
                continue
        if ch == "-" and previous is not None and stop + 1 < end and pattern[stop + 1] != "]":
            high, step = _class_char(pattern, stop + 1)
            if high is None:
                maybe_nl = True
            elif previous <= _NEWLINE <= high:
                contains_nl = maybe_nl = True
            stop += 1 + step
            previous = None
            continue
        value, step = _class_char(pattern, stop)
        if value is None:
            text, _, nl = _escape(pattern, stop)
            contains_nl |= nl and text[1:2] in _PERL_CLASS_NL
            maybe_nl |= nl
        elif value == _NEWLINE:
            contains_nl = maybe_nl = True
        previous = value
        stop += step
    may_match = not contains_nl if negated else maybe_nl
    return stop, may_match


def _class_char(pattern: str, pos: int) -> tuple[int | None, int]:
    """A single character inside a class: its code point (``None`` for a class escape) and length."""
    if pattern[pos] != "\\":
        return ord(pattern[pos]), 1
    text, value, _ = _escape(pattern, pos)
    return value, len(text)
