"""How the admin console fails: one exception, a few documented exit codes.

Scripts that drive ``sync-admin`` can tell a mistake in the request (1) from
bad usage (2), a broken configuration (3) and a database that does not
answer (4), which is worth retrying later.
"""
from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_CONFIG = 3
EXIT_BACKEND = 4
EXIT_INTERRUPTED = 130


class AdminError(Exception):
    """An expected failure: reported as one line on stderr, never a traceback."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILED):
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
