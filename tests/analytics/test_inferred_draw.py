"""The EM estimate of answers drawn (groups without reply ids): against a plain-Python
EM written from the model's description, and on logs whose answer is known."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from shequn.analytics.context import Context
from shequn.analytics.metrics import inferred_draw as em
from shequn.analytics.metrics.conversation import message_links
from shequn.analytics.runner import run_metrics
from shequn.simulate.truth import true_replies


def simple_em(
    minutes: list[int], authors: list[int], mentions: list[tuple[int, int]]
) -> dict[int, float]:
    """The model of inferred_draw's docstring, one message and one candidate at a time."""
    n = len(minutes)
    candidates: list[list[int]] = []
    for i in range(n):
        found = []
        for j in range(i - 1, max(-1, i - 1 - em.CANDIDATES), -1):
            if minutes[i] - minutes[j] <= em.WINDOW_MINUTES and authors[j] != authors[i]:
                found.append(j)
        for j in range(i + 1, min(n, i + 1 + em.CANDIDATES)):
            if minutes[j] == minutes[i] and authors[j] != authors[i]:
                found.append(j)
        candidates.append(found)
    named: dict[int, list[int]] = defaultdict(list)
    for i, who in mentions:
        named[i].append(who)
    credit: dict[int, float] = defaultdict(float)
    anchored = set()
    for i, people in named.items():
        kept = [j for j in candidates[i] if authors[j] in people]
        candidates[i] = kept
        if kept:
            anchored.add(i)
        else:
            for who in people:
                credit[who] += 1 / len(people)
    rate = []
    for i in range(n):
        near = sum(1 for m in minutes if abs(m - minutes[i]) <= em.RATE_MINUTES)
        rate.append(near / (2 * em.RATE_MINUTES + 1))
    people_ = sorted(set(authors))
    posts = {a: authors.count(a) for a in people_}
    mu = dict.fromkeys(people_, 0.5)
    delay = [1 / (em.WINDOW_MINUTES + 1)] * (em.WINDOW_MINUTES + 1)
    share = 0.5
    drawn: dict[int, float] = {}
    for _ in range(em.ITERATIONS):
        drawn = {a: credit.get(a, 0.0) for a in people_}
        per_lag = [0.0] * (em.WINDOW_MINUTES + 1)
        total_resp = 0.0
        for i in range(n):
            pulls = [
                (j, mu[authors[j]] * delay[abs(minutes[i] - minutes[j])]) for j in candidates[i]
            ]
            background = 0.0 if i in anchored else (1 - share) * rate[i]
            total = background + sum(p for _, p in pulls)
            for j, p in pulls:
                r = p / total
                drawn[authors[j]] += r
                per_lag[abs(minutes[i] - minutes[j])] += r
                total_resp += r
        mu = {a: drawn[a] / posts[a] for a in people_}
        if sum(per_lag) > 0:
            delay = [x / sum(per_lag) for x in per_lag]
        share = total_resp / n
    return drawn


def random_log(seed: int, n: int = 300) -> tuple[list[int], list[int], list[tuple[int, int]]]:
    rng = random.Random(seed)
    minutes = sorted(rng.randrange(0, 600) for _ in range(n))
    authors = [rng.randrange(0, 12) for _ in range(n)]
    mentions = []
    for i in range(n):
        if rng.random() < 0.1:
            mentions.append((i, rng.randrange(0, 14)))  # 12, 13: never write
    mentions = [(i, a) for i, a in mentions if a != authors[i]]
    return minutes, authors, mentions


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_matches_a_plain_python_em(seed: int) -> None:
    minutes, authors, mentions = random_log(seed)
    writers = [(i, a) for i, a in mentions if a < 12]
    expected = simple_em(minutes, authors, writers)
    got = em.estimate(np.asarray(minutes), np.asarray(authors), writers)
    assert len(got) == 12
    for a in range(12):
        assert got[a] == pytest.approx(expected[a], rel=1e-9, abs=1e-12)


