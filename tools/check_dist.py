"""Check the sdist and wheel that ``python -m build`` made: what issue 13 found wrong must stay fixed.

``python tools/check_dist.py DIST_DIR`` reads the one ``cassfast-*.tar.gz`` and the
``cassfast-*.whl`` in DIST_DIR, compares them with this source tree and exits 1 listing every
problem:

- the sdist ships every ``cassfast/*.pyx`` and ``*.pxd`` of the tree (the extensions are built
  from them), the LICENSE, and no generated C or built module;
- the wheel is platform-tagged (not ``py3-none-any``), holds one compiled module per ``.pyx``, no
  ``.c`` or ``.pyx``, no ``.pth`` startup file, ``py.typed`` and the license file;
- both carry the version of ``cassfast/__init__.py`` and the metadata: SPDX
  ``License-Expression: Apache-2.0``, at least one ``Project-URL``, ``Typing :: Typed`` and a
  ``Programming Language :: Python :: 3.X`` classifier for every version cibuildwheel builds.

The checks are plain functions over member names and metadata text (tests/unit/test_dist_checks.py
feeds them the broken layouts of issue 13).
"""
from __future__ import annotations

import ast
import email.parser
import re
import sys
import tarfile
import zipfile
from pathlib import Path
from typing import Iterable, List, Sequence

ROOT = Path(__file__).resolve().parent.parent
GENERATED_OR_BUILT = (".c", ".so", ".pyd", ".html")


def source_version(init_text: str) -> str:
    """``__version__`` of cassfast/__init__.py, read without importing it."""
    for node in ast.parse(init_text).body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "__version__" for t in node.targets):
            return ast.literal_eval(node.value)
    raise ValueError("cassfast/__init__.py defines no __version__")


def cibuildwheel_python_versions(pyproject_text: str) -> List[str]:
    """The ``3.X`` versions that ``[tool.cibuildwheel] build`` selects (``cp310-*`` -> ``3.10``)."""
    # A regular expression, not tomllib: the unit tests also run on Python 3.10.
    section = re.search(r"^\[tool\.cibuildwheel\]\s*$(.*?)(?=^\[|\Z)", pyproject_text, re.M | re.S)
    value = section and re.search(r"^build\s*=\s*(\[[^\]]*\]|\"[^\"]*\"|'[^']*')", section.group(1), re.M)
    build = value.group(1) if value else ""
    versions = []
    for minor in re.findall(r"\bcp3(\d+)t?-", build):
        version = "3." + minor
        if version not in versions:
            versions.append(version)
    return versions


def check_sdist(members: Sequence[str], cython_sources: Iterable[str]) -> List[str]:
    """Problems of an sdist whose members (``cassfast-X/...`` names) should build the core."""
    problems = []
    inner = {m.split("/", 1)[1] for m in members if "/" in m}
    for source in sorted(cython_sources):
        if source not in inner:
            problems.append(f"sdist lacks {source}: the extension cannot be built from it")
    if "LICENSE" not in inner:
        problems.append("sdist lacks LICENSE")
    for name in sorted(inner):
        if name.startswith("cassfast/") and name.endswith(GENERATED_OR_BUILT):
            problems.append(f"sdist ships generated or built file {name}")
    return problems


