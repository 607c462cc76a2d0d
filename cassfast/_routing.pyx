# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Compiled routing: Cassandra's Murmur3, token -> replica lookup, built-in query plans.

Everything here is pure computation over values handed in by ``cassfast.metadata`` and
``cassfast.policies``; it does no I/O and imports nothing above the value layer.  Four parts:

* ``murmur3(key)`` / ``murmur3_token(key)``: the partitioner hash exactly as Cassandra's
  ``org.apache.cassandra.utils.MurmurHash.hash3_x64_128`` computes it (first 64 bits), including
  its sign-extended tail bytes, and the token rule of ``Murmur3Partitioner.getToken`` (the minimum
  long is not a valid token and becomes the maximum).
* ``Token`` / ``HashToken`` / ``Murmur3Token``: the reference's token classes (re-exported by
  ``cassfast.metadata``), compiled because ``Murmur3Token.from_key`` is on the request path.
* ``TokenRing`` / ``ReplicaTable``: the ring's sorted tokens in a C array, bisected without
  creating Python objects, and per-replication replica tuples aligned with the ring.
* Plans: ``RotatingPlan`` / ``TokenAwarePlan`` iterators and the planners
  (``RoundRobinPlanner``, ``DCAwarePlanner``, ``TokenAwarePlanner``) that the built-in
  load-balancing policies install as their ``make_query_plan`` when they are exactly the built-in
  type.  Each policy's pure-Python ``_py_make_query_plan`` is the specification; the tests check
  that both agree.
