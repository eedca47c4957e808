"""Input checks of the many-to-all queries (bad input and faults).

Every option is checked with or without sources (an empty source list once let a bad cutoff
through), ``block_rows`` / ``batch`` must be integers (1.5 was silently truncated to 1), and
``map_many_to_all`` on a cluster builds a contraction hierarchy only where the local path
would use one.
"""

from __future__ import annotations

import numpy as np
import pytest

from smaby_geo.routing import api
from smaby_geo.routing.api import CSR, iter_many_to_all, many_to_all, map_many_to_all


def _line_graph(n: int = 6) -> CSR:
    """0 <-> 1 <-> ... <-> n-1, 10 s per edge each way."""
    u = np.r_[np.arange(n - 1), np.arange(1, n)]
    v = np.r_[np.arange(1, n), np.arange(n - 1)]
    order = np.argsort(u, kind="stable")
    u, v = u[order], v[order]
    indptr = np.r_[0, np.cumsum(np.bincount(u, minlength=n))]
    return api.as_csr(indptr, v, np.full(len(u), 10.0))


def _count_within(src, rows):
    return np.isfinite(rows).sum(axis=1)


def _call(kind: str, g, sources, **kw):
    if kind == "many":
        return many_to_all(g, sources, **kw)
    if kind == "iter":
        return iter_many_to_all(g, sources, **kw)  # checked at the call, before any block
    return map_many_to_all(g, sources, _count_within, **kw)


BAD_OPTIONS = [
    ({"cutoff_s": -1.0}, "cutoff_s"),
    ({"cutoff_s": float("nan")}, "cutoff_s"),
    ({"direction": "sideways"}, "direction"),
    ({"method": "astar"}, "method"),
    ({"columns": "rank"}, "columns"),
]


@pytest.mark.parametrize("kind", ["many", "iter", "map"])
@pytest.mark.parametrize("sources", [[], [0, 2]], ids=["no sources", "two sources"])
@pytest.mark.parametrize(("bad", "name"), BAD_OPTIONS, ids=[b for _, b in BAD_OPTIONS])
def test_bad_options_are_refused_with_or_without_sources(kind, sources, bad, name):
    g = _line_graph()
    with pytest.raises(ValueError, match=name):
        _call(kind, g, sources, **bad)


@pytest.mark.parametrize("kind", ["iter", "map"])
@pytest.mark.parametrize("value", [1.5, 0, -2, True, "3", None])
def test_block_rows_must_be_a_positive_integer(kind, value):
    g = _line_graph()
    with pytest.raises(ValueError, match=r"block_rows must be an integer >= 1, got"):
        _call(kind, g, [0, 1, 2], block_rows=value)


@pytest.mark.parametrize("value", [1.5, 0, 65, True])
def test_batch_must_be_an_integer_from_1_to_64(value):
    with pytest.raises(ValueError, match=r"batch must be an integer 1\.\.64"):
        many_to_all(_line_graph(), [], batch=value)


def test_integer_block_rows_of_numpy_type_work_and_give_the_rows():
    g = _line_graph()
    src = [0, 5, 3]
    full = many_to_all(g, src)
    assert full[0].tolist() == [0.0, 10.0, 20.0, 30.0, 40.0, 50.0]  # by hand
    blocks = list(iter_many_to_all(g, src, block_rows=np.int64(2)))
    assert [s for s, _ in blocks] == [0, 2]
    assert np.array_equal(np.vstack([r for _, r in blocks]), full)
    got = map_many_to_all(g, src, _count_within, block_rows=np.int32(2), cutoff_s=20.0)
    assert np.concatenate(got).tolist() == [3, 3, 5]  # nodes within 20 s, by hand


class _InlineClient:
    """A stand-in for dask.distributed.Client that runs each task at once, in this process."""

    def __init__(self):
        self.scattered: list = []

    def scatter(self, items, broadcast=False):
        self.scattered.extend(items)
        return list(items)

    def submit(self, fn, *args, pure=True):
        return fn(*args)

    def gather(self, futures):
        return list(futures)


@pytest.mark.parametrize(
    ("method", "cutoff_s"), [("auto", None), ("auto", 20.0), ("dijkstra", None)]
)
def test_a_cluster_run_builds_no_hierarchy_the_local_run_would_not_use(
    monkeypatch, method, cutoff_s
):
    g = _line_graph()
    local = map_many_to_all(g, [0, 5, 3], _count_within, method=method, cutoff_s=cutoff_s)

    def refuse(*a, **k):
        raise AssertionError("a contraction hierarchy was built for a query that never uses it")

    monkeypatch.setattr(api, "prepare", refuse)
    client = _InlineClient()
    remote = map_many_to_all(
        g, [0, 5, 3], _count_within, method=method, cutoff_s=cutoff_s, block_rows=2,
        client=client,
    )
    assert np.array_equal(np.concatenate(remote), np.concatenate(local))
    assert [c.routing_index for c in client.scattered] == [None]
    assert g.routing_index is None  # the caller's network is not changed either


def test_a_cluster_run_sends_the_given_hierarchy_and_builds_one_only_for_method_ch(monkeypatch):
    g = _line_graph()
    local = np.concatenate(map_many_to_all(g, [0, 5], _count_within, method="ch"))
    assert local.tolist() == [6, 6]
    g = _line_graph()
    built = []
    real = api.prepare
    monkeypatch.setattr(api, "prepare", lambda net: built.append(net) or real(net))
    client = _InlineClient()
    remote = map_many_to_all(g, [0, 5], _count_within, method="ch", client=client)
    assert np.concatenate(remote).tolist() == [6, 6]
    assert len(built) == 1 and client.scattered[0].routing_index is not None
    # now attached: a second run (auto or ch) sends it and builds nothing
    client = _InlineClient()
    map_many_to_all(g, [0, 5], _count_within, method="auto", client=client)
    assert len(built) == 1 and client.scattered[0].routing_index is g.routing_index
    # no sources: nothing is built or sent
    client = _InlineClient()
    assert map_many_to_all(_line_graph(), [], _count_within, method="ch", client=client) == []
    assert len(built) == 1 and client.scattered == []
