"""The result of a run: values of every requested variable at the save times, for every member."""
from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class VariableMeta:
    name: str
    dims: tuple[str, ...]  # display names of the subscript ranges
    coords: tuple[tuple[str, ...], ...]  # display names of elements, per dimension
    units: str


@dataclass(repr=False)
class Result:
    """Values at the save times.

    ``data[name]`` has shape (time, *subscript shape, member). ``metadata`` records the model
    file hash, the parameters, the method, solver statistics and the seed.

    Where pysd returns a DataFrame, a single-member result answers like one: ``result[["A", "B"]]``
    is a DataFrame of those columns, ``result.loc[2030]``, ``result.head()``, ``result.plot()``
    and a notebook's display go through :meth:`to_frame`. ``result["A"]`` stays the array over
    (time, subscripts..., member), so ensembles keep their member axis.
    """

    times: np.ndarray
    data: Mapping[str, np.ndarray]
    meta: dict[str, VariableMeta]
    n_members: int
    metadata: dict = field(default_factory=dict)
    status: list = field(default_factory=list)

    def __getitem__(self, name):
        if isinstance(name, list):   # pandas' rule: a list of columns gives a DataFrame
            frame = self._single_frame(f"result[{name!r}]")
            return frame[[self._label(n, frame) for n in name]]
        return self.data[self._key(name)]

    def _label(self, name: str, frame) -> str:
        if name in frame.columns:
            return name
        return self._key(name)   # a variable's own name (normalised); KeyError with a suggestion

    def _single_frame(self, what: str) -> pd.DataFrame:
        if self.n_members != 1:
            raise ValueError(f"{what} needs a single run; this result has {self.n_members} members: "
                             "use to_frame(member=k) or to_xarray()")
        return self.to_frame()

    @property
    def loc(self):
        """``to_frame().loc`` of a single run: ``result.loc[2030, "A"]``, ``result.loc[2025:2030]``."""
        return self._single_frame("result.loc").loc

    def head(self, n: int = 5) -> pd.DataFrame:
        return self._single_frame("result.head()").head(n)

    def tail(self, n: int = 5) -> pd.DataFrame:
        return self._single_frame("result.tail()").tail(n)

    def plot(self, *args, **kwargs):
        """``to_frame().plot(...)`` of a single run (pandas' plotting, matplotlib axes)."""
        return self._single_frame("result.plot()").plot(*args, **kwargs)

    def __repr__(self) -> str:
        method = self.metadata.get("method", "?")
        return (f"<Result: {len(self.times)} times {self.times[0]:g}..{self.times[-1]:g}, "
                f"{len(self.data)} variables, {self.n_members} member(s), method {method}>"
                if len(self.times) else f"<Result: no times, {len(self.data)} variables>")

    def _repr_html_(self) -> str:
        if self.n_members != 1:
            return f"<pre>{self!r}</pre>"
        return self.to_frame()._repr_html_()

    def _key(self, name: str) -> str:
        if name in self.data:
            return name
        from .names import normalize, suggest
        norm = {normalize(k): k for k in self.data}
        if normalize(name) in norm:
            return norm[normalize(name)]
        raise KeyError(f"no output named {name!r}.{suggest(name, self.data)}")

    def columns(self, name: str) -> list[tuple[str, tuple]]:
        meta = self.meta[name]
        if not meta.dims:
            return [(name, ())]
        cols = []
        for cell in itertools.product(*[range(len(c)) for c in meta.coords]):
            label = ",".join(meta.coords[d][i] for d, i in enumerate(cell))
            cols.append((f"{name}[{label}]", cell))
        return cols

    def to_frame(self, member: int = 0) -> pd.DataFrame:
        """One member as a DataFrame: time index, Vensim names as columns (``name[elem]``)."""
        import pandas as pd

        if not -self.n_members <= member < self.n_members:
            raise IndexError(f"member {member} out of range; this result has {self.n_members} members")
        cols = {}
        for name, arr in self.data.items():
            for label, cell in self.columns(name):
                cols[label] = arr[(slice(None),) + cell + (member,)]
        df = pd.DataFrame(cols, index=pd.Index(self.times, name="time"))
        return df

    def to_xarray(self):
        """Every variable and member as an xarray Dataset (dims: time, subscripts..., member)."""
        import xarray as xr

        dvars = {}
        coords: dict[str, object] = {"time": self.times, "member": np.arange(self.n_members)}
        for name, arr in self.data.items():
            meta = self.meta[name]
            dims = ("time",) + meta.dims + ("member",)
            for d, c in zip(meta.dims, meta.coords):
                coords[d] = list(c)
            dvars[name] = xr.DataArray(arr, dims=dims, attrs={"units": meta.units})
        ds = xr.Dataset(dvars, coords=coords)
        ds.attrs.update({k: str(v) for k, v in self.metadata.items() if k != "params"})
        return ds

    def final(self, name: str) -> np.ndarray:
        """Values at the last save time, shape (*subscripts, member)."""
        return self[name][-1]

    def at(self, name: str, time: float) -> np.ndarray:
        i = int(np.argmin(np.abs(self.times - time)))
        if abs(self.times[i] - time) > 1e-9 * max(1.0, abs(time)):
            raise KeyError(f"time {time} is not a save time of this result")
        return self[name][i]
