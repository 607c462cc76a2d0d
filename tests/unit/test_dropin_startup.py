"""``python -m cassfast.dropin``: the .pth opt-in, exercised in a fresh virtualenv (no server).

The venv is made without pip and sees cassfast and the installed cassandra-driver through
PYTHONPATH, so both drivers are present, as when a library that requires cassandra-driver was
installed.  Only the venv's own site-packages is ever written.
"""
import importlib.metadata
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import cassfast
from cassfast import dropin

WHICH = "import cassandra; print(cassandra.__name__, cassandra.__version__)"
CHILD = ("import subprocess, sys; print(subprocess.run([sys.executable, '-c', %r], capture_output=True, "
         "text=True, check=True).stdout.strip())" % WHICH)
REFERENCE_VERSION = importlib.metadata.version("cassandra-driver")


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    root = tmp_path_factory.mktemp("dropin") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True, timeout=120)
    python = root / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    assert site.is_relative_to(root)
    reference = Path(str(importlib.metadata.distribution("cassandra-driver").locate_file(""))).resolve()
    paths = [str(Path(cassfast.__file__).resolve().parent.parent), str(reference)]
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", dropin.DISABLE_VARIABLE)}
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    return python, site, env


def run(venv, *args, extra_env=None):
    python, _, env = venv
    result = subprocess.run([str(python), *args], capture_output=True, text=True, timeout=120,
                            env={**env, **(extra_env or {})})
    assert result.returncode == 0, result.stderr
    return result


def test_without_enable_the_environment_imports_the_reference(venv):
    _, site, _ = venv
    assert not (site / dropin.PTH_NAME).exists()
    assert run(venv, "-c", WHICH).stdout.split() == ["cassandra", REFERENCE_VERSION]


def test_enable_makes_every_interpreter_of_the_environment_import_cassfast(venv):
    python, site, _ = venv
    out = run(venv, "-m", "cassfast.dropin", "enable").stdout
    try:
        assert str(site / dropin.PTH_NAME) in out
        assert "cassandra-driver %s is installed too; cassfast wins" % REFERENCE_VERSION in out
        assert (site / dropin.PTH_NAME).read_text() == dropin.PTH_LINE
        assert run(venv, "-c", WHICH).stdout.split() == ["cassfast", cassfast.__version__]
        # a subprocess, as multiprocessing's spawn or a CLI tool would start, gets cassfast too
        assert run(venv, "-c", CHILD).stdout.split() == ["cassfast", cassfast.__version__]
        status = run(venv, "-m", "cassfast.dropin", "status").stdout
        assert "startup hook: enabled" in status
        assert "cassandra-driver distribution: %s" % REFERENCE_VERSION in status
        assert "import cassandra gives cassfast" in status
        # one process (and its children) can opt out
        off = {dropin.DISABLE_VARIABLE: "0"}
        assert run(venv, "-c", CHILD, extra_env=off).stdout.split() == ["cassandra", REFERENCE_VERSION]
    finally:
        run(venv, "-m", "cassfast.dropin", "disable")
    assert not (site / dropin.PTH_NAME).exists()
    assert run(venv, "-c", WHICH).stdout.split() == ["cassandra", REFERENCE_VERSION]
    assert "was not enabled" in run(venv, "-m", "cassfast.dropin", "disable").stdout


def test_a_failing_hook_reports_one_line_and_the_interpreter_still_starts(venv):
    _, site, _ = venv
    early = site / "aaa-imports-the-reference.pth"  # processed before cassfast's (sorted by name)
    early.write_text("import cassandra\n")
    run(venv, "-m", "cassfast.dropin", "enable")
    try:
        result = run(venv, "-c", WHICH)
    finally:
        run(venv, "-m", "cassfast.dropin", "disable")
        early.unlink()
    assert result.stdout.split() == ["cassandra", REFERENCE_VERSION]
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("cassfast: the startup hook did not install cassfast as 'cassandra': "
                                    "RuntimeError: install_as_cassandra() must run before")


def test_importing_the_hook_module_does_not_install(venv):
    code = "import cassfast._dropin_startup, sys; print('cassandra' in sys.modules)"
    assert run(venv, "-c", code).stdout.strip() == "False"
