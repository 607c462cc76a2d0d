"""Querysets, batches and the write path of model instances.

``ModelQuerySet`` is what ``Model.objects`` returns: an immutable description of a SELECT
(filters, ordering, limit, selected fields, consistency...) that each chained call copies, run
lazily on iteration and read page by page (``fetch_size``).  It also issues set-wide UPDATE and
DELETE.  ``DMLQuery`` saves, updates and deletes one instance, ``BatchQuery`` groups writes into
one BATCH.  Every statement goes through ``_run``: prepared once per connection and CQL shape,
bound, and executed; conditional writes (IF ...) raise ``LWTException`` when not applied.
"""
from __future__ import annotations

import copy
import logging
from functools import partial
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Dict, Generic, Iterator, List, Optional, Sequence, TypeVar, overload

from cassfast.query import BatchStatement, BatchType as CBatchType
from cassfast.cqlengine import CQLEngineException, ValidationError, columns, statements
from cassfast.cqlengine import connection as conn_module
from cassfast.cqlengine.connection import NOT_SET, session_execute
from cassfast.cqlengine.operators import BaseQueryOperator, EqualsOperator
from cassfast.cqlengine.statements import WhereClause
from cassfast import _logger_for

log = _logger_for(__name__)


class QueryException(CQLEngineException):
    pass


class IfNotExistsWithCounterColumn(CQLEngineException):
    pass


class IfExistsWithCounterColumn(CQLEngineException):
    pass


class LWTException(CQLEngineException):
    """A conditional write (IF ...) was not applied; ``existing`` is the row the server returned."""

    def __init__(self, existing: Dict[str, Any]) -> None:
        super().__init__("LWT Query was not applied")
        self.existing = existing


class DoesNotExist(QueryException):
    pass


class MultipleObjectsReturned(QueryException):
    pass


class _Statement:
    """A built statement waiting to run alone or in a batch.

    ``build(timestamp)`` rebuilds it with another USING TIMESTAMP: a BATCH's own timestamp
    applies to the statements that have none (CQL spec, "BATCH"), but a batch of prepared
    statements cannot carry it in its text, so each statement takes it as a bind value instead.
    """

    __slots__ = ("cql", "values", "conditional", "counter", "timestamp", "build")

    def __init__(self, cql: str, values: List[Any], conditional: bool = False, counter: bool = False,
                 timestamp: Optional[int] = None,
                 build: Optional[Callable[[Optional[int]], tuple]] = None) -> None:
        self.cql = cql
        self.values = values
        self.conditional = conditional
        self.counter = counter
        self.timestamp = timestamp
        self.build = build

    @classmethod
    def from_builder(cls, build: Callable[[Optional[int]], tuple], timestamp: Optional[int],
                     conditional: bool = False, counter: bool = False) -> "_Statement":
        cql, values = build(timestamp=timestamp)
        return cls(cql, values, conditional, counter, timestamp, build)

    def with_default_timestamp(self, timestamp: int) -> tuple:
        """(cql, values) using ``timestamp`` unless the statement has its own."""
        if self.timestamp is not None or self.build is None:
            return self.cql, self.values
        return self.build(timestamp=timestamp)

    def __repr__(self) -> str:
        return "<Statement %s %r>" % (self.cql, self.values)


def _row_as_dict(row, column_names) -> Dict[str, Any]:
    if isinstance(row, dict):
        return row
    if hasattr(row, "_asdict"):
        return row._asdict()
    return dict(zip(column_names, row))


def check_applied(result) -> None:
    """Raise LWTException when a conditional statement's ``[applied]`` column is false."""
    rows = result.current_rows if hasattr(result, "current_rows") else list(result)
    if not rows:
        return
    first = _row_as_dict(rows[0], getattr(result, "column_names", None) or ["[applied]"])
    if first.get("[applied]", True) is False:
        raise LWTException(first)


def _run(stmt: _Statement, connection: Any, consistency: Optional[int] = None, timeout: Any = NOT_SET,
         fetch_size: Optional[int] = None):
    conn = conn_module.get_connection(connection)
    bound = conn.prepare(stmt.cql).bind(stmt.values)
    if consistency is not None:
        bound.consistency_level = consistency
    if fetch_size is not None:
        bound.fetch_size = fetch_size
    if log.isEnabledFor(logging.DEBUG):  # formatting the values costs more than running a prepared statement
        log.debug(conn_module.format_log_context("Query: %s, Params: %r" % (stmt.cql, stmt.values),
                                                 connection=connection))
    result = session_execute(conn.session, bound, None, timeout)
    if stmt.conditional:
        check_applied(result)
    return result


