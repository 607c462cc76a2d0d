"""CQL literals for client-side parameter binding, with cassandra-driver's ``cassandra.encoder`` API.

Simple (non-prepared) statements with ``%s`` / ``%(name)s`` placeholders are completed on the
client: each parameter becomes a CQL literal through ``Encoder.cql_encode_all_types``, which looks
the value's exact Python type up in ``Encoder.mapping`` (applications may add or replace
entries).  ``ValueSequence`` marks a list that should render as a parenthesised ``IN (...)``
list rather than a CQL list literal.
"""
from __future__ import annotations

import calendar
import datetime
import ipaddress
import math
import types
from binascii import hexlify
from collections import OrderedDict
from decimal import Decimal
from typing import Any, Callable, Dict
from uuid import UUID

from cassfast.util import Date, OrderedMap, OrderedMapSerializedKey, SortedSet, Time
from cassfast.util import sortedset  # noqa: F401  (the reference's cassandra.encoder exposes it)
from cassfast import _logger_for

log = _logger_for(__name__)

__all__ = ["Encoder", "ValueSequence", "cql_quote"]


def cql_quote(term: Any) -> str:
    """A str as a single-quoted CQL string literal (quotes doubled); other values via ``str``."""
    if isinstance(term, str):
        return "'%s'" % term.replace("'", "''")
    return str(term)


class ValueSequence(list):
    """A list rendered as ``(a, b, c)``, for ``WHERE k IN %s`` parameters."""


def _is_value_sequence(value: Any) -> bool:
    # Duck-typed so that a ValueSequence defined elsewhere (or a subclass) renders the same way.
    return isinstance(value, list) and type(value).__name__ == "ValueSequence"


class Encoder:
    """Maps Python values to CQL literal strings for client-side parameter binding.

    ``mapping`` is keyed by exact Python type; values of unlisted types are rendered with
    ``cql_encode_object`` (``str(value)``).
    """

    mapping: Dict[type, Callable[[Any], str]]

    def __init__(self) -> None:
        self.mapping = {
            float: self.cql_encode_float,
            Decimal: self.cql_encode_decimal,
            bytearray: self.cql_encode_bytes,
            str: self.cql_encode_str,
            int: self.cql_encode_object,
            UUID: self.cql_encode_object,
            datetime.datetime: self.cql_encode_datetime,
            datetime.date: self.cql_encode_date,
            datetime.time: self.cql_encode_time,
            Date: self.cql_encode_date_ext,
            Time: self.cql_encode_time,
            dict: self.cql_encode_map_collection,
            OrderedDict: self.cql_encode_map_collection,
            OrderedMap: self.cql_encode_map_collection,
            OrderedMapSerializedKey: self.cql_encode_map_collection,
            list: self.cql_encode_list_collection,
            tuple: self.cql_encode_list_collection,
            set: self.cql_encode_set_collection,
            SortedSet: self.cql_encode_set_collection,
            frozenset: self.cql_encode_set_collection,
            types.GeneratorType: self.cql_encode_list_collection,
            ValueSequence: self.cql_encode_sequence,
            memoryview: self.cql_encode_bytes,
            bytes: self.cql_encode_bytes,
            type(None): self.cql_encode_none,
            ipaddress.IPv4Address: self.cql_encode_ipaddress,
            ipaddress.IPv6Address: self.cql_encode_ipaddress,
        }

    def _encoder_for(self, value: Any) -> Callable[[Any], str]:
        encoder = self.mapping.get(type(value))
        if encoder is not None:
            return encoder
        if _is_value_sequence(value):
            return self.cql_encode_sequence
        return self.cql_encode_object

    def cql_encode_none(self, val: None) -> str:
        """None is ``NULL``."""
        return "NULL"

    def cql_encode_unicode(self, val: str) -> str:
        return cql_quote(val)

    def cql_encode_str(self, val: str) -> str:
        """A quoted string literal with embedded quotes doubled."""
        return cql_quote(val)

    def cql_encode_str_quoted(self, val: Any) -> str:
        return "'%s'" % val

    def cql_encode_bytes(self, val) -> str:
        """A blob literal: ``0x`` followed by hex digits."""
        return (b"0x" + hexlify(val)).decode("utf-8")

    def cql_encode_object(self, val: Any) -> str:
        """The fallback: ``str(val)``."""
        return str(val)

    def cql_encode_float(self, val: float) -> str:
        """``repr`` keeps full precision; infinities and NaN use CQL's spelling."""
        if math.isinf(val):
            return "Infinity" if val > 0 else "-Infinity"
        if math.isnan(val):
            return "NaN"
        return repr(val)

    def cql_encode_datetime(self, val: datetime.datetime) -> str:
        """Milliseconds since the epoch (naive datetimes are UTC), as an integer literal."""
        timestamp = calendar.timegm(val.utctimetuple())
        return str(int(timestamp * 1e3 + getattr(val, "microsecond", 0) / 1e3))

    def cql_encode_date(self, val: datetime.date) -> str:
        """A ``'YYYY-MM-DD'`` literal."""
        return "'%s'" % val.strftime("%Y-%m-%d")

    def cql_encode_time(self, val) -> str:
        """A quoted ``'HH:MM:SS.fffffffff'`` literal (``datetime.time`` or ``util.Time``)."""
        return "'%s'" % val

    def cql_encode_date_ext(self, val: Date) -> str:
        """A ``util.Date`` as the raw unsigned day number (works beyond datetime's years)."""
        return str(val.days_from_epoch + 2 ** 31)

    def cql_encode_sequence(self, val) -> str:
        """``(a, b, ...)``: for IN lists and tuple values."""
        return "(%s)" % ", ".join(self._encoder_for(v)(v) for v in val)

    cql_encode_tuple = cql_encode_sequence

    def cql_encode_map_collection(self, val) -> str:
        """``{k: v, ...}``: a map literal."""
        return "{%s}" % ", ".join("%s: %s" % (self._encoder_for(k)(k), self._encoder_for(v)(v))
                                  for k, v in val.items())

    def cql_encode_list_collection(self, val) -> str:
        """``[a, b, ...]``: a list literal."""
        return "[%s]" % ", ".join(self._encoder_for(v)(v) for v in val)

    def cql_encode_set_collection(self, val) -> str:
        """``{a, b, ...}``: a set literal."""
        return "{%s}" % ", ".join(self._encoder_for(v)(v) for v in val)

    def cql_encode_all_types(self, val: Any, as_text_type: bool = False) -> str:
        """Any value as a CQL literal, using ``mapping`` (``cql_encode_object`` when unlisted)."""
        encoded = self._encoder_for(val)(val)
        if as_text_type and not isinstance(encoded, str):
            return encoded.decode("utf-8")
        return encoded

    def cql_encode_ipaddress(self, val) -> str:
        """An ``ipaddress`` address as a quoted inet literal."""
        return "'%s'" % val.compressed

    def cql_encode_decimal(self, val: Decimal) -> str:
        """Decimals go through float, like the reference driver."""
        return self.cql_encode_float(float(val))

