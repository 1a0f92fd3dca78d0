"""The operations engines: pure ``step(state, event) -> (state, actions)`` (see base.py).

Modules: ``base`` (the contract), ``registry`` (which engines run, in which order),
``runner`` (drives them over the log: ticks, feedback, ``shequn run``), ``record``
(actions stored as ``action_taken`` events), ``replay`` (``shequn replay``: a changed
playbook against the current one), ``adapters`` (carrying actions out: the console);
the engines: ``screening``, ``moderation`` (with ``trust`` and ``rules``),
``metabolism``, ``scoring``, ``checkins``. Nothing is imported here, so importing one
engine loads only what it needs (and the check that compiled engine modules are
current, shequn/compiled.py). Docs: docs/engines/runner.md.
"""

from shequn.compiled import warn_if_stale

# the runner and engines may run compiled (mypyc, shequn/compiled.py): an extension
# module built from an older source would run instead of the source, so say so
warn_if_stale()