def _timestamp_micros(ts: Any) -> Optional[int]:
    """USING TIMESTAMP takes microseconds since the epoch; a timedelta is relative to now."""
    if ts is None:
        return None
    if isinstance(ts, timedelta):
        ts = datetime.now(timezone.utc) + ts
    if isinstance(ts, datetime):
        if ts.tzinfo is None:
            ts = ts.replace(tzinfo=timezone.utc)
        delta = ts - datetime(1970, 1, 1, tzinfo=timezone.utc)
        return (delta.days * 86400 + delta.seconds) * 1000000 + delta.microseconds
    if isinstance(ts, int) and not isinstance(ts, bool):
        return ts
    raise ValidationError("timestamp must be a datetime, a timedelta or microseconds, not %r" % (ts,))


def _check_ttl(ttl: Any) -> Optional[int]:
    if ttl is None:
        return None
    if isinstance(ttl, bool) or not isinstance(ttl, int) or ttl < 0:
        raise ValidationError("ttl must be a non-negative number of seconds, not %r" % (ttl,))
    return ttl


class BatchType:
    """The reference's names of the non-default batch types (``None`` means LOGGED)."""

    Unlogged = "UNLOGGED"
    Counter = "COUNTER"


_BATCH_TYPES = {"LOGGED": CBatchType.LOGGED, "UNLOGGED": CBatchType.UNLOGGED, "COUNTER": CBatchType.COUNTER}


def _driver_batch_type(batch_type: Any) -> Optional[CBatchType]:
    if batch_type is None or isinstance(batch_type, CBatchType):
        return batch_type
    try:
        return _BATCH_TYPES[str(batch_type).upper()]
    except KeyError:
        raise CQLEngineException("unknown batch type %r (use BatchType.Unlogged, BatchType.Counter or None)"
                                 % (batch_type,)) from None


class BatchQuery:
    """Writes collected and sent as one BATCH (``with BatchQuery() as b: Model.batch(b).create(...)``)."""

    warn_multiple_exec = True
    _consistency: Optional[int] = None
    _connection: Any = None
    _connection_explicit = False

    def __init__(self, batch_type: Optional[BatchType] = None, timestamp: Any = None,
                 consistency: Optional[int] = None, execute_on_exception: bool = False,
                 timeout: Any = NOT_SET, connection: Any = None) -> None:
        self.queries: List[_Statement] = []
        self.batch_type = batch_type
        self._driver_batch_type = _driver_batch_type(batch_type)
        if timestamp is not None and not isinstance(timestamp, (datetime, timedelta, int)):
            raise CQLEngineException("'timestamp' object must be an instance of datetime, timedelta or int")
        self.timestamp = timestamp
        self._consistency = consistency
        self._execute_on_exception = execute_on_exception
        self._timeout = timeout
        self._callbacks: List[tuple] = []
        self._executed = False
        self._connection = connection
        self._connection_explicit = connection is not None

    def add_query(self, query: _Statement) -> None:
        if not isinstance(query, _Statement):
            raise CQLEngineException("only mapper statements can be added to a BatchQuery, not %r" % (query,))
        self.queries.append(query)

    def consistency(self, consistency: Optional[int]) -> None:
        self._consistency = consistency

    def add_callback(self, fn: Callable, *args: Any, **kwargs: Any) -> None:
        """Call ``fn(*args, **kwargs)`` once the batch has been executed."""
        if not callable(fn):
            raise ValueError("Value for argument 'fn' is {0} and is not a callable object.".format(type(fn)))
        self._callbacks.append((fn, args, kwargs))

    def _execute_callbacks(self) -> None:
        for fn, args, kwargs in self._callbacks:
            fn(*args, **kwargs)

    def _bind_connection(self, connection: Any) -> None:
        if self._connection_explicit:
            return
        if self.queries and connection != self._connection:
            raise CQLEngineException("BatchQuery queries must all use the same connection")
        self._connection = connection

    def execute(self) -> None:
        if self._executed and self.warn_multiple_exec:
            log.warning("Batch executed multiple times.")
        self._executed = True
        if not self.queries:
            self._execute_callbacks()
            return
        batch_type = self._driver_batch_type
        if batch_type is None:
            batch_type = CBatchType.COUNTER if all(q.counter for q in self.queries) else CBatchType.LOGGED
        conn = conn_module.get_connection(self._connection)
        batch = BatchStatement(batch_type=batch_type)
        if self._consistency is not None:
            batch.consistency_level = self._consistency
        ts = _timestamp_micros(self.timestamp)
        for q in self.queries:
            cql, values = q.with_default_timestamp(ts) if ts is not None else (q.cql, q.values)
            batch.add(conn.prepare(cql), values)
        result = session_execute(conn.session, batch, None, self._timeout)
        if any(q.conditional for q in self.queries):
            check_applied(result)
        self.queries = []
        self._execute_callbacks()

    def __enter__(self) -> "BatchQuery":
        return self

    def __exit__(self, exc_type, exc_val, exc_tb) -> None:
        if exc_type is not None and not self._execute_on_exception:
            return
        self.execute()


