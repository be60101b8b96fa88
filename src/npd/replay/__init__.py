"""``npd replay``: monitor configs run over recorded logs, with the daemon's matching engine.

:mod:`npd.replay.engine` drives the daemon's :class:`~npd.monitors.matcher.RuleMatcher` and
:class:`~npd.monitors.tracker.ProblemTracker` on log time; :mod:`npd.replay.formats` reads the
recorded logs; :mod:`npd.replay.output` writes what was found. See docs/replay.md.
"""
