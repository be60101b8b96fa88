"""Monitors turn what sources read into problems (:class:`npd.problem.Status` reports)."""
