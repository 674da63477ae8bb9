"""Merkle tree hashing, proofs and their verifiers, as in Certificate Transparency (RFC 9162 §2.1).

A leaf's hash is SHA-256(0x00 || leaf bytes) and an interior node's SHA-256(0x01 || left || right);
a tree of n leaves splits at the largest power of two below n. Proofs are built from "ranges":
the subtrees D[a:b] whose hashes a proof lists. Any range a proof needs starts at a multiple of a
power of two at least as large as itself, so its hash is the right fold of the complete, aligned
subtrees that tile it (`tiles`); a store of complete-subtree hashes therefore answers every proof
in O(log n) reads (audit_tree, see transparency.py). Pure functions here; no database.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

Hash = bytes
EMPTY_ROOT = hashlib.sha256(b"").digest()
# Reads the hashes of complete subtrees, given as (level, index) pairs, in one go.
NodeReader = Callable[[set[tuple[int, int]]], dict[tuple[int, int], Hash]]


def leaf_hash(data: bytes) -> Hash:
    """The hash of one leaf: SHA-256 of 0x00 and its bytes."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: Hash, right: Hash) -> Hash:
    """The hash of an interior node: SHA-256 of 0x01, the left child's hash and the right's."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def split(n: int) -> int:
    """The largest power of two smaller than n (n > 1): where RFC 9162 splits a tree of n leaves."""
    return 1 << ((n - 1).bit_length() - 1)


def tiles(a: int, b: int) -> list[tuple[int, int]]:
    """The complete aligned subtrees tiling D[a:b], largest first, as (level, index) pairs."""
    out = []
    while a < b:
        level = (b - a).bit_length() - 1
        # The largest complete subtree that starts at a (a must be a multiple of its width).
        while a % (1 << level):
            level -= 1
        out.append((level, a >> level))
        a += 1 << level
    return out


def fold(hashes: Sequence[Hash]) -> Hash:
    """The root of consecutive complete subtrees of decreasing size: their right fold."""
    if not hashes:
        return EMPTY_ROOT
    root = hashes[-1]
    for left in reversed(hashes[:-1]):
        root = node_hash(left, root)
    return root


def root_of(leaf_hashes: Sequence[Hash]) -> Hash:
    """The Merkle tree hash of a list of leaf hashes (MTH in RFC 9162 §2.1.1)."""
    if not leaf_hashes:
        return EMPTY_ROOT
    if len(leaf_hashes) == 1:
        return leaf_hashes[0]
    k = split(len(leaf_hashes))
    return node_hash(root_of(leaf_hashes[:k]), root_of(leaf_hashes[k:]))


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """The subtrees whose hashes prove leaf `index` in the tree of `size` leaves, leaf side first."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of {size}")
    out: list[tuple[int, int]] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = split(hi - lo)
        if index < lo + k:
            out.append((lo + k, hi))
            hi = lo + k
        else:
            out.append((lo, lo + k))
            lo = lo + k
    out.reverse()
    return out


def consistency_ranges(first: int, second: int) -> list[tuple[int, int]]:
    """The subtrees whose hashes prove the tree of `first` leaves a prefix of that of `second`."""
    if not 0 <= first <= second:
        raise ValueError(f"no consistency proof from size {first} to size {second}")
    if first in (0, second):
        return []
    out: list[tuple[int, int]] = []
    lo, hi, m, whole = 0, second, first, True
    # RFC 9162 §2.1.4.1 SUBPROOF, unrolled: `whole` is its flag b.
    while m != hi - lo:
        k = split(hi - lo)
        if m <= k:
            out.append((lo + k, hi))
            hi = lo + k
        else:
            out.append((lo, lo + k))
            lo, m, whole = lo + k, m - k, False
    if not whole:
        out.append((lo, hi))
    out.reverse()
    return out


def range_hashes(ranges: Sequence[tuple[int, int]], nodes: NodeReader) -> list[Hash]:
    """The hashes of `ranges`, reading every complete subtree they need from `nodes` in one call."""
    tiled = [tiles(a, b) for a, b in ranges]
    known = nodes({tile for tiling in tiled for tile in tiling})
    return [fold([known[tile] for tile in tiling]) for tiling in tiled]


def memory_nodes(leaf_hashes: Sequence[Hash]) -> NodeReader:
    """A node reader over leaf hashes held in memory (for tests and small offline checks)."""

    def read(wanted: set[tuple[int, int]]) -> dict[tuple[int, int], Hash]:
        return {
            (level, index): root_of(leaf_hashes[index << level : (index + 1) << level])
            for level, index in wanted
        }

    return read


def verify_inclusion(index: int, size: int, leaf: Hash, proof: Sequence[Hash], root: Hash) -> bool:
    """RFC 9162 §2.1.3.2: does `proof` show leaf hash `leaf` at `index` in the tree with `root`?"""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    first: int, second: int, first_root: Hash, second_root: Hash, proof: Sequence[Hash]
) -> bool:
    """RFC 9162 §2.1.4.2: does `proof` show the tree of `first` leaves a prefix of that of `second`?"""
    if not 0 <= first <= second:
        return False
    if first == 0:
        # Every log extends the empty one.
        return not proof
    if first == second:
        return not proof and first_root == second_root
    path = list(proof)
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    if not path:
        return False
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == first_root and sr == second_root


class Frontier:
    """The roots of the complete subtrees of a growing tree, largest first: appends in O(1) amortised.

    `push` returns the complete subtrees each leaf completes, (level, index, hash), for a node store.
    """

    def __init__(self, size: int = 0, roots: Sequence[Hash] = ()) -> None:
        if len(roots) != bin(size).count("1"):
            raise ValueError(f"a tree of {size} leaves cannot have {len(roots)} complete subtrees")
        self.size = size
        self.roots = list(roots)

    def push(self, leaf: Hash) -> list[tuple[int, int, Hash]]:
        """Add a leaf hash; the (level, index, hash) of every subtree it completes."""
        made = [(0, self.size, leaf)]
        h, level, index = leaf, 0, self.size
        # Each trailing 1 bit of the old size is a subtree of equal width that the new one joins.
        n = self.size
        while n & 1:
            h = node_hash(self.roots.pop(), h)
            level += 1
            index >>= 1
            n >>= 1
            made.append((level, index, h))
        self.roots.append(h)
        self.size += 1
        return made

    def root(self) -> Hash:
        """The tree's root hash."""
        return fold(self.roots)
