"""The consent log's Merkle tree, as RFC 9162 §2.1 defines it (the hashing of RFC 6962).

A tree is read through ``get(level, index)``: the hash of the complete subtree of
``2**level`` leaves that starts at leaf ``index * 2**level``. The database stores those
nodes (storage.py); ``Levels`` holds them in memory for a verifier that recomputes a
whole tree. Every other hash, proof and check is computed from them by the functions
below, which follow the RFC's definitions (MTH, PATH, PROOF) and its verification
algorithms (§2.1.3.2, §2.1.4.2) step by step.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

Get = Callable[[int, int], bytes]
EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(leaf: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def subtree_hash(get: Get, start: int, end: int) -> bytes:
    """MTH(D[start:end]) for the ranges the RFC's recursion produces (start aligned)."""
    n = end - start
    if n == 0:
        return EMPTY_ROOT
    if n & (n - 1) == 0:  # a complete subtree: stored
        level = n.bit_length() - 1
        return get(level, start >> level)
    k = _split(n)
    return node_hash(subtree_hash(get, start, start + k), subtree_hash(get, start + k, end))


def root(get: Get, size: int) -> bytes:
    return subtree_hash(get, 0, size)


def inclusion_proof(get: Get, index: int, size: int) -> list[bytes]:
    """PATH(index, D[0:size]): the audit path of one leaf, from the leaf up."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of {size}")
    path: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            path.append(subtree_hash(get, start + k, end))
            end = start + k
        else:
            path.append(subtree_hash(get, start, start + k))
            start += k
    return path[::-1]


def consistency_proof(get: Get, old: int, new: int) -> list[bytes]:
    """PROOF(old, D[0:new]): that the tree of ``old`` leaves is a prefix of the tree of ``new``."""
    if not 0 <= old <= new:
        raise ValueError(f"no consistency proof from {old} to {new}")
    if old == 0 or old == new:
        return []
    proof: list[bytes] = []
    start, end, m, complete = 0, new, old, True
    while m != end - start:
        k = _split(end - start)
        if m <= k:
            proof.append(subtree_hash(get, start + k, end))
            end = start + k
        else:
            proof.append(subtree_hash(get, start, start + k))
            start, m, complete = start + k, m - k, False
    if not complete:
        proof.append(subtree_hash(get, start, end))
    return proof[::-1]


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes], root_hash: bytes) -> bool:
    """RFC 9162 §2.1.3.2: does ``proof`` take leaf hash ``leaf`` at ``index`` to ``root_hash``?"""
    if index >= size or index < 0:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root_hash


def verify_consistency(old: int, new: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]) -> bool:
    """RFC 9162 §2.1.4.2: is the tree of ``old`` leaves (``old_root``) a prefix of the tree of
    ``new`` leaves (``new_root``)?"""
    if old < 0 or old > new:
        return False
    if old == new:
        return not proof and old_root == new_root
    if old == 0:
        return not proof
    if not proof:
        return False
    path = list(proof)
    if old & (old - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return fr == old_root and sr == new_root and sn == 0


def append(get: Get, size: int, leaf: bytes) -> list[tuple[int, int, bytes]]:
    """The complete nodes that adding leaf hash ``leaf`` to a tree of ``size`` leaves creates,
    as (level, index, hash), the leaf first; ``get`` reads the existing ones."""
    added = [(0, size, leaf)]
    level, index, digest = 0, size, leaf
    while index & 1:
        digest = node_hash(get(level, index - 1), digest)
        level, index = level + 1, index >> 1
        added.append((level, index, digest))
    return added


class Levels:
    """Every complete subtree's hash of a tree held in memory: a verifier's copy of the log."""

    def __init__(self, leaf_hashes: Sequence[bytes] = ()) -> None:
        self.levels: list[list[bytes]] = [[]]
        for h in leaf_hashes:
            self.append(h)

    @property
    def size(self) -> int:
        return len(self.levels[0])

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Add a leaf hash; the new complete nodes, as (level, index, hash), the leaf first."""
        added = append(self.get, self.size, leaf)
        for level, _, digest in added:
            if len(self.levels) == level:
                self.levels.append([])
            self.levels[level].append(digest)
        return added

    def get(self, level: int, index: int) -> bytes:
        return self.levels[level][index]

    def root(self, size: int | None = None) -> bytes:
        return root(self.get, self.size if size is None else size)
