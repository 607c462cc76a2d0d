"""tools/check_dist.py, the CI gate on the sdist and wheel: it flags each defect of issue 13.

The layouts below are the ones issue 13 found (an sdist with only generated C, a ``py3-none-any``
wheel with no compiled module, 8 MB of ``.c`` in the wheel, the table-form license) beside the
fixed ones; no build runs here (CI builds and checks the real archives in .ci/run).
"""
import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("check_dist", ROOT / "tools" / "check_dist.py")
check_dist = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(check_dist)

PYX = ["cassfast/_core.pyx", "cassfast/_types.pyx"]
PXD = ["cassfast/_core.pxd"]
GOOD_SDIST = ["cassfast-1.0", "cassfast-1.0/LICENSE", "cassfast-1.0/PKG-INFO",
              "cassfast-1.0/cassfast/__init__.py"] + ["cassfast-1.0/" + p for p in PYX + PXD]
GOOD_WHEEL_NAME = "cassfast-1.0-cp311-cp311-linux_x86_64.whl"
GOOD_WHEEL = ["cassfast/__init__.py", "cassfast/py.typed", "cassfast/_core.pxd",
              "cassfast/_core.cpython-311-x86_64-linux-gnu.so",
              "cassfast/_types.cpython-311-x86_64-linux-gnu.so",
              "cassfast-1.0.dist-info/licenses/LICENSE", "cassfast-1.0.dist-info/METADATA"]
GOOD_METADATA = """Metadata-Version: 2.4
Name: cassfast
Version: 1.0
License-Expression: Apache-2.0
Project-URL: Apache Cassandra, https://cassandra.apache.org/
Classifier: Programming Language :: Python :: 3.10
Classifier: Programming Language :: Python :: 3.11
Classifier: Typing :: Typed

readme
"""


def test_complete_sdist_wheel_and_metadata_pass():
    assert check_dist.check_sdist(GOOD_SDIST, PYX + PXD) == []
    assert check_dist.check_wheel(GOOD_WHEEL_NAME, GOOD_WHEEL, ["_core", "_types"]) == []
    assert check_dist.check_metadata("m", GOOD_METADATA, "1.0", ["3.10", "3.11"]) == []


def test_sdist_with_only_generated_c_is_flagged():
    issue13 = [m for m in GOOD_SDIST if not m.endswith((".pyx", ".pxd"))] + [
        "cassfast-1.0/cassfast/_core.c", "cassfast-1.0/cassfast/_types.c"]
    problems = check_dist.check_sdist(issue13, PYX + PXD)
    assert "sdist lacks cassfast/_core.pyx: the extension cannot be built from it" in problems
    assert "sdist lacks cassfast/_core.pxd: the extension cannot be built from it" in problems
    assert "sdist ships generated or built file cassfast/_types.c" in problems


def test_sdist_without_license_is_flagged():
    problems = check_dist.check_sdist([m for m in GOOD_SDIST if not m.endswith("LICENSE")], PYX)
    assert problems == ["sdist lacks LICENSE"]


def test_pure_python_wheel_without_the_compiled_core_is_flagged():
    pure = [m for m in GOOD_WHEEL if not m.endswith(".so")]
    problems = check_dist.check_wheel("cassfast-1.0-py3-none-any.whl", pure, ["_core", "_types"])
    assert problems == [
        "wheel cassfast-1.0-py3-none-any.whl is not platform-tagged: it has no compiled core",
        "wheel lacks the compiled module cassfast._core",
        "wheel lacks the compiled module cassfast._types",
    ]


def test_wheel_missing_one_module_or_shipping_c_and_pyx_is_flagged():
    members = [m for m in GOOD_WHEEL if "_types." not in m] + ["cassfast/_core.c", "cassfast/_core.pyx"]
    problems = check_dist.check_wheel(GOOD_WHEEL_NAME, members, ["_core", "_types"])
    assert problems == ["wheel lacks the compiled module cassfast._types",
                        "wheel ships build input cassfast/_core.c",
                        "wheel ships build input cassfast/_core.pyx"]


def test_wheel_with_a_startup_pth_is_flagged():
    problems = check_dist.check_wheel(GOOD_WHEEL_NAME, GOOD_WHEEL + ["cassfast-as-cassandra.pth"], ["_core", "_types"])
    assert problems == ["wheel ships a .pth startup file cassfast-as-cassandra.pth"]


def test_wheel_without_py_typed_or_license_is_flagged():
    members = [m for m in GOOD_WHEEL if not m.endswith(("py.typed", "LICENSE"))]
    assert check_dist.check_wheel(GOOD_WHEEL_NAME, members, ["_core", "_types"]) == [
        "wheel lacks cassfast/py.typed",
        "wheel lacks the license file (.dist-info/licenses/LICENSE)"]


def test_metadata_of_issue_13_is_flagged():
    old = """Metadata-Version: 2.1
Name: cassfast
Version: 1.0
License: Apache-2.0
Classifier: Programming Language :: Python :: 3
Classifier: License :: OSI Approved :: Apache Software License

"""
    assert check_dist.check_metadata("wheel METADATA", old, "1.0", ["3.10"]) == [
        "wheel METADATA: License-Expression is None, not 'Apache-2.0'",
        "wheel METADATA: no Project-URL",
        "wheel METADATA: no 'Typing :: Typed' classifier",
        "wheel METADATA: no classifier for Python 3.10, which cibuildwheel builds",
        "wheel METADATA: a License :: classifier beside the SPDX expression",
    ]


def test_metadata_version_must_be_the_source_version():
    assert check_dist.check_metadata("m", GOOD_METADATA, "1.1", []) == [
        "m: Version '1.0', the source says '1.1'"]


@pytest.mark.parametrize("build, expected", [
    ('build = "cp310-* cp311-* cp313t-*"', ["3.10", "3.11", "3.13"]),
    ('build = ["cp312-*", "cp314-*"]', ["3.12", "3.14"]),
])
def test_cibuildwheel_versions_are_read_from_the_build_selector(build, expected):
    text = "[project]\nname = 'x'\n\n[tool.cibuildwheel]\n" + build + "\nskip = 'cp39-*'\n\n[tool.other]\nbuild = 'cp38-*'\n"
    assert check_dist.cibuildwheel_python_versions(text) == expected

