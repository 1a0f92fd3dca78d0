"""The operations engines: pure ``step(state, event) -> (state, actions)`` (see base.py).

Modules: ``base`` (the contract), ``registry`` (which engines run, in which order),
``runner`` (drives them over the log: ticks, feedback, ``shequn run``), ``record``
(actions stored as ``action_taken`` events), ``replay`` (``shequn replay``: a changed
playbook against the current one), ``adapters`` (carrying actions out: the console);
the engines: ``screening``, ``moderation`` (with ``trust`` and ``rules``),
``metabolism``, ``scoring``, ``checkins``. Nothing is imported here, so importing one
engine loads only what it needs. Docs: docs/engines/runner.md.
"""
