"""What a run may touch in its output folder: never another filesystem, never a folder's mode.

A mount point inside the output folder (a Docker volume, a tmpfs, a bind-mounted file) is
found here (``mounts_inside``) and refused before any work (``check_no_mounts_inside``):
carrying it over into the staging folder would copy it and then delete the original set,
the mount's files with it. Nothing here descends into another filesystem to copy or remove
anything (``link_tree``, ``_remove_tree``), and a folder re-created by a run keeps the mode,
owner and group of the one it replaces (``copy_folder_meta``, ``keep_folder_meta``).
Used by ``outputs.outdir``, which re-exports these names.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import stat
from pathlib import Path

from smaby_geo._errors import OutputFolderError


def _device_of(path: str | os.PathLike) -> int:
    """The device number of ``path`` itself (``lstat``: a symbolic link is not followed)."""
    return os.lstat(path).st_dev


def _mount_table() -> list[str]:
    """Mount points of this process (Linux ``/proc/self/mountinfo``); empty elsewhere."""
    try:
        lines = Path("/proc/self/mountinfo").read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    points = []
    for line in lines:
        fields = line.split(" ")
        if len(fields) > 4:  # field 5 is the mount point, octal-escaped (\040 = space)
            points.append(
                re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), fields[4])
            )
    return points


def mounts_inside(folder: str | os.PathLike) -> list[Path]:
    """Mount points strictly inside ``folder``: entries of another filesystem or mount.

    An entry counts when ``os.path.ismount`` says so, when its device differs from the
    folder's (``st_dev``), or when the mount table names it (a bind mount of the same
    filesystem). Symbolic links are not followed; nothing below a found mount is visited.

    Parameters
    ----------
    folder : path-like

    Returns
    -------
    list of Path
        The mount points found (empty when ``folder`` does not exist).
    """
    real = os.path.realpath(folder)
    root = Path(real)
    try:
        root_dev = _device_of(root)
    except OSError:
        return []
    found: list[Path] = []
    for point in _mount_table():
        if point != real and point.startswith(real.rstrip("/") + "/"):
            found.append(Path(point))
    todo = [str(root)]
    while todo:  # one lstat per entry: folders of many files stay quick
        try:
            with os.scandir(todo.pop()) as it:
                entries = list(it)
        except OSError:
            continue
        for e in entries:
            try:
                if e.is_symlink():
                    continue
                is_dir = e.is_dir(follow_symlinks=False)
                if (is_dir and os.path.ismount(e.path)) or _device_of(e.path) != root_dev:
                    found.append(Path(e.path))
                elif is_dir:
                    todo.append(e.path)
            except OSError:
                continue
    return sorted(set(found))


def _mount_error(out, mount, more: str = "") -> OutputFolderError:
    return OutputFolderError(
        f"--out {out}: {mount} inside it is a mount point (another filesystem){more}, which "
        "a run must not move, copy or replace; choose an --out folder without mounts inside, "
        "or write into the mounted folder itself"
    )


def check_no_mounts_inside(out_dir: str | os.PathLike) -> None:
    """Refuse an output folder with a mount point inside it (before any work).

    Raises
    ------
    OutputFolderError
        Naming the first mount point found and the fix.
    """
    found = mounts_inside(out_dir)
    if found:
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        raise _mount_error(out_dir, found[0], more)


def _remove_tree(path: Path) -> bool:
    """``shutil.rmtree`` that never enters another filesystem: a tree with a mount is kept.

    Returns
    -------
    bool
        True when ``path`` is gone (or was never there).
    """
    if not os.path.lexists(path):
        return True
    if path.is_symlink() or not path.is_dir():
        with contextlib.suppress(OSError):
            path.unlink()
        return not os.path.lexists(path)
    if os.path.ismount(path) or mounts_inside(path):
        return False
    shutil.rmtree(path, ignore_errors=True)
    return not os.path.lexists(path)


def _chown_best(path: Path, uid: int, gid: int) -> None:
    """Set owner and group where allowed, else the group alone (a member may), else nothing."""
    for u in (uid, -1):
        try:
            os.chown(path, u, gid, follow_symlinks=False)
            return
        except OSError:
            continue


def copy_folder_meta(src: Path, dst: Path) -> None:
    """Give folder ``dst`` the mode, owner and group (where allowed) and ACLs of ``src``.

    Best-effort: the owner and group are set where the process may (``os.chown``), then the
    mode with its setgid bit, the times and the extended attributes (ACLs) by
    ``shutil.copystat``; a refused step is skipped.
    """
    st = os.lstat(src)
    _chown_best(dst, st.st_uid, st.st_gid)
    with contextlib.suppress(OSError):
        shutil.copystat(src, dst, follow_symlinks=False)
    with contextlib.suppress(OSError):  # copystat stops before chmod where a time is refused
        os.chmod(dst, stat.S_IMODE(st.st_mode))


def keep_folder_meta(previous: Path, new: Path, *, root: bool = True) -> None:
    """Copy each folder's mode/owner of ``previous`` onto the folder of that name in ``new``.

    Every folder under ``new`` (not following links) that replaces a folder of ``previous``,
    and ``new`` itself unless ``root`` is False, keeps the previous one's mode, owner and
    group (``copy_folder_meta``).
    """
    if not previous.is_dir() or previous.is_symlink():
        return
    for dirpath, dirnames, _ in os.walk(new, topdown=False, followlinks=False):
        for d in ["", *dirnames] if root and dirpath == str(new) else dirnames:
            target = Path(dirpath) / d
            if target.is_symlink():
                continue
            before = previous / target.relative_to(new)
            if before.is_dir() and not before.is_symlink():
                copy_folder_meta(before, target)


def link_tree(src: Path, dst: Path, *, dev: int | None = None) -> None:
    """Mirror ``src`` at ``dst`` with hard links (copies where links are refused).

    Parameters
    ----------
    src, dst : Path
    dev : int, optional
        The device (``st_dev``) of the folder being mirrored; default ``src``'s parent's.

    Raises
    ------
    OutputFolderError
        ``src`` or an entry under it is a mount point or on another device: it is never
        copied (the caller would then remove the original).
    """
    if dev is None:
        dev = _device_of(src.parent)
    if not src.is_symlink() and (os.path.ismount(src) or _device_of(src) != dev):
        raise _mount_error(src.parent, src)
    if src.is_symlink():
        os.symlink(os.readlink(src), dst)
    elif src.is_dir():
        dst.mkdir()
        for child in src.iterdir():
            link_tree(child, dst / child.name, dev=dev)
        copy_folder_meta(src, dst)  # a re-created folder keeps its mode, owner and group
    elif src.is_file():
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)
