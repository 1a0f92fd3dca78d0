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
from shequn.importers.telegram import TelegramImporter
from shequn.importers.telegram.people import People, known_groups
from shequn.ingest import run_import
from shequn.privacy.forgetting import forget_member
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


def json_part(export: Path, target: Path, part: slice) -> Path:
    """The JSON export cut to a ``part`` of its messages (an export of another period)."""
    data = json.loads((export / "result.json").read_text(encoding="utf-8"))
    data["messages"] = data["messages"][part]
    target.mkdir(parents=True)
    text = json.dumps(data, ensure_ascii=False, indent=1)
    (target / "result.json").write_text(text, encoding="utf-8")
    return target


def html_part(export: Path, target: Path, drop: str) -> Path:
    """The HTML export without one of its files (an export of a shorter period)."""
    shutil.copytree(export, target)
    (target / drop).unlink()
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
        # records 1-1,500 and 1,001-2,0xx; records 701-2,0xx and 1-2,000
        ("json", "early"): json_part(from_json.export_path, base / "j1", slice(None, 1500)),
        ("html", "late"): html_part(from_html.export_path, base / "h1", "messages.html"),
        ("json", "late"): json_part(from_json.export_path, base / "j2", slice(700, None)),
        ("html", "early"): html_part(from_html.export_path, base / "h2", "messages3.html"),
    }
    return {
        "truth": true_counts(base / "json"),
        "alone": alone,
        "settings": settings,
        "exports": exports,
    }


@pytest.mark.parametrize("first", ["json", "html"])
@pytest.mark.parametrize("periods", ["same", "json earlier", "html earlier"])
def test_either_order_counts_each_person_and_event_once(
    store: Store, simulated: dict[str, Any], first: str, periods: str
) -> None:
    exports = simulated["exports"]
    json_period, html_period = {
        "same": ("all", "all"),
        "json earlier": ("early", "late"),
        "html earlier": ("late", "early"),
    }[periods]
    parts = {"json": exports[("json", json_period)], "html": exports[("html", html_period)]}
    second = "html" if first == "json" else "json"
    settings = simulated["settings"]
    one = run_import(store, parts[first], settings)
    # an HTML export has no chat id: it joins the JSON export's group, and a JSON export
    # joins the group its HTML exports made (keyed by the title)
    two = run_import(store, parts[second], settings)
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


# -- small hand-written exports of one chat: forum_group (JSON) and html_chat (HTML) ----------
def test_html_names_become_the_user_ids_of_an_earlier_json_import(store: Store) -> None:
    settings = ImportSettings(timezone="Europe/Berlin")
    run_import(store, FORUM, settings)
    html = run_import(store, FIXTURES / "html_chat", replace(settings, group=FORUM_GROUP))
    rows = store.events().to_pylist()
    mine = [r for r in rows if r["import_id"] == html.record.import_id]
    named = {r["member_name"]: r["member_id"] for r in mine if r["member_name"]}
    assert {n: named[n] for n in ("Bob Jones", "Carol White", "Dan Brown")} == {
        "Bob Jones": "user1002",
        "Carol White": "user1003",
        "Dan Brown": "user1004",
    }
    assert named["Frank Moss"] == "Frank Moss"  # in no JSON export: keyed by name
    assert {r["by_member_id"] for r in mine if r["by_member_id"]} == {"user1001"}  # Alice
    # the invitation both exports show is stored once per member
    invited = [r["member_id"] for r in rows if r["platform_id"] == "-999999989"]
    assert sorted(invited, key=str) == sorted(["user1003", "user1004", None, "user1005"], key=str)
    assert (
        "HTML export: 5 names resolved to user ids from earlier JSON imports, "
        "0 ambiguous left as names, 2 not known by id kept as names"
    ) in html.notes


