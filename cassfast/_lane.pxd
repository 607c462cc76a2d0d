# cython: language_level=3
"""Declaration of one lane's compiled core (cassfast/_lane.pyx), cimported by the request driver
(cassfast/_future.pyx) so that a synchronous request is sent and read at C level."""
from cassfast._core cimport FrameDecoder


cdef class LaneCore:
    cdef public object endpoint, sock, keyspace
    cdef public bint broken
    cdef public double last_used
    cdef object _encode, _decode, _decompressor, _poll
    # Read-only from Python for the tests that check a lane's framing and stream bookkeeping.
    cdef readonly object _segments, _compressor
    cdef FrameDecoder _decoder
    cdef dict _user_types
    cdef readonly set _orphans
    cdef int _version
    cdef readonly int _stream
    cdef bint _beta
    cdef double _rcvtimeo

    cpdef bint usable(self) except -1
    cdef object _recv_nowait(self)
    cpdef object request(self, msg, result_metadata, row_factory, deadline)
    cdef object _timed_out(self, int stream)
    cdef int _limit_wait(self, double remaining) except -1
    cdef int _set_rcvtimeo(self, double seconds) except -1
