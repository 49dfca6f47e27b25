"""XMILE's PULSE and Vensim's GAME, against their definitions.

XMILE 1.0 (3.5.4): PULSE(magnitude, first[, interval]) is magnitude / DT during the one TIME STEP
at first, first + interval, ... (a single pulse when interval is omitted or 0), so a stock fed by
it rises by exactly magnitude per pulse. Stella's own output for a model using it is the
conformance case samples/bpowers-hares_and_lynxes_modules (tests/test_conformance_sdxorg.py).
A file that Vensim wrote keeps Vensim's PULSE(start, width). Vensim's reference: GAME(x) returns
x in a simulation (only an interactive game holds it); Vensim's output for it is tests/game.
"""
from __future__ import annotations

import numpy as np
import pytest
from conftest import eq

import simulator

XMILE = """<?xml version="1.0" encoding="utf-8"?>
<xmile xmlns="http://docs.oasis-open.org/xmile/ns/XMILE/v1.0" version="1.0">
    <header><vendor>{product}</vendor><product>{product}</product></header>
    <sim_specs method="Euler" time_units="Months"><start>0</start><stop>10</stop><dt>0.25</dt></sim_specs>
    <model>
        <variables>
            <stock name="received"><eqn>0</eqn><inflow>arriving</inflow></stock>
            <flow name="arriving"><eqn>{pulse}</eqn></flow>
        </variables>
    </model>
</xmile>
"""


def _run(tmp_path, pulse, product="test"):
    path = tmp_path / "pulse.xmile"
    path.write_text(XMILE.format(pulse=pulse, product=product), encoding="utf-8")
    return simulator.load(path).run(method="euler").to_frame()


def _pulses_before(t, first, interval):
    """How many pulses happened at times < t (the stock shows a pulse one DT later)."""
    if interval <= 0:
        return (t > first + 1e-9).astype(float)
    return np.where(t > first + 1e-9, np.floor((t - first - 1e-9) / interval) + 1, 0.0)


@pytest.mark.parametrize("pulse,first,interval", [("PULSE(5, 2)", 2.0, 0.0), ("PULSE(5, 2, 0)", 2.0, 0.0),
                                                  ("PULSE(5, 2, 3)", 2.0, 3.0), ("PULSE(5, 0, 2.5)", 0.0, 2.5)])
def test_xmile_pulse_adds_its_magnitude_per_pulse(tmp_path, pulse, first, interval):
    f = _run(tmp_path, pulse)
    t = f.index.to_numpy()
    np.testing.assert_allclose(f["received"], 5.0 * _pulses_before(t, first, interval), atol=1e-12)
    on = f["arriving"].to_numpy() != 0
    np.testing.assert_allclose(f["arriving"][on], 5.0 / 0.25)  # magnitude / DT, one step each
    assert on.sum() == _pulses_before(np.array([10.25]), first, interval)[0]


def test_pulse_in_a_file_vensim_wrote_is_vensims(tmp_path):
    # Vensim's PULSE(start, width): 1 from start for width, here 4 steps of 0.25 from t = 2
    f = _run(tmp_path, "PULSE(2, 1)", product="Vensim")
    np.testing.assert_array_equal(f["arriving"], ((f.index >= 2) & (f.index < 3)).astype(float))
    assert f["received"].iloc[-1] == pytest.approx(1.0)


def test_game_is_its_input_in_a_simulation(load_mdl):
    f = load_mdl(eq("c", "3") + eq("gamed", "GAME(s + c)") + eq("s", "INTEG(GAME(12), 0)"),
                 final_time=5, time_step=1).run(method="euler").to_frame()
    np.testing.assert_array_equal(f["s"], 12.0 * np.arange(6))
    np.testing.assert_array_equal(f["gamed"], 12.0 * np.arange(6) + 3.0)
