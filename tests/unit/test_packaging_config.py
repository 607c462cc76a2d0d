"""pyproject.toml: the build, metadata and cibuildwheel settings that issue 13 found wrong.

Read from the pyproject.toml beside tests/ (the source tree, or the copy that cibuildwheel and
.ci/run put beside the tests they run against an installed wheel).
"""
import ast
import importlib.metadata
import re
import sys
from pathlib import Path

import pytest

try:
    import tomllib
except ImportError:  # Python 3.10: the `test` extra installs tomli there
    import tomli as tomllib

TESTS = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((TESTS.parent / "pyproject.toml").read_text())
# cassfast, and the modules and packages that live in tests/ (imported as `oracle`, ...).
LOCAL_PACKAGES = {"cassfast", "tests"} | {p.stem for p in TESTS.iterdir() if p.suffix == ".py" or p.is_dir()}


def _distribution(requirement: str) -> str:
    return re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _unit_suite_imports():
    """Top-level names of every absolute import in the unit suite and what it loads."""
    files = sorted((TESTS / "unit").glob("*.py")) + sorted((TESTS / "oracle").glob("*.py"))
    files.append(TESTS / "conftest.py")
    names = {}
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found = [node.module]
            else:
                continue
            for name in found:
                names.setdefault(name.split(".")[0], path.name)
    return {n: f for n, f in names.items() if n not in _STDLIB and n not in LOCAL_PACKAGES}


# tomllib joined the standard library in 3.11; on 3.10 the suite falls back to tomli, which the
# extras list with a python_version marker (and which this check then finds as an import too).
_STDLIB = frozenset(sys.stdlib_module_names) | {"tomllib"}


@pytest.mark.parametrize("extra_name", ["unit", "test"])
def test_every_third_party_import_of_the_unit_suite_is_in_the_extra(extra_name):
    # `unit` is what cibuildwheel and the packaging phase install; `test` is everything.
    extra = {_distribution(r) for r in PYPROJECT["project"]["optional-dependencies"][extra_name]}
    by_module = importlib.metadata.packages_distributions()
    missing = {}
    for module, where in sorted(_unit_suite_imports().items()):
        dists = {d.lower().replace("_", "-") for d in by_module.get(module, [module])}
        if not dists & extra:
            missing[module] = (where, sorted(dists))
    assert missing == {}
    assert "cassandra-driver" in extra  # the oracle of the drop-in and codec tests


def test_cibuildwheel_tests_the_installed_wheel_with_the_unit_extra():
    cbw = PYPROJECT["tool"]["cibuildwheel"]
    assert "unit" in cbw["test-extras"]
    assert "tests" in cbw["test-sources"]
    commands = cbw["test-command"]
    commands = commands if isinstance(commands, list) else [commands]
    # {project} is the source tree: tests run from there could import its cassfast/ directory.
    assert not any("{project}" in c or "{package}" in c for c in commands)
    assert "site-packages" in commands[0] and "cassfast.__file__" in commands[0]
    assert any("pytest tests/unit" in c for c in commands)


def test_metadata_uses_an_spdx_license_and_the_setuptools_that_reads_it():
    project = PYPROJECT["project"]
    assert project["license"] == "Apache-2.0"
    assert project["license-files"] == ["LICENSE"]
    assert not any(c.startswith("License ::") for c in project["classifiers"])
    setuptools_req = next(r for r in PYPROJECT["build-system"]["requires"] if _distribution(r) == "setuptools")
    floor = tuple(int(p) for p in re.search(r">=\s*([\d.]+)", setuptools_req).group(1).split("."))
    assert floor >= (77,)  # PEP 639 `license` expressions and `license-files` arrived in 77.0
    assert any(_distribution(r) == "cython" for r in PYPROJECT["build-system"]["requires"])


@pytest.mark.parametrize("classifier", ["Typing :: Typed", "Programming Language :: Cython"])
def test_classifiers_present(classifier):
    assert classifier in PYPROJECT["project"]["classifiers"]


def test_a_classifier_for_each_python_that_cibuildwheel_builds():
    build = PYPROJECT["tool"]["cibuildwheel"]["build"]
    build = " ".join(build) if isinstance(build, list) else build
    versions = sorted({"3." + m for m in re.findall(r"\bcp3(\d+)t?-", build)})
    assert versions
    for version in versions:
        assert f"Programming Language :: Python :: {version}" in PYPROJECT["project"]["classifiers"]


def test_version_is_single_sourced_from_the_package():
    assert "version" in PYPROJECT["project"]["dynamic"]
    assert "version" not in PYPROJECT["project"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "cassfast.__version__"}
