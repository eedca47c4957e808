"""What a run may touch in its output folder: only what it wrote.

A mount point inside ``--out`` (a Docker volume, a tmpfs) is simulated by monkeypatching
``os.path.ismount`` or the device check (``folders._device_of``): tests run unprivileged.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from smaby_geo._errors import OutputFolderError
from smaby_geo.outputs import folders, outdir


def _write_set(out: Path, files: dict[str, str], name: str = "run_x.json") -> None:
    with outdir.staged_output(out) as st:
        for n, text in files.items():
            (st / n).write_text(text)
        (st / name).write_text(json.dumps({"files": outdir.file_digests(st, list(files))}))


def _fake_mount(monkeypatch, mount: Path, how: str) -> None:
    """Make ``mount`` look like another filesystem to ``outdir``."""
    if how == "ismount":
        real = outdir.os.path.ismount
        monkeypatch.setattr(
            outdir.os.path, "ismount", lambda p: Path(p) == mount or real(p)
        )
    else:
        real_dev = folders._device_of
        monkeypatch.setattr(
            folders,
            "_device_of",
            lambda p: real_dev(p) + 1 if Path(p) == mount else real_dev(p),
        )


@pytest.mark.parametrize("how", ["ismount", "device"])
def test_a_mount_point_inside_out_is_refused_before_anything_is_touched(
    tmp_path, monkeypatch, how
):
    """The reviewer's data loss: a run copied a mounted folder into its staging folder,
    swapped and then removed the staging folder, emptying the mount."""
    out = tmp_path / "mt"
    _write_set(out, {"cells.csv": "old"})
    mount = out / "data"
    mount.mkdir()
    (mount / "important.txt").write_text("x")
    inode = mount.stat().st_ino
    _fake_mount(monkeypatch, mount, how)
    entered = []

    def write_new():
        with outdir.staged_output(out) as st:
            entered.append(st)
            (st / "cells.csv").write_text("new")

    with pytest.raises(OutputFolderError) as err:
        write_new()
    assert entered == []  # refused before any work
    msg = str(err.value)
    assert str(mount) in msg and "mount point" in msg and "\n" not in msg
    assert "write into the mounted folder itself" in msg
    assert mount.stat().st_ino == inode  # the same folder, never re-created
    assert (mount / "important.txt").read_text() == "x"
    assert (out / "cells.csv").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".mt.smaby-st")) == []


def test_a_mount_found_by_the_mount_table_is_refused(tmp_path, monkeypatch):
    """A bind mount of the same filesystem has the same device: the mount table names it."""
    out = tmp_path / "o"
    (out / "vol").mkdir(parents=True)
    monkeypatch.setattr(folders, "_mount_table", lambda: [str(out.resolve() / "vol")])
    assert outdir.mounts_inside(out) == [out.resolve() / "vol"]
    with pytest.raises(OutputFolderError, match="vol inside it is a mount point"):
        outdir.check_output_folder(out)


def test_the_cli_stops_with_exit_2_and_one_line(tmp_path, monkeypatch, capsys):
    from smaby_geo.cli import main

    out = tmp_path / "mt"
    (out / "data").mkdir(parents=True)
    (out / "data" / "important.txt").write_text("x")
    _fake_mount(monkeypatch, out / "data", "ismount")
    rc = main(
        ["run", "--region", "Tynset", "--grid", "1km", "--services", "police", "--no-map",
         "--no-gpkg", "--out", str(out)]
    )  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2
    assert len(err) == 1 and err[0].startswith("smaby-geo: error: ")
    assert "data inside it is a mount point" in err[0] and "Traceback" not in err[0]
    assert sorted(p.name for p in out.iterdir()) == ["data"]
    assert (out / "data" / "important.txt").read_text() == "x"


def test_link_tree_never_copies_a_mount(tmp_path, monkeypatch):
    src = tmp_path / "src"
    (src / "a" / "m").mkdir(parents=True)
    (src / "a" / "m" / "f").write_text("x")
    _fake_mount(monkeypatch, src / "a" / "m", "device")
    with pytest.raises(OutputFolderError, match="mount point"):
        outdir.link_tree(src, tmp_path / "dst")
    assert not (tmp_path / "dst" / "a" / "m").exists()


def test_removing_a_tree_never_enters_a_mount(tmp_path, monkeypatch):
    tree = tmp_path / "staging"
    (tree / "data").mkdir(parents=True)
    (tree / "data" / "important.txt").write_text("x")
    (tree / "mine.csv").write_text("y")
    _fake_mount(monkeypatch, tree / "data", "ismount")
    assert folders._remove_tree(tree) is False
    assert (tree / "data" / "important.txt").read_text() == "x"


def test_cleaning_stale_files_never_enters_a_mount(tmp_path, monkeypatch):
    """Hidden ``.*.part.*`` files of killed runs are removed, but not inside a mount."""
    out = tmp_path / "o"
    (out / "vol").mkdir(parents=True)
    theirs = out / "vol" / ".db.part.1"
    theirs.write_text("someone else's")
    ours = out / ".cells.csv.part.1"
    ours.write_text("killed run")
    _fake_mount(monkeypatch, out / "vol", "ismount")
    removed = outdir.clean_stale(out)
    assert ours in removed and not ours.exists()
    assert theirs.read_text() == "someone else's"


def test_out_itself_a_mount_point_still_works_and_a_rerun_replaces_its_set(
    tmp_path, monkeypatch
):
    """README: where ``--out`` is a mount point the run stages inside it, file by file."""
    out = tmp_path / "vol"
    _write_set(out, {"cells.csv": "old", "map.html": "old map"})
    (out / "keep.txt").write_text("user")
    _fake_mount(monkeypatch, out, "ismount")
    _write_set(out, {"cells.csv": "new"})
    assert sorted(p.name for p in out.iterdir()) == ["cells.csv", "keep.txt", "run_x.json"]
    assert (out / "cells.csv").read_text() == "new"


def test_no_mounts_in_a_plain_folder(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "f").write_text("x")
    os.symlink("/", tmp_path / "a" / "root_link")  # a link to another filesystem: not entered
    assert outdir.mounts_inside(tmp_path) == []


# ------------------------------------------------ a rerun keeps the folders' modes


def _mode(p: Path) -> int:
    return p.stat().st_mode & 0o7777


@pytest.mark.parametrize("commit", ["exchange", "file by file"])
def test_a_run_keeps_the_mode_of_out_and_of_its_folders(tmp_path, monkeypatch, commit):
    """Every run re-created ``--out`` and its folders: a ``chmod 700`` folder became 755 and
    a setgid group folder lost its bit."""
    out = tmp_path / "o"
    _write_set(out, {"cells.csv": "old"})
    private = out / "private"
    (private / "sub").mkdir(parents=True)
    (private / "sub" / "notes.txt").write_text("mine")
    scen = out / "scen"  # a folder the job writes again (a scenario's folder)
    scen.mkdir()
    (scen / "a.csv").write_text("old")
    os.chmod(private / "sub", 0o711)
    os.chmod(private, 0o700)
    os.chmod(scen, 0o2750)
    os.chmod(out, 0o2750)  # setgid: files made inside take the folder's group
    others = [g for g in os.getgroups() if g != out.stat().st_gid]
    group = 4242 if os.geteuid() == 0 else (others[0] if others else out.stat().st_gid)
    os.chown(out, -1, group)
    os.chown(private, -1, group)
    os.chmod(out, 0o2750)  # a chown may clear the setgid bit
    if commit == "file by file":  # --out is a mount point: no swap
        _fake_mount(monkeypatch, out, "ismount")
    with outdir.staged_output(out) as st:
        (st / "cells.csv").write_text("new")
        (st / "scen").mkdir()
        (st / "scen" / "a.csv").write_text("new")
    assert (out / "cells.csv").read_text() == "new" and (scen / "a.csv").read_text() == "new"
    assert _mode(out) == 0o2750
    assert _mode(private) == 0o700 and _mode(private / "sub") == 0o711
    assert _mode(scen) == 0o2750
    assert (private / "sub" / "notes.txt").read_text() == "mine"
    assert out.stat().st_gid == group and private.stat().st_gid == group
    assert (out / "cells.csv").stat().st_gid == group  # written under the setgid folder


def test_copy_folder_meta_copies_mode_and_group(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    os.chmod(a, 0o2705)
    outdir.copy_folder_meta(a, b)
    assert _mode(b) == 0o2705 and b.stat().st_gid == a.stat().st_gid
