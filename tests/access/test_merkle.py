"""The Merkle tree against RFC 6962/9162 known answers, and its proofs under random trees."""

from __future__ import annotations

import hashlib

from hypothesis import given, settings
from hypothesis import strategies as st

from fairengage.access import merkle

# The leaves of the reference test vectors of Certificate Transparency's implementations.
LEAVES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    b"\x50\x51\x52\x53\x54\x55\x56\x57",
    bytes(range(0x60, 0x70)),
]
# Their published roots for the trees of the first 1 … 8 leaves.
ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
HASHES = [merkle.leaf_hash(leaf) for leaf in LEAVES]


def sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def test_small_trees_by_hand():
    # Size 1: the leaf hash of the empty string, SHA-256(0x00).
    assert sha(b"\x00").hex() == ROOTS[0]
    # Size 2: one node over the two leaves.
    two = sha(b"\x01" + sha(b"\x00") + sha(b"\x00\x00"))
    assert two.hex() == ROOTS[1]
    # Size 3: the first two leaves' node, then the third leaf alone on the right (RFC 9162 §2.1.1).
    three = sha(b"\x01" + two + sha(b"\x00\x10"))
    assert three.hex() == ROOTS[2]
    # Size 5: the complete tree of four on the left, the fifth leaf on the right.
    four = sha(b"\x01" + two + sha(b"\x01" + sha(b"\x00\x10") + sha(b"\x00\x20\x21")))
    assert four.hex() == ROOTS[3]
    assert sha(b"\x01" + four + sha(b"\x00\x30\x31")).hex() == ROOTS[4]


def test_known_roots_of_sizes_one_to_eight():
    for n in range(1, 9):
        assert merkle.root_of(HASHES[:n]).hex() == ROOTS[n - 1], n


def test_the_frontier_gives_the_same_roots_and_every_complete_subtree():
    tree = merkle.Frontier()
    made = {}
    for n, leaf in enumerate(HASHES, start=1):
        for level, index, h in tree.push(leaf):
            made[(level, index)] = h
        assert tree.root().hex() == ROOTS[n - 1]
    assert made[(3, 0)].hex() == ROOTS[7] and made[(2, 1)] == merkle.root_of(HASHES[4:8])
    assert len(made) == 8 + 4 + 2 + 1


def test_known_inclusion_and_consistency_proofs():
    nodes = merkle.memory_nodes(HASHES)
    # RFC 9162 §2.1.5's example tree of seven leaves: leaf d0's path is [b, h, l] in its figure.
    path = merkle.range_hashes(merkle.inclusion_ranges(0, 7), nodes)
    assert path == [HASHES[1], merkle.root_of(HASHES[2:4]), merkle.root_of(HASHES[4:7])]
    # Consistency of the first three leaves with all seven: [c, d, g, l].
    proof = merkle.range_hashes(merkle.consistency_ranges(3, 7), nodes)
    assert proof == [HASHES[2], HASHES[3], merkle.root_of(HASHES[:2]), merkle.root_of(HASHES[4:7])]
    # Of four with seven: only [l], the first tree being a complete subtree.
    assert merkle.range_hashes(merkle.consistency_ranges(4, 7), nodes) == [merkle.root_of(HASHES[4:7])]
    assert merkle.verify_consistency(4, 7, bytes.fromhex(ROOTS[3]), bytes.fromhex(ROOTS[6]), proof[-1:])


def test_edges():
    assert merkle.root_of([]) == merkle.EMPTY_ROOT == sha(b"")
    assert merkle.verify_consistency(0, 5, merkle.EMPTY_ROOT, bytes.fromhex(ROOTS[4]), [])
    assert merkle.verify_consistency(5, 5, bytes.fromhex(ROOTS[4]), bytes.fromhex(ROOTS[4]), [])
    assert not merkle.verify_consistency(5, 5, bytes.fromhex(ROOTS[4]), bytes.fromhex(ROOTS[3]), [])
    assert not merkle.verify_consistency(6, 5, bytes.fromhex(ROOTS[4]), bytes.fromhex(ROOTS[4]), [])
    assert not merkle.verify_inclusion(5, 5, HASHES[0], [], bytes.fromhex(ROOTS[4]))
    assert merkle.verify_inclusion(0, 1, HASHES[0], [], bytes.fromhex(ROOTS[0]))