class ContextQuery:
    """Use models on another keyspace and/or connection for the length of a ``with`` block::

        with ContextQuery(Car, keyspace="archive") as C:
            C.create(...)
    """

    def __init__(self, *models, **kwargs: Any) -> None:
        from cassfast.cqlengine.models import BaseModel
        unknown = set(kwargs) - {"keyspace", "connection"}
        if unknown:
            raise CQLEngineException("Unknown keyword argument(s): %s" % ", ".join(sorted(unknown)))
        if not models:
            raise CQLEngineException("ContextQuery needs at least one model")
        for model in models:
            if not (isinstance(model, type) and issubclass(model, BaseModel)):
                raise CQLEngineException("Models must be derived from base Model, not %r" % (model,))
        self.models = models
        self._keyspace = kwargs.get("keyspace")
        self._connection = kwargs.get("connection")
        if self._connection:
            for model in models:
                if model.__connection__:
                    raise CQLEngineException("Cannot specify a connection on model %s that has a __connection__"
                                             % model.__name__)

    def _clone(self, model):
        attrs = {"__module__": model.__module__, "__table_name__": model._raw_column_family_name(),
                 "__table_name_case_sensitive__": True}
        if self._keyspace:
            attrs["__keyspace__"] = self._keyspace
        if self._connection:
            attrs["__connection__"] = self._connection
        return type(model.__name__, (model,), attrs)

    def __enter__(self):
        clones = tuple(self._clone(m) for m in self.models)
        return clones[0] if len(clones) == 1 else clones

    def __exit__(self, exc_type, exc_val, exc_tb) -> None:
        return None


_T = TypeVar("_T")
_QS = TypeVar("_QS", bound="AbstractQuerySet[Any]")


