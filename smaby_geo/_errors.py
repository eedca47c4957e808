"""Errors that mean "the input or the environment is at fault", not a bug in smaby_geo.

Every layer may raise these; the command line turns them (and the other expected failures
listed in ``cli.EXPECTED_ERRORS``) into one line naming the input and the fix, exit code 2.
"""

from __future__ import annotations


class InputError(ValueError):
    """Bad input the user can fix; the message names the input and the fix."""


class OutputFolderError(InputError):
    """The output folder cannot be used (read-only, a path under a file, no space)."""


class OutputFolderInUseError(OutputFolderError):
    """Another run is writing into the same output folder."""
