"""Murmur3 known answers: cassfast's compiled hash against cassandra-driver and a slow oracle.

Ran against: cassfast._routing (compiled) and cassandra-driver 3.30.1's C murmur3; no server.
"""
import os
import random

import pytest
from cassandra.metadata import Murmur3Token as RefMurmur3Token
from cassandra.murmur3 import murmur3 as ref_murmur3

from cassfast.metadata import Murmur3Token
from cassfast.murmur3 import murmur3, murmur3_token

MASK = (1 << 64) - 1


def _rotl(x, r):
    return ((x << r) | (x >> (64 - r))) & MASK


def _fmix(k):
    k ^= k >> 33
    k = (k * 0xFF51AFD7ED558CCD) & MASK
    k ^= k >> 33
    k = (k * 0xC4CEB9FE1A85EC53) & MASK
    k ^= k >> 33
    return k


def oracle_murmur3(data: bytes) -> int:
    """Straight transcription of Cassandra's MurmurHash.hash3_x64_128 (first long), in Python.

    Java bytes are signed, so each tail byte is sign-extended before the shift.
    """
    c1, c2 = 0x87C37B91114253D5, 0x4CF5AD432745937F
    n = len(data)
    h1 = h2 = 0
    nblocks = n // 16
    for i in range(nblocks):
        k1 = int.from_bytes(data[i * 16:i * 16 + 8], "little")
        k2 = int.from_bytes(data[i * 16 + 8:i * 16 + 16], "little")
        k1 = (k1 * c1) & MASK
        k1 = _rotl(k1, 31)
        k1 = (k1 * c2) & MASK
        h1 ^= k1
        h1 = _rotl(h1, 27)
        h1 = (h1 + h2) & MASK
        h1 = (h1 * 5 + 0x52DCE729) & MASK
        k2 = (k2 * c2) & MASK
        k2 = _rotl(k2, 33)
        k2 = (k2 * c1) & MASK
        h2 ^= k2
        h2 = _rotl(h2, 31)
        h2 = (h2 + h1) & MASK
        h2 = (h2 * 5 + 0x38495AB5) & MASK
    tail = data[nblocks * 16:]
    signed = [b - 256 if b >= 128 else b for b in tail]
    k1 = k2 = 0
    for i in range(len(tail) - 1, 7, -1):
        k2 ^= (signed[i] << ((i - 8) * 8)) & MASK
    if len(tail) > 8:
        k2 = (k2 * c2) & MASK
        k2 = _rotl(k2, 33)
        k2 = (k2 * c1) & MASK
        h2 ^= k2
    for i in range(min(len(tail), 8) - 1, -1, -1):
        k1 ^= (signed[i] << (i * 8)) & MASK
    if tail:
        k1 = (k1 * c1) & MASK
        k1 = _rotl(k1, 31)
        k1 = (k1 * c2) & MASK
        h1 ^= k1
    h1 ^= n
    h2 ^= n
    h1 = (h1 + h2) & MASK
    h2 = (h2 + h1) & MASK
    h1 = _fmix(h1)
    h2 = _fmix(h2)
    h1 = (h1 + h2) & MASK
    return h1 - (1 << 64) if h1 >= 1 << 63 else h1


def _keys():
    rng = random.Random(1234)
    keys = [b"", b"\x00", b"\xff", b"\x80" * 15, b"\x7f" * 16, b"\xff" * 33]
    for length in range(0, 70):  # every tail length, several block counts
        for _ in range(20):
            keys.append(bytes(rng.getrandbits(8) for _ in range(length)))
    # High-bit bytes in every tail position: the sign-extension quirk.
    for length in range(1, 17):
        keys.append(b"\x80" * length)
        keys.append(bytes([0xFF if i % 2 else 0x01 for i in range(length)]))
    keys.append(os.urandom(1000))
    return keys


KEYS = _keys()


def test_murmur3_equals_cassandra_driver_on_random_keys_of_every_tail_length():
    mismatches = [k for k in KEYS if murmur3(k) != ref_murmur3(k)]
    assert mismatches == []


def test_murmur3_equals_pure_python_oracle():
    mismatches = [k for k in KEYS if murmur3(k) != oracle_murmur3(k)]
    assert mismatches == []


def test_oracle_agrees_with_cassandra_driver():
    # The oracle itself is checked, so a shared bug in cassfast and the oracle cannot hide.
    assert all(oracle_murmur3(k) == ref_murmur3(k) for k in KEYS[:300])


