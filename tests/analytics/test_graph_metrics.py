"""graph.centrality: PageRank against a plain power iteration, betweenness exact and
estimated (the estimate's error measured), Leiden communities deterministic."""

from __future__ import annotations

import gc
import itertools
import os
import random
from collections import defaultdict
from typing import Any

import igraph
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from shequn.analytics.context import Context
from shequn.analytics.metrics import graph
from shequn.analytics.runner import run_metrics

EDGES = [  # group, source, target, weight, kind
    ("g", "a", "b", 2.0, "reply"),
    ("g", "b", "a", 1.0, "reply"),
    ("g", "c", "a", 1.0, "mention"),
    ("g", "c", "a", 0.5, "inferred"),
    ("g", "d", "c", 1.0, "reply"),
    ("g", "e", "d", 1.0, "reply"),
    ("g", "e", "e", 1.0, "reply"),  # self loop: ignored
    ("g", "f", "e", 3.0, "reply"),
    ("h", "x", "y", 1.0, "reply"),
]


def edge_table(rows: list[tuple[str, str, str, float, str]]) -> pa.Table:
    return pa.Table.from_pylist(
        [
            {"group": g, "source": s, "target": t, "kind": k, "weight": w, "interactions": 1}
            for g, s, t, w, k in rows
        ]
    )


def plain_pagerank(edges: list[tuple[str, str, float]], damping: float) -> dict[str, float]:
    """Power iteration; a member who answers nobody spreads their rank evenly."""
    out: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    nodes: set[str] = set()
    for s, t, w in edges:
        nodes |= {s, t}
        if s != t:
            out[s][t] += w
    n = len(nodes)
    rank = dict.fromkeys(nodes, 1 / n)
    for _ in range(1000):
        dangling = sum(rank[v] for v in nodes if not out[v])
        new = {v: (1 - damping) / n + damping * dangling / n for v in nodes}
        for s, targets in out.items():
            total = sum(targets.values())
            for t, w in targets.items():
                new[t] += damping * rank[s] * w / total
        if max(abs(new[v] - rank[v]) for v in nodes) < 1e-15:
            break
        rank = new
    return rank


def test_pagerank_matches_power_iteration() -> None:
    result = graph.centrality(None, {"conversation.edges": edge_table(EDGES)})  # type: ignore[arg-type]
    rows = {(r["group"], r["member"]): r for r in result.to_pylist()}
    expected = plain_pagerank([(s, t, w) for g, s, t, w, _ in EDGES if g == "g"], graph.DAMPING)
    assert {m for g, m in rows if g == "g"} == set(expected)
    for member, value in expected.items():
        assert abs(rows[("g", member)]["pagerank"] - value) < 1e-9, member
    assert abs(sum(expected.values()) - 1) < 1e-12
    # a (answered by b and c) outranks f (answers, never answered)
    assert rows[("g", "a")]["pagerank"] > rows[("g", "f")]["pagerank"]
    assert rows[("g", "a")]["in_weight"] == 2.5
    assert rows[("g", "c")]["out_weight"] == 1.5
    # d lies between the a-b-c side and e-f: betweenness of a path graph c-d-e
    assert rows[("g", "d")]["betweenness"] > 0
    assert rows[("g", "f")]["betweenness"] == 0
    assert rows[("g", "d")]["betweenness_exact"]


def plain_betweenness(g: igraph.Graph) -> list[float]:
    """Brandes' algorithm, undirected and unweighted, normalised by (n-1)(n-2)/2."""
    n = g.vcount()
    adj = [g.neighbors(v) for v in range(n)]
    cb = [0.0] * n
    for s in range(n):
        stack: list[int] = []
        preds: list[list[int]] = [[] for _ in range(n)]
        sigma, dist = [0] * n, [-1] * n
        sigma[s], dist[s] = 1, 0
        queue = [s]
        for v in queue:
            stack.append(v)
            for w in adj[v]:
                if dist[w] < 0:
                    dist[w] = dist[v] + 1
                    queue.append(w)
                if dist[w] == dist[v] + 1:
                    sigma[w] += sigma[v]
                    preds[w].append(v)
        delta = [0.0] * n
        for w in reversed(stack):
            for v in preds[w]:
                delta[v] += sigma[v] / sigma[w] * (1 + delta[w])
            if w != s:
                cb[w] += delta[w]
    pairs = (n - 1) * (n - 2) / 2
    return [c / 2 / pairs for c in cb]


