"""Every command is documented: help text, an example that parses, and a README mention."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from shequn.cli import app

README = Path(__file__).parents[1] / "README.md"


def _walk(command: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    found = [(path, command)] if path else []
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        found += _walk(sub, (*path, name))
    return found


COMMANDS = _walk(typer.main.get_command(app))
NAMES = [" ".join(path) for path, _ in COMMANDS]


def test_the_walk_finds_every_command() -> None:
    assert {"import", "stats", "groups", "imports", "imports undo", "imports show"} <= set(NAMES)
    assert "simulate" in NAMES


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=NAMES)
def test_command_has_help_and_an_example(path: tuple[str, ...], command: Any) -> None:
    assert (command.help or "").strip(), f"shequn {' '.join(path)} has no help text"
    doc = command.callback.__doc__ or ""
    example = re.search(r"^\s*Example: (shequn .*(?:\n(?!\s*\n).*)*)", doc, re.M)
    assert example, f"shequn {' '.join(path)}: no 'Example:' in its docstring"
    words = shlex.split(" ".join(example[1].split()))
    assert words[: len(path) + 1] == ["shequn", *path], words
    # every option the example uses exists on the command
    known = {opt for param in command.params for opt in param.opts + param.secondary_opts}
    used = {w.split("=")[0] for w in words if w.startswith("--")}
    assert used <= known, f"unknown options in the example: {used - known}"


@pytest.mark.parametrize("path", [path for path, _ in COMMANDS], ids=NAMES)
def test_help_runs(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output and "Example:" in result.output


@pytest.mark.parametrize("name", NAMES)
def test_readme_mentions_command(name: str) -> None:
    # "shequn import" must not be satisfied by "shequn imports"
    pattern = rf"\bshequn {re.escape(name)}(?![\w-])"
    assert re.search(pattern, README.read_text(encoding="utf-8")), f"README lacks 'shequn {name}'"
