"""The interaction graph: influence (PageRank), bridges (betweenness) and clusters (Leiden).

Built with python-igraph from ``conversation.edges`` (a small table: one row per pair of
members and kind), per group and for the whole community (group ``*``). Vertices are
sorted by member key and edges by (source, target) before igraph sees them, and every
random step uses :data:`SEED`, so the same edges give the same numbers on every engine.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import igraph
import pyarrow as pa

from shequn.analytics.context import Context
from shequn.analytics.registry import derived

#: PageRank's damping factor (the usual 0.85)
DAMPING: Final = 0.85
#: exact betweenness up to this many vertices; above it, estimated from sampled sources
EXACT_BETWEENNESS_MAX: Final = 2000
#: source vertices sampled for the estimate (Brandes & Pich 2007: sum the dependencies of
#: k random sources, scale by n / k; unbiased, error shrinks like 1 / sqrt(k))
BETWEENNESS_SAMPLE: Final = 500
#: seed of every random step (sampling, Leiden)
SEED: Final = 20240101
#: Leiden resolution (1.0: plain modularity)
RESOLUTION: Final = 1.0

CENTRALITY_SCHEMA: Final = pa.schema(
    [
        ("group", pa.string()),
        ("member", pa.string()),
        ("pagerank", pa.float64()),
        ("betweenness", pa.float64()),
        ("betweenness_exact", pa.bool_()),
        ("community", pa.int64()),
        ("community_size", pa.int64()),
        ("bridged_communities", pa.int64()),
        ("in_weight", pa.float64()),
        ("out_weight", pa.float64()),
        ("partners", pa.int64()),
    ]
)


@dataclass(frozen=True)
class GroupGraph:
    """One group's graph: vertices (sorted member keys) and weighted directed edges."""

    members: list[str]
    directed: igraph.Graph
    undirected: igraph.Graph


def build_graphs(edges: pa.Table) -> dict[str, GroupGraph]:
    """Per group, the directed graph (source → target, weights summed over kinds) and its
    undirected interaction graph (one edge per pair that interacted, weights summed)."""
    weights: dict[str, dict[tuple[str, str], float]] = defaultdict(lambda: defaultdict(float))
    for row in edges.select(["group", "source", "target", "weight"]).to_pylist():
        if row["source"] != row["target"]:
            weights[row["group"]][(row["source"], row["target"])] += row["weight"]
    graphs: dict[str, GroupGraph] = {}
    for group in sorted(weights):
        pairs = weights[group]
        members = sorted({m for pair in pairs for m in pair})
        index = {m: i for i, m in enumerate(members)}
        ordered = sorted(pairs)
        directed = igraph.Graph(
            n=len(members), edges=[(index[s], index[t]) for s, t in ordered], directed=True
        )
        directed.es["weight"] = [pairs[p] for p in ordered]
        both: dict[tuple[int, int], float] = defaultdict(float)
        for (s, t), w in pairs.items():
            a, b = sorted((index[s], index[t]))
            both[(a, b)] += w
        undirected_pairs = sorted(both)
        undirected = igraph.Graph(n=len(members), edges=undirected_pairs, directed=False)
        undirected.es["weight"] = [both[p] for p in undirected_pairs]
        graphs[group] = GroupGraph(members, directed, undirected)
    return graphs


