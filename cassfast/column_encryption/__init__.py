"""``cassandra.column_encryption``: client-side column encryption, which cassfast does not provide.

Importing it raises an ImportError that says so, and ``Cluster(column_encryption_policy=...)``
raises UnsupportedOperation, so that no value meant to be encrypted is ever sent in plaintext.
"""

raise ImportError("cassandra.column_encryption (client-side column encryption) is not implemented "
                  "by cassfast; use cassandra-driver", name=__name__)
