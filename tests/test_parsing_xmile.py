"""XMILE as Vensim and Stella export it: each exporter habit normalised by the parsing layer
(including Stella's modules and per-element tables), and what cannot run (nested modules,
unfinished variables) an error naming the line."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import simulator

XMILE = """<?xml version="1.0" encoding="utf-8"?>
<xmile xmlns="http://docs.oasis-open.org/xmile/ns/XMILE/v1.0" version="1.0">
    <header><vendor>test</vendor><product>test</product></header>
    <sim_specs method="Euler" time_units="Months">
        <start>0</start>
        <stop>4</stop>
        <dt>{dt}</dt>
    </sim_specs>
    <dimensions><dim name="P"><elem name="a"/><elem name="b"/></dim></dimensions>
    <model>
        <variables>
            <stock name="Level_of_stuff">
                <doc>Atmosphere & Upper Ocean</doc>
                <eqn>1</eqn>
                <inflow>{inflow}</inflow>
            </stock>
            <flow name="growth_flow">
                <eqn>{rate} * Level of stuff</eqn>
            </flow>
{body}
        </variables>
    </model>
</xmile>
"""


def _write(tmp_path, body="", *, dt="1", inflow="growth flow", rate="0.5 {a Stella comment}",
           suffix=".xmile"):
    path = tmp_path / f"m{suffix}"
    path.write_text(XMILE.format(body=body, dt=dt, inflow=inflow, rate=rate), encoding="utf-8")
    return path


def _line(path, text) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def test_vensim_and_stella_export_habits_are_read(tmp_path):
    # bare '&', names with blanks in equations, {comments}, <dt>TIME_STEP=1</dt>
    f = simulator.load(_write(tmp_path, dt="TIME_STEP=1")).run(method="euler").to_frame()
    np.testing.assert_allclose(f["Level_of_stuff"], 1.5 ** np.arange(5))
    np.testing.assert_array_equal(f["TIME STEP"], 1.0)


def test_points_win_over_a_degenerate_scale_and_an_aux_holding_a_table_is_a_lookup(tmp_path):
    body = """            <aux name="tbl">
                <gf><xscale min="0" max="10"/><ypts>0,10</ypts></gf>
            </aux>
            <aux name="y"><eqn>tbl(Time)</eqn></aux>
            <aux name="z">
                <eqn>Time</eqn>
                <gf><xpts>0,4</xpts><ypts>0,40</ypts><xscale min="0" max="0"/></gf>
            </aux>"""
    f = simulator.load(_write(tmp_path, body)).run(method="euler").to_frame()
    np.testing.assert_allclose(f["y"], f.index.to_numpy())
    np.testing.assert_allclose(f["z"], 10 * f.index.to_numpy())


@pytest.mark.parametrize("body, mark, pattern", [
    ('            <module name="hares"/>', "<module", r"not supported: XMILE module 'hares'"),
    ('            <aux name="unfinished"/>', 'name="unfinished"',
     r"variable 'unfinished': the <aux> has no equation"),
])
def test_what_cannot_run_names_the_line(tmp_path, body, mark, pattern):
    path = _write(tmp_path, body)
    with pytest.raises(simulator.ModelLoadError, match=rf"^{path}: line {_line(path, mark)}\b.*{pattern}"):
        simulator.load(path)


def test_a_graphical_function_per_array_element(tmp_path):
    # Stella: one input for the variable, one table per element; pysd alone would drop the tables
    body = """            <aux name="per element">
                <dimensions><dim name="P"/></dimensions>
                <element subscript="a"><gf><xscale min="0" max="4"/><ypts>0,40</ypts></gf></element>
                <element subscript="b"><eqn>4 - Time</eqn><gf><xscale min="0" max="4"/><ypts>8,0</ypts></gf></element>
                <eqn>Time</eqn>
            </aux>"""
    f = simulator.load(_write(tmp_path, body)).run(method="euler").to_frame()
    t = f.index.to_numpy()
    np.testing.assert_allclose(f["per element[a]"], 10 * t)      # the shared input, Time
    np.testing.assert_allclose(f["per element[b]"], 2 * t)       # its own input, 4 - Time


def test_names_with_blanks_prefer_the_longest_name(tmp_path):
    body = """            <aux name="a_b"><eqn>1</eqn></aux>
            <aux name="a_b_c"><eqn>2</eqn></aux>
            <aux name="y"><eqn>a b c * 10 + a b</eqn></aux>"""
    f = simulator.load(_write(tmp_path, body)).run(method="euler").to_frame()
    np.testing.assert_array_equal(f["y"], 21.0)


MODULES = """<?xml version="1.0" encoding="utf-8"?>
<xmile xmlns="http://docs.oasis-open.org/xmile/ns/XMILE/v1.0" version="1.0">
    <header><vendor>test</vendor><product>test</product></header>
    <sim_specs method="Euler" time_units="Months"><start>0</start><stop>4</stop><dt>0.5</dt></sim_specs>
    <model>
        <variables>
            <module name="tank">
                <connect to="tank.inflow_rate" from=".supply"/>
            </module>
            <module name="drain">
                <connect to="level_in" from="tank.level"/>
            </module>
            <aux name="supply"><eqn>2</eqn></aux>
            <aux name="report"><eqn>tank.level * 10</eqn></aux>
        </variables>
    </model>
    <model name="tank">
        <variables>
            <stock name="level"><eqn>1</eqn><inflow>filling</inflow></stock>
            <flow name="filling"><eqn>inflow_rate</eqn></flow>
            <aux name="inflow rate" access="input"><eqn>{Enter equation for use when not hooked up}</eqn></aux>
        </variables>
    </model>
    <model name="drain">
        <variables>
            <aux name="level_in" access="input"><eqn>0</eqn></aux>
            <aux name="half"><eqn>level_in / 2</eqn></aux>
        </variables>
    </model>
