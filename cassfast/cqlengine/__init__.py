"""cassfast's object mapper: the ``cqlengine`` API of cassandra-driver over cassfast.

Models are declared as Python classes (``cassfast.cqlengine.models.Model``) whose attributes are
``columns``; ``management`` turns them into CQL schema, ``query`` builds and runs SELECT / INSERT /
UPDATE / DELETE / BATCH statements for them, and ``connection`` keeps the sessions they run on.
Every statement carries user values as bind markers of a prepared statement, never interpolated
into the CQL text.  This module holds what every other module of the package shares: the caching
constants of the reference API and the exception base classes.
"""
from __future__ import annotations

# Values of the table option ``caching`` (kept for code written against the reference API).
CACHING_ALL = "ALL"
CACHING_KEYS_ONLY = "KEYS_ONLY"
CACHING_ROWS_ONLY = "ROWS_ONLY"
CACHING_NONE = "NONE"


class CQLEngineException(Exception):
    """Base class of every error the mapper raises itself."""


class ValidationError(CQLEngineException):
    """A value does not fit its column (type, length, required, primary key...)."""


class UnicodeMixin:
    """Compatibility shim of the reference: ``__str__`` delegates to ``__unicode__``."""

    def __str__(self) -> str:
        return self.__unicode__()  # type: ignore[attr-defined]
