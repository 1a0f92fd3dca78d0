"""One document for the operator: every metric's numbers, what they mean, what to do.

:func:`build_report` runs the registered metric set on the context's engine
(:func:`~shequn.analytics.runner.run_metrics`), adds the *explorer* data the HTML page
filters client-side (messages per group × week × member × weekday × hour, one Ibis
query on the same engine) and the recommendations, and returns a :class:`Report`.

:func:`assemble` does the rest from results already computed, so a report can be made
from any set of metric tables (the tests feed it stand-ins for metrics other helpers
have not registered yet). A section whose metrics are all absent is kept in the
document with a note instead of numbers; metrics registered under no section go to
"More metrics", so a new metric is never silently left out.

The document is plain JSON: the same numbers ``run_metrics`` returned, one object per
row; timestamps as ISO 8601 (local wall-clock time for ``week``/``day`` columns, as the
metrics compute them), NaN and infinities as ``null``.
"""

from __future__ import annotations

import json
import math
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Final, TextIO

import ibis
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from ibis.expr import types as ir

from shequn.analytics.context import Context
from shequn.analytics.metrics.common import ALL_GROUPS, week_of
from shequn.analytics.registry import Derived, Metric
from shequn.analytics.runner import load_metrics, run_metrics
from shequn.analytics.source import (
    DERIVED_MEMORY_LIMIT,
    Log,
    arrow,
    duckdb_log,
    export_parquet,
    is_text,
    parquet_log,
    sql_memory,
)
from shequn.errors import ConfigError
from shequn.report.masking import displayed, mask_values
from shequn.safe_text import json_text

#: the format of the document (bump when a field changes meaning)
REPORT_VERSION: Final = 1
#: members kept by name in the explorer data; the rest are pooled as one "other members"
MEMBER_LIMIT: Final = 2000
#: index of the pooled members in the explorer's member columns
POOLED: Final = -1
#: the explorer's cube columns are NumPy arrays of this type, not lists: at 10M messages
#: six lists of Python ints (2.8M rows) were ≈ 0.1 GB more than these arrays; the page
#: writes them a slice at a time (:func:`~shequn.report.html.script_json_pieces`)
CUBE_TYPE: Final = np.int32
#: the engines a report runs on
ENGINES: Final = ("duckdb", "spark")
#: rows of a metric turned into JSON at a time by :func:`write_json`
JSON_CHUNK_ROWS: Final = 50_000


@dataclass(frozen=True)
class MetricInfo:
    """The words shown for a metric (from the registry, or given by a test)."""

    name: str
    title: str
    explain: str


@dataclass(frozen=True)
class Section:
    """A tab of the report: a theme and the metrics that make it."""

    id: str
    title: str
    about: str
    metrics: tuple[str, ...]


SECTIONS: Final = (
    Section(
        "overview",
        "Overview",
        "The period at a glance and what to do next.",
        ("activity.weekly", "activity.concentration", "health.weekly"),
    ),
    Section(
        "activity",
        "Activity",
        "Who posts, how much, and how concentrated the talking is.",
        ("activity.weekly", "activity.concentration"),
    ),
    Section(
        "retention",
        "Retention",
        "Whether the members who start posting keep coming back.",
        ("retention.cohorts", "retention.summary"),
    ),
    Section(
        "hours",
        "Active hours",
        "When each group talks, and the windows to post in.",
        ("hours.heatmap", "hours.windows"),
    ),
    Section(
        "members",
        "Members & roles",
        "The roles members play, the roles missing, and who only reads.",
        ("roles.members", "roles.mix", "roles.gaps", "lurkers.summary", "lurkers.list"),
    ),
    Section(
        "kols",
        "KOLs",
        "Members whose posts start discussions and whose replies others seek.",
        ("kols.ranking", "graph.centrality"),
    ),
    Section(
        "growth",
        "Growth & invitations",
        "Where members come from: invitations, links, generations of the invite tree.",
        (
            "growth.joins_by_source",
            "growth.invite_tree",
            "growth.generations",
            "growth.k_factor",
            "growth.inviters",
            "growth.flow",
        ),
    ),
    Section(
        "conversation",
        "Conversation",
        "Questions and answers, response times, threads and who replies to whom.",
        ("conversation.response", "conversation.threads", "conversation.edges"),
    ),
    Section(
        "topics",
        "Topics",
        "What the groups talk about, and what is new.",
        ("topics.terms", "topics.emerging"),
    ),
    Section(
        "health",
        "Health",
        "One weekly reading of the community's condition.",
        ("health.weekly",),
    ),
)
OTHER_SECTION: Final = Section(
    "more", "More metrics", "Metrics registered under no theme above.", ()
)


