"""XMILE as Vensim and Stella export it: each exporter habit normalised by the parsing layer, and
what cannot run (modules, per-element tables, unfinished variables) an error naming the line."""
from __future__ import annotations

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
    ("""            <aux name="per_element">
                <dimensions><dim name="P"/></dimensions>
                <element subscript="a"><gf><xscale min="0" max="1"/><ypts>0,1</ypts></gf></element>
                <element subscript="b"><gf><xscale min="0" max="1"/><ypts>1,0</ypts></gf></element>
                <eqn>Time</eqn>
            </aux>""", '<element subscript="a"><gf>',
     r"variable 'per_element': not supported: a graphical function per array element"),
])
def test_what_cannot_run_names_the_line(tmp_path, body, mark, pattern):
    path = _write(tmp_path, body)
    with pytest.raises(simulator.ModelLoadError, match=rf"^{path}: line {_line(path, mark)}\b.*{pattern}"):
        simulator.load(path)


def test_names_with_blanks_prefer_the_longest_name(tmp_path):
    body = """            <aux name="a_b"><eqn>1</eqn></aux>
            <aux name="a_b_c"><eqn>2</eqn></aux>
            <aux name="y"><eqn>a b c * 10 + a b</eqn></aux>"""
    f = simulator.load(_write(tmp_path, body)).run(method="euler").to_frame()
    np.testing.assert_array_equal(f["y"], 21.0)