def test_murmur3_sign_extends_tail_bytes():
    # Without sign extension b"\x80" would hash like an unsigned byte; the reference proves
    # the signed value is what Cassandra uses.
    assert murmur3(b"\x80") == ref_murmur3(b"\x80")
    assert murmur3(b"\x80") != oracle_unsigned_tail(b"\x80")


def oracle_unsigned_tail(data):
    """The textbook MurmurHash3 (unsigned tail bytes) for one-byte inputs."""
    c1, c2 = 0x87C37B91114253D5, 0x4CF5AD432745937F
    k1 = data[0]
    k1 = (k1 * c1) & MASK
    k1 = _rotl(k1, 31)
    k1 = (k1 * c2) & MASK
    h1, h2 = k1 ^ 1, 1
    h1 = (h1 + h2) & MASK
    h2 = (h2 + h1) & MASK
    h1, h2 = _fmix(h1), _fmix(h2)
    h1 = (h1 + h2) & MASK
    return h1 - (1 << 64) if h1 >= 1 << 63 else h1


def test_non_ascii_text_hashes_as_its_utf8_bytes():
    for text in ["héllo", "日本語のキー", "emoji 🎉 key", "ß" * 17]:
        assert murmur3(text) == ref_murmur3(text.encode("utf-8"))
        assert Murmur3Token.from_key(text.encode("utf-8")).value == \
            RefMurmur3Token.from_key(text.encode("utf-8")).value


def test_murmur3_token_from_key_equals_reference_token():
    for k in KEYS:
        assert Murmur3Token.from_key(k).value == RefMurmur3Token.from_key(k).value


def test_token_maps_minimum_long_to_maximum_and_keeps_other_hashes():
    from cassfast._routing import token_of_hash
    # Cassandra's Murmur3Partitioner.getToken: Long.MIN_VALUE -> Long.MAX_VALUE.
    assert token_of_hash(-(2 ** 63)) == 2 ** 63 - 1
    for h in (-(2 ** 63) + 1, -1, 0, 1, 2 ** 63 - 1):
        assert token_of_hash(h) == h
    # And the token path applies it: every token equals the rule applied to the raw hash.
    assert all(murmur3_token(k) == token_of_hash(murmur3(k)) for k in KEYS)


def test_maximum_token_wraps_to_first_range():
    from cassfast._routing import TokenRing
    ring = TokenRing([-(2 ** 63), 0], ["a", "b"])
    # A token range ends at its ring token: 2**63-1 is past the last one, so it wraps.
    assert ring.index(2 ** 63 - 1) == 0 and ring.index(1) == 0 and ring.index(0) == 1


def test_murmur3_accepts_bytearray_and_memoryview():
    assert murmur3(bytearray(b"abc")) == ref_murmur3(b"abc")
    assert murmur3(memoryview(b"abcdefghijklmnopq")) == ref_murmur3(b"abcdefghijklmnopq")


@pytest.mark.parametrize("bad", [None, 12, 1.5, object()])
def test_murmur3_rejects_non_bytes_with_type_error(bad):
    with pytest.raises(TypeError):
        murmur3(bad)
    with pytest.raises(TypeError):
        Murmur3Token.from_key(bad)


def test_murmur3_token_ordering_and_hash_match_value():
    a, b = Murmur3Token(-5), Murmur3Token(7)
    assert a < b and b > a and a != b
    assert Murmur3Token("7") == b and hash(Murmur3Token(7)) == hash(b)
    assert sorted([b, a]) == [a, b]


def test_ring_structures_reject_bad_input_with_typed_errors():
    from cassfast._routing import ReplicaTable, TokenRing
    with pytest.raises(ValueError):
        TokenRing([5, 1], ["a", "b"])  # not ascending
    with pytest.raises(ValueError):
        TokenRing([1, 1], ["a", "b"])  # duplicate token
    with pytest.raises(ValueError):
        TokenRing([1, 2], ["a"])  # owners do not match
    with pytest.raises(OverflowError):
        TokenRing([2 ** 63], ["a"])  # not a Murmur3 token
    with pytest.raises(TypeError):
        TokenRing(["1"], ["a"])
    ring = TokenRing([0, 10], ["a", "b"])
    with pytest.raises(ValueError):
        ReplicaTable(ring, [("a",)])
    with pytest.raises(TypeError):
        ReplicaTable(None, [])
    empty = ReplicaTable(TokenRing([], []), [])
    assert empty.for_key(b"anything") == () and len(empty.ring) == 0