@dataclass
class Report:
    """The report: the JSON document, the page's explorer data, the raw results."""

    document: dict[str, Any]
    explorer: dict[str, Any]
    results: dict[str, pa.Table] = field(repr=False)


def metric_infos() -> dict[str, MetricInfo]:
    """The registry's words for every registered metric."""
    return {name: _info(spec) for name, spec in load_metrics().items()}


def _info(spec: Metric | Derived) -> MetricInfo:
    return MetricInfo(spec.name, spec.title, spec.explain)


def build_report(
    ctx: Context,
    names: Iterable[str] | None = None,
    *,
    show_phones: bool = False,
    row_limit: int | None = None,
    defer_rows: bool = False,
    positioning: Mapping[str, Any] | None = None,
) -> Report:
    """Run the metrics (all, or ``names``) and the explorer query on ``ctx``'s engine.

    What the report shows has phone numbers masked unless ``show_phones``, and leaves
    out the tables that only feed other metrics with raw message text
    (:mod:`shequn.report.masking`). ``row_limit``: the document carries at most that
    many rows of each metric (the page's :data:`~shequn.report.html.PAGE_ROWS`), so a
    page is not built from a million JSON rows it would cut; ``results`` keep them all.
    ``defer_rows``: the document's rows are left to :func:`write_json`, which writes
    them from ``results`` a chunk at a time (the whole document as Python objects is
    gigabytes at a million messages). ``positioning``: the community's, as
    :func:`~shequn.report.positioning.current_positioning` gives it (shown at the top).
    """
    known = load_metrics()
    unknown = sorted(set(names or ()) - set(known))
    if unknown:
        raise ConfigError("--metric", f"unknown metric(s) {', '.join(unknown)}")
    wanted = runnable(known, list(known) if names is None else list(names))
    results = displayed(run_metrics(ctx, wanted), show_phones=show_phones)
    explorer = explorer_data(ctx)
    explorer["members"] = mask_values(explorer["members"], show_phones=show_phones)
    explorer["names"] = mask_values(explorer["names"], names=True, show_phones=show_phones)
    return assemble(
        {**ctx_meta(ctx), "positioning": positioning},
        results,
        metric_infos(),
        explorer,
        row_limit=row_limit,
        defer_rows=defer_rows,
    )


def runnable(known: Mapping[str, Metric | Derived], names: list[str]) -> list[str]:
    """``names`` less derived metrics whose inputs (transitively) are not registered."""
    ok: dict[str, bool] = {}

    def check(name: str) -> bool:
        if name not in ok:
            ok[name] = False  # a cycle is not runnable either
            spec = known.get(name)
            ok[name] = spec is not None and (
                isinstance(spec, Metric) or all(check(i) for i in spec.inputs)
            )
        return ok[name]

    return [name for name in names if check(name)]


@contextmanager
def report_log(
    store: str | None = None, engine: str = "duckdb", parquet: str | Path | None = None
) -> Iterator[Log]:
    """The log a report reads: ``parquet`` if given, else the store.

    An embedded store is read in place on DuckDB. Spark, and any engine on a PostgreSQL
    store, read the store exported to Parquet in a temporary folder (removed after).
    ``store`` is a path or URL; None means ``SHEQUN_STORE``, else the default file.
    """
    if engine not in ENGINES:
        raise ConfigError("--engine", f"{engine!r} is not one of {', '.join(ENGINES)}")
    if parquet is not None:
        yield parquet_log(parquet, engine)
        return
    from shequn.store import is_server_url, open_store, store_target

    target = store_target(store)
    remote = is_server_url(target)
    if engine == "duckdb" and not remote:
        if not Path(target).exists():
            raise ConfigError("--store", f"{target} does not exist (import a chat first)")
        yield duckdb_log(target)
        return
    with tempfile.TemporaryDirectory(prefix="shequn-parquet-") as folder:
        with open_store(target) as db:
            export_parquet(db, folder)
        yield parquet_log(folder, engine)


