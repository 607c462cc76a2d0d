# cython: language_level=3
"""Declaration of the request engine (cassfast/_engine.pyx), cimported by the request driver
(cassfast/_future.pyx) so that it reads the engine's state and calls ``on_result`` at C level."""

cdef class RequestEngine:
    cdef public object query, message, retry_policy, prepared, metrics, prepared_lookup
    cdef public int protocol_version
    # The result metadata the request is sent with (EXECUTE skips the server's): the prepared
    # statement's, updated when the server says it changed.
    cdef public object result_metadata
    cdef public dict errors
    cdef public int retries
    cdef public object payload, defunct, plan

    cpdef int on_result(self, response) except? -1
    cdef int _on_error(self, host, response) except? -1
    cdef int _on_failure(self, host, exc) except? -1
    cdef object _consistency(self)
    cdef int _decide(self, decision, exc, host) except? -1
    cdef int _reprepare(self, response, exc) except? -1
