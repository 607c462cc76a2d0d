"""Value classes and time helpers for CQL values, with cassandra-driver's ``cassandra.util`` API.

This module holds the Python types that CQL values decode to when the standard library has no
exact match (``Date`` for the full CQL ``date`` range, ``Time`` with nanoseconds, ``Duration``,
``SortedSet`` for sets of possibly unhashable elements, ``OrderedMap`` /
``OrderedMapSerializedKey`` for maps keyed by unhashable values), the timestamp and time-UUID
helpers applications import from ``cassandra.util``, and ``Version`` for server release
strings.  It is pure Python and imports nothing from cassfast except the root module.
"""
from __future__ import annotations

import calendar
import datetime
import keyword
import pickle
import random
import re
import socket
import sys
import time
import uuid
from collections import OrderedDict  # noqa: F401  (re-exported like the reference does)
from collections.abc import Mapping
from functools import total_ordering
from typing import Iterable, Optional, Union

DATETIME_EPOC = datetime.datetime(1970, 1, 1)
UTC_DATETIME_EPOC = DATETIME_EPOC

# 100-ns intervals between the UUID epoch (1582-10-15) and the Unix epoch (RFC 4122 section 4.1.4).
_UUID_EPOCH_OFFSET = 0x01B21DD213814000

inet_pton = socket.inet_pton
inet_ntop = socket.inet_ntop


def datetime_from_timestamp(timestamp: float) -> datetime.datetime:
    """A naive UTC datetime for a Unix timestamp in seconds (negative and pre-1900 values work)."""
    return DATETIME_EPOC + datetime.timedelta(seconds=timestamp)


def utc_datetime_from_ms_timestamp(timestamp: int) -> datetime.datetime:
    """A naive UTC datetime for a Unix timestamp in milliseconds; OverflowError when out of range."""
    return UTC_DATETIME_EPOC + datetime.timedelta(milliseconds=timestamp)


def ms_timestamp_from_datetime(dt: datetime.datetime) -> int:
    """Milliseconds since the Unix epoch for a naive (UTC) datetime."""
    return int(round((dt - UTC_DATETIME_EPOC).total_seconds() * 1000))


def unix_time_from_uuid1(uuid_arg: uuid.UUID) -> float:
    """The Unix time (seconds, as ``time.time()`` gives it) stored in a version-1 UUID."""
    return (uuid_arg.time - _UUID_EPOCH_OFFSET) / 1e7


def datetime_from_uuid1(uuid_arg: uuid.UUID) -> datetime.datetime:
    """The naive UTC datetime stored in a version-1 UUID."""
    return datetime_from_timestamp(unix_time_from_uuid1(uuid_arg))


def uuid_from_time(time_arg: Union[datetime.datetime, float], node: Optional[int] = None,
                   clock_seq: Optional[int] = None) -> uuid.UUID:
    """A version-1 UUID for a datetime (UTC when naive) or a Unix timestamp in seconds.

    ``node`` (48 bits) and ``clock_seq`` (14 bits) are random when not given.
    """
    if hasattr(time_arg, "utctimetuple"):
        seconds = calendar.timegm(time_arg.utctimetuple())
        microseconds = seconds * 1_000_000 + time_arg.time().microsecond
    else:
        microseconds = int(time_arg * 1e6)
    intervals = microseconds * 10 + _UUID_EPOCH_OFFSET

    if clock_seq is None:
        clock_seq = random.getrandbits(14)
    elif clock_seq > 0x3FFF:
        raise ValueError("clock_seq is out of range (need a 14-bit value)")
    if node is None:
        node = random.getrandbits(48)

    return uuid.UUID(fields=(intervals & 0xFFFFFFFF,
                             (intervals >> 32) & 0xFFFF,
                             (intervals >> 48) & 0x0FFF,
                             0x80 | ((clock_seq >> 8) & 0x3F),
                             clock_seq & 0xFF,
                             node), version=1)


def min_uuid_from_time(timestamp: Union[datetime.datetime, float]) -> uuid.UUID:
    """The smallest time UUID for ``timestamp`` in Cassandra's order.

    Cassandra compares the clock-sequence and node bytes as signed bytes, so the smallest
    value fills them with 0x80 (-128).
    """
    return uuid_from_time(timestamp, 0x808080808080, 0x80)