def test_a_name_two_user_ids_share_stays_a_name(store: Store, tmp_path: Path) -> None:
    text = (FORUM / "result.json").read_text(encoding="utf-8").replace("Dan Brown", "Bob Jones")
    (tmp_path / "two_bobs").mkdir()
    (tmp_path / "two_bobs" / "result.json").write_text(text, encoding="utf-8")
    settings = ImportSettings(timezone="Europe/Berlin")
    run_import(store, tmp_path / "two_bobs", settings)
    html = run_import(store, FIXTURES / "html_chat", replace(settings, group=FORUM_GROUP))
    mine = [r for r in store.events().to_pylist() if r["import_id"] == html.record.import_id]
    named = {r["member_name"]: r["member_id"] for r in mine if r["member_name"]}
    # user1002 and user1004 are both "Bob Jones": the name is no evidence of either;
    # Alice, Carol and Erin resolve, and Dan Brown is in no JSON export now
    assert named["Bob Jones"] == "Bob Jones"
    assert named["Carol White"] == "user1003"
    assert any("3 names resolved to user ids" in n and "1 ambiguous" in n for n in html.notes)


def test_names_an_html_import_made_first_are_linked_to_the_json_ids(store: Store) -> None:
    settings = ImportSettings(timezone="Europe/Berlin", group=FORUM_GROUP)
    run_import(store, FIXTURES / "html_chat", settings)
    members_html = store.stats()["members"]
    from_json = run_import(store, FORUM, settings)
    # Alice, Bob, Carol, Dan and Erin are one member each; Frank Moss (HTML only) and
    # the JSON's own identities (the channel, the bot, …) are added
    keys = {n: store.member_key("telegram", n) for n in ("Alice Smith", "Bob Jones", "Erin Green")}
    assert keys == {
        "Alice Smith": "telegram:user1001",
        "Bob Jones": "telegram:user1002",
        "Erin Green": "telegram:user1005",
    }
    assert store.member_key("telegram", "Frank Moss") == "telegram:Frank Moss"
    ids = {i.identity for i in store.identities()}
    new_ids = {i for i in ids if i.startswith(("user", "channel"))} - {
        "user1001", "user1002", "user1003", "user1004", "user1005"
    }  # fmt: skip
    assert store.stats()["members"] == members_html + len(new_ids)
    assert any("5 display names of earlier HTML imports linked" in n for n in from_json.notes)
    # each reaction, join and removal of the chat once: a third import adds nothing
    assert run_import(store, FIXTURES / "html_chat", settings).new_events == 0
    assert run_import(store, FORUM, settings).new_events == 0
    # the links are the JSON import's: undoing it separates the names again
    store.undo_import(from_json.record.import_id)
    assert store.member_key("telegram", "Bob Jones") == "telegram:Bob Jones"


def test_a_name_is_keyed_as_the_store_first_keyed_it_unless_someone_else_has_it() -> None:
    known = known_groups(
        [
            ("g", "Bob Jones", "Bob Jones", None),  # an HTML import of the group
            ("g", "user2", "Bob Jones", None),  # a JSON import of it
            ("g", "Carol", "Carol", None),
            ("g", "user3", "Carol", None),
            ("g", "user4", "Carol", None),  # two ids named Carol
            ("g", "user5", None, "-7"),  # the actor of service message -7 (no name kept)
            ("g", "Erin", None, "-8"),  # an HTML import's actor
        ]
    )["g"]
    assert known.named == {"Bob Jones", "Carol", "Erin"}
    assert known.actors == {"-7": "user5"} and "user5" not in str(known.ids)
    people = People(known)
    assert people.member("Bob Jones") == "user2"
    assert people.member("Carol") == "Carol"  # ambiguous: stays a name
    assert people.member("Dora") == "Dora"
    assert (people.resolved, people.unresolved, people.unknown) == (
        {"Bob Jones"},
        {"Carol"},
        {"Dora"},
    )
    assert people.key("user2", "Bob Jones") == "Bob Jones"  # as the HTML import keyed it
    assert people.key("user9", "Bob Jones") == "user9"  # another Bob: not merged
    assert people.key("user3", "Carol") == "user3"
    assert people.links == {"Bob Jones": "user2"}
    # a name the export itself writes with two ids is no evidence either
    assert People(known, ambiguous={"Bob Jones"}).key("user2", "Bob Jones") == "user2"
    # the store's actor of a service message is the one this import names there
    people.acted("-7", people.member("Frank"))
    people.acted("-7", people.member("Carol"))  # ambiguous: no one in particular
    people.acted("-8", "Erin")  # the store has no id for it
    assert people.links == {"Bob Jones": "user2", "Frank": "user5"}
    # with nothing known the identities are the export's own
    assert People().member("Bob Jones") == "Bob Jones"
    assert People().key("user2", "Bob Jones") == "user2"


