"""A small metrics model and its Prometheus text rendering.

npd renders the exposition itself rather than through prometheus_client, whose text output
forces a ``_total`` suffix on counters: upstream's dashboards and alerts query
``problem_counter``, not ``problem_counter_total`` (docs/differences.md). Keeping the model
apart from the format follows prometheus_client's own design.
"""
