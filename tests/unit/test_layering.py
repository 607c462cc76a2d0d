"""The layering of docs/architecture.md holds: no module imports one above its layer, the
module-level imports form no cycle, and nothing imports inside a function but optional
dependencies.

``LAYERS`` is THE table of layers (docs/architecture.md shows the same, bottom to top here).
Imports are read from the source (``ast`` for ``.py``, the import lines of ``.pyx``), so the test
needs no server and sees re-export blocks at the end of a module as well as the top.  A module of
``cassfast/`` (or ``cassfast/io/``, ``cassfast/contrib/``) missing from the table fails, so a new module gets a place.
"""
from __future__ import annotations

import ast
import pathlib
import re

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[2] / "cassfast"

# Bottom to top; a module may import its own layer and the ones below.
LAYERS = [
    ("values", {
        "cassfast", "cassfast._errors", "cassfast._wire", "cassfast.util", "cassfast.cqltypes", "cassfast.rows",
        "cassfast.encoder", "cassfast.host", "cassfast.marshal", "cassfast.type_codes",
        "cassfast.timestamps", "cassfast.tracker", "cassfast.throttling"}),
    ("compiled core", {
        "cassfast._core", "cassfast._core_messages", "cassfast._types", "cassfast._types_codecs",
        "cassfast._types_collections", "cassfast._routing"}),
    ("messages", {"cassfast.protocol", "cassfast.compression", "cassfast.murmur3"}),
    ("policies, statements, schema", {
        "cassfast.auth", "cassfast._failure_policies", "cassfast.policies", "cassfast.query",
        "cassfast._replication", "cassfast._schema", "cassfast.metadata", "cassfast._profiles"}),
    ("I/O", {
        "cassfast._lane", "cassfast._deadlines",
        "cassfast._interfaces", "cassfast._loop", "cassfast._handshake", "cassfast.connection",
        "cassfast._reconnect", "cassfast._lanes",
        "cassfast.pool", "cassfast._control"}),
    ("execution", {"cassfast._engine", "cassfast._resultset", "cassfast._future", "cassfast._request", "cassfast.concurrent",
                   "cassfast._session"}),
    ("public API", {
        "cassfast.cluster", "cassfast.metrics", "cassfast.aio", "cassfast.graph", "cassfast.io",
        "cassfast.io.asyncioreactor", "cassfast.io.asyncorereactor", "cassfast.io.eventletreactor",
        "cassfast.io.geventreactor", "cassfast.io.libevreactor", "cassfast.io.twistedreactor",
        "cassfast.contrib", "cassfast.contrib.prometheus", "cassfast.contrib.opentelemetry",
        "cassfast.dropin", "cassfast._dropin_startup"}),
]
LAYER_OF = {module: i for i, (_, modules) in enumerate(LAYERS) for module in modules}

# The closing block of the root module, which runs once everything the root defines exists: it
# loads the compiled core (failing at import, with a clear message, when it is missing) and
# connects the type descriptors of cqltypes to the compiled codecs, so that cqltypes never
# imports the layer above it.  These are the only upward edges, and the only edges of a cycle.
ROOT_WIRING = {
    ("cassfast", "cassfast._core"): "the root's load check of the compiled core",
    ("cassfast", "cassfast._types"): "the root loads the compiled codecs for cqltypes",
    ("cassfast", "cassfast.cqltypes"): "the root connects cqltypes._codec_lookup to them",
}

# Imports under a module-level ``if TYPE_CHECKING:``, for annotations only: they never run, so
# they add no import-time edge (no layering or cycle effect at run time).  Each one that would
# point above its layer, or close a cycle, is named here with its reason; any other is checked
# like a plain import.
TYPING_ONLY_ALLOWED = {
    ("cassfast._resultset", "cassfast._request"): "ResultSet wraps a ResponseFuture[R] (_request builds ResultSets)",
    ("cassfast.concurrent", "cassfast._session"): "the functions take a Session (_session calls them)",
    ("cassfast._session", "cassfast.cluster"): "Session.cluster is the Cluster that made it",
}

# Imports inside a function: optional dependencies only, imported where they are needed.
FUNCTION_LEVEL_ALLOWED = {
    ("cassfast._core", "lz4.block"): "optional: LZ4 for v5 segments (cassfast[lz4]), only when asked for",
}

_PYX_IMPORT = re.compile(r"^(\s*)(?:from\s+([\w.]+)\s+c?import\s+(.+)|c?import\s+([\w.]+))")


