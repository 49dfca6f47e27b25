"""Ensemble runner: N members as a few vectorised integrations, chunked to bound memory.

All N samples exist before the first run; they are split into fixed chunks of ``chunk_size``
members and every chunk is a pure function of (model, chunk samples, shared parameters, job).
Chunks can therefore run in any order, in any process (see ``distributed``), and the assembled
result is the same. With a fixed-step method (euler, rk4) a member's trajectory does not depend
on its neighbours, so a chunked run equals an unchunked one bit for bit. Adaptive methods pick
their steps from the whole chunk, so there the result depends on ``chunk_size`` within solver
tolerance (but never on the number of workers).
"""
from __future__ import annotations

import math
import sys
import time as _time
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr

from simulator import RunOptions
from simulator.errors import NonFiniteError
from simulator.names import normalize, suggest

from .distributed import Compute, Executor, executor
from .errors import SensitivityError

DEFAULT_YEAR = 2035.0


@dataclass(frozen=True)
class EnsembleOptions:
    """What to run and keep.

    outputs: variables kept (memory grows with outputs × kept times × members); at least one is
        needed to run (a :class:`sensitivity.Study` sets them from its KPIs).
    times: save times kept (model time units, e.g. years); None keeps every save time.
    method: integration method of ``Model.run`` ("euler" by default: fixed steps at TIME STEP).
    run_options: ``simulator.RunOptions`` (tolerances, TIME STEP, FINAL TIME overrides).
    chunk_size: members per vectorised run.
    progress: tqdm bar; None shows it when there is more than one chunk and stderr is a terminal.
    noise_seed: seed of the model's own RANDOM functions (the same for every chunk).
    """

    outputs: tuple[str, ...] = ()
    times: tuple[float, ...] | None = None
    method: str = "euler"
    run_options: RunOptions | None = None
    chunk_size: int = 5000
    progress: bool | None = None
    noise_seed: int = 0

    def __post_init__(self):
        object.__setattr__(self, "outputs", tuple(self.outputs))
        if self.times is not None:
            object.__setattr__(self, "times", tuple(float(t) for t in np.atleast_1d(self.times)))
        if not (isinstance(self.chunk_size, int) and self.chunk_size > 0):
            raise SensitivityError(f"EnsembleOptions.chunk_size must be a positive integer, got {self.chunk_size!r}")


@dataclass(frozen=True)
class ChunkJob:
    """The part of a run that every chunk shares; small and picklable."""

    outputs: tuple[str, ...]
    time_index: tuple[int, ...] | None
    method: str
    run_options: RunOptions | None
    noise_seed: int


@dataclass(frozen=True)
class Chunk:
    """Members ``start .. start + size - 1`` of an ensemble: their sampled parameters (arrays of ``size``)."""

    start: int
    size: int
    params: dict


def run_chunk(model, job: ChunkJob, shared: Mapping, chunk: Chunk) -> dict[str, np.ndarray]:
    """Run one chunk: ``{output: array (kept time, *subscripts, member)}``. A pure function.

    A member that turns non-finite is reported by its ensemble member number.
    """
    params = {k: v for k, v in shared.items() if k not in chunk.params}
    params.update({k: np.asarray(v, dtype=float) for k, v in chunk.params.items()})
    try:
        res = model.run(params, method=job.method, options=job.run_options, outputs=list(job.outputs),
                        seed=job.noise_seed)
    except NonFiniteError as exc:
        member = chunk.start + exc.member
        raise NonFiniteError(f"{exc} [ensemble member {member}]", variable=exc.variable, member=member,
                             time=exc.time) from None
    out = {}
    for name in job.outputs:
        arr = res[name]
        if job.time_index is not None:
            arr = arr[list(job.time_index)]
        if arr.shape[-1] != chunk.size:  # nothing sampled: every member is the same run
            arr = np.repeat(arr[..., :1], chunk.size, axis=-1)
        out[name] = np.ascontiguousarray(arr)
    return out


