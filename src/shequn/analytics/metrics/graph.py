"""The interaction graph: influence (PageRank), bridges (betweenness) and clusters (Leiden).

Built with python-igraph from ``conversation.edges`` (a small table: one row per pair of
members and kind), per group and for the whole community (group ``*``). Vertices are
sorted by member key and edges by (source, target) before igraph sees them, and every
random step uses :data:`SEED`, so the same edges give the same numbers on every engine.
"""

from __future__ import annotations

import hashlib
import random
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import igraph
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

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
    #: digest of the vertices and weighted edges: equal digests, equal graphs
    digest: bytes = b""


def build_graphs(edges: pa.Table) -> dict[str, GroupGraph]:
    """Per group, the directed graph (source → target, weights summed over kinds) and its
    undirected interaction graph (one edge per pair that interacted, weights summed).

    Vertices are the sorted member keys; directed edges are sorted by (source, target),
    undirected ones by their (lower, higher) vertex numbers. Built with Arrow and NumPy
    (an edge table has a row per pair and kind: about a million at 1M messages).
    """
    table = edges.select(["group", "source", "target", "weight"])
    table = table.filter(pc.not_equal(table["source"], table["target"]))
    groups = pc.dictionary_encode(table["group"].combine_chunks())
    ends = pc.dictionary_encode(
        pa.chunked_array([table["source"], table["target"]]).combine_chunks()
    )
    names = ends.dictionary.to_pylist()
    # a member's place among every member key, in sorted order (each group's vertices
    # keep that order)
    place = np.empty(len(names), dtype=np.int64)
    place[sorted(range(len(names)), key=names.__getitem__)] = np.arange(len(names))
    ends_place = place[ends.indices.to_numpy(zero_copy_only=False)]
    all_sources, all_targets = ends_place[: len(table)], ends_place[len(table) :]
    group_codes = groups.indices.to_numpy(zero_copy_only=False)
    all_weights = table["weight"].to_numpy()
    by_place = sorted(names)
    graphs: dict[str, GroupGraph] = {}
    built: dict[bytes, GroupGraph] = {}
    for code, group in sorted(enumerate(groups.dictionary.to_pylist()), key=lambda c: c[1]):
        rows = group_codes == code
        vertices, ends_index = np.unique(
            np.concatenate((all_sources[rows], all_targets[rows])), return_inverse=True
        )
        n = len(vertices)
        ends_index = ends_index.ravel()
        half = len(ends_index) // 2
        # weights summed over kinds: one edge per (source, target), sorted by both
        pair_keys, which = np.unique(ends_index[:half] * n + ends_index[half:], return_inverse=True)
        weight = np.bincount(which.ravel(), weights=all_weights[rows], minlength=len(pair_keys))
        source, target = pair_keys // n, pair_keys % n
        members = [by_place[v] for v in vertices]
        digest = hashlib.sha256("\0".join(members).encode())
        for array in (source.astype(np.int64), target.astype(np.int64), weight):
            digest.update(array.tobytes())
        if (same := built.get(digest.digest())) is not None:
            # the same vertices and edges (one group, and "*" for a one-group community)
            graphs[group] = same
            continue
        directed = igraph.Graph(n=n, edges=np.column_stack((source, target)), directed=True)
        directed.es["weight"] = weight
        low, high = np.minimum(source, target), np.maximum(source, target)
        pairs, which = np.unique(low * n + high, return_inverse=True)
        both = np.bincount(which.ravel(), weights=weight, minlength=len(pairs))
        undirected = igraph.Graph(
            n=n, edges=np.column_stack((pairs // n, pairs % n)), directed=False
        )
        undirected.es["weight"] = both
        graphs[group] = built[digest.digest()] = GroupGraph(
            members, directed, undirected, digest.digest()
        )
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
    # a community of one group has the same graph for the group and for "*": measured once
    measured: dict[bytes, dict[str, list[object]]] = {}
    for group, g in build_graphs(results["conversation.edges"]).items():
        if g.digest not in measured:
            measured[g.digest] = _measure(g)
        for name, values in measured[g.digest].items():
            columns[name].extend(values)
        columns["group"].extend([group] * len(g.members))
    return pa.table(columns, schema=CENTRALITY_SCHEMA)


def _measure(g: GroupGraph) -> dict[str, list[object]]:
    """Every column of :func:`centrality` but the group, one value per vertex."""
    rank = g.directed.pagerank(directed=True, damping=DAMPING, weights="weight")
    between, exact = betweenness(g.undirected)
    label = communities(g.undirected)
    sizes: dict[int, int] = defaultdict(int)
    for c in label:
        sizes[c] += 1
    in_w = g.directed.strength(mode="in", weights="weight")
    out_w = g.directed.strength(mode="out", weights="weight")
    columns: dict[str, list[object]] = {
        name: [] for name in CENTRALITY_SCHEMA.names if name != "group"
    }
    for v, member in enumerate(g.members):
        neighbours = g.undirected.neighbors(v)
        bridged = {label[u] for u in neighbours} - {label[v]}
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
    return columns