class AbstractQuerySet(Generic[_T]):
    """A lazily run, chainable SELECT over one model's table.

    For type checkers an ``AbstractQuerySet[T]`` yields objects of type ``T`` (the model class for
    ``Model.objects``); the chainable methods return a queryset of the same type."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self._where: List[WhereClause] = []
        self._conditional: List[WhereClause] = []
        self._order: List[str] = []
        self._allow_filtering = False
        self._limit: Optional[int] = 10000  # the reference's default cap on a queryset
        self._limit_set = False  # count() honours only a limit the caller asked for
        self._defer_fields: List[str] = []
        self._only_fields: List[str] = []
        self._values_list = False
        self._flat_values_list = False
        self._values_order: Optional[List[str]] = None  # values_list fields, in the asked order
        self._distinct_fields: Optional[List[str]] = None
        self._consistency: Optional[int] = None
        self._timestamp = None
        self._if_not_exists = False
        self._if_exists = False
        self._timeout = NOT_SET
        self._fetch_size: Optional[int] = None
        self._ttl: Optional[int] = None
        self._batch: Optional[BatchQuery] = None
        self._keyspace: Optional[str] = None
        self._connection: Any = None
        self._count: Optional[int] = None
        self._result_cache: Optional[list] = None
        self._result_iter: Optional[Iterator] = None

    @property
    def column_family_name(self) -> str:
        return self.model._table_cql(self._keyspace)

    def _effective_connection(self) -> Any:
        return self._connection or self.model.__connection__

    def __copy__(self):
        clone = self.__class__.__new__(self.__class__)
        clone.__dict__.update(self.__dict__)
        for attr in ("_where", "_conditional", "_order", "_defer_fields", "_only_fields"):
            setattr(clone, attr, list(getattr(self, attr)))
        clone._result_cache = None
        clone._result_iter = None
        clone._count = None
        return clone

    def _clone(self):
        return copy.copy(self)

    def __repr__(self) -> str:
        try:
            what = self._select_statement().cql
        except CQLEngineException as exc:  # e.g. no keyspace yet: repr must not raise
            what = "(%s)" % exc
        return "<%s %s>" % (type(self).__name__, what)

    # -- running the SELECT -------------------------------------------------------------------

    def _select_fields(self) -> List[str]:
        if self._values_list and self._values_order:
            return self._values_order
        if self._distinct_fields is not None:
            return self._distinct_fields
        selectable = self.model._selectable_columns()
        names = list(selectable)
        if self._only_fields:
            names = [n for n in names if n in self._only_fields]
        elif self._defer_fields:
            names = [n for n in names if n not in self._defer_fields or selectable[n].primary_key]
        if self.model._is_polymorphic and self._only_fields:
            # the discriminator tells which class a row becomes, so it is always read
            names.append(self.model._discriminator_column_name)
        return list(dict.fromkeys(selectable[n].db_field_name for n in names))

    def _select_statement(self, count: bool = False) -> _Statement:
        cql, values = statements.select(
            self.column_family_name, None if count else self._select_fields(), self._where, count=count,
            distinct=self._distinct_fields is not None and not count, order_by=self._order,
            limit=None if count else self._limit, allow_filtering=self._allow_filtering)
        return _Statement(cql, values)

    def _validate_select_where(self) -> None:
        """Catch the obvious mistakes before the server does, with the model's own names."""
        if self._allow_filtering or not self._where:
            return
        has_token = any(isinstance(w.column, columns._PartitionKeysToken) for w in self._where)
        keyed = any(w.column.primary_key or w.column.index for w in self._where
                    if isinstance(w.operator, EqualsOperator))
        if not (keyed or has_token):
            raise QueryException("Where clauses require either =, a IN or a CONTAINS (with allow_filtering) "
                                 "comparison with either a primary key or indexed field. You might want to "
                                 "consider setting allow_filtering on this query.")

    def _execute_query(self) -> None:
        if self._batch is not None:
            raise CQLEngineException("Only inserts, updates, and deletes are available in batch mode")
        if self._result_cache is None:
            self._validate_select_where()
            result = _run(self._select_statement(), self._effective_connection(), self._consistency,
                          self._timeout, self._fetch_size)
            names = getattr(result, "column_names", None) or self._select_fields()
            build = self._result_constructor()
            self._result_cache = []
            self._result_iter = (build(_row_as_dict(r, names)) for r in result)

    def _fill_to(self, n: Optional[int]) -> None:
        """Read rows (and pages) until ``n`` are cached, or all of them when ``n`` is None."""
        self._execute_query()
        if self._result_iter is None:
            return
        cache = self._result_cache
        while n is None or len(cache) < n:
            try:
                cache.append(next(self._result_iter))
            except StopIteration:
                self._result_iter = None
                break

    def _result_constructor(self) -> Callable[[Dict[str, Any]], Any]:
        model = self.model
        if not self._values_list:
            if self._keyspace is None and self._connection is None:
                return model._construct_instance
            keyspace, connection = self._keyspace, self._connection

            def construct(row):
                # Instances read through using() save back to where they were read from.
                inst = model._construct_instance(row)
                inst._keyspace, inst._connection = keyspace, connection
                return inst
            return construct
        db_map = model._db_map
        fields = self._select_fields()
        cols = [model._columns[db_map[f]] for f in fields]
        if self._flat_values_list:
            col, field = cols[0], fields[0]
            return lambda row: col.to_python(row.get(field))
        return lambda row: [c.to_python(row.get(f)) for c, f in zip(cols, fields)]

    def __iter__(self) -> Iterator[_T]:
        self._execute_query()
        i = 0
        while True:
            if i >= len(self._result_cache):
                self._fill_to(i + 1)
                if i >= len(self._result_cache):
                    return
            yield self._result_cache[i]
            i += 1

    def __len__(self) -> int:
        self._fill_to(None)
        return len(self._result_cache)

    @overload
    def __getitem__(self, s: int) -> _T: ...

    @overload
    def __getitem__(self, s: slice) -> List[_T]: ...

    def __getitem__(self, s: Any) -> Any:
        if isinstance(s, slice):
            start, stop = s.start, s.stop
            if (start is not None and start < 0) or (stop is not None and stop < 0):
                self._fill_to(None)
            else:
                self._fill_to(stop)
            return self._result_cache[s]
        try:
            s = int(s)
        except (TypeError, ValueError):
            raise TypeError("QuerySet indices must be integers or slices") from None
        self._fill_to(None if s < 0 else s + 1)
        return self._result_cache[s]

    # -- chainable options --------------------------------------------------------------------

    def _resolve(self, name: str):
        if name == "pk":
            name = self.model._pk_name
        col = self.model._columns.get(name)
        if col is None:
            col_name = self.model._db_map.get(name)
            col = self.model._columns.get(col_name) if col_name else None
        if col is None:
            raise QueryException("Can't resolve column name: '%s'" % name)
        return col

    def _clauses(self, args: Sequence, kwargs: Dict[str, Any], cls=WhereClause) -> List[WhereClause]:
        out = []
        for arg in args:
            if not isinstance(arg, WhereClause):
                raise QueryException("Arguments must be column comparisons (Model.col == value), not %r" % (arg,))
            out.append(arg)
        for arg, value in kwargs.items():
            parts = arg.split("__")
            if len(parts) >= 2 and parts[1] == "token":
                if parts[0] != "pk":
                    raise QueryException("Token filters take the form pk__token__<op>")
                column = columns._PartitionKeysToken(self.model)
                op_name = parts[2] if len(parts) > 2 else "eq"
                if len(parts) > 3:
                    raise QueryException("Can't parse '%s'" % arg)
            else:
                if len(parts) > 2:
                    raise QueryException("Can't parse '%s'" % arg)
                column = self._resolve(parts[0])
                op_name = parts[1] if len(parts) > 1 else "eq"
            try:
                operator = BaseQueryOperator.get_operator(op_name)()
            except CQLEngineException as exc:
                raise QueryException(str(exc)) from None
            try:
                out.append(cls.build(column, operator, value))
            except statements.StatementException as exc:
                raise QueryException(str(exc)) from None
        return out

    def filter(self: _QS, *args: Any, **kwargs: Any) -> _QS:
        """Add WHERE conditions: ``col=v``, ``col__<op>=v`` or ``Model.col <op> v`` expressions."""
        if not args and not kwargs:
            return self
        clone = self._clone()
        clone._where.extend(self._clauses(args, kwargs))
        return clone

    def __call__(self: _QS, *args: Any, **kwargs: Any) -> _QS:
        return self.filter(*args, **kwargs)

    def all(self: _QS) -> _QS:
        return self._clone()

    def iff(self: _QS, *args: Any, **kwargs: Any) -> _QS:
        """Make the UPDATE/DELETE conditional: ``IF col = v AND ...`` (lightweight transaction)."""
        clone = self._clone()
        clone._conditional.extend(self._clauses(args, kwargs, statements.ConditionalClause))
        return clone

    def get(self, *args: Any, **kwargs: Any) -> _T:
        """The single matching object; ``DoesNotExist`` / ``MultipleObjectsReturned`` otherwise."""
        if args or kwargs:
            return self.filter(*args, **kwargs).get()
        self._fill_to(2)
        if not self._result_cache:
            raise self.model.DoesNotExist
        if len(self._result_cache) > 1:
            self._fill_to(None)
            raise self.model.MultipleObjectsReturned("%d objects found" % len(self._result_cache))
        return self._result_cache[0]

    def first(self) -> Optional[_T]:
        try:
            return self[0]
        except IndexError:
            return None

    def count(self) -> int:
        if self._batch is not None:
            raise CQLEngineException("Only inserts, updates, and deletes are available in batch mode")
        if self._result_cache is not None and self._result_iter is None:
            return len(self._result_cache)
        if self._count is None:
            self._validate_select_where()
            result = _run(self._select_statement(count=True), self._effective_connection(),
                          self._consistency, self._timeout)
            row = _row_as_dict(list(result)[0], ["count"])
            count = next(iter(row.values()))
            self._count = min(count, self._limit) if self._limit_set and self._limit is not None else count
        return self._count

    def limit(self: _QS, v: Optional[int]) -> _QS:
        if v is not None and (isinstance(v, bool) or not isinstance(v, int)):
            raise TypeError("limit must be an integer or None, not %r" % (v,))
        if v is not None and v <= 0:
            raise QueryException("Limit must be greater than 0, not %d" % v)
        clone = self._clone()
        clone._limit = v
        clone._limit_set = True
        return clone

    def fetch_size(self: _QS, v: int) -> _QS:
        if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
            raise QueryException("fetch size must be a positive integer, not %r" % (v,))
        clone = self._clone()
        clone._fetch_size = v
        return clone

    def order_by(self: _QS, *colnames: str) -> _QS:
        """ORDER BY clustering columns; ``'-name'`` sorts descending."""
        if len(colnames) == 1 and isinstance(colnames[0], (list, tuple)):
            colnames = tuple(colnames[0])
        clone = self._clone()
        for name in colnames:
            desc = name.startswith("-")
            col = self._resolve(name.lstrip("-"))
            if not col.primary_key or col.partition_key:
                raise QueryException("Can't order on '%s': only clustering columns can be ordered on" % name)
            clone._order.append("%s %s" % (col.cql, "DESC" if desc else "ASC"))
        return clone

    def allow_filtering(self: _QS) -> _QS:
        clone = self._clone()
        clone._allow_filtering = True
        return clone

    def _field_names(self, fields) -> List[str]:
        names = []
        for f in fields:
            names.append(self._resolve(f).column_name)
        return names

    def only(self: _QS, fields: Sequence[str]) -> _QS:
        """Select only these columns (the primary key is always read)."""
        if isinstance(fields, str):
            fields = [fields]
        clone = self._clone()
        clone._only_fields = self._field_names(fields)
        return clone

    def defer(self: _QS, fields: Sequence[str]) -> _QS:
        """Select every column but these (primary key columns are always read)."""
        if isinstance(fields, str):
            fields = [fields]
        clone = self._clone()
        clone._defer_fields = self._field_names(fields)
        return clone

    def values_list(self, *fields: str, flat: bool = False) -> AbstractQuerySet[Any]:
        """Rows as lists of values (``flat=True`` with one field: the bare values)."""
        if flat and len(fields) != 1:
            raise TypeError("'flat' is not valid when values_list is called with more than one field.")
        clone = self._clone()
        if fields:
            cols = self.model._columns
            clone._values_order = [cols[n].db_field_name for n in self._field_names(fields)]
        clone._values_list = True
        clone._flat_values_list = flat
        return clone

    def distinct(self: _QS, distinct_fields: Optional[Sequence[str]] = None) -> _QS:
        """SELECT DISTINCT of the partition key (or of ``distinct_fields``)."""
        clone = self._clone()
        names = self._field_names(distinct_fields) if distinct_fields else list(self.model._partition_keys)
        clone._distinct_fields = [self.model._columns[n].db_field_name for n in names]
        return clone

    def consistency(self: _QS, consistency: Optional[int]) -> _QS:
        clone = self._clone()
        clone._consistency = consistency
        return clone

    def timeout(self: _QS, timeout: Optional[float]) -> _QS:
        clone = self._clone()
        clone._timeout = timeout
        return clone

    def ttl(self: _QS, ttl: Optional[int]) -> _QS:
        clone = self._clone()
        clone._ttl = _check_ttl(ttl)
        return clone

    def timestamp(self: _QS, timestamp: Any) -> _QS:
        clone = self._clone()
        _timestamp_micros(timestamp)  # validate now, convert when the statement is built
        clone._timestamp = timestamp
        return clone

    def if_not_exists(self: _QS) -> _QS:
        if self.model._has_counter:
            raise IfNotExistsWithCounterColumn("if_not_exists cannot be used with tables containing counter columns")
        clone = self._clone()
        clone._if_not_exists = True
        return clone

    def if_exists(self: _QS) -> _QS:
        if self.model._has_counter:
            raise IfExistsWithCounterColumn("if_exists cannot be used with tables containing counter columns")
        clone = self._clone()
        clone._if_exists = True
        return clone

    def batch(self: _QS, batch_obj: Optional[BatchQuery]) -> _QS:
        if batch_obj is not None and not isinstance(batch_obj, BatchQuery):
            raise CQLEngineException("batch_obj must be a BatchQuery instance or None")
        clone = self._clone()
        clone._batch = batch_obj
        return clone

    def using(self: _QS, keyspace: Optional[str] = None, connection: Any = None) -> _QS:
        """Run on another keyspace and/or named connection."""
        if connection and self.model.__connection__:
            raise CQLEngineException("Cannot specify a connection on model %s that has a __connection__"
                                     % self.model.__name__)
        clone = self._clone()
        if keyspace:
            clone._keyspace = keyspace
        if connection:
            clone._connection = connection
        return clone


