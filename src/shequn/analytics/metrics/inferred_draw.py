"""Answers drawn in groups without reply ids (WhatsApp): estimated, not guessed one by one.

A KOL is a member whose messages draw answers (kols.py). Where the export keeps no reply
ids, turn taking ("B spoke right after A") names the true parent only a fraction of the
time in a busy group — every message has someone else's just before it — so answers
counted that way are nearly flat across members. Summed over many messages, though, the
timing does say who draws answers: more messages follow theirs, sooner, than chance.

The model is a self-exciting point process (a Hawkes process, the standard model of
who-replies-to-whom in message streams), fitted by expectation–maximisation:

* every message is either background chatter, arriving at the group's local rate (its
  messages per minute within ±:data:`RATE_MINUTES`), or an answer to one of the last
  :data:`CANDIDATES` messages by *other* members within :data:`WINDOW_MINUTES` minutes
  (messages of the same minute count in either order: exports write minutes only);
* an answer to member a's message arrives at rate μ_a · g(lag), μ_a being the answers one
  of a's messages draws and g the distribution of the answer's delay in whole minutes;
* a message that @mentions members answers one of *their* messages (those are its only
  candidates and it is no background); with none of theirs in reach, each mentioned
  member is credited 1/k of it.

E-step: each message's responsibility is shared among background and its candidates in
proportion to their rates; M-step: μ_a = responsibility credited to a's messages / a's
messages, g = responsibility per lag. Neither μ nor the delay is assumed: both come from
the log (the mentions anchor them). :data:`ITERATIONS` rounds, from every μ and lag
alike. Same input order, same floating-point result, on DuckDB and on Spark. Figures
against the simulator's truth: docs/analytics/conversation-roles-kols.md.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from shequn.analytics.context import Context
from shequn.analytics.metrics.conversation import mention_rows, message_links
from shequn.analytics.source import arrow_dictionary, release_memory

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]

#: an answer comes at most this many minutes after the message it answers
WINDOW_MINUTES: Final = 15
#: ... and answers one of this many messages before it (the last screenful)
CANDIDATES: Final = 8
#: the background rate at a message: the group's messages per minute within ± this
RATE_MINUTES: Final = 30
#: EM iterations: on the simulated groups the KOLs found stop changing after about ten
#: (docs/analytics/conversation-roles-kols.md); a fixed count keeps the cost bounded
ITERATIONS: Final = 10
#: the E-step walks the candidate pairs in blocks of this many (bounded temporaries:
#: ten million messages give about a hundred million pairs)
PAIRS_PER_STEP: Final = 1 << 20
#: the candidate pairs are found for this many answering messages at a time (a few
#: arrays of each range beside the pairs, not of every message: at ten million messages
#: those were half a gigabyte on top of the report's peak; a range's pairs are picked
#: from a 4-byte cell for each of its messages' 16 slots: ≈ 20 MB at this size)
MESSAGES_PER_WALK: Final = 1 << 17


def drawn_by_group(ctx: Context) -> dict[str, dict[str, float]]:
    """{group: {member: expected answers drawn}} for every group without reply ids."""
    links = message_links(ctx)
    inferred = links.filter(~links.explicit)
    # read dictionary-encoded: ten million rows of group and member keys are most of a
    # gigabyte as strings, a tenth of it as indices
    # read in any order and put in (group, seq) order here: DuckDB's ORDER BY of ten
    # million rows cost 5.8 s CPU of the read's 8.1 (the same arrays come out, codes too)
    msgs = _in_order(
        _arrays(arrow_dictionary(ctx.log, inferred.select("group", "seq", "member", "ts")))
    )
    # the Arrow table read is gone: its memory back to the system before the estimate
    release_memory()
    if len(msgs.codes) == 0:
        return {}
    mentions = mention_rows(ctx)
    keys = inferred.select(m_group="group", m_key="key", m_seq="seq")
    anchored = mentions.join(keys, [mentions.group == keys.m_group, mentions.key == keys.m_key])
    anchored = (
        anchored.select("group", seq=anchored.m_seq, target=anchored.target)
        .order_by(["group", "seq", "target"])
        .to_pyarrow()
    )
    return _per_group(msgs, anchored)


@dataclass(frozen=True)
class _Messages:
    """The messages of the groups without reply ids, as arrays (the keys as indices into
    their distinct values): what the estimate needs of the Arrow table they are read from,
    which is freed before it runs."""

    group_names: list[str]
    #: each message's group (index into group_names), its author (index into names),
    #: its place in the group and its minute
    in_group: npt.NDArray[np.int32]
    codes: I64
    names: list[str]
    seqs: I64
    minutes: I64


def _arrays(msgs: pa.Table) -> _Messages:
    """``msgs`` as :func:`~shequn.analytics.source.arrow_dictionary` reads them: the group
    and member keys are already codes, each value numbered where it first appears (Arrow's
    unified dictionaries append each batch's new values in order), as encoding the whole
    string column would number them."""
    group_codes = msgs["group"].combine_chunks()
    members = msgs["member"].combine_chunks()
    return _Messages(
        group_names=group_codes.dictionary.to_pylist(),
        in_group=group_codes.indices.to_numpy(),
        codes=members.indices.to_numpy().astype(np.int64),
        names=members.dictionary.to_pylist(),
        seqs=msgs["seq"].to_numpy(),
        minutes=msgs["ts"].cast(pa.int64()).to_numpy() // 60_000_000,
    )


def _in_order(msgs: _Messages) -> _Messages:
    """``msgs`` ordered by group (by name) and seq, each key numbered where it first
    appears in that order: the arrays an ``ORDER BY group, seq`` read gives, to the bit
    (the estimate numbers authors by their codes)."""
    names = msgs.group_names
    # Python orders strings by code point, as DuckDB and Spark order UTF-8 bytes
    rank = np.empty(len(names), dtype=np.int64)
    rank[sorted(range(len(names)), key=names.__getitem__)] = np.arange(len(names))
    group_rank = rank[msgs.in_group]
    order = _places(group_rank, msgs.seqs)
    if order is None:
        order = np.lexsort((msgs.seqs, group_rank))
    del group_rank
    in_group, group_names = _first_seen(msgs.in_group[order], names)
    codes, member_names = _first_seen(msgs.codes[order], msgs.names)
    return _Messages(
        group_names=group_names,
        in_group=in_group.astype(np.int32),
        codes=codes,
        names=member_names,
        seqs=msgs.seqs[order],
        minutes=msgs.minutes[order],
    )


def _places(group_rank: I64, seqs: I64) -> npt.NDArray[np.intp] | None:
    """The message at each place when the messages are of one group and their seqs fill
    one range (a WhatsApp export is one group, its seqs its messages' places): no sort
    of ten million keys (1.5 s CPU). None otherwise."""
    n = len(seqs)
    if n == 0 or group_rank.min() != group_rank.max():
        return None
    place = seqs - seqs.min()
    if int(place.max()) != n - 1:
        return None
    filled = np.zeros(n, dtype=bool)
    filled[place] = True
    if not filled.all():
        return None
    order = np.empty(n, dtype=np.intp)
    order[place] = np.arange(n)
    return order


def _first_seen(codes: npt.NDArray[np.integer], names: list[str]) -> tuple[I64, list[str]]:
    """``codes`` renumbered where each first appears, and their names in that order."""
    n = len(codes)
    first = np.full(len(names), n, dtype=np.int64)
    np.minimum.at(first, codes, np.arange(n))
    seen = np.flatnonzero(first < n)
    by_first = seen[np.argsort(first[seen])]
    number = np.zeros(len(names), dtype=np.int64)
    number[by_first] = np.arange(len(by_first))
    return number[codes], [names[c] for c in by_first.tolist()]


def _per_group(msgs: _Messages, anchored: pa.Table) -> dict[str, dict[str, float]]:
    group_names, in_group, codes = msgs.group_names, msgs.in_group, msgs.codes
    names, seqs, minutes = msgs.names, msgs.seqs, msgs.minutes
    bounds = [0, *(np.flatnonzero(np.diff(in_group)) + 1).tolist(), len(in_group)]
    out: dict[str, dict[str, float]] = {}
    for lo, hi in itertools.pairwise(bounds):
        group = group_names[in_group[lo]]
        # the group's authors numbered in code order (np.unique's numbers, without
        # sorting every message: codes index the names)
        present = np.zeros(len(names), dtype=bool)
        present[codes[lo:hi]] = True
        used = np.flatnonzero(present)
        author = (np.cumsum(present, dtype=np.int64) - 1)[codes[lo:hi]]
        del present
        # each mention's message (its place among the group's) and mentioned member (its
        # author number, null when they never wrote here), all at once: a million
        # mentions at 10M messages
        mentioned = anchored.filter(pc.equal(anchored["group"], group))
        place = np.searchsorted(seqs[lo:hi], mentioned["seq"].to_numpy())
        # the members a message names (anchored is ordered by group and seq: a message's
        # mentions are one run)
        _, run, people = np.unique(place, return_inverse=True, return_counts=True)
        named = people[run.ravel()]
        writer = pc.index_in(mentioned["target"], value_set=pa.array([names[c] for c in used]))
        wrote = writer.is_valid().to_numpy(zero_copy_only=False)
        targets = np.column_stack((place[wrote], writer.drop_null().to_numpy())).astype(np.int64)
        outside: dict[str, float] = defaultdict(float)
        elsewhere = mentioned["target"].filter(pa.array(~wrote)).to_pylist()
        for target, k in zip(elsewhere, named[~wrote].tolist(), strict=True):
            # mentioned but never wrote here: credited, no candidate
            outside[target] += 1 / k
        # a million mentions at 10M messages: gone before the estimate's peak
        del mentioned, place, run, people, named, writer, wrote, elsewhere
        drawn = estimate(minutes[lo:hi], author, targets)
        result = {names[c]: float(drawn[i]) for i, c in enumerate(used)}
        for target, credit in outside.items():
            result[target] = result.get(target, 0.0) + credit
        out[group] = result
    return out


#: the lags an answer can have, 0 .. WINDOW_MINUTES whole minutes
LAGS: Final = WINDOW_MINUTES + 1


class CandidatePairs:
    """(answer, parent's author, lag in minutes) for every message and each message it may
    answer: the last :data:`CANDIDATES` before it within :data:`WINDOW_MINUTES` minutes
    and any later one in the same minute, written by someone else. A message that
    @mentions members (``named``) keeps only the pairs whose parent's author it names
    (``wanted``: message × ``authors`` + author, ascending).

    Held message by message, as a sparse matrix row by row: ``starts[i]`` is message i's
    first pair (``starts[n]`` the number of pairs), ``counts[i]`` its pairs, and each pair
    is one ``cell``, the parent's author × :data:`LAGS` + the lag — all the EM needs of a
    pair, since the rate of an answer depends only on the parent's author and the lag.
    4 bytes a pair (ten million messages give about a hundred million pairs) and 9 a
    message. Within a message the pairs come lag by lag, the earlier parent first.
    """

    def __init__(
        self,
        minute: I64,
        author: I64,
        named: npt.NDArray[np.bool_] | None = None,
        wanted: I64 | None = None,
    ) -> None:
        n = len(minute)
        authors = int(author.max()) + 1 if n else 0
        walks = [(lo, min(lo + MESSAGES_PER_WALK, n)) for lo in range(0, n, MESSAGES_PER_WALK)]
        # one walk finds each message's pairs, as one bit per slot (lag and side), and
        # keeps them (two bytes a message); the cells are then written range by range
        # from those bits: a message's pairs are the slots whose bit is set, in slot
        # order, and a range's pairs one slice of the cells (no cursor, no scatter)
        found = np.empty((n, (SLOTS + 7) // 8), dtype=np.uint8)
        counts = np.zeros(n, dtype=np.uint8)
        for lo, hi in walks:
            ok = _slots(minute, author, authors, named, wanted, lo, hi)
            counts[lo:hi] = ok.sum(axis=0, dtype=np.uint8)
            found[lo:hi] = np.packbits(ok, axis=0, bitorder="little").T
            del ok
        starts = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(counts, out=starts[1:])
        cells = np.empty(int(starts[-1]), dtype=np.int32)
        for lo, hi in walks:
            bits = np.unpackbits(found[lo:hi], axis=1, count=SLOTS, bitorder="little")
            # the set bits in row-major order, as the pairs are held
            cells[starts[lo] : starts[hi]] = _slot_cells(minute, author, lo, hi)[bits.view(bool)]
            del bits
        self.starts, self.counts, self.cells = starts, counts, cells

    def __len__(self) -> int:
        return len(self.cells)

    def listed(self) -> tuple[I64, I64, I64]:
        """Every pair as (answer, parent's author, lag) arrays (for tests)."""
        answers = np.repeat(np.arange(len(self.counts), dtype=np.int64), self.counts)
        cells = self.cells.astype(np.int64)
        return answers, cells // LAGS, cells % LAGS

    def blocks(self) -> list[tuple[int, int]]:
        """The messages cut into ranges [lo, hi) of at most :data:`PAIRS_PER_STEP` pairs
        (a message's pairs are never cut; a range holds at least one message)."""
        n = len(self.counts)
        out: list[tuple[int, int]] = []
        lo = 0
        while lo < n:
            end = int(self.starts[lo]) + PAIRS_PER_STEP
            hi = int(np.searchsorted(self.starts, end, side="right")) - 1
            hi = min(max(hi, lo + 1), n)
            out.append((lo, hi))
            lo = hi
        return out


#: a message's candidate slots, in the order its pairs are held: the message 1 place
#: before, 1 after (same minute), 2 before, 2 after, ... CANDIDATES before and after
SLOTS: Final = 2 * CANDIDATES
_STEPS: Final = np.array([s * lag for lag in range(1, CANDIDATES + 1) for s in (-1, 1)])


def _slot_cells(minute: I64, author: I64, lo: int, hi: int) -> npt.NDArray[np.int32]:
    """The cell each candidate slot of the answering messages lo .. hi - 1 would have
    (the parent's author × :data:`LAGS` + the lag; 0 where the slot reaches past the
    log): one row per message, one column per slot (:data:`SLOTS` order).

    Why every slot: slot by slot, a message's parent is a fixed step away, so a column is
    made from two shifted slices of the log — no gathers of each pair's parent, which
    cost three times as much over the ≈ 14 pairs a message at ten million messages."""
    n = len(minute)
    out = np.zeros((SLOTS, hi - lo), dtype=np.int32)
    for place, step in enumerate(_STEPS.tolist()):
        first, last = max(lo, -step), min(hi, n - step)
        if first >= last:
            continue
        # the lag; a later parent shares the answer's minute: 0
        cell = author[first + step : last + step] * LAGS
        cell += minute[first:last]
        cell -= minute[first + step : last + step]
        out[place, first - lo : last - lo] = cell
    return out.T


def _slots(
    minute: I64,
    author: I64,
    authors: int,
    named: npt.NDArray[np.bool_] | None,
    wanted: I64 | None,
    lo: int,
    hi: int,
) -> npt.NDArray[np.bool_]:
    """Which candidate slots of the answering messages lo .. hi - 1 hold a pair: one
    row per slot (:data:`SLOTS` order), one column per message (a slot's test is then
    one contiguous row: a third cheaper than writing the column of a row per message)."""
    n = len(minute)
    every = np.arange(lo, hi, dtype=np.int64)
    # how far back each message's window reaches and how many later messages share its
    # minute, capped at CANDIDATES + 1 (one byte each: the lags below need no more)
    cap = CANDIDATES + 1
    own = minute[lo:hi]
    back = np.minimum(every - np.searchsorted(minute, own - WINDOW_MINUTES), cap)
    back = back.astype(np.int8)
    ahead = np.minimum(np.searchsorted(minute, own, side="right") - 1 - every, cap)
    ahead = ahead.astype(np.int8)
    del every, own
    ok = np.zeros((SLOTS, hi - lo), dtype=bool)
    for place, step in enumerate(_STEPS.tolist()):
        lag = abs(step)
        first, last = max(lo, -step), min(hi, n - step)
        if first >= last:
            continue
        reach = back if step < 0 else ahead
        row = ok[place, first - lo : last - lo]
        np.greater_equal(reach[first - lo : last - lo], lag, out=row)
        row &= author[first:last] != author[first + step : last + step]
    if named is not None and wanted is not None:
        # a message that names members answers only their messages: its other pairs go
        # (only the few pairs of naming messages are looked up)
        naming = np.flatnonzero(named[lo:hi])
        which, message = np.nonzero(ok[:, naming])
        answers = naming[message] + lo
        pair_key = answers * authors + author[answers + _STEPS[which]]
        at_key = np.minimum(np.searchsorted(wanted, pair_key), len(wanted) - 1)
        unwanted = wanted[at_key] != pair_key
        ok[which[unwanted], naming[message[unwanted]]] = False
    return ok


@dataclass(frozen=True)
class _Blocks:
    """The candidate pairs as the E-step reads them: the messages cut into ``spans``
    (:meth:`CandidatePairs.blocks`), and each span's pairs numbered among the distinct
    cells of its span (``cells[k]``: span k's cells, ascending; ``local``: each pair's
    place among them).

    Why: a round gathers the rates of a span's pairs and sums 1 / total per cell. Over
    every cell (authors × :data:`LAGS`: 0.9M for the 56,000 authors of the 10M store)
    that is a zeroed array of every cell per span, added to the round's sums whole, and
    a gather spread over megabytes; over the span's own cells (≈ 33,000 of a span's
    million pairs at 10M, 118,000 at 1M) it is neither — the rounds cost ≈ 40 % less.
    Each cell's pairs are still added in their order, and each span's sums onto the
    round's in span order: the same floats to the bit. The spans' cells are 18 MB at 10M.
    """

    spans: list[tuple[int, int]]
    cells: list[npt.NDArray[np.int32]]
    starts: I64
    counts: npt.NDArray[np.uint8]
    local: npt.NDArray[np.int32]

    @classmethod
    def of(cls, pairs: CandidatePairs, every: int) -> _Blocks:
        """``pairs``' blocks, their cells (< ``every``) renumbered in place: the pairs'
        ``cells`` array becomes ``local`` (no second copy of ≈ 400 MB at ten million
        messages), so ``pairs`` is not to be read after."""
        spans = pairs.blocks()
        seen = np.zeros(every, dtype=bool)
        place = np.zeros(every, dtype=np.int32)
        distinct: list[npt.NDArray[np.int32]] = []
        for lo, hi in spans:
            block = pairs.cells[pairs.starts[lo] : pairs.starts[hi]]
            at = block.astype(np.intp)
            seen[at] = True
            cells = np.flatnonzero(seen)
            seen[cells] = False
            place[cells] = np.arange(len(cells), dtype=np.int32)
            # at is a copy: block can be written while it is read
            np.take(place, at, out=block, mode="clip")
            distinct.append(cells.astype(np.int32))
        return cls(spans, distinct, pairs.starts, pairs.counts, pairs.cells)


def estimate(
    minute: I64, author: I64, mentions: Sequence[tuple[int, int]] | npt.NDArray[np.int64]
) -> F64:
    """Expected answers drawn by each author (index into ``author``'s codes).

    ``minute``: each message's minute, ascending; ``author``: its author's code;
    ``mentions``: (message, mentioned author) pairs (a sequence, or an array of two
    columns).

    A pair's rate is mu[parent's author] × delay[lag], so a round needs per pair only its
    cell (author, lag): each message's total is the sum of its pairs' rates (and its
    background), and the responsibility a pair takes, rate / total, summed per cell is
    mu × delay × the sum of 1 / total over the cell's pairs — four array passes over the
    pairs a round.
    """
    n = len(minute)
    authors = int(author.max()) + 1 if n else 0
    # the background rate first: its temporaries (five arrays of every message) are gone
    # before the candidate pairs are built and held
    rate = (
        np.searchsorted(minute, minute + RATE_MINUTES, side="right")
        - np.searchsorted(minute, minute - RATE_MINUTES, side="left")
    ) / (2 * RATE_MINUTES + 1)
    credit = np.zeros(authors)
    if len(mentions):
        mentioned = np.asarray(mentions, dtype=np.int64).reshape(-1, 2)
        m_msg, m_author = mentioned[:, 0], mentioned[:, 1]
        named = np.zeros(n, dtype=bool)
        named[m_msg] = True
        pairs = CandidatePairs(minute, author, named, np.sort(m_msg * authors + m_author))
        # a message that names members and has one of their messages in reach answers
        # those; a mention with none in reach: 1/k to each named
        anchored = named & (pairs.counts > 0)
        per_message = np.bincount(m_msg, minlength=n)
        alone = ~anchored[m_msg]
        np.add.at(credit, m_author[alone], 1.0 / per_message[m_msg[alone]])
        del per_message, named
    else:
        pairs = CandidatePairs(minute, author)
        anchored = np.zeros(n, dtype=bool)
    posts = np.bincount(author, minlength=authors).astype(np.float64)
    blocks = _Blocks.of(pairs, authors * LAGS)
    del pairs
    starts, counts, local = blocks.starts, blocks.counts, blocks.local
    mu = np.full(authors, 0.5)
    delay = np.full(LAGS, 1.0 / LAGS)
    share = 0.5  # of messages that answer one before them
    drawn = credit.copy()
    total = np.empty(n)
    for _ in range(ITERATIONS):
        # each cell's rate, mu[author] * delay[lag]
        pull = np.multiply.outer(mu, delay).ravel()
        # np.where(anchored, 0.0, (1.0 - share) * rate), written into one buffer
        np.multiply(rate, 1.0 - share, out=total)
        total[anchored] = 0.0
        inverse = np.zeros(authors * LAGS)
        # block by block, each block's totals, their inverses and its pairs' share of
        # them: a message's total needs only its own pairs, so the block's pairs are
        # read once a round, their cells made index integers once (NumPy converts int32
        # indices on every use: the gather and the bincount cost 1.5× with them)
        for (lo, hi), cells in zip(blocks.spans, blocks.cells, strict=True):
            a, b = int(starts[lo]), int(starts[hi])
            part = total[lo:hi]
            if a < b:
                at = local[a:b].astype(np.intp)
                has = counts[lo:hi] > 0
                # np.take: a third cheaper than indexing with [] here
                rates = np.take(np.take(pull, cells), at)
                part[has] += np.add.reduceat(rates, starts[lo:hi][has] - a)
                del rates
            # a message's background is > 0 unless it is anchored, and then its pairs are
            np.divide(1.0, part, out=part)
            if a < b:
                weights = np.repeat(part, counts[lo:hi])
                # summed per cell of the block (each cell's pairs in their order, as a
                # bincount over every cell adds them), added where the cells are
                inverse[cells] += np.bincount(at, weights=weights, minlength=len(cells))
                del weights, at
        # the responsibility summed per cell: (author, lag)
        taken = (pull * inverse).reshape(authors, LAGS)
        drawn = credit + taken.sum(axis=1)
        per_lag = taken.sum(axis=0)
        if per_lag.sum() > 0:
            delay = per_lag / per_lag.sum()
        share = float(per_lag.sum()) / max(n, 1)
        mu = drawn / np.maximum(posts, 1.0)
    return drawn
