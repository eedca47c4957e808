"""The YAML scenario format: reading a file into a ``Scenario`` with clear errors.

A scenario file::

    name: e39_hordfast
    description: E39 Halhjem-Sandvikvåg ferry replaced by a fixed link
    edits:
      - replace_ferry: {link_id: 14257, speed_kmh: 80}
      - upgrade: {road: Rv3, speed_kmh: 90}
      - new_link: {start: Tynset, end: [290000, 6900000], speed_kmh: 80, kind: tunnel}
      - ferry_headway: {near: [-39100, 6691800], headway_min: 30}
      - close_link: {link_ids: [14001]}
      - close_facility: {name: "Sykehuset Innlandet, Tynset"}
      - open_facility: {name: New hospital, service_type: hospital, at: Elverum}

Points are ``[x, y]`` in EPSG:25833 metres or N1000 place names.

Hostile files are refused with one line naming the file and line: YAML aliases, repeated
keys, files over ``MAX_SCENARIO_BYTES``, more than ``MAX_SCENARIO_EDITS`` edits, unknown keys,
wrong value types, points given as longitude/latitude, two sites opened under one name.
Numbers may be written ``1e9`` (YAML 1.1 reads that as text; it is read as a number here);
texts stay as written (``name: 1e3`` is "1e3", ``service_id: 0301`` is "0301").
``headway_min: .inf`` closes a ferry. The returned ``Scenario`` knows its file and the line of
each edit, so errors found when it is applied (unknown road numbers or link ids, a ``near``
point far from any ferry) name them too. The comparison of a scenario with its base is
``smaby_geo.analysis.scenarios``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from smaby_geo.network.scenario import (
    CloseFacility,
    CloseLink,
    FerryHeadway,
    NewLink,
    OpenFacility,
    ReplaceFerry,
    Scenario,
    Upgrade,
)
from smaby_geo.places._tables import looks_like_lonlat
from smaby_geo.places.placenames import find_place

_EDIT_KEYS = {
    "upgrade": (
        Upgrade,
        {"road", "link_ids", "area", "buffer_m", "speed_kmh", "factor", "keep_faster"},
    ),
    "new_link": (NewLink, {"start", "end", "speed_kmh", "kind", "max_snap_m"}),
    "replace_ferry": (ReplaceFerry, {"link_id", "near", "speed_kmh", "kind"}),
    "ferry_headway": (FerryHeadway, {"link_id", "near", "headway_min"}),
    "close_link": (CloseLink, {"link_ids"}),
    "close_facility": (CloseFacility, {"service_id", "name"}),
    "open_facility": (OpenFacility, {"name", "service_type", "at", "x", "y"}),
}
for _kind in ("replace_ferry", "ferry_headway"):  # how far ``near`` may be from the ferry
    _EDIT_KEYS[_kind][1].add("max_snap_m")

# A point whose two numbers fit longitude (-180..180) and latitude (-90..90) is no point of
# Norway in EPSG:25833 metres (the y of Norway is 6.4-8.0 million): refused, not read as a
# spot in the Gulf of Guinea.
# Keys that accept .inf (FerryHeadway: ``headway_min: .inf`` closes a ferry)
_INF_KEYS = {"headway_min"}
_TOP_KEYS = {"name", "description", "edits"}
_EXPONENT_FLOAT = re.compile(r"^[-+]?[0-9]+(?:\.[0-9]*)?[eE][-+]?[0-9]+$")

# Caps on what a scenario file may hold. A real scenario is a few kB with a handful of edits;
# YAML aliases are refused outright (a 700-byte "billion laughs" file expands to gigabytes).
MAX_SCENARIO_BYTES = 256_000
MAX_SCENARIO_EDITS = 500

_NUMBER = "number"
_KEY_TYPES = {
    "road": "text",
    "link_ids": "int list",
    "area": "wkt",
    "buffer_m": _NUMBER,
    "speed_kmh": _NUMBER,
    "factor": _NUMBER,
    "keep_faster": "bool",
    "start": "point",
    "end": "point",
    "near": "point",
    "at": "point",
    "kind": "text",
    "max_snap_m": _NUMBER,
    "link_id": "int",
    "headway_min": _NUMBER,
    "service_id": "text",
    "name": "text",
    "service_type": "text",
    "x": _NUMBER,
    "y": _NUMBER,
}


class ScenarioFileError(ValueError):
    """A scenario file that cannot be read; the message names the file, the line and the fix."""


def _lonlat_error(where: str, x, y) -> ScenarioFileError:
    return ScenarioFileError(
        f"{where}: [{x}, {y}] looks like longitude/latitude; points are EPSG:25833 metres "
        "(e.g. [290000, 6900000]) or a place name"
    )


def _point(value, where: str):
    if isinstance(value, str):
        try:
            return find_place(value)
        except KeyError as exc:
            raise ScenarioFileError(f"{where}: {exc.args[0]}") from None
    if (
        isinstance(value, list | tuple)
        and len(value) == 2
        and all(_is_number(v) and np.isfinite(v) for v in value)
    ):
        if looks_like_lonlat(value[0], value[1]):
            raise _lonlat_error(where, value[0], value[1])
        return float(value[0]), float(value[1])
    raise ScenarioFileError(
        f"{where}: a point is [x, y] (EPSG:25833 metres, two finite numbers) or a place name, "
        f"not {value!r}"
    )


def _is_number(v) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _check_value(key: str, value, where: str):
    """Check one edit parameter's type; return it converted (points, WKT, tuples)."""
    kind = _KEY_TYPES.get(key)
    bad = None
    if kind == _NUMBER:
        if not _is_number(value):
            bad = "a number (write 90, not \"90\")"
        elif np.isinf(value) and value > 0 and key in _INF_KEYS:
            return float(value)
        elif not np.isfinite(value):
            bad = "a finite number" + (" or .inf" if key in _INF_KEYS else "")
        else:
            return float(value)
    elif kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            bad = "a whole number (a link id)"
        else:
            return value
    elif kind == "int list":
        if not isinstance(value, list) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in value
        ):
            bad = "a list of whole numbers, e.g. [14257, 14258]"
        else:
            return tuple(value)
    elif kind == "text":
        if not isinstance(value, str) or not value.strip():
            bad = "a non-empty text"
        else:
            return value
    elif kind == "bool":
        if not isinstance(value, bool):
            bad = "true or false"
        else:
            return value
    elif kind == "point":
        return _point(value, f"{where}, {key}")
    elif kind == "wkt":
        import shapely

        if not isinstance(value, str):
            bad = "a WKT polygon text, e.g. 'POLYGON ((x y, ...))' in EPSG:25833"
        else:
            try:
                geom = shapely.from_wkt(value)
            except Exception:
                geom = None
            if geom is None or geom.is_empty:
                bad = "a valid WKT geometry, e.g. 'POLYGON ((x y, ...))' in EPSG:25833"
            else:
                return geom
    else:
        return value
    raise ScenarioFileError(f"{where}: {key} must be {bad}, got {value!r}")


