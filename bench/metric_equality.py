"""Are two versions' metrics the same? Every metric's table on one store, compared.

``dump`` runs every metric on a store with the code on ``PYTHONPATH`` and writes each
table as Parquet (dictionary columns decoded: DuckDB's dictionary order is not stable);
``compare`` reads two dumps and says, per metric, whether the tables are equal —
strings, integers and booleans exactly, floats to the bit or with their worst relative
difference (1e-9 is the bound the engines' equality test uses).

    PYTHONPATH=/tmp/base/src python bench/metric_equality.py dump STORE c /tmp/dump-base
    PYTHONPATH=src python bench/metric_equality.py dump STORE c /tmp/dump-new
    python bench/metric_equality.py compare /tmp/dump-base /tmp/dump-new
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

#: floats further apart than this (relative) make two tables different
TOLERANCE = 1e-9


def dump(store: str, community: str, out: Path) -> None:
    from shequn.analytics.context import Scope, build_context
    from shequn.analytics.runner import load_metrics, run_metrics
    from shequn.analytics.source import duckdb_log

    out.mkdir(parents=True, exist_ok=True)
    ctx = build_context(duckdb_log(store), Scope(community=community))
    for name, table in run_metrics(ctx, list(load_metrics())).items():
        columns = [
            c.cast(c.type.value_type) if pa.types.is_dictionary(c.type) else c
            for c in table.columns
        ]
        pq.write_table(pa.table(columns, names=table.column_names), out / f"{name}.parquet")
    print(f"wrote {out}")


def float_gap(a: pa.Array, b: pa.Array) -> float | None:
    """The largest relative difference of two float columns; None if nulls differ."""
    worst = 0.0
    for x, y in zip(a.to_pylist(), b.to_pylist(), strict=True):
        if x is None or y is None:
            if x is not y:
                return None
            continue
        if math.isnan(x) or math.isnan(y):
            if not (math.isnan(x) and math.isnan(y)):
                return None
            continue
        if x != y:
            worst = max(worst, abs(x - y) / max(abs(x), abs(y)))
    return worst


def compare(first: Path, second: Path) -> int:
    names = sorted(p.name for p in first.glob("*.parquet"))
    if names != sorted(p.name for p in second.glob("*.parquet")):
        print("the two dumps hold different metrics")
        return 1
    differing = 0
    for name in names:
        a, b = pq.read_table(first / name), pq.read_table(second / name)
        verdict = "equal"
        if a.schema != b.schema or a.num_rows != b.num_rows:
            verdict = f"DIFFERENT shape ({a.num_rows:,} / {b.num_rows:,} rows)"
        else:
            worst = 0.0
            for column in a.column_names:
                x, y = a[column].combine_chunks(), b[column].combine_chunks()
                gap = float_gap(x, y) if pa.types.is_floating(x.type) else None
                if pa.types.is_floating(x.type) and gap is not None:
                    worst = max(worst, gap)
                elif not x.equals(y):
                    verdict = f"DIFFERENT in {column}"
                    break
            else:
                if worst > TOLERANCE:
                    verdict = f"DIFFERENT floats (worst {worst:.2g} relative)"
                elif worst > 0:
                    verdict = f"equal, floats within {worst:.2g} relative"
        differing += verdict.startswith("DIFFERENT")
        print(f"{name.removesuffix('.parquet'):32s} {a.num_rows:>11,} rows  {verdict}")
    print(f"{len(names)} metrics, {differing} different")
    return 1 if differing else 0


def main() -> int:
    if len(sys.argv) == 5 and sys.argv[1] == "dump":
        dump(sys.argv[2], sys.argv[3], Path(sys.argv[4]))
        return 0
    if len(sys.argv) == 4 and sys.argv[1] == "compare":
        return compare(Path(sys.argv[2]), Path(sys.argv[3]))
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
