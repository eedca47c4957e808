"""Labour-market regions on synthetic flows with known answers, and the LMA worked example."""

import numpy as np
import pandas as pd
import pytest

from smaby_geo.analysis.regions import (
    LMAParameters,
    calibrate_beta,
    delineate_ba,
    delineate_by_time,
    delineate_lma,
    flow_matrix,
    gravity_flows,
    lma_validity,
    read_commuting_table,
)

INF = np.inf


def two_towns():
    """A and B are towns; a1, a2 commute to A, b1 to B; I is an island with no route."""
    codes = ["0001", "0002", "0003", "0004", "0005", "0006"]  # A a1 a2 B b1 I
    T = np.array(
        [
            [900, 10, 5, 5, 0, 0],
            [150, 300, 20, 0, 0, 0],
            [100, 10, 250, 0, 0, 0],
            [5, 0, 0, 800, 20, 0],
            [0, 0, 0, 120, 250, 0],
            [0, 0, 0, 0, 0, 300],
        ],
        float,
    )
    c = np.array(
        [
            [5, 20, 25, 120, 130, INF],
            [20, 5, 15, 130, 140, INF],
            [25, 15, 5, 140, 150, INF],
            [120, 130, 140, 5, 25, INF],
            [130, 140, 150, 25, 5, INF],
            [INF, INF, INF, INF, INF, 5],
        ],
        float,
    )
    return codes, T, c


def test_ba_two_towns_and_an_island():
    codes, T, c = two_towns()
    mem, reg = delineate_ba(codes, T, c, ["0001", "0004"])
    m = mem.set_index("kommunenummer")
    assert m.loc[["0001", "0002", "0003"], "centre"].eq("0001").all()
    assert m.loc[["0004", "0005"], "centre"].eq("0004").all()
    assert m.loc["0006", "centre"] == "0006" and m.loc["0006", "step"] == "alone"
    assert m.loc["0002", "step"] == "R1"  # 150/480 = 31 % out-commuting within 75 min
    assert len(reg) == 3
    a = reg.set_index("region").loc[m.loc["0001", "region"]]
    inside = T[:3, :3].sum()
    assert a["self_containment"] == pytest.approx(
        min(inside / T[:3].sum(), inside / T[:, :3].sum())
    )


def test_ba_rules_in_order_r3_and_r4():
    codes = ["0001", "0002", "0003"]
    T = np.array([[100, 0, 0], [7, 93, 0], [0, 0, 100]], float)  # 7 % to centre: R3 not R2
    c = np.array([[1, 40, 29], [40, 1, 80], [29, 80, 1]], float)
    mem, _ = delineate_ba(codes, T, c, ["0001"])
    steps = mem.set_index("kommunenummer")["step"]
    assert steps["0002"] == "R3" and steps["0003"] == "R4"


def test_ba_second_pass_left_overs_anchor_neighbours():
    codes = ["0001", "0002", "0003"]
    T = np.array([[100, 0, 0], [0, 500, 0], [0, 60, 140]], float)
    c = np.array([[1, 200, 210], [200, 1, 20], [210, 20, 1]], float)
    mem, _ = delineate_ba(codes, T, c, ["0001"])
    m = mem.set_index("kommunenummer")
    assert m.loc["0002", "step"] == "alone" and m.loc["0003", "step"] == "pass2:R1"
    assert m.loc["0003", "centre"] == "0002"


def test_ba_non_contiguous_region_is_repaired():
    # 0003 commutes most to A (R1), but touches only B's kommuner: repaired into B
    codes = ["0001", "0002", "0003", "0004"]
    T = np.array([[500, 0, 0, 0], [0, 500, 0, 10], [40, 30, 200, 0], [0, 40, 0, 160]], float)
    c = np.array([[1, 60, 50, 70], [60, 1, 30, 20], [50, 30, 1, 25], [70, 20, 25, 1]], float)
    adj = np.zeros((4, 4), bool)
    for i, j in [(1, 2), (1, 3), (2, 3), (0, 1)]:
        adj[i, j] = adj[j, i] = True
    mem, _ = delineate_ba(codes, T, c, ["0001", "0002"], adjacency_matrix=adj)
    m = mem.set_index("kommunenummer")
    # without the adjacency, 0003 would join 0001 (largest out-commuting share)
    free, _ = delineate_ba(codes, T, c, ["0001", "0002"])
    assert free.set_index("kommunenummer").loc["0003", "centre"] == "0001"
    adj[0, 1] = adj[1, 0] = False
    adj[0, 2] = adj[2, 0] = False
    mem, _ = delineate_ba(codes, T, c, ["0001", "0002"], adjacency_matrix=adj)
    m = mem.set_index("kommunenummer")
    assert m.loc["0003", "centre"] == "0002" and m.loc["0003", "step"] == "contiguity"


def test_lma_validity_formula_by_hand():
    """Coombes & Bond (2008) validity, written out for one area.

    minSZ 1000, minSC 0.6667, tarSZ 10000, tarSC 0.75 (LabourMarketAreas example).
    Area with T_AA = 3000, R_A = 4000 residents in work, W_A = 3600 jobs:
    SC = min(3000/4000, 3000/3600) = 0.75; Y = min(0.75/0.75, 1) = 1;
    Z = 1 - (1 - 0.6667/0.75) * max((10000-4000)/(10000-1000), 0) = 1 - 0.11107 * 0.66667
      = 0.925956; V = 1 * 0.925956 * 0.75 / 0.6667 = 1.041648 -> valid.
    """
    p = LMAParameters(1000, 0.6667, 10000, 0.75)
    z = 1 - (1 - 0.6667 / 0.75) * (6000 / 9000)
    assert lma_validity(3000, 4000, 3600, p) == pytest.approx(z * 0.75 / 0.6667)
    assert lma_validity(3000, 4000, 3600, p) == pytest.approx(1.041648, abs=1e-6)
    # a small area with weak self-containment is invalid
    assert lma_validity(300, 800, 900, p) < 1


