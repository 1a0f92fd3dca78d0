"""The interaction graph: influence (PageRank), bridges (betweenness) and clusters (Leiden).

Built with python-igraph from ``conversation.edges`` (a small table: one row per pair of
members and kind), per group and for the whole community (group ``*``). Vertices are
sorted by member key and edges by (source, target) before igraph sees them, and every
random step uses :data:`SEED`, so the same edges give the same numbers on every engine.
"""

from __future__ import annotations

import hashlib
import itertools
import mmap
import os
import random
import signal
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import BinaryIO, Final

import igraph
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from shequn.analytics.background import fork_child, openmp_threads, usable_cpus
from shequn.analytics.context import Context
from shequn.analytics.registry import derived

#: PageRank's damping factor (the usual 0.85)
DAMPING: Final = 0.85
#: exact betweenness up to this many vertices; above it, estimated from sampled sources
EXACT_BETWEENNESS_MAX: Final = 2000
#: source vertices sampled for the estimate (Brandes & Pich 2007: sum the dependencies of
#: k random sources, scale by n / k; unbiased, error shrinks like 1 / sqrt(k)), at most
BETWEENNESS_SAMPLE: Final = 500
#: ... and fewer on a large graph: a source costs a breadth-first search over every edge,
#: so the sample is held to this many (sources × undirected edges), but never under
#: :data:`BETWEENNESS_MIN_SAMPLE`. 500 sources up to 200,000 edges; from a million
#: edges (1M messages, 100,000 members) 100, as at 10M: 4.2 s CPU there instead of 10.2
#: at 234 (250,000,000 until grf9): the top-30's mean relative error rises from 0.19 to
#: 0.30, but the connector flags agree with a 2,000-source reference's as well (1,197
#: and 1,260 of its 2,038 found; 339 and 384 flagged that it does not flag): that
#: threshold sits where any of these samples is noise (bench/RESULTS-grf9.md)
BETWEENNESS_WORK: Final = 100_000_000
BETWEENNESS_MIN_SAMPLE: Final = 100
#: sampled sources run this many to an igraph call (each call builds the graph's
#: incidence list first: ≈ 30 ms at a million edges, the cost of half a source)
BETWEENNESS_CHUNK: Final = 25
#: forked helper processes that run sampled sources while this process runs PageRank and
#: Leiden, at most (one fewer than the usable CPUs); the chunks' sums are added in chunk
#: order whoever ran them, so the numbers do not depend on how many helpers there were
BETWEENNESS_HELPERS: Final = 3
#: edges handed to igraph as Python ints this many at a time (:func:`_graph`)
EDGES_PER_LIST: Final = 1 << 16
#: graphs of at most this many vertices (and edges in order of their source) are handed
#: to igraph as a GraphDB file, whose words are 16 bits (:func:`_graphdb_graph`)
GRAPHDB_MAX_VERTICES: Final = 0xFFFF
#: seed of every random step (sampling, Leiden)
SEED: Final = 20240101
#: Leiden resolution (1.0: plain modularity)
RESOLUTION: Final = 1.0
#: Leiden stops once an iteration raises the partition's modularity by less than this
#: share of it, or changes nothing (the fixed point, where it used to stop). At 100,000
#: members and 1M messages the passes add 4.6 %, 0.52 %, 0.28 %, 0.15 % …: this rule
#: stops after the third (0.43 % under the fifth, where 2e-3 stopped; three seeds' 25th
#: passes lie 0.85 % apart, and their partitions share almost nothing), at 10M messages
#: after the second of three (0.03 % under); neither moves a connector
#: (bench/RESULTS-grf9.md; 2e-3 until then, 3e-4 before grf5)
LEIDEN_MIN_GAIN: Final = 1e-2

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
    """One group's graph: vertices (sorted member keys), the undirected interaction
    graph, and what the weighted directed graph gave when it was built (PageRank and
    strengths): it is freed then, not kept through Leiden and the betweenness (≈ 410 MB
    with its weights at ten million edges)."""

    members: list[str]
    undirected: igraph.Graph
    #: digest of the vertices and weighted directed edges: equal digests, equal graphs
    digest: bytes = b""
    #: the undirected edges as (lower, higher) vertex numbers, one row each
    pairs: np.ndarray = field(default_factory=lambda: np.empty((0, 2), dtype=np.int64))
    #: each undirected edge's weight, in edge order: passed to igraph per call, not
    #: stored as edge attributes (a Python float per edge: ten million edges at 10M
    #: messages)
    undirected_weights: np.ndarray = field(default_factory=lambda: np.empty(0))
    #: each vertex's PageRank in the directed graph
    pagerank: np.ndarray = field(default_factory=lambda: np.empty(0))
    #: each vertex's weight received and given (igraph's strength, "in" and "out")
    in_weights: np.ndarray = field(default_factory=lambda: np.empty(0))
    out_weights: np.ndarray = field(default_factory=lambda: np.empty(0))


