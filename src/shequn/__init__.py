"""shequn (社群): a community-operations engine."""

from shequn.errors import ShequnError
from shequn.events import EVENT_SCHEMA, SCHEMA_VERSION, AttachmentKind, EventKind, JoinMethod

__version__ = "0.1.0"

__all__ = [
    "EVENT_SCHEMA",
    "SCHEMA_VERSION",
    "AttachmentKind",
    "EventKind",
    "JoinMethod",
    "ShequnError",
    "__version__",
]