def ctx_meta(ctx: Context) -> dict[str, Any]:
    """What the document says about where its numbers come from."""
    names = {
        f"{row['platform']}/{row['group_id']}": row["name"]
        for row in arrow(ctx.log.groups.select("platform", "group_id", "name")).to_pylist()
    }
    return {
        "engine": ctx.log.engine,
        "scope": {
            "community": ctx.scope.community,
            "groups": list(ctx.scope.groups),
            "since": _iso(ctx.scope.since),
            "until": _iso(ctx.scope.until),
        },
        "period": {"start": _iso(ctx.start), "end": _iso(ctx.end)},
        "settings": asdict(ctx.settings),
        "groups": [
            {"key": key, "name": names.get(key, key), "timezone": tz}
            for key, tz in sorted(ctx.timezones.items())
        ],
    }


def assemble(
    meta: Mapping[str, Any],
    results: Mapping[str, pa.Table],
    infos: Mapping[str, MetricInfo],
    explorer: Mapping[str, Any] | None = None,
    generated_at: datetime | None = None,
    row_limit: int | None = None,
    defer_rows: bool = False,
) -> Report:
    """The report from computed results; ``infos`` gives every result's words.

    With ``row_limit``, each metric's ``rows`` are its first ``row_limit`` rows and
    ``total_rows`` says how many it has. With ``defer_rows``, each metric's ``rows``
    is :data:`DEFERRED` and :func:`write_json` writes them from the results.
    """
    from shequn.report.recommend import recommend

    missing_words = sorted(set(results) - set(infos))
    if missing_words:
        raise ValueError(f"no title/explain for {missing_words}")
    explorer = dict(explorer or empty_explorer())
    metrics = {
        name: table_json(infos[name], table, row_limit, defer_rows)
        for name, table in results.items()
    }
    sections = []
    placed: set[str] = set()
    for section in SECTIONS:
        present = [m for m in section.metrics if m in results]
        absent = [m for m in section.metrics if m not in results]
        placed.update(present)
        if section.id != "overview":  # other metrics of the theme, after the listed ones
            themed = sorted(n for n in results if n not in placed and _theme(n) == section.id)
            present += themed
            placed.update(themed)
        sections.append(_section_json(section, present, absent))
    extra = [name for name in results if name not in placed]
    if extra:
        sections.append(_section_json(OTHER_SECTION, extra, []))
    settings = dict(meta.get("settings", {}))
    document: dict[str, Any] = {
        "report": "shequn",
        "version": REPORT_VERSION,
        "generated_at": _iso(generated_at or datetime.now(UTC).replace(tzinfo=None)),
        **{key: meta[key] for key in ("engine", "scope", "period", "settings", "groups")},
        "positioning": meta.get("positioning"),
        "sections": sections,
        "recommendations": [
            r.as_json()
            for r in recommend(results, explorer, settings, meta.get("period", {}).get("end"))
        ],
        "metrics": metrics,
    }
    return Report(document, explorer, dict(results))


#: metric name prefix → the section it belongs to when not listed by name
THEMES: Final = {
    "activity": "activity",
    "retention": "retention",
    "hours": "hours",
    "roles": "members",
    "lurkers": "members",
    "members": "members",
    "kols": "kols",
    "graph": "kols",
    "growth": "growth",
    "conversation": "conversation",
    "topics": "topics",
    "health": "health",
}


def _theme(name: str) -> str | None:
    return THEMES.get(name.split(".", 1)[0])


def _section_json(section: Section, present: list[str], absent: list[str]) -> dict[str, Any]:
    note = f"Not computed by this version: {', '.join(absent)}." if absent else None
    return {
        "id": section.id,
        "title": section.title,
        "about": section.about,
        "metrics": present,
        "missing": absent,
        "note": note,
    }


#: the rows of a document built with ``defer_rows`` (:func:`write_json` writes them)
DEFERRED: Final = "\0shequn: rows written by write_json\0"


