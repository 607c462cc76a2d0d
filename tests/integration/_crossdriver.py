"""Shared pieces of the cross-driver integration tests.

Each test drives cassfast and cassandra-driver against the same real node.  Setting
``CASSFAST_CROSSDRIVER_SELFTEST=1`` puts cassandra-driver in cassfast's place, which validates the
tests themselves: every cross-check must then pass with the reference on both sides.
"""
from __future__ import annotations

import os

SELFTEST = os.environ.get("CASSFAST_CROSSDRIVER_SELFTEST") == "1"


def driver_package(name: str) -> str:
    """The package that plays driver ``name`` ('cassfast' or 'cassandra') in this run."""
    return "cassandra" if name == "cassandra" or SELFTEST else "cassfast"


def node_address(node) -> tuple[str, int]:
    """(host, port) of a harness fixture's first node."""
    return str(node.contact_points[0]), int(node.port)
