"""Where chunks run: this process, a Dask LocalCluster, or an existing Dask scheduler.

An ``Executor`` maps a pure chunk function over chunks and yields each result with its chunk
index as it arrives; the caller puts it in place, so a distributed ensemble equals the
single-process one whatever order chunks finish in, and only one chunk's result waits in memory.
Workers receive the model *file* (``ModelRef``, scattered once) and load it themselves, once per
process; chunks then carry only their samples.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import SensitivityError


@dataclass(frozen=True)
class Compute:
    """Where to run: nothing set = this process; ``workers=K`` = a LocalCluster of K worker
    processes (one thread each) started for the call; ``scheduler="tcp://host:8786"`` = an existing
    cluster. ``processes=False`` runs LocalCluster workers as threads (quick start, for tests)."""

    workers: int | None = None
    scheduler: str | None = None
    processes: bool = True

    def __post_init__(self):
        if self.workers is not None and self.scheduler is not None:
            raise SensitivityError("give either workers or scheduler, not both")
        if self.workers is not None and not (isinstance(self.workers, int) and self.workers > 0):
            raise SensitivityError(f"workers must be a positive integer, got {self.workers!r}")

    @property
    def description(self) -> str:
        if self.scheduler:
            return f"dask scheduler {self.scheduler}"
        if self.workers:
            return f"dask LocalCluster, {self.workers} {'processes' if self.processes else 'threads'}"
        return "single process"


class Executor:
    """Runs chunks in this process, one after the other."""

    description = "single process"

    def map_chunks(self, fn: Callable, model, job, shared, chunks: Sequence) -> Iterator[tuple[int, object]]:
        """Yield ``(chunk index, fn(model, job, shared, chunk))`` as chunks finish (in any order).

        An exception is raised for the first failing chunk *in chunk order*, as a loop would.
        """
        for i, chunk in enumerate(chunks):
            yield i, fn(model, job, shared, chunk)


@dataclass(frozen=True)
class ModelRef:
    """What a worker needs to load the same model: its path, content hash and file content.

    Workers load models themselves instead of receiving the pickled object: a loaded model holds
    compiled code (and caches) that need not survive pickling, while the file always does.
    """

    path: str
    sha256: str
    content: bytes

    @classmethod
    def of(cls, model) -> ModelRef:
        path = Path(model.path)
        content = path.read_bytes()
        if hashlib.sha256(content).hexdigest() != model.sha256:
            raise SensitivityError(f"{path}: the file changed since the model was loaded; load it again")
        return cls(str(path), model.sha256, content)


_LOADED: dict[str, object] = {}  # per worker process: content hash -> loaded model (immutable)


def load_ref(ref: ModelRef):
    """The model of ``ref`` in this process: from its path when the file there is the same, else
    from a private copy of the content (a remote worker that cannot see the caller's files)."""
    model = _LOADED.get(ref.sha256)
    if model is None:
        import simulator

        path = Path(ref.path)
        if not (path.is_file() and hashlib.sha256(path.read_bytes()).hexdigest() == ref.sha256):
            path = Path(tempfile.mkdtemp(prefix="innosim-")) / path.name
            path.write_bytes(ref.content)
        model = _LOADED[ref.sha256] = simulator.load(path)
    return model


def _run_on_worker(fn, ref: ModelRef, job, shared, chunk):
    return fn(load_ref(ref), job, shared, chunk)


class DaskExecutor(Executor):
    """Runs chunks on a ``distributed.Client``."""

    def __init__(self, client, description: str):
        self.client = client
        self.description = description
        self._refs: dict[str, object] = {}

    def _model_future(self, model):
        key = model.sha256
        if key not in self._refs:
            self._refs[key] = self.client.scatter(ModelRef.of(model), broadcast=True, hash=False)
        return self._refs[key]

    def map_chunks(self, fn, model, job, shared, chunks):
        """Like ``Executor.map_chunks``, with the chunks spread over the cluster's workers."""
        from distributed import as_completed

        ref = self._model_future(model)
        futures = [self.client.submit(_run_on_worker, fn, ref, job, shared, chunk, pure=False) for chunk in chunks]
        index = {f.key: i for i, f in enumerate(futures)}
        first_error = None
        for fut in as_completed(futures):
            i = index[fut.key]
            if fut.status == "error":
                if first_error is None or i < first_error:
                    # a single process would fail at the first failing chunk: later ones can stop
                    first_error = i
                    self.client.cancel([f for f in futures[i + 1:] if f is not None])
            elif fut.status == "finished":
                futures[i] = None  # once yielded, the cluster may forget the chunk's result
                yield i, fut.result()
        if first_error is not None:
            futures[first_error].result()  # re-raises the worker's exception here


@contextlib.contextmanager
def executor(compute: Compute | Executor | None = None) -> Iterator[Executor]:
    """An executor for ``compute``; a LocalCluster or client it starts is closed on exit."""
    if isinstance(compute, Executor):
        yield compute
        return
    compute = compute or Compute()
    if compute.workers is None and compute.scheduler is None:
        yield Executor()
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError:  # pragma: no cover - depends on the installation
        raise SensitivityError("workers/scheduler need dask.distributed: pip install 'dask[distributed]'") from None
    if compute.scheduler is not None:
        try:
            client = Client(compute.scheduler, timeout="10s")
        except OSError as exc:
            raise SensitivityError(f"cannot reach the Dask scheduler at {compute.scheduler}: {exc}") from None
        try:
            yield DaskExecutor(client, compute.description)
        finally:
            client.close()
        return
    import dask

    # Dask's default MALLOC_TRIM_THRESHOLD_=65536 makes glibc hand memory back after every burst
    # of temporaries; the numpy engine allocates such bursts at every step and runs ~4x slower.
    # One numba thread per worker: the workers already are the parallelism. It must be in the
    # worker's environment from birth (numba sizes its pool at import), so it is a pre-spawn
    # variable; the nanny writes those into *this* process's os.environ, where numba would refuse
    # every later compile once its own pool had started, so this process's value is put back.
    environ = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
               "distributed.nanny.pre-spawn-environ.NUMBA_NUM_THREADS": 1}
    kept = os.environ.get("NUMBA_NUM_THREADS")
    try:
        with dask.config.set(environ):
            cluster = LocalCluster(n_workers=compute.workers, threads_per_worker=1,
                                   processes=compute.processes, dashboard_address=None)
    finally:
        _put_back("NUMBA_NUM_THREADS", kept)
    client = Client(cluster)
    try:
        yield DaskExecutor(client, compute.description)
    finally:
        client.close()
        cluster.close()
        _put_back("NUMBA_NUM_THREADS", kept)  # a nanny that restarted a worker wrote it again


def _put_back(name: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value