"""
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from cpython.ref cimport PyObject, Py_DECREF
from cpython.tuple cimport PyTuple_GET_ITEM
from libc.stdint cimport int64_t, uint64_t, INT64_MIN, INT64_MAX

import os as _os

from cassfast.host import Host as _Host


cdef extern from "Python.h":
    # NULL without an exception at the end: unlike next(), no StopIteration object is made per
    # exhausted child plan (which costs more than the rest of a token-aware plan).
    PyObject* PyIter_Next(object o) except? NULL

# ---------------------------------------------------------------------------------------------
# Murmur3
# ---------------------------------------------------------------------------------------------

cdef uint64_t _C1 = 0x87c37b91114253d5ULL
cdef uint64_t _C2 = 0x4cf5ad432745937fULL


cdef inline uint64_t _rotl64(uint64_t x, int r) noexcept nogil:
    return (x << r) | (x >> (64 - r))


cdef inline uint64_t _fmix64(uint64_t k) noexcept nogil:
    k ^= k >> 33
    k *= 0xff51afd7ed558ccdULL
    k ^= k >> 33
    k *= 0xc4ceb9fe1a85ec53ULL
    k ^= k >> 33
    return k


cdef inline uint64_t _block(const unsigned char* p) noexcept nogil:
    # Cassandra's getBlock assembles each 8-byte block little-endian from unsigned bytes, so the
    # body (unlike the tail) has no sign quirk; shifts keep this right on big-endian hosts too.
    return (<uint64_t>p[0] | (<uint64_t>p[1] << 8) | (<uint64_t>p[2] << 16)
            | (<uint64_t>p[3] << 24) | (<uint64_t>p[4] << 32) | (<uint64_t>p[5] << 40)
            | (<uint64_t>p[6] << 48) | (<uint64_t>p[7] << 56))


cdef inline uint64_t _signed_byte(unsigned char b) noexcept nogil:
    # The tail of hash3_x64_128 reads ``(long) key.get(i)``: a Java byte is signed, so a byte
    # >= 0x80 is sign-extended to 64 bits before the shift.  This is the one place Cassandra's
    # Murmur3 differs from the reference MurmurHash3, and the token depends on it.
    return <uint64_t><int64_t><signed char>b


cdef int64_t murmur3_hash(const unsigned char* data, Py_ssize_t length) noexcept nogil:
    cdef Py_ssize_t nblocks = length // 16
    cdef Py_ssize_t i
    cdef uint64_t h1 = 0, h2 = 0, k1, k2
    cdef const unsigned char* tail
    cdef int rem
    for i in range(nblocks):
        k1 = _block(data + i * 16)
        k2 = _block(data + i * 16 + 8)
        k1 *= _C1
        k1 = _rotl64(k1, 31)
        k1 *= _C2
        h1 ^= k1
        h1 = _rotl64(h1, 27)
        h1 += h2
        h1 = h1 * 5 + 0x52dce729
        k2 *= _C2
        k2 = _rotl64(k2, 33)
        k2 *= _C1
        h2 ^= k2
        h2 = _rotl64(h2, 31)
        h2 += h1
        h2 = h2 * 5 + 0x38495ab5
    tail = data + nblocks * 16
    rem = <int>(length & 15)
    k1 = 0
    k2 = 0
    # The reference's switch falls through from the highest tail byte down; XOR commutes, so a
    # loop over the present bytes is the same function.
    if rem > 8:
        for i in range(8, rem):
            k2 ^= _signed_byte(tail[i]) << ((i - 8) * 8)
        k2 *= _C2
        k2 = _rotl64(k2, 33)
        k2 *= _C1
        h2 ^= k2
    if rem > 0:
        for i in range(0, rem if rem < 8 else 8):
            k1 ^= _signed_byte(tail[i]) << (i * 8)
        k1 *= _C1
        k1 = _rotl64(k1, 31)
        k1 *= _C2
        h1 ^= k1
    h1 ^= <uint64_t>length
    h2 ^= <uint64_t>length
    h1 += h2
    h2 += h1
    h1 = _fmix64(h1)
    h2 = _fmix64(h2)
    h1 += h2
    return <int64_t>h1


cdef inline int64_t _token_of_hash(int64_t h) noexcept nogil:
    # Murmur3Partitioner.getToken: Long.MIN_VALUE is the ring's minimum (never owned by a key),
    # so a key hashing to it is given Long.MAX_VALUE instead.
    return INT64_MAX if h == INT64_MIN else h


cdef int64_t murmur3_token_of(const unsigned char* data, Py_ssize_t length) noexcept nogil:
    return _token_of_hash(murmur3_hash(data, length))


def token_of_hash(int64_t h) -> int:
    """The token for a Murmur3 hash value (exposed so the minimum-long rule can be tested: no
    known key hashes to it)."""
    return _token_of_hash(h)


cdef int64_t token_of_key(object key) except? -1:
    cdef bytes b
    if type(key) is bytes:
        b = <bytes>key
    elif isinstance(key, str):
        b = (<str>key).encode("utf-8")
    elif isinstance(key, (bytearray, memoryview)):
        b = bytes(key)
    elif isinstance(key, bytes):
        b = bytes(key)
    else:
        raise TypeError("a partition key must be bytes (the serialized routing key), not %s"
                        % (type(key).__name__,))
    return murmur3_token_of(<const unsigned char*>PyBytes_AS_STRING(b), PyBytes_GET_SIZE(b))


def murmur3(data) -> int:
    """The first 64 bits of Cassandra's Murmur3 of ``data`` (bytes, or str as UTF-8), signed."""
    cdef bytes b
    if type(data) is bytes:
        b = <bytes>data
    elif isinstance(data, str):
        b = (<str>data).encode("utf-8")
    elif isinstance(data, (bytes, bytearray, memoryview)):
        b = bytes(data)
    else:
        raise TypeError("murmur3() takes bytes or str, not %s" % (type(data).__name__,))
    return murmur3_hash(<const unsigned char*>PyBytes_AS_STRING(b), PyBytes_GET_SIZE(b))


def murmur3_token(key) -> int:
    """The Murmur3Partitioner token of a serialized partition key (``-2**63`` maps to ``2**63-1``)."""
    return token_of_key(key)


# ---------------------------------------------------------------------------------------------
# Ring and replicas
# ---------------------------------------------------------------------------------------------

cdef class TokenRing:
    """The ring: ``tokens`` sorted ascending (int64), ``owners`` the host of each token.

    A token range ends at (and includes) its ring token, so the owner of a token ``t`` is the first
    ring token ``>= t``, wrapping to the first one past the end.
    """

    def __cinit__(self, tokens, owners):
        cdef Py_ssize_t n = len(tokens)
        cdef Py_ssize_t i
        cdef int64_t prev = 0
        cdef int64_t t
        if len(owners) != n:
            raise ValueError("TokenRing: %d tokens but %d owners" % (n, len(owners)))
        self._n = 0
        self._tokens = <int64_t*>PyMem_Malloc(max(n, 1) * sizeof(int64_t))
        if self._tokens == NULL:
            raise MemoryError()
        for i in range(n):
            t = tokens[i]
            if i and t <= prev:
                raise ValueError("TokenRing: tokens must be strictly ascending (%d after %d)"
                                 % (t, prev))
            self._tokens[i] = t
            prev = t
        self._n = n
        self.owners = tuple(owners)

    def __dealloc__(self):
        PyMem_Free(self._tokens)

    def __len__(self):
        return self._n

    @property
    def tokens(self) -> tuple:
        return tuple([self._tokens[i] for i in range(self._n)])

    cdef Py_ssize_t index_of(self, int64_t token) noexcept nogil:
        cdef Py_ssize_t lo = 0, hi = self._n, mid
        while lo < hi:
            mid = (lo + hi) >> 1
            if self._tokens[mid] < token:
                lo = mid + 1
            else:
                hi = mid
        return 0 if lo == self._n else lo

    def index(self, int64_t token) -> int:
        """Index of the ring token owning ``token``; 0 for an empty ring."""
        return self.index_of(token)


