"""The generic roster CSV: members known only from a list are members with no messages."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from shequn.errors import ConfigError, ImportFormatError
from shequn.importers import open_export
from shequn.importers.base import ImportSettings
from shequn.importers.roster import RosterImporter
from shequn.ingest import run_import
from shequn.simulate import simulate_export
from shequn.store import Store

HEADER = "platform,group,member_id,name,joined_at,role\n"


def write(path: Path, body: str, *, bom: bool = False) -> Path:
    path.write_bytes(("\ufeff" if bom else "").encode() + (HEADER + body).encode())
    return path


def test_rows_become_listed_members_counted_without_messages(store: Store, tmp_path: Path) -> None:
    roster = write(
        tmp_path / "members.csv",
        "telegram,-1001,user1,Alice,2024-01-05T09:30:00+08:00,admin\n"
        "telegram,-1001,user2,Bob,2024-01-06 10:00,\n"
        "slack,C01,U03,Carol,,\n",
        bom=True,
    )
    result = run_import(store, roster, ImportSettings(community="c", timezone="Europe/Berlin"))
    assert result.record.events_stored == 3
    events = {e["member_id"]: e for e in store.events().to_pylist()}
    assert {e["kind"] for e in events.values()} == {"member_listed"}
    assert events["user1"]["ts"] == datetime(2024, 1, 5, 1, 30)  # +08:00 → UTC
    assert events["user2"]["ts"] == datetime(2024, 1, 6, 9, 0)  # Berlin winter, UTC+1
    assert json.loads(events["user1"]["extra"]) == {"role": "admin"}
    assert events["U03"]["member_name"] == "Carol" and events["U03"]["extra"] is None
    stats = store.stats()
    assert stats["members"] == 3 and stats["messages"] == 0 and stats["groups"] == 2
    assert stats["by_platform"]["telegram"] == {"groups": 1, "messages": 0, "members": 2}
    assert {(g.platform, g.group_id) for g in store.groups()} == {
        ("telegram", "-1001"),
        ("slack", "C01"),
    }


def test_bad_rows_are_rejected_with_their_line_and_the_rest_stored(
    store: Store, tmp_path: Path
) -> None:
    roster = write(
        tmp_path / "r.csv",
        "telegram,-1001,user1,Alice,,\n"
        "telegram,-1001,,NoId,,\n"
        "telegram,-1001,user3,Carl,last tuesday,\n"
        "telegram,-1001,user4,Dora,,\n",
    )
    result = run_import(store, roster, ImportSettings(community="c"))
    assert result.record.events_stored == 2 and result.record.rejected == 2
    rejects = store.rejects(result.record.import_id)
    assert [(r.line, r.reason) for r in rejects] == [
        (3, "column 'member_id' is empty"),
        (4, "joined_at 'last tuesday' is not an ISO 8601 time"),
    ]
    assert all(r.source == "r.csv" for r in rejects)


def test_a_newer_list_adds_only_new_members(store: Store, tmp_path: Path) -> None:
    first = write(tmp_path / "a.csv", "discord,G1,11,Ann,,\ndiscord,G1,12,Ben,,\n")
    run_import(store, first, ImportSettings(community="c", commit_every=1))
    again = run_import(store, first, ImportSettings(community="c"))
    assert again.record.events_stored == 0
    newer = write(
        tmp_path / "b.csv", "discord,G1,11,Ann,,\ndiscord,G1,12,Ben,,\ndiscord,G1,13,Cy,,\n"
    )
    result = run_import(store, newer, ImportSettings(community="c"))
    assert (result.record.events_stored, result.record.duplicates) == (1, 2)
    assert store.stats()["members"] == 3


def test_a_roster_keeps_the_timezone_of_a_group_imported_before(
    store: Store, tmp_path: Path
) -> None:
    summary = simulate_export(members=20, messages=300, days=5, seed=2, out=tmp_path / "sim")
    run_import(store, summary.export_path, ImportSettings(community="c", timezone="Asia/Shanghai"))
    group = summary.group_name
    roster = write(tmp_path / "r.csv", f"whatsapp,{group},+15550001111,Lurker,,\n")
    run_import(store, roster, ImportSettings(community="c", timezone="UTC", timezone_given=False))
    (info,) = [g for g in store.groups() if g.group_id == group]
    assert info.timezone == "Asia/Shanghai" and info.name == group
    with pytest.raises(ConfigError, match="Asia/Shanghai"):
        run_import(store, roster, ImportSettings(community="c", timezone="Europe/Paris"))


def test_only_roster_headers_are_recognised(tmp_path: Path) -> None:
    other = tmp_path / "other.csv"
    other.write_text("localId,TalkerId,Type\n1,x@chatroom,1\n", encoding="utf-8")
    assert not RosterImporter.sniff(other)
    with pytest.raises(ImportFormatError, match="roster CSV"):
        RosterImporter(other)
    roster = write(tmp_path / "r.csv", "whatsapp,G,+1555,X,,\n")
    assert isinstance(open_export(roster), RosterImporter)
