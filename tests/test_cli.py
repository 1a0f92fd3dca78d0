"""The ``shequn`` command line end to end: real processes, real stores, real terminals.

Expected numbers are worked out here from the fixture's text, independently of the
importer, so a parser bug and a CLI bug cannot agree with each other by accident.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import select
import shutil
import struct
import subprocess
import sys
import termios
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

QUIRKS = Path(__file__).parent / "fixtures" / "whatsapp" / "quirks"
MAKERS = QUIRKS / "WhatsApp Chat with Makers.txt"
MALFORMED = QUIRKS / "malformed.txt"
CLI = (sys.executable, "-m", "shequn.cli")
MIDNIGHT = datetime(2024, 1, 1, tzinfo=UTC)  # splits the Makers fixture in two

STATS_KEYS = {
    "groups",
    "members",
    "messages",
    "bot_messages",
    "deleted_messages",
    "joins",
    "leaves",
    "removals",
    "reactions",
    "first",
    "last",
    "by_platform",
    "rejected_records",
}


# -- running the CLI -----------------------------------------------------------------


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test may touch the real default store, or inherit terminal overrides."""
    for name in ("SHEQUN_STORE", "FORCE_COLOR", "NO_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("PYTHONUTF8", "1")
    monkeypatch.setenv("TZ", "UTC")


def shequn(
    *args: str | Path, env: dict[str, str] | None = None, ok: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m shequn.cli ARGS``; with ``ok`` it must exit 0."""
    result = subprocess.run(
        [*CLI, *map(str, args)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env={**os.environ, **(env or {})},
        stdin=subprocess.DEVNULL,
        timeout=300,
    )
    if ok:
        assert result.returncode == 0, (args, result.stdout, result.stderr)
    return result


def stats_json(*args: str | Path, env: dict[str, str] | None = None) -> dict[str, Any]:
    """``shequn stats --json ARGS``: exactly one JSON object on one line, nothing on stderr."""
    result = shequn("stats", "--json", *args, env=env)
    assert result.stderr == ""
    assert len(result.stdout.splitlines()) == 1, result.stdout
    parsed = json.loads(result.stdout)
    assert isinstance(parsed, dict)
    return parsed


def import_makers(store: str) -> subprocess.CompletedProcess[str]:
    result = shequn(
        "import", MAKERS, "--community", "makers", "--timezone", "Asia/Shanghai", "--store", store
    )
    assert result.stderr == ""  # piped: no progress bar, no noise
    return result


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The failure contract: exit 1, no traceback, one ``error:`` line on stderr."""
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    return lines[0]


# -- what the Makers fixture says, read by hand --------------------------------------

HEADER = re.compile(r"(\d\d/\d\d/\d\d, \d\d:\d\d) - (.*)")
BIDI = dict.fromkeys(map(ord, "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"))
# The fixture's English system lines, each with the people it names (first match wins).
SYSTEM = [
    re.compile(r"Messages and calls are end-to-end encrypted\. .*"),
    re.compile(r'(?P<actor>.+?) created group ".*"'),
    re.compile(r"(?P<actor>.+?) added (?P<added>.+)"),
    re.compile(r"(?P<joined>.+?) joined using this group's invite link"),
    re.compile(r"(?P<actor>.+?) removed (?P<removed>.+)"),
    re.compile(r"(?P<left>.+?) left"),
    re.compile(r"(?P<actor>\+[\d ]+) changed to (?P<new_number>\+[\d ]+)"),
    re.compile(
        r"(?P<actor>.+?) changed (the subject from .*|the group description|this group's icon)"
    ),
    re.compile(r"(?P<actor>.+?)'s security code changed\. Tap for more info\."),
]


def person(name: str) -> str:
    return name.translate(BIDI).strip().removeprefix("~").strip()


def fixture_stats(
    path: Path, timezone: str, since: datetime | None = None, until: datetime | None = None
) -> dict[str, Any]:
    """What ``stats --json`` must say about one imported WhatsApp export, from its text."""
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        header = HEADER.fullmatch(line)
        if header:  # other lines continue the message above
            local = datetime.strptime(header[1], "%d/%m/%y, %H:%M")
            lines.append((local.replace(tzinfo=ZoneInfo(timezone)).astimezone(UTC), header[2]))
    # a number change makes the old and the new number one member, in every window
    same_as = {}
    for _, rest in lines:
        change = SYSTEM[6].fullmatch(rest)
        if change:
            same_as[person(change["new_number"])] = person(change["actor"])
    counts = dict.fromkeys(("messages", "deleted", "added", "joined", "left", "removed"), 0)
    people: set[str] = set()
    times = []
    for ts, rest in lines:
        if (since and ts < since) or (until and ts >= until):
            continue
        times.append(ts)
        system = next((m for p in SYSTEM if (m := p.fullmatch(rest))), None)
        if system is None:
            author, text = rest.rsplit(": ", 1)  # authors may hold ": " ("Dr: Who")
            counts["messages"] += 1  # a deleted message was posted, then deleted
            counts["deleted"] += text == "This message was deleted"
            people.add(person(author))
            continue
        for role, named in system.groupdict().items():
            if named is None or role == "new_number":
                continue
            names = re.split(r", | and ", named) if role == "added" else [named]
            people.update(person(n) for n in names)
            if role != "actor":
                counts[role] += len(names)
    members = {same_as.get(p, p) for p in people}
    return {
        "groups": 1 if times else 0,
        "members": len(members),
        "messages": counts["messages"],
        "bot_messages": 0,
        "deleted_messages": counts["deleted"],
        "joins": counts["added"] + counts["joined"],
        "leaves": counts["left"],
        "removals": counts["removed"],
        "reactions": 0,  # WhatsApp exports carry no reactions
        "first": min(times).strftime("%Y-%m-%dT%H:%M:%SZ") if times else None,
        "last": max(times).strftime("%Y-%m-%dT%H:%M:%SZ") if times else None,
        "by_platform": (
            {"whatsapp": {"groups": 1, "messages": counts["messages"], "members": len(members)}}
            if times
            else {}
        ),
        "rejected_records": 0,
    }


def test_the_hand_count_of_the_fixture() -> None:
    """Pins the reading above to counts done by eye, so it cannot drift with the importer."""
    whole = fixture_stats(MAKERS, "Asia/Shanghai")
    assert (whole["joins"], whole["leaves"], whole["removals"]) == (3 + 1, 1, 1)
    assert (whole["messages"], whole["deleted_messages"]) == (16, 1)  # 16 authored lines
    # Alice Bob Carol Dave "Dr: Who" Maria Eve, and one person behind two numbers
    assert whole["members"] == 8
    assert (whole["first"], whole["last"]) == ("2023-12-31T12:59:00Z", "2024-01-01T02:36:00Z")


# -- 1. import, then stats --json, on both stores -------------------------------------


def test_stats_json_after_import_matches_the_fixture(store_url: str) -> None:
    imported = import_makers(store_url)
    assert "import #1" in imported.stdout and "community 'makers'" in imported.stdout
    result = stats_json("--store", store_url)
    assert set(result) == STATS_KEYS
    assert result == fixture_stats(MAKERS, "Asia/Shanghai")
    assert all(
        re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", result[k]) for k in ("first", "last")
    )


# -- 2. --store everywhere, SHEQUN_STORE, and the read filters -------------------------


def test_store_option_before_and_after_every_command(tmp_path: Path) -> None:
    store = str(tmp_path / "placed.duckdb")
    elsewhere = {"SHEQUN_STORE": str(tmp_path / "empty.duckdb")}  # an explicit flag beats it
    import_makers(store)  # --store after `import`
    shequn("--store", store, "import", MALFORMED, "--community", "other", "--timezone", "UTC")

    for args in (("--store", store, "stats", "--json"), ("stats", "--json", "--store", store)):
        out = shequn(*args, env=elsewhere).stdout
        assert json.loads(out)["groups"] == 2, args
    assert stats_json(env={"SHEQUN_STORE": store})["groups"] == 2

    for args in (("--store", store, "groups"), ("groups", "--store", store)):
        out = shequn(*args, env=elsewhere).stdout
        assert "Makers" in out and "malformed" in out, args
    assert "Makers" in shequn("groups", env={"SHEQUN_STORE": store}).stdout

    for args in (("--store", store, "imports"), ("imports", "--store", store)):
        out = shequn(*args, "--json", env=elsewhere).stdout
        assert [r["id"] for r in json.loads(out)] == [1, 2], args
    assert "malformed" in shequn("imports", env={"SHEQUN_STORE": store}).stdout

    for args in (
        ("--store", store, "imports", "show", "2"),
        ("imports", "--store", store, "show", "2"),
        ("imports", "show", "2", "--store", store),
    ):
        assert "import #2 complete" in shequn(*args, env=elsewhere).stdout, args
    assert "import #2" in shequn("imports", "show", "2", env={"SHEQUN_STORE": store}).stdout

    undone = shequn("--store", store, "imports", "undo", "2", env=elsewhere).stdout
    assert "import #2 undone: 2 events removed" in undone
    assert re.search(
        r"import #1 undone: [1-9]", shequn("imports", "undo", "1", "--store", store).stdout
    )
    # SHEQUN_STORE alone serves import and undo too
    again = shequn("import", MALFORMED, "--timezone", "UTC", env={"SHEQUN_STORE": store}).stdout
    assert "import #3" in again
    assert "2 events removed" in shequn("imports", "undo", "3", env={"SHEQUN_STORE": store}).stdout
    assert "import #3 undone" in shequn("imports", "--store", store, "undo", "3").stdout
    # nothing above fell through to the default store, or to SHEQUN_STORE under a flag
    assert not (tmp_path / "xdg-data").exists()
    assert not Path(elsewhere["SHEQUN_STORE"]).exists()


def test_community_since_and_until_filter_stats(store_url: str) -> None:
    import_makers(store_url)
    shequn("import", MALFORMED, "--community", "other", "--timezone", "UTC", "--store", store_url)
    makers = fixture_stats(MAKERS, "Asia/Shanghai")
    other = stats_json("--community", "other", "--store", store_url)
    assert (other["messages"], other["members"], other["groups"]) == (2, 2, 1)
    assert other["rejected_records"] == 3  # the rejects are counted per community too
    assert stats_json("--community", "makers", "--store", store_url) == makers
    everything = stats_json("--store", store_url)
    assert everything["messages"] == makers["messages"] + 2
    assert (everything["groups"], everything["rejected_records"]) == (2, 3)
    nothing = {k: 0 for k in STATS_KEYS} | {"first": None, "last": None, "by_platform": {}}
    assert stats_json("--community", "nobody", "--store", store_url) == nothing

    # The machine's zone must not matter: --since/--until are UTC, offsets are honoured.
    shanghai = {"TZ": "Asia/Shanghai"}
    after = fixture_stats(MAKERS, "Asia/Shanghai", since=MIDNIGHT)
    before = fixture_stats(MAKERS, "Asia/Shanghai", until=MIDNIGHT)
    assert 0 < after["messages"] < makers["messages"]  # the window really splits it
    for since in ("2024-01-01", "2024-01-01T00:00:00Z", "2024-01-01T08:00:00+08:00"):
        got = stats_json(
            "--community", "makers", "--since", since, "--store", store_url, env=shanghai
        )
        assert got == after, since
    got = stats_json("--community", "makers", "--until", "2024-01-01T00:00Z", "--store", store_url)
    assert got == before
    assert before["messages"] + after["messages"] == makers["messages"]


# -- 3. groups, the import ledger, undo and rejected lines ----------------------------


def test_groups_imports_show_and_undo(store_url: str) -> None:
    import_makers(store_url)
    shequn("import", MALFORMED, "--community", "other", "--timezone", "UTC", "--store", store_url)

    groups = shequn("groups", "--store", store_url).stdout
    assert re.search(r"│ makers +│ whatsapp +│ Makers +│ Asia/Shanghai +│ +16 │", groups), groups
    assert re.search(r"│ other +│ whatsapp +│ malformed +│ UTC +│ +2 │", groups), groups

    ledger = {
        r["id"]: r for r in json.loads(shequn("imports", "--json", "--store", store_url).stdout)
    }
    assert sorted(ledger) == [1, 2]
    assert (ledger[1]["group"], ledger[1]["status"], ledger[1]["rejected"]) == (
        "Makers",
        "complete",
        0,
    )
    assert (ledger[2]["community"], ledger[2]["rejected"]) == ("other", 3)
    table = shequn("imports", "--store", store_url).stdout
    assert re.search(r"│ 1 +│ makers +│ Makers +│ complete +│", table), table

    # rejected lines, by file:line, worked out from the file: text before the first
    # header, and headers whose date or time does not exist
    expected = set()
    seen_header = False
    for number, line in enumerate(MALFORMED.read_text(encoding="utf-8").splitlines(), 1):
        stamp = re.match(r"(\d\d/\d\d/\d\d, \d\d:\d\d) - ", line)
        if stamp is None:
            if not seen_header:
                expected.add(number)
            continue
        seen_header = True
        try:
            datetime.strptime(stamp[1], "%d/%m/%y, %H:%M")
        except ValueError:
            expected.add(number)
    assert expected == {1, 3, 4}
    shown = shequn("imports", "show", "2", "--store", store_url).stdout
    listed = set(map(int, re.findall(r"malformed\.txt:(\d+): ", shown)))
    assert listed == expected, shown
    assert "impossible date" in shown and "stray text before any message" in shown

    undo = shequn("imports", "undo", "1", "--store", store_url).stdout
    assert f"import #1 undone: {ledger[1]['events_stored']:,} events removed" in undo
    gone = stats_json("--community", "makers", "--store", store_url)
    assert (gone["messages"], gone["members"], gone["joins"], gone["first"]) == (0, 0, 0, None)
    assert stats_json("--community", "other", "--store", store_url)["messages"] == 2
    ledger = {
        r["id"]: r for r in json.loads(shequn("imports", "--json", "--store", store_url).stdout)
    }
    assert (ledger[1]["status"], ledger[2]["status"]) == ("undone", "complete")
    assert re.search(
        r"│ 1 +│ makers +│ Makers +│ undone +│", shequn("imports", "--store", store_url).stdout
    )

    missing = one_error_line(shequn("imports", "undo", "99", "--store", store_url, ok=False))
    assert "99" in missing


# -- 4. one clear line for everything that is not right -------------------------------


def _not_an_export(kind: str, folder: Path) -> Path:
    # long names on purpose: an error line must not be wrapped at the terminal width
    path = folder / f"definitely-not-a-chat-export-{kind}-with-a-long-name"
    if kind == "hostname":
        shutil.copyfile("/etc/hostname", path)
    elif kind == "json":
        path.write_text('{"messages": [{"from": "Alice", "text": "hi"}]}\n', encoding="utf-8")
    elif kind == "empty":
        path.touch()
    return path  # "missing": never created


@pytest.mark.parametrize("kind", ["hostname", "json", "empty", "missing"])
def test_a_file_that_is_not_an_export_is_one_error_line(kind: str, tmp_path: Path) -> None:
    path = _not_an_export(kind, tmp_path)
    store = tmp_path / "store.duckdb"
    result = shequn("import", path, "--timezone", "UTC", "--store", store, ok=False)
    assert str(path) in one_error_line(result)
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (("import", MAKERS, "--timezone", "Mars/Olympus"), ["--timezone", "Mars/Olympus"]),
        (("stats", "--since", "yesterday"), ["--since", "yesterday"]),
        (("groups", "--until", "2024-13-01"), ["--until", "2024-13-01"]),
        (("imports", "show", "7"), ["7"]),
    ],
)
def test_bad_values_are_one_error_line(
    args: tuple[str, ...], names: list[str], tmp_path: Path
) -> None:
    line = one_error_line(shequn(*args, "--store", tmp_path / "s.duckdb", ok=False))
    assert all(name in line for name in names), line


