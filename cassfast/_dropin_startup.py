"""The startup hook of ``python -m cassfast.dropin enable``: its .pth file calls ``run()``.

Importing this module does nothing; ``run()`` calls ``install_as_cassandra()`` unless
``CASSFAST_AS_CASSANDRA=0``.  A failure (something imported cassandra-driver even earlier, for
example) is reported on stderr in one line and never stops the interpreter from starting.
"""
import os
import sys

import cassfast

# site may process one site-packages directory twice (a venv's lib64 is a symlink to lib), so
# the .pth line can run twice in one start: act, and report a failure, once.
_done = False


def run() -> None:
    global _done
    if _done or os.environ.get("CASSFAST_AS_CASSANDRA", "1") == "0":
        return
    _done = True
    try:
        cassfast.install_as_cassandra()
    except Exception as exc:  # a startup hook must never break the interpreter
        sys.stderr.write("cassfast: the startup hook did not install cassfast as 'cassandra': "
                         "%s: %s (python -m cassfast.dropin disable removes the hook)\n"
                         % (type(exc).__name__, exc))
