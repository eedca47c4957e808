"""Errors that mean "the input or the environment is at fault", not a bug in smaby_geo.

Every layer may raise these; the command line turns them (and the other expected failures
listed in ``cli.EXPECTED_ERRORS``) into one line naming the input and the fix, exit code 2.
"""

from __future__ import annotations

from collections.abc import Callable

TRACEBACK_ENV = "SMABY_GEO_TRACEBACK"
_OFF = ("", "0", "false", "no", "off")


def traceback_wanted() -> bool:
    """Whether ``$SMABY_GEO_TRACEBACK`` asks for tracebacks of expected errors (developers).

    On for any value but unset, empty, ``0``, ``false``, ``no`` or ``off`` (any case).
    """
    import os

    return os.environ.get(TRACEBACK_ENV, "").strip().lower() not in _OFF


class InputError(ValueError):
    """Bad input the user can fix; the message names the input and the fix."""


class OutputFolderError(InputError):
    """The output folder cannot be used (read-only, a path under a file, no space)."""


class OutputFolderInUseError(OutputFolderError):
    """Another run is writing into the same output folder."""


class Terminated(KeyboardInterrupt):
    """SIGTERM (``kill``, a batch system's time limit): stops the job as Ctrl-C does."""


def _raise_terminated(signum, frame) -> None:
    raise Terminated()


def show_warnings_as_lines() -> Callable[[], None]:
    """Show each warning as one line on stderr, ``smaby-geo: warning: ...`` (the CLI's way).

    Python's default shows the source file, line and code of the ``warn`` call, which tells a
    user nothing; ``SMABY_GEO_TRACEBACK=1`` keeps it (for developers).

    Returns
    -------
    callable
        Call it to restore the previous ``warnings.showwarning``.
    """
    import sys
    import warnings

    previous = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None) -> None:
        if traceback_wanted():
            previous(message, category, filename, lineno, file, line)
            return
        kind = "" if category is UserWarning else f"{category.__name__}: "
        print(f"smaby-geo: warning: {kind}{message}", file=file or sys.stderr)

    warnings.showwarning = show

    def restore() -> None:
        warnings.showwarning = previous

    return restore


def catch_sigterm() -> Callable[[], None] | None:
    """Make SIGTERM take Ctrl-C's path (staged outputs removed, writers stopped).

    Returns
    -------
    callable or None
        Call it to restore the previous handler; None where signals cannot be set (not the
        main thread).
    """
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return None
    previous = signal.signal(signal.SIGTERM, _raise_terminated)

    def restore() -> None:
        signal.signal(signal.SIGTERM, previous)

    return restore
