"""Identities: link, unlink and suggestions, counted as members; on both stores."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shequn.errors import ConfigError
from shequn.importers.base import ImportSettings
from shequn.ingest import run_import
from shequn.members import resolve, suggest_links
from shequn.simulate import simulate_export
from shequn.store import Store

HEADER = "platform,group,member_id,name,joined_at,role\n"


def roster(path: Path, rows: str) -> Path:
    path.write_text(HEADER + rows, encoding="utf-8")
    return path


@pytest.fixture
def people(store: Store, tmp_path: Path) -> Store:
    """Five identities on three platforms; two pairs are visibly one person."""
    run_import(
        store,
        roster(
            tmp_path / "people.csv",
            "whatsapp,Makers,+8613800001111,+86 138 0000 1111,,\n"
            "telegram,-1001,user1,Lin Wei,,\n"
            "telegram,-1001,user2,+86 138-0000-1111,,\n"
            "slack,C1,U1,lin.wei,,\n"
            "slack,C1,U2,Bo,,\n",
        ),
        ImportSettings(community="c"),
    )
    return store


def members(store: Store) -> int:
    return int(store.stats()["members"])


def test_linking_counts_one_member_across_platforms(people: Store) -> None:
    assert members(people) == 5
    known = people.identities("c")
    wa = resolve(known, "whatsapp:+86 138 0000 1111")
    tg = resolve(known, "telegram:user2")
    key = people.link_members((wa.platform, wa.identity), (tg.platform, tg.identity))
    assert key == "whatsapp:+8613800001111"
    assert members(people) == 4
    by_platform = people.stats()["by_platform"]
    assert by_platform["telegram"]["members"] == 2 and by_platform["whatsapp"]["members"] == 1
    # a third identity joins the same member, through either of the linked ones
    people.link_members(("telegram", "user2"), ("slack", "U2"))
    assert members(people) == 3
    assert {i.member_key for i in people.identities() if i.identity in ("U2", "user2")} == {key}


def test_unlinking_the_first_identity_keeps_the_others_together(people: Store) -> None:
    people.link_members(("whatsapp", "+8613800001111"), ("telegram", "user2"))
    people.link_members(("whatsapp", "+8613800001111"), ("slack", "U2"))
    assert members(people) == 3
    assert people.unlink_member("whatsapp", "+8613800001111")
    assert members(people) == 4  # whatsapp alone; telegram:user2 and slack:U2 still one
    keys = {i.identity: i.member_key for i in people.identities()}
    assert keys["user2"] == keys["U2"] != keys["+8613800001111"]
    assert not people.unlink_member("slack", "U1")  # was never linked


def test_references_resolve_by_identity_or_name_and_never_guess(people: Store) -> None:
    known = people.identities()
    assert resolve(known, "user1").identity == "user1"
    assert resolve(known, "Lin Wei").identity == "user1"
    assert resolve(known, "slack:U2").platform == "slack"
    assert resolve(known, "+86 138 0000 1111").platform == "whatsapp"  # the identity wins
    with pytest.raises(ConfigError, match="no member 'Nobody'"):
        resolve(known, "Nobody")
    twice = [*known, *[i for i in known if i.identity == "user1"]]
    with pytest.raises(ConfigError, match="matches 2 identities"):
        resolve(twice, "user1")


def test_suggestions_find_shared_phones_and_handles_without_applying(people: Store) -> None:
    found = {
        (f"{s.a.platform}:{s.a.identity}", f"{s.b.platform}:{s.b.identity}"): s.reasons
        for s in suggest_links(people.identities())
    }
    phone = ("telegram:user2", "whatsapp:+8613800001111")
    handle = ("slack:U1", "telegram:user1")
    assert set(found) == {phone, handle}
    assert found[phone] == ("same phone number …80•••••11",)  # last 9 digits, masked
    assert found[handle] == ("same handle 'linwei'",)
    assert members(people) == 5  # nothing applied
    people.link_members(("telegram", "user1"), ("slack", "U1"))
    assert len(suggest_links(people.identities())) == 1


def test_crowded_handles_are_not_evidence(store: Store, tmp_path: Path) -> None:
    rows = "".join(f"telegram,-1,user{i},Alex,,\n" for i in range(5))
    run_import(store, roster(tmp_path / "r.csv", rows), ImportSettings(community="c"))
    assert suggest_links(store.identities()) == []


def test_a_number_change_in_an_export_is_a_link_too(store: Store, tmp_path: Path) -> None:
    summary = simulate_export(members=40, messages=2000, days=20, seed=4, out=tmp_path / "sim")
    truth = json.loads(summary.truth_path.read_text(encoding="utf-8"))
    run_import(
        store,
        summary.export_path,
        ImportSettings(timezone=truth["timezone"], me=truth["exporter"]["name"]),
    )
    changed = [m for m in truth["members"] if len(m["ids"]) > 1]
    assert changed, "the simulator writes at least one number change"
    keys = {i.identity: i.member_key for i in store.identities()}
    for member in changed:
        assert len({keys[i] for i in member["ids"] if i in keys}) == 1
    assert members(store) == len(truth["members"])
