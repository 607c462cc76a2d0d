"""Statement benchmarks: cassfast.query beside cassandra-driver's cassandra.query in the same run.

- ``bind-2``: ``PreparedStatement.bind((int, text))`` plus its ``routing_key``, the per-request
  work of a prepared INSERT before the frame is encoded;
- ``bind-10``: a 10-column bind of mixed types (uuid, timestamp, collections, ...);
- ``batch-50``: a ``BatchStatement`` of 50 prepared inserts;
- ``format-5``: ``bind_params`` client-side formatting of five values into a CQL string.

Both drivers' prepared statements are built from the same RESULT Prepared metadata bytes (native
protocol v5 spec section 4.2.5.4), parsed by each driver's own parser.

Run:  pytest bench/test_bench_query.py --benchmark-enable
The ratio of medians (reference / cassfast, > 1 means cassfast is faster) is printed at the end.
The machine is small and shared: repeat runs before trusting a ratio.
"""
import io
import struct
import uuid
from datetime import datetime
from decimal import Decimal

import pytest
from _ratios import Ratios
from cassandra import encoder as ref_encoder
from cassandra import protocol as ref_protocol
from cassandra import query as ref_query

from cassfast import _types
from cassfast import encoder as cf_encoder
from cassfast import query as cf_query

pytestmark = pytest.mark.benchmark

PROTOCOL = 5
_ratios = Ratios()
_record = _ratios.record

# [option] ids, spec section 4.2.5.2.
_IDS = {"bigint": 0x02, "boolean": 0x04, "decimal": 0x06, "double": 0x07, "int": 0x09,
        "timestamp": 0x0B, "uuid": 0x0C, "varchar": 0x0D}


def _string(s):
    b = s.encode()
    return struct.pack(">H", len(b)) + b


def _option(t):
    if isinstance(t, tuple):  # ("list", elem) or ("map", key, value)
        code = {"list": 0x20, "map": 0x21}[t[0]]
        return struct.pack(">H", code) + b"".join(_option(x) for x in t[1:])
    return struct.pack(">H", _IDS[t])


def _prepared(columns, pk_indexes):
    body = struct.pack(">iii", 0x0001, len(columns), len(pk_indexes))
    body += b"".join(struct.pack(">H", i) for i in pk_indexes) + _string("ks") + _string("t")
    body += b"".join(_string(n) + _option(t) for n, t in columns)
    body += struct.pack(">ii", 0x0004, 0)
    md, pks, _ = _types.parse_prepared_metadata(body, 0, PROTOCOL, {})
    ours = cf_query.PreparedStatement.from_message(b"id", md, pks, None, "Q", "ks", PROTOCOL,
                                                   None, None)
    msg = ref_protocol.ResultMessage(4)
    msg.recv_prepared_metadata(io.BytesIO(body), PROTOCOL, {})
    theirs = ref_query.PreparedStatement.from_message(b"id", msg.bind_metadata, msg.pk_indexes,
                                                      None, "Q", "ks", PROTOCOL, None, None)
    return {"cassfast": ours, "cassandra-driver": theirs}


TWO = _prepared([("k", "int"), ("v", "varchar")], [0])
TWO_VALUES = (123456, "x" * 64)
TEN = _prepared([("id", "uuid"), ("ts", "timestamp"), ("n", "bigint"), ("f", "double"),
                 ("b", "boolean"), ("d", "decimal"), ("s", "varchar"), ("i", "int"),
                 ("l", ("list", "int")), ("m", ("map", "varchar", "int"))], [0])
TEN_VALUES = (uuid.UUID(int=12345), datetime(2024, 1, 2, 3, 4, 5), 2 ** 40, 1.25, True,
              Decimal("12.345"), "some text", -7, [1, 2, 3], {"a": 1, "b": 2})
MODULES = {"cassfast": (cf_query, cf_encoder.Encoder()),
           "cassandra-driver": (ref_query, ref_encoder.Encoder())}
WHO = ["cassandra-driver", "cassfast"]


@pytest.fixture(scope="module", autouse=True)
def report_ratios(request):
    yield
    _ratios.print_report(request)


@pytest.mark.parametrize("who", WHO)
@pytest.mark.benchmark(group="bind-2")
def test_bind_two_columns_with_routing_key(benchmark, who):
    prepared = TWO[who]
    bound = benchmark(lambda: prepared.bind(TWO_VALUES).routing_key)
    assert bound == struct.pack(">i", 123456)
    _record(benchmark, "bind-2", who)


@pytest.mark.parametrize("who", WHO)
@pytest.mark.benchmark(group="bind-10")
def test_bind_ten_mixed_columns(benchmark, who):
    prepared = TEN[who]
    values = benchmark(lambda: prepared.bind(TEN_VALUES).values)
    assert values == TEN["cassandra-driver"].bind(TEN_VALUES).values
    _record(benchmark, "bind-10", who)


@pytest.mark.parametrize("who", WHO)
@pytest.mark.benchmark(group="batch-50")
def test_batch_of_fifty_prepared_inserts(benchmark, who):
    query, _ = MODULES[who]
    prepared = TWO[who]
    rows = [(k, "v%d" % k) for k in range(50)]

    def build():
        batch = query.BatchStatement(query.BatchType.UNLOGGED)
        for row in rows:
            batch.add(prepared, row)
        return batch

    assert len(benchmark(build)) == 50
    _record(benchmark, "batch-50", who)


@pytest.mark.parametrize("who", WHO)
@pytest.mark.benchmark(group="format-5")
def test_bind_params_five_values(benchmark, who):
    query, encoder = MODULES[who]
    cql = "INSERT INTO t (a, b, c, d, e) VALUES (%s, %s, %s, %s, %s)"
    params = (42, "it's", uuid.UUID(int=7), [1, 2], {"k": "v"})
    out = benchmark(query.bind_params, cql, params, encoder)
    assert out.startswith("INSERT INTO t (a, b, c, d, e) VALUES (42, 'it''s', ")
    _record(benchmark, "format-5", who)