class ResultObject(dict):
    """A row as a dict whose keys can also be read as attributes."""

    def __getattr__(self, item: str):
        try:
            return self[item]
        except KeyError:
            raise AttributeError(item) from None


class SimpleQuerySet(AbstractQuerySet["ResultObject"]):
    """Queryset over a NamedTable: rows are ResultObjects."""

    def _result_constructor(self):
        if self._values_list:
            return super()._result_constructor()
        return ResultObject


class ModelQuerySet(AbstractQuerySet[_T]):
    """The queryset of ``Model.objects``: SELECT plus set-wide create/update/delete."""

    def create(self, **kwargs: Any) -> _T:
        return (self.model(**kwargs).batch(self._batch).ttl(self._ttl).consistency(self._consistency)
                .if_not_exists(self._if_not_exists).timestamp(self._timestamp).timeout(self._timeout)
                .using(keyspace=self._keyspace, connection=self._connection).save())

    def _dispatch(self, stmt: _Statement) -> None:
        if self._batch is not None:
            self._batch._bind_connection(self._effective_connection())
            self._batch.add_query(stmt)
        else:
            _run(stmt, self._effective_connection(), self._consistency, self._timeout)

    def update(self, **values: Any) -> None:
        """UPDATE every matched row: ``col=v``; lists ``__append/__prepend/__remove``, sets
        ``__add/__remove``, maps ``__update/__remove``; a counter value is a delta."""
        if not values:
            return
        assignments = []
        for key, value in values.items():
            name, _, op = key.partition("__")
            col = self._resolve(name)
            if col.primary_key:
                raise ValidationError("Cannot apply update to primary key '%s' for %s.%s"
                                      % (name, self.model.__module__, self.model.__name__))
            assignments.append(_collection_assignment(col, op, value))
        ttl = self._ttl if self._ttl is not None else self.model.__default_ttl__
        build = partial(statements.update, self.column_family_name, assignments, self._where, ttl=ttl,
                        if_exists=self._if_exists,
                        conditionals=self._conditional)
        self._dispatch(_Statement.from_builder(build, _timestamp_micros(self._timestamp),
                                               conditional=bool(self._if_exists or self._conditional),
                                               counter=self.model._has_counter))

    def delete(self, columns: Sequence[str] = ()) -> None:
        """DELETE the matched rows (or only ``columns`` of them)."""
        partition_keys = set(self.model._partition_keys)
        if not partition_keys <= {w.column.column_name for w in self._where}:
            raise QueryException("The partition key must be defined on delete queries")
        fields = [self._resolve(c) for c in columns]
        build = partial(statements.delete, self.column_family_name, fields, self._where,
                        if_exists=self._if_exists, conditionals=self._conditional)
        self._dispatch(_Statement.from_builder(build, _timestamp_micros(self._timestamp),
                                               conditional=bool(self._if_exists or self._conditional),
                                               counter=self.model._has_counter))


