"""Deprecation helpers shared by every layer: renamed keywords and dict-style result access.

Parameters whose unit could be confused were renamed in 0.x (``cutoff`` -> ``cutoff_min`` in
analysis, ``cutoff_s`` in routing; ``net`` -> ``network``), and results that were string-keyed
dicts became frozen dataclasses. The old spellings keep working for one release and say so
with a ``DeprecationWarning``.
"""

from __future__ import annotations

import dataclasses
import functools
import warnings
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

#: The release after which the old spellings go away.
REMOVED_IN = "0.3"


def renamed_kwargs(**renames: str) -> Callable[[F], F]:
    """Accept old keyword names for one release, with a ``DeprecationWarning``.

    Parameters
    ----------
    **renames : str
        ``old_name="new_name"`` pairs.

    Notes
    -----
    The wrapper adds one frame: a warning the decorated function raises about its caller's
    input needs ``stacklevel=3`` (not 2) to name the caller's line.

    Examples
    --------
    >>> @renamed_kwargs(cutoff="cutoff_min")
    ... def f(*, cutoff_min=None):
    ...     return cutoff_min
    """

    def deco(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            for old, new in renames.items():
                if old in kwargs:
                    if new in kwargs:
                        raise TypeError(
                            f"{func.__name__}() got both {old!r} (the old name) and {new!r}; "
                            f"give only {new!r}"
                        )
                    warnings.warn(
                        f"{func.__name__}(): the keyword {old!r} is deprecated, use {new!r} "
                        f"(it goes away in smaby_geo {REMOVED_IN})",
                        DeprecationWarning,
                        stacklevel=2,
                    )
                    kwargs[new] = kwargs.pop(old)
            return func(*args, **kwargs)

        wrapper.__renamed_kwargs__ = dict(renames)  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return deco


class LegacyMapping:
    """Dict-style read access to a result dataclass, deprecated.

    ``result["minutes"]``, ``"note" in result`` and ``result.get("benefit")`` keep working
    for one release (with a ``DeprecationWarning``); use the attributes. A field that is
    ``None`` reads as a key the old dict did not have. Fields named in ``_legacy_dicts`` held
    a plain dict before and are returned as one (``dataclasses.asdict``); every other value
    is returned as it is.
    """

    _legacy_dicts: tuple[str, ...] = ()

    def _legacy(self, key: str) -> Any:
        value = getattr(self, key)
        if key in self._legacy_dicts and dataclasses.is_dataclass(value):
            return dataclasses.asdict(value)  # type: ignore[arg-type]
        return value

    def _legacy_keys(self) -> list[str]:
        return [
            f.name
            for f in dataclasses.fields(self)  # type: ignore[arg-type]
            if getattr(self, f.name) is not None
        ]

    def _warn(self) -> None:
        warnings.warn(
            f"{type(self).__name__}: dict-style access is deprecated, use the attributes "
            f"(it goes away in smaby_geo {REMOVED_IN})",
            DeprecationWarning,
            stacklevel=3,
        )

    def __getitem__(self, key: str) -> Any:
        self._warn()
        if key not in self._legacy_keys():
            raise KeyError(key)
        return self._legacy(key)

    def __contains__(self, key: object) -> bool:
        self._warn()
        return key in self._legacy_keys()

    def get(self, key: str, default: Any = None) -> Any:
        """Deprecated: ``getattr(result, key)``."""
        self._warn()
        if key not in self._legacy_keys():
            return default
        return self._legacy(key)

    def keys(self) -> list[str]:
        """Deprecated: the names of the fields that are set."""
        self._warn()
        return self._legacy_keys()

    def __iter__(self) -> Iterator[str]:
        self._warn()
        return iter(self._legacy_keys())