def test_blocks_of_pairs_give_the_same_estimate(monkeypatch: pytest.MonkeyPatch) -> None:
    minutes, authors, mentions = random_log(4)
    writers = [(i, a) for i, a in mentions if a < 12]
    whole = em.estimate(np.asarray(minutes), np.asarray(authors), writers)
    monkeypatch.setattr(em, "PAIRS_PER_STEP", 7)
    in_blocks = em.estimate(np.asarray(minutes), np.asarray(authors), writers)
    np.testing.assert_allclose(in_blocks, whole, rtol=1e-12)


@pytest.mark.parametrize("walk", [1, 7, 64])
def test_pairs_found_range_by_range_are_the_pairs_found_at_once(
    monkeypatch: pytest.MonkeyPatch, walk: int
) -> None:
    """Walking the answering messages in ranges finds every pair across a range's edge,
    in the same order (the estimate's sums then add up in the same order too)."""
    minutes, authors, mentions = random_log(5)
    writers = [(i, a) for i, a in mentions if a < 12]
    named = np.zeros(len(minutes), dtype=bool)
    named[[i for i, _ in writers]] = True
    wanted = np.sort(np.array([i * 12 + a for i, a in writers], dtype=np.int64))
    args = (np.asarray(minutes), np.asarray(authors), named, wanted)
    whole = em.CandidatePairs(*args)
    estimate = em.estimate(np.asarray(minutes), np.asarray(authors), writers)
    monkeypatch.setattr(em, "MESSAGES_PER_WALK", walk)
    ranged = em.CandidatePairs(*args)
    assert ranged.cells.tolist() == whole.cells.tolist()
    assert ranged.starts.tolist() == whole.starts.tolist()
    assert em.estimate(np.asarray(minutes), np.asarray(authors), writers).tolist() == (
        estimate.tolist()
    )


def test_the_member_others_answer_draws_most() -> None:
    # every 10 minutes, one of five members speaks; when it is member 0, two others
    # answer within two minutes; after anyone else, one other speaks five minutes later
    rng = random.Random(7)
    minutes: list[int] = []
    authors: list[int] = []
    for k in range(400):
        t = 10 * k
        speaker = rng.randrange(0, 5)
        minutes.append(t)
        authors.append(speaker)
        others = [a for a in range(1, 8) if a != speaker]
        if speaker == 0:
            for lag in (1, 2):
                minutes.append(t + lag)
                authors.append(rng.choice(others))
        else:
            minutes.append(t + 5)
            authors.append(rng.choice(others))
    drawn = em.estimate(np.asarray(minutes), np.asarray(authors), [])
    posts = np.bincount(authors).astype(float)
    per_message = drawn / posts
    assert per_message[0] > 1.5 * max(per_message[1:5])


def test_a_mention_gives_its_answer_to_the_member_named() -> None:
    # member 0 speaks at minute 0, member 1 at minute 2; at minute 3 member 2 answers
    # naming member 1: that answer is 1's alone, though 0's message is in reach too
    drawn = em.estimate(np.asarray([0, 2, 3]), np.asarray([0, 1, 2]), [(2, 1)])
    assert drawn[1] == pytest.approx(1.0)
    assert 0 < drawn[0] < 1  # member 1's message may answer member 0's
    assert drawn[2] == 0


def _spearman(x: list[float], y: list[float]) -> float:
    def ranks(v: list[float]) -> np.ndarray:
        order = np.argsort(v, kind="stable")
        r = np.empty(len(v))
        r[order] = np.arange(len(v))
        return r

    return float(np.corrcoef(ranks(x), ranks(y))[0, 1])