def flipped(proof: list[bytes], which: int, bit: int) -> list[bytes]:
    out = list(proof)
    item = bytearray(out[which])
    item[bit // 8 % 32] ^= 1 << (bit % 8)
    out[which] = bytes(item)
    return out


# Distinct leaves, so that a proof for one place can never honestly hold for another.
trees = st.lists(st.binary(max_size=8), min_size=1, max_size=70, unique=True)


@settings(max_examples=150, deadline=None)
@given(trees, st.data())
def test_every_inclusion_proof_verifies_and_a_flipped_bit_fails(leaves, data):
    hashes = [merkle.leaf_hash(leaf) for leaf in leaves]
    size = data.draw(st.integers(1, len(hashes)))
    index = data.draw(st.integers(0, size - 1))
    root = merkle.root_of(hashes[:size])
    proof = merkle.range_hashes(merkle.inclusion_ranges(index, size), merkle.memory_nodes(hashes))
    assert merkle.verify_inclusion(index, size, hashes[index], proof, root)
    bit = data.draw(st.integers(0, 255))
    assert not merkle.verify_inclusion(index, size, flipped([hashes[index]], 0, bit)[0], proof, root)
    assert not merkle.verify_inclusion(index, size, hashes[index], proof, flipped([root], 0, bit)[0])
    if proof:
        which = data.draw(st.integers(0, len(proof) - 1))
        assert not merkle.verify_inclusion(index, size, hashes[index], flipped(proof, which, bit), root)
        assert not merkle.verify_inclusion(index, size, hashes[index], proof[:-1], root)
    if size > 1:
        # The same proof does not prove the leaf at another place.
        other = (index + 1) % size
        assert not merkle.verify_inclusion(other, size, hashes[index], proof, root)


@settings(max_examples=150, deadline=None)
@given(trees, st.data())
def test_every_consistency_proof_verifies_and_a_flipped_bit_fails(leaves, data):
    hashes = [merkle.leaf_hash(leaf) for leaf in leaves]
    second = data.draw(st.integers(1, len(hashes)))
    first = data.draw(st.integers(1, second))
    r1, r2 = merkle.root_of(hashes[:first]), merkle.root_of(hashes[:second])
    proof = merkle.range_hashes(merkle.consistency_ranges(first, second), merkle.memory_nodes(hashes))
    assert merkle.verify_consistency(first, second, r1, r2, proof)
    bit = data.draw(st.integers(0, 255))
    if first != second:
        assert not merkle.verify_consistency(first, second, flipped([r1], 0, bit)[0], r2, proof)
        assert not merkle.verify_consistency(first, second, r1, flipped([r2], 0, bit)[0], proof)
    if proof:
        which = data.draw(st.integers(0, len(proof) - 1))
        assert not merkle.verify_consistency(first, second, r1, r2, flipped(proof, which, bit))


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 300), st.data())
def test_tiles_of_proof_ranges_fold_to_the_subtree_root(size, data):
    hashes = [merkle.leaf_hash(i.to_bytes(2, "big")) for i in range(size)]
    first = data.draw(st.integers(0, size))
    index = data.draw(st.integers(0, size - 1))
    for a, b in merkle.consistency_ranges(first, size) + merkle.inclusion_ranges(index, size):
        tiled = [merkle.root_of(hashes[i << lv : (i + 1) << lv]) for lv, i in merkle.tiles(a, b)]
        assert merkle.fold(tiled) == merkle.root_of(hashes[a:b])
