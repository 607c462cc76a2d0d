"""Model classes: declare a table as a Python class, get instances and a queryset for it.

``ModelMetaClass`` reads the ``columns`` declared on a ``Model`` subclass (and inherited from
its bases) and derives the primary key (partition key first, then clustering columns in
declaration order), the table name, per-model ``DoesNotExist`` / ``MultipleObjectsReturned``
exceptions, and ``objects``.  Instances keep one value manager per column so that ``save()``
writes only what changed; writes themselves are ``query.DMLQuery``'s business.
"""
from __future__ import annotations

import copy
import re
from typing import Any, Dict, Iterator, Optional, Type, TypeVar

from cassfast.cqlengine import CQLEngineException, ValidationError, columns
from cassfast.cqlengine import query as query_module
from cassfast.cqlengine.columns import quote_identifier
from cassfast.cqlengine.operators import (ContainsOperator, EqualsOperator, GreaterThanOperator,
                                          GreaterThanOrEqualOperator, InOperator, LessThanOperator,
                                          LessThanOrEqualOperator, NotEqualsOperator)
from cassfast.cqlengine.query import (BatchQuery, DMLQuery, DoesNotExist as _DoesNotExist, LWTException,
                                      ModelQuerySet, MultipleObjectsReturned as _MultipleObjectsReturned,
                                      QueryException)
from cassfast.cqlengine.statements import WhereClause

# The keyspace of models without __keyspace__; set by connection.setup().
DEFAULT_KEYSPACE: Optional[str] = None


class ModelException(CQLEngineException):
    pass


class ModelDefinitionException(ModelException):
    pass


class PolymorphicModelException(ModelException):
    pass


class UndefinedKeyspaceWarning(Warning):
    pass


_M = TypeVar("_M", bound="BaseModel")


class hybrid_classmethod:
    """Calls ``clsmethod`` when looked up on the class and ``instmethod`` on an instance."""

    def __init__(self, clsmethod: Any, instmethod: Any) -> None:
        self.clsmethod = clsmethod
        self.instmethod = instmethod

    def __get__(self, instance: Any, owner: Any) -> Any:
        if instance is None:
            return self.clsmethod.__get__(owner, owner)
        return self.instmethod.__get__(instance, owner)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("hybrid_classmethod is only callable through a class or an instance")


class ColumnQueryEvaluator:
    """``Model.column`` on the class: builds filter expressions (``Model.age >= 18``)."""

    def __init__(self, column: columns.Column) -> None:
        self.column = column

    def __repr__(self) -> str:
        return "<ColumnQueryEvaluator %s>" % self.column.column_name

    def _clause(self, operator, value) -> WhereClause:
        try:
            return WhereClause.build(self.column, operator, value)
        except CQLEngineException as exc:
            raise QueryException(str(exc)) from None

    def __eq__(self, other):
        return self._clause(EqualsOperator(), other)

    def __ne__(self, other):
        return self._clause(NotEqualsOperator(), other)

    def __gt__(self, other):
        return self._clause(GreaterThanOperator(), other)

    def __ge__(self, other):
        return self._clause(GreaterThanOrEqualOperator(), other)

    def __lt__(self, other):
        return self._clause(LessThanOperator(), other)

    def __le__(self, other):
        return self._clause(LessThanOrEqualOperator(), other)

    def in_(self, items):
        return self._clause(InOperator(), items)

    def contains_(self, item):
        return self._clause(ContainsOperator(), item)

    __hash__ = None  # comparisons build clauses, so instances must not be used as dict keys


class ColumnDescriptor:
    """Instance attribute access to a column's value manager; class access builds filters."""

    def __init__(self, column: columns.Column) -> None:
        self.column = column
        self.query_evaluator = ColumnQueryEvaluator(column)

    def __get__(self, instance, owner):
        if instance is None:
            return self.query_evaluator
        return instance._values[self.column.column_name].getval()

    def __set__(self, instance, value) -> None:
        instance._values[self.column.column_name].setval(value)

    def __delete__(self, instance) -> None:
        if self.column.can_delete:
            instance._values[self.column.column_name].delval()
        else:
            raise AttributeError("cannot delete primary key column %s" % self.column.column_name)


