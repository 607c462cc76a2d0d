"""Errors of the request and cluster layers that modules on several layers raise.

``NoHostAvailable`` (the query plan is exhausted; also the control connection finding no
contact point), ``QueryExhausted`` (no further page) and ``UserTypeDoesNotExist``
(``register_user_type`` naming an unknown type) are public through ``cassfast.cluster``, as in
the reference.  They live here, in the value layer, so that ``_control``, ``_request`` and
``_session`` raise them without importing ``cluster`` (the layer above them).
"""
from __future__ import annotations


class NoHostAvailable(Exception):
    """No host in the query plan could run the request; ``errors`` maps each tried host to its error."""

    errors = None

    def __init__(self, message: str, errors: dict | None):
        Exception.__init__(self, message, errors)
        self.errors = errors


class QueryExhausted(Exception):
    """Raised by ``ResultSet.fetch_next_page`` style calls when there are no more pages."""


class UserTypeDoesNotExist(Exception):
    """``register_user_type`` named a type the keyspace does not have."""