def betweenness(graph: igraph.Graph, sample: int | None = None) -> tuple[list[float], bool]:
    """Unweighted betweenness of an undirected graph, normalised to [0, 1] by the
    (n-1)(n-2)/2 pairs; exact up to :data:`EXACT_BETWEENNESS_MAX` vertices, else
    estimated from ``sample`` (default :data:`BETWEENNESS_SAMPLE`) random source vertices
    (seeded), scaled by n / k. Returns the values and whether they are exact."""
    n = graph.vcount()
    pairs = (n - 1) * (n - 2) / 2
    if n < 3:
        return [0.0] * n, True
    k = BETWEENNESS_SAMPLE if sample is None else sample
    if n <= EXACT_BETWEENNESS_MAX and sample is None:
        raw = graph.betweenness(directed=False)
        return [float(v) / pairs for v in raw], True
    k = min(k, n)
    sources = sorted(random.Random(SEED).sample(range(n), k))
    # igraph sums the dependencies of the paths from the k sources (with all sources it
    # equals the exact value): each source is drawn with probability k / n, so n / k
    # scales the sum to an unbiased estimate
    raw = graph.betweenness(directed=False, sources=sources)
    scale = n / k
    return [float(v) * scale / pairs for v in raw], k == n


def communities(graph: igraph.Graph) -> list[int]:
    """Leiden communities (modularity, weighted), deterministic: seeded, run to a fixed
    point, numbered by size (largest 0) then by their smallest vertex."""
    if graph.vcount() == 0:
        return []
    state = random.getstate()
    igraph.set_random_number_generator(random.Random(SEED))
    try:
        parts = graph.community_leiden(
            objective_function="modularity",
            weights="weight",
            resolution=RESOLUTION,
            n_iterations=-1,
        )
    finally:
        igraph.set_random_number_generator(random)
        random.setstate(state)
    members: dict[int, list[int]] = defaultdict(list)
    for vertex, label in enumerate(parts.membership):
        members[label].append(vertex)
    order = sorted(members, key=lambda label: (-len(members[label]), members[label][0]))
    renumber = {label: i for i, label in enumerate(order)}
    return [renumber[label] for label in parts.membership]


@derived(
    "graph.centrality",
    "Influence and bridges in the interaction graph",
    "Per member of the interaction graph (conversation.edges, weights summed over "
    f"kinds): PageRank on the weighted directed graph (damping {DAMPING}; a member scores "
    "high when members who are themselves answered reply to or mention them); "
    "betweenness on the undirected interaction graph, normalised to 0–1 (the share of "
    "shortest paths between two other members that pass through them — exact up to "
    f"{EXACT_BETWEENNESS_MAX} members, above that estimated from {BETWEENNESS_SAMPLE} "
    "randomly sampled source members with a fixed seed; betweenness_exact says which); "
    "the Leiden community (modularity, fixed seed; 0 is the largest) and its size; "
    "bridged_communities: how many other communities the member's partners belong to; "
    "weights received (in) and given (out); partners: members interacted with.",
    ("conversation.edges",),
    ("group", "member"),
)
def centrality(ctx: Context, results: Mapping[str, pa.Table]) -> pa.Table:
    columns: dict[str, list[object]] = {name: [] for name in CENTRALITY_SCHEMA.names}
    for group, g in build_graphs(results["conversation.edges"]).items():
        rank = g.directed.pagerank(directed=True, damping=DAMPING, weights="weight")
        between, exact = betweenness(g.undirected)
        label = communities(g.undirected)
        sizes: dict[int, int] = defaultdict(int)
        for c in label:
            sizes[c] += 1
        in_w = g.directed.strength(mode="in", weights="weight")
        out_w = g.directed.strength(mode="out", weights="weight")
        for v, member in enumerate(g.members):
            neighbours = g.undirected.neighbors(v)
            bridged = {label[u] for u in neighbours} - {label[v]}
            columns["group"].append(group)
            columns["member"].append(member)
            columns["pagerank"].append(float(rank[v]))
            columns["betweenness"].append(between[v])
            columns["betweenness_exact"].append(exact)
            columns["community"].append(label[v])
            columns["community_size"].append(sizes[label[v]])
            columns["bridged_communities"].append(len(bridged))
            columns["in_weight"].append(float(in_w[v]))
            columns["out_weight"].append(float(out_w[v]))
            columns["partners"].append(len(neighbours))
    return pa.table(columns, schema=CENTRALITY_SCHEMA)