class QuerySetDescriptor:
    """``Model.objects``: a fresh queryset per access; not available on instances."""

    def __get__(self, instance: object, model: Type[_M]) -> ModelQuerySet[_M]:
        if instance is not None:
            raise AttributeError("objects is only available on the model class, not on instances")
        if model.__abstract__:
            raise CQLEngineException("cannot execute queries against abstract models")
        queryset = model.__queryset__(model)
        if model._is_polymorphic and not model._is_polymorphic_base:
            # A subclass reads only its own rows when the server can filter on the discriminator.
            column = model._discriminator_column
            if column.partition_key or column.index:
                return queryset.filter(**{model._discriminator_column_name: model.__discriminator_value__})
        return queryset

    def __call__(self, *args, **kwargs):
        raise NotImplementedError


_CAMEL = re.compile(r"([a-z])([A-Z])")


def _default_table_name(class_name: str) -> str:
    # CamelCase -> camel_case, at most 48 characters, no leading underscores (the reference's rule).
    name = _CAMEL.sub(lambda m: "%s_%s" % (m.group(1), m.group(2).lower()), class_name)
    return re.sub(r"^_+", "", name[-48:].lower())


# Per-instance options of the next write, in their reset state.
_FRESH_WRITE_OPTIONS = {"_ttl": None, "_timestamp": None, "_conditional": None, "_batch": None,
                        "_timeout": query_module.NOT_SET, "_if_not_exists": False, "_if_exists": False,
                        "_keyspace": None, "_connection": None}