def test_lma_worked_example():
    """Three kommuner: X (town), Y (suburb of X), Z (remote, self-contained).

    Singletons: X: T_XX=5000, R=5200, W=6200 -> SC=min(.9615,.8065)=.8065, Y=1, Z=1 (R>tarSZ? no:
    R=5200 -> Z=1-.11107*(4800/9000)=.94076), V=.94076*.75/.6667=1.0583 valid.
    Y: T_YY=400, R=1500, W=500 -> SC=min(.2667,.8)=.2667 -> V=.3556*Z<1 invalid (least valid).
    Z: T_ZZ=1800, R=1900, W=1900 -> SC=.947, Y=1, Z=1-.11107*(8100/9000)=.90004, V=1.0125.
    Y is dissolved: cohesion with X = 1100^2/(1500*6200) + 100^2/(5200*500) = 0.134,
    with Z = 0 -> Y joins X. Then {X,Y}: T=6600, R=6700, W=6700, V>1; all valid: stop.
    """
    codes = ["0001", "0002", "0003"]
    T = np.array([[5000, 100, 100], [1100, 400, 0], [100, 0, 1800]], float)
    p = LMAParameters(1000, 0.6667, 10000, 0.75)
    R, W = T.sum(1), T.sum(0)
    V = lma_validity(np.diag(T), R, W, p)
    assert V[0] == pytest.approx(1.0583, abs=1e-3) and V[2] == pytest.approx(1.0125, abs=1e-3)
    assert V[1] < 1 and V.argmin() == 1
    mem, reg = delineate_lma(codes, T, params=p)
    m = mem.set_index("kommunenummer")
    assert m.loc["0002", "region"] == m.loc["0001", "region"]
    assert m.loc["0003", "region"] != m.loc["0001", "region"]
    assert (reg["validity"] >= 1).all() and len(reg) == 2


def test_lma_isolated_kommune_stays_alone():
    codes, T, _ = two_towns()
    mem, _ = delineate_lma(codes, T, params=LMAParameters(100, 0.6, 1000, 0.75))
    m = mem.set_index("kommunenummer")
    assert (m["region"] == m.loc["0006", "region"]).sum() == 1


def test_delineate_by_time():
    codes, _, c = two_towns()
    mem, _ = delineate_by_time(codes, None, c, ["0001", "0004"], max_minutes=30)
    m = mem.set_index("kommunenummer")
    assert m.loc["0003", "centre"] == "0001" and m.loc["0005", "centre"] == "0004"
    assert m.loc["0006", "step"] == "alone"


def test_gravity_model_meets_margins_and_calibrates():
    _, T, c = two_towns()
    res, D = T.sum(1), T.sum(0)
    G = gravity_flows(res, D, c, beta=0.05)
    assert np.allclose(G.sum(1), res, rtol=1e-3) and np.allclose(G.sum(0), D, rtol=1e-3)
    assert G[5, :5].sum() == 0  # no route, no flow
    b = calibrate_beta(res, D, c, mean_minutes=8.0)
    G = gravity_flows(res, D, c, beta=b)
    cf = np.where(np.isfinite(c), c, 0)
    assert (G * cf).sum() / G.sum() == pytest.approx(8.0, rel=1e-3)


def test_commuting_table_reader_ssb_layout(tmp_path):
    f = tmp_path / "03321.csv"
    f.write_text(
        '"bostedskommune";"arbeidsstedskommune";"år";"Sysselsatte personer"\n'
        '"3401 Kongsvinger";"3401 Kongsvinger";"2023";"6000"\n'
        '"K-3401 Kongsvinger";"0301 Oslo";"2023";"700"\n'
    )
    fl = read_commuting_table(f)
    assert fl["home"].tolist() == ["3401", "3401"] and fl["persons"].tolist() == [6000, 700]
    M = flow_matrix(fl, ["0301", "3401"])
    assert M[1, 0] == 700 and M[1, 1] == 6000


def test_bad_inputs():
    codes, T, c = two_towns()
    fl = pd.DataFrame({"home": ["0001", "9999"], "work": ["0001", "8888"], "persons": [1, 2]})
    with pytest.raises(ValueError, match=r"unknown kommune codes: \['8888', '9999'\]"):
        flow_matrix(fl, codes)
    fl = pd.DataFrame({"home": ["0001"], "work": ["0001"], "persons": [-1]})
    with pytest.raises(ValueError, match="negative"):
        flow_matrix(fl, codes)
    with pytest.raises(ValueError, match=r"unknown kommune codes: \['7777'\]"):
        delineate_ba(codes, T, c, ["0001", "7777"])
    with pytest.raises(ValueError, match="zero population"):
        delineate_ba(codes, T, c, ["0001"], population=[10, 0, 5, 5, 5, 5])
    with pytest.raises(ValueError, match="negative"):
        delineate_lma(codes, -T)
