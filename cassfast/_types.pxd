# cython: language_level=3
# Declarations of cassfast._types: result metadata.  The codecs are declared in _types_codecs.pxd.


cdef class ResultMetadata:
    cdef readonly tuple column_names
    cdef readonly tuple column_types
    cdef readonly tuple col_specs
    cdef readonly object keyspace
    cdef readonly object table
    cdef readonly Py_ssize_t column_count
    cdef tuple _codecs
    cdef object _row_class
