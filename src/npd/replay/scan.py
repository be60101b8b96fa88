"""One scan of a block for every monitor's prefilter, instead of one scan per monitor.

RE2 scans for the alternation of all the prefilters about as fast as for one of them, so a
block is scanned once; each line it hits is then sorted to the prefilters that match it with
one ``re2.Set`` match. A monitor asking a batch for the candidates of its prefilter gets them
from there (:meth:`npd.replay.batch.InputBatch.share_scan`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import re2

from npd.goregex import GoRegexError, compile_go, re2_options

#: RE2's memory for the union and the set: enough that their DFAs never fall back to the (much
#: slower) NFA, or, for the set, fail.
_MAX_MEM = 256 << 20


class SharedScan:
    """The prefilters of all monitors, as one pattern to scan with and one set to sort hits."""

    def __init__(self, prefilters: Sequence[Any]) -> None:
        self._prefilters = list(prefilters)
        self._index = {id(prefilter): index for index, prefilter in enumerate(self._prefilters)}
        combined = "|".join(f"(?:{prefilter.pattern})" for prefilter in self._prefilters)
        #: Matches a line wherever one of the prefilters does.
        self.union = compile_go(combined, never_capture=True, max_mem=_MAX_MEM)
        self._set = re2.Set.SearchSet(re2_options(never_capture=True, max_mem=_MAX_MEM))
        for prefilter in self._prefilters:
            self._set.Add(prefilter.pattern)
        self._set.Compile()

    @property
    def size(self) -> int:
        """How many prefilters are scanned for."""
        return len(self._prefilters)

    def index(self, prefilter: Any) -> int | None:
        """The position of ``prefilter`` among those scanned for, or ``None`` if it is not one."""
        return self._index.get(id(prefilter))

    def which(self, text: bytes | str) -> list[int]:
        """The positions of the prefilters that match ``text`` somewhere."""
        found = self._set.Match(text)
        if found:
            return list(found)
        # The union matched this text, so some prefilter does: an empty answer means the set's
        # DFA gave up. Ask each prefilter instead.
        return [
            index for index, prefilter in enumerate(self._prefilters) if prefilter.search(text) is not None
        ]


def shared_scan(prefilters: Sequence[Any]) -> SharedScan | None:
    """A shared scan for ``prefilters``; ``None`` when there is nothing to share (fewer than two),
    or when they cannot be combined."""
    if len(prefilters) < 2:
        return None
    try:
        return SharedScan(prefilters)
    except (GoRegexError, re2.error):
        return None
