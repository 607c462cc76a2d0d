"""Comparison operators of WHERE and IF clauses, keyed by the ``__suffix`` of filter arguments.

``Model.objects.filter(age__gte=18)`` looks up ``gte`` here and gets ``>=``; ``filter(age=18)``
means ``eq``.  Each operator renders ``<column> <symbol> ?`` with a single bind marker, the value
being bound separately.
"""
from __future__ import annotations

from typing import Dict, Type

from cassfast.cqlengine import CQLEngineException


class QueryOperatorException(CQLEngineException):
    pass


class BaseQueryOperator:
    symbol: str = ""
    cql_symbol: str = ""

    def __str__(self) -> str:
        return self.cql_symbol

    def __eq__(self, other) -> bool:
        return type(self) is type(other)

    def __hash__(self) -> int:
        return hash(type(self))

    @classmethod
    def get_operator(cls, symbol: str) -> Type["BaseWhereOperator"]:
        try:
            return _BY_SYMBOL[symbol.lower()]
        except KeyError:
            raise QueryOperatorException("%s doesn't map to a QueryOperator" % symbol) from None


class BaseWhereOperator(BaseQueryOperator):
    pass


class EqualsOperator(BaseWhereOperator):
    symbol = "eq"
    cql_symbol = "="


class NotEqualsOperator(BaseWhereOperator):
    symbol = "ne"
    cql_symbol = "!="


class InOperator(EqualsOperator):
    symbol = "in"
    cql_symbol = "IN"


class GreaterThanOperator(BaseWhereOperator):
    symbol = "gt"
    cql_symbol = ">"


class GreaterThanOrEqualOperator(BaseWhereOperator):
    symbol = "gte"
    cql_symbol = ">="


class LessThanOperator(BaseWhereOperator):
    symbol = "lt"
    cql_symbol = "<"


class LessThanOrEqualOperator(BaseWhereOperator):
    symbol = "lte"
    cql_symbol = "<="


class ContainsOperator(EqualsOperator):
    symbol = "contains"
    cql_symbol = "CONTAINS"


class ContainsKeyOperator(EqualsOperator):
    symbol = "contains_key"
    cql_symbol = "CONTAINS KEY"


class LikeOperator(EqualsOperator):
    symbol = "like"
    cql_symbol = "LIKE"


_BY_SYMBOL: Dict[str, Type[BaseWhereOperator]] = {
    op.symbol: op for op in (EqualsOperator, NotEqualsOperator, InOperator, GreaterThanOperator,
                             GreaterThanOrEqualOperator, LessThanOperator, LessThanOrEqualOperator,
                             ContainsOperator, ContainsKeyOperator, LikeOperator)}
