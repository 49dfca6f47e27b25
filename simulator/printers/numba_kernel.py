"""The frame of a numba kernel (the time loop, RK4 stages, saving, drivers) and its safety check."""
from __future__ import annotations

import io
import re
import tokenize
from collections.abc import Sequence

CHUNK = 16  # members per output buffer in the parallel driver
ARGS = ("yinit, wshared, wpm, wpmrow, tabx, taby, taboff, serx, sery, sermeta, act_row, act_ser, "
        "t0, dt, nsteps, rk, check, strict, save_at, save_t, colmap, out")


def _block(lines, depth):
    return ["    " * depth + ln for ln in lines]


def assemble(header: str, n: int, heads: list, arrays: list, nvals: int, parts: tuple,
             tables: Sequence[str] = ()) -> str:
    """The kernel module: ``member`` runs one ensemble member from the initial state to the end,
    ``run_serial``/``run_parallel`` run every member.

    heads: tables whose bounds are read into locals; arrays: (name, size) of the subscripted
    dynamic auxiliaries; nvals: cells saved; parts: the code of the initial values (run when
    ``initial``, which a prepared runner calls instead of the numpy init; numba compiles it only
    then), of the slow values, of one evaluation, of the end of a step and of the copy of every
    cell into ``vals``. tables: module-level constant arrays the code reads (numba freezes them
    into the machine code).
    """
    init, slow, body, clip, writes = parts
    L = [header, "import numpy as np", "from numba import njit, prange", "",
         "from simulator.printers import numba_rt as rtf", "", *tables,
         "", "@njit(cache=True, error_model='numpy', nogil=True)", f"def member(m, mo, {ARGS}):"]
    head = ["nrows = wshared.shape[0]", "w = np.empty(max(nrows, 1))",
            "for r in range(nrows):", "    q = wpmrow[r]",
            "    w[r] = wshared[r] if q < 0 else wpm[q, m]",
            "wb = w.copy()", "nact = act_row.shape[0]"]
    for t in heads:
        head += [f"tl{t} = taboff[{t}]", f"th{t} = taboff[{t + 1}]"]
    # the subscripted dynamic auxiliaries are views of one buffer ``ab``, so that saving them is
    # one loop over a table (``asave``) rather than a loop per variable
    head += [f"ab = np.empty({max(sum(size for _, size in arrays), 1)})"]
    head += [f"{name} = ab[{lo}:{lo + size}]" for (name, size), lo in zip(arrays, buffer_offsets(arrays))]
    head += [f"y = np.empty({n})", f"x = np.empty({n})", f"d = np.zeros({n})", f"k1 = np.zeros({n})",
             f"k2 = np.zeros({n})", f"k3 = np.zeros({n})", f"u = np.empty({n})",
             f"vals = np.empty({max(nvals, 1)})",
             f"for j in range({n}):", "    y[j] = yinit[j, m]",
             "nsv = save_at.shape[0]", "k = 0", "pos = 0", "stage = 0", "saving = False", "t = t0", "tt = t0"]
    loop = ["if stage == 0:",
            "    t = t0 + k * dt",
            "    if pos < nsv and save_at[pos] == k:",
            "        saving = True",
            "        tt = save_t[pos]",
            "    else:",
            "        if k == nsteps or pos >= nsv:",
            "            break",
            "        tt = t",
            f"    for j in range({n}):", "        x[j] = y[j]",
            "elif stage == 3:", "    tt = t + dt",
            f"    for j in range({n}):", "        x[j] = y[j] + dt * d[j]",
            "else:", "    tt = t + dt / 2",
            f"    for j in range({n}):", "        x[j] = y[j] + dt / 2 * d[j]",
            # constants that follow a time series in this call, then what depends on them
            "if nact > 0:",
            "    for q in range(nact):",
            "        r = act_row[q]",
            "        w[r] = rtf.series(tt, m, wb[r], act_ser[q], serx, sery, sermeta)"]
    loop += _block(slow, 1)
    loop += body
    loop += ["if saving:", "    saving = False"]
    loop += _block(writes, 1)
    loop += [f"    for q in range({nvals}):",
             "        if colmap[q] >= 0:", "            out[pos, colmap[q], mo] = vals[q]",
             "    pos += 1",
             "    if pos < nsv and save_at[pos] == k:", "        continue",
             "    if k == nsteps or pos >= nsv:", "        break",
             "    if tt != t:", "        continue",
             "if stage == 0 and check:",
             f"    for j in range({n}):", "        if d[j] - d[j] != 0.0 and (strict[j] or d[j] == d[j]):",
             "            return 1",
             "if rk:",
             "    if stage < 3:",
             f"        for j in range({n}):",
             "            if stage == 0:", "                k1[j] = d[j]",
             "            elif stage == 1:", "                k2[j] = d[j]",
             "            else:", "                k3[j] = d[j]",
             "        stage += 1", "        continue",
             f"    for j in range({n}):",
             "        y[j] = y[j] + dt / 6 * (k1[j] + 2 * k2[j] + 2 * k3[j] + d[j])",
             "    stage = 0",
             "else:",
             f"    for j in range({n}):", "        y[j] = y[j] + dt * d[j]"]
    loop += clip
    loop += ["if check:", f"    for j in range({n}):", "        if y[j] - y[j] != 0.0 and (strict[j] or y[j] == y[j]):",
             "            return 1", "k += 1"]
    L += _block(head, 1) + ["    while True:"] + _block(loop, 2) + ["    return 0", ""]
    # one member's initial state and slow values (``w`` in place), from its constants in ``w``
    first = ["wb = w.copy()", "tt = t0", "m = 0"]
    first += [f"tl{t} = taboff[{t}]\n    th{t} = taboff[{t + 1}]" for t in heads]
    first += [f"{name} = np.empty({size})" for name, size in arrays]
    first += [f"x = np.empty({n})", "for q in range(act_row.shape[0]):",
              "    w[act_row[q]] = rtf.series(tt, m, wb[act_row[q]], act_ser[q], serx, sery, sermeta)"]
    first += init
    first += ["for q in range(act_row.shape[0]):", "    w[act_row[q]] = wb[act_row[q]]",
              f"for j in range({n}):", "    yinit[j, 0] = x[j]", "return 0"]
    L += ["", "@njit(cache=True, error_model='numpy', nogil=True)",
          "def initial(w, tabx, taby, taboff, serx, sery, sermeta, act_row, act_ser, t0, dt, yinit):"]
    L += _block(first, 1) + [""]
    L += ["", "@njit(cache=True, nogil=True)", f"def run_serial({ARGS}, bad):",
          "    for m in range(bad.shape[0]):",
          f"        bad[m] = member(m, m, {ARGS})", ""]
    # members in chunks: each thread writes a chunk's outputs to a small buffer first, so that
    # the member-last output array is written in runs, not one scattered value at a time
    chunked = ARGS.replace("out", "buf")
    L += ["", "@njit(cache=True, nogil=True, parallel=True)", f"def run_parallel({ARGS}, bad):",
          "    nm = bad.shape[0]",
          f"    for c in prange((nm + {CHUNK - 1}) // {CHUNK}):",
          f"        m0 = c * {CHUNK}",
          f"        m1 = min(nm, m0 + {CHUNK})",
          f"        buf = np.empty((out.shape[0], out.shape[1], {CHUNK}))",
          "        for m in range(m0, m1):",
          f"            bad[m] = member(np.int64(m), np.int64(m - m0), {chunked})",
          "        out[:, :, m0:m1] = buf[:, :, :m1 - m0]", ""]
    return "\n".join(L)


