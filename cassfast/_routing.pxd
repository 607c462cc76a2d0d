from libc.stdint cimport int64_t, uint64_t


# Cassandra's Murmur3 (MurmurHash.hash3_x64_128, first half), token form.
cdef int64_t murmur3_hash(const unsigned char* data, Py_ssize_t length) noexcept nogil
cdef int64_t murmur3_token_of(const unsigned char* data, Py_ssize_t length) noexcept nogil
cdef int64_t token_of_key(object key) except? -1


cdef class TokenRing:
    """Sorted ring tokens in a C array; ``owners[i]`` is the host owning ``tokens[i]``."""
    cdef int64_t* _tokens
    cdef Py_ssize_t _n
    cdef readonly tuple owners

    cdef Py_ssize_t index_of(self, int64_t token) noexcept nogil


cdef class ReplicaTable:
    """Replica tuples aligned with a ``TokenRing`` (one table per distinct replication)."""
    cdef readonly TokenRing ring
    cdef readonly tuple replicas

    cdef tuple replicas_for_token(self, int64_t token)


cdef class Token:
    cdef public object value


cdef class HashToken(Token):
    pass


cdef class Murmur3Token(HashToken):
    pass


cdef class RotatingPlan:
    """``hosts`` from ``start`` round the circle once, then every host of ``tail``."""
    cdef tuple _hosts
    cdef tuple _tail
    cdef Py_ssize_t _start
    cdef Py_ssize_t _i
    cdef Py_ssize_t _n
    cdef Py_ssize_t _j

    cdef object next_or_none(self)


cdef class TokenAwarePlan:
    """``first`` in order, then the child's plan without the hosts already in ``first``."""
    cdef list _first
    cdef Py_ssize_t _i
    cdef object _child


cdef list _local_replicas(object replicas, object local_dc, bint dc_filter, bint shuffle)


cdef class RoundRobinPlanner:
    cdef readonly tuple local
    cdef readonly tuple remote
    cdef public Py_ssize_t position
    cdef tuple _rotations

    cdef object make_plan(self)


cdef class DCAwarePlanner(RoundRobinPlanner):
    cdef public object local_dc


cdef class TokenAwarePlanner:
    cdef public object metadata
    cdef public object child
    cdef public object child_planner
    cdef public bint shuffle

    cdef object _child_plan(self, keyspace, query)
    cdef object _replicas(self, keyspace, routing_key)
    cdef object make_plan(self, working_keyspace, query)
