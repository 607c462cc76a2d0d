"""Build script for the compiled core.

Every ``cassfast/*.pyx`` becomes an extension module of the same name.  The package never runs
without them: ``import cassfast`` raises ImportError naming the fix when they are missing.
"""
import glob
import os
import sys

from setuptools import Extension, setup

try:
    from Cython.Build import cythonize
except ImportError:  # pragma: no cover - build requirement
    sys.exit("Building cassfast needs Cython 3 (it is a build requirement in pyproject.toml)")

here = os.path.dirname(os.path.abspath(__file__))
extra_compile_args = [] if os.name == "nt" else ["-O3", "-Wno-unused-function"]

extensions = [
    Extension(
        "cassfast." + os.path.splitext(os.path.basename(path))[0],
        [os.path.relpath(path, here)],
        extra_compile_args=extra_compile_args,
    )
    for path in sorted(glob.glob(os.path.join(here, "cassfast", "*.pyx")))
]

setup(
    ext_modules=cythonize(
        extensions,
        language_level=3,
        compiler_directives={
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "embedsignature": True,
        },
        annotate=bool(os.environ.get("CASSFAST_ANNOTATE")),
    ),
)