def _load_yaml(path: Path, text: str):
    """Compose and construct the YAML document, refusing aliases; YAML errors name the line."""
    import yaml

    class _NoAliasLoader(yaml.SafeLoader):
        def construct_mapping(self, node, deep=False):
            seen: dict = {}
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.get(key)
                except TypeError:  # an unhashable key: SafeLoader's own error follows
                    break
                if first is not None:
                    raise ScenarioFileError(
                        f"{path}, line {key_node.start_mark.line + 1}: key {key!r} is given "
                        f"twice (first on line {first}); keep one"
                    )
                seen[key] = key_node.start_mark.line + 1
            return super().construct_mapping(node, deep=deep)

        def compose_node(self, parent, index):
            if self.check_event(yaml.AliasEvent):
                event = self.peek_event()
                raise ScenarioFileError(
                    f"{path}, line {event.start_mark.line + 1}: YAML aliases (*{event.anchor}) "
                    "are not allowed in scenario files; write the values out"
                )
            return super().compose_node(parent, index)

    # YAML 1.1 reads 1e9 and 1e-9 (no dot) as text; read them as numbers as YAML 1.2 does
    _NoAliasLoader.yaml_implicit_resolvers = {
        k: list(v) for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    _NoAliasLoader.add_implicit_resolver(
        "tag:yaml.org,2002:float", _EXPONENT_FLOAT, list("-+0123456789")
    )
    loader = None
    try:
        loader = _NoAliasLoader(text)
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = f", line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or getattr(exc, "reason", None) or str(exc)
        problem = " ".join(str(problem).split())
        hint = (
            "; indent with spaces, not tabs"
            if "\t" in problem or "\\t" in problem or "tab" in problem.lower()
            else "; check the indentation and quoting"
        )
        raise ScenarioFileError(f"{path}{line}: not valid YAML ({problem}){hint}") from None
    except RecursionError:
        raise ScenarioFileError(
            f"{path}: nested too deeply to be a scenario; see scenarios/ for the format"
        ) from None
    finally:
        if loader is not None:
            loader.dispose()
    return root, data


def _as_written(node, value):
    """``value``, or ``node``'s text as written where YAML read a plain scalar as another type.

    ``1e3`` and ``1000`` are read as numbers, ``0301`` as the octal 193, ``yes`` as true.
    """
    import yaml

    if (
        isinstance(node, yaml.ScalarNode)
        and node.style is None
        and value is not None
        and not isinstance(value, str)
    ):
        return node.value
    return value


def _keep_texts_as_written(root, data: dict) -> None:
    """Put back, in place, the texts of ``data`` that YAML read as numbers or booleans.

    A name is text: ``name: 1e3`` is the scenario "1e3" (the number rule of ``_load_yaml``
    had made it "1000.0"), and a facility ``name: 1e3`` or ``service_id: 0301`` in an edit is
    the site so named. The keys are the scenario's ``name`` and ``description`` and the
    text keys of each edit (``_KEY_TYPES``). Parts not shaped as a scenario are left to the
    checks of ``read_scenario``.
    """
    import yaml

    top = {k.value: v for k, v in root.value if isinstance(k, yaml.ScalarNode)}
    for key in ("name", "description"):
        if key in top and key in data:
            data[key] = _as_written(top[key], data[key])
    edits_node, edits = top.get("edits"), data.get("edits")
    if not isinstance(edits_node, yaml.SequenceNode) or not isinstance(edits, list):
        return
    for item_node, item in zip(edits_node.value, edits, strict=False):
        if not (isinstance(item_node, yaml.MappingNode) and len(item_node.value) == 1):
            continue
        if not (isinstance(item, dict) and len(item) == 1):
            continue
        pnode = item_node.value[0][1]
        ((_, params),) = item.items()
        if not (isinstance(pnode, yaml.MappingNode) and isinstance(params, dict)):
            continue
        for k, v in pnode.value:
            pkey = k.value if isinstance(k, yaml.ScalarNode) else None
            if pkey is not None and _KEY_TYPES.get(pkey) == "text" and pkey in params:
                params[pkey] = _as_written(v, params[pkey])


def read_scenario_data(path: str | os.PathLike) -> dict:
    """The YAML document of a scenario file as ``read_scenario`` reads it, before its checks.

    The rules of the file format: numbers may be written ``1e9``, texts (names, road
    numbers, service ids) stay as written, YAML aliases are refused. Tools that keep a
    scenario's edits in their written form (the explorer) read them with this, so that
    writing them back gives the same scenario.

    Parameters
    ----------
    path : path-like
        A scenario file that ``read_scenario`` accepts (read it with that first: this
        function does not check the scenario).

    Returns
    -------
    dict
        ``name``, ``description`` and ``edits`` (a list of ``{edit_type: {key: value}}``).
    """
    import yaml

    path = Path(path)
    root, data = _load_yaml(path, path.read_bytes().decode("utf-8"))
    if isinstance(root, yaml.MappingNode) and isinstance(data, dict):
        _keep_texts_as_written(root, data)
    return data


def read_scenario(
    path: str | os.PathLike,
    *,
    max_bytes: int = MAX_SCENARIO_BYTES,
    max_edits: int = MAX_SCENARIO_EDITS,
) -> Scenario:
    """Read a scenario YAML file.

    Parameters
    ----------
    path : path-like
        The YAML file (UTF-8).
    max_bytes : int, default ``MAX_SCENARIO_BYTES`` (256 kB)
        Larger files are refused before parsing.
    max_edits : int, default ``MAX_SCENARIO_EDITS`` (500)
        More edits are refused.

    Raises
    ------
    ScenarioFileError
        A missing file or a folder, a file too large, not UTF-8, invalid YAML (tabs, bad
        indentation), YAML aliases, unknown keys or edit types, wrong value types (naming the
        key and its line), missing parts, bad points.
    """
    import yaml

    path = Path(path)
    if not path.exists():
        raise ScenarioFileError(f"{path}: scenario file not found; check the path")
    if path.is_dir():
        raise ScenarioFileError(f"{path}: is a folder; give the scenario's .yaml file")
    size = path.stat().st_size
    if size > max_bytes:
        raise ScenarioFileError(
            f"{path}: {size:,} bytes is more than a scenario file may hold ({max_bytes:,}); "
            "split it into smaller scenarios"
        )
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise ScenarioFileError(
            f"{path}, line {line}: not UTF-8 text; save the file as UTF-8"
        ) from None
    except OSError as exc:
        raise ScenarioFileError(f"{path}: cannot be read ({exc.strerror})") from None
    root, data = _load_yaml(path, text)
    if root is None or not isinstance(root, yaml.MappingNode) or not isinstance(data, dict):
        raise ScenarioFileError(f"{path}: a scenario is a mapping with 'name' and 'edits'")
    _keep_texts_as_written(root, data)

    def check_keys(node, allowed, what):
        for k, _ in node.value:
            if not isinstance(k, yaml.ScalarNode) or k.value not in allowed:
                raise ScenarioFileError(
                    f"{path}, line {k.start_mark.line + 1}: unknown key {k.value!r} in {what}; "
                    f"allowed: {sorted(allowed)}"
                )

    check_keys(root, _TOP_KEYS, "the scenario")
    if "name" not in data or "edits" not in data:
        raise ScenarioFileError(f"{path}: a scenario needs 'name' and 'edits'")
    for key in ("name", "description"):
        node = next((v for k, v in root.value if k.value == key), None)
        if node is not None and not isinstance(data[key], str | int | float):
            raise ScenarioFileError(
                f"{path}, line {node.start_mark.line + 1}: {key!r} must be a text"
            )
    if not str(data["name"]).strip():
        raise ScenarioFileError(f"{path}: 'name' is empty; give the scenario a name")
    edits_node = next(v for k, v in root.value if k.value == "edits")
    if not isinstance(edits_node, yaml.SequenceNode):
        raise ScenarioFileError(
            f"{path}, line {edits_node.start_mark.line + 1}: 'edits' must be a list"
        )
    if len(edits_node.value) > max_edits:
        raise ScenarioFileError(
            f"{path}: {len(edits_node.value):,} edits is more than a scenario may hold "
            f"({max_edits}); split it into smaller scenarios"
        )
    edits: list = []
    lines: list[int] = []
    opened: dict[str, int] = {}
    for item_node, item in zip(edits_node.value, data["edits"], strict=True):
        line = item_node.start_mark.line + 1
        if not isinstance(item, dict) or len(item) != 1:
            raise ScenarioFileError(f"{path}, line {line}: each edit is one 'type: {{...}}'")
        ((kind, params),) = item.items()
        if not isinstance(kind, str) or kind not in _EDIT_KEYS:
            raise ScenarioFileError(
                f"{path}, line {line}: unknown edit type {kind!r}; known: {sorted(_EDIT_KEYS)}"
            )
        cls, allowed = _EDIT_KEYS[kind]
        pnode = item_node.value[0][1]
        if params is not None and not isinstance(params, dict):
            raise ScenarioFileError(
                f"{path}, line {line}: {kind} takes a mapping of keys, e.g. "
                f"{kind}: {{{', '.join(sorted(allowed)[:2])}: ...}}"
            )
        if isinstance(pnode, yaml.MappingNode):
            check_keys(pnode, allowed, f"edit {kind!r}")
        where = f"{path}, line {line} ({kind})"
        params = {k: _check_value(k, v, where) for k, v in (params or {}).items()}
        if kind == "open_facility":
            if "at" in params:
                params["x"], params["y"] = params.pop("at")
            elif (
                _is_number(params.get("x"))
                and _is_number(params.get("y"))
                and looks_like_lonlat(params["x"], params["y"])
            ):
                raise _lonlat_error(f"{where}, x/y", params["x"], params["y"])
            name = str(params.get("name"))
            if name in opened:
                raise ScenarioFileError(
                    f"{where}: a site named {name!r} is already opened on line "
                    f"{opened[name]}; give each new site its own name"
                )
            opened[name] = line
        try:
            edits.append(cls(**params))
        except (TypeError, ValueError) as exc:
            raise ScenarioFileError(f"{where}: {exc}") from None
        lines.append(line)
    return Scenario(
        name=str(data["name"]),
        edits=edits,
        description=str(data.get("description") or ""),
        source=str(path),
        edit_lines=tuple(lines),
    )