def test_json_after_html_of_its_title_joins_their_group(store: Store, tmp_path: Path) -> None:
    text = (FORUM / "result.json").read_text(encoding="utf-8")
    (tmp_path / "forum").mkdir()
    text = text.replace('"name": "Makers Forum"', '"name": "Makers & Friends"', 1)
    (tmp_path / "forum" / "result.json").write_text(text, encoding="utf-8")
    settings = ImportSettings(timezone="Europe/Berlin")
    html = run_import(store, FIXTURES / "html_chat", settings)
    assert html.group_id == "Makers & Friends"  # no chat id: keyed by its title
    from_json = run_import(store, tmp_path / "forum", settings)
    assert from_json.group_id == "Makers & Friends"
    assert any("where the store holds its HTML exports" in n for n in from_json.notes)
    assert {g.group_id for g in store.groups() if g.events} == {"Makers & Friends"}
    again = run_import(store, tmp_path / "forum", settings)  # and stays there
    assert (again.group_id, again.new_events) == ("Makers & Friends", 0)
    # --group still wins: the chat id keeps a JSON export apart
    apart = run_import(store, tmp_path / "forum", replace(settings, group=FORUM_GROUP))
    assert apart.group_id == FORUM_GROUP


def test_an_import_never_moves_an_identity_the_operator_linked(store: Store) -> None:
    settings = ImportSettings(timezone="Europe/Berlin", group=FORUM_GROUP)
    run_import(store, FIXTURES / "html_chat", settings)
    # the operator made "Bob Jones" the member of another identity, "Carol White" the key
    store.link_members(("telegram", "Bob Jones"), ("telegram", "Frank Moss"))
    store.link_members(("telegram", "Carol White"), ("telegram", "Dan Brown"))
    run_import(store, FORUM, settings)
    assert store.member_key("telegram", "Bob Jones") == "telegram:Bob Jones"
    assert store.member_key("telegram", "Carol White") == "telegram:Carol White"
    assert store.member_key("telegram", "Dan Brown") == "telegram:Carol White"
    assert store.member_key("telegram", "Erin Green") == "telegram:user1005"


def _renamed(tmp_path: Path, old: str, new: str) -> Path:
    """The forum export with every ``old`` display name written ``new`` (a later export
    in which another user took the name)."""
    text = (FORUM / "result.json").read_text(encoding="utf-8").replace(old, new)
    target = tmp_path / f"{old}-{new}".replace(" ", "_")
    target.mkdir()
    (target / "result.json").write_text(text, encoding="utf-8")
    return target


def test_a_re_import_keeps_a_name_resolved_before_another_user_took_it(
    store: Store, tmp_path: Path
) -> None:
    settings = ImportSettings(timezone="Europe/Berlin", group=FORUM_GROUP)
    run_import(store, FORUM, settings)
    html = run_import(store, FIXTURES / "html_chat", settings)  # Dan Brown is user1004
    # a later JSON export where Bob (user1002) is called Dan Brown too
    run_import(store, _renamed(tmp_path, "Bob Jones", "Dan Brown"), settings)
    before = counted(store)
    # the name resolved to user1004 once: the same HTML export keys its events the same
    again = run_import(store, FIXTURES / "html_chat", settings)
    assert again.new_events == 0
    assert counted(store) == before
    mine = [r for r in store.events().to_pylist() if r["import_id"] == html.record.import_id]
    assert {r["member_id"] for r in mine if r["member_name"] == "Dan Brown"} == {"user1004"}


