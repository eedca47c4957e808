"""Errors that mean "the input or the environment is at fault", not a bug in smaby_geo.

Every layer may raise these; the command line turns them (and the other expected failures
``describe_expected_error`` knows) into one line naming the input and the fix, exit code 2.
"""

from __future__ import annotations

import re
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


def one_line(text: str) -> str:
    """``text`` with its runs of white space (newlines included) as single spaces."""
    return " ".join(str(text).split())


# A quoted input longer than this is shown by its start and its length (a pasted file or a
# hostile argument would otherwise fill the terminal); N1000 place names have at most 17
# characters, and real paths fit.
QUOTED_INPUT_MAX_CHARS = 160
_QUOTED = re.compile(r"""(?<!\w)('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")(?!\w)""", re.DOTALL)


def shorten_quoted(text: str, max_chars: int = QUOTED_INPUT_MAX_CHARS) -> str:
    """``text`` with each quoted run longer than ``max_chars`` cut to its start and length.

    ``'xxx...x'`` (300 characters) becomes ``'xxx…' (300 characters)``, its first
    ``max_chars // 2`` characters kept; shorter quotes are left whole.
    """

    def cut(m: re.Match) -> str:
        q, inner = m.group(0)[0], m.group(0)[1:-1]
        if len(inner) <= max_chars:
            return m.group(0)
        return f"{q}{inner[: max_chars // 2]}…{q} ({len(inner):,} characters)"

    # Every quoted run is matched, short ones too, so that the closing quote of one is never
    # taken for the opening quote of the next; a quote opens after a non-word character and
    # closes before one (not the apostrophe of "registry's"); repr escapes quotes with "\".
    return _QUOTED.sub(cut, text)


# What to do about an OSError, by its kind; kinds not listed get no advice beyond the message
# (a time-out or a refused connection is no disk problem).
_OS_ERROR_FIXES = {
    "FileNotFoundError": "check the path",
    "IsADirectoryError": "give a file, not a folder",
    "NotADirectoryError": "a part of the path is a file, not a folder",
    "PermissionError": "choose a place you may read/write, or change its permissions",
    "FileExistsError": "remove it or choose another path",
    "TimeoutError": "check the address and that the other end is running and reachable",
    "ConnectionRefusedError": "check the address and that the other end is running",
    "ConnectionResetError": "the other end closed the connection; check it and try again",
    "ConnectionAbortedError": "the other end closed the connection; check it and try again",
    "BrokenPipeError": "the other end closed the connection; check it and try again",
}
_ENOSPC, _EDQUOT, _EROFS = 28, 122, 30


def describe_os_error(exc: OSError, *, out_option: str | None = "--out") -> str:
    """One line for an ``OSError``: the path (if any), the system's message and the fix.

    Parameters
    ----------
    exc : OSError
    out_option : str or None, default "--out"
        The command's option choosing where outputs go, suggested for a full disk; None
        for a command without one.
    """
    name = exc.filename if exc.filename is not None else ""
    what = exc.strerror or str(exc) or type(exc).__name__
    fix = _OS_ERROR_FIXES.get(type(exc).__name__)
    if fix is None and isinstance(exc, TimeoutError | ConnectionError):
        fix = _OS_ERROR_FIXES["TimeoutError"]
    errno = getattr(exc, "errno", None)
    if errno in (_ENOSPC, _EDQUOT):
        fix = "free some disk space" + (
            f" or choose {out_option} on another disk" if out_option else ""
        )
    elif errno == _EROFS:
        fix = "the file system is read-only" + (
            f"; choose {out_option} on a writable disk" if out_option else ""
        )
    elif fix is None and name:
        fix = "check the path"
    text = f"{name}: {what}" if name else what
    return one_line(f"{text}; {fix}" if fix else text)


def describe_expected_error(exc: BaseException, *, out_option: str | None = "--out") -> str | None:
    """One line naming the input at fault and the fix, or None when ``exc`` is a bug.

    Expected failures: bad values (``ValueError`` and its kinds: scenario files, services
    tables, regions), unknown names (``KeyError``), missing or unreadable files and folders,
    a full disk, connections (``OSError``: ``describe_os_error``), datasets not found,
    unreadable vector files (pyogrio's ``DataSourceError``/``DataLayerError``).

    Parameters
    ----------
    exc : BaseException
    out_option : str or None, default "--out"
        As in ``describe_os_error``.
    """
    msg = _describe(exc, out_option)
    return None if msg is None else shorten_quoted(msg)


def _describe(exc: BaseException, out_option: str | None) -> str | None:
    from smaby_geo import datasets

    if isinstance(exc, KeyError):
        return one_line(exc.args[0] if exc.args else "unknown key")
    if isinstance(exc, datasets.DatasetNotFoundError | ValueError):
        return one_line(str(exc))
    if isinstance(exc, OSError):
        return describe_os_error(exc, out_option=out_option)
    try:
        from pyogrio.errors import DataLayerError, DataSourceError
    except ImportError:  # pragma: no cover - pyogrio is a dependency
        return None
    if isinstance(exc, DataSourceError | DataLayerError):
        first = one_line(str(exc)).split(";")[0].rstrip(".")
        return f"{first}; give a readable vector file (GeoPackage, shapefile, GeoJSON)"
    return None


class WatchedStream:
    """A text stream (standard output) that remembers the ``OSError`` its writes raised.

    The command line writes through it to tell standard output failing (a reader that has
    gone, ``smaby-geo route A B | head -1``; a full disk, ``> /dev/full``) from the other
    ``OSError`` a command may raise. Everything else is the wrapped stream's.
    """

    def __init__(self, stream) -> None:
        self.stream = stream
        self.error: OSError | None = None

    def write(self, text: str) -> int:
        try:
            return self.stream.write(text)
        except OSError as exc:
            self.error = exc
            raise

    def flush(self) -> None:
        try:
            self.stream.flush()
        except OSError as exc:
            self.error = exc
            raise

    def __getattr__(self, name: str):
        return getattr(self.stream, name)

    def silence(self) -> None:
        """Point the stream's file at the null device (Python's advice on SIGPIPE).

        What is still buffered then does not fail again when the interpreter exits.
        """
        import os

        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self.stream.fileno())
            os.close(devnull)
        except (OSError, ValueError, AttributeError):  # no file behind it (captured in tests)
            pass
