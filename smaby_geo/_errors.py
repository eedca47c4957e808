"""Errors that mean "the input or the environment is at fault", not a bug in smaby_geo.

Every layer may raise these; the command line turns them (and the other expected failures
listed in ``cli.EXPECTED_ERRORS``) into one line naming the input and the fix, exit code 2.
"""

from __future__ import annotations

from collections.abc import Callable


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
