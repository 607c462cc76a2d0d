# cython: language_level=3
"""The compiled protocol core: frames, segments and message bodies; bytes in, objects out.

No I/O, and no imports from the Python layers of cassfast.
"""

CORE_ABI = 1
