"""``derived_cache``: the sidecar beside each entry is the plain sha256 of the entry's bytes.

An entry is read only when its sidecar holds exactly that digest; a sidecar of any other form
(the tagged ``fingerprint`` form older versions wrote, another file's digest, text that is no
digest, none at all) makes the entry be computed again and replaced, never read.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess

import pytest

from smaby_geo import derived_cache


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def entry(tmp_path, monkeypatch):
    monkeypatch.setenv("SMABY_GEO_CACHE_DIR", str(tmp_path / "home"))
    return derived_cache.entry_path("maps", "t", derived_cache.fingerprint("inputs"), "txt")


def _use(path, value: str) -> str:
    return derived_cache.cached(
        path, lambda: value, lambda q: q.read_text(), lambda v, q: q.write_text(v)
    )


def _sidecar(path):
    return path.with_name(path.name + ".sha256")


def test_the_sidecar_is_the_plain_sha256_of_the_entry(entry):
    assert _use(entry, "the computed value") == "the computed value"
    digest = _sidecar(entry).read_text().strip()
    assert digest == _sha256(b"the computed value") == _sha256(entry.read_bytes())
    if shutil.which("sha256sum"):  # the command-line tool agrees
        out = subprocess.run(["sha256sum", str(entry)], capture_output=True, text=True)
        assert out.stdout.split()[0] == digest
    assert _use(entry, "computed again") == "the computed value"  # read from the cache


@pytest.mark.parametrize(
    "sidecar",
    [
        "old tagged form",  # what the module wrote before: sha256 of b"file:" + bytes + NUL
        "another file's",
        "not a digest",
        None,
    ],
)
def test_an_entry_whose_sidecar_is_not_its_sha256_is_computed_again(entry, sidecar):
    stale = b"stale bytes of an older format"
    entry.parent.mkdir(parents=True)
    entry.write_bytes(stale)
    text = {
        "old tagged form": _sha256(b"file:" + stale + b"\x00"),
        "another file's": _sha256(b"other bytes"),
        "not a digest": "0123",
        None: None,
    }[sidecar]
    if text is not None:
        _sidecar(entry).write_text(text + "\n")
    assert _use(entry, "fresh value") == "fresh value"  # not the stale bytes
    # replaced: the entry and its plain sha256, read as they are from now on
    assert entry.read_text() == "fresh value"
    assert _sidecar(entry).read_text().strip() == _sha256(b"fresh value")
    assert _use(entry, "computed again") == "fresh value"


def test_the_tagged_fingerprint_of_a_file_is_not_its_sha256(tmp_path):
    """``fingerprint`` is a cache key over tagged parts, documented as such."""
    p = tmp_path / "f"
    p.write_bytes(b"abc")
    assert derived_cache.fingerprint(p) == _sha256(b"file:abc\x00")
    assert derived_cache.fingerprint(p) != _sha256(b"abc")
    from smaby_geo.datasets import hash_file

    assert hash_file(p) == _sha256(b"abc")
