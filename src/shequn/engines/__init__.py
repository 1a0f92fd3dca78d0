"""The operations engines: pure `step(state, event) -> (state, actions)` (see base.py)."""
