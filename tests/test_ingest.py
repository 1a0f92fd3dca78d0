"""Imports end to end on both stores: resume after a kill, re-imports, overlapping exports."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest

from shequn.errors import ConfigError
from shequn.importers.base import Batch, ImportSettings
from shequn.ingest import _after, _group_pairs, run_import
from shequn.store import Reject, Window, open_store

QUIRKS = Path(__file__).parent / "fixtures" / "whatsapp" / "quirks"
MAKERS = QUIRKS / "WhatsApp Chat with Makers.txt"


def keys(url: str) -> set[str]:
    with open_store(url) as store:
        return set(store.events().column("key").to_pylist())


def test_reimport_stores_nothing_new(store_url: str) -> None:
    with open_store(store_url) as store:
        first = run_import(store, MAKERS, ImportSettings(community="makers", timezone="UTC"))
        second = run_import(store, MAKERS, ImportSettings(community="makers", timezone="UTC"))
        assert first.new_events == first.record.events_stored > 30
        assert second.new_events == 0 and second.record.duplicates == first.new_events
        # another timezone would mix local times in one group: refused, nothing stored
        with pytest.raises(ConfigError, match="--timezone"):
            run_import(store, MAKERS, ImportSettings(community="makers", timezone="Asia/Shanghai"))
        assert len(store.imports()) == 2


def test_overlapping_exports_merge_into_their_union(store_url: str, tmp_path: Path) -> None:
    lines = MAKERS.read_text(encoding="utf-8").splitlines(keepends=True)
    early, late = tmp_path / "early" / MAKERS.name, tmp_path / "late" / MAKERS.name
    early.parent.mkdir()
    late.parent.mkdir()
    early.write_text("".join(lines[:20]), encoding="utf-8")  # up to the edited message
    late.write_text("".join(lines[5:]), encoding="utf-8")  # from the second "ok" on
    whole_url = str(tmp_path / "whole.duckdb")
    with open_store(whole_url) as whole:
        run_import(whole, MAKERS, ImportSettings(timezone="UTC"))
    with open_store(store_url) as store:
        run_import(store, early, ImportSettings(timezone="UTC"))
        run_import(store, late, ImportSettings(timezone="UTC"))
    assert keys(store_url) == keys(whole_url)


def test_undo_then_reimport_restores(store_url: str) -> None:
    with open_store(store_url) as store:
        first = run_import(store, MAKERS, ImportSettings(timezone="UTC"))
        before = store.stats()
        assert store.undo_import(first.record.import_id) == first.new_events
        assert store.stats()["messages"] == 0
        again = run_import(store, MAKERS, ImportSettings(timezone="UTC"))
        assert again.new_events == first.new_events
        assert store.stats() == before


def write_big_export(path: Path, messages: int) -> None:
    """A plain Android export, big enough that importing it takes a few seconds."""
    rng = random.Random(5)
    t = datetime(2023, 1, 1)
    with path.open("w", encoding="utf-8") as fh:
        for i in range(messages):
            t += timedelta(seconds=rng.randint(0, 90))
            author = f"Member {rng.randint(1, 400)}"
            fh.write(f"{t:%d/%m/%y, %H:%M} - {author}: message {i} {'x' * rng.randint(1, 60)}\n")
            if i % 97 == 0:
                fh.write("a continuation line\n")


@pytest.mark.slow
def test_sigkill_mid_import_leaves_a_consistent_store_and_resumes(
    store_url: str, tmp_path: Path
) -> None:
    export = tmp_path / "WhatsApp Chat with Big.txt"
    write_big_export(export, 300_000)
    command = [
        sys.executable,
        "-m",
        "shequn.cli",
        "import",
        str(export),
        "--store",
        store_url,
        "--timezone",
        "UTC",
        "--commit-every",
        "10000",
        "--verbose",
    ]
    child = subprocess.Popen(
        command, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"}
    )
    assert child.stderr is not None
    commits = 0
    while commits < 3:
        line = child.stderr.readline()
        assert line, "import ended before it could be killed"
        commits += line.startswith("committed through line")
    child.send_signal(signal.SIGKILL)
    child.wait()
    child.stderr.close()
    assert child.returncode == -signal.SIGKILL

    with open_store(store_url) as store:
        [record] = store.imports()
        assert record.status == "running" and record.position > 0
        events = store.events()
        assert events.num_rows == record.events_stored
        assert max(events.column("source_line").to_pylist()) <= record.position
        stored_before = record.events_stored
        assert 0 < stored_before < 300_000

    resumed = subprocess.run(command, capture_output=True, text=True, check=True)
    assert "resumed" in resumed.stdout
    reference = str(tmp_path / "reference.duckdb")
    with open_store(reference) as ref:
        run_import(ref, export, ImportSettings(timezone="UTC"))
    assert keys(store_url) == keys(reference)
    with open_store(store_url) as store:
        [record] = store.imports()
        assert record.status == "complete" and record.duplicates == 0
        assert record.events_stored == len(keys(reference)) == 300_000


def test_same_group_name_in_two_communities_are_two_groups(store_url: str) -> None:
    with open_store(store_url) as store:
        a = run_import(store, MAKERS, ImportSettings(community="a", timezone="UTC"))
        b = run_import(store, MAKERS, ImportSettings(community="b", timezone="UTC"))
        assert a.new_events == b.new_events > 0
        assert (
            store.stats(Window(community="b"))["messages"]
            == store.stats(Window(community="a"))["messages"]
            > 0
        )


def test_nul_bytes_import_on_every_store(store_url: str) -> None:
    nul = Path(__file__).parent / "fixtures" / "whatsapp" / "review" / "WhatsApp Chat with Nul.txt"
    with open_store(store_url) as store:
        result = run_import(store, nul, ImportSettings(timezone="UTC"))
        assert result.record.status == "complete" and result.new_events == 2


def test_bad_options_fail_before_the_ledger_opens(store_url: str) -> None:
    with open_store(store_url) as store:
        with pytest.raises(ConfigError, match="--date-order"):
            run_import(store, MAKERS, ImportSettings(timezone="UTC", date_order="xyz"))
        assert store.imports() == [] and store.groups() == []


def _batch_of_lines(lines: list[int | None], reject_lines: list[int]) -> Batch:
    events = pa.table(
        {"source_line": pa.array(lines, pa.int64()), "text": [f"t{i}" for i in range(len(lines))]}
    )
    rejects = [Reject("x.txt", line, "bad", "raw") for line in reject_lines]
    return Batch(events=events, rejects=rejects, position=9, records_read=5, bytes_read=1)


def test_after_keeps_a_batch_wholly_past_the_committed_line_as_it_is() -> None:
    batch = _batch_of_lines([5, 6, 8], [7])
    assert _after(batch, 0) is batch
    assert _after(batch, 4) is batch
    part = _after(batch, 6)
    assert part is not batch
    assert part.events.column("source_line").to_pylist() == [8]
    assert [r.line for r in part.rejects] == [7]
    assert (part.position, part.records_read, part.bytes_read) == (9, 5, 1)


def test_after_drops_events_without_a_line_and_rejects_at_or_before_it() -> None:
    nulls = _after(_batch_of_lines([5, None, 8], []), 4)
    assert nulls.events.column("source_line").to_pylist() == [5, 8]
    early_reject = _after(_batch_of_lines([5, 6], [3, 7]), 4)
    assert early_reject.events.num_rows == 2
    assert [r.line for r in early_reject.rejects] == [7]


def _fails_and_ends_the_import(tmp_path: Path, message: str) -> None:
    """An import into a new DuckDB store raises ``message``; the store's buffer pool is
    given back and the ledger shows the import failed, not running."""
    from shequn.store.duckdb_store import DuckDBStore

    store = DuckDBStore(tmp_path / "s.duckdb")
    with store:

        def limit() -> object:
            return store.con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]

        before = limit()
        with pytest.raises(RuntimeError, match=message):
            run_import(store, MAKERS, ImportSettings(community="makers", timezone="UTC"))
        assert limit() == before
        assert [r.status for r in store.imports()] == ["failed"]


def test_an_import_failing_after_its_last_batch_gives_the_buffer_pool_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shequn.importers.whatsapp import WhatsAppImporter

    def broken(self: WhatsAppImporter) -> list[str]:
        raise RuntimeError("notes failed")

    monkeypatch.setattr(WhatsAppImporter, "notes", broken)
    _fails_and_ends_the_import(tmp_path, "notes failed")


def test_an_import_failing_before_its_first_batch_is_not_left_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reading the store's forgotten members (the privacy step) comes after the ledger
    opened the import: its failure ends the import too."""
    from shequn.privacy.forgetting import ForgottenFilter

    def broken(store: object) -> object:
        raise RuntimeError("forgotten members unreadable")

    monkeypatch.setattr(ForgottenFilter, "for_store", broken)
    _fails_and_ends_the_import(tmp_path, "forgotten members unreadable")


