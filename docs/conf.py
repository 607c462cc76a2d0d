"""Sphinx configuration: the markdown pages of docs/ (MyST) plus an API reference from docstrings.

Built in CI with warnings as errors (``.ci/run``, phase "docs"):
``python -m sphinx -W --keep-going -b html docs docs/_build/html``.
"""
import os
import sys

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, _ROOT)  # document this tree's cassfast (its compiled modules must be built)

import cassfast  # noqa: E402

project = "cassfast"
author = "the cassfast developers"
release = cassfast.__version__
version = release

extensions = ["myst_parser", "sphinx.ext.autodoc"]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build"]

# API reference: members in source order, signatures with their annotations, and type hints as
# written (the public API's annotations are checked by mypy --strict in CI).
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_default_options = {"show-inheritance": True, "undoc-members": True}
autodoc_preserve_defaults = True

myst_heading_anchors = 3
html_theme = "alabaster"
html_title = "cassfast %s" % release
