"""`shequn replay` twice gives identical output — in two processes with different
string hash seeds (set and dict orders), over the real engines and the end-to-end log,
as a table and as JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from e2e_scenario import PLAYBOOK, scenario
from enginehelp import store_events

from shequn.store import open_store

#: the no-ads ladder removes at the 4th violation, not the 3rd: vic is spared
NEW = PLAYBOOK.replace("at = 3, action", "at = 4, action")


def _replay(store: str, new: Path, seed: int, *extra: str) -> str:
    env = {**os.environ, "PYTHONHASHSEED": str(seed), "COLUMNS": "200"}
    argv = [sys.executable, "-m", "shequn.cli", "replay", "--community", "makers"]
    argv += ["--playbook", str(new), "--since", "30d", "--store", store, *extra]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=True)
    return done.stdout


def test_replay_is_byte_identical_across_processes(tmp_path: Path) -> None:
    store = str(tmp_path / "e2e.duckdb")
    with open_store(store) as db:
        store_events(db, "makers", scenario())
        db.save_playbook("makers", PLAYBOOK, "playbook.toml")
    new = tmp_path / "new.toml"
    new.write_text(NEW, encoding="utf-8")
    first = _replay(store, new, 1, "--json")
    assert _replay(store, new, 2, "--json") == first
    document = json.loads(first)
    assert [a["member"] for a in document["spared"]] == ["telegram:vic"]
    assert document["counts"]["remove"] == {"current": 2, "new": 1}
    assert document["counts"]["mute"] == {"current": 1, "new": 2}
    table = _replay(store, new, 3)
    assert _replay(store, new, 4) == table
    assert "would be spared" in table and "telegram:vic" in table