</xmile>
"""


def test_modules_are_flattened_into_named_copies(tmp_path):
    path = tmp_path / "modules.xmile"
    path.write_text(MODULES, encoding="utf-8")
    f = simulator.load(path).run(method="euler").to_frame()
    t = f.index.to_numpy()
    np.testing.assert_allclose(f["tank.level"], 1 + 2 * t)      # wired to the main model's supply
    np.testing.assert_allclose(f["drain.half"], (1 + 2 * t) / 2)  # wired to the other module
    np.testing.assert_allclose(f["report"], 10 * (1 + 2 * t))     # tank.level read in the main model
    assert "tank.inflow rate" not in f.columns and "drain.level_in" not in f.columns


def test_a_module_inside_a_module_names_its_line(tmp_path):
    text = MODULES.replace('<aux name="half">', '<module name="deeper"/>\n            <aux name="half">')
    path = tmp_path / "nested.xmile"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(simulator.ModelLoadError,
                       match=rf"line {_line(path, 'deeper')}: not supported: a module inside the module 'drain'"):
        simulator.load(path)


@pytest.mark.slow
def test_the_published_module_sample_through_pysd_matches_stella():
    """SDXorg's hares-and-lynxes modules sample: flattened, pysd reproduces Stella's output.
    (The engine stops on XMILE's PULSE, which it does not implement yet.)"""
    import pandas as pd

    from simulator.conformance import run_pysd

    pytest.importorskip("pysd")
    folder = Path(__file__).parent / "sdxorg" / "samples" / "bpowers-hares_and_lynxes_modules"
    ours = run_pysd(folder / "model.xmile")
    ref = pd.read_csv(folder / "output.csv", index_col=0)
    ours.columns = [c.replace(" ", "_") for c in ours.columns]
    for col in ref.columns:
        got = ours[col.replace(" ", "_")].reindex(ref.index).to_numpy(float)
        np.testing.assert_allclose(got, ref[col].to_numpy(float), rtol=1e-6, err_msg=col)


def test_vensims_smooth_names_are_xmiles(tmp_path):
    body = """            <aux name="input"><eqn>4</eqn></aux>
            <aux name="s"><eqn>SMOOTHI(input, 2, 0)</eqn></aux>
            <aux name="s3"><eqn>smooth3(input, 3)</eqn></aux>"""
    f = simulator.load(_write(tmp_path, body)).run(method="euler").to_frame()
    np.testing.assert_allclose(f["s"], 4 * (1 - 0.5 ** np.arange(5)))
    np.testing.assert_allclose(f["s3"], 4.0)