def test_estimate_follows_the_true_replies(duckdb_context: Context, community: Any) -> None:
    """On the simulated WhatsApp group (its truth keeps the replies the export hides):
    from timing alone, the estimated answers per message rank members far closer to the
    true replies per message than counting turn taking does; with @mentions, the estimate
    keeps what the mentions say (they are the strongest evidence there is)."""
    posts, replies = true_replies(community.events_path)
    signals = run_metrics(duckdb_context, ["roles.signals"])["roles.signals"].to_pylist()
    signals = [r for r in signals if r["group"] != "*"]
    drawn = next(iter(em.drawn_by_group(duckdb_context).values()))
    links = message_links(duckdb_context)
    msgs = links.select("seq", "member", "ts").order_by("seq").to_pyarrow()
    authors = msgs["member"].combine_chunks().dictionary_encode()
    minutes = msgs["ts"].cast(pa.int64()).to_numpy() // 60_000_000
    timing = em.estimate(minutes, authors.indices.to_numpy().astype(np.int64), [])
    timing_only = dict(zip(authors.dictionary.to_pylist(), timing, strict=True))

    members = [m for m in drawn if posts[m.split(":", 1)[1]] >= 10]

    def fit(received: dict[str, float]) -> float:
        rate = [received.get(m, 0) / posts[m.split(":", 1)[1]] for m in members]
        true_rate = [replies[m.split(":", 1)[1]] / posts[m.split(":", 1)[1]] for m in members]
        return _spearman(rate, true_rate)

    fits = {
        "estimate": fit(drawn),
        "estimate from timing alone": fit(timing_only),
        "turn taking": fit({r["member"]: r["inferred_received"] for r in signals}),
        "mentions": fit({r["member"]: r["mentions_received"] for r in signals}),
    }
    shown = {k: round(v, 3) for k, v in fits.items()}
    print("\nSpearman with the true replies per message:", shown)
    assert fits["estimate from timing alone"] > fits["turn taking"] + 0.1
    assert fits["estimate"] > fits["estimate from timing alone"] + 0.05
    assert fits["estimate"] > fits["mentions"] - 0.03


def test_keys_read_encoded_get_the_codes_of_the_strings() -> None:
    """The messages are read dictionary-encoded in batches (arrow_dictionary): each
    member's code must be what encoding the whole string column gives, or the estimate
    would number authors differently."""
    rng = random.Random(3)
    names = [f"m{i}" for i in range(40)]
    values = [rng.choice(names) for _ in range(1_000)]
    # as arrow_dictionary reads them: each batch encoded alone, then one dictionary
    batches = [
        pa.record_batch(
            {
                "group": pa.array(["g"] * len(values[i : i + 97])).dictionary_encode(),
                "seq": pa.array(range(i, i + len(values[i : i + 97])), pa.int64()),
                "member": pa.array(values[i : i + 97]).dictionary_encode(),
                "ts": pa.array(
                    [60_000_000 * j for j in range(i, i + len(values[i : i + 97]))],
                    pa.timestamp("us"),
                ),
            }
        )
        for i in range(0, 1_000, 97)
    ]
    encoded = pa.Table.from_batches(batches).unify_dictionaries()
    msgs = em._arrays(encoded)
    whole = pa.array(values).dictionary_encode()
    assert msgs.names == whole.dictionary.to_pylist()
    assert msgs.codes.tolist() == whole.indices.to_pylist()
    assert [msgs.names[c] for c in msgs.codes] == values
    assert msgs.group_names == ["g"] and msgs.minutes.tolist() == list(range(1_000))


