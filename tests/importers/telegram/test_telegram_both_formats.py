"""JSON and HTML exports of one Telegram group, imported in either order, are one log:
each person one member, each join, leave, removal and reaction once.

HTML writes display names where JSON writes user ids; the importer resolves names with
what the store already holds of the group and links the name identities an HTML import
made first to their ids (``importers/telegram/people.py``). The truth is the
simulator's, and a single-format import must say the same.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from shequn.importers.base import ImportSettings
from shequn.ingest import run_import
from shequn.simulate import simulate_export
from shequn.store import Store, open_store

FIXTURES = Path(__file__).parents[2] / "fixtures" / "telegram"
FORUM = FIXTURES / "forum_group"  # the JSON export of the chat html_chat is of
FORUM_GROUP = "-1001987654321"
COUNTED = ("members", "messages", "joins", "leaves", "removals", "reactions")
#: simulated messages are about 2,050 records, so three HTML files of at most 1,000
OPTIONS: dict[str, Any] = {"format": "telegram", "members": 50, "messages": 2000,
                           "days": 20, "seed": 3}  # fmt: skip


def true_counts(out: Path) -> dict[str, int]:
    """The simulator's counts, members being every identity its events name."""
    truth = json.loads((out / "truth.json").read_text(encoding="utf-8"))
    rows = pq.read_table(out / "truth_events.parquet").to_pylist()
    counts = truth["counts"]
    people = {r[c] for r in rows for c in ("member", "by_member") if r[c]}
    return {
        "members": len(people),
        "messages": counts["messages"],
        "joins": counts["joins"],
        "leaves": counts["leaves"],
        "removals": counts["removals"],
        "reactions": sum(1 for r in rows if r["kind"] == "reaction_added"),
    }


def counted(store: Store) -> dict[str, int]:
    stats = store.stats()
    return {k: stats[k] for k in COUNTED}


def json_part(export: Path, target: Path, stop: int) -> Path:
    """The JSON export cut to its first ``stop`` messages (an export of an earlier period)."""
    data = json.loads((export / "result.json").read_text(encoding="utf-8"))
    data["messages"] = data["messages"][:stop]
    target.mkdir(parents=True)
    text = json.dumps(data, ensure_ascii=False, indent=1)
    (target / "result.json").write_text(text, encoding="utf-8")
    return target


def html_part(export: Path, target: Path) -> Path:
    """The HTML export without its first file (an export of a later period)."""
    shutil.copytree(export, target)
    (target / "messages.html").unlink()
    return target


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One simulated group written in both formats, with the truth and the reference
    counts of a single JSON import."""
    base = tmp_path_factory.mktemp("tg")
    from_json = simulate_export(variant="json", out=base / "json", **OPTIONS)
    from_html = simulate_export(variant="html", out=base / "html", **OPTIONS)
    truth = json.loads(from_json.truth_path.read_text(encoding="utf-8"))
    settings = ImportSettings(timezone=truth["timezone"], commit_every=700)
    with open_store(base / "single.duckdb") as single:
        run_import(single, from_json.export_path, settings)
        alone = counted(single)
    exports = {
        ("json", "all"): from_json.export_path,
        ("html", "all"): from_html.export_path,
        ("json", "early"): json_part(from_json.export_path, base / "json_early", 1500),
        ("html", "late"): html_part(from_html.export_path, base / "html_late"),
    }
    return {
        "truth": true_counts(base / "json"),
        "alone": alone,
        "settings": settings,
        "exports": exports,
    }


@pytest.mark.parametrize("first", ["json", "html"])
@pytest.mark.parametrize("periods", ["same", "overlapping"])
def test_either_order_counts_each_person_and_event_once(
    store: Store, simulated: dict[str, Any], first: str, periods: str
) -> None:
    exports = simulated["exports"]
    parts = {
        "json": exports[("json", "all" if periods == "same" else "early")],
        "html": exports[("html", "all" if periods == "same" else "late")],
    }
    second = "html" if first == "json" else "json"
    settings = simulated["settings"]
    one = run_import(store, parts[first], settings)
    # an HTML export has no chat id; after HTML the JSON export is put in its group
    two = run_import(store, parts[second], replace(settings, group=one.group_id))
    assert two.group_id == one.group_id
    assert counted(store) == simulated["truth"] == simulated["alone"]
    assert store.stats()["rejected_records"] == 0
    if periods == "same":
        # every event of the second export has the key of one of the first: nothing new
        assert two.new_events == 0
    if first == "html":
        assert any("linked to their user ids" in n for n in two.notes), two.notes
    else:
        assert any("names resolved to user ids from earlier JSON imports" in n for n in two.notes)
    # and a third import of either adds nothing
    again = run_import(store, parts[first], replace(settings, group=one.group_id))
    assert again.new_events == 0
