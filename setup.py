"""Build script for the compiled core.

Every ``cassfast/*.pyx`` becomes an extension module of the same name, compiled from the Cython
source at build time (the sdist ships the ``.pyx``/``.pxd`` files, never generated C; Cython is a
build requirement that pip's build isolation fetches).  The package never runs without these
modules, so the build fails, instead of producing a pure-Python wheel that cannot be imported,
when no ``.pyx`` is found, when Cython is missing, or when an extension did not come out of the
compiler.

Cythonizing runs in ``build_ext`` (not when this file is loaded), so ``sdist`` and metadata
queries never cythonize.  Both the Cython pass and the C compiler run on every core
(``CASSFAST_BUILD_JOBS`` overrides the count).
"""
import glob
import os
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.errors import SetupError

try:
    from Cython.Build import cythonize
except ImportError:  # reported by build_ext, so that sdist and metadata need no Cython
    cythonize = None

HERE = os.path.dirname(os.path.abspath(__file__))
EXTRA_COMPILE_ARGS = [] if os.name == "nt" else ["-O3", "-Wno-unused-function"]
CYTHON_DIRECTIVES = {
    "boundscheck": False,
    "wraparound": False,
    "cdivision": True,
    "embedsignature": True,
}


def compiled_core_extensions():
    """One Extension per ``cassfast/*.pyx`` (sources given relative to this directory)."""
    return [
        Extension(
            "cassfast." + os.path.splitext(os.path.basename(path))[0],
            [os.path.relpath(path, HERE).replace(os.sep, "/")],
            extra_compile_args=EXTRA_COMPILE_ARGS,
        )
        for path in sorted(glob.glob(os.path.join(HERE, "cassfast", "*.pyx")))
    ]


def build_jobs():
    value = os.environ.get("CASSFAST_BUILD_JOBS")
    return int(value) if value else (os.cpu_count() or 1)


class BuildCompiledCore(build_ext):
    """``build_ext`` that cythonizes the ``.pyx`` sources and refuses to build nothing."""

    def finalize_options(self):
        super().finalize_options()
        if self.parallel is None:
            self.parallel = build_jobs()

    def run(self):
        if cythonize is None:
            raise SetupError(
                "cassfast: building the compiled core needs Cython 3 (a build requirement "
                "in pyproject.toml; pip's build isolation installs it)")
        # Only the sources change (.pyx -> generated .c): the Extension objects stay the ones
        # setuptools finalized, and sdist (which never runs this) lists the .pyx files.
        cythonized = cythonize(
            self.extensions,
            language_level=3,
            compiler_directives=CYTHON_DIRECTIVES,
            nthreads=build_jobs() if build_jobs() > 1 else 0,
            annotate=bool(os.environ.get("CASSFAST_ANNOTATE")),
        )
        for ext, generated in zip(self.extensions, cythonized):
            ext.sources = generated.sources
        super().run()
        missing = [ext.name for ext in self.extensions
                   if not os.path.exists(self.get_ext_fullpath(ext.name))]
        if missing:
            raise SetupError("cassfast: these extension modules were not built: " + ", ".join(missing))


EXTENSIONS = compiled_core_extensions()
if not EXTENSIONS:
    # Without extensions setuptools would build a py3-none-any wheel that installs "fine" and
    # cannot be imported; refuse every command instead (sdist and metadata included).
    sys.exit("cassfast: no cassfast/*.pyx source found under %s, so no compiled core can be "
             "built; build from a checkout or from an sdist that ships the .pyx/.pxd files" % HERE)

setup(
    ext_modules=EXTENSIONS,
    cmdclass={"build_ext": BuildCompiledCore},
)