def _collection_assignment(col: columns.Column, op: str, value: Any):
    """(column, kind, driver value) of one SET term of an UPDATE."""
    S = statements
    if isinstance(col, columns.Counter):
        if op:
            raise QueryException("Counter column '%s' takes a delta, not '__%s'" % (col.column_name, op))
        return col, S.INCREMENT, col.to_database(col.validate(value))
    if not op:
        return col, S.ASSIGN, col.to_database(col.validate(value))
    kinds = {columns.List: {"append": S.APPEND, "prepend": S.PREPEND, "remove": S.REMOVE},
             columns.Set: {"add": S.APPEND, "remove": S.REMOVE},
             columns.Map: {"update": S.MAP_PUT, "remove": S.REMOVE}}
    for klass, ops in kinds.items():
        if isinstance(col, klass) and op in ops:
            kind = ops[op]
            if klass is columns.Map and kind == S.REMOVE:
                keys = {col.key_col.to_database(col.key_col.validate(k)) for k in value}
                return col, kind, keys
            if klass is columns.List and kind == S.REMOVE:
                value = list(value)
            elif klass is columns.Set:
                value = set(value)
            return col, kind, col.to_database(col.validate(value))
    raise QueryException("'%s' is not a valid update operation for column '%s' (%s)"
                         % (op, col.column_name, type(col).__name__))