class BaseModel:
    """Instance behaviour of every model; see ``Model``."""

    class DoesNotExist(_DoesNotExist):
        pass

    class MultipleObjectsReturned(_MultipleObjectsReturned):
        pass

    objects = QuerySetDescriptor()

    __abstract__ = True
    __table_name__: Optional[str] = None
    __table_name_case_sensitive__ = False
    __keyspace__: Optional[str] = None
    __connection__: Optional[str] = None
    __options__: Optional[Dict[str, Any]] = None
    __default_ttl__: Optional[int] = None
    __discriminator_value__ = None
    __compute_routing_key__ = True
    __queryset__ = ModelQuerySet
    __dmlquery__ = DMLQuery
    __consistency__: Optional[int] = None

    _columns: Dict[str, columns.Column] = {}
    _primary_keys: Dict[str, columns.Column] = {}
    _partition_keys: Dict[str, columns.Column] = {}
    _clustering_keys: Dict[str, columns.Column] = {}
    _db_map: Dict[str, str] = {}
    _has_counter = False
    _pk_name: Optional[str] = None
    _row_readers: Dict[str, tuple] = {}
    _is_polymorphic = False
    _is_polymorphic_base = False
    _polymorphic_base = None
    _discriminator_column: Optional[columns.Column] = None
    _discriminator_column_name: Optional[str] = None
    _discriminator_map: Dict[Any, type] = {}

    def __init__(self, **values: Any) -> None:
        self._keyspace: Optional[str] = None
        self._connection = None
        self._ttl: Optional[int] = None
        self._timestamp = None
        self._conditional = None
        self._batch: Optional[BatchQuery] = None
        self._timeout = query_module.NOT_SET
        self._if_not_exists = False
        self._if_exists = False
        self._is_persisted = False
        self.__consistency__ = type(self).__consistency__
        unknown = [k for k in values if k not in self._columns]
        if unknown:
            raise ValidationError("%s has no column(s) %s" % (type(self).__name__, ", ".join(sorted(unknown))))
        self._values: Dict[str, columns.BaseValueManager] = {}
        for name, col in self._columns.items():
            if name in values:
                value = values[name]
            else:
                value = col.get_default() if col.has_default else None
            if value is not None:
                value = col.to_python(value) if not isinstance(col, columns.BaseContainerColumn) else value
            mgr = col.value_manager(self, col, value)
            mgr.explicit = name in values
            self._values[name] = mgr

    def __repr__(self) -> str:
        return "%s(%s)" % (type(self).__name__, ", ".join("%s=%r" % (k, getattr(self, k)) for k in self._columns))

    def __str__(self) -> str:
        return "%s <%s>" % (type(self).__name__, ", ".join("%s=%s" % (k, getattr(self, k))
                                                           for k in self._primary_keys))

    def __eq__(self, other) -> bool:
        if type(self) is not type(other):
            return NotImplemented
        return all(getattr(self, k) == getattr(other, k) for k in self._columns)

    def __ne__(self, other) -> bool:
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    __hash__ = object.__hash__

    # -- class-level helpers ------------------------------------------------------------------

    @classmethod
    def _get_keyspace(cls) -> Optional[str]:
        return cls.__keyspace__ or DEFAULT_KEYSPACE

    @classmethod
    def _raw_column_family_name(cls) -> str:
        if cls._is_polymorphic and not cls._is_polymorphic_base and "__table_name__" not in cls.__dict__:
            return cls._polymorphic_base._raw_column_family_name()  # subclasses share the base's table
        if cls.__table_name__:
            return cls.__table_name__ if cls.__table_name_case_sensitive__ else cls.__table_name__.lower()
        return _default_table_name(cls.__name__)

    @classmethod
    def column_family_name(cls, include_keyspace: bool = True) -> str:
        """The table name, quoted, qualified by the keyspace unless ``include_keyspace`` is false."""
        table = quote_identifier(cls._raw_column_family_name())
        if not include_keyspace:
            return table
        return "%s.%s" % (quote_identifier(cls._keyspace_or_raise()), table)

    @classmethod
    def _keyspace_or_raise(cls, keyspace: Optional[str] = None) -> str:
        ks = keyspace or cls._get_keyspace()
        if not ks:
            raise CQLEngineException("Model keyspace is not set and no default is available. Set model keyspace "
                                     "or setup connection before attempting to generate a query.")
        return ks

    @classmethod
    def _table_cql(cls, keyspace: Optional[str] = None) -> str:
        return "%s.%s" % (quote_identifier(cls._keyspace_or_raise(keyspace)),
                          quote_identifier(cls._raw_column_family_name()))

    @classmethod
    def _class_get_connection(cls):
        return cls.__connection__

    def _inst_get_connection(self):
        return self._connection or self.__connection__

    _get_connection = hybrid_classmethod(_class_get_connection, _inst_get_connection)

    @classmethod
    def _get_column(cls, name: str) -> columns.Column:
        return cls._columns[name]

    @classmethod
    def _get_column_by_db_name(cls, name: str) -> Optional[columns.Column]:
        return cls._columns.get(cls._db_map.get(name))

    @classmethod
    def _construct_instance(cls, values: Dict[str, Any]):
        """An instance from a row (a mapping by CQL column name), marked as persisted.

        The hot path of reading: it builds the value managers directly instead of going through
        ``__init__``, and skips ``to_python`` for the columns whose driver values need none.
        """
        if cls._is_polymorphic:
            cls = cls._class_for_row(values)
        inst = cls.__new__(cls)
        inst.__dict__.update(_FRESH_WRITE_OPTIONS)
        inst.__consistency__ = cls.__consistency__
        inst._is_persisted = True
        managers = {}
        readers = cls._row_readers
        for name, col in cls._columns.items():
            db_name, convert = readers[name]
            value = values.get(db_name)
            if value is None:
                if isinstance(col, columns.BaseContainerColumn):
                    value = col.get_default()
            elif convert:
                value = col.to_python(value)
            mgr = col.value_manager(inst, col, value)
            mgr.reset_previous_value()
            managers[name] = mgr
        inst._values = managers
        return inst

    @classmethod
    def _class_for_row(cls, values: Dict[str, Any]) -> type:
        """The polymorphic subclass a row belongs to, from its discriminator value."""
        key = values.get(cls._discriminator_column.db_field_name)
        if key is None:
            raise PolymorphicModelException("discriminator value was not found in values")
        base = cls if cls._is_polymorphic_base else cls._polymorphic_base
        klass = base._discriminator_map.get(key)
        if klass is None:
            raise PolymorphicModelException("unrecognized discriminator column %r for class %s"
                                            % (key, base.__name__))
        if not issubclass(klass, cls):
            raise PolymorphicModelException("%s is not a subclass of %s" % (klass.__name__, cls.__name__))
        return klass

    @classmethod
    def _selectable_columns(cls) -> Dict[str, columns.Column]:
        """The columns a SELECT reads: with polymorphism, those of every registered subclass too."""
        if not cls._is_polymorphic:
            return cls._columns
        out = dict(cls._columns)
        base = cls if cls._is_polymorphic_base else cls._polymorphic_base
        seen = {c.db_field_name for c in out.values()}
        for klass in base._discriminator_map.values():
            if issubclass(klass, cls):
                for name, col in klass._columns.items():
                    if col.db_field_name not in seen:
                        seen.add(col.db_field_name)
                        out[name] = col
        return out

    def _set_persisted(self, force: bool = False) -> None:
        for mgr in self._values.values():
            mgr.reset_previous_value()
            mgr.explicit = False
        self._is_persisted = True

    def _can_update(self) -> bool:
        if not self._is_persisted:
            return False
        return all(not self._values[k].changed for k in self._primary_keys)

    @property
    def pk(self):
        return getattr(self, self._pk_name)

    @pk.setter
    def pk(self, value) -> None:
        setattr(self, self._pk_name, value)

    # -- mapping protocol ---------------------------------------------------------------------

    def __getitem__(self, key: str):
        if not isinstance(key, str):
            raise TypeError
        if key not in self._columns:
            raise KeyError(key)
        return getattr(self, key)

    def __setitem__(self, key: str, val) -> None:
        if not isinstance(key, str):
            raise TypeError
        if key not in self._columns:
            raise KeyError(key)
        setattr(self, key, val)

    def __len__(self) -> int:
        return len(self._columns)

    def __iter__(self):
        return iter(self._columns)

    def __contains__(self, key) -> bool:
        return key in self._columns

    def keys(self):
        return list(self._columns)

    def values(self):
        return [getattr(self, k) for k in self._columns]

    def items(self):
        return [(k, getattr(self, k)) for k in self._columns]

    def _as_dict(self) -> Dict[str, Any]:
        return {k: mgr.value for k, mgr in self._values.items()}

    # -- validation and change tracking -------------------------------------------------------

    def validate(self) -> None:
        """Validate every column, normalising the stored values (raises ValidationError)."""
        for name, col in self._columns.items():
            mgr = self._values[name]
            value = col.validate(mgr.value)
            if col.primary_key and value is None:
                raise ValidationError("%s - primary key columns can't be None" % name)
            mgr.value = value

    def get_changed_columns(self):
        return [k for k, mgr in self._values.items() if mgr.changed]

    # -- options of the next write ------------------------------------------------------------

    def _inst_ttl(self, ttl):
        self._ttl = query_module._check_ttl(ttl)
        return self

    def _inst_timestamp(self, timestamp):
        query_module._timestamp_micros(timestamp)
        self._timestamp = timestamp
        return self

    def _inst_consistency(self, consistency):
        self.__consistency__ = consistency
        return self

    def _inst_timeout(self, timeout):
        self._timeout = timeout
        return self

    def _inst_if_not_exists(self, if_not_exists: bool = True):
        if if_not_exists and self._has_counter:
            raise query_module.IfNotExistsWithCounterColumn(
                "if_not_exists cannot be used with tables containing counter columns")
        self._if_not_exists = if_not_exists
        return self

    def _inst_if_exists(self, if_exists: bool = True):
        if if_exists and self._has_counter:
            raise query_module.IfExistsWithCounterColumn(
                "if_exists cannot be used with tables containing counter columns")
        self._if_exists = if_exists
        return self

    def _inst_iff(self, *args, **kwargs):
        qs = self.__queryset__(type(self)).iff(*args, **kwargs)
        self._conditional = qs._conditional
        return self

    def _inst_batch(self, batch):
        if batch is not None and not isinstance(batch, BatchQuery):
            raise CQLEngineException("batch must be a BatchQuery instance or None")
        self._batch = batch
        return self

    def _inst_using(self, keyspace=None, connection=None):
        if connection and self.__connection__:
            raise CQLEngineException("Cannot specify a connection on model %s that has a __connection__"
                                     % type(self).__name__)
        self._keyspace = keyspace or self._keyspace
        self._connection = connection or self._connection
        return self

    @classmethod
    def _cls_ttl(cls, ttl):
        return cls.objects.ttl(ttl)

    @classmethod
    def _cls_timestamp(cls, timestamp):
        return cls.objects.timestamp(timestamp)

    @classmethod
    def _cls_consistency(cls, consistency):
        return cls.objects.consistency(consistency)

    @classmethod
    def _cls_timeout(cls, timeout):
        return cls.objects.timeout(timeout)

    @classmethod
    def _cls_if_not_exists(cls):
        return cls.objects.if_not_exists()

    @classmethod
    def _cls_if_exists(cls):
        return cls.objects.if_exists()

    @classmethod
    def _cls_iff(cls, *args, **kwargs):
        return cls.objects.iff(*args, **kwargs)

    @classmethod
    def _cls_batch(cls, batch):
        return cls.objects.batch(batch)

    @classmethod
    def _cls_using(cls, keyspace=None, connection=None):
        return cls.objects.using(keyspace=keyspace, connection=connection)

    ttl = hybrid_classmethod(_cls_ttl, _inst_ttl)
    timestamp = hybrid_classmethod(_cls_timestamp, _inst_timestamp)
    consistency = hybrid_classmethod(_cls_consistency, _inst_consistency)
    timeout = hybrid_classmethod(_cls_timeout, _inst_timeout)
    if_not_exists = hybrid_classmethod(_cls_if_not_exists, _inst_if_not_exists)
    if_exists = hybrid_classmethod(_cls_if_exists, _inst_if_exists)
    iff = hybrid_classmethod(_cls_iff, _inst_iff)
    batch = hybrid_classmethod(_cls_batch, _inst_batch)
    using = hybrid_classmethod(_cls_using, _inst_using)

    # -- queries ------------------------------------------------------------------------------

    @classmethod
    def create(cls: Type[_M], **kwargs: Any) -> _M:
        """Insert a new row and return its instance."""
        return cls.objects.create(**kwargs)

    @classmethod
    def all(cls: Type[_M]) -> ModelQuerySet[_M]:
        return cls.objects.all()

    @classmethod
    def filter(cls: Type[_M], *args: Any, **kwargs: Any) -> ModelQuerySet[_M]:
        return cls.objects.filter(*args, **kwargs)

    @classmethod
    def get(cls: Type[_M], *args: Any, **kwargs: Any) -> _M:
        return cls.objects.get(*args, **kwargs)

    def _dml(self):
        return self.__dmlquery__(type(self), self, batch=self._batch, ttl=self._ttl, timestamp=self._timestamp,
                                 consistency=self.__consistency__, if_not_exists=self._if_not_exists,
                                 conditional=self._conditional, timeout=self._timeout, if_exists=self._if_exists)

    def _reset_write_options(self) -> None:
        self._ttl = None
        self._timestamp = None
        self._conditional = None
        self._batch = None
        self._timeout = query_module.NOT_SET
        self._if_not_exists = False
        self._if_exists = False

    def save(self: _M) -> _M:
        """INSERT a new instance, or UPDATE the changed columns of a loaded one."""
        if self.__abstract__:
            raise CQLEngineException("cannot save abstract models")
        self._set_discriminator("save")
        self.validate()
        self._dml().save()
        self._set_persisted()
        self._reset_write_options()
        return self

    def update(self: _M, **values: Any) -> _M:
        """Set ``values`` on this instance and UPDATE them (primary key columns can't change)."""
        for name, value in values.items():
            col = self._columns.get(name)
            if col is None:
                raise ValidationError("%s.%s has no column '%s'" % (self.__module__, type(self).__name__, name))
            if col.primary_key:
                raise ValidationError("Cannot apply update to primary key '%s' for %s.%s"
                                      % (name, self.__module__, type(self).__name__))
            setattr(self, name, value)
        self._set_discriminator("update")
        self.validate()
        self._dml().update()
        self._set_persisted()
        self._reset_write_options()
        return self

    def _set_discriminator(self, action: str) -> None:
        if self._is_polymorphic:
            if self._is_polymorphic_base:
                raise PolymorphicModelException("cannot %s polymorphic base model" % action)
            setattr(self, self._discriminator_column_name, self.__discriminator_value__)

    def delete(self) -> None:
        """DELETE this instance's row."""
        self._dml().delete()
        self._reset_write_options()


