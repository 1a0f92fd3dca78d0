"""Pseudonymised imports, forgetting a member, and phone numbers hidden when shown."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from shequn.cli import app
from shequn.events import EVENT_SCHEMA, EventKind
from shequn.importers.base import ImportSettings
from shequn.ingest import run_import
from shequn.privacy.display import mask_phone, shown
from shequn.privacy.forgetting import ForgottenFilter, forget_member
from shequn.privacy.keys import fingerprint, privacy_key
from shequn.privacy.pseudonyms import WITHHELD, Pseudonymizer
from shequn.simulate import SimulationSummary, simulate_export
from shequn.store import Store, open_store

PHONE = re.compile(r"\+\d[\d ()-]{6,}\d")


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> tuple[SimulationSummary, dict[str, Any]]:
    out = tmp_path_factory.mktemp("sim")
    summary = simulate_export(members=60, messages=3000, days=30, seed=9, out=out)
    return summary, json.loads(summary.truth_path.read_text(encoding="utf-8"))


def settings(truth: dict[str, Any], **more: Any) -> ImportSettings:
    return ImportSettings(timezone=truth["timezone"], me=truth["exporter"]["name"], **more)


def test_a_pseudonymised_import_stores_no_name_and_no_phone_number(
    store: Store, sim: tuple[SimulationSummary, dict[str, Any]]
) -> None:
    summary, truth = sim
    run_import(store, summary.export_path, settings(truth, pseudonymize=True))
    events = store.events().to_pylist()
    real = {i for m in truth["members"] for i in m["ids"]}
    names = {n for m in truth["members"] for n in m["names"] if len(n) >= 4}
    for event in events:
        for column in ("member_id", "by_member_id"):
            assert event[column] is None or event[column].startswith("p-"), event
        assert event["member_name"] is None or event["member_name"].startswith("Member ")
        assert not set(event["mentions"] or []) & real
        if event["text"] and event["kind"] == EventKind.MESSAGE_POSTED.value:
            assert not PHONE.search(event["text"]), event["text"]
            assert not any("@" + n in event["text"] for n in names), event["text"]
    # the community's shape survives: counts equal the truth's
    stats = store.stats()
    counts = truth["counts"]
    assert (stats["messages"], stats["joins"], stats["removals"]) == (
        counts["messages"],
        counts["joins"],
        counts["removals"],
    )
    assert stats["members"] == len(truth["members"])  # number changes still link


def test_pseudonyms_are_stable_per_store_and_differ_between_stores(
    tmp_path: Path, sim: tuple[SimulationSummary, dict[str, Any]]
) -> None:
    summary, truth = sim
    ids = []
    for name in ("a", "b"):
        with open_store(tmp_path / f"{name}.duckdb") as store:
            run_import(store, summary.export_path, settings(truth, pseudonymize=True))
            again = run_import(
                store, summary.export_path, settings(truth, pseudonymize=True, commit_every=700)
            )
            assert again.record.events_stored == 0
            ids.append(sorted({e["member_id"] for e in store.events().to_pylist()} - {None}))
    assert len(ids[0]) == len(ids[1]) and set(ids[0]).isdisjoint(ids[1])


def test_phone_numbers_in_text_map_to_the_members_pseudonym() -> None:
    p = Pseudonymizer(b"k" * 32)
    member = p.identity("whatsapp", "+49 170 1234567")
    assert p.text("call me at +49 170 1234567 today", {}) == f"call me at {member} today"
    assert p.identity("telegram", "+491701234567") == member  # the same number everywhere
    assert p.identity("telegram", "user1") != p.identity("discord", "user1")
    assert p.text("@Alice see 2024-01-05", {"Alice": "Member ABC"}) == "@Member ABC see 2024-01-05"


def test_rejected_lines_are_withheld_in_a_pseudonymised_import(
    store: Store, fixtures: Path
) -> None:
    malformed = fixtures / "whatsapp" / "quirks" / "malformed.txt"
    result = run_import(store, malformed, ImportSettings(timezone="UTC", pseudonymize=True))
    rejects = store.rejects(result.record.import_id)
    assert rejects and {r.raw for r in rejects} == {WITHHELD}


def test_forgetting_keeps_counts_and_erases_content(
    store: Store, sim: tuple[SimulationSummary, dict[str, Any]]
) -> None:
    summary, truth = sim
    run_import(store, summary.export_path, settings(truth))
    before = store.stats()
    events = store.events().to_pylist()
    mentioned = [e for e in events if e["mentions"]]
    target = mentioned[0]["mentions"][0]
    own = [e for e in events if e["member_id"] == target]
    assert own, "the mentioned member wrote or joined"
    report = forget_member(store, "whatsapp", target)
    assert report.token.startswith("forgotten-") and ("whatsapp", target) in report.identities
    after = store.events().to_pylist()
    assert store.stats() == before  # messages, joins, members: all the same numbers
    assert all(target not in (e["mentions"] or []) for e in after)
    assert all(target not in (e["member_id"], e["by_member_id"]) for e in after)
    anonymous = [e for e in after if e["member_id"] == report.token]
    assert len(anonymous) == len(own)
    assert all(e["text"] is None and e["member_name"] is None for e in anonymous)
    assert target not in {i.identity for i in store.identities()}
    assert report.mentions == sum(target in (e["mentions"] or []) for e in events)

    # importing the same export again brings nothing back
    again = run_import(store, summary.export_path, settings(truth, commit_every=500))
    assert again.record.events_stored == 0
    assert target not in {i.identity for i in store.identities()}


def test_a_later_export_forgets_a_forgotten_member_on_the_way_in(store: Store) -> None:
    key = privacy_key(store)
    token = "forgotten-abc"
    store.forget_identities(
        [("telegram", "user9", fingerprint(key, "telegram", "user9"))], [], token
    )
    filt = ForgottenFilter.for_store(store)
    rows = [
        {"key": "k1", "member_id": "user9", "member_name": "Nine", "text": "hello"},
        {"key": "k2", "member_id": "user1", "text": "hi @user9", "mentions": ["user9", "user2"]},
        {"key": "k3", "member_id": "user2", "by_member_id": "user9", "text": "x"},
    ]
    base = {
        "schema_version": 2,
        "kind": "message_posted",
        "platform": "telegram",
        "community": "c",
        "group_id": "g",
        "ts": 0,
        "is_bot": False,
        "import_id": 1,
    }
    batch = pa.Table.from_pylist([{**base, **r} for r in rows], schema=EVENT_SCHEMA)
    out = filt.apply(batch).to_pylist()
    assert (out[0]["member_id"], out[0]["member_name"], out[0]["text"]) == (token, None, None)
    assert out[1]["mentions"] == ["user2"] and out[1]["text"] == "hi @user9"
    assert out[2]["by_member_id"] == token and out[2]["text"] == "x"


def test_phone_numbers_are_masked_unless_asked() -> None:
    assert mask_phone("+4917012345678") == "+49•••••••••78"
    assert shown("+49 170 1234567") == "+49 ••• •••••67"
    assert shown("+49 170 1234567", show_phones=True) == "+49 170 1234567"
    assert shown("Alice") == "Alice"
    # numbers inside text are masked; dates and times, which have as many digits, are not
    assert shown("call 0170 1234 5678 now") == "call 01•• •••• ••78 now"
    assert shown("Bob (555-123-4567)") == "Bob (55•-•••-••67)"
    for text in ("at 2024-01-31 21:05", "31.01.2024 21:05", "1.2.2024 09:00 and 2024-02-01 10"):
        assert shown(text) == text


def test_the_members_command_hides_phone_numbers(
    tmp_path: Path, sim: tuple[SimulationSummary, dict[str, Any]]
) -> None:
    summary, truth = sim
    db = tmp_path / "s.duckdb"
    with open_store(db) as store:
        run_import(store, summary.export_path, settings(truth))
        identities = store.identities()
    runner = CliRunner()
    masked = runner.invoke(app, ["--store", str(db), "members", "--limit", "0", "--json"])
    assert masked.exit_code == 0, masked.output
    rows = json.loads(masked.output)
    assert len(rows) == len(identities) > 0
    phones = {i for m in truth["members"] for i in m["ids"] if i.startswith("+")}
    assert phones and not any(p in masked.output for p in phones)
    full = runner.invoke(
        app, ["--store", str(db), "members", "--limit", "0", "--json", "--show-phones"]
    )
    assert all(p in full.output for p in phones)


def test_rejected_lines_show_phone_numbers_masked(tmp_path: Path) -> None:
    export = tmp_path / "WhatsApp Chat with Phones.txt"
    export.write_text(
        "31/12/23, 21:00 - +49 170 1234567: hello\n"
        "31/02/23, 21:01 - +49 170 1234567: impossible date\n",
        encoding="utf-8",
    )
    db = tmp_path / "s.duckdb"
    runner = CliRunner()
    imported = runner.invoke(app, ["--store", str(db), "import", str(export), "--timezone", "UTC"])
    assert imported.exit_code == 0, imported.output
    masked = runner.invoke(app, ["--store", str(db), "imports", "show", "1"])
    assert "impossible date" in masked.output and "+49 ••• •••••67" in masked.output
    assert "1234567" not in masked.output
    full = runner.invoke(app, ["--store", str(db), "imports", "show", "1", "--show-phones"])
    assert "+49 170 1234567" in full.output