def _module_name(path: pathlib.Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _sources() -> dict:
    paths = list(PACKAGE.glob("*.py")) + list(PACKAGE.glob("*.pyx"))
    paths += list((PACKAGE / "io").glob("*.py")) + list((PACKAGE / "contrib").glob("*.py"))
    return {_module_name(p): p for p in sorted(paths)}


SOURCES = _sources()


def _targets(module: str, names: list) -> list:
    """What ``from module import names`` reaches: the module, and any name that is a submodule."""
    return [module] + [module + "." + n for n in names]


def _typing_only_lines(path: pathlib.Path) -> set:
    """Lines of the imports under a module-level ``if TYPE_CHECKING:`` of a ``.py`` source."""
    if path.suffix != ".py":
        return set()
    lines = set()
    for node in ast.parse(path.read_text(), str(path)).body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            lines.update(inner.lineno for inner in ast.walk(node)
                         if isinstance(inner, (ast.Import, ast.ImportFrom)))
    return lines


def _imports(name: str, path: pathlib.Path):
    """Yield ``(imported module, line, function_level)`` for every import in the source."""
    if path.suffix == ".pyx":
        for lineno, line in enumerate(path.read_text().splitlines(), 1):
            match = _PYX_IMPORT.match(line)
            if not match:
                continue
            indent, from_module, names, plain = match.groups()
            nested = bool(indent)
            if from_module:
                listed = [n.strip().split(" as ")[0] for n in names.strip("()\\ ").split(",")]
                for target in _targets(from_module, [n for n in listed if n]):
                    yield target, lineno, nested
            else:
                yield plain, lineno, nested
        return
    tree = ast.parse(path.read_text(), str(path))

    def walk(nodes, nested):
        for node in nodes:
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield alias.name, node.lineno, nested
            elif isinstance(node, ast.ImportFrom):
                assert node.level == 0, "%s:%d: relative import" % (path, node.lineno)
                for target in _targets(node.module, [a.name for a in node.names]):
                    yield target, node.lineno, nested
            inner = nested or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef,
                                                 ast.Lambda))
            for child in ast.iter_child_nodes(node):
                yield from walk([child], inner)

    yield from walk(tree.body, False)


# Every source is read once, at collection, before other tests have started I/O threads: CPython
# 3.11 up to 3.11.7 can fail ``ast.parse`` spuriously with "AST constructor recursion depth
# mismatch" (python/cpython gh-106905, reported with threads running; seen once in this suite).
IMPORTS = {name: list(_imports(name, path)) for name, path in SOURCES.items()}
TYPING_ONLY = {name: _typing_only_lines(path) for name, path in SOURCES.items()}


def _edges():
    """Module-level imports between cassfast modules: ``{importer: {imported: line}}``."""
    edges: dict = {}
    for name, path in SOURCES.items():
        for target, lineno, nested in IMPORTS[name]:
            if not nested and target in SOURCES and target != name:
                if (name, target) in TYPING_ONLY_ALLOWED and lineno in TYPING_ONLY[name]:
                    continue
                edges.setdefault(name, {}).setdefault(target, lineno)
    return edges


def test_every_module_has_a_layer():
    assert sorted(set(SOURCES) - set(LAYER_OF)) == []
    assert sorted(set(LAYER_OF) - set(SOURCES)) == [], "a module of the table no longer exists"


def test_no_module_imports_one_above_its_layer():
    upward = []
    for importer, targets in _edges().items():
        for target, lineno in targets.items():
            if LAYER_OF[target] > LAYER_OF[importer] and (importer, target) not in ROOT_WIRING:
                upward.append("%s:%d imports %s (%s above %s)" % (
                    SOURCES[importer].name, lineno, target, LAYERS[LAYER_OF[target]][0],
                    LAYERS[LAYER_OF[importer]][0]))
    assert upward == []


def test_module_level_imports_form_no_cycle():
    edges = {m: {t for t in ts if (m, t) not in ROOT_WIRING} for m, ts in _edges().items()}
    state: dict = {}
    cycles = []

    def visit(module, stack):
        state[module] = "open"
        for target in sorted(edges.get(module, ())):
            if state.get(target) == "open":
                cycles.append(" -> ".join(stack[stack.index(target):] + [target]))
            elif target not in state:
                visit(target, stack + [target])
        state[module] = "done"

    for module in sorted(SOURCES):
        if module not in state:
            visit(module, [module])
    assert cycles == []


def test_no_function_level_import_but_optional_dependencies():
    found = {}
    for name, path in SOURCES.items():
        for target, lineno, nested in IMPORTS[name]:
            if nested and (name, target) not in FUNCTION_LEVEL_ALLOWED:
                # One report per import statement: its module (the first target read).
                found.setdefault((path.name, lineno), target)
    assert ["%s:%d imports %s inside a function" % (f, n, t) for (f, n), t in sorted(found.items())] == []


def test_the_allowlists_name_imports_that_exist():
    imports = {(name, target, nested) for name in SOURCES for target, _, nested in IMPORTS[name]}
    for importer, target in FUNCTION_LEVEL_ALLOWED:
        assert (importer, target, True) in imports, (importer, target)
    for importer, target in ROOT_WIRING:
        assert (importer, target, False) in imports, (importer, target)
    for importer, target in TYPING_ONLY_ALLOWED:
        assert any(t == target and n in TYPING_ONLY[importer] for t, n, _ in IMPORTS[importer]), (importer, target)


@pytest.mark.parametrize("source, expected", [
    ("import os\n\ndef f():\n    from cassfast import cluster\n", [("cassfast.cluster", True)]),
    ("from cassfast.cluster import Cluster\n", [("cassfast.cluster", False)]),
    ("try:\n    import lz4\nexcept ImportError:\n    pass\n", [("lz4", False)]),
    ("class A:\n    def m(self):\n        import cassfast.pool\n", [("cassfast.pool", True)]),
])
def test_the_reader_tells_function_level_from_module_level(tmp_path, source, expected):
    path = tmp_path / "probe.py"
    path.write_text(source)
    seen = [(t, nested) for t, _, nested in _imports("probe", path)
            if t.startswith(("cassfast.", "lz4")) and t not in ("cassfast.cluster.Cluster",)]
    assert seen == expected