cdef class ReplicaTable:
    """``replicas[i]`` is the replica tuple for the range ending at ring token ``i``."""

    def __cinit__(self, TokenRing ring not None, replicas):
        replicas = tuple([tuple(r) for r in replicas])
        if len(replicas) != ring._n:
            raise ValueError("ReplicaTable: %d replica sets for a ring of %d tokens"
                             % (len(replicas), ring._n))
        self.ring = ring
        self.replicas = replicas

    cdef tuple replicas_for_token(self, int64_t token):
        if self.ring._n == 0:
            return ()
        return <tuple>PyTuple_GET_ITEM(self.replicas, self.ring.index_of(token))

    def for_token(self, int64_t token) -> tuple:
        return self.replicas_for_token(token)

    def for_key(self, key) -> tuple:
        """Replicas of a serialized partition key under Murmur3Partitioner."""
        return self.replicas_for_token(token_of_key(key))


# ---------------------------------------------------------------------------------------------
# Tokens
# ---------------------------------------------------------------------------------------------

cdef class Token:
    """A position on the ring, ordered and hashed by ``value`` (``cassfast.metadata.Token``)."""

    def __init__(self, token):
        self.value = token

    @classmethod
    def hash_fn(cls, key):
        return key

    @classmethod
    def from_key(cls, key):
        return cls(cls.hash_fn(key))

    @classmethod
    def from_string(cls, token_string):
        raise NotImplementedError()

    def __richcmp__(self, other, int op):
        if not isinstance(other, Token):
            return NotImplemented
        a = self.value
        b = (<Token>other).value
        if op == 0:
            return a < b
        if op == 1:
            return a <= b
        if op == 2:
            return a == b
        if op == 3:
            return a != b
        if op == 4:
            return a > b
        return a >= b

    def __hash__(self):
        return hash(self.value)

    def __repr__(self):
        return "<%s: %s>" % (type(self).__name__, self.value)

    __str__ = __repr__

    def __reduce__(self):
        return (type(self), (self.value,))


cdef class HashToken(Token):
    """A token of a hashing partitioner: the decimal integer of the system tables."""

    @classmethod
    def from_string(cls, token_string):
        return cls(int(token_string))


cdef class Murmur3Token(HashToken):
    """A ``Murmur3Partitioner`` token: a signed 64-bit int in ``(-2**63, 2**63-1]``."""

    def __init__(self, token):
        self.value = int(token)

    @classmethod
    def hash_fn(cls, key):
        return token_of_key(key)

    @classmethod
    def from_key(cls, key):
        cdef Murmur3Token t
        if cls is Murmur3Token:
            # Skips __init__'s int() round trip: the hash is already an int.
            t = Murmur3Token.__new__(Murmur3Token)
            t.value = token_of_key(key)
            return t
        return cls(cls.hash_fn(key))


# ---------------------------------------------------------------------------------------------
# Query plans
# ---------------------------------------------------------------------------------------------

cdef class RotatingPlan:
    """Iterator: ``hosts[start], hosts[start+1], ...`` once round, then ``tail`` in order.

    RoundRobinPolicy is ``RotatingPlan(live, pos, ())``; DCAwareRoundRobinPolicy is
    ``RotatingPlan(local_live, pos, remote_hosts_in_use)``.
    """

    def __init__(self, tuple hosts not None, Py_ssize_t start, tuple tail not None):
        _init_rotating(self, hosts, start, tail)

    def __iter__(self):
        return self

    def __next__(self):
        host = self.next_or_none()
        if host is None:
            raise StopIteration
        return host

    cdef object next_or_none(self):
        cdef Py_ssize_t k
        if self._i < self._n:
            k = self._start + self._i
            if k >= self._n:
                k -= self._n
            self._i += 1
            return <object>PyTuple_GET_ITEM(self._hosts, k)
        if self._j < len(self._tail):
            self._j += 1
            return <object>PyTuple_GET_ITEM(self._tail, self._j - 1)
        return None


