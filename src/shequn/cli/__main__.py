"""``python -m shequn.cli``."""

from shequn.cli import app

app()