def build_graphs(edges: pa.Table) -> dict[str, GroupGraph]:
    """Per group, PageRank and strengths of the directed graph (source → target, weights
    summed over kinds) and its undirected interaction graph (one edge per pair that
    interacted, weights summed).

    Vertices are the sorted member keys; directed edges are sorted by (source, target),
    undirected ones by their (lower, higher) vertex numbers. Built with Arrow and NumPy
    (an edge table has a row per pair and kind: about a million at 1M messages).
    """
    graphs: dict[str, GroupGraph] = {}
    first: dict[bytes, str] = {}
    for group, digest, graph in group_graphs(edges):
        if graph is None:
            graphs[group] = graphs[first[digest]]
        else:
            graphs[group], first[digest] = graph, group
    return graphs


def group_graphs(edges: pa.Table) -> Iterator[tuple[str, bytes, GroupGraph | None]]:
    """(group, digest, graph) for each group in key order, as :func:`build_graphs`
    builds them, but one at a time: the graph is None when an earlier group's had the
    same vertices and edges (a one-group community: the group and "*"). Nothing of a
    graph is kept here once it is handed over, so it is freed when the caller lets go
    of it, before the next group's is built (at 10M messages each has ten million
    edges); nor are the encoded rows of every group once the last graph that needs
    them is worked out."""
    by_place, groups, rows = _encoded_rows(edges)
    # the digest of each group's rows as they came: a group with the same rows (a
    # one-group community: the group and "*") has the same graph, known without working
    # out its edges again (≈ 0.3 s at a million rows; hashing them, 0.03). Taken for
    # every group first, so that the last group whose graph is worked out is known
    raw = {code: _rows_digest(*rows.select(code)) for code, _ in groups}
    last_to_build = _last_first_seen(raw)
    from_rows: dict[bytes, bytes] = {}
    built: set[bytes] = set()
    for code, group in groups:
        if raw[code] in from_rows:
            yield group, from_rows[raw[code]], None
            continue
        sources, targets, weights = rows.select(code)
        if code == last_to_build:
            # no group after this one reads them: every group's rows (≈ 580 MB at 10M
            # messages) are freed once this group's edges are worked out, not kept
            # while the caller measures its graph
            rows.release()
        members, digest, edge_arrays = _directed_edges(sources, targets, weights, by_place)
        del sources, targets, weights
        from_rows[raw[code]] = digest
        if digest in built:
            # the same vertices and edges (one group, and "*" for a one-group community)
            del edge_arrays
            yield group, digest, None
            continue
        built.add(digest)
        graph = _group_graph(members, digest, *edge_arrays)
        del edge_arrays
        yield group, digest, graph
        del graph


def _last_first_seen(digests: Mapping[int, bytes]) -> int | None:
    """The last key (in the mapping's order) whose digest no earlier key had."""
    seen: set[bytes] = set()
    last = None
    for key, digest in digests.items():
        if digest not in seen:
            seen.add(digest)
            last = key
    return last


