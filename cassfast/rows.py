"""Row factories: how each row of a result is presented, with cassandra-driver's API.

A row factory is any callable ``factory(column_names, rows)`` taking the list of column names
and a list of row tuples and returning the list of rows to hand to the application; users may
write their own.  The four built-in ones here (``named_tuple_factory`` is the default) are also
recognised by identity in ``cassfast._types.decode_rows``, which builds their rows directly
while decoding and never calls these functions; they stay plain Python so that they keep
working when called directly and serve as the specification of what the fast path builds.
"""
from __future__ import annotations

import re
from collections import OrderedDict, namedtuple
from typing import Any, Callable, Dict, List, Sequence, Tuple, TypeVar

from cassfast.util import _sanitize_identifiers
from cassfast import _logger_for

log = _logger_for(__name__)

__all__ = ["tuple_factory", "named_tuple_factory", "dict_factory", "ordered_dict_factory",
           "named_tuple_class", "RowFactory"]

_RowT = TypeVar("_RowT")

RowFactory = Callable[[List[str], List[Tuple[Any, ...]]], List[_RowT]]
"""For type checkers: a row factory giving rows of type ``_RowT`` (``RowFactory[dict[str, Any]]``).

``ExecutionProfile(row_factory=f)`` carries the row type of ``f`` to the ``ResultSet`` of
``Session.execute(..., execution_profile=profile)``."""

_NON_ALNUM = re.compile("[^a-zA-Z0-9]")
_LEADING_BAD = re.compile("^[^a-zA-Z0-9]*")
_TRAILING_BAD = re.compile("[^a-zA-Z0-9_]*$")

_clean_name_cache: Dict[str, str] = {}
_row_class_cache: Dict[Tuple[str, ...], type] = {}
_ROW_CLASS_CACHE_LIMIT = 1024


def _clean_column_name(name: str) -> str:
    """A column name made identifier-like the reference's way (``count(*)`` -> ``count``)."""
    try:
        return _clean_name_cache[name]
    except KeyError:
        clean = _NON_ALNUM.sub("_", _LEADING_BAD.sub("", _TRAILING_BAD.sub("", name)))
        if len(_clean_name_cache) < 10000:
            _clean_name_cache[name] = clean
        return clean


def named_tuple_class(colnames: Sequence[str]) -> type:
    """The ``Row`` namedtuple class for these column names, built once per distinct names.

    Names that still are not valid, distinct identifiers after cleaning fall back to
    positional names (``field_0_``...), as the reference driver does, with a warning.
    """
    key = tuple(colnames)
    cls = _row_class_cache.get(key)
    if cls is not None:
        return cls
    clean = [_clean_column_name(name) for name in key]
    try:
        cls = namedtuple("Row", clean)
    except Exception:
        log.warning("Failed creating named tuple for results with column names %s (cleaned: %s) "
                    "(see Python 'namedtuple' documentation for details on name rules). "
                    "Results will be returned with positional names. "
                    "Avoid this by choosing different names, using SELECT \"<col name>\" AS aliases, "
                    "or specifying a different row_factory on your Session", list(key), clean)
        cls = namedtuple("Row", _sanitize_identifiers(clean))
    if len(_row_class_cache) >= _ROW_CLASS_CACHE_LIMIT:
        _row_class_cache.clear()
    _row_class_cache[key] = cls
    return cls


def tuple_factory(colnames: Sequence[str], rows: List[Tuple[Any, ...]]) -> List[Tuple[Any, ...]]:
    """Each row as a plain tuple."""
    return rows


def named_tuple_factory(colnames: Sequence[str], rows: List[Tuple[Any, ...]]) -> List[Any]:
    """Each row as a namedtuple (``row.name`` or ``row[0]``); the default row factory."""
    Row = named_tuple_class(colnames)
    return [Row(*row) for row in rows]


def dict_factory(colnames: Sequence[str], rows: List[Tuple[Any, ...]]) -> List[Dict[str, Any]]:
    """Each row as a dict keyed by column name."""
    return [dict(zip(colnames, row)) for row in rows]


def ordered_dict_factory(colnames: Sequence[str],
                         rows: List[Tuple[Any, ...]]) -> List[OrderedDict[str, Any]]:
    """Each row as an OrderedDict in column order."""
    return [OrderedDict(zip(colnames, row)) for row in rows]
