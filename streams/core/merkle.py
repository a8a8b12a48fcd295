"""The RFC 6962 / RFC 9162 Merkle tree over audit records: root, proofs, proof checks.

Pure: no I/O. Leaves are given as their 32-byte leaf hashes (``SHA-256(0x00 || record)``, see
``streams.core.audit.leaf_hash``); interior nodes are ``SHA-256(0x01 || left || right)``; the
root of the empty tree is ``SHA-256("")``. Sizes and indexes are unsigned 64-bit integers, as
in the specifications: anything outside ``0 .. 2**64-1`` is refused.

Proof checks raise :class:`ProofError` with a short reason, or return ``None``. Besides the
RFC 9162 inclusion and consistency proofs, the *subtree* variants (a leaf in, or consistency of,
an aligned subtree ``[start, end)`` of a larger tree, as used by Merkle Tree Certificates) are
implemented, so every conformance vector of the transparency-dev/merkle project can be run.

Generating proofs needs all leaf hashes up to the tree size (this log is read from a database
that has them); :class:`CompactRange` keeps the root of a growing log in O(log n) memory.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from streams.errors import DouaneError

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
_U64 = 1 << 64


class ProofError(DouaneError, ValueError):
    """A proof does not verify (or its parameters are impossible)."""


def hash_leaf(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def hash_children(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _u64(name: str, value: int) -> None:
    if not 0 <= value < _U64:
        raise ProofError(f"{name} {value} is not an unsigned 64-bit integer")


def _split(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (``n >= 2``)."""
    return 1 << ((n - 1).bit_length() - 1)


# --------------------------------------------------------------------------- building


def root(leaves: Sequence[bytes]) -> bytes:
    """MTH(D[n]) of RFC 9162 section 2.1.1, from leaf hashes."""
    compact = CompactRange()
    for leaf in leaves:
        compact.append(leaf)
    return compact.root()


class MerkleTree:
    """All perfect subtree hashes of a list of leaves, for O(log^2 n) proofs of any size <= n."""

    def __init__(self, leaves: Sequence[bytes]) -> None:
        self.levels: list[list[bytes]] = [list(leaves)]
        while len(self.levels[-1]) > 1:
            below = self.levels[-1]
            self.levels.append([hash_children(below[i], below[i + 1])
                                for i in range(0, len(below) - 1, 2)])

    @property
    def size(self) -> int:
        return len(self.levels[0])

    def subtree_root(self, lo: int, hi: int) -> bytes:
        """MTH of leaves [lo, hi): perfect aligned subtrees are looked up, the rest split."""
        width = hi - lo
        if width & (width - 1) == 0:  # a power of two, aligned in every RFC 9162 recursion
            height = width.bit_length() - 1
            return self.levels[height][lo >> height]
        mid = lo + _split(width)
        return hash_children(self.subtree_root(lo, mid), self.subtree_root(mid, hi))

    def root(self, size: int | None = None) -> bytes:
        size = self.size if size is None else size
        return EMPTY_ROOT if size == 0 else self.subtree_root(0, size)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """PATH(index, D[size]) (RFC 9162 section 2.1.3.1): siblings from the leaf upwards."""
        size = self.size if size is None else size
        if not 0 <= index < size <= self.size:
            raise ProofError(f"leaf index {index} is not in a tree of size {size}")
        path: list[bytes] = []
        lo, hi = 0, size
        while hi - lo > 1:  # walk down, collecting the sibling of each subtree we enter
            mid = lo + _split(hi - lo)
            if index < mid:
                path.append(self.subtree_root(mid, hi))
                hi = mid
            else:
                path.append(self.subtree_root(lo, mid))
                lo = mid
        path.reverse()
        return path

    def consistency_proof(self, size1: int, size2: int | None = None) -> list[bytes]:
        """PROOF(size1, D[size2]) (RFC 9162 section 2.1.4.1), ``0 < size1 <= size2``."""
        size2 = self.size if size2 is None else size2
        if not 0 < size1 <= size2 <= self.size:
            raise ProofError(f"no consistency proof from size {size1} to size {size2}")
        if size1 == size2:
            return []
        proof: list[bytes] = []
        lo, hi, m, complete = 0, size2, size1, True  # SUBPROOF(m, D[lo:hi], complete)
        while True:
            if m == hi - lo:
                if not complete:
                    proof.append(self.subtree_root(lo, hi))
                break
            k = _split(hi - lo)
            if m <= k:
                proof.append(self.subtree_root(lo + k, hi))
                hi = lo + k
            else:
                proof.append(self.subtree_root(lo, lo + k))
                lo, m, complete = lo + k, m - k, False
        proof.reverse()
        return proof


