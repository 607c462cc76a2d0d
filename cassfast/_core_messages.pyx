# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The message half of the compiled protocol core: request bodies encoded straight into their
frame (QUERY, EXECUTE, BATCH on the hot path; PREPARE, STARTUP, REGISTER, OPTIONS, AUTH_RESPONSE)
and a bounds-checked ``BodyReader`` for response bodies (native protocol v4/v5 spec sections 3
and 4).

Encoders size the frame first and then write it in one pass into a single ``bytes`` object: no
BytesIO, no struct.  Values arrive already serialized (``bytes``, ``None`` for null, or
``UNSET_VALUE``).  Readers raise ``TruncatedMessage`` (a ``ProtocolError``) when a body ends
before what it announces, and never allocate from a length before checking the bytes exist.
No I/O; nothing from cassfast's Python layers is imported at module load (``UNSET_VALUE`` is
looked up from ``cassfast._types`` on first use).
"""
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.unicode cimport PyUnicode_AsUTF8String, PyUnicode_DecodeUTF8
from libc.stdint cimport int16_t, int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t
from libc.string cimport memcpy

from cassfast._bytes cimport get_u16, get_u32, put_u16, put_u32, put_u64
from cassfast._core cimport FRAME_HEADER_LENGTH, MAX_BODY_LENGTH, write_frame_header

import socket
from collections.abc import Mapping

from cassfast._core import ProtocolError, TruncatedMessage
from cassfast._types import UNSET_VALUE as _TYPES_UNSET_VALUE

__all__ = [
    "BodyReader", "read_response_prelude", "encode_query_frame", "encode_execute_frame",
    "encode_batch_frame", "encode_execute_message", "ExecuteFields", "encode_prepare_frame", "encode_startup_frame", "encode_options_frame",
    "encode_register_frame", "encode_auth_response_frame", "encode_body_frame",
    "compress_frame",
]

# Opcodes (spec section 2.4) and frame flags (spec section 2.2): defined once in _wire.pxd.
from cassfast._wire import (OPCODE_AUTH_RESPONSE, OPCODE_BATCH, OPCODE_EXECUTE,  # noqa: F401
                            OPCODE_OPTIONS, OPCODE_PREPARE, OPCODE_QUERY, OPCODE_REGISTER,
                            OPCODE_STARTUP)
from cassfast._wire cimport (COMPRESSED_FLAG as F_COMPRESSED, CUSTOM_PAYLOAD_FLAG as F_CUSTOM_PAYLOAD,
                             TRACING_FLAG as F_TRACING, USE_BETA_FLAG as F_BETA, WARNING_FLAG as F_WARNING)

# <query_parameters> flags (spec 4.1.4) and the PREPARE flag (v5 spec 4.1.5): defined once in
# _wire.pxd, short names here.
from cassfast._wire cimport (QUERY_FLAG_VALUES as Q_VALUES, QUERY_FLAG_SKIP_METADATA as Q_SKIP_METADATA,
                             QUERY_FLAG_PAGE_SIZE as Q_PAGE_SIZE, QUERY_FLAG_WITH_PAGING_STATE as Q_PAGING_STATE,
                             QUERY_FLAG_WITH_SERIAL_CONSISTENCY as Q_SERIAL_CONSISTENCY,
                             QUERY_FLAG_WITH_DEFAULT_TIMESTAMP as Q_TIMESTAMP,
                             QUERY_FLAG_WITH_NAMES_FOR_VALUES as Q_NAMES_FOR_VALUES,
                             QUERY_FLAG_WITH_KEYSPACE as Q_KEYSPACE,
                             QUERY_FLAG_WITH_NOW_IN_SECONDS as Q_NOW_IN_SECONDS,
                             PREPARE_FLAG_WITH_KEYSPACE as P_KEYSPACE)

# The UNSET marker ([value] of length -2, spec 4.1.4); set_unset_value replaces it in tests.
cdef object _UNSET = _TYPES_UNSET_VALUE


cdef inline object _unset_value():
    return _UNSET


def set_unset_value(value) -> None:
    """Use ``value`` as the UNSET marker ([value] of length -2) instead of ``_types.UNSET_VALUE``.

    Only for tests."""
    global _UNSET
    _UNSET = value


cdef class _Values:
    """A request's bound values checked once: bytes, None (null) or UNSET, their names when
    sent by name (flag 0x40, spec 4.1.4), and the bytes they occupy."""
    cdef list items
    cdef list names
    cdef Py_ssize_t size


cdef _Values _check_values(values, bint allow_names=True):
    cdef _Values v = _Values.__new__(_Values)
    cdef Py_ssize_t i, n, size = 0
    cdef object item
    cdef list items
    cdef object unset = None
    cdef bytes name
    v.names = None
    if type(values) is list:
        items = <list>values
    elif isinstance(values, Mapping):
        if not allow_names:
            # v4/v5 spec 4.1.7: names for values in BATCH are specified but unusable.
            raise ValueError("BATCH values must be positional (spec 4.1.7, CASSANDRA-10246)")
        v.names = []
        items = []
        for key, item in values.items():
            name = _short_bytes(key, "bound value name")
            v.names.append(name)
            size += 2 + PyBytes_GET_SIZE(name)
            items.append(item)
        values = items
    else:
        items = list(values)
    n = len(items)
    if n > 65535:
        raise ValueError("%d bound values: the protocol allows at most 65535 (a [short] count)" % n)
    for i in range(n):
        item = items[i]
        if type(item) is bytes:
            if PyBytes_GET_SIZE(item) > MAX_BODY_LENGTH:
                raise ValueError("bound value %d is %d bytes, over the 256 MiB frame limit"
                                 % (i, PyBytes_GET_SIZE(item)))
            size += 4 + PyBytes_GET_SIZE(item)
            continue
        if item is None:
            size += 4
            continue
        if unset is None:
            unset = _unset_value()
        if item is unset:
            size += 4
            continue
        if isinstance(item, (bytes, bytearray, memoryview)):
            if items is values:
                items = list(items)
            item = bytes(item)
            items[i] = item
            size += 4 + PyBytes_GET_SIZE(item)
            continue
        raise TypeError("bound value %d must be serialized bytes, None or UNSET_VALUE, not %s"
                        % (i, type(item).__name__))
    v.items = items
    v.size = size
    return v


cdef inline unsigned char* _write_values(unsigned char* p, _Values values) except NULL:
    cdef list items = values.items
    cdef list names = values.names
    cdef Py_ssize_t i, n = len(items), ln
    cdef object item
    put_u16(p, <uint16_t>n)
    p += 2
    for i in range(n):
        if names is not None:
            p = _put_short_bytes(p, <bytes>names[i])
        item = items[i]
        if type(item) is bytes:
            ln = PyBytes_GET_SIZE(item)
            put_u32(p, <uint32_t>ln)
            memcpy(p + 4, PyBytes_AS_STRING(item), ln)
            p += 4 + ln
        elif item is None:
            put_u32(p, <uint32_t>-1)
            p += 4
        else:
            # [value] of length -2: "not set" (spec section 3).
            put_u32(p, <uint32_t>-2)
            p += 4
    return p


cdef bytes _utf8(s, str what):
    if type(s) is bytes:
        return <bytes>s
    if type(s) is str:
        return PyUnicode_AsUTF8String(s)
    if isinstance(s, bytes):
        return bytes(s)
    if isinstance(s, str):
        return PyUnicode_AsUTF8String(s)
    raise TypeError("%s must be str or bytes, not %s" % (what, type(s).__name__))


cdef bytes _as_bytes(obj, str what):
    if type(obj) is bytes:
        return <bytes>obj
    if isinstance(obj, (bytes, bytearray, memoryview)):
        return bytes(obj)
    raise TypeError("%s must be bytes, not %s" % (what, type(obj).__name__))


cdef bytes _short_bytes(s, str what):
    cdef bytes b = _utf8(s, what)
    if PyBytes_GET_SIZE(b) > 65535:
        raise ValueError("%s is %d bytes; a [string]/[short bytes] holds at most 65535"
                         % (what, PyBytes_GET_SIZE(b)))
    return b


cdef inline unsigned char* _put_short_bytes(unsigned char* p, bytes b) noexcept:
    cdef Py_ssize_t n = PyBytes_GET_SIZE(b)
    put_u16(p, <uint16_t>n)
    memcpy(p + 2, PyBytes_AS_STRING(b), n)
    return p + 2 + n


cdef inline unsigned char* _put_long_bytes(unsigned char* p, bytes b) noexcept:
    cdef Py_ssize_t n = PyBytes_GET_SIZE(b)
    put_u32(p, <uint32_t>n)
    memcpy(p + 4, PyBytes_AS_STRING(b), n)
    return p + 4 + n


cdef class _Prefix:
    """What precedes a request body: frame flags and the encoded custom payload ([bytes map])."""
    cdef int flags
    cdef bytes payload


cdef _Prefix _prefix(int protocol_version, bint tracing, custom_payload, bint beta):
    cdef _Prefix pre = _Prefix.__new__(_Prefix)
    cdef list parts
    pre.flags = (F_TRACING if tracing else 0) | (F_BETA if beta else 0)
    pre.payload = b""
    if custom_payload:
        if protocol_version < 4:
            raise ValueError("custom payloads need protocol v4 or later")
        if len(custom_payload) > 65535:
            raise ValueError("custom payload map exceeds the protocol's 65535 entries")
        parts = [_u16_bytes(len(custom_payload))]
        for k, val in custom_payload.items():
            kb = _short_bytes(k, "custom payload key")
            parts.append(_u16_bytes(PyBytes_GET_SIZE(kb)))
            parts.append(kb)
            if val is None:
                parts.append(b"\xff\xff\xff\xff")
            else:
                vb = _as_bytes(val, "custom payload value for %r" % (k,))
                parts.append(_u32_bytes(PyBytes_GET_SIZE(vb)))
                parts.append(vb)
        pre.payload = b"".join(parts)
        pre.flags |= F_CUSTOM_PAYLOAD
    return pre


cdef bytes _u16_bytes(Py_ssize_t v):
    cdef bytes out = PyBytes_FromStringAndSize(NULL, 2)
    put_u16(<unsigned char*>PyBytes_AS_STRING(out), <uint16_t>v)
    return out


cdef bytes _u32_bytes(Py_ssize_t v):
    cdef bytes out = PyBytes_FromStringAndSize(NULL, 4)
    put_u32(<unsigned char*>PyBytes_AS_STRING(out), <uint32_t>v)
    return out


cdef inline unsigned char* _start_frame(bytes frame, int protocol_version, int flags, int stream_id,
                                        int opcode, bytes payload) except NULL:
    cdef unsigned char* p = <unsigned char*>PyBytes_AS_STRING(frame)
    write_frame_header(p, protocol_version, flags, stream_id, opcode,
                       PyBytes_GET_SIZE(frame) - FRAME_HEADER_LENGTH)
    p += FRAME_HEADER_LENGTH
    if PyBytes_GET_SIZE(payload):
        memcpy(p, PyBytes_AS_STRING(payload), PyBytes_GET_SIZE(payload))
        p += PyBytes_GET_SIZE(payload)
    return p


def compress_frame(bytes frame, compressor) -> bytes:
    """v3/v4 body compression (spec section 5): compress the body of an encoded frame with
    ``compressor`` and set the COMPRESSED flag.  An empty body is left as it is."""
    cdef Py_ssize_t n = PyBytes_GET_SIZE(frame) - FRAME_HEADER_LENGTH
    if n <= 0:
        return frame
    body = compressor(frame[FRAME_HEADER_LENGTH:])
    if type(body) is not bytes:
        body = bytes(body)
    cdef bytes out = PyBytes_FromStringAndSize(NULL, FRAME_HEADER_LENGTH + PyBytes_GET_SIZE(body))
    cdef unsigned char* p = <unsigned char*>PyBytes_AS_STRING(out)
    memcpy(p, PyBytes_AS_STRING(frame), FRAME_HEADER_LENGTH)
    p[1] |= F_COMPRESSED
    put_u32(p + 5, <uint32_t>PyBytes_GET_SIZE(body))
    memcpy(p + FRAME_HEADER_LENGTH, PyBytes_AS_STRING(body), PyBytes_GET_SIZE(body))
    return out


cdef class _Params:
    """<query_parameters> (spec 4.1.4) after validation, with the byte size they occupy."""
    cdef uint32_t flags
    cdef int consistency
    cdef int serial
    cdef int32_t fetch_size
    cdef int64_t timestamp
    cdef int32_t now_in_seconds
    cdef _Values values
    cdef bytes paging_state
    cdef bytes keyspace
    cdef Py_ssize_t size


cdef _Params _params(int protocol_version, values, consistency_level, serial_consistency_level,
                     fetch_size, paging_state, timestamp, bint skip_meta, keyspace, now_in_seconds):
    # Which optional parts are present follows cassandra-driver's tests (truthiness for serial
    # consistency, page size and paging state; "is not None" for timestamp and keyspace), so
    # both drivers put the same bytes on the wire for the same message.
    cdef _Params q = _Params.__new__(_Params)
    cdef bint v5 = protocol_version >= 5
    q.flags = 0
    q.consistency = consistency_level
    q.size = 2 + (4 if v5 else 1)
    if values is not None:
        q.values = _check_values(values)
        q.flags |= Q_VALUES
        if q.values.names is not None:
            q.flags |= Q_NAMES_FOR_VALUES
        q.size += 2 + q.values.size
    if skip_meta:
        q.flags |= Q_SKIP_METADATA
    if fetch_size:
        q.flags |= Q_PAGE_SIZE
        q.fetch_size = fetch_size
        q.size += 4
    if paging_state:
        q.flags |= Q_PAGING_STATE
        q.paging_state = _as_bytes(paging_state, "paging state")
        q.size += 4 + PyBytes_GET_SIZE(q.paging_state)
    if serial_consistency_level:
        q.flags |= Q_SERIAL_CONSISTENCY
        q.serial = serial_consistency_level
        q.size += 2
    if timestamp is not None:
        q.flags |= Q_TIMESTAMP
        q.timestamp = timestamp
        q.size += 8
    if keyspace is not None:
        if not v5:
            raise ValueError("a per-query keyspace needs protocol v5 or later")
        q.flags |= Q_KEYSPACE
        q.keyspace = _short_bytes(keyspace, "keyspace")
        q.size += 2 + PyBytes_GET_SIZE(q.keyspace)
    if now_in_seconds is not None:
        if not v5:
            raise ValueError("now_in_seconds needs protocol v5 or later")
        q.flags |= Q_NOW_IN_SECONDS
        q.now_in_seconds = now_in_seconds
        q.size += 4
    return q


cdef unsigned char* _write_params(unsigned char* p, _Params q, bint v5) except NULL:
    # Order fixed by spec 4.1.4: <consistency><flags>[values][page_size][paging_state]
    # [serial_consistency][timestamp][keyspace][now_in_seconds].
    put_u16(p, <uint16_t>q.consistency)
    p += 2
    if v5:
        put_u32(p, q.flags)
        p += 4
    else:
        p[0] = <unsigned char>q.flags
        p += 1
    if q.flags & Q_VALUES:
        p = _write_values(p, q.values)
    if q.flags & Q_PAGE_SIZE:
        put_u32(p, <uint32_t>q.fetch_size)
        p += 4
    if q.flags & Q_PAGING_STATE:
        p = _put_long_bytes(p, q.paging_state)
    if q.flags & Q_SERIAL_CONSISTENCY:
        put_u16(p, <uint16_t>q.serial)
        p += 2
    if q.flags & Q_TIMESTAMP:
        put_u64(p, <uint64_t>q.timestamp)
        p += 8
    if q.flags & Q_KEYSPACE:
        p = _put_short_bytes(p, q.keyspace)
    if q.flags & Q_NOW_IN_SECONDS:
        put_u32(p, <uint32_t>q.now_in_seconds)
        p += 4
    return p


def encode_query_frame(int stream_id, int protocol_version, query, int consistency_level,
                       values=None, serial_consistency_level=None, fetch_size=None,
                       paging_state=None, timestamp=None, bint skip_meta=False, keyspace=None,
                       now_in_seconds=None, bint tracing=False, custom_payload=None,
                       bint beta=False) -> bytes:
    """A complete QUERY frame (spec 4.1.4): <query><query_parameters>.

    ``values`` (here and for EXECUTE) is a sequence of serialized values, or a mapping of bind
    marker name to value, which sends them by name (flag 0x40)."""
    cdef bytes q = _utf8(query, "query")
    cdef _Params params = _params(protocol_version, values, consistency_level,
                                  serial_consistency_level, fetch_size, paging_state, timestamp,
                                  skip_meta, keyspace, now_in_seconds)
    cdef _Prefix pre = _prefix(protocol_version, tracing, custom_payload, beta)
    cdef bytes frame = PyBytes_FromStringAndSize(
        NULL, FRAME_HEADER_LENGTH + PyBytes_GET_SIZE(pre.payload) + 4 + PyBytes_GET_SIZE(q)
        + params.size)
    cdef unsigned char* p = _start_frame(frame, protocol_version, pre.flags, stream_id,
                                         OPCODE_QUERY, pre.payload)
    p = _put_long_bytes(p, q)
    _write_params(p, params, protocol_version >= 5)
    return frame


def encode_execute_frame(int stream_id, int protocol_version, query_id, values,
                         int consistency_level, serial_consistency_level=None, fetch_size=None,
                         paging_state=None, timestamp=None, bint skip_meta=False,
                         result_metadata_id=None, now_in_seconds=None, bint tracing=False,
                         custom_payload=None, bint beta=False) -> bytes:
    """A complete EXECUTE frame: <id>[<result_metadata_id> (v5)]<query_parameters>
    (v4 spec 4.1.6, v5 spec 4.1.6)."""
    return _execute_frame(stream_id, protocol_version, query_id, values, consistency_level,
                          serial_consistency_level, fetch_size, paging_state, timestamp,
                          skip_meta, result_metadata_id, now_in_seconds, tracing, custom_payload,
                          beta)


cdef class ExecuteFields:
    """The fields of one EXECUTE request (v4/v5 spec 4.1.6), stored at C level.

    ``protocol.ExecuteMessage`` is this class plus the message API.  The encoder below reads the
    fields as C struct members: one EXECUTE per request is built and encoded on every request's
    path, and reading thirteen Python attributes from C cost more than the encoding itself.
    """
    cdef public object query_id, result_metadata_id, query_params, consistency_level
    cdef public object serial_consistency_level, fetch_size, paging_state, timestamp
    cdef public object continuous_paging_options, keyspace, custom_payload
    cdef public bint skip_meta, tracing

    def __init__(self, query_id, query_params, consistency_level, serial_consistency_level=None,
                 fetch_size=None, paging_state=None, timestamp=None, skip_meta=False,
                 continuous_paging_options=None, result_metadata_id=None):
        self.query_id = query_id
        self.result_metadata_id = result_metadata_id
        self.query_params = query_params
        self.consistency_level = consistency_level
        self.serial_consistency_level = serial_consistency_level
        self.fetch_size = fetch_size
        self.paging_state = paging_state
        self.timestamp = timestamp
        self.skip_meta = skip_meta
        self.continuous_paging_options = continuous_paging_options
        # keyspace stays None (EXECUTE has no keyspace of its own), tracing False and
        # custom_payload None until the session sets them.


def encode_execute_message(ExecuteFields msg not None, int stream_id, int protocol_version,
                           bint beta):
    """The EXECUTE frame for a ``protocol.ExecuteMessage`` (the hot path of
    ``ProtocolHandler.encode_message``).  Returns None when the message needs the checks of the
    Python path: continuous paging options, or a custom payload before v4."""
    if msg.continuous_paging_options or (protocol_version < 4 and msg.custom_payload):
        return None
    return _execute_frame(stream_id, protocol_version, msg.query_id, msg.query_params,
                          msg.consistency_level, msg.serial_consistency_level, msg.fetch_size,
                          msg.paging_state, msg.timestamp, msg.skip_meta,
                          msg.result_metadata_id, None, msg.tracing, msg.custom_payload, beta)


cdef bytes _execute_frame(int stream_id, int protocol_version, query_id, values,
                          int consistency_level, serial_consistency_level, fetch_size,
                          paging_state, timestamp, bint skip_meta, result_metadata_id,
                          now_in_seconds, bint tracing, custom_payload, bint beta):
    cdef bint v5 = protocol_version >= 5
    cdef bytes qid = _short_bytes(query_id, "query id")
    cdef bytes rmid = None
    cdef Py_ssize_t extra = 2 + PyBytes_GET_SIZE(qid)
    if v5:
        if result_metadata_id is None:
            raise ValueError("a v5 EXECUTE needs the result_metadata_id returned by PREPARE")
        rmid = _short_bytes(result_metadata_id, "result metadata id")
        extra += 2 + PyBytes_GET_SIZE(rmid)
    cdef _Params params = _params(protocol_version, values, consistency_level,
                                  serial_consistency_level, fetch_size, paging_state, timestamp,
                                  skip_meta, None, now_in_seconds)
    cdef _Prefix pre
    cdef int flags = (F_TRACING if tracing else 0) | (F_BETA if beta else 0)
    cdef bytes payload = b""
    if custom_payload:
        pre = _prefix(protocol_version, tracing, custom_payload, beta)
        flags = pre.flags
        payload = pre.payload
    cdef bytes frame = PyBytes_FromStringAndSize(
        NULL, FRAME_HEADER_LENGTH + PyBytes_GET_SIZE(payload) + extra + params.size)
    cdef unsigned char* p = _start_frame(frame, protocol_version, flags, stream_id,
                                         OPCODE_EXECUTE, payload)
    p = _put_short_bytes(p, qid)
    if v5:
        p = _put_short_bytes(p, rmid)
    _write_params(p, params, v5)
    return frame


def encode_batch_frame(int stream_id, int protocol_version, batch_type, queries,
                       int consistency_level, serial_consistency_level=None, timestamp=None,
                       keyspace=None, now_in_seconds=None, bint tracing=False,
                       custom_payload=None, bint beta=False) -> bytes:
    """A complete BATCH frame (spec 4.1.7): <type><n><query_1>...<query_n><consistency><flags>
    [<serial_consistency>][<timestamp>][<keyspace> (v5)][<now_in_seconds> (v5)].

    ``queries`` is a sequence of ``(is_prepared, query_string_or_id, values)``."""
    cdef bint v5 = protocol_version >= 5
    cdef list entries = []
    cdef Py_ssize_t size = 1 + 2 + 2 + (4 if v5 else 1)
    cdef uint32_t flags = 0
    cdef int btype = batch_type if isinstance(batch_type, int) else batch_type.value
    cdef bytes ks = None
    cdef _Values vals
    cdef bytes sb
    if len(queries) > 65535:
        raise ValueError("a batch holds at most 65535 statements (a [short] count)")
    for prepared, string_or_id, values in queries:
        vals = _check_values(values, False)
        if prepared:
            sb = _short_bytes(string_or_id, "query id")
            size += 1 + 2 + PyBytes_GET_SIZE(sb) + 2 + vals.size
        else:
            sb = _utf8(string_or_id, "query")
            size += 1 + 4 + PyBytes_GET_SIZE(sb) + 2 + vals.size
        entries.append((bool(prepared), sb, vals))
    if serial_consistency_level:
        flags |= Q_SERIAL_CONSISTENCY
        size += 2
    if timestamp is not None:
        flags |= Q_TIMESTAMP
        size += 8
    if keyspace:
        if not v5:
            raise ValueError("a per-batch keyspace needs protocol v5 or later")
        flags |= Q_KEYSPACE
        ks = _short_bytes(keyspace, "keyspace")
        size += 2 + PyBytes_GET_SIZE(ks)
    if now_in_seconds is not None:
        if not v5:
            raise ValueError("now_in_seconds needs protocol v5 or later")
        flags |= Q_NOW_IN_SECONDS
        size += 4
    cdef _Prefix pre = _prefix(protocol_version, tracing, custom_payload, beta)
    cdef bytes frame = PyBytes_FromStringAndSize(
        NULL, FRAME_HEADER_LENGTH + PyBytes_GET_SIZE(pre.payload) + size)
    cdef unsigned char* p = _start_frame(frame, protocol_version, pre.flags, stream_id,
                                         OPCODE_BATCH, pre.payload)
    p[0] = <unsigned char>btype
    put_u16(p + 1, <uint16_t>len(entries))
    p += 3
    for prepared, sb, vals in entries:
        p[0] = 1 if prepared else 0
        p += 1
        p = _put_short_bytes(p, sb) if prepared else _put_long_bytes(p, sb)
        p = _write_values(p, vals)
    put_u16(p, <uint16_t>consistency_level)
    p += 2
    if v5:
        put_u32(p, flags)
        p += 4
    else:
        p[0] = <unsigned char>flags
        p += 1
    if flags & Q_SERIAL_CONSISTENCY:
        put_u16(p, <uint16_t><int>serial_consistency_level)
        p += 2
    if flags & Q_TIMESTAMP:
        put_u64(p, <uint64_t><int64_t>timestamp)
        p += 8
    if flags & Q_KEYSPACE:
        p = _put_short_bytes(p, ks)
    if flags & Q_NOW_IN_SECONDS:
        put_u32(p, <uint32_t><int32_t>now_in_seconds)
    return frame


def encode_body_frame(int stream_id, int protocol_version, int opcode, body, bint tracing=False,
                      custom_payload=None, bint beta=False) -> bytes:
    """A complete frame around an already-encoded body, with the custom payload (if any)
    placed before it as spec section 2.2 requires."""
    cdef bytes b = body if type(body) is bytes else bytes(body)
    cdef _Prefix pre = _prefix(protocol_version, tracing, custom_payload, beta)
    cdef bytes frame = PyBytes_FromStringAndSize(
        NULL, FRAME_HEADER_LENGTH + PyBytes_GET_SIZE(pre.payload) + PyBytes_GET_SIZE(b))
    cdef unsigned char* p = _start_frame(frame, protocol_version, pre.flags, stream_id, opcode,
                                         pre.payload)
    memcpy(p, PyBytes_AS_STRING(b), PyBytes_GET_SIZE(b))
    return frame


def encode_prepare_frame(int stream_id, int protocol_version, query, keyspace=None,
                         bint tracing=False, custom_payload=None, bint beta=False) -> bytes:
    """PREPARE (spec 4.1.5): <query> and, from v5, <flags>[<keyspace>]."""
    cdef bytes q = _utf8(query, "query")
    cdef bytes ks = None
    cdef list parts = [_u32_bytes(PyBytes_GET_SIZE(q)), q]
    if protocol_version >= 5:
        if keyspace is not None:
            ks = _short_bytes(keyspace, "keyspace")
            parts.append(_u32_bytes(P_KEYSPACE))
            parts.append(_u16_bytes(PyBytes_GET_SIZE(ks)))
            parts.append(ks)
        else:
            parts.append(_u32_bytes(0))
    elif keyspace is not None:
        raise ValueError("preparing with a keyspace needs protocol v5 or later")
    return encode_body_frame(stream_id, protocol_version, OPCODE_PREPARE, b"".join(parts),
                             tracing, custom_payload, beta)


cdef bytes _string_list(items, str what):
    cdef list parts = [_u16_bytes(len(items))]
    cdef bytes b
    if len(items) > 65535:
        raise ValueError("%s holds at most 65535 strings" % what)
    for s in items:
        b = _short_bytes(s, what)
        parts.append(_u16_bytes(PyBytes_GET_SIZE(b)))
        parts.append(b)
    return b"".join(parts)


def encode_startup_frame(int stream_id, int protocol_version, options, bint beta=False) -> bytes:
    """STARTUP (spec 4.1.1): a [string map] of options."""
    cdef list parts = [_u16_bytes(len(options))]
    cdef bytes kb, vb
    for k, v in options.items():
        kb = _short_bytes(k, "startup option name")
        vb = _short_bytes(v, "startup option value")
        parts += [_u16_bytes(PyBytes_GET_SIZE(kb)), kb, _u16_bytes(PyBytes_GET_SIZE(vb)), vb]
    return encode_body_frame(stream_id, protocol_version, OPCODE_STARTUP, b"".join(parts),
                             False, None, beta)


def encode_options_frame(int stream_id, int protocol_version, bint beta=False) -> bytes:
    """OPTIONS (spec 4.1.3): an empty body."""
    return encode_body_frame(stream_id, protocol_version, OPCODE_OPTIONS, b"", False, None, beta)


def encode_register_frame(int stream_id, int protocol_version, event_list,
                          bint beta=False) -> bytes:
    """REGISTER (spec 4.1.8): a [string list] of event types."""
    return encode_body_frame(stream_id, protocol_version, OPCODE_REGISTER,
                             _string_list(event_list, "event list"), False, None, beta)


def encode_auth_response_frame(int stream_id, int protocol_version, response,
                               bint beta=False) -> bytes:
    """AUTH_RESPONSE (spec 4.1.2): a single [bytes] token (None is the null token)."""
    cdef bytes body
    if response is None:
        body = b"\xff\xff\xff\xff"
    else:
        tok = _utf8(response, "auth response")
        body = _u32_bytes(PyBytes_GET_SIZE(tok)) + tok
    return encode_body_frame(stream_id, protocol_version, OPCODE_AUTH_RESPONSE, body, False,
                             None, beta)


cdef class BodyReader:
    """Bounds-checked reader over a response body, one notation of spec section 3 per method.

    ``pos`` is the offset of the next unread byte; it can be handed to (and taken back from)
    the ``cassfast._types`` parsers, which read the same body from a position.
    """
    cdef readonly bytes body
    cdef public Py_ssize_t pos
    cdef const unsigned char* _p
    cdef Py_ssize_t _n

    def __cinit__(self, bytes body not None, Py_ssize_t pos=0):
        self.body = body
        self._p = <const unsigned char*>PyBytes_AS_STRING(body)
        self._n = PyBytes_GET_SIZE(body)
        if pos < 0 or pos > self._n:
            raise ValueError("position %d outside a body of %d bytes" % (pos, self._n))
        self.pos = pos

    @property
    def remaining(self) -> int:
        return self._n - self.pos

    cdef inline int _need(self, Py_ssize_t k, str what) except -1:
        if self.pos < 0 or self._n - self.pos < k:
            raise TruncatedMessage("message body ends while reading %s: %d bytes needed at "
                                   "offset %d, %d available" % (what, k, self.pos,
                                                                self._n - self.pos))
        return 0

    cpdef int read_byte(self) except -1:
        self._need(1, "a [byte]")
        self.pos += 1
        return self._p[self.pos - 1]

    cpdef int read_short(self) except -1:
        self._need(2, "a [short]")
        self.pos += 2
        return get_u16(self._p + self.pos - 2)

    cpdef int read_int(self) except? -1:
        self._need(4, "an [int]")
        self.pos += 4
        return <int32_t>get_u32(self._p + self.pos - 4)

    cpdef long long read_long(self) except? -1:
        self._need(8, "a [long]")
        self.pos += 8
        return <int64_t>((<uint64_t>get_u32(self._p + self.pos - 8) << 32)
                         | get_u32(self._p + self.pos - 4))

    cdef bytes _take(self, Py_ssize_t k, str what):
        self._need(k, what)
        self.pos += k
        return PyBytes_FromStringAndSize(<const char*>self._p + self.pos - k, k)

    cdef str _decode(self, Py_ssize_t k, str what):
        self._need(k, what)
        self.pos += k
        try:
            return PyUnicode_DecodeUTF8(<const char*>self._p + self.pos - k, k, NULL)
        except UnicodeDecodeError as exc:
            raise ProtocolError("%s is not valid UTF-8: %s" % (what, exc)) from None

    cpdef str read_string(self):
        return self._decode(self.read_short(), "a [string]")

    cpdef str read_longstring(self):
        cdef int n = self.read_int()
        if n < 0:
            raise ProtocolError("negative [long string] length %d" % n)
        return self._decode(n, "a [long string]")

    cpdef bytes read_short_bytes(self):
        return self._take(self.read_short(), "[short bytes]")

    cpdef object read_bytes(self):
        """[bytes]: None when the length is negative (spec section 3)."""
        cdef int n = self.read_int()
        if n < 0:
            return None
        return self._take(n, "[bytes]")

    cpdef bytes read_raw(self, Py_ssize_t n):
        return self._take(n, "raw bytes")

    cpdef list read_string_list(self):
        cdef int n = self.read_short()
        return [self.read_string() for _ in range(n)]

    cpdef dict read_string_map(self):
        cdef int n = self.read_short()
        cdef dict out = {}
        for _ in range(n):
            k = self.read_string()
            out[k] = self.read_string()
        return out

    cpdef dict read_string_multimap(self):
        cdef int n = self.read_short()
        cdef dict out = {}
        for _ in range(n):
            k = self.read_string()
            out[k] = self.read_string_list()
        return out

    cpdef dict read_bytes_map(self):
        cdef int n = self.read_short()
        cdef dict out = {}
        for _ in range(n):
            k = self.read_string()
            out[k] = self.read_bytes()
        return out

    cpdef str read_inetaddr(self):
        """[inetaddr]: a [byte] size (4 or 16) then the address, returned in text form."""
        cdef int n = self.read_byte()
        if n == 4:
            return socket.inet_ntop(socket.AF_INET, self._take(4, "an IPv4 [inetaddr]"))
        if n == 16:
            return socket.inet_ntop(socket.AF_INET6, self._take(16, "an IPv6 [inetaddr]"))
        raise ProtocolError("[inetaddr] of %d bytes: only 4 (IPv4) and 16 (IPv6) exist" % n)

    cpdef tuple read_inet(self):
        """[inet]: an [inetaddr] then an [int] port."""
        addr = self.read_inetaddr()
        return (addr, self.read_int())


def read_response_prelude(int flags, bytes body not None):
    """Read what spec section 2.2 puts before a response message: the tracing id ([uuid], as 16
    bytes), warnings ([string list]) and custom payload ([bytes map]) when their flags are set.

    Returns ``(trace_id_bytes_or_None, warnings_or_None, custom_payload_or_None, pos)``."""
    cdef BodyReader r
    if not (flags & (F_TRACING | F_WARNING | F_CUSTOM_PAYLOAD)):
        return None, None, None, 0
    r = BodyReader(body)
    trace = r.read_raw(16) if flags & F_TRACING else None
    warnings = r.read_string_list() if flags & F_WARNING else None
    payload = r.read_bytes_map() if flags & F_CUSTOM_PAYLOAD else None
    return trace, warnings, payload, r.pos