def max_uuid_from_time(timestamp: Union[datetime.datetime, float]) -> uuid.UUID:
    """The largest time UUID for ``timestamp`` in Cassandra's order (signed bytes, 0x7f = 127)."""
    return uuid_from_time(timestamp, 0x7F7F7F7F7F7F, 0x3F7F)


LOWEST_TIME_UUID = uuid.UUID("00000000-0000-1000-8080-808080808080")
HIGHEST_TIME_UUID = uuid.UUID("ffffffff-ffff-1fff-bf7f-7f7f7f7f7f7f")


class SortedSet:
    """A set kept as a sorted list, so its elements need not be hashable (CQL ``set`` values).

    Elements that cannot be ordered against each other are grouped and found by scanning.
    """

    def __init__(self, iterable: Iterable = ()):
        self._items: list = []
        self.update(iterable)

    def __len__(self):
        return len(self._items)

    def __getitem__(self, i):
        return self._items[i]

    def __iter__(self):
        return iter(self._items)

    def __reversed__(self):
        return reversed(self._items)

    def __repr__(self):
        return "%s(%r)" % (type(self).__name__, self._items)

    def __reduce__(self):
        return type(self), (self._items,)

    def __eq__(self, other):
        if isinstance(other, SortedSet):
            return self._items == other._items
        try:
            return len(other) == len(self._items) and all(item in self for item in other)
        except TypeError:
            return NotImplemented

    def __ne__(self, other):
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    __hash__ = None  # mutable, like set

    def __le__(self, other):
        return self.issubset(other)

    def __lt__(self, other):
        return len(other) > len(self._items) and self.issubset(other)

    def __ge__(self, other):
        return self.issuperset(other)

    def __gt__(self, other):
        return len(self._items) > len(other) and self.issuperset(other)

    def __and__(self, other):
        return self._intersect(other)

    __rand__ = __and__

    def __iand__(self, other):
        self._items = self._intersect(other)._items
        return self

    def __or__(self, other):
        return self.union(other)

    __ror__ = __or__

    def __ior__(self, other):
        self._items = self.union(other)._items
        return self

    def __sub__(self, other):
        return self._diff(other)

    def __rsub__(self, other):
        return SortedSet(other) - self

    def __isub__(self, other):
        self._items = self._diff(other)._items
        return self

    def __xor__(self, other):
        return self.symmetric_difference(other)

    __rxor__ = __xor__

    def __ixor__(self, other):
        self._items = self.symmetric_difference(other)._items
        return self

    def __contains__(self, item):
        i = self._find_insertion(item)
        return i < len(self._items) and self._items[i] == item

    def __delitem__(self, i):
        del self._items[i]

    def add(self, item) -> None:
        i = self._find_insertion(item)
        if i < len(self._items):
            if self._items[i] != item:
                self._items.insert(i, item)
        else:
            self._items.append(item)

    def update(self, iterable: Iterable) -> None:
        for item in iterable:
            self.add(item)

    def clear(self) -> None:
        del self._items[:]

    def copy(self) -> "SortedSet":
        new = SortedSet()
        new._items = list(self._items)
        return new

    def isdisjoint(self, other) -> bool:
        return len(self._intersect(other)) == 0

    def issubset(self, other) -> bool:
        return len(self._intersect(other)) == len(self._items)

    def issuperset(self, other) -> bool:
        return len(self._intersect(other)) == len(other)

    def pop(self):
        if not self._items:
            raise KeyError("pop from empty set")
        return self._items.pop()

    def remove(self, item) -> None:
        i = self._find_insertion(item)
        if i < len(self._items) and self._items[i] == item:
            self._items.pop(i)
            return
        raise KeyError("%r" % (item,))

    def discard(self, item) -> None:
        try:
            self.remove(item)
        except KeyError:
            pass

    def union(self, *others) -> "SortedSet":
        result = self.copy()
        for other in others:
            result.update(other)
        return result

    def intersection(self, *others) -> "SortedSet":
        result = self.copy()
        for other in others:
            result = result._intersect(other)
        return result

    def difference(self, *others) -> "SortedSet":
        result = self.copy()
        for other in others:
            result = result._diff(other)
        return result

    def symmetric_difference(self, other) -> "SortedSet":
        return self._diff(other).union(SortedSet(other)._diff(self))

    def _diff(self, other) -> "SortedSet":
        result = SortedSet()
        result._items = [item for item in self._items if item not in other]
        return result

    def _intersect(self, other) -> "SortedSet":
        result = SortedSet()
        result._items = [item for item in self._items if item in other]
        return result

    def _find_insertion(self, x) -> int:
        # Binary search while the elements compare; when they do not (mixed types), fall back to
        # a linear scan that keeps the non-comparable elements grouped together.
        a = self._items
        lo, hi = 0, len(a)
        try:
            while lo < hi:
                mid = (lo + hi) // 2
                if a[mid] < x:
                    lo = mid + 1
                else:
                    hi = mid
        except TypeError:
            lo = 0
            compared_one = False
            while lo < hi:
                try:
                    if a[lo] == x or a[lo] >= x:
                        break
                    compared_one = True
                except TypeError:
                    if compared_one:
                        break
                lo += 1
        return lo


