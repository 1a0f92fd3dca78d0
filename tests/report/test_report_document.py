"""The report document: the same numbers as run_metrics, sections that appear with their
metrics and are noted when absent, recommendations read off the numbers, the CLI."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import numpy as np
import pyarrow as pa
import pytest
from typer.testing import CliRunner

from conftest import GROUPS, IMG_NAME, Hostile
from shequn.analytics.context import Scope, build_context
from shequn.analytics.metrics.roles import gaps as role_gaps
from shequn.analytics.runner import load_metrics, run_metrics
from shequn.analytics.source import duckdb_log
from shequn.cli import app
from shequn.importers.base import ImportSettings
from shequn.ingest import run_import
from shequn.report import SECTIONS, assemble, build_report
from shequn.report.collect import (
    MetricInfo,
    ctx_meta,
    explorer_data,
    json_value,
    metric_infos,
    runnable,
)
from shequn.report.html import page_document
from shequn.report.masking import INPUT_ONLY
from shequn.report.recommend import recommend
from shequn.safe_text import json_text
from shequn.store import open_store

runner = CliRunner()


def _report_json(*args: str) -> dict[str, Any]:
    result = runner.invoke(app, ["report", *args, "--json"])
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def _expected_rows(table: pa.Table) -> list[dict[str, Any]]:
    return [{k: json_value(v) for k, v in row.items()} for row in table.to_pylist()]


#: the metrics the scope and engine tests compare (every metric: the first two tests)
FEW = ("--metric", "activity.weekly", "--metric", "activity.concentration")


@pytest.fixture(scope="module")
def full(hostile: Hostile) -> dict[str, Any]:
    return _report_json("--store", str(hostile.store), "--community", "makers")


def test_json_has_the_numbers_run_metrics_computes(hostile: Hostile, full: dict[str, Any]) -> None:
    document = full
    every = runnable(load_metrics(), list(load_metrics()))  # all, while others register
    ctx = build_context(duckdb_log(hostile.store), Scope(community="makers"))
    expected = run_metrics(ctx, every)
    assert set(expected) == set(every)
    # raw message text that only feeds other metrics stays out of the document
    assert set(document["metrics"]) == set(every) - INPUT_ONLY
    assert "topics.sample" in INPUT_ONLY and "topics.terms" in document["metrics"]
    for name, table in expected.items():
        if name in INPUT_ONLY:
            continue
        # no phone numbers and no bidi marks in this fixture: shown as computed
        metric = document["metrics"][name]
        assert [c["name"] for c in metric["columns"]] == table.column_names, name
        # ints exactly, floats exactly (JSON keeps a float's repr), timestamps as ISO text
        assert metric["rows"] == _expected_rows(table), name
        assert metric["explain"] == load_metrics()[name].explain
    weekly = document["metrics"]["activity.weekly"]["rows"]
    assert sum(r["messages"] for r in weekly if r["group"] == "*") == sum(
        r["messages"] for r in weekly if r["group"] != "*"
    )


def test_out_json_writes_the_same_document(hostile: Hostile, tmp_path: Path) -> None:
    target = tmp_path / "sub" / "report.json"
    args = ["report", "--store", str(hostile.store), *FEW]
    result = runner.invoke(app, [*args, "--out", str(target)])
    assert result.exit_code == 0, result.output
    assert f"wrote {target}" in result.stdout
    written = json.loads(target.read_text(encoding="utf-8"))
    printed = _report_json("--store", str(hostile.store), *FEW)
    written.pop("generated_at"), printed.pop("generated_at")
    assert written == printed


def test_streamed_json_is_the_document_json_dumps_writes(
    hostile: Hostile, monkeypatch: pytest.MonkeyPatch
) -> None:
    """write_json, rows taken from the results in chunks (of 2 rows here, so every
    metric with rows is cut), gives the text json_text gives for the whole document
    (json.dumps with the terminal's controls escaped)."""
    import io

    from shequn.report import collect

    ctx = build_context(duckdb_log(hostile.store), Scope(community="makers"))
    every = runnable(load_metrics(), list(load_metrics()))
    results = run_metrics(ctx, every)
    meta, infos, explorer = ctx_meta(ctx), metric_infos(), explorer_data(ctx)
    when = datetime(2024, 5, 1, 12, 0)
    whole = assemble(meta, results, infos, explorer, generated_at=when)
    deferred = assemble(meta, results, infos, explorer, generated_at=when, defer_rows=True)
    assert all(m["rows"] == collect.DEFERRED for m in deferred.document["metrics"].values())
    monkeypatch.setattr(collect, "JSON_CHUNK_ROWS", 2)
    out = io.StringIO()
    collect.write_json(deferred, out)
    expected = json_text(whole.document)
    assert json.loads(expected) == json.loads(json.dumps(whole.document))
    assert max(len(m["rows"]) for m in whole.document["metrics"].values()) > 4
    assert out.getvalue() == expected
    # a document built with its rows is written as it is
    again = io.StringIO()
    collect.write_json(whole, again)
    assert again.getvalue() == expected


def test_the_page_written_in_pieces_is_the_page_rendered_whole(
    hostile: Hostile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """write_html (the CLI's --out page: data key by key, long lists in slices — of 3
    items here, so the explorer's columns are cut) writes the bytes of the page built
    as one string, whose data is json.dumps of it whole, hostile names escaped."""
    from shequn.report import html

    ctx = build_context(duckdb_log(hostile.store), Scope(community="makers"))
    every = runnable(load_metrics(), list(load_metrics()))
    results = run_metrics(ctx, every)
    meta, infos, explorer = ctx_meta(ctx), metric_infos(), explorer_data(ctx)
    report = assemble(meta, results, infos, explorer, generated_at=datetime(2024, 5, 1))
    whole = html.render_html(report)
    data = {"report": html.page_document(report.document), "explorer": report.explorer}
    dumped = json.dumps(
        data, ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=html.json_list
    )
    escaped = "".join(html._JSON_ESCAPES.get(c, c) for c in dumped)
    assert escaped in whole and "<script" not in escaped
    monkeypatch.setattr(html, "JSON_LIST_ITEMS", 3)
    assert max(len(v) for v in report.explorer["cube"].values()) > 3
    page = tmp_path / "report.html"
    html.write_html(report, page)
    assert page.read_bytes() == whole.encode("utf-8")


def test_metric_option_limits_the_report(hostile: Hostile) -> None:
    document = _report_json("--store", str(hostile.store), *FEW)
    assert set(document["metrics"]) == {"activity.weekly", "activity.concentration"}
    unknown = runner.invoke(app, ["report", "--store", str(hostile.store), "--metric", "nope"])
    assert unknown.exit_code == 1 and "nope" in unknown.output


def test_scope_options_narrow_the_numbers(hostile: Hostile) -> None:
    whole = _report_json("--store", str(hostile.store), *FEW)
    one = _report_json("--store", str(hostile.store), *FEW, "--group", "whatsapp/Makers A")
    later = _report_json("--store", str(hostile.store), *FEW, "--since", "2024-01-15")

    def messages(doc: dict[str, Any]) -> int:
        rows = doc["metrics"]["activity.concentration"]["rows"]
        return int(next(r["messages"] for r in rows if r["group"] == "*"))

    assert {g["key"] for g in one["groups"]} == {"whatsapp/Makers A"}
    assert one["scope"]["groups"] == ["whatsapp/Makers A"]
    assert 0 < messages(one) < messages(whole)
    assert 0 < messages(later) < messages(whole)
    assert later["period"]["start"] == "2024-01-15T00:00:00"
    assert min(r["week"] for r in later["metrics"]["activity.weekly"]["rows"]) >= "2024-01-15"


def test_bad_options_fail_on_one_line(hostile: Hostile, tmp_path: Path) -> None:
    bad_engine = runner.invoke(app, ["report", "--store", str(hostile.store), "--engine", "x"])
    assert bad_engine.exit_code == 1 and "--engine" in bad_engine.output
    missing = runner.invoke(app, ["report", "--store", str(tmp_path / "none.duckdb"), "--json"])
    assert missing.exit_code == 1 and "does not exist" in missing.output
    not_export = runner.invoke(app, ["report", "--parquet", str(tmp_path), "--json"])
    assert not_export.exit_code == 1 and "export-parquet" in not_export.output


def test_export_parquet_then_report_from_it(hostile: Hostile, tmp_path: Path) -> None:
    folder = tmp_path / "log"
    result = runner.invoke(
        app, ["export-parquet", "--store", str(hostile.store), "--out", str(folder)]
    )
    assert result.exit_code == 0, result.output
    assert "events.parquet" in result.stdout
    assert sorted(p.name for p in folder.iterdir()) == [
        "events.parquet",
        "groups.parquet",
        "identity_links.parquet",
    ]
    from_parquet = _report_json("--parquet", str(folder), *FEW)
    from_store = _report_json("--store", str(hostile.store), *FEW)
    assert from_parquet["engine"] == "duckdb"
    assert from_parquet["metrics"] == from_store["metrics"]


def test_a_postgresql_store_is_reported_through_parquet(hostile: Hostile, pg_url: str) -> None:
    with open_store(pg_url) as store:
        for i, group in enumerate(GROUPS):
            run_import(
                store,
                hostile.root / f"WhatsApp Chat with group{i}.txt",
                ImportSettings(community="makers", group=group, timezone="Asia/Shanghai"),
            )
    on_pg = _report_json("--store", pg_url, *FEW)
    on_duckdb = _report_json("--store", str(hostile.store), *FEW)
    assert on_pg["metrics"] == on_duckdb["metrics"]


# --- sections and recommendations, with stand-ins for metrics not registered yet --------

STUB_INFOS = {
    name: MetricInfo(name, f"Stub {name}", f"What {name} means.")
    for name in (
        "conversation.response",
        "roles.members",
        "roles.gaps",
        "hours.windows",
        "future.metric",
    )
}


def _stub_results() -> dict[str, pa.Table]:
    week = datetime(2024, 1, 29)
    return {
        "conversation.response": pa.table(
            {
                "group": ["whatsapp/A", "whatsapp/B", "*"],
                "week": [week, week, week],
                "questions": [20, 3, 23],
                "answered": [8, 3, 11],
                "unanswered": [12, 0, 12],
                "median_response_seconds": [600.0, 30.0, 300.0],
            }
        ),
        "roles.gaps": pa.table(
            {
                "group": ["whatsapp/A", "whatsapp/B"],
                "gap": ["none", "no connector"],
                "explanation": ["Every role is present.", "Nobody bridges clusters."],
            }
        ),
        "roles.members": pa.table(
            {"group": ["whatsapp/A"], "member": ["whatsapp:1"], "role": ["connector"]}
        ),
        "hours.windows": pa.table(
            {"group": ["whatsapp/A"], "windows": ["20:00–22:00"], "share": [0.31]}
        ),
        "future.metric": pa.table({"group": ["*"], "x": [1]}),
    }


META = {
    "engine": "duckdb",
    "scope": {"community": "c", "groups": [], "since": None, "until": None},
    "period": {"start": "2024-01-01T00:00:00", "end": "2024-02-05T00:00:00"},
    "settings": {"lurker_days": 30},
    "groups": [],
}


def test_sections_render_what_exists_and_note_what_does_not() -> None:
    report = assemble(META, _stub_results(), STUB_INFOS)
    sections = {s["id"]: s for s in report.document["sections"]}
    assert [s.id for s in SECTIONS] == list(sections)[: len(SECTIONS)]
    assert sections["conversation"]["metrics"] == ["conversation.response"]
    assert "conversation.edges" in sections["conversation"]["missing"]
    assert "conversation.edges" in sections["conversation"]["note"]
    assert sections["members"]["metrics"] == ["roles.members", "roles.gaps"]
    assert sections["topics"]["metrics"] == [] and "topics.terms" in sections["topics"]["note"]
    assert sections["more"]["metrics"] == ["future.metric"]  # never silently dropped


def test_recommendations_come_from_the_numbers() -> None:
    texts = [
        r["text"] for r in assemble(META, _stub_results(), STUB_INFOS).document["recommendations"]
    ]
    assert any(
        t.startswith("12 questions unanswered in the week of 2024-01-29 in group A") for t in texts
    )
    assert not any("group B" in t and "unanswered" in t for t in texts)
    assert "No connector in group B: Nobody bridges clusters." in texts
    assert not any("group A" in t and "role" in t.lower() for t in texts)
    assert any(t.startswith("Post in 20:00–22:00 in group A") for t in texts)


def test_roles_gaps_are_derived_from_roles_members_without_roles_gaps() -> None:
    members = pa.table(
        {
            "group": ["whatsapp/A", "whatsapp/A", "whatsapp/B", "*"],
            "member": ["whatsapp:1", "whatsapp:2", "whatsapp:3", "whatsapp:1"],
            "role": ["connector", "kol", "kol", "connector"],
        }
    )
    texts = [r.text for r in recommend({"roles.members": members}, {})]
    assert texts == ["No connector in group B."]


def test_posting_window_without_hours_metrics_comes_from_the_explorer(hostile: Hostile) -> None:
    ctx = build_context(duckdb_log(hostile.store), Scope(groups=("whatsapp/Makers A",)))
    explorer = explorer_data(ctx)
    recs = recommend({}, explorer)
    assert len(recs) == 1 and recs[0].text.startswith("Post between ")
    assert recs[0].group == "*"
    # the cube's columns as NumPy arrays or as lists: the same window
    listed = {**explorer, "cube": {k: list(v) for k, v in explorer["cube"].items()}}
    assert [r.text for r in recommend({}, listed)] == [r.text for r in recs]


def test_explorer_cube_is_held_as_int32_arrays_and_written_as_lists(hostile: Hostile) -> None:
    """The cube's columns are NumPy int32 arrays (as lists of Python ints, ≈ 0.1 GB more
    at 10M messages); the page's JSON of them is the JSON of their lists."""
    from shequn.report import html

    explorer = explorer_data(build_context(duckdb_log(hostile.store)))
    cube = explorer["cube"]
    assert all(isinstance(v, np.ndarray) and v.dtype == np.int32 for v in cube.values())
    as_lists = {**explorer, "cube": {k: v.tolist() for k, v in cube.items()}}
    assert len(cube["n"]) > 3
    assert "".join(html.script_json_pieces(explorer)) == "".join(html.script_json_pieces(as_lists))
    assert "".join(html.script_json_pieces(explorer)) == html._escaped(
        json.dumps(as_lists, ensure_ascii=False, separators=(",", ":"))
    )


def test_explorer_counts_every_message_once_in_its_group(hostile: Hostile) -> None:
    ctx = build_context(duckdb_log(hostile.store))
    explorer = explorer_data(ctx)
    concentration = run_metrics(ctx, ["activity.concentration"])["activity.concentration"]
    per_group = dict(
        zip(
            concentration.column("group").to_pylist(),
            concentration.column("messages").to_pylist(),
            strict=True,
        )
    )
    cube = explorer["cube"]
    assert explorer["groups"][0] == "*" and 0 not in cube["g"]  # "*" is the sum of the rows
    assert sum(cube["n"]) == per_group["*"]
    for i, group in enumerate(explorer["groups"][1:], start=1):
        total = sum(n for g, n in zip(cube["g"], cube["n"], strict=True) if g == i)
        assert total == per_group[group], group
    assert IMG_NAME in explorer["names"]
    assert len(explorer["weeks"]) == 5 and explorer["pooled_members"] == 0


def test_explorer_pools_members_past_the_limit(hostile: Hostile) -> None:
    ctx = build_context(duckdb_log(hostile.store))
    full = explorer_data(ctx)
    pooled = explorer_data(ctx, member_limit=3)
    assert len(pooled["members"]) == 3 and pooled["pooled_members"] == len(full["members"]) - 3
    assert -1 in pooled["cube"]["m"]
    assert sum(pooled["cube"]["n"]) == sum(full["cube"]["n"])


def test_derived_metrics_with_unregistered_inputs_are_left_out() -> None:
    known = dict(load_metrics())
    from shequn.analytics.registry import Derived

    known["x.derived"] = Derived("x.derived", "X", "x", ("nope.metric",), lambda c, r: r["x"], ())
    assert "x.derived" not in runnable(known, list(known))
    assert runnable(known, ["activity.weekly"]) == ["activity.weekly"]


def test_build_report_uses_the_registry_words(hostile: Hostile) -> None:
    ctx = build_context(duckdb_log(hostile.store))
    report = build_report(ctx, ["activity.weekly"])
    assert report.document["metrics"]["activity.weekly"]["explain"] == (
        metric_infos()["activity.weekly"].explain
    )
    assert ctx_meta(ctx)["groups"][0]["timezone"] == "Asia/Shanghai"
    with pytest.raises(ValueError, match="no title/explain"):
        assemble(META, {"unknown.metric": pa.table({"x": [1]})}, {})


def test_a_row_limit_keeps_the_first_rows_and_the_page_the_same(hostile: Hostile) -> None:
    ctx = build_context(duckdb_log(hostile.store))
    names = ["hours.heatmap", "activity.weekly"]
    full = build_report(ctx, names)
    cut = build_report(ctx, names, row_limit=3)
    for name in names:
        rows = full.document["metrics"][name]["rows"]
        assert len(rows) > 3, name
        assert cut.document["metrics"][name]["rows"] == rows[:3]
        assert cut.document["metrics"][name]["total_rows"] == len(rows)
    # the page of either document carries the same rows and totals
    assert page_document(cut.document, 2)["metrics"] == page_document(full.document, 2)["metrics"]


def test_role_gaps_the_roles_metric_finds_become_actions() -> None:
    """The real ``roles.gaps`` output (not a stand-in) drives the recommendation."""
    flags = ("is_manager", "is_kol", "is_connector", "is_helper", "is_seed")
    members = pa.Table.from_pylist(
        [
            {"group": "*", "member": f"whatsapp:{i}", "role": role, **dict.fromkeys(flags, False)}
            | {f"is_{role}": True}
            for i, role in enumerate(["manager", "kol", "helper", "seed", "follower"])
        ]
    )
    found = role_gaps(cast(Any, None), {"roles.members": members})
    assert found.column("gap").to_pylist() == ["no connector"]
    texts = [r.text for r in recommend({"roles.gaps": found}, {})]
    assert texts == [
        "No connector in the community: No member bridges otherwise separate clusters "
        "of the interaction graph."
    ]


def test_weekly_rules_judge_the_last_week_the_period_does_not_end_inside() -> None:
    early, late = datetime(2024, 1, 22), datetime(2024, 1, 29)
    results = {
        "activity.weekly": pa.table(
            {
                "group": ["*", "*"],
                "week": [early, late],
                "complete": [True, False],
                "active_members": [10, 3],
                "new_members": [1, 0],
                "churned": [0, 6],
            }
        ),
        "conversation.response": pa.table(
            {"group": ["*", "*"], "week": [early, late], "questions": [9, 4], "unanswered": [7, 0]}
        ),
    }
    texts = [r.text for r in recommend(results, {})]
    assert any(t.startswith("7 questions unanswered in the week of 2024-01-22") for t in texts)
    assert not any("2024-01-29" in t for t in texts)  # the unfinished week is not judged
    # without the flags, the period's end says which weeks are unfinished
    del results["activity.weekly"]
    texts = [r.text for r in recommend(results, {}, period_end="2024-02-02T10:00:00")]
    assert texts and texts[0].startswith("7 questions unanswered in the week of 2024-01-22")


def test_explorer_queries_run_with_duckdb_held_low(
    hostile: Hostile, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The explorer's queries see DuckDB's pool at the derived metrics' limit (so the
    shared events' blocks they read are not kept cached for the rest of the report),
    and the report's own limit is back after them."""
    from shequn.analytics.source import DERIVED_MEMORY_LIMIT
    from shequn.report import collect

    ctx = build_context(duckdb_log(hostile.store))
    con: Any = ctx.log.backend.con

    def limit() -> str:
        return str(con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0])

    before = limit()
    con.execute(f"SET memory_limit = '{DERIVED_MEMORY_LIMIT}'")
    low = limit()
    con.execute(f"SET memory_limit = '{ctx.log.memory_limit}'")
    seen: list[str] = []
    real = collect.arrow

    def noting(expr: Any) -> pa.Table:
        seen.append(limit())
        return real(expr)

    monkeypatch.setattr(collect, "arrow", noting)
    assert len(explorer_data(ctx)["cube"]["n"]) > 0
    assert seen == [low, low] and low != before
    assert limit() == before