def test_an_engine_failure_mid_import_is_one_sentence_and_the_rerun_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DuckDB running out of memory while a chunk is parsed (as 300 pasted pages once
    did) ends the import with a sentence naming the file and the line it reached, keeps
    what was committed, and the same import resumes to the full set, no duplicates."""
    import duckdb

    from shequn.errors import ImportStopped
    from shequn.importers.whatsapp.parser import ChunkParser

    export = tmp_path / "WhatsApp Chat with Big.txt"
    write_big_export(export, 3_000)
    settings = ImportSettings(community="c", timezone="UTC", commit_every=500)
    url = str(tmp_path / "s.duckdb")
    with open_store(str(tmp_path / "whole.duckdb")) as whole:
        expected = run_import(whole, export, settings).record.events_stored
    parse = ChunkParser.parse
    calls = [0]

    def failing(self: ChunkParser, msgs: pa.Table) -> object:
        calls[0] += 1
        if calls[0] == 3:
            raise duckdb.OutOfMemoryException("Out of Memory Error: could not allocate block")
        return parse(self, msgs)

    monkeypatch.setattr(ChunkParser, "parse", failing)
    with open_store(url) as store:
        with pytest.raises(ImportStopped) as stopped:
            run_import(store, export, settings)
        message = str(stopped.value)
        assert message.startswith(f"{export}: the import stopped after line ")
        assert "Out of Memory Error" in message and "\n" not in message
        assert [r.status for r in store.imports()] == ["failed"]
        kept = store.imports()[0].events_stored
        assert 0 < kept < expected
    monkeypatch.setattr(ChunkParser, "parse", parse)
    with open_store(url) as store:
        again = run_import(store, export, settings)
        assert again.record.resumed and again.record.status == "complete"
        assert store.stats()["messages"] == 3_000
        assert len(keys(url)) == expected


def test_group_pairs_of_a_batch_one_group_or_several() -> None:
    one = pa.table({"platform": ["whatsapp"] * 3, "group_id": ["g"] * 3})
    assert _group_pairs(one) == {("whatsapp", "g")}
    several = pa.table({"platform": ["telegram", "telegram", "slack"], "group_id": ["a", "b", "a"]})
    assert _group_pairs(several) == {("telegram", "a"), ("telegram", "b"), ("slack", "a")}
    chunked = pa.concat_tables([one, pa.table({"platform": ["whatsapp"], "group_id": ["h"]})])
    assert _group_pairs(chunked) == {("whatsapp", "g"), ("whatsapp", "h")}
    nulls = pa.table({"platform": ["x", "x"], "group_id": pa.array(["g", None], pa.string())})
    assert _group_pairs(nulls) == {("x", "g"), ("x", None)}