def table_json(
    info: MetricInfo, table: pa.Table, row_limit: int | None = None, defer_rows: bool = False
) -> dict[str, Any]:
    """A metric's result as JSON: its words, its columns (name, Arrow type), its rows
    (the first ``row_limit`` and ``total_rows``, when limited; :data:`DEFERRED` with
    ``defer_rows``)."""
    rows: Any = DEFERRED
    if not defer_rows:
        rows = table_rows(table if row_limit is None else table.slice(0, row_limit))
    out = {
        "title": info.title,
        "explain": info.explain,
        "columns": [{"name": f.name, "type": str(value_type(f.type))} for f in table.schema],
        "rows": rows,
    }
    if row_limit is not None:
        out["total_rows"] = table.num_rows
    return out


def write_json(report: Report, out: TextIO) -> None:
    """The document as :func:`~shequn.safe_text.json_text` writes it, character for
    character, with the rows of a ``defer_rows`` document taken from the results
    :data:`JSON_CHUNK_ROWS` at a time: only one chunk of rows is ever Python objects."""
    tokens: dict[str, str] = {}
    metrics = dict(report.document.get("metrics", {}))
    for name, metric in metrics.items():
        if isinstance(metric.get("rows"), str) and metric["rows"] == DEFERRED:
            tokens[name] = f"{DEFERRED}{name}"
            metrics[name] = {**metric, "rows": tokens[name]}
    text = json_text({**report.document, "metrics": metrics})
    at = 0
    for name, token in tokens.items():
        # the token is a JSON string of its own: it cannot occur inside another string
        quoted = json.dumps(token, ensure_ascii=False)
        place = text.index(quoted, at)
        out.write(text[at:place])
        _write_rows(report.results[name], out)
        at = place + len(quoted)
    out.write(text[at:])


def _write_rows(table: pa.Table, out: TextIO) -> None:
    out.write("[")
    for start in range(0, table.num_rows, JSON_CHUNK_ROWS):
        chunk = json_text(table_rows(table.slice(start, JSON_CHUNK_ROWS)))
        out.write((", " if start else "") + chunk[1:-1])
    out.write("]")


def table_rows(table: pa.Table) -> list[dict[str, Any]]:
    """The rows as JSON objects, converted a column at a time (a result can hold over a
    million rows; only columns that need it go through :func:`json_value` per cell)."""
    if not table.column_names:
        return [{} for _ in range(table.num_rows)]
    columns = [_column_json(column) for column in table.columns]
    names = table.column_names
    return [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]


def value_type(kind: pa.DataType) -> pa.DataType:
    """The type a reader sees: a dictionary-encoded column's values' type (the encoding
    is how the result is held, not what it holds)."""
    return kind.value_type if pa.types.is_dictionary(kind) else kind


def _column_json(column: pa.ChunkedArray) -> list[Any]:
    kind = value_type(column.type)
    plain = pa.types.is_integer(kind) or pa.types.is_boolean(kind) or is_text(kind)
    if not plain and pa.types.is_floating(kind):
        # floats as they are unless a NaN or infinity needs to become null
        plain = pc.all(pc.or_kleene(pc.is_finite(column), pc.is_null(column))).as_py() is not False
    if plain:
        values: list[Any] = column.to_pylist()
        return values
    return [json_value(v) for v in column.to_pylist()]


def json_value(value: Any) -> Any:
    """A result cell as a JSON value (numbers unchanged; NaN/inf as null)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, bool | int | str) or value is None:
        return value
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


# --- the explorer: what the page filters by group, member and time ---------------------


def empty_explorer() -> dict[str, Any]:
    return {
        "groups": [ALL_GROUPS],
        "members": [],
        "names": [],
        "weeks": [],
        "pooled_members": 0,
        "cube": {"g": [], "w": [], "m": [], "d": [], "h": [], "n": []},
    }


def explorer_query(ctx: Context, kept: ir.Table | None = None) -> ir.Table:
    """Messages per (group, local week, member, weekday 0=Mon, hour).

    No ``*`` rows: the page sums the groups' rows for the whole community (the counts
    add up, and a member has one index in every group), which halves the page's data.

    With ``kept`` (one column ``kept_member``), other members' rows are pooled under an
    empty member key.
    """
    m = ctx.messages
    rows = m.select(
        group=m.group,
        member=m.member,
        week=week_of(m.local_ts),
        weekday=m.local_ts.day_of_week.index(),
        hour=m.local_ts.hour(),
    )
    if kept is not None:
        joined = rows.left_join(kept, rows.member == kept.kept_member)
        rows = joined.select(
            "group",
            "week",
            "weekday",
            "hour",
            member=ibis.coalesce(joined.kept_member, ibis.literal("")),
        )
    rows = rows.select("group", "member", "week", "weekday", "hour")
    return rows.group_by(["group", "week", "member", "weekday", "hour"]).aggregate(
        messages=rows.count()
    )


def member_totals(ctx: Context) -> ir.Table:
    """Messages per member over the period, with the member's latest display name."""
    m = ctx.messages
    return m.group_by("member").aggregate(
        messages=m.count(), name=m.member_name.argmax(m.ts), last=m.ts.max()
    )