def clustered_graph(n: int, clusters: int, seed: int) -> igraph.Graph:
    """Dense clusters joined by a few bridge members (a small-world interaction graph)."""
    rng = random.Random(seed)
    edges = set()
    size = n // clusters
    for c in range(clusters):
        members = range(c * size, (c + 1) * size)
        for v in members:
            for _ in range(3):
                u = rng.choice(members)
                if u != v:
                    edges.add((min(u, v), max(u, v)))
    for _ in range(clusters * 4):
        u, v = rng.randrange(n), rng.randrange(n)
        if u != v:
            edges.add((min(u, v), max(u, v)))
    g = igraph.Graph(n=n, edges=sorted(edges))
    g.es["weight"] = [1.0] * g.ecount()
    return g


def test_exact_betweenness_matches_brandes() -> None:
    g = clustered_graph(120, 4, seed=3)
    ours, exact = graph.betweenness(g)
    assert exact
    for a, b in zip(ours, plain_betweenness(g), strict=True):
        assert abs(a - b) < 1e-12


def test_sampled_betweenness_error() -> None:
    """Above EXACT_BETWEENNESS_MAX the estimate from 500 sampled sources: measured against
    the exact values on a 3,000-member clustered graph (figures printed for the report)."""
    g = clustered_graph(3000, 12, seed=7)
    exact, _ = graph.betweenness(g, sample=g.vcount())
    estimate, is_exact = graph.betweenness(g, sample=graph.BETWEENNESS_SAMPLE)
    assert not is_exact
    top = sorted(range(g.vcount()), key=lambda v: -exact[v])[:30]
    top_estimated = set(sorted(range(g.vcount()), key=lambda v: -estimate[v])[:30])
    errors = [abs(estimate[v] - exact[v]) / exact[v] for v in top]
    overlap = len(set(top) & top_estimated) / 30
    total_error = abs(sum(estimate) - sum(exact)) / sum(exact)
    print(
        f"\nbetweenness sample {graph.BETWEENNESS_SAMPLE}/3000: top-30 mean relative error "
        f"{sum(errors) / len(errors):.3f}, max {max(errors):.3f}, top-30 overlap "
        f"{overlap:.2f}, total {total_error:.4f}"
    )
    assert sum(errors) / len(errors) < 0.15
    assert overlap >= 0.8
    # and the same sample again: deterministic
    assert graph.betweenness(g, sample=graph.BETWEENNESS_SAMPLE)[0] == estimate


def test_sample_size_is_bounded_by_the_work() -> None:
    """500 sources on small graphs, fewer once sources × edges passes the bound, never
    under the minimum nor over the vertices."""
    assert graph.sample_size(3000, 12_000) == graph.BETWEENNESS_SAMPLE
    assert graph.sample_size(10_960, 198_818) == graph.BETWEENNESS_SAMPLE
    assert graph.sample_size(20_000, 400_000) == graph.BETWEENNESS_WORK // 400_000 == 250
    # 100,000 members, 1M messages: as many sources as at 10M, where the floor holds
    assert graph.sample_size(54_764, 1_064_365) == graph.BETWEENNESS_MIN_SAMPLE == 100
    assert graph.sample_size(100_000, 10**8) == graph.BETWEENNESS_MIN_SAMPLE
    assert graph.sample_size(80, 10**8) == 80
    for edges in (10**5, 10**6, 10**7):
        k = graph.sample_size(10**6, edges)
        assert k * edges <= graph.BETWEENNESS_WORK or k == graph.BETWEENNESS_MIN_SAMPLE


