"""What the embedded store's duplicate check remembers of the keys it holds.

Finding a batch's already-stored keys means scanning every stored key, so that check
grows with the store (a 10M import spends most of its time there). A sorted array of
the 64-bit hashes of every stored key answers "can any of these keys be stored?"
without the scan: a batch none of whose hashes is in it has no stored key, exactly;
a hash in it (a key stored, or a collision) sends the batch through the exact check.
Hashes are never removed: a deleted key's hash only sends a later batch holding that
key through the exact check again.
"""

from __future__ import annotations

import numpy as np


class KeyHashes:
    """Sorted runs of uint64 hashes (merged as they grow) and the row count they describe.

    ``rows`` is the number of events the store held when the hashes were complete; the
    store compares it with its row count before trusting them, so rows written or
    deleted by anything else send it back to a full scan.
    """

    def __init__(self, hashes: np.ndarray, rows: int) -> None:
        self.runs: list[np.ndarray] = [np.sort(hashes)] if len(hashes) else []
        self.rows = rows

    def any_of(self, ordered: np.ndarray) -> bool:
        """True when one of the sorted hashes ``ordered`` may belong to a stored key.

        Searching a big run for sorted keys walks it in order (5-6x faster than
        random keys on runs of 1-10 million hashes).
        """
        for run in self.runs:
            at = np.searchsorted(run, ordered)
            at[at == len(run)] = len(run) - 1
            if bool((run[at] == ordered).any()):
                return True
        return False

    def add(self, ordered: np.ndarray, rows: int) -> None:
        """Remember the sorted hashes ``ordered`` (a superset of the keys just stored)
        and ``rows`` more rows.

        Runs are merged while the newer one is at least half the older's size, so
        there are O(log n) of them and each hash is copied O(log n) times.
        """
        self.rows += rows
        if len(ordered):
            self.runs.append(ordered)
        while len(self.runs) > 1 and 2 * len(self.runs[-1]) >= len(self.runs[-2]):
            newer = self.runs.pop()
            merged = np.concatenate([self.runs.pop(), newer])
            del newer
            # two sorted runs: a stable sort (in place) of their concatenation merges them
            # in O(n), with half a run of scratch
            merged.sort(kind="stable")
            self.runs.append(merged)
