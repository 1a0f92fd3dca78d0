"""Lurker and KOL classification against the simulator's truth, per platform.

For each format: simulate one community (same members, messages, days and seed for all),
import it into a new embedded store, run ``roles.members`` and print precision and
recall of the lurker and KOL roles against ``truth.json``. Next to the KOL figures, the
*oracle*: the same KOL rule (:func:`shequn.analytics.metrics.kols.rank_group`) fed the
replies each member received as the truth file records them (``reply_to_line``). For
WhatsApp that is every reply, including those the export hides — what the rule gives
when nothing is lost. For Slack and WeChat the truth records what the platform records
(a thread reply answers the thread's root; only quotes name what they answer) — what a
perfect importer reading only the platform's reply structure would get; mentions and the
timing estimate can add to it. Connectors: the role, and the ``is_connector`` flag (a
connector who is also a KOL or a manager takes that role); next to them the modularity
of the Leiden partition ``graph.centrality`` reports (each group's, weighted, as Leiden
optimises it), which the connector rule reads through ``bridged_communities``.

    python bench/classification.py                       # 5,000 members, every platform
    python bench/classification.py --formats whatsapp slack --seed 5
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

from shequn.analytics.context import build_context
from shequn.analytics.metrics import graph
from shequn.analytics.metrics.common import ALL_GROUPS
from shequn.analytics.metrics.kols import rank_group
from shequn.analytics.runner import run_metrics
from shequn.analytics.source import duckdb_log
from shequn.importers.base import ImportSettings
from shequn.ingest import run_import
from shequn.simulate import simulate_export
from shequn.simulate.truth import true_replies
from shequn.store import open_store

FORMATS = ("discord", "telegram", "slack", "wechat:pywxdump", "wechat:memotrace", "whatsapp")


def precision_recall(predicted: set[str], actual: set[str]) -> str:
    hit = len(predicted & actual)
    return f"{hit / max(1, len(predicted)):.3f} / {hit / max(1, len(actual)):.3f}"


def measure(spec: str, args: argparse.Namespace, root: Path) -> dict[str, Any]:
    fmt, _, variant = spec.partition(":")
    out = root / spec.replace(":", "-")
    summary = simulate_export(
        format=fmt,
        variant=variant,
        members=args.members,
        messages=args.messages,
        days=args.days,
        seed=args.seed,
        out=out / "sim",
    )
    truth = json.loads(summary.truth_path.read_text(encoding="utf-8"))
    store_path = out / "store.duckdb"
    with open_store(store_path) as store:
        settings = ImportSettings(
            community="c", timezone=truth["timezone"], me=truth["exporter"]["name"]
        )
        run_import(store, summary.export_path, settings)
    ctx = build_context(duckdb_log(store_path))
    results = run_metrics(ctx, ["roles.members", "roles.signals", "graph.centrality"])
    platform = truth["platform"]
    role_of = {f"{platform}:{m['id']}": m["role"] for m in truth["members"]}
    roles = [r for r in results["roles.members"].to_pylist() if r["group"] != ALL_GROUPS]

    def found(role: str) -> set[str]:
        return {r["member"] for r in roles if r["role"] == role}

    def true(role: str) -> set[str]:
        return {m for m, x in role_of.items() if x == role}

    _, replies = true_replies(next((out / "sim").rglob("truth_events.parquet")))
    drawn = {f"{platform}:{m}": float(n) for m, n in replies.items()}
    flagged = {r["member"] for r in roles if r["is_connector"]}
    oracle: set[str] = set()
    signals = [r for r in results["roles.signals"].to_pylist() if r["group"] != ALL_GROUPS]
    for group in {r["group"] for r in signals}:
        rows = [r for r in signals if r["group"] == group]
        oracle |= {o["member"] for o in rank_group(rows, {}, drawn) if o["is_kol"]}
    return {
        "format": spec,
        "lurker": precision_recall(found("lurker"), true("lurker")),
        "kol": precision_recall(found("kol"), true("kol")),
        "oracle": precision_recall(oracle, true("kol")),
        "kols": f"{len(found('kol'))} found, {len(true('kol'))} true",
        "connector": precision_recall(found("connector"), true("connector")),
        "flagged": precision_recall(flagged, true("connector")),
        "connectors": f"{len(found('connector'))} ({len(flagged)} flagged) found, "
        f"{len(true('connector'))} true",
        "modularity": modularity(results["conversation.edges"], results["graph.centrality"]),
    }


def modularity(edges: Any, centrality: Any) -> str:
    """Each group's modularity of its reported communities (weighted undirected graph)."""
    rows = centrality.to_pylist()
    out = []
    for group, g in sorted(graph.build_graphs(edges).items()):
        if group == ALL_GROUPS:
            continue
        label = {r["member"]: r["community"] for r in rows if r["group"] == group}
        membership = [label[m] for m in g.members]
        weights = g.undirected_weights.tolist()
        out.append(f"{g.undirected.modularity(membership, weights=weights):.4f}")
    return ", ".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=5000)
    parser.add_argument("--messages", type=int, default=300_000)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--formats", nargs="+", default=list(FORMATS))
    args = parser.parse_args()
    print(
        f"{args.members:,} members, {args.messages:,} messages, {args.days} days, "
        f"seed {args.seed}; precision / recall"
    )
    print(
        "| format | lurker | KOL | KOL found | KOL rule on the true answers (oracle) "
        "| connector (role) | connector (flag) | connectors | modularity |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="shequn-classes-") as tmp:
        for spec in args.formats:
            row = measure(spec, args, Path(tmp))
            print(
                f"| {row['format']} | {row['lurker']} | {row['kol']} | {row['kols']} "
                f"| {row['oracle']} | {row['connector']} | {row['flagged']} "
                f"| {row['connectors']} | {row['modularity']} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