def test_a_name_keyed_by_an_html_import_stays_its_key_when_another_user_takes_it(
    store: Store, tmp_path: Path
) -> None:
    settings = ImportSettings(timezone="Europe/Berlin", group=FORUM_GROUP)
    run_import(store, FIXTURES / "html_chat", settings)
    run_import(store, FORUM, settings)  # Bob's events keyed "Bob Jones", linked to user1002
    later = run_import(store, _renamed(tmp_path, "Dan Brown", "Bob Jones"), settings)
    rows = store.events().to_pylist()
    new = [r for r in rows if r["import_id"] == later.record.import_id]
    # Bob's own join (service message -999999990) and reaction (post 3) are not new;
    # Dan's events under his new name are (a renamed person matches nothing)
    assert not [r for r in new if r["member_id"] == "user1002" and r["platform_id"] in (
        "-999999990", "3")]  # fmt: skip
    bobs = [r for r in rows if r["kind"] == "reaction_added" and r["member_id"] == "user1002"]
    assert len(bobs) == 1


def test_no_link_gives_a_forgotten_id_its_name_again(store: Store) -> None:
    settings = ImportSettings(timezone="Europe/Berlin", group=FORUM_GROUP)
    run_import(store, FORUM, settings)
    forget_member(store, "telegram", "user1002")  # Bob Jones, by id
    run_import(store, FIXTURES / "html_chat", settings)  # Bob Jones: a name again
    run_import(store, FORUM, settings)  # the old export, forgotten on the way in
    links = store.identity_links("telegram")
    assert "telegram:user1002" not in links.values() and "user1002" not in links
    assert store.member_key("telegram", "Bob Jones") == "telegram:Bob Jones"
    assert links["Carol White"] == "telegram:user1003"  # the others are still linked
    assert not [i for i in store.identities() if "user1002" in i.identity + i.member_key]


def test_names_that_read_the_same_are_two_people_not_one(store: Store, tmp_path: Path) -> None:
    # Dan (user1004) is "Bob  Jones": one identity with Bob's "Bob Jones" (user1002)
    settings = ImportSettings(timezone="Europe/Berlin", group=FORUM_GROUP)
    export = _renamed(tmp_path, "Dan Brown", "Bob  Jones")
    run_import(store, FIXTURES / "html_chat", settings)
    run_import(store, export, settings)
    reactions = [r for r in store.events().to_pylist() if r["kind"] == "reaction_added"]
    # both reacted 👍 to post 3: two reactions, not one merged by the name
    assert sorted(r["member_id"] for r in reactions if r["member_id"]) == ["user1002", "user1004"]
    assert "Bob Jones" not in store.identity_links("telegram")
    assert run_import(store, export, settings).new_events == 0


def test_an_account_export_links_no_name_its_groups_find_to_be_two_ids() -> None:
    importer = TelegramImporter(FIXTURES / "account")
    importer.learn_members(
        [
            ("-3001", "user7", "Zed Quist", None),  # an earlier JSON import of each chat
            ("-1000000003002", "user8", "Zed Quist", None),
            ("-3001", "user9", "Yan Ode", None),  # one person in both
            ("-1000000003002", "user9", "Yan Ode", None),
        ]
    )
    list(importer.batches(ImportSettings(timezone="UTC")))
    people = importer._json.people  # type: ignore[union-attr]
    for group in ("-3001", "-1000000003002"):  # each chat names the two without an id
        people[group].member("Zed Quist")
        people[group].member("Yan Ode")
    assert people["-3001"].decided["Zed Quist"] == "user7"
    assert people["-1000000003002"].decided["Zed Quist"] == "user8"
    assert importer.identity_links() == [("Yan Ode", "user9")]