@dataclass(frozen=True)
class Ensemble:
    """Outputs of N members with the samples that produced them.

    dataset: xarray Dataset, dims (member, time, *subscripts), one data variable per output.
    samples: DataFrame member × uncertain parameter (empty columns when nothing was sampled).
    metadata: model path and hash, method, seed, chunking, compute, seconds.
    """

    dataset: xr.Dataset
    samples: pd.DataFrame
    metadata: dict = field(default_factory=dict)

    @property
    def n_members(self) -> int:
        return int(self.dataset.sizes["member"])

    @property
    def times(self) -> np.ndarray:
        return self.dataset["time"].to_numpy()

    def to_xarray(self) -> xr.Dataset:
        """The outputs as an xarray Dataset (the same object as ``dataset``)."""
        return self.dataset

    def values(self, output: str, time: float) -> np.ndarray:
        """One output (``"Name"`` or ``"Name[elem]"``) at one save time: shape (member,)."""
        da = self._cell(output)
        t = self.times
        i = int(np.argmin(np.abs(t - time)))
        if abs(t[i] - time) > 1e-9 * max(1.0, abs(time)):
            raise SensitivityError(f"time {time:g} was not kept; kept times are {_span(t)}")
        return da.isel(time=i).to_numpy()

    def series(self, output: str) -> np.ndarray:
        """One scalar output (or cell) over time: shape (member, time)."""
        return self._cell(output).to_numpy()

    def _cell(self, output: str):
        base, elems = output, None
        if output.endswith("]") and "[" in output:
            base, _, inner = output[:-1].partition("[")
            elems = [e.strip() for e in inner.split(",")]
        names = {normalize(n): n for n in self.dataset.data_vars}
        if normalize(base) not in names:
            raise SensitivityError(f"output {base!r} was not kept; kept: {', '.join(self.dataset.data_vars)}")
        da = self.dataset[names[normalize(base)]]
        sub = [d for d in da.dims if d not in ("member", "time")]
        if elems is None:
            if sub:
                raise SensitivityError(f"{base!r} is subscripted by {sub}; name a cell, e.g. "
                                       f"'{base}[{da[sub[0]].values[0]}]'")
            return da
        if len(elems) != len(sub):
            raise SensitivityError(f"{output!r}: {base!r} has {len(sub)} subscripts")
        sel = {}
        for d, e in zip(sub, elems):
            options = {normalize(str(x)): x for x in da[d].values}
            if normalize(e) not in options:
                raise SensitivityError(f"{output!r}: {e!r} is not an element of {d!r}")
            sel[d] = options[normalize(e)]
        return da.sel(sel)

    def to_frame(self) -> pd.DataFrame:
        """Tidy table: member, time, variable (``Name`` or ``Name[elem]``), value."""
        frames = []
        for name, da in self.dataset.data_vars.items():
            sub = [d for d in da.dims if d not in ("member", "time")]
            s = da.to_series()
            df = s.rename("value").reset_index()
            if sub:
                labels = df[sub].astype(str).agg(",".join, axis=1)
                df = df.drop(columns=sub).assign(variable=name + "[" + labels + "]")
            else:
                df = df.assign(variable=name)
            frames.append(df[["member", "time", "variable", "value"]])
        return pd.concat(frames, ignore_index=True)


def _span(t) -> str:
    t = np.asarray(t)
    return f"{t[0]:g}..{t[-1]:g}" if len(t) else "none"


def save_times(model, options: RunOptions | None) -> np.ndarray:
    """The save times a run of ``model`` with ``options`` produces (model time units)."""
    ctl = dict(model.control)
    if options is not None:
        for key in ("initial_time", "final_time", "saveper"):
            if getattr(options, key) is not None:
                ctl[key] = getattr(options, key)
    t0, tf, step = ctl["initial_time"], ctl["final_time"], ctl["saveper"]
    return t0 + step * np.arange(int(math.floor((tf - t0) / step + 1e-9)) + 1)


def time_index(all_times: np.ndarray, wanted) -> tuple[int, ...] | None:
    """Positions of ``wanted`` among the save times; SensitivityError naming the missing ones."""
    if wanted is None:
        return None
    idx, missing = [], []
    for t in wanted:
        i = int(np.argmin(np.abs(all_times - t)))
        if abs(all_times[i] - t) > 1e-9 * max(1.0, abs(t)):
            missing.append(t)
        idx.append(i)
    if missing:
        raise SensitivityError(f"time(s) {', '.join(f'{t:g}' for t in missing)} are not save times of the "
                               f"model (save times {_span(all_times)} every {all_times[1] - all_times[0]:g})"
                               if len(all_times) > 1 else f"time(s) {missing} are not save times")
    return tuple(idx)


