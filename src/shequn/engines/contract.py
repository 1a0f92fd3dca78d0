"""The error an engine that breaks the contract in base.py raises through the runner.

Its own module, never compiled: mypyc's native classes cannot derive from
``RuntimeError``, and the runner (compiled, docs/decisions/0005-compiled-engines.md)
raises it.
"""

from __future__ import annotations


class EngineContractError(RuntimeError):
    """An engine broke the contract in base.py (unknown action kind, no explanation …)."""
