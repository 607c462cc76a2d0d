"""Which reference unit-test modules we vet, and why the cassfast-only failures among them fail.

``VETTED_MODULES`` are the reference modules that exercise public API (values, statements,
policies, exceptions) rather than reactor or connection internals.  ``TRIAGE`` maps a pytest test
id (``classname::name`` as in the JUnit report) to the reason cassfast legitimately differs:
``internal:`` the test reads or patches a private attribute whose layout cassfast does not keep;
``deliberate:`` a documented difference (README, "Where the policy spec differs").  A failure that
is a real public-API bug is fixed, not listed here.
"""

VETTED_MODULES = (
    "tests/unit/test_auth.py",
    "tests/unit/test_endpoints.py",
    "tests/unit/test_exception.py",
    "tests/unit/test_marshalling.py",
    "tests/unit/test_orderedmap.py",
    "tests/unit/test_query.py",
    "tests/unit/test_resultset.py",
    "tests/unit/test_row_factories.py",
    "tests/unit/test_sortedset.py",
    "tests/unit/test_time_util.py",
    "tests/unit/test_util_types.py",
)

TRIAGE: dict[str, str] = {
    "tests.unit.test_marshalling.UnmarshalTest::test_marshalling":
        "deliberate: it serializes collections for protocol v1, whose 16-bit framing cassfast "
        "refuses with UnsupportedOperation (it speaks v3+ only); README compatibility section",
}