@dataclass
class _EdgeRows:
    """Every group's edge rows, self-loops dropped: both ends as places in the sorted
    member keys, the weight, and the group's code."""

    sources: np.ndarray
    targets: np.ndarray
    weights: np.ndarray
    group_codes: np.ndarray
    #: each group's rows as one slice, when every group's rows are one run (the runner
    #: sorts conversation.edges by group first); else None
    runs: dict[int, slice] | None

    def select(self, code: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One group's sources, targets and weights, in row order: views of its run,
        else copies."""
        rows = self.group_codes == code if self.runs is None else self.runs[code]
        return self.sources[rows], self.targets[rows], self.weights[rows]

    def release(self) -> None:
        """Let go of every row (views handed out keep theirs)."""
        empty = np.empty(0, dtype=np.int64)
        self.sources = self.targets = self.group_codes = empty
        self.weights = np.empty(0)


def _runs(codes: np.ndarray) -> dict[int, slice] | None:
    """Each code's rows as one slice, if every code's rows are one run; else None."""
    if len(codes) == 0:
        return {}
    starts = np.flatnonzero(np.concatenate(([True], codes[1:] != codes[:-1])))
    firsts = codes[starts].tolist()
    if len(set(firsts)) < len(firsts):
        return None
    ends = [*starts[1:].tolist(), len(codes)]
    return {
        code: slice(start, end)
        for code, start, end in zip(firsts, starts.tolist(), ends, strict=True)
    }


def _encoded_rows(edges: pa.Table) -> tuple[list[str], list[tuple[int, str]], _EdgeRows]:
    """The sorted member keys, the groups that have an edge (code and key, by key), and
    the rows (see :class:`_EdgeRows`)."""
    # sources and targets encoded apart (concatenating a million strings costs more
    # than hashing them), then put on one list of member keys in sorted order: each
    # group's vertices keep that order. Self-loops are dropped on the numbers, not by
    # filtering the table (a copy of ten million rows of strings at 10M messages)
    source_keys, source_codes = _encoded(edges["source"])
    target_keys, target_codes = _encoded(edges["target"])
    by_place = sorted(set(source_keys) | set(target_keys))
    place = {key: i for i, key in enumerate(by_place)}
    all_sources = np.array([place[k] for k in source_keys], dtype=np.int64)[source_codes]
    all_targets = np.array([place[k] for k in target_keys], dtype=np.int64)[target_codes]
    del source_codes, target_codes
    loop = all_sources == all_targets
    groups = _dictionary_chunk(edges["group"])
    if groups is None:
        groups = pc.dictionary_encode(edges["group"].combine_chunks())
    group_codes = groups.indices.to_numpy(zero_copy_only=False)
    all_weights = edges["weight"].to_numpy()
    if loop.any():
        keep = ~loop
        all_sources, all_targets = all_sources[keep], all_targets[keep]
        group_codes, all_weights = group_codes[keep], all_weights[keep]
    del loop
    present = set(np.unique(group_codes).tolist())  # a group of self-loops only has none
    by_key = sorted(enumerate(groups.dictionary.to_pylist()), key=lambda c: c[1])
    in_order = [(code, group) for code, group in by_key if code in present]
    rows = _EdgeRows(all_sources, all_targets, all_weights, group_codes, _runs(group_codes))
    return by_place, in_order, rows


def _rows_digest(*columns: np.ndarray) -> bytes:
    """sha256 of the arrays' bytes, read in place (a copy of each would be 80 MB at 10M
    messages, and a loop variable in the generator above would keep the last one alive
    while the caller measures the graph)."""
    raw = hashlib.sha256()
    for column in columns:
        raw.update(np.ascontiguousarray(column).data)
    return raw.digest()


def _directed_edges(
    sources: np.ndarray, targets: np.ndarray, weights: np.ndarray, by_place: list[str]
) -> tuple[list[str], bytes, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """One group's vertices (member keys), digest and directed edges (source, target,
    weight; one per pair, weights summed over kinds, sorted by both ends)."""
    # the vertices are the places used, in order; each end's vertex number is its place's
    # rank among them (what np.unique would give, without sorting ten million ends)
    used = np.zeros(len(by_place), dtype=bool)
    used[sources] = True
    used[targets] = True
    vertices = np.flatnonzero(used)
    number = np.cumsum(used, dtype=np.int64) - 1
    del used
    n = len(vertices)
    keys = number[sources] * n + number[targets]
    del number
    pair_keys, which = _distinct(keys)
    del keys
    weight = np.bincount(which, weights=weights, minlength=len(pair_keys))
    source, target = np.divmod(pair_keys, n)
    members = [by_place[v] for v in vertices]
    digest = hashlib.sha256("\0".join(members).encode())
    # the arrays' bytes read in place (each a copy of 80 MB at ten million edges, twice
    # until grf10): the same bytes, the same digest
    for array in (source, target, weight):
        digest.update(np.ascontiguousarray(array).data)
    return members, digest.digest(), (source, target, weight)


def _distinct(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(keys, return_inverse=True)``; in one pass when the keys are already in
    order, as the runner sorts conversation.edges (by group, source, target, kind), else
    through a stable sort (timsort, which finds the runs an edge list's keys come in:
    the undirected keys of ten million directed edges in ≈ 1.2 s, ``np.unique`` 2.1)."""
    if len(keys) and bool(np.all(keys[1:] >= keys[:-1])):
        return _distinct_sorted(keys)
    order = np.argsort(keys, kind="stable")
    distinct, which_sorted = _distinct_sorted(keys[order])
    which = np.empty(len(keys), dtype=np.int64)
    which[order] = which_sorted
    return distinct, which


