"""Proof that a change to the WhatsApp import stores exactly what the old code stored.

Imports the same exports with an old source tree (``--base``, e.g. made by
``git archive REV src | tar -x -C /tmp/base``) and with this checkout, each in its own
process with its tree first on ``PYTHONPATH``, into separate embedded stores, then
compares every table of the two stores with ``EXCEPT ALL`` both ways (the ledger
without its wall-clock columns). Cases: a 200k-message Android export; 60k-message
exports in iOS / 12-hour / month-first / German / CRLF + BOM / zip, Chinese /
year-first / 12-hour / zip, and Spanish / month-first; a 200k-message Android export
with 20,000 members and a 60k-message French iOS one with 10,000 (system lines by the
ten thousand); each at two ``--commit-every``
sizes; plus two overlapping re-exports of the 200k group imported one after the
other. With ``--postgres URL`` the new code also imports every case into that
PostgreSQL database and its events must equal the embedded store's.

    python bench/whatsapp_equivalence.py --base /tmp/base/src
    python bench/whatsapp_equivalence.py --base /tmp/base/src --postgres postgresql://…

Exits non-zero on the first difference.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

HERE = Path(__file__).resolve().parent
NEW_SRC = HERE.parent / "src"
OUT = HERE / "out" / "equivalence"

#: name -> simulator options (messages, members, days, seed and the quirks)
EXPORTS = {
    "android-200k": ["--messages", "200000", "--members", "800", "--days", "365", "--seed", "5"],
    "ios-de-60k": [
        "--messages", "60000", "--members", "400", "--days", "200", "--seed", "6",
        "--layout", "ios", "--clock", "12h", "--date-order", "mdy", "--language", "de",
        "--crlf", "--bom", "--zip",
    ],
    "zh-ymd-60k": [
        "--messages", "60000", "--members", "400", "--days", "200", "--seed", "7",
        "--clock", "12h", "--date-order", "ymd", "--language", "zh", "--zip",
    ],
    "es-mdy-60k": [
        "--messages", "60000", "--members", "400", "--days", "200", "--seed", "8",
        "--date-order", "mdy", "--language", "es",
    ],
    # many members: tens of thousands of joins, adds and leaves (system lines)
    "android-members-20k": [
        "--messages", "200000", "--members", "20000", "--days", "365", "--seed", "9",
    ],
    "ios-fr-members-10k": [
        "--messages", "60000", "--members", "10000", "--days", "200", "--seed", "10",
        "--layout", "ios", "--language", "fr",
    ],
}  # fmt: skip

#: imports ``argv[4:]`` one after the other into the store ``argv[1]``
IMPORT_SCRIPT = """
import json, sys, time
from pathlib import Path
from shequn.importers.base import ImportSettings
from shequn.ingest import run_import
from shequn.store import open_store
store, commit_every, timezone, files = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
start, cpu = time.perf_counter(), time.process_time()
with open_store(store) as s:
    for f in files:
        run_import(s, Path(f), ImportSettings(timezone=timezone, commit_every=commit_every))
print(json.dumps({"wall": time.perf_counter() - start, "cpu": time.process_time() - cpu}))
"""

#: columns of the ledger that hold wall-clock times
CLOCK_COLUMNS = {"started_at", "finished_at"}


def export(name: str) -> Path:
    """The simulated export ``name`` (written once into bench/out/equivalence)."""
    target = OUT / name
    if not (target / "truth.json").exists():
        subprocess.run(
            [sys.executable, "-m", "shequn.cli", "simulate", "--format", "whatsapp",
             *EXPORTS[name], "--out", str(target)],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
    return next(p for p in target.iterdir() if p.suffix in (".txt", ".zip"))


def overlapping(path: Path) -> list[Path]:
    """Two re-exports of one group: the first 65 % of its lines and the last 65 %,
    cut at message headers, under the export's own file name (same group)."""
    lines = path.read_text(encoding="utf-8").split("\n")
    first_cut, second_cut = int(len(lines) * 0.65), int(len(lines) * 0.35)
    while not lines[first_cut][:1].isdigit():
        first_cut += 1
    while not lines[second_cut][:1].isdigit():
        second_cut += 1
    parts = []
    for label, part in (("early", lines[:first_cut]), ("late", lines[second_cut:])):
        target = OUT / f"overlap-{label}" / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("\n".join(part) + "\n", encoding="utf-8")
        parts.append(target)
    return parts