@pytest.mark.parametrize("seed", range(6))
def test_candidate_pairs_are_those_the_model_names(seed: int) -> None:
    """Every (answer, parent's author, lag) CandidatePairs holds, against the docstring's
    rule written out: the last CANDIDATES messages before within WINDOW_MINUTES and the
    later ones of the same minute, by someone else (lags are whole minutes); with
    mentions, a naming message keeps only the pairs to members it names."""
    rng = random.Random(seed)
    n = rng.randint(1, 400)
    minutes = sorted(
        rng.randint(29_000_000, 29_000_000 + rng.choice([3, 40, 600])) for _ in range(n)
    )
    authors = [rng.randint(0, rng.choice([1, 3, 20])) for _ in range(n)]
    people = max(authors) + 1
    mentions = {(i, rng.randrange(people)) for i in range(n) if rng.random() < 0.2}
    naming = {i for i, _ in mentions}
    for with_mentions in (False, True):
        expected: Counter[tuple[int, int, int]] = Counter()
        for i in range(n):
            candidates = [
                (j, minutes[i] - minutes[j])
                for j in range(max(0, i - em.CANDIDATES), i)
                if minutes[i] - minutes[j] <= em.WINDOW_MINUTES
            ] + [
                (j, 0)
                for j in range(i + 1, min(n, i + 1 + em.CANDIDATES))
                if minutes[j] == minutes[i]
            ]
            for j, lag in candidates:
                if authors[j] == authors[i]:
                    continue
                if with_mentions and i in naming and (i, authors[j]) not in mentions:
                    continue
                expected[(i, authors[j], lag)] += 1
        if with_mentions:
            named = np.zeros(n, dtype=bool)
            named[[i for i, _ in mentions]] = True
            wanted = np.sort(np.array([i * people + a for i, a in mentions], dtype=np.int64))
            pairs = em.CandidatePairs(
                np.array(minutes, dtype=np.int64), np.array(authors, dtype=np.int64), named, wanted
            )
        else:
            pairs = em.CandidatePairs(
                np.array(minutes, dtype=np.int64), np.array(authors, dtype=np.int64)
            )
        answers, parent_authors, lags = pairs.listed()
        found = Counter(zip(answers.tolist(), parent_authors.tolist(), lags.tolist(), strict=True))
        assert len(pairs) == sum(expected.values())
        assert found == expected
        # and in their order: message by message, lag by lag, the earlier parent first
        in_order = []
        for i in range(n):
            for lag in range(1, em.CANDIDATES + 1):
                for j in (i - lag, i + lag):
                    if not 0 <= j < n or authors[j] == authors[i]:
                        continue
                    if j < i and minutes[i] - minutes[j] > em.WINDOW_MINUTES:
                        continue
                    if j > i and minutes[j] != minutes[i]:
                        continue
                    if with_mentions and i in naming and (i, authors[j]) not in mentions:
                        continue
                    in_order.append((i, authors[j], minutes[i] - minutes[j]))
        listed = zip(answers.tolist(), parent_authors.tolist(), lags.tolist(), strict=True)
        assert list(listed) == in_order
        assert pairs.starts.tolist() == [0, *np.cumsum(pairs.counts).tolist()]


@pytest.mark.parametrize("seed", range(3))
def test_slot_cells_name_each_slots_parent(seed: int) -> None:
    """Slot by slot, the cell a message's candidate would have: its parent (a fixed step
    away) by author and lag, 0 where the step leaves the log; for any range of messages."""
    minutes, authors, _ = random_log(seed, n=200)
    minute, author = np.asarray(minutes, dtype=np.int64), np.asarray(authors, dtype=np.int64)
    for lo, hi in [(0, 200), (0, 5), (37, 120), (195, 200)]:
        got = em._slot_cells(minute, author, lo, hi)
        assert got.shape == (hi - lo, em.SLOTS)
        for i in range(lo, hi):
            for slot, step in enumerate(em._STEPS.tolist()):
                j = i + step
                want = authors[j] * em.LAGS + minutes[i] - minutes[j] if 0 <= j < 200 else 0
                assert got[i - lo, slot] == want


def dense_rounds(minute: np.ndarray, author: np.ndarray) -> np.ndarray:
    """The EM's rounds as they were written before the pairs were numbered per block:
    1 / total summed over every cell (a bincount of authors × LAGS) block by block."""
    n = len(minute)
    authors = int(author.max()) + 1
    rate = (
        np.searchsorted(minute, minute + em.RATE_MINUTES, side="right")
        - np.searchsorted(minute, minute - em.RATE_MINUTES, side="left")
    ) / (2 * em.RATE_MINUTES + 1)
    pairs = em.CandidatePairs(minute, author)
    posts = np.bincount(author, minlength=authors).astype(np.float64)
    starts, counts, cells = pairs.starts, pairs.counts, pairs.cells
    mu, delay, share = np.full(authors, 0.5), np.full(em.LAGS, 1.0 / em.LAGS), 0.5
    drawn = np.zeros(authors)
    for _ in range(em.ITERATIONS):
        pull = np.multiply.outer(mu, delay).ravel()
        total = rate * (1.0 - share)
        inverse = np.zeros(authors * em.LAGS)
        for lo, hi in pairs.blocks():
            a, b = int(starts[lo]), int(starts[hi])
            part = total[lo:hi]
            at = cells[a:b].astype(np.intp)
            has = counts[lo:hi] > 0
            if a < b:
                part[has] += np.add.reduceat(pull[at], starts[lo:hi][has] - a)
            np.divide(1.0, part, out=part)
            weights = np.repeat(part, counts[lo:hi])
            inverse += np.bincount(at, weights=weights, minlength=authors * em.LAGS)
        taken = (pull * inverse).reshape(authors, em.LAGS)
        drawn = taken.sum(axis=1)
        per_lag = taken.sum(axis=0)
        if per_lag.sum() > 0:
            delay = per_lag / per_lag.sum()
        share = float(per_lag.sum()) / n
        mu = drawn / np.maximum(posts, 1.0)
    return drawn