def _distinct_sorted(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_distinct` of keys in order: each run of equal keys once, and each key's run."""
    starts = np.empty(len(keys), dtype=bool)
    starts[:1] = True
    np.not_equal(keys[1:], keys[:-1], out=starts[1:])
    return keys[starts], np.cumsum(starts, dtype=np.int64) - 1


def _group_graph(
    members: list[str], digest: bytes, source: np.ndarray, target: np.ndarray, weight: np.ndarray
) -> GroupGraph:
    """PageRank and strengths of the directed graph of these edges, and its undirected
    interaction graph."""
    n = len(members)
    rank = _pagerank(_graph(n, source, target, directed=True), weight)
    low, high = np.minimum(source, target), np.maximum(source, target)
    pairs, which = _distinct(low * n + high)
    del low, high
    both = np.bincount(which, weights=weight, minlength=len(pairs))
    # both ends written in place into the (lower, higher) rows (a column stack and its
    # copy of 160 MB each at ten million edges until grf10)
    ends = np.empty((len(pairs), 2), dtype=np.int64)
    np.divmod(pairs, n, out=(ends[:, 0], ends[:, 1]))
    undirected = _graph(n, ends[:, 0], ends[:, 1], directed=False)
    # a vertex's strength, added in edge order as igraph adds it (the same sums to the
    # bit), from the arrays at hand: igraph's ``strength`` wants the weights as a list of
    # Python floats, ≈ 330 MB at ten million edges, made at the metric's peak
    received = np.bincount(target, weights=weight, minlength=n)
    given = np.bincount(source, weights=weight, minlength=n)
    return GroupGraph(members, undirected, digest, ends, both, rank, received, given)


def _pagerank(directed: igraph.Graph, weights: np.ndarray) -> np.ndarray:
    """PageRank of the weighted directed graph (a list of the weights made for the call:
    igraph's PageRank takes no array), on one thread: the same floats in every process
    (see :func:`openmp_threads`)."""
    listed = weights.tolist()
    with openmp_threads(1):
        rank = directed.pagerank(directed=True, damping=DAMPING, weights=listed)
    return np.asarray(rank, dtype=np.float64)


def _encoded(column: pa.ChunkedArray) -> tuple[list[str], np.ndarray]:
    """A string column's distinct values and each row's index into them."""
    encoded = _dictionary_chunk(column)
    if encoded is None:
        encoded = pc.dictionary_encode(column).combine_chunks()
    return encoded.dictionary.to_pylist(), encoded.indices.to_numpy(zero_copy_only=False)


def _dictionary_chunk(column: pa.ChunkedArray) -> pa.DictionaryArray | None:
    """A dictionary-encoded column's only chunk, as it is (conversation.edges as the
    runner returns it): encoding it again and combining its one chunk would only copy
    its indices (80 MB at ten million rows). None for any other column."""
    if pa.types.is_dictionary(column.type) and column.num_chunks == 1:
        only: pa.DictionaryArray = column.chunk(0)
        return only
    return None


def _graph(n: int, source: np.ndarray, target: np.ndarray, *, directed: bool) -> igraph.Graph:
    """A graph of ``n`` vertices with edges in the given order.

    igraph (its abi3 wheel) reads an edge list item by item whatever it is given: a
    NumPy array costs a row view and two NumPy scalars per edge, pairs of Python ints
    half that (0.6 -> 0.3 s a million edges), so the ends go in as ints, made from the
    arrays :data:`EDGES_PER_LIST` at a time (lists of every edge would be ≈ 0.7 GB at
    ten million edges). Edges in order of their source on a graph of at most
    :data:`GRAPHDB_MAX_VERTICES` vertices go in through a GraphDB file instead
    (:func:`_graphdb_graph`): the same graph, read by igraph's C without a Python object
    per edge."""
    if _graphdb_fits(n, source):
        return _graphdb_graph(n, source, target, directed=directed)
    graph = igraph.Graph(n=n, directed=directed)
    step = EDGES_PER_LIST
    graph.add_edges(
        itertools.chain.from_iterable(
            zip(source[i : i + step].tolist(), target[i : i + step].tolist(), strict=True)
            for i in range(0, len(source), step)
        )
    )
    return graph


def _graphdb_fits(n: int, source: np.ndarray) -> bool:
    """Whether GraphDB can hold these edges as they are: every vertex number and every
    vertex's edge count in a 16-bit word, the edges in order of their source."""
    if not 0 < n <= GRAPHDB_MAX_VERTICES or len(source) == 0:
        return False
    if not bool(np.all(source[1:] >= source[:-1])):
        return False
    return int(np.bincount(source, minlength=n).max()) <= GRAPHDB_MAX_VERTICES


def _graphdb_graph(
    n: int, source: np.ndarray, target: np.ndarray, *, directed: bool
) -> igraph.Graph:
    """:func:`_graph` read from a GraphDB file (igraph's ``Read_GraphDB``: 16-bit
    little-endian words; the vertex count, then for each vertex in turn its edge count
    and its edges' other ends, each such (vertex, end) an edge in file order, so edges
    sorted by source keep their order and their numbers). Written to an anonymous file
    (memfd on Linux), ≈ 2 bytes an edge: 20 MB at ten million edges."""
    counts = np.bincount(source, minlength=n)
    words = np.empty(1 + n + len(source), dtype="<u2")
    words[0] = n
    # vertex v's block starts after the header, v earlier counts and their edges
    words[np.arange(1, n + 1) + (np.cumsum(counts) - counts)] = counts
    del counts
    # edge e of source s follows the header, s + 1 counts and the e edges before it
    place = np.arange(2, len(source) + 2, dtype=np.int64)
    place += source
    words[place] = target
    del place
    with _anonymous_file() as file:
        file.write(words.data)
        del words
        file.flush()
        file.seek(0)
        graph: igraph.Graph = igraph.Graph.Read_GraphDB(file, directed=directed)
    return graph


@contextmanager
def _anonymous_file() -> Iterator[BinaryIO]:
    """A file with no name, read and written in binary: memfd on Linux (in memory, never
    on disk), else a temporary file, gone when closed."""
    try:
        descriptor = os.memfd_create("shequn-graphdb", os.MFD_CLOEXEC)
    except (AttributeError, OSError):  # not Linux, or memfd refused (a sandbox)
        with tempfile.TemporaryFile(prefix="shequn-graphdb-") as file:
            yield file
        return
    with open(descriptor, "w+b") as file:
        yield file


def betweenness(graph: igraph.Graph, sample: int | None = None) -> tuple[list[float], bool]:
    """Unweighted betweenness of an undirected graph, normalised to [0, 1] by the
    (n-1)(n-2)/2 pairs; exact up to :data:`EXACT_BETWEENNESS_MAX` vertices, else
    estimated from ``sample`` (default :func:`sample_size`) random source vertices
    (seeded), scaled by n / k. Returns the values and whether they are exact."""
    with betweenness_running(graph, sample) as finished:
        values, exact = finished()
    return values.tolist(), exact


def sample_size(n: int, edges: int) -> int:
    """Sampled sources for a graph of ``n`` vertices and ``edges`` undirected edges:
    :data:`BETWEENNESS_SAMPLE`, fewer when sources × edges would pass
    :data:`BETWEENNESS_WORK`, never under :data:`BETWEENNESS_MIN_SAMPLE` (nor over n)."""
    bounded = BETWEENNESS_WORK // max(edges, 1)
    return min(n, BETWEENNESS_SAMPLE, max(BETWEENNESS_MIN_SAMPLE, bounded))


@contextmanager
def betweenness_running(
    graph: igraph.Graph, sample: int | None = None
) -> Iterator[Callable[[], tuple[np.ndarray, bool]]]:
    """:func:`betweenness`, started in forked helper processes while the ``with`` body
    runs (PageRank and Leiden, on the other cores); the function it yields finishes it,
    this process running the sources the helpers have not started, and returns
    :func:`betweenness`'s values (an array) and whether they are exact. Helpers still
    running when the body raises are killed.
    """
    n = graph.vcount()
    pairs = (n - 1) * (n - 2) / 2
    if n < 3:
        yield lambda: (np.zeros(n), True)
        return
    if n <= EXACT_BETWEENNESS_MAX and sample is None:
        values = np.asarray(graph.betweenness(directed=False), dtype=np.float64) / pairs
        yield lambda: (values, True)
        return
    k = min(sample_size(n, graph.ecount()) if sample is None else sample, n)
    sources = sorted(random.Random(SEED).sample(range(n), k))
    chunks = [sources[i : i + BETWEENNESS_CHUNK] for i in range(0, k, BETWEENNESS_CHUNK)]
    # igraph sums the dependencies of the paths from the k sources (with all sources it
    # equals the exact value): each source is drawn with probability k / n, so n / k
    # scales the sum to an unbiased estimate
    scale = n / k / pairs
    with _SharedChunks(graph, chunks) as shared:
        yield lambda: (shared.total() * scale, k == n)


class _SharedChunks:
    """The dependency sums of chunks of sources, one row per chunk in a shared anonymous
    memory map, run by forked helpers and by this process alike: each takes the next
    chunk number from a file of them written before the fork (see :func:`_claims`), so
    every chunk runs once; :meth:`total` adds the rows in chunk order."""

    def __init__(self, graph: igraph.Graph, chunks: Sequence[Sequence[int]]) -> None:
        self.graph, self.chunks = graph, chunks
        self.n = graph.vcount()
        self.rows = mmap.mmap(-1, max(1, len(chunks) * self.n * 8))
        self.done = mmap.mmap(-1, max(1, len(chunks)))
        self.queue = _claims(len(chunks))
        self.helpers: list[int] = []

    def __enter__(self) -> _SharedChunks:
        helpers = min(BETWEENNESS_HELPERS, usable_cpus() - 1, len(self.chunks) - 1)
        if not hasattr(os, "fork"):
            helpers = 0
        for _ in range(max(0, helpers)):
            self.helpers.append(fork_child(self._run))
        return self

    def __exit__(self, *exc: object) -> None:
        for pid in self.helpers:  # only when the body raised: total() reaps them
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
        self.helpers = []
        os.close(self.queue)
        self.rows.close()
        self.done.close()

    def _row(self, i: int) -> np.ndarray:
        return np.frombuffer(self.rows, dtype=np.float64, count=self.n, offset=i * self.n * 8)

    def _compute(self, i: int) -> None:
        values = self.graph.betweenness(directed=False, sources=self.chunks[i])
        self._row(i)[:] = values
        self.done[i] = 1

    def _run(self) -> None:
        while claim := os.read(self.queue, 4):
            self._compute(int.from_bytes(claim, "little"))

    def total(self) -> np.ndarray:
        """The sum of every chunk's dependencies, this process running what is left."""
        self._run()
        for pid in self.helpers:
            os.waitpid(pid, 0)
        self.helpers = []
        total = np.zeros(self.n)
        for i in range(len(self.chunks)):
            if not self.done[i]:  # a helper died with it: run it here
                self._compute(i)
            total += self._row(i)
        return total


def _claims(count: int) -> int:
    """A descriptor of an unnamed file of the chunk numbers 0 … count − 1, 4 bytes each,
    at its start: forked processes share its offset, and the kernel moves it under a
    lock for each ``read`` (Linux: a regular file's position), so each 4-byte read claims
    a chunk no one else gets. Any number of chunks: a pipe filled before the fork blocked
    the filler for good past its buffer (64 KiB: 16,384 chunks)."""
    fd, path = tempfile.mkstemp(prefix="shequn-chunks-")
    try:
        os.unlink(path)
        left = memoryview(b"".join(i.to_bytes(4, "little") for i in range(count)))
        while left:
            left = left[os.write(fd, left) :]
        os.lseek(fd, 0, os.SEEK_SET)
    except BaseException:
        os.close(fd)
        raise
    return fd


def communities(graph: igraph.Graph, weights: str | np.ndarray = "weight") -> list[int]:
    """Leiden communities (modularity, weighted by ``weights``: an edge attribute or one
    value per edge), deterministic: seeded, numbered by size (largest 0) then by their
    smallest vertex.

    One Leiden iteration at a time, each starting from the partition before it and
    drawing from the same seeded stream (the iterations igraph's own loop would run,
    partition for partition), until an iteration adds less than
    :data:`LEIDEN_MIN_GAIN` of the modularity or changes nothing.
    """
    if graph.vcount() == 0:
        return []
    state = random.getstate()
    igraph.set_random_number_generator(random.Random(SEED))
    try:
        membership = _leiden_until_settled(graph, _leiden_weights(weights))
    finally:
        igraph.set_random_number_generator(random)
        random.setstate(state)
    members: dict[int, list[int]] = defaultdict(list)
    for vertex, label in enumerate(membership):
        members[label].append(vertex)
    order = sorted(members, key=lambda label: (-len(members[label]), members[label][0]))
    renumber = {label: i for i, label in enumerate(order)}
    return [renumber[label] for label in membership]


def _leiden_weights(weights: str | np.ndarray) -> str | np.ndarray:
    """The weights as Leiden takes them: an attribute name, or the values as an array of
    floats, which igraph reads item by item into its own vector for each call (within
    the noise of a list's time at 1M: a list would hold a Python float per edge, ≈ 310 MB
    at ten million edges, through every iteration)."""
    return weights if isinstance(weights, str) else np.ascontiguousarray(weights, np.float64)


def _leiden_until_settled(graph: igraph.Graph, weights: str | np.ndarray) -> list[int]:
    """The partition after the last Leiden iteration that was worth its pass (see
    :func:`communities`); igraph's random stream must be set by the caller.

    Each pass is judged by the quality Leiden returns, which for this objective is the
    partition's modularity (within 1e-16 on the 1M and 10M graphs), not by the clustering's
    ``modularity``: that computes it again, the weights read item by item into igraph's
    vector first (0.42 s a pass at ten million edges, 0.05 at a million)."""
    membership: list[int] | None = None
    quality = 0.0
    while True:
        parts = graph.community_leiden(
            objective_function="modularity",
            weights=weights,
            resolution=RESOLUTION,
            n_iterations=1,
            initial_membership=membership,
        )
        reached = float(parts.quality)
        if membership is not None:
            gained = reached - quality
            if gained < 0:  # never worse than the partition it started from
                return membership
            if parts.membership == membership or gained < LEIDEN_MIN_GAIN * reached:
                return list(parts.membership)
        membership, quality = parts.membership, reached


@derived(
    "graph.centrality",
    "Influence and bridges in the interaction graph",
    "Per member of the interaction graph (conversation.edges, weights summed over "
    f"kinds): PageRank on the weighted directed graph (damping {DAMPING}; a member scores "
    "high when members who are themselves answered reply to or mention them); "
    "betweenness on the undirected interaction graph, normalised to 0–1 (the share of "
    "shortest paths between two other members that pass through them — exact up to "
    f"{EXACT_BETWEENNESS_MAX} members, above that estimated from {BETWEENNESS_SAMPLE} "
    "randomly sampled source members with a fixed seed, fewer on large graphs (sources "
    f"× undirected edges at most {BETWEENNESS_WORK:,}, at least {BETWEENNESS_MIN_SAMPLE} "
    "sources: 100 from a million edges, top-30 mean relative error ≈ 0.3); "
    "betweenness_exact says which); "
    "the Leiden community (modularity, fixed seed, iterated until an iteration adds less "
    f"than {LEIDEN_MIN_GAIN:g} of the modularity; 0 is the largest) and its size; "
    "bridged_communities: how many other communities the member's partners belong to; "
    "weights received (in) and given (out); partners: members interacted with.",
    ("conversation.edges",),
    ("group", "member"),
    background=True,
)
def centrality(ctx: Context, results: Mapping[str, pa.Table]) -> pa.Table:
    tables: list[pa.Table] = []
    # a community of one group has the same graph for the group and for "*": measured once
    measured: dict[bytes, dict[str, pa.Array]] = {}
    for group, digest, g in group_graphs(results["conversation.edges"]):
        if g is not None:
            measured[digest] = _measure(g)
            del g  # freed before the next group's graph is built
        columns = measured[digest]
        rows = len(columns["member"])
        tables.append(
            pa.table({"group": pa.repeat(group, rows), **columns}, schema=CENTRALITY_SCHEMA)
        )
    if not tables:
        return CENTRALITY_SCHEMA.empty_table()
    return pa.concat_tables(tables)


def _measure(g: GroupGraph) -> dict[str, pa.Array]:
    """Every column of :func:`centrality` but the group, one value per vertex."""
    # the sampled betweenness runs in helper processes while Leiden runs here (on 2
    # cores the two take about as long at 100,000 members), then here on what they have
    # not started (PageRank ran when the graph was built)
    with betweenness_running(g.undirected) as finished:
        label = np.array(communities(g.undirected, g.undirected_weights), dtype=np.int64)
        between, exact = finished()
    n = len(g.members)
    sizes = np.bincount(label, minlength=1)
    bridged = _bridged_communities(g.pairs, label, len(sizes))
    partners = np.bincount(g.pairs[:, 0], minlength=n) + np.bincount(g.pairs[:, 1], minlength=n)
    return {
        "member": pa.array(g.members, pa.string()),
        "pagerank": pa.array(g.pagerank),
        "betweenness": pa.array(between),
        "betweenness_exact": pa.repeat(exact, n),
        "community": pa.array(label),
        "community_size": pa.array(sizes[label].astype(np.int64)),
        "bridged_communities": pa.array(bridged.astype(np.int64)),
        "in_weight": pa.array(g.in_weights),
        "out_weight": pa.array(g.out_weights),
        "partners": pa.array(partners.astype(np.int64)),
    }


#: :func:`_distinct_per_member` marks (member, community) pairs in a table of this many
#: cells at most (one byte each), else sorts them
PAIR_TABLE_MAX: Final = 1 << 26
#: :func:`_bridged_communities` marks the partners' communities this many undirected
#: edges at a time (its temporaries: a few 8-byte arrays this long, not of both ends of
#: every edge: ≈ 630 MB at ten million edges, at the metric's peak)
PAIRS_PER_STEP: Final = 1 << 20


def _bridged_communities(pairs: np.ndarray, label: np.ndarray, labels: int) -> np.ndarray:
    """How many communities other than their own each member's partners belong to:
    distinct (member, partner's community) over both ends of every undirected edge
    (``pairs``), the member's own community left out."""
    n = len(label)
    if n * labels > PAIR_TABLE_MAX:
        a, b = pairs[:, 0], pairs[:, 1]
        member = np.concatenate((a, b))
        their = label[np.concatenate((b, a))]
        other = their != label[member]
        return _distinct_per_member(member[other], their[other], n, labels)
    # every (member, partner's community) marked, then each member's own unmarked: the
    # marks left are the pairs the sort would count
    seen = np.zeros(n * labels, dtype=bool)
    for start in range(0, len(pairs), PAIRS_PER_STEP):
        a, b = pairs[start : start + PAIRS_PER_STEP, 0], pairs[start : start + PAIRS_PER_STEP, 1]
        seen[a * labels + label[b]] = True
        seen[b * labels + label[a]] = True
    seen[np.arange(n) * labels + label] = False
    counts: np.ndarray = seen.reshape(n, labels).sum(axis=1)
    return counts


def _distinct_per_member(member: np.ndarray, label: np.ndarray, n: int, labels: int) -> np.ndarray:
    """How many distinct labels each of the ``n`` members has among the (member, label)
    pairs: marked in an n × labels table when it is small (a few communities: one pass,
    where sorting two million pair keys took ≈ 0.3 s at 100,000 members), else counted
    from the sorted distinct pair keys."""
    if n * labels <= PAIR_TABLE_MAX:
        seen = np.zeros(n * labels, dtype=bool)
        seen[member * labels + label] = True
        counts: np.ndarray = seen.reshape(n, labels).sum(axis=1)
        return counts
    distinct = np.unique(member * max(n, 1) + label)
    return np.bincount(distinct // max(n, 1), minlength=n)
