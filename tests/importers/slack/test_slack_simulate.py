"""The Slack export writer: deterministic, Slack's layout, day files, variants."""

from __future__ import annotations

import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow.parquet as pq
import pytest

from shequn.errors import ConfigError
from shequn.simulate import simulate_export
from shequn.simulate.slack import channel_slug, slack_markup


def files_of(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    a = simulate_export(format="slack", variant="zip", members=30, messages=800, days=10,
                        seed=9, out=tmp_path / "a")  # fmt: skip
    b = simulate_export(format="slack", variant="zip", members=30, messages=800, days=10,
                        seed=9, out=tmp_path / "b")  # fmt: skip
    assert a.export_path.read_bytes() == b.export_path.read_bytes()
    assert a.events_path.read_bytes() == b.events_path.read_bytes()
    assert a.truth_path.read_bytes() == b.truth_path.read_bytes()


def test_zip_holds_the_export_at_its_root(tmp_path: Path) -> None:
    summary = simulate_export(format="slack", variant="zip", members=20, messages=300, days=5,
                              seed=2, out=tmp_path)  # fmt: skip
    assert summary.export_path.name.endswith(" Slack export Jan 1 2024 - Jan 5 2024.zip")
    with zipfile.ZipFile(summary.export_path) as zf:
        names = zf.namelist()
    assert {"channels.json", "users.json", "integration_logs.json"} <= set(names)
    assert any(n.startswith("random/2024-01-") for n in names)


def test_day_files_follow_the_groups_local_date(tmp_path: Path) -> None:
    summary = simulate_export(format="slack", members=20, messages=600, days=6, seed=5,
                              timezone="Asia/Shanghai", out=tmp_path)  # fmt: skip
    tz = ZoneInfo("Asia/Shanghai")
    seen = 0
    for day_file in sorted(summary.export_path.glob("*/2024-*.json")):
        for rec in json.loads(day_file.read_text(encoding="utf-8")):
            local = datetime.fromtimestamp(float(rec["ts"]), UTC).astimezone(tz)
            assert local.date().isoformat() == day_file.stem, (day_file, rec["ts"])
            seen += 1
    assert seen > 600


def test_truth_counts_equal_truth_rows_and_threads_are_consistent(tmp_path: Path) -> None:
    summary = simulate_export(format="slack", members=40, messages=2000, days=20, seed=6,
                              out=tmp_path)  # fmt: skip
    truth = json.loads(summary.truth_path.read_text(encoding="utf-8"))
    rows = pq.read_table(summary.events_path).to_pylist()
    assert truth["counts"]["events"] == len(rows)
    assert truth["counts"]["messages"] == sum(r["kind"] == "message_posted" for r in rows)
    assert truth["platform"] == "slack" and truth["export"]["variant"] == "folder"
    by_line = {r["line"]: r for r in rows if r["kind"] == "message_posted"}
    parents = 0
    for day_file in summary.export_path.glob("*/2024-*.json"):
        for rec in json.loads(day_file.read_text(encoding="utf-8")):
            if rec.get("replies"):
                parents += 1
                assert rec["reply_count"] == len(rec["replies"])
                assert rec["thread_ts"] == rec["ts"]
    assert parents > 0
    replies = [r for r in rows if r["kind"] == "message_posted" and r["reply_to_line"]]
    assert replies and all(by_line[r["reply_to_line"]]["topic_id"] == r["topic_id"]
                           for r in replies)  # fmt: skip


def test_an_unknown_variant_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="variant"):
        simulate_export(format="slack", variant="html", members=10, messages=10, days=1,
                        out=tmp_path)  # fmt: skip


def test_slack_markup_and_channel_names() -> None:
    assert slack_markup("<script>a & b</script>") == "&lt;script&gt;a &amp; b&lt;/script&gt;"
    assert slack_markup("see https://x.org/a?b=1 and www.y.net/faq") == (
        "see <https://x.org/a?b=1> and <http://www.y.net/faq|www.y.net/faq>"
    )
    assert channel_slug("Shanghai Makers 🛠") == "shanghai-makers"
    assert channel_slug("深圳读书会 📚") == "深圳读书会"
    assert channel_slug("🎲") == "channel"