def run(src: Path, store: Path | str, commit_every: int, files: list[Path]) -> dict[str, float]:
    env = {"PYTHONPATH": str(src), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-c", IMPORT_SCRIPT, str(store), str(commit_every), "Asia/Shanghai",
         *map(str, files)],
        check=True, capture_output=True, text=True, env=env,
    )  # fmt: skip
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def differences(old: Path, new: Path) -> dict[str, tuple[int, int, int]]:
    """Per table: rows, rows only in old, rows only in new (EXCEPT ALL both ways)."""
    con = duckdb.connect()
    con.execute(f"ATTACH '{old}' AS old (READ_ONLY)")
    con.execute(f"ATTACH '{new}' AS new (READ_ONLY)")
    tables = [
        row[0]
        for row in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_catalog = 'old' "
            "ORDER BY table_name"
        ).fetchall()
    ]
    out = {}
    for table in tables:
        columns = [
            row[0]
            for row in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_catalog = 'old' "
                "AND table_name = ? ORDER BY ordinal_position",
                [table],
            ).fetchall()
            if row[0] not in CLOCK_COLUMNS
        ]
        cols = ", ".join(f'"{c}"' for c in columns)
        a, b = f"SELECT {cols} FROM old.{table}", f"SELECT {cols} FROM new.{table}"
        rows = con.execute(f"SELECT count(*) FROM old.{table}").fetchall()[0][0]
        only_old = con.execute(f"SELECT count(*) FROM ({a} EXCEPT ALL {b})").fetchall()[0][0]
        only_new = con.execute(f"SELECT count(*) FROM ({b} EXCEPT ALL {a})").fetchall()[0][0]
        out[table] = (rows, only_old, only_new)
    con.close()
    return out


def postgres_differences(url: str, embedded: Path) -> tuple[int, int, int]:
    """Events in the PostgreSQL store against the embedded one's: rows, only in each."""
    sys.path.insert(0, str(NEW_SRC))
    from shequn.store import open_store

    with open_store(url) as pg, open_store(str(embedded)) as local:
        theirs, ours = pg.events(), local.events()
    con = duckdb.connect()
    con.register("pg", theirs)
    con.register("local", ours)
    only_pg = con.execute("SELECT count(*) FROM (FROM pg EXCEPT ALL FROM local)").fetchall()
    only_local = con.execute("SELECT count(*) FROM (FROM local EXCEPT ALL FROM pg)").fetchall()
    return ours.num_rows, only_pg[0][0], only_local[0][0]


def reset_postgres(url: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as con:
        con.execute("DROP SCHEMA public CASCADE")
        con.execute("CREATE SCHEMA public")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", type=Path, required=True, help="the old code's src directory")
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 7_000])
    parser.add_argument("--postgres", help="also import with the new code into this database")
    parser.add_argument("--only", nargs="*", help="case names to run (default: all)")
    args = parser.parse_args()

    cases: list[tuple[str, int, list[Path]]] = []
    for name in EXPORTS:
        for size in args.sizes:
            cases.append((f"{name} / commit {size:,}", size, [export(name)]))
    early, late = overlapping(export("android-200k"))
    cases.append(("android-200k overlapping re-exports", args.sizes[0], [early, late]))
    if args.only:
        cases = [c for c in cases if any(o in c[0] for o in args.only)]

    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        for number, (label, size, files) in enumerate(cases):
            old, new = Path(tmp) / f"old{number}.duckdb", Path(tmp) / f"new{number}.duckdb"
            started = time.strftime("%H:%M:%S")
            times_old = run(args.base, old, size, files)
            times_new = run(NEW_SRC, new, size, files)
            print(
                f"{label} ({started}; old {times_old['cpu']:.1f} CPU s / "
                f"{times_old['wall']:.1f} s, new {times_new['cpu']:.1f} / "
                f"{times_new['wall']:.1f} s)"
            )
            for table, (rows, only_old, only_new) in differences(old, new).items():
                mark = "ok" if only_old == only_new == 0 else "DIFFERENT"
                failed |= mark != "ok"
                print(
                    f"  {table:16} {rows:>9,} rows  only old {only_old}  "
                    f"only new {only_new}  {mark}"
                )
            if args.postgres:
                reset_postgres(args.postgres)
                run(NEW_SRC, args.postgres, size, files)
                rows, only_pg, only_local = postgres_differences(args.postgres, new)
                mark = "ok" if only_pg == only_local == 0 else "DIFFERENT"
                failed |= mark != "ok"
                print(
                    f"  postgres events  {rows:>9,} rows  only postgres {only_pg}  "
                    f"only embedded {only_local}  {mark}"
                )
            old.unlink()
            new.unlink()
    print("IDENTICAL" if not failed else "DIFFERENCES FOUND")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