def as_samples(samples) -> pd.DataFrame:
    """A DataFrame (member × parameter) from a DataFrame or a mapping name -> 1-D array."""
    if isinstance(samples, pd.DataFrame):
        df = samples.reset_index(drop=True)
    elif isinstance(samples, Mapping):
        lengths = {k: np.ndim(v) and len(v) for k, v in samples.items()}
        if any(np.ndim(v) != 1 for v in samples.values()) or len(set(lengths.values())) > 1:
            raise SensitivityError(f"samples must be 1-D arrays of one length each, got lengths {lengths}")
        df = pd.DataFrame({k: np.asarray(v, dtype=float) for k, v in samples.items()})
    else:
        raise SensitivityError(f"samples must be a DataFrame or a mapping, got {type(samples).__name__}")
    if len(df) == 0:
        raise SensitivityError("samples: need at least one member")
    df.index = pd.RangeIndex(len(df), name="member")
    return df


def run_ensemble(model, samples, *, params: Mapping | None = None, options: EnsembleOptions | None = None,
                 compute: Compute | Executor | None = None) -> Ensemble:
    """Run one member per row of ``samples`` (DataFrame or mapping name -> array of N values).

    params: shared parameters of every member (a scenario's levers and shocks; numbers or time
        series). A parameter present in both takes the member's sampled value.
    compute: ``Compute(workers=K)`` / ``Compute(scheduler="tcp://...")`` for Dask, or an open
        ``Executor`` (reuse one cluster for several ensembles); default: this process.
    """
    options = options or EnsembleOptions()
    if not options.outputs:
        raise SensitivityError("EnsembleOptions.outputs: name at least one output to keep")
    samples = as_samples(samples)
    n = len(samples)
    started = _time.perf_counter()
    variables = model.variables
    for name in options.outputs:
        _lookup(variables, name)
    kept = save_times(model, options.run_options)
    tidx = time_index(kept, options.times)
    if tidx is not None:
        kept = kept[list(tidx)]
    job = ChunkJob(options.outputs, tidx, options.method, options.run_options, options.noise_seed)
    shared = dict(params or {})
    bounds = [(a, min(a + options.chunk_size, n)) for a in range(0, n, options.chunk_size)]
    columns = {k: samples[k].to_numpy() for k in samples.columns}
    chunks = [Chunk(a, b - a, {k: v[a:b] for k, v in columns.items()}) for a, b in bounds]
    bar = _progress(options.progress, n, len(chunks))
    arrays: dict[str, np.ndarray] = {}
    try:
        with executor(compute) as ex:
            for i, part in ex.map_chunks(run_chunk, model, job, shared, chunks):
                a = chunks[i].start
                for name in options.outputs:
                    if name not in arrays:
                        arrays[name] = np.empty((n,) + part[name].shape[:-1])
                    arrays[name][a:a + chunks[i].size] = np.moveaxis(part[name], -1, 0)
                if bar is not None:
                    bar.update(chunks[i].size)
            description = ex.description
    finally:
        if bar is not None:
            bar.close()
    dataset = _dataset(variables, model.subscripts, arrays, kept, options.outputs, n)
    meta = {
        "model": str(getattr(model, "path", "")), "model_sha256": getattr(model, "sha256", ""),
        "method": options.method, "members": n, "chunk_size": options.chunk_size, "chunks": len(chunks),
        "noise_seed": options.noise_seed, "outputs": list(options.outputs),
        "uncertain": list(samples.columns), "shared_params": sorted(shared),
        "compute": description,
        "seconds": _time.perf_counter() - started,
    }
    dataset.attrs.update({k: str(v) for k, v in meta.items()})
    return Ensemble(dataset, samples, meta)


def _progress(progress, n, n_chunks):
    if progress is False or (progress is None and (n_chunks < 2 or not sys.stderr.isatty())):
        return None
    from tqdm.auto import tqdm

    return tqdm(total=n, unit="member", desc="ensemble", file=sys.stderr)


def _dataset(variables, subscripts, arrays, kept, outputs, n) -> xr.Dataset:
    coords = {"member": np.arange(n), "time": kept}
    dvars = {}
    for name in outputs:
        var = _lookup(variables, name)
        for d in var.dims:
            coords[d] = list(subscripts[d])
        dvars[var.name] = xr.DataArray(arrays[name], dims=("member", "time") + tuple(var.dims),
                                       attrs={"units": var.units})
    return xr.Dataset(dvars, coords=coords)


def _lookup(variables, name):
    norm = {normalize(k): v for k, v in variables.items()}
    var = norm.get(normalize(name))
    if var is None:
        raise SensitivityError(f"no output named {name!r}.{suggest(name, variables)}")
    return var
