"""The RFC 6962/9162 Merkle tree: every transparency-dev/merkle vector, plus our own proofs.

The vectors live in the repository, in ``tests/vectors/transparency-dev-merkle/testdata``
(copied from upstream, Apache-2.0: see the LICENSE and README files next to it). Each JSON file
is one probe: parameters, a ``desc`` and ``wantErr``. A probe that should fail must raise
ProofError, one that should pass must not. Missing vectors fail the tests, never skip them.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from streams.core import merkle
from streams.core.merkle import ProofError

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "transparency-dev-merkle" / "testdata"
KINDS = ("inclusion", "consistency", "subtreeinclusion", "subtreeconsistency")
# How many probes the copied upstream commit holds (tests/vectors/.../README.md names it):
# a partial copy fails here instead of quietly testing less.
EXPECTED = {"inclusion": 98, "consistency": 98, "subtreeinclusion": 204, "subtreeconsistency": 118}


def probes(kind: str) -> list[Any]:
    found = sorted((VECTORS / kind).rglob("*.json"))
    if not found:  # one failing case, not an empty (skipped) parameter set
        return [pytest.param(None, id=f"{kind}-vectors-missing")]
    return [pytest.param(path, id=str(path.relative_to(VECTORS))) for path in found]


def b64(value: str | None) -> bytes:
    return base64.b64decode(value) if value else b""


def nodes(value: list[str] | None) -> list[bytes] | None:
    return None if value is None else [b64(node) for node in value]


def run(kind: str, path: Path | None) -> None:
    if path is None:
        pytest.fail(f"no {kind} conformance vectors under {VECTORS}")
    p = json.loads(path.read_text())
    try:
        if kind == "inclusion":
            merkle.verify_inclusion(p["leafIdx"], p["treeSize"], b64(p["leafHash"]),
                                    nodes(p["proof"]), b64(p["root"]))
        elif kind == "consistency":
            merkle.verify_consistency(p["size1"], p["size2"], nodes(p["proof"]),
                                      b64(p["root1"]), b64(p["root2"]))
        elif kind == "subtreeinclusion":
            merkle.verify_subtree_inclusion(p["leafIdx"], p["start"], p["end"],
                                            b64(p["leafHash"]), nodes(p["proof"]), b64(p["root"]))
        else:
            merkle.verify_subtree_consistency(p["start"], p["end"], p["size"], nodes(p["proof"]),
                                              b64(p["root1"]), b64(p["root2"]))
    except ProofError as error:
        assert p["wantErr"], f"{p['desc']}: unexpected error: {error}"
    else:
        assert not p["wantErr"], f"{p['desc']}: verified but should have failed"


def test_the_vector_folder_holds_what_we_expect() -> None:
    assert VECTORS.is_dir(), f"conformance vectors not found at {VECTORS}"
    assert (VECTORS.parent / "LICENSE").is_file(), "the vectors' Apache-2.0 LICENSE is missing"
    counts = {kind: len(list((VECTORS / kind).rglob("*.json"))) for kind in KINDS}
    assert counts == EXPECTED
    # happy paths exist in every family, so a verifier that fails everything cannot pass
    for kind in counts:
        passing = [p for p in (VECTORS / kind).rglob("*.json")
                   if not json.loads(p.read_text())["wantErr"]]
        assert len(passing) >= 4, kind


@pytest.mark.parametrize("path", probes("inclusion"))
def test_inclusion_vectors(path: Path | None) -> None:
    run("inclusion", path)


@pytest.mark.parametrize("path", probes("consistency"))
def test_consistency_vectors(path: Path | None) -> None:
    run("consistency", path)


@pytest.mark.parametrize("path", probes("subtreeinclusion"))
def test_subtree_inclusion_vectors(path: Path | None) -> None:
    run("subtreeinclusion", path)


@pytest.mark.parametrize("path", probes("subtreeconsistency"))
def test_subtree_consistency_vectors(path: Path | None) -> None:
    run("subtreeconsistency", path)


# --- our own proofs, against a naive recursive reference -----------------------------------


def reference_root(leaves: list[bytes]) -> bytes:
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return merkle.hash_children(reference_root(leaves[:k]), reference_root(leaves[k:]))


LEAVES = [merkle.hash_leaf(f"record {i}".encode()) for i in range(40)]


def test_rfc6962_reference_roots() -> None:
    # The 8-leaf test tree of RFC 6962 / certificate-transparency (leaf data 0x, 00, 10, ...).
    data = [b"", b"\x00", b"\x10", b"\x20\x21", b"\x30\x31", b"\x40\x41\x42\x43",
            b"\x50\x51\x52\x53\x54\x55\x56\x57", b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69"
            b"\x6a\x6b\x6c\x6d\x6e\x6f"]
    leaves = [merkle.hash_leaf(d) for d in data]
    assert merkle.root(leaves).hex() == (
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328")
    assert merkle.root([]) == merkle.EMPTY_ROOT


@pytest.mark.parametrize("size", range(0, 40))
def test_root_and_compact_range_match_the_reference(size: int) -> None:
    compact = merkle.CompactRange()
    for leaf in LEAVES[:size]:
        compact.append(leaf)
    assert merkle.root(LEAVES[:size]) == compact.root() == reference_root(LEAVES[:size])


@pytest.mark.parametrize("size", range(1, 34))
def test_every_inclusion_proof_verifies_and_a_wrong_one_does_not(size: int) -> None:
    leaves, root = LEAVES[:size], merkle.root(LEAVES[:size])
    for index in range(size):
        proof = merkle.inclusion_proof(index, leaves)
        merkle.verify_inclusion(index, size, leaves[index], proof, root)
        with pytest.raises(ProofError):
            merkle.verify_inclusion(index, size, LEAVES[39], proof, root)
        if proof:
            bad = [proof[0][:-1] + bytes([proof[0][-1] ^ 1]), *proof[1:]]
            with pytest.raises(ProofError):
                merkle.verify_inclusion(index, size, leaves[index], bad, root)


@pytest.mark.parametrize("size2", range(1, 34))
def test_every_consistency_proof_verifies_and_a_fork_does_not(size2: int) -> None:
    root2 = merkle.root(LEAVES[:size2])
    for size1 in range(1, size2 + 1):
        proof = merkle.consistency_proof(size1, LEAVES[:size2])
        merkle.verify_consistency(size1, size2, proof, merkle.root(LEAVES[:size1]), root2)
        forked = [*LEAVES[: size1 - 1], merkle.hash_leaf(b"forged")]
        with pytest.raises(ProofError):
            merkle.verify_consistency(size1, size2, proof, merkle.root(forked), root2)


def test_bad_parameters_are_proof_errors() -> None:
    with pytest.raises(ProofError):
        merkle.inclusion_proof(3, LEAVES[:3])
    with pytest.raises(ProofError):
        merkle.consistency_proof(0, LEAVES[:3])
    with pytest.raises(ProofError):
        merkle.verify_inclusion(-1, 3, LEAVES[0], [], merkle.root(LEAVES[:3]))
    with pytest.raises(ProofError):
        merkle.verify_consistency(4, 3, [], LEAVES[0], LEAVES[1])
