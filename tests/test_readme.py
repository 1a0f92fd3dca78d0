"""The README's tour is real: its commands run and print exactly what it shows.

After a change that moves the numbers, ``scripts/refresh-readme-tour`` rewrites them."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

README = Path(__file__).parents[1] / "README.md"


def tour() -> list[tuple[str, list[str]]]:
    """(command, expected output lines) for every `$ shequn …` in console blocks."""
    steps: list[tuple[str, list[str]]] = []
    for block in re.findall(r"```console\n(.*?)```", README.read_text(encoding="utf-8"), re.S):
        for chunk in re.split(r"^\$ ", block, flags=re.M)[1:]:
            command, *output = chunk.rstrip("\n").split("\n")
            while output and not output[-1].strip():
                output.pop()
            steps.append((command.split("  #")[0].strip(), output))
    return steps


def test_readme_tour_prints_what_it_shows(tmp_path: Path) -> None:
    steps = tour()
    assert len(steps) >= 6
    env = {**os.environ, "SHEQUN_STORE": str(tmp_path / "tour.duckdb"), "COLUMNS": "200"}
    for command, expected in steps:
        args = shlex.split(command)
        # shequn's commands, and the shell for what a reader does by hand (editing a file)
        argv = [sys.executable, "-m", "shequn.cli", *args[1:]]
        if args[0] != "shequn":
            assert args[0] in ("sed", "cp"), command
            argv = ["bash", "-c", command]
        result = subprocess.run(
            argv, cwd=tmp_path, env=env, capture_output=True, text=True, check=True
        )
        if expected:
            assert result.stdout.rstrip("\n").split("\n") == expected, command