def check_wheel(filename: str, members: Sequence[str], pyx_modules: Iterable[str]) -> List[str]:
    """Problems of a wheel (its file name and member names) that must carry the compiled core."""
    problems = []
    tags = filename[:-len(".whl")].split("-")[-3:]
    if tags[1:] == ["none", "any"] or tags[-1] == "any":
        problems.append(f"wheel {filename} is not platform-tagged: it has no compiled core")
    for module in sorted(pyx_modules):
        prefix = f"cassfast/{module}."
        if not any(m.startswith(prefix) and m.endswith((".so", ".pyd")) for m in members):
            problems.append(f"wheel lacks the compiled module cassfast.{module}")
    for member in members:
        if member.endswith((".c", ".pyx", ".html")):
            problems.append(f"wheel ships build input {member}")
        if member.endswith(".pth"):
            # A .pth in the wheel would run at every interpreter start: the drop-in hook is an
            # explicit opt-in (python -m cassfast.dropin enable), never a side effect of install.
            problems.append(f"wheel ships a .pth startup file {member}")
    if "cassfast/py.typed" not in members:
        problems.append("wheel lacks cassfast/py.typed")
    if not any(re.fullmatch(r"[^/]+\.dist-info/licenses/LICENSE", m) for m in members):
        problems.append("wheel lacks the license file (.dist-info/licenses/LICENSE)")
    return problems


def check_metadata(what: str, text: str, version: str, python_versions: Iterable[str]) -> List[str]:
    """Problems of a PKG-INFO / METADATA text."""
    problems = []
    meta = email.parser.Parser().parsestr(text, headersonly=True)
    if meta.get("Version") != version:
        problems.append(f"{what}: Version {meta.get('Version')!r}, the source says {version!r}")
    if meta.get("License-Expression") != "Apache-2.0":
        problems.append(f"{what}: License-Expression is {meta.get('License-Expression')!r}, not 'Apache-2.0'")
    if not meta.get_all("Project-URL"):
        problems.append(f"{what}: no Project-URL")
    classifiers = set(meta.get_all("Classifier") or ())
    if "Typing :: Typed" not in classifiers:
        problems.append(f"{what}: no 'Typing :: Typed' classifier")
    for py in python_versions:
        if f"Programming Language :: Python :: {py}" not in classifiers:
            problems.append(f"{what}: no classifier for Python {py}, which cibuildwheel builds")
    if any(c.startswith("License ::") for c in classifiers):
        problems.append(f"{what}: a License :: classifier beside the SPDX expression")
    return problems


def check_dist_dir(dist: Path, root: Path = ROOT) -> List[str]:
    sdists = sorted(dist.glob("cassfast-*.tar.gz"))
    wheels = sorted(dist.glob("cassfast-*.whl"))
    if len(sdists) != 1 or len(wheels) != 1:
        return [f"expected one sdist and one wheel in {dist}, found {[p.name for p in sdists + wheels]}"]
    pyx = sorted(p.relative_to(root).as_posix() for p in (root / "cassfast").glob("*.pyx"))
    pxd = sorted(p.relative_to(root).as_posix() for p in (root / "cassfast").glob("*.pxd"))
    modules = [Path(p).stem for p in pyx]
    version = source_version((root / "cassfast" / "__init__.py").read_text())
    pythons = cibuildwheel_python_versions((root / "pyproject.toml").read_text())
    problems = []
    with tarfile.open(sdists[0]) as tar:
        names = tar.getnames()
        problems += check_sdist(names, pyx + pxd)
        pkg_info = next((n for n in names if n.count("/") == 1 and n.endswith("/PKG-INFO")), None)
        if pkg_info is None:
            problems.append("sdist has no PKG-INFO")
        else:
            problems += check_metadata("sdist PKG-INFO", tar.extractfile(pkg_info).read().decode(),
                                       version, pythons)
    with zipfile.ZipFile(wheels[0]) as whl:
        names = whl.namelist()
        problems += check_wheel(wheels[0].name, names, modules)
        metadata = next((n for n in names if n.endswith(".dist-info/METADATA")), None)
        if metadata is None:
            problems.append("wheel has no METADATA")
        else:
            problems += check_metadata("wheel METADATA", whl.read(metadata).decode(), version, pythons)
    return problems


def main(argv: Sequence[str]) -> int:
    if len(argv) != 1:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    problems = check_dist_dir(Path(argv[0]))
    for problem in problems:
        print("check_dist:", problem, file=sys.stderr)
    if not problems:
        print(f"check_dist: sdist and wheel in {argv[0]} are complete")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