sortedset = SortedSet


class OrderedMap(Mapping):
    """An insertion-ordered, read-mostly mapping whose keys need not be hashable.

    CQL allows frozen collections as map keys (``map<frozen<list<int>>, text>``); Python lists
    cannot be dict keys, so entries are indexed by a serialized form of the key instead.
    """

    def __init__(self, *args, **kwargs):
        if len(args) > 1:
            raise TypeError("expected at most 1 arguments, got %d" % len(args))
        self._items: list = []
        self._index: dict = {}
        if args:
            source = args[0]
            if callable(getattr(source, "keys", None)):
                for k in source.keys():
                    self._insert(k, source[k])
            else:
                for k, v in source:
                    self._insert(k, v)
        for k, v in kwargs.items():
            self._insert(k, v)

    def _insert(self, key, value) -> None:
        flat_key = self._serialize_key(key)
        i = self._index.get(flat_key, -1)
        if i >= 0:
            self._items[i] = (key, value)
        else:
            self._items.append((key, value))
            self._index[flat_key] = len(self._items) - 1

    __setitem__ = _insert

    def __getitem__(self, key):
        try:
            return self._items[self._index[self._serialize_key(key)]][1]
        except KeyError:
            raise KeyError(str(key))

    def __delitem__(self, key):
        try:
            index = self._index.pop(self._serialize_key(key))
        except KeyError:
            raise KeyError(str(key))
        self._index = {k: (i if i < index else i - 1) for k, i in self._index.items()}
        self._items.pop(index)

    def __iter__(self):
        for item in self._items:
            yield item[0]

    def __len__(self):
        return len(self._items)

    def __eq__(self, other):
        if isinstance(other, OrderedMap):
            return self._items == other._items
        try:
            d = dict(other)
            return len(d) == len(self._items) and all(v == d[k] for k, v in self._items)
        except KeyError:
            return False
        except TypeError:
            pass
        return NotImplemented

    __hash__ = None

    def __repr__(self):
        return "%s([%s])" % (type(self).__name__,
                             ", ".join("(%r, %r)" % (k, v) for k, v in self._items))

    def __str__(self):
        return "{%s}" % ", ".join("%r: %r" % (k, v) for k, v in self._items)

    def popitem(self):
        try:
            kv = self._items.pop()
        except IndexError:
            raise KeyError()
        del self._index[self._serialize_key(kv[0])]
        return kv

    def _serialize_key(self, key):
        return pickle.dumps(key)


class OrderedMapSerializedKey(OrderedMap):
    """An ``OrderedMap`` indexed by the CQL serialization of its keys (what map decoding builds)."""

    def __init__(self, cass_type, protocol_version: int):
        super().__init__()
        self.cass_key_type = cass_type
        self.protocol_version = protocol_version

    def _insert_unchecked(self, key, flat_key, value) -> None:
        self._items.append((key, value))
        self._index[flat_key] = len(self._items) - 1

    def _serialize_key(self, key):
        return self.cass_key_type.serialize(key, self.protocol_version)