cdef inline int _init_rotating(RotatingPlan plan, tuple hosts, Py_ssize_t start,
                               tuple tail) except -1:
    plan._hosts = hosts
    plan._tail = tail
    plan._n = len(hosts)
    if plan._n:
        start %= plan._n
        if start < 0:
            start += plan._n
    else:
        start = 0
    plan._start = start
    plan._i = 0
    plan._j = 0
    return 0


cdef RotatingPlan _rotating(tuple hosts, Py_ssize_t start, tuple tail):
    cdef RotatingPlan plan = RotatingPlan.__new__(RotatingPlan)
    _init_rotating(plan, hosts, start, tail)
    return plan


cdef class TokenAwarePlan:
    """Iterator: the hosts of ``first``, then ``child`` skipping any host already in ``first``.

    Hosts are compared by identity: the cluster keeps one Host object per endpoint
    (``Metadata.add_or_return_host``), and the policies and replica tables all hold those.
    """

    def __init__(self, list first not None, child):
        self._first = first
        self._i = 0
        self._child = iter(child)

    def __iter__(self):
        return self

    def __next__(self):
        cdef Py_ssize_t k, n
        cdef object host
        if self._i < len(self._first):
            self._i += 1
            return self._first[self._i - 1]
        cdef PyObject* item
        n = len(self._first)
        while True:
            if type(self._child) is RotatingPlan:
                # The built-in child: no iterator protocol at all (hosts are never None).
                host = (<RotatingPlan>self._child).next_or_none()
                if host is None:
                    raise StopIteration
            else:
                item = PyIter_Next(self._child)
                if item == NULL:
                    raise StopIteration
                host = <object>item
                Py_DECREF(host)
            for k in range(n):
                if self._first[k] is host:
                    break
            else:
                return host


# A small non-cryptographic generator for shuffling replicas: the order only spreads load, and
# Python's random.shuffle would cost more than the rest of the plan.  Seeded once per process.
cdef uint64_t _rng_state = <uint64_t>int.from_bytes(_os.urandom(8), "little") | 1


cdef inline uint64_t _next_random() noexcept nogil:
    global _rng_state
    _rng_state += 0x9e3779b97f4a7c15ULL
    cdef uint64_t z = _rng_state
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL
    return z ^ (z >> 31)


cdef list _local_replicas(object replicas, object local_dc, bint dc_filter, bint shuffle):
    cdef list out = []
    cdef object host, dc
    cdef Py_ssize_t i, j
    for host in replicas:
        if not host.is_up:
            continue
        if dc_filter:
            # Host.datacenter is a read-only property over _datacenter: read it directly for
            # the driver's own Host (a subclass may compute it).
            dc = host._datacenter if type(host) is _Host else host.datacenter
            if dc and dc != local_dc:
                continue
        out.append(host)
    if shuffle:
        i = len(out) - 1
        while i > 0:
            j = <Py_ssize_t>(_next_random() % <uint64_t>(i + 1))
            out[i], out[j] = out[j], out[i]
            i -= 1
    return out


def local_replicas(replicas, local_dc, bint dc_filter, bint shuffle) -> list:
    """The replicas to try first: up (``is_up`` true), and, when ``dc_filter``, in ``local_dc``.

    ``dc_filter`` mirrors DCAwareRoundRobinPolicy.distance: a host without a datacenter counts
    as local.  With ``shuffle`` the result is a uniform random permutation (Fisher-Yates).
    """
    return _local_replicas(replicas, local_dc, dc_filter, shuffle)


# ---------------------------------------------------------------------------------------------
# Planners: the compiled make_query_plan of the built-in policies
# ---------------------------------------------------------------------------------------------

# Up to this many rotating hosts, every rotation of the plan is precomputed as a tuple and a plan
# is a plain tuple iterator: the fastest iteration CPython has, for O(n**2) references (64 hosts:
# 4,096).  Larger sets rotate through a RotatingPlan instead.
cdef Py_ssize_t _MAX_PRECOMPUTED = 64