def inclusion_proof(index: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PATH(index, D[n]) for the tree of all ``leaves``."""
    return MerkleTree(leaves).inclusion_proof(index)


def consistency_proof(size1: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PROOF(size1, D[n]) for the tree of all ``leaves``."""
    return MerkleTree(leaves).consistency_proof(size1)


class CompactRange:
    """The roots of the perfect subtrees covering leaves ``[0, size)``: a growing log's state."""

    def __init__(self) -> None:
        self.size = 0
        self._stack: list[bytes] = []  # one hash per set bit of size, largest subtree first

    def append(self, leaf: bytes) -> None:
        node, size = leaf, self.size
        while size & 1:  # merge equal-height subtrees, like carrying in binary addition
            node = hash_children(self._stack.pop(), node)
            size >>= 1
        self._stack.append(node)
        self.size += 1

    def root(self) -> bytes:
        if not self._stack:
            return EMPTY_ROOT
        node = self._stack[-1]
        for left in reversed(self._stack[:-1]):
            node = hash_children(left, node)
        return node

    def copy(self) -> CompactRange:
        other = CompactRange()
        other.size, other._stack = self.size, list(self._stack)
        return other


# --------------------------------------------------------------------------- verifying


def _inner_size(index: int, size: int) -> int:
    """Number of proof levels below the point where the paths to ``index`` and ``size-1`` meet."""
    return (index ^ (size - 1)).bit_length()


def _chain_inner(seed: bytes, proof: Sequence[bytes], index: int) -> bytes:
    for level, sibling in enumerate(proof):
        right_child = (index >> level) & 1
        seed = hash_children(sibling, seed) if right_child else hash_children(seed, sibling)
    return seed


def _chain_inner_right(seed: bytes, proof: Sequence[bytes], index: int) -> bytes:
    """Like _chain_inner, using left siblings only: the node as it was before the right grew."""
    for level, sibling in enumerate(proof):
        if (index >> level) & 1:
            seed = hash_children(sibling, seed)
    return seed


def _chain_border_right(seed: bytes, proof: Sequence[bytes]) -> bytes:
    for sibling in proof:
        seed = hash_children(sibling, seed)
    return seed


def _check_hashes(proof: Sequence[bytes] | None, *named: tuple[str, bytes]) -> list[bytes]:
    for name, value in named:
        if len(value) != HASH_SIZE:
            raise ProofError(f"{name} is {len(value)} bytes, not {HASH_SIZE}")
    nodes = list(proof or [])
    for i, node in enumerate(nodes):
        if len(node) != HASH_SIZE:
            raise ProofError(f"proof node {i} is {len(node)} bytes, not {HASH_SIZE}")
    return nodes


def _match(calculated: bytes, expected: bytes, what: str) -> None:
    if calculated != expected:
        raise ProofError(f"{what} does not match: calculated {calculated.hex()[:16]}..., "
                         f"expected {expected.hex()[:16]}...")


def root_from_inclusion_proof(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes] | None
) -> bytes:
    """The root that ``proof`` leads to from leaf hash ``leaf`` at ``index`` (``index < size``)."""
    _u64("leaf index", index)
    _u64("tree size", size)
    if index >= size:
        raise ProofError(f"leaf index {index} is not in a tree of size {size}")
    nodes = _check_hashes(proof, ("leaf hash", leaf))
    inner = _inner_size(index, size)
    border = bin(index >> inner).count("1")
    if len(nodes) != inner + border:
        raise ProofError(f"inclusion proof has {len(nodes)} nodes, expected {inner + border}")
    return _chain_border_right(_chain_inner(leaf, nodes[:inner], index), nodes[inner:])


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes] | None, root_hash: bytes
) -> None:
    """RFC 9162 section 2.1.3.2. Raises ProofError unless the leaf is in the tree."""
    _match(root_from_inclusion_proof(index, size, leaf, proof), root_hash, "root hash")


def verify_consistency(
    size1: int, size2: int, proof: Sequence[bytes] | None, root1: bytes, root2: bytes
) -> None:
    """RFC 9162 section 2.1.4.2: the tree (size2, root2) extends (size1, root1).

    Roots are compared, not parsed: their length is not checked (as in the reference code).

    ``size1 == 0`` is refused: every tree extends the empty tree, so such a check proves
    nothing and is most likely a caller's mistake.
    """
    _u64("size1", size1)
    _u64("size2", size2)
    nodes = _check_hashes(proof)
    if size2 < size1:
        raise ProofError(f"size2 {size2} is smaller than size1 {size1}")
    if size1 == 0:
        raise ProofError("a consistency proof from the empty tree proves nothing")
    if size1 == size2:
        if nodes:
            raise ProofError("equal sizes need an empty proof")
        _match(root1, root2, "roots of equal-size trees")
        return
    if not nodes:
        raise ProofError("empty consistency proof")
    _match(_root_from_subtree_consistency(0, size1, size2, nodes, root1), root2, "second root")