def _collection_changes(col: columns.Column, previous: Any, value: Any) -> list:
    """SET terms that turn ``previous`` into ``value`` by element, not by replacing the whole
    collection, so that concurrent changes to other elements survive (CQL spec, "Collections")."""
    S = statements
    if isinstance(col, columns.Set):
        added, removed = set(value) - set(previous), set(previous) - set(value)
        return ([(col, S.APPEND, col.to_database(added))] if added else []) + \
               ([(col, S.REMOVE, col.to_database(removed))] if removed else [])
    if isinstance(col, columns.Map):
        changed = {k: v for k, v in value.items() if k not in previous or previous[k] != v}
        removed = {col.key_col.to_database(k) for k in previous if k not in value}
        return ([(col, S.MAP_PUT, col.to_database(changed))] if changed else []) + \
               ([(col, S.REMOVE, removed)] if removed else [])
    if isinstance(col, columns.List):
        n, value = len(previous), list(value)
        if value[:n] == list(previous):
            return [(col, S.APPEND, col.to_database(value[n:]))] if len(value) > n else []
        if len(value) > n and value[-n:] == list(previous):
            return [(col, S.PREPEND, col.to_database(value[:-n]))]
    # Lists changed in the middle, and tuples (frozen): the whole value.
    return [(col, S.ASSIGN, col.to_database(value))]