_ENGINE_NAME = re.compile(r"^(?:v\d+(?:_\d+)?|t[lh]\d+|[is]\d+)$")
_ALLOWED_NAMES = frozenset("""
    import numpy as np from numba njit prange simulator printers numba_rt rtf cache error_model nogil
    parallel True False def for in range if elif else while break continue return and or not max copy
    shape int64 empty zeros member run_serial run_parallel m yinit wshared wpm wpmrow tabx taby taboff serx
    sery sermeta act_row act_ser initial t0 dt nsteps rk check strict save_at save_t colmap out bad nrows w wb nact r q y
    x d j k1 k2 k3 u vals nsv k pos stage saving t tt abs mo nm c m0 m1 buf min nan inf exp sqrt log sin cos
    tan arcsin arccos arctan sinh cosh tanh trunc fmin fmax pymod interp extrapolate hold_backward
    look_forward raw series square powlog array wsave ab asave""".split())
_ALLOWED_STRINGS = frozenset({"'numpy'"})


def buffer_offsets(arrays: list) -> list[int]:
    """Where each of ``arrays`` (name, size) starts in the buffer ``ab`` of ``member``."""
    offsets, lo = [], 0
    for _, size in arrays:
        offsets.append(lo)
        lo += size
    return offsets


class UnsafeSource(Exception):
    """Generated text holds something that is not engine-made."""


def check_source(src: str) -> None:
    """Refuse generated text holding anything but engine-made names, numbers and our operators."""
    toks = tokenize.generate_tokens(io.StringIO(src).readline)
    for tok in toks:
        if tok.type == tokenize.NAME and tok.string not in _ALLOWED_NAMES and not _ENGINE_NAME.match(tok.string):
            raise UnsafeSource(f"internal: unexpected name {tok.string!r} in generated code")
        if tok.type == tokenize.STRING and tok.string not in _ALLOWED_STRINGS:
            raise UnsafeSource("internal: unexpected string in generated code")
        if tok.type == tokenize.COMMENT and not re.fullmatch(r"# [0-9a-z ;:.,_/()-]*", tok.string):
            raise UnsafeSource("internal: unexpected comment in generated code")