@pytest.mark.parametrize("helpers", [0, 1, 3])
def test_helpers_do_not_change_the_estimate(monkeypatch: Any, helpers: int) -> None:
    """Chunks run by forked helpers or here are added in chunk order: the same numbers
    with any number of helpers, and the sum of the sources' dependencies computed in
    one igraph call, to rounding."""
    g = clustered_graph(3000, 12, seed=11)
    monkeypatch.setattr(graph, "usable_cpus", lambda: 8)
    monkeypatch.setattr(graph, "BETWEENNESS_HELPERS", 0)
    alone, _ = graph.betweenness(g, sample=300)
    monkeypatch.setattr(graph, "BETWEENNESS_HELPERS", helpers)
    shared, _ = graph.betweenness(g, sample=300)
    assert shared == alone
    sources = sorted(random.Random(graph.SEED).sample(range(3000), 300))
    scale = 3000 / 300 / (2999 * 2998 / 2)
    one_call = g.betweenness(directed=False, sources=sources)
    for a, b in zip(shared, one_call, strict=True):
        assert a == pytest.approx(b * scale, rel=1e-12, abs=1e-300)


def test_a_helper_that_dies_leaves_its_chunks_here(monkeypatch: Any) -> None:
    """A chunk a helper took but never finished (the helper was killed) runs here."""
    g = clustered_graph(3000, 12, seed=11)
    monkeypatch.setattr(graph, "usable_cpus", lambda: 8)
    monkeypatch.setattr(graph, "BETWEENNESS_HELPERS", 0)
    alone, _ = graph.betweenness(g, sample=300)
    here = os.getpid()
    compute = graph._SharedChunks._compute

    def dies_in_a_helper(self: Any, i: int) -> None:
        if os.getpid() != here:
            os._exit(3)
        compute(self, i)

    monkeypatch.setattr(graph._SharedChunks, "_compute", dies_in_a_helper)
    monkeypatch.setattr(graph, "BETWEENNESS_HELPERS", 2)
    assert graph.betweenness(g, sample=300)[0] == alone


def test_helpers_are_reaped_when_the_body_raises(monkeypatch: Any) -> None:
    """An error while PageRank or Leiden runs kills and reaps the helpers."""
    g = clustered_graph(3000, 12, seed=11)
    monkeypatch.setattr(graph, "usable_cpus", lambda: 8)
    forked: list[int] = []
    fork = os.fork

    def recorded() -> int:
        pid = fork()
        if pid:
            forked.append(pid)
        return pid

    monkeypatch.setattr(os, "fork", recorded)
    with pytest.raises(RuntimeError), graph.betweenness_running(g, sample=300):
        raise RuntimeError("Leiden failed")
    assert len(forked) == graph.BETWEENNESS_HELPERS
    for pid in forked:
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)


def test_more_chunks_than_a_pipe_holds(monkeypatch: Any) -> None:
    """20,000 chunks (a pipe of their numbers would hold 16,384: filling it before the
    fork blocked for good) all run once, in helpers and here, and add up."""
    import signal

    g = igraph.Graph(n=4, edges=[(0, 1), (1, 2), (2, 3)])
    chunks = [[i % 4] for i in range(20_000)]
    monkeypatch.setattr(graph, "usable_cpus", lambda: 8)

    def blocked(*_: object) -> None:
        raise TimeoutError("the chunks were not all handed out within 30 s")

    previous = signal.signal(signal.SIGALRM, blocked)
    signal.alarm(30)
    try:
        with graph._SharedChunks(g, chunks) as shared:
            total = shared.total()
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    # each source's row is half its dependencies: every source 5,000 times, twice halved
    assert total.tolist() == [x * 5_000 for x in g.betweenness(directed=False)]