cdef class RoundRobinPlanner:
    """State and plan of RoundRobinPolicy: ``local`` (the live hosts, a tuple), ``remote``
    (empty here) and the rotating ``position``.

    Calling it is ``make_query_plan(working_keyspace=None, query=None)``; the policy installs it
    as its ``make_query_plan`` when the policy is exactly the built-in type.  ``set_hosts`` is
    the only way to change the hosts, so the precomputed rotations never go stale.
    """

    def __init__(self):
        self.position = 0
        self.set_hosts((), ())

    def set_hosts(self, tuple local not None, tuple remote not None):
        """Replace the rotating hosts and the fixed tail of every plan."""
        cdef Py_ssize_t n = len(local), i
        self.local = local
        self.remote = remote
        if 0 < n <= _MAX_PRECOMPUTED:
            self._rotations = tuple([local[i:] + local[:i] + remote for i in range(n)])
        else:
            self._rotations = None

    cdef object make_plan(self):
        # Lost increments under threads only skew the rotation slightly; no lock needed.
        cdef Py_ssize_t pos = self.position
        cdef Py_ssize_t n
        self.position = pos + 1 if pos < (1 << 62) else 0
        if self._rotations is not None:
            n = len(self._rotations)
            pos %= n
            if pos < 0:
                pos += n
            return iter(<tuple>PyTuple_GET_ITEM(self._rotations, pos))
        if not self.local:
            return iter(self.remote)
        return _rotating(self.local, pos, self.remote)

    def __call__(self, working_keyspace=None, query=None):
        return self.make_plan()

    def plan(self, working_keyspace=None, query=None):
        """``make_query_plan`` as a method: cheaper to call than the object itself."""
        return self.make_plan()


cdef class DCAwarePlanner(RoundRobinPlanner):
    """State and plan of DCAwareRoundRobinPolicy: ``local`` hosts rotate, then ``remote`` (the
    remote hosts in use), plus ``local_dc`` for the token-aware replica filter."""

    def __init__(self):
        RoundRobinPlanner.__init__(self)
        self.local_dc = None


cdef class TokenAwarePlanner:
    """The plan of TokenAwarePolicy over a built-in child (``child_planner``) or any child
    policy (``child``): local, up replicas of the statement first, then the child's plan.

    ``metadata`` is the cluster's Metadata; its ``token_map._tables`` maps a keyspace to the
    ReplicaTable built by cassfast.metadata (any other shape falls back to ``get_replicas``).
    """

    def __init__(self, child, child_planner, bint shuffle):
        self.metadata = None
        self.child = child
        self.child_planner = child_planner
        self.shuffle = shuffle

    cdef object _child_plan(self, keyspace, query):
        if self.child_planner is not None:
            return (<RoundRobinPlanner>self.child_planner).make_plan()
        return self.child.make_query_plan(keyspace, query)

    cdef object _replicas(self, keyspace, routing_key):
        cdef object tm = self.metadata.token_map
        if tm is None:
            return ()
        table = tm._tables.get(keyspace)
        if table is None:
            return ()
        if type(table) is ReplicaTable:
            return (<ReplicaTable>table).replicas_for_token(token_of_key(routing_key))
        return self.metadata.get_replicas(keyspace, routing_key)

    def __call__(self, working_keyspace=None, query=None):
        return self.make_plan(working_keyspace, query)

    def plan(self, working_keyspace=None, query=None):
        """``make_query_plan`` as a method: cheaper to call than the object itself."""
        return self.make_plan(working_keyspace, query)

    cdef object make_plan(self, working_keyspace, query):
        cdef list first
        cdef object local_dc = None
        cdef bint dc_filter = False
        if query is None or self.metadata is None:
            return self._child_plan(working_keyspace, query)
        keyspace = query.keyspace or working_keyspace
        routing_key = query.routing_key
        if routing_key is None or keyspace is None:
            return self._child_plan(keyspace, query)
        if type(self.child_planner) is DCAwarePlanner:
            dc_filter = True
            local_dc = (<DCAwarePlanner>self.child_planner).local_dc
        first = _local_replicas(self._replicas(keyspace, routing_key), local_dc, dc_filter,
                                self.shuffle)
        plan = TokenAwarePlan.__new__(TokenAwarePlan)
        (<TokenAwarePlan>plan)._first = first
        (<TokenAwarePlan>plan)._i = 0
        (<TokenAwarePlan>plan)._child = iter(self._child_plan(keyspace, query))
        return plan