class DMLQuery:
    """Saves, updates and deletes one model instance (what ``instance.save()`` runs)."""

    def __init__(self, model, instance=None, batch: Optional[BatchQuery] = None, ttl: Optional[int] = None,
                 consistency: Optional[int] = None, timestamp=None, if_not_exists: bool = False,
                 conditional: Optional[List[WhereClause]] = None, timeout=NOT_SET, if_exists: bool = False) -> None:
        self.model = model
        self.instance = instance
        self._batch = batch
        self._ttl = ttl
        self._consistency = consistency
        self._timestamp = timestamp
        self._if_not_exists = if_not_exists
        self._if_exists = if_exists
        self._conditional = conditional or []
        self._timeout = timeout
        self.column_family_name = model._table_cql(getattr(instance, "_keyspace", None))
        self._connection = getattr(instance, "_connection", None) or model.__connection__

    def _execute(self, stmt: _Statement):
        if self._batch is not None:
            self._batch._bind_connection(self._connection)
            self._batch.add_query(stmt)
            return None
        return _run(stmt, self._connection, self._consistency, self._timeout)

    def _pk_where(self) -> List[WhereClause]:
        inst = self.instance
        out = []
        for name, col in inst._primary_keys.items():
            value = getattr(inst, name)
            if value is None:
                raise ValidationError("primary key column '%s' must have a value" % name)
            out.append(WhereClause(col, EqualsOperator(), col.to_database(value)))
        return out

    def _ttl_value(self) -> Optional[int]:
        return self._ttl if self._ttl is not None else self.model.__default_ttl__

    def save(self) -> None:
        inst = self.instance
        if inst._has_counter or inst._can_update():
            if self._if_not_exists:
                raise IfNotExistsWithCounterColumn("if_not_exists cannot be used with tables containing counter columns") \
                    if inst._has_counter else CQLEngineException("if_not_exists on an already saved instance")
            return self.update()
        assignments = []
        for name, col in inst._columns.items():
            mgr = inst._values[name]
            value = mgr.value
            if col._val_is_null(value):
                # Only a value the caller explicitly cleared is written as null (a tombstone);
                # untouched empty columns are left out of the INSERT.
                if mgr.changed or (mgr.explicit and value is None and not col.primary_key):
                    assignments.append((col, None))
                continue
            assignments.append((col, col.to_database(value)))
        ttl = self._ttl_value()
        build = partial(statements.insert, self.column_family_name, assignments, ttl=ttl,
                        if_not_exists=self._if_not_exists)
        self._execute(_Statement.from_builder(build, _timestamp_micros(self._timestamp),
                                              conditional=self._if_not_exists))

    def update(self) -> None:
        inst = self.instance
        if self._if_not_exists:
            raise CQLEngineException("if_not_exists applies to inserts only")
        assignments = []
        for name, col in inst._columns.items():
            if col.primary_key:
                continue
            mgr = inst._values[name]
            if isinstance(col, columns.Counter):
                previous = mgr.previous_value or 0
                delta = (mgr.value or 0) - previous
                if delta:
                    assignments.append((col, statements.INCREMENT, delta))
                continue
            if not (mgr.changed or (mgr.explicit and not inst._is_persisted)):
                continue
            value = mgr.value
            if inst._is_persisted and isinstance(col, columns.BaseContainerColumn) \
                    and not col._val_is_null(value) and not col._val_is_null(mgr.previous_value):
                assignments.extend(_collection_changes(col, mgr.previous_value, value))
                continue
            db_value = None if col._val_is_null(value) else col.to_database(value)
            assignments.append((col, statements.ASSIGN, db_value))
        if not assignments:
            if inst._has_counter or self._conditional or self._if_exists:
                return  # nothing changed; an UPDATE without SET is not valid CQL
            # A new row of primary key columns only: INSERT it.
            keys = [(c, c.to_database(getattr(inst, n))) for n, c in inst._primary_keys.items()]
            ttl = self._ttl_value()
            build = partial(statements.insert, self.column_family_name, keys, ttl=ttl)
            self._execute(_Statement.from_builder(build, _timestamp_micros(self._timestamp)))
            return
        where = self._pk_where()
        if any(c.static for c, _, _ in assignments) and all(c.static for c, _, _ in assignments):
            # Only static columns change: address the partition, not the row (CQL "Static columns").
            where = [w for w in where if w.column.partition_key]
        ttl = self._ttl_value()
        build = partial(statements.update, self.column_family_name, assignments, where, ttl=ttl,
                        if_exists=self._if_exists, conditionals=self._conditional)
        self._execute(_Statement.from_builder(build, _timestamp_micros(self._timestamp),
                                              conditional=bool(self._if_exists or self._conditional),
                                              counter=inst._has_counter))

    def delete(self) -> None:
        where = self._pk_where()
        build = partial(statements.delete, self.column_family_name, [], where,
                        if_exists=self._if_exists, conditionals=self._conditional)
        self._execute(_Statement.from_builder(build, _timestamp_micros(self._timestamp),
                                              conditional=bool(self._if_exists or self._conditional),
                                              counter=self.model._has_counter))
