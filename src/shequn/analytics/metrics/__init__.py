"""Every metric module; importing this package registers the whole metric set."""

from shequn.analytics.metrics import (  # noqa: F401 (imported to register their metrics)
    activity,
    conversation,
    graph,
    growth,
    health,
    hours,
    kols,
    lurkers,
    retention,
    roles,
    topics,
)
