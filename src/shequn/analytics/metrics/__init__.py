"""Every metric module; importing this package registers the whole metric set."""

from shequn.analytics.metrics import activity  # noqa: F401