def explorer_data(ctx: Context, member_limit: int = MEMBER_LIMIT) -> dict[str, Any]:
    """The explorer data, columnar and dictionary-encoded (indexes into the lists); the
    cube's columns are NumPy arrays (:data:`CUBE_TYPE`).

    Its two queries run with DuckDB's pool held to
    :data:`~shequn.analytics.source.DERIVED_MEMORY_LIMIT`: at 1 GB they filled it with the
    shared events' blocks, kept cached beside the page's data for the rest of the report
    (at 10M messages ≈ 1 GB of the step's 2.7 GB peak); held low, nothing is cached past
    them, for the same CPU."""
    with sql_memory(ctx.log, DERIVED_MEMORY_LIMIT):
        totals = arrow(member_totals(ctx)).sort_by(
            [("messages", "descending"), ("member", "ascending")]
        )
        keep = totals.slice(0, member_limit)
        pooled = totals.num_rows - keep.num_rows
        kept = None
        if pooled:
            kept = ibis.memtable(pa.table({"kept_member": keep.column("member")}))
        cube = arrow(explorer_query(ctx, kept))
    members = keep.column("member").to_pylist()
    names = [
        n if n is not None else k
        for k, n in zip(members, keep.column("name").to_pylist(), strict=True)
    ]
    member_index = {key: i for i, key in enumerate(members)}
    group_keys, group_codes = _encoded(cube.column("group"))
    groups = sorted(set(group_keys) | {ALL_GROUPS}, key=_group_order)
    group_index = {key: i for i, key in enumerate(groups)}
    week_keys, week_codes = _encoded(cube.column("week"))
    weeks = sorted(week_keys)
    week_index = {w: i for i, w in enumerate(weeks)}
    member_keys, member_codes = _encoded(cube.column("member"))
    g = np.array([group_index[k] for k in group_keys], dtype=CUBE_TYPE)[group_codes]
    w = np.array([week_index[k] for k in week_keys], dtype=CUBE_TYPE)[week_codes]
    m = np.array([member_index.get(k, POOLED) for k in member_keys], dtype=CUBE_TYPE)[member_codes]
    d = cube.column("weekday").to_numpy().astype(CUBE_TYPE)
    h = cube.column("hour").to_numpy().astype(CUBE_TYPE)
    n = cube.column("messages").to_numpy().astype(CUBE_TYPE)
    # rows sorted by group key, week, member key, weekday, hour (keys as strings)
    member_rank = _ranks(member_keys)[member_codes]
    order = np.lexsort((h, d, member_rank, w, _ranks(group_keys)[group_codes]))
    del cube, member_rank, group_codes, week_codes, member_codes
    return {
        "groups": groups,
        "members": members,
        "names": names,
        "weeks": [w.date().isoformat() for w in weeks],
        "pooled_members": pooled,
        "cube": {
            k: v[order] for k, v in (("g", g), ("w", w), ("m", m), ("d", d), ("h", h), ("n", n))
        },
    }


def _encoded(column: pa.ChunkedArray) -> tuple[list[Any], np.ndarray]:
    """The distinct values of a column (None for nulls), and each row's index into them."""
    encoded = pc.dictionary_encode(column.combine_chunks(), null_encoding="encode")
    return encoded.dictionary.to_pylist(), encoded.indices.to_numpy(zero_copy_only=False)


def _ranks(values: list[Any]) -> np.ndarray:
    """Each value's place among ``values`` in sorted order (None last)."""
    ranks = np.empty(len(values), dtype=np.int64)
    place = sorted(range(len(values)), key=lambda i: (values[i] is None, values[i] or ""))
    ranks[place] = np.arange(len(values))
    return ranks


def _group_order(key: str) -> tuple[int, str]:
    return (0 if key == ALL_GROUPS else 1, key)
