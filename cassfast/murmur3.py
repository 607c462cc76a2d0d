"""Cassandra's Murmur3 hash, as ``cassandra.murmur3`` exposes it.

``murmur3(data)`` returns the signed first 64 bits of ``MurmurHash.hash3_x64_128`` exactly as
Cassandra computes partition tokens (tail bytes sign-extended).  The token itself, with the
minimum long mapped to the maximum, is ``cassfast.metadata.Murmur3Token.from_key(key).value``.
The implementation is compiled in ``cassfast._routing``.
"""
from cassfast._routing import murmur3, murmur3_token

__all__ = ["murmur3", "murmur3_token"]