def subtree_valid(start: int, end: int) -> None:
    """``[start, end)`` must be a subtree: ``start`` a multiple of bit_ceil(end - start)."""
    _u64("start", start)
    _u64("end", end)
    if start > end:
        raise ProofError(f"subtree start {start} is after its end {end}")
    if start == 0 or start == end:
        return
    width = end - start
    ceiling = 1 << (width - 1).bit_length()
    if start % ceiling:
        raise ProofError(f"subtree start {start} is not a multiple of {ceiling}")


def verify_subtree_inclusion(
    index: int, start: int, end: int, leaf: bytes, proof: Sequence[bytes] | None, root_hash: bytes
) -> None:
    """Leaf ``index`` is in the subtree ``[start, end)`` whose root is ``root_hash``."""
    subtree_valid(start, end)
    _u64("leaf index", index)
    if not start <= index < end:
        raise ProofError(f"leaf index {index} is outside the subtree [{start}, {end})")
    verify_inclusion(index - start, end - start, leaf, proof, root_hash)


def verify_subtree_consistency(
    start: int, end: int, size: int, proof: Sequence[bytes] | None,
    sub_root: bytes, tree_root: bytes,
) -> None:
    """The subtree ``[start, end)`` with root ``sub_root`` is part of (size, tree_root)."""
    _u64("size", size)
    nodes = _check_hashes(proof)
    subtree_valid(start, end)
    if end > size:
        raise ProofError(f"subtree end {end} is beyond the tree size {size}")
    if start == end:
        if nodes:
            raise ProofError("an empty subtree needs an empty proof")
        _match(sub_root, EMPTY_ROOT, "empty subtree root")
        return
    if start == 0 and end == size:
        if nodes:
            raise ProofError("the whole tree as subtree needs an empty proof")
        _match(sub_root, tree_root, "tree root")
        return
    if not nodes:
        raise ProofError("empty consistency proof")
    _match(_root_from_subtree_consistency(start, end, size, nodes, sub_root), tree_root,
           "tree root")


def _root_from_subtree_consistency(
    start: int, end: int, size: int, proof: list[bytes], sub_root: bytes
) -> bytes:
    """The tree root (size) from a subtree [start, end) of it, checking the subtree's root.

    The classic consistency proof is the case ``start == 0``. The proof is the suffix of the
    inclusion proof of leaf ``end-1`` in the tree of ``size`` leaves, starting at the height of
    the rightmost perfect subtree inside ``[start, end)``; it is preceded by that subtree's root
    unless ``[start, end)`` is itself perfect (then the caller knows it: ``sub_root``).
    """
    height = ((end - 1) ^ start).bit_length()  # height of the subtree [start, end)
    if end == size:  # the subtree lies on the right border: only left siblings above it
        expected = bin(start >> height).count("1")
        if len(proof) != expected:
            raise ProofError(f"consistency proof has {len(proof)} nodes, expected {expected}")
        return _chain_border_right(sub_root, proof)

    fork = _inner_size(end - 1, size)  # where the paths to end-1 and size-1 meet
    border = bin((end - 1) >> fork).count("1")
    shift = ((end - start) & -(end - start)).bit_length() - 1  # trailing zeros of end-start
    perfect = end - start == 1 << shift
    seed, rest = (sub_root, proof) if perfect else (proof[0], proof[1:])
    inner = fork - shift
    if len(rest) != inner + border:
        expected = inner + border + (0 if perfect else 1)
        raise ProofError(f"consistency proof has {len(proof)} nodes, expected {expected}")
    mask = (end - 1) >> shift

    if not perfect:  # the proof's first nodes must rebuild the subtree root we were given
        sub_inner = min(height, fork) - shift
        sub_border = max(0, border - bin((end - 1) >> height).count("1"))
        first = _chain_inner_right(seed, rest[:sub_inner], mask)
        first = _chain_border_right(first, rest[inner:inner + sub_border])
        _match(first, sub_root, "first root")

    second = _chain_inner(seed, rest[:inner], mask)
    return _chain_border_right(second, rest[inner:])