@total_ordering
class Time:
    """A time of day with nanosecond precision (the CQL ``time`` type: nanoseconds since midnight).

    Built from an int (nanoseconds), a ``datetime.time`` or a ``"HH:MM:SS[.fffffffff]"`` string.
    """

    MICRO = 1000
    MILLI = 1000 * MICRO
    SECOND = 1000 * MILLI
    MINUTE = 60 * SECOND
    HOUR = 60 * MINUTE
    DAY = 24 * HOUR

    nanosecond_time = 0

    def __init__(self, value: Union[int, datetime.time, str]):
        if isinstance(value, int):
            self._from_timestamp(value)
        elif isinstance(value, datetime.time):
            self._from_time(value)
        elif isinstance(value, str):
            self._from_timestring(value)
        else:
            raise TypeError("Time arguments must be a whole number, datetime.time, or string")

    @property
    def hour(self) -> int:
        return self.nanosecond_time // Time.HOUR

    @property
    def minute(self) -> int:
        return (self.nanosecond_time // Time.MINUTE) % 60

    @property
    def second(self) -> int:
        return (self.nanosecond_time // Time.SECOND) % 60

    @property
    def nanosecond(self) -> int:
        return self.nanosecond_time % Time.SECOND

    def time(self) -> datetime.time:
        """The ``datetime.time`` (nanoseconds truncated to microseconds)."""
        return datetime.time(hour=self.hour, minute=self.minute, second=self.second,
                             microsecond=self.nanosecond // Time.MICRO)

    def _from_timestamp(self, t: int) -> None:
        if t >= Time.DAY:
            raise ValueError("value must be less than number of nanoseconds in a day (%d)" % Time.DAY)
        self.nanosecond_time = t

    def _from_timestring(self, s: str) -> None:
        try:
            parts = s.split(".")
            base = time.strptime(parts[0], "%H:%M:%S")
            nanos = base.tm_hour * Time.HOUR + base.tm_min * Time.MINUTE + base.tm_sec * Time.SECOND
            if len(parts) > 1:
                nanos += int(parts[1].ljust(9, "0"))
        except ValueError:
            raise ValueError("can't interpret %r as a time" % (s,))
        self.nanosecond_time = nanos

    def _from_time(self, t: datetime.time) -> None:
        self.nanosecond_time = (t.hour * Time.HOUR + t.minute * Time.MINUTE
                                + t.second * Time.SECOND + t.microsecond * Time.MICRO)

    def __hash__(self):
        return self.nanosecond_time

    def __eq__(self, other):
        if isinstance(other, Time):
            return self.nanosecond_time == other.nanosecond_time
        if isinstance(other, int):
            return self.nanosecond_time == other
        return self.nanosecond_time % Time.MICRO == 0 and self.time() == other

    def __ne__(self, other):
        return not self.__eq__(other)

    def __lt__(self, other):
        if not isinstance(other, Time):
            return NotImplemented
        return self.nanosecond_time < other.nanosecond_time

    def __repr__(self):
        return "Time(%s)" % self.nanosecond_time

    def __str__(self):
        return "%02d:%02d:%02d.%09d" % (self.hour, self.minute, self.second, self.nanosecond)


@total_ordering
class Date:
    """A calendar date as days since 1970-01-01 (the CQL ``date`` type).

    Covers the whole CQL range, wider than ``datetime.date``; ``date()`` converts when the year
    fits in 1..9999.  Built from an int (days, may be negative), a date/datetime or a
    ``"yyyy-mm-dd"`` string.
    """

    MINUTE = 60
    HOUR = 60 * MINUTE
    DAY = 24 * HOUR

    date_format = "%Y-%m-%d"

    days_from_epoch = 0

    def __init__(self, value: Union[int, datetime.date, str]):
        if isinstance(value, int):
            self.days_from_epoch = value
        elif isinstance(value, (datetime.date, datetime.datetime)):
            self._from_timetuple(value.timetuple())
        elif isinstance(value, str):
            self._from_datestring(value)
        else:
            raise TypeError("Date arguments must be a whole number, datetime.date, or string")

    @property
    def seconds(self) -> int:
        return self.days_from_epoch * Date.DAY

    def date(self) -> datetime.date:
        """The ``datetime.date``; ValueError when the year is outside 1..9999."""
        try:
            return datetime.date(1970, 1, 1) + datetime.timedelta(days=self.days_from_epoch)
        except (OverflowError, ValueError):
            raise ValueError("%r exceeds ranges for built-in datetime.date" % self)

    def _from_timetuple(self, t) -> None:
        self.days_from_epoch = calendar.timegm(t) // Date.DAY

    def _from_datestring(self, s: str) -> None:
        if s[0] == "+":
            s = s[1:]
        self._from_timetuple(datetime.datetime.strptime(s, self.date_format).timetuple())

    def __hash__(self):
        return self.days_from_epoch

    def __eq__(self, other):
        if isinstance(other, Date):
            return self.days_from_epoch == other.days_from_epoch
        if isinstance(other, int):
            return self.days_from_epoch == other
        try:
            return self.date() == other
        except Exception:
            return False

    def __ne__(self, other):
        return not self.__eq__(other)

    def __lt__(self, other):
        if not isinstance(other, Date):
            return NotImplemented
        return self.days_from_epoch < other.days_from_epoch

    def __repr__(self):
        return "Date(%s)" % self.days_from_epoch

    def __str__(self):
        try:
            d = self.date()
        except ValueError:
            return str(self.days_from_epoch)
        return "%04d-%02d-%02d" % (d.year, d.month, d.day)


class Duration:
    """A CQL ``duration``: months, days and nanoseconds, kept apart because they do not convert."""

    months = 0
    days = 0
    nanoseconds = 0

    def __init__(self, months: int = 0, days: int = 0, nanoseconds: int = 0):
        self.months = months
        self.days = days
        self.nanoseconds = nanoseconds

    def __eq__(self, other):
        return (isinstance(other, self.__class__) and self.months == other.months
                and self.days == other.days and self.nanoseconds == other.nanoseconds)

    def __hash__(self):
        return hash((self.months, self.days, self.nanoseconds))

    def __repr__(self):
        return "Duration({0}, {1}, {2})".format(self.months, self.days, self.nanoseconds)

    def __str__(self):
        negative = self.months < 0 or self.days < 0 or self.nanoseconds < 0
        return "%s%dmo%dd%dns" % ("-" if negative else "", abs(self.months), abs(self.days),
                                  abs(self.nanoseconds))


def _positional_rename_invalid_identifiers(field_names):
    """Names that cannot be namedtuple fields become ``field_<index>_``."""
    names_out = list(field_names)
    for index, name in enumerate(field_names):
        if (not name or not all(c.isalnum() or c == "_" for c in name) or keyword.iskeyword(name)
                or name[0].isdigit() or name.startswith("_")):
            names_out[index] = "field_%d_" % index
    return names_out


def _sanitize_identifiers(field_names):
    """Valid, distinct namedtuple field names for ``field_names`` (duplicates get ``_`` appended)."""
    names_out = _positional_rename_invalid_identifiers(field_names)
    if len(names_out) != len(set(names_out)):
        seen = set()
        for index, name in enumerate(names_out):
            while names_out[index] in seen:
                names_out[index] = "%s_" % (names_out[index],)
            seen.add(names_out[index])
    return names_out


def list_contents_to_tuple(to_convert):
    """Lists (and lists nested one level down) as tuples, so they can be hashed."""
    if isinstance(to_convert, list):
        return tuple(tuple(i) if isinstance(i, list) else i for i in to_convert)
    return to_convert


VERSION_REGEX = re.compile(r"^(\d+)\.(\d+)(\.\d+)?(\.\d+)?([~\-]\w[.\w]*(?:-\w[.\w]*)*)?(\+[.\w]+)?$")


@total_ordering
class Version:
    """A Cassandra release version: ``major.minor[.patch[.build]][-prerelease][+metadata]``.

    Ordering follows the Java driver: numeric fields first, and a pre-release sorts before the
    release it precedes.
    """

    def __init__(self, version: str):
        self._version = version
        match = VERSION_REGEX.match(version)
        if not match:
            raise ValueError("Version string {0} did not match expected format".format(version))
        self.major = int(match[1])
        self.minor = int(match[2])
        self.patch = int(match[3][1:]) if match[3] else 0
        self.build = int(match[4][1:]) if match[4] else 0
        self.prerelease = match[5][1:] if match[5] else ""
        self._tuple = (self.major, self.minor, self.patch, self.build, self.prerelease)

    def __hash__(self):
        return hash(self._tuple)

    def __repr__(self):
        text = "Version({0}, {1}, {2}".format(self.major, self.minor, self.patch)
        if self.build:
            text += ", {}".format(self.build)
        if self.prerelease:
            text += ", {}".format(self.prerelease)
        return text + ")"

    def __str__(self):
        return self._version

    def __eq__(self, other):
        if not isinstance(other, Version):
            return NotImplemented
        return self._tuple == other._tuple

    def __gt__(self, other):
        if not isinstance(other, Version):
            return NotImplemented
        mine, theirs = self._tuple[:4], other._tuple[:4]
        if mine != theirs:
            return mine > theirs
        if self.prerelease and not other.prerelease:
            return False
        if other.prerelease and not self.prerelease:
            return True
        return self.prerelease > other.prerelease



# Names the reference's cassandra.util exposes.
from weakref import WeakSet  # noqa: E402,F401  (the reference kept a Python 2 backport)
is_little_endian = sys.byteorder == "little"
from cassfast import DriverException  # noqa: E402,F401