class ModelMetaClass(type):
    """Turns declared columns into the model's schema description."""

    def __new__(mcs, name, bases, attrs):
        is_abstract = attrs["__abstract__"] = attrs.get("__abstract__", False)
        attrs["__discriminator_value__"] = attrs.get("__discriminator_value__")  # not inherited
        inherited: Dict[str, columns.Column] = {}
        for base in reversed(bases):
            for col_name, col in getattr(base, "_defined_columns", {}).items():
                inherited[col_name] = col
        own = sorted(((k, v) for k, v in attrs.items() if isinstance(v, columns.Column)),
                     key=lambda kv: kv[1].position)
        for k, _ in own:
            if k in BaseModel.__dict__ or k == "pk":
                raise ModelDefinitionException("column '%s' conflicts with built-in attribute/method" % k)
        defined = dict(inherited)
        for k, col in own:
            defined[k] = col
            del attrs[k]
        for k, col in defined.items():
            # Inherited columns are shared with the base; give each model its own copy so that
            # set_column_name and the descriptors never leak between models.
            if k in inherited and (k, col) not in own:
                col = defined[k] = _copy_column(col)
            col.set_column_name(k)

        # Primary key: explicit partition keys, or else the first primary key column.
        pk_cols = [(k, c) for k, c in defined.items() if c.primary_key]
        if pk_cols and not any(c.partition_key for _, c in pk_cols):
            pk_cols[0][1].partition_key = True
        partition = {k: c for k, c in pk_cols if c.partition_key}
        clustering = {k: c for k, c in pk_cols if not c.partition_key}
        ordered = defined  # declaration order, as the reference keeps it

        if not is_abstract:
            if not pk_cols:
                raise ModelDefinitionException("At least 1 primary key is required.")
            for k, c in pk_cols:
                if isinstance(c, columns.Counter):
                    raise ModelDefinitionException("counter columns can't be primary keys (%s)" % k)
                if c.static:
                    raise ModelDefinitionException("primary key columns can't be static (%s)" % k)
            counters = [k for k, c in defined.items() if isinstance(c, columns.Counter)]
            if counters and any(not c.primary_key and not isinstance(c, columns.Counter) for c in defined.values()):
                raise ModelDefinitionException("counter models may only have primary keys and counter columns")
            if any(c.static for c in defined.values()) and not clustering:
                raise ModelDefinitionException("static columns need at least one clustering column")
            for k, c in partition.items():
                if c.clustering_order:
                    raise ModelDefinitionException("partition key columns have no clustering_order (%s)" % k)

        discriminators = [(k, c) for k, c in defined.items() if c.discriminator_column]
        if len(discriminators) > 1:
            raise ModelDefinitionException("only one discriminator_column can be defined in a model, %d found"
                                           % len(discriminators))
        disc_name, disc_col = discriminators[0] if discriminators else (None, None)
        if isinstance(disc_col, (columns.BaseContainerColumn, columns.Counter)):
            raise ModelDefinitionException("counter and container columns cannot be used as discriminator columns")
        if attrs["__discriminator_value__"] is not None and disc_col is None:
            raise ModelDefinitionException("__discriminator_value__ specified, but no base columns defined with "
                                           "discriminator_column=True")
        is_poly_base = any(c.discriminator_column for _, c in own)
        poly_base = None
        if disc_col is not None and not is_poly_base:
            poly_base = next((klass for b in bases for klass in b.__mro__
                              if klass.__dict__.get("_is_polymorphic_base")), None)

        db_map: Dict[str, str] = {}
        for k, c in ordered.items():
            if c.db_field_name in db_map:
                raise ModelDefinitionException("%s defines the column '%s' more than once"
                                               % (name, c.db_field_name))
            db_map[c.db_field_name] = k

        for k, c in ordered.items():
            attrs[k] = ColumnDescriptor(c)
        for i, c in enumerate(partition.values()):
            c._partition_key_index = i

        attrs["_defined_columns"] = defined
        attrs["_columns"] = ordered
        attrs["_primary_keys"] = {k: c for k, c in ordered.items() if c.primary_key}
        attrs["_partition_keys"] = partition
        attrs["_clustering_keys"] = clustering
        attrs["_db_map"] = db_map
        attrs["_has_counter"] = any(isinstance(c, columns.Counter) for c in ordered.values())
        attrs["_pk_name"] = next(iter(partition), None)
        attrs["_static_columns"] = {k: c for k, c in ordered.items() if c.static}
        attrs["_row_readers"] = {k: (c.db_field_name, not c.driver_value_is_python) for k, c in ordered.items()}

        attrs["_is_polymorphic"] = disc_col is not None
        attrs["_is_polymorphic_base"] = is_poly_base
        attrs["_polymorphic_base"] = poly_base
        attrs["_discriminator_column"] = disc_col
        attrs["_discriminator_column_name"] = disc_name
        if is_poly_base:
            attrs["_discriminator_map"] = {}

        klass = super().__new__(mcs, name, bases, attrs)
        if poly_base is not None and attrs["__discriminator_value__"] is not None:
            poly_base._discriminator_map[attrs["__discriminator_value__"]] = klass
        # Per-model exceptions, subclassing the bases' ones so `except Base.DoesNotExist` works.
        for exc_name, root in (("DoesNotExist", _DoesNotExist), ("MultipleObjectsReturned", _MultipleObjectsReturned)):
            if exc_name in attrs:
                continue
            parents = tuple(getattr(b, exc_name) for b in bases if hasattr(b, exc_name)) or (root,)
            setattr(klass, exc_name, type(exc_name, parents, {"__module__": attrs.get("__module__")}))
        return klass


def _copy_column(col: columns.Column) -> columns.Column:
    return copy.copy(col)


class Model(BaseModel, metaclass=ModelMetaClass):
    """Base class of user models (``__abstract__`` models only share columns)."""

    __abstract__ = True


__all__ = ["Model", "BaseModel", "ModelMetaClass", "ModelException", "ModelDefinitionException",
           "PolymorphicModelException", "ColumnQueryEvaluator", "ColumnDescriptor", "QuerySetDescriptor",
           "hybrid_classmethod", "DEFAULT_KEYSPACE", "LWTException", "ValidationError"]