def test_an_unreachable_store_is_one_error_line() -> None:
    # psycopg's message has a newline and a tab in it; the CLI still prints one line
    url = "postgresql://nobody@127.0.0.1:1/nothing"
    assert url in one_error_line(shequn("stats", "--store", url, ok=False))


# -- 5. progress: a bar on a terminal, silence in a pipe ------------------------------


@pytest.fixture(scope="module")
def big_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("simulated")
    subprocess.run(
        [
            *CLI,
            "simulate",
            "--messages",
            "200000",
            "--members",
            "500",
            "--days",
            "60",
            "--seed",
            "1",
            "--out",
            str(out),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return out


@pytest.mark.slow
def test_no_progress_bar_when_stderr_is_piped(big_export: Path, tmp_path: Path) -> None:
    result = shequn("import", big_export, "--timezone", "UTC", "--store", tmp_path / "s.duckdb")
    assert result.stderr == ""
    assert "records read 200," in result.stdout  # the big file really was imported


def _read_until_eof(fd: int, process: subprocess.Popen[bytes], seconds: float) -> bytes:
    chunks = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: every process holding the terminal has closed it
            return b"".join(chunks)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
    process.kill()
    pytest.fail(f"no EOF from the terminal after {seconds}s: {b''.join(chunks)[-2000:]!r}")


@pytest.mark.slow
def test_progress_bar_on_a_terminal(big_export: Path, tmp_path: Path) -> None:
    primary, secondary = os.openpty()
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    try:
        process = subprocess.Popen(
            [
                *CLI,
                "import",
                str(big_export),
                "--timezone",
                "UTC",
                "--store",
                str(tmp_path / "s.duckdb"),
            ],
            stdin=secondary,
            stdout=secondary,
            stderr=secondary,
            env={**os.environ, "TERM": "xterm-256color"},
        )
        os.close(secondary)
        output = _read_until_eof(primary, process, seconds=300).decode("utf-8", "replace")
    finally:
        os.close(primary)
    assert process.wait(timeout=60) == 0, output[-2000:]
    assert "importing" in output and "━" in output, output[:2000]
    assert "records read 200," in output


# -- 6. hostile names are shown, never interpreted ------------------------------------


HOSTILE_GROUP = "[link=http://evil]g[/link]"
HOSTILE_COMMUNITY = r"[/]\[i]:fire:"  # a stray close tag, an escaped tag, an emoji code


def test_markup_in_names_is_shown_literally(tmp_path: Path) -> None:
    export = tmp_path / "chat.txt"
    export.write_text(
        "31/12/23, 21:00 - [bold red]x[/]: <script>alert(1)</script> [/] :fire:\n"
        "31/12/23, 21:01 - \\[b]y: hey [link=http://evil]click[/link]\n",
        encoding="utf-8",
    )
    store = tmp_path / "store.duckdb"
    common = ("--store", store)
    imported = shequn(
        "import",
        export,
        "--group",
        HOSTILE_GROUP,
        "--community",
        HOSTILE_COMMUNITY,
        "--timezone",
        "UTC",
        *common,
    ).stdout
    assert repr(HOSTILE_GROUP) in imported and repr(HOSTILE_COMMUNITY) in imported
    import_makers(str(store))  # and the quirks fixture, with its <script> message

    groups = shequn("groups", *common).stdout
    assert HOSTILE_GROUP in groups and HOSTILE_COMMUNITY in groups, groups
    assert "│ Makers " in groups
    listed = json.loads(shequn("groups", "--json", *common).stdout)
    assert {(g["community"], g["group"]) for g in listed} == {
        (HOSTILE_COMMUNITY, HOSTILE_GROUP),
        ("makers", "Makers"),
    }
    ledger = shequn("imports", *common).stdout
    assert HOSTILE_GROUP in ledger and HOSTILE_COMMUNITY in ledger, ledger

    table = shequn("stats", "--community", HOSTILE_COMMUNITY, *common).stdout
    assert f"community {HOSTILE_COMMUNITY}" in table, table
    assert re.search(r"│ messages +│ +2 │", table) and re.search(r"│ members +│ +2 │", table)
    everything = shequn("stats", *common).stdout
    messages = fixture_stats(MAKERS, "Asia/Shanghai")["messages"] + 2
    assert re.search(rf"│ messages +│ +{messages} │", everything), everything