@pytest.mark.parametrize(("seed", "step"), [(6, 7), (7, 64), (8, 1 << 20)])
def test_pairs_numbered_per_block_give_the_same_floats(
    monkeypatch: pytest.MonkeyPatch, seed: int, step: int
) -> None:
    """Each block's pairs numbered among the block's own cells: every pair still names its
    cell, and the rounds' sums are the sums over every cell, to the bit."""
    minutes, authors, _ = random_log(seed, n=2_000)
    minute, author = np.asarray(minutes, dtype=np.int64), np.asarray(authors, dtype=np.int64)
    monkeypatch.setattr(em, "PAIRS_PER_STEP", step)
    pairs = em.CandidatePairs(minute, author)
    every = pairs.cells.copy()
    blocks = em._Blocks.of(pairs, (int(author.max()) + 1) * em.LAGS)
    assert blocks.spans == em.CandidatePairs(minute, author).blocks()
    for (lo, hi), cells in zip(blocks.spans, blocks.cells, strict=True):
        a, b = int(blocks.starts[lo]), int(blocks.starts[hi])
        assert cells[blocks.local[a:b]].tolist() == every[a:b].tolist()
        assert cells.tolist() == sorted(set(every[a:b].tolist()))
    assert em.estimate(minute, author, []).tolist() == dense_rounds(minute, author).tolist()


def _encoded(rows: list[tuple[str, int, str, int]]) -> pa.Table:
    """(group, seq, member, minute) rows as arrow_dictionary reads them."""
    groups, seqs, members, minutes = zip(*rows, strict=True) if rows else ((), (), (), ())
    return pa.table(
        {
            "group": pa.array(list(groups), pa.string()).dictionary_encode(),
            "seq": pa.array(list(seqs), pa.int64()),
            "member": pa.array(list(members), pa.string()).dictionary_encode(),
            "ts": pa.array([60_000_000 * m for m in minutes], pa.timestamp("us")),
        }
    )


@pytest.mark.parametrize(
    ("seed", "shape"),
    [(0, "one group"), (1, "one group"), (2, "one group, gaps"), (3, "groups"), (4, "groups")],
)
def test_messages_read_in_any_order_come_out_as_ordered(seed: int, shape: str) -> None:
    """The messages are read unordered and ordered by (group, seq) in NumPy: the arrays,
    the key codes included (numbered where they first appear), are those of the read
    ordered by the engine — the estimate numbers authors by them."""
    rng = random.Random(seed)
    groups = ["whatsapp/Ünïcode 🌱", "whatsapp/b", "whatsapp/A"] if shape == "groups" else ["g"]
    rows = []
    for g in groups:
        seqs = list(range(100, 400))
        if shape == "one group, gaps":
            seqs = sorted(rng.sample(range(100, 1_000), 300))
        for s in seqs:
            rows.append((g, s, f"m{rng.randrange(30)}é", rng.randrange(10_000)))
    ordered = em._arrays(_encoded(sorted(rows, key=lambda r: (r[0].encode(), r[1]))))
    rng.shuffle(rows)
    got = em._in_order(em._arrays(_encoded(rows)))
    assert got.group_names == ordered.group_names and got.names == ordered.names
    for field in ("in_group", "codes", "seqs", "minutes"):
        want = getattr(ordered, field)
        assert getattr(got, field).tolist() == want.tolist()
        assert getattr(got, field).dtype == want.dtype