def test_communities_are_deterministic_and_find_clusters() -> None:
    g = clustered_graph(400, 4, seed=5)
    first = graph.communities(g)
    assert first == graph.communities(g)
    # most of each planted cluster lands in one community
    by_cluster: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for v, c in enumerate(first):
        by_cluster[v // 100][c] += 1
    purity = sum(max(counts.values()) for counts in by_cluster.values()) / 400
    assert purity > 0.9


def test_simulated_graph(duckdb_context: Context, community: Any) -> None:
    """On the simulated group: PageRank sums to one per group, and the members most
    replied to per message in the truth rank high."""
    results = run_metrics(duckdb_context, ["graph.centrality"])
    rows = [r for r in results["graph.centrality"].to_pylist() if r["group"] != "*"]
    assert abs(sum(r["pagerank"] for r in rows) - 1) < 1e-9
    assert all(r["betweenness_exact"] for r in rows)
    members = {m["id"]: m for m in community.truth["members"]}
    best = max(rows, key=lambda r: r["pagerank"])
    assert members[best["member"].split(":", 1)[1]]["messages"] > 0


@pytest.mark.parametrize(
    "keys",
    [
        [3, 3, 5, 9, 9, 9, 12],
        [9, 3, 12, 3, 5, 9, 9],
        [7],
        [],
        np.random.default_rng(2).integers(0, 300, 2_000).tolist(),
    ],
)
def test_distinct_is_numpy_unique(keys: list[int]) -> None:
    """The one-pass distinct keys of sorted edge keys (and the sort for unsorted ones)."""
    array = np.asarray(keys, dtype=np.int64)
    distinct, which = graph._distinct(array)
    expected, inverse = np.unique(array, return_inverse=True)
    assert distinct.tolist() == expected.tolist()
    assert which.tolist() == inverse.ravel().tolist()


def loosely_clustered_graph(seed: int) -> tuple[igraph.Graph, list[float]]:
    """A random graph with little community structure: Leiden needs many iterations to
    reach its fixed point, each adding a little modularity."""
    rng = random.Random(seed)
    g = igraph.Graph(n=3000)
    pairs = {tuple(sorted(rng.sample(range(3000), 2))) for _ in range(12000)}
    g.add_edges(sorted(pairs))
    return g, [float(rng.randint(1, 4)) for _ in range(g.ecount())]


def partition(labels: list[int]) -> set[frozenset[int]]:
    by_label: dict[int, set[int]] = defaultdict(set)
    for vertex, label in enumerate(labels):
        by_label[label].add(vertex)
    return {frozenset(vs) for vs in by_label.values()}


def test_leiden_without_a_minimum_gain_is_igraphs_fixed_point(monkeypatch: Any) -> None:
    """Iterating one at a time from the partition before is igraph's own loop: with no
    minimum gain, the same partition as ``n_iterations=-1`` on the same seeded stream."""
    g, weights = loosely_clustered_graph(3)
    monkeypatch.setattr(graph, "LEIDEN_MIN_GAIN", 0.0)
    ours = graph.communities(g, np.array(weights))
    igraph.set_random_number_generator(random.Random(graph.SEED))
    try:
        theirs = g.community_leiden(
            objective_function="modularity", weights=weights, n_iterations=-1
        ).membership
    finally:
        igraph.set_random_number_generator(random)
    assert partition(ours) == partition(theirs)


def test_leiden_stops_when_an_iteration_adds_little(monkeypatch: Any) -> None:
    """Every iteration but the last added at least LEIDEN_MIN_GAIN of the modularity, the
    last less (or nothing changed), and the partition returned is the last one."""
    g, weights = loosely_clustered_graph(4)
    seen: list[tuple[float, list[int]]] = []
    leiden = igraph.Graph.community_leiden

    def recorded(self: igraph.Graph, *args: Any, **kwargs: Any) -> Any:
        parts = leiden(self, *args, **kwargs)
        seen.append((parts.modularity, list(parts.membership)))
        return parts

    monkeypatch.setattr(igraph.Graph, "community_leiden", recorded)
    labels = graph.communities(g, np.array(weights))
    quality = [q for q, _ in seen]
    gains = [b - a for a, b in itertools.pairwise(quality)]
    assert len(seen) >= 3  # the fixed point is further: the rule is what stopped it
    earlier = zip(gains[:-1], quality[1:-1], strict=True)
    assert all(gain >= graph.LEIDEN_MIN_GAIN * q for gain, q in earlier)
    assert gains[-1] < graph.LEIDEN_MIN_GAIN * quality[-1] or seen[-1][1] == seen[-2][1]
    assert partition(labels) == partition(seen[-1][1])
    assert g.modularity(labels, weights=weights) == pytest.approx(quality[-1])


def test_leiden_judges_a_pass_by_the_quality_it_returns(monkeypatch: Any) -> None:
    """The stopping rule reads the quality Leiden returns, which is the modularity (to
    rounding), instead of computing the modularity again after every pass."""
    g, weights = loosely_clustered_graph(4)
    igraph.set_random_number_generator(random.Random(graph.SEED))
    try:
        parts = g.community_leiden(objective_function="modularity", weights=weights, n_iterations=1)
    finally:
        igraph.set_random_number_generator(random)
    assert parts.quality == pytest.approx(g.modularity(parts.membership, weights), abs=1e-12)
    computed: list[int] = []
    modularity = igraph.Graph.modularity

    def counted(self: igraph.Graph, *args: Any, **kwargs: Any) -> float:
        computed.append(1)
        return modularity(self, *args, **kwargs)

    monkeypatch.setattr(igraph.Graph, "modularity", counted)
    graph.communities(g, np.array(weights))
    assert not computed


class Pass:
    """What a Leiden pass returns, as the stopping rule reads it."""

    def __init__(self, quality: float, membership: list[int]) -> None:
        self.quality = self.modularity = quality
        self.membership = membership


def test_a_pass_adding_under_one_percent_is_the_last(monkeypatch: Any) -> None:
    """Passes adding 4.8 %, then 0.47 % (the third pass at 1M messages added 0.52 %):
    the third is the last, its partition returned."""
    qualities = iter([0.1000, 0.1050, 0.10550, 0.10580, 0.10600, 0.10601])
    passes: list[Pass] = []

    def leiden(self: igraph.Graph, *args: Any, **kwargs: Any) -> Pass:
        passes.append(Pass(next(qualities), [len(passes) % 2, 1]))
        return passes[-1]

    monkeypatch.setattr(igraph.Graph, "community_leiden", leiden)
    assert graph._leiden_until_settled(igraph.Graph(n=2), "weight") == [0, 1]
    assert len(passes) == 3


HELPERS_THEN_WAIT = """
import os, sys, time
from shequn.analytics.metrics import graph
import igraph

graph.usable_cpus = lambda: 8
g = igraph.Graph.Erdos_Renyi(n=20000, m=200000)  # ≈ 20 s of sources
fork = os.fork
def recorded():
    pid = fork()
    if pid:
        print(pid, flush=True)
    return pid
os.fork = recorded
with graph.betweenness_running(g, sample=4000):
    print("running", flush=True)
    time.sleep(60)
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="reads /proc")
def test_helpers_end_when_the_report_is_killed(tmp_path: Any) -> None:
    """A report killed outright (SIGKILL, the OOM killer, SIGTERM with no handler) while
    helpers run leaves none of them running the rest of the sources."""
    import signal
    import subprocess
    import sys
    import time

    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    proc = subprocess.Popen(
        [sys.executable, "-c", HELPERS_THEN_WAIT], stdout=subprocess.PIPE, text=True, env=env
    )
    assert proc.stdout is not None
    helpers = []
    for line in proc.stdout:
        if line.strip() == "running":
            break
        helpers.append(int(line))
    assert helpers
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    deadline = time.monotonic() + 2
    while any(_alive(pid) for pid in helpers) and time.monotonic() < deadline:
        time.sleep(0.05)
    lingering = [pid for pid in helpers if _alive(pid)]
    for pid in lingering:
        os.kill(pid, signal.SIGKILL)
    assert not lingering


def test_distinct_communities_per_member_table_or_sort(monkeypatch: pytest.MonkeyPatch) -> None:
    """Marking (member, community) pairs in a table counts what sorting the pair keys
    counts (the sort is kept for many communities)."""
    rng = np.random.default_rng(3)
    member = rng.integers(0, 50, 2_000)
    label = rng.integers(0, 7, 2_000)
    pairs = list(zip(member.tolist(), label.tolist(), strict=True))
    expected = [len({c for m, c in pairs if m == v}) for v in range(60)]
    table = graph._distinct_per_member(member, label, 60, 7)
    monkeypatch.setattr(graph, "PAIR_TABLE_MAX", 0)
    sort = graph._distinct_per_member(member, label, 60, 7)
    assert table.tolist() == sort.tolist() == expected


def test_bridged_communities_marked_in_steps_or_sorted(monkeypatch: pytest.MonkeyPatch) -> None:
    """Other communities among each member's partners: marked a few edges at a time,
    or sorted, both what the rule says, written out with sets."""
    rng = np.random.default_rng(4)
    pairs = np.unique(np.sort(rng.integers(0, 70, (900, 2)), axis=1), axis=0)
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    label = rng.integers(0, 6, 70)
    partners: dict[int, set[int]] = defaultdict(set)
    for a, b in pairs.tolist():
        partners[a].add(b)
        partners[b].add(a)
    expected = [len({int(label[p]) for p in partners[v]} - {int(label[v])}) for v in range(70)]
    monkeypatch.setattr(graph, "PAIRS_PER_STEP", 7)
    marked = graph._bridged_communities(pairs, label, 6)
    monkeypatch.setattr(graph, "PAIR_TABLE_MAX", 0)
    sort = graph._bridged_communities(pairs, label, 6)
    assert marked.tolist() == sort.tolist() == expected


def arrays_held(generator: Any) -> list[np.ndarray]:
    """The arrays a suspended generator's frame holds, directly or in an object's
    attributes."""
    held: list[np.ndarray] = []
    for value in generator.gi_frame.f_locals.values():
        for item in [value, *getattr(value, "__dict__", {}).values()]:
            if isinstance(item, np.ndarray):
                held.append(item)
    return held


def test_rows_are_freed_before_the_last_graph_is_measured() -> None:
    """While the caller measures the last graph that had to be built, the generator holds
    none of the encoded rows of every group (≈ 580 MB at 10M messages): only that
    graph's own arrays. Here a one-group community, its group and "*", whose rows come
    sorted by group as the runner orders them, and a two-group one in no order."""
    rng = random.Random(5)
    members = [f"m{i}" for i in range(60)]
    pairs = sorted({tuple(rng.sample(members, 2)) for _ in range(400)})
    rows = [(g, s, t, 1.0, "reply") for g in ("*", "g") for s, t in pairs]
    one_group = graph.group_graphs(edge_table(rows))
    group, _, measured = next(one_group)
    assert (group, measured is not None) == ("*", True)
    assert all(len(a) < len(rows) for a in arrays_held(one_group))
    assert [(g, built) for g, _, built in one_group] == [("g", None)]

    mixed = [(rng.choice("gh"), s, t, 1.0, "reply") for s, t in pairs]
    rng.shuffle(mixed)
    two_groups = graph.group_graphs(edge_table(mixed))
    first = next(two_groups)
    assert first[0] == "g"
    assert any(len(a) == len(mixed) for a in arrays_held(two_groups))  # h still to build
    assert next(two_groups)[0] == "h"
    assert all(len(a) < len(mixed) for a in arrays_held(two_groups))


def test_strengths_are_igraphs_to_the_bit(monkeypatch: pytest.MonkeyPatch) -> None:
    """The weights received and given, added with NumPy from the edge arrays, are
    igraph's ``strength`` of the directed graph PageRank ran on to the last bit (the
    same additions in the same order), with weights whose sums depend on their order
    and several kinds per pair."""
    seen: list[tuple[igraph.Graph, list[float]]] = []
    pagerank = graph._pagerank

    def keep(directed: igraph.Graph, weights: np.ndarray) -> np.ndarray:
        seen.append((directed, weights.tolist()))
        return pagerank(directed, weights)

    monkeypatch.setattr(graph, "_pagerank", keep)
    rng = random.Random(11)
    members = [f"m{i}" for i in range(80)]
    rows = [
        ("g", *rng.sample(members, 2), rng.random() * rng.choice([1e-3, 1.0, 1e3]), kind)
        for _ in range(3000)
        for kind in rng.sample(["reply", "mention", "inferred"], rng.randint(1, 2))
    ]
    g = graph.build_graphs(edge_table(rows))["g"]
    [(directed, weights)] = seen
    assert g.in_weights.tolist() == directed.strength(mode="in", weights=weights)
    assert g.out_weights.tolist() == directed.strength(mode="out", weights=weights)


def test_no_directed_graph_is_held_through_leiden(monkeypatch: pytest.MonkeyPatch) -> None:
    """The directed graph serves PageRank and is freed when the group's graph is built:
    while Leiden runs, no directed igraph graph is alive (ten million edges at 10M
    messages)."""
    directed_alive: list[int] = []
    communities = graph.communities

    def counting(g: igraph.Graph, weights: Any = "weight") -> list[int]:
        gc.collect()
        directed_alive.append(
            sum(1 for o in gc.get_objects() if isinstance(o, igraph.Graph) and o.is_directed())
        )
        return communities(g, weights)

    monkeypatch.setattr(graph, "communities", counting)
    table = graph.centrality(None, {"conversation.edges": edge_table(EDGES)})
    assert table.num_rows == 8  # g's six members, h's two
    assert directed_alive == [0, 0]


def random_edges(n: int, m: int, seed: int, *, directed: bool) -> tuple[np.ndarray, np.ndarray]:
    """Distinct edges without self-loops, sorted by (source, target); undirected ones as
    (lower, higher), as :func:`graph._directed_edges` and :func:`graph._group_graph`
    hand them to :func:`graph._graph`."""
    rng = np.random.default_rng(seed)
    source, target = rng.integers(0, n, m), rng.integers(0, n, m)
    if not directed:
        source, target = np.minimum(source, target), np.maximum(source, target)
    keys = np.unique((source * n + target)[source != target])
    return keys // n, keys % n


@pytest.mark.parametrize("directed", [True, False])
def test_graphdb_route_builds_the_graph_add_edges_builds(
    monkeypatch: pytest.MonkeyPatch, directed: bool
) -> None:
    """Edges in order of their source on at most 65,535 vertices reach igraph through a
    GraphDB file, never as Python pairs: the same vertices, the same edges with the same
    numbers, isolated vertices included (the last ones too)."""
    source, target = random_edges(3000, 40_000, seed=5, directed=directed)
    n = 3010  # ten vertices without an edge
    expected = igraph.Graph(
        n=n, edges=list(zip(source.tolist(), target.tolist(), strict=True)), directed=directed
    )

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("edges handed over as Python pairs")

    monkeypatch.setattr(igraph.Graph, "add_edges", refuse)
    built = graph._graph(n, source, target, directed=directed)
    assert (built.vcount(), built.is_directed()) == (n, directed)
    assert built.get_edgelist() == expected.get_edgelist()


@pytest.mark.parametrize("directed", [True, False])
def test_graphs_graphdb_cannot_hold_are_built_from_pairs(
    monkeypatch: pytest.MonkeyPatch, directed: bool
) -> None:
    """Too many vertices for 16-bit words, or edges not in order of their source: the
    edges go in as pairs, in their order."""
    source, target = random_edges(500, 4000, seed=9, directed=directed)
    shuffled = np.random.default_rng(1).permutation(len(source))
    cases = [
        (source, target, 499),
        (source[shuffled], target[shuffled], 0xFFFF),
    ]
    for s, t, largest in cases:
        monkeypatch.setattr(graph, "GRAPHDB_MAX_VERTICES", largest)
        assert not graph._graphdb_fits(500, s)
        built = graph._graph(500, s, t, directed=directed)
        pairs = list(zip(s.tolist(), t.tolist(), strict=True))
        assert (
            built.get_edgelist()
            == igraph.Graph(n=500, edges=pairs, directed=directed).get_edgelist()
        )
    assert graph._graphdb_fits(500, source)


def test_centrality_is_the_same_through_graphdb(monkeypatch: pytest.MonkeyPatch) -> None:
    """The whole metric, its graphs read from GraphDB files or built from pairs: every
    column equal (Leiden and the sampled betweenness see the same graphs), PageRank
    within its run-to-run noise."""
    rng = random.Random(3)
    members = [f"m{i:04d}" for i in range(2500)]
    rows = [
        (group, *rng.sample(members, 2), rng.choice([0.5, 1.0, 2.0]), kind)
        for group in ("g", "h")
        for _ in range(12_000)
        for kind in rng.sample(["reply", "mention", "inferred"], rng.randint(1, 2))
    ]
    edges = edge_table(rows)
    through_graphdb = graph.centrality(None, {"conversation.edges": edges})
    monkeypatch.setattr(graph, "GRAPHDB_MAX_VERTICES", 0)
    from_pairs = graph.centrality(None, {"conversation.edges": edges})
    assert through_graphdb.num_rows > 4000
    assert through_graphdb.drop(["pagerank"]).equals(from_pairs.drop(["pagerank"]))
    # PRPACK differs between runs on the same graph in the last bits (≈ 1e-12 here)
    rank, again = through_graphdb["pagerank"].to_numpy(), from_pairs["pagerank"].to_numpy()
    np.testing.assert_allclose(rank, again, rtol=1e-9, atol=0)


def test_edges_dictionary_encoded_in_one_chunk_or_many() -> None:
    """conversation.edges as the runner returns it (its strings dictionary-encoded, one
    chunk, read as it is), in chunks with dictionaries of their own, or as plain strings:
    the same graphs, every column equal but PageRank's last bits."""
    rng = random.Random(8)
    members = [f"m{i:03d}" for i in range(300)]
    rows = [
        (rng.choice("gh"), *rng.sample(members, 2), rng.choice([0.5, 1.0, 2.0]), "reply")
        for _ in range(3000)
    ]
    plain = edge_table(rows)
    strings = ["group", "source", "target", "kind"]

    one_chunk = pa.table(
        {
            name: pa.chunked_array([pc.dictionary_encode(plain[name].combine_chunks())])
            if name in strings
            else plain[name]
            for name in plain.column_names
        }
    )
    many = pa.concat_tables(
        [
            pa.table(
                {
                    name: pc.dictionary_encode(part[name]) if name in strings else part[name]
                    for name in part.column_names
                }
            )
            for part in (plain.slice(0, 1000), plain.slice(1000, 1500), plain.slice(2500))
        ]
    )
    assert one_chunk["source"].num_chunks == 1 and many["source"].num_chunks == 3
    assert len(many["source"].chunk(0).dictionary) != len(many["source"].chunk(1).dictionary)
    tables = [graph.centrality(None, {"conversation.edges": t}) for t in (plain, one_chunk, many)]
    for table in tables[1:]:
        assert table.drop(["pagerank"]).equals(tables[0].drop(["pagerank"]))
        np.testing.assert_allclose(
            table["pagerank"].to_numpy(), tables[0]["pagerank"].to_numpy(), rtol=1e-9, atol=0
        )


def test_graphdb_without_memfd_uses_a_temporary_file(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where memfd is refused (or missing), the GraphDB file is an unnamed temporary file:
    the same graph."""
    source, target = random_edges(200, 1500, seed=4, directed=True)

    def refused(*args: Any) -> int:
        raise OSError("memfd refused")

    monkeypatch.setattr(os, "memfd_create", refused, raising=False)
    built = graph._graph(200, source, target, directed=True)
    pairs = list(zip(source.tolist(), target.tolist(), strict=True))
    assert built.get_edgelist() == igraph.Graph(n=200, edges=pairs, directed=True).get_edgelist()
