"""The simulation engine: one function run over replication indices, locally or on a Dask cluster.

The Monte Carlo studies (truth recovery, power) are embarrassingly parallel: replication r draws
its own data set and runs the estimators on it. The function given is called as `fn(r)` and must
seed everything from r alone, so a replication's result does not depend on the worker that ran
it, on the order replications finish, or on how many run at once; the results are collected in
index order. Three ways to run, one code path:

- `jobs=1`: in this process, in index order;
- `jobs=N`: N local processes through joblib's loky backend (which pickles `fn` with cloudpickle,
  reuses its workers between calls, and re-raises a worker's exception here);
- `scheduler="tcp://HOST:PORT"` (or a `distributed.Client`): the workers of a dask.distributed
  cluster; they must be able to import `ztown` (the same environment as here).

Each replication runs with one BLAS thread (threadpoolctl, a runtime limit, no environment
variable): the replications are the parallel unit, as joblib and dask.distributed arrange in their
own workers, and a replication's last digits then do not depend on where it ran.

Long runs show a tqdm progress bar (off when stderr is not a terminal, or when asked) and can be
cached in chunks (`ChunkCache`): each chunk of consecutive replications is written, atomically, as
soon as all of its replications are done, in a folder named by a key of everything that determines
the results; an interrupted run started again computes only the chunks that are missing. A
replication that raises stops the run with `ReplicationError`, which names the replication and
carries the worker's traceback; the chunks finished before it are kept.
"""

from __future__ import annotations

import os
import shutil
import sys
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

DEFAULT_CHUNK_SIZE = 25


class ReplicationError(RuntimeError):
    """A replication raised: which one, what, and the traceback from the process that ran it."""

    def __init__(self, index: int, message: str, remote_traceback: str = ""):
        super().__init__(index, message, remote_traceback)  # args rebuild it when unpickled
        self.index, self.message, self.remote_traceback = index, message, remote_traceback

    def __str__(self) -> str:
        return f"replication {self.index} failed: {self.message}"


@dataclass(frozen=True)
class ChunkCache:
    """Where a run keeps its finished chunks: `folder / key / chunk_<first>_<last>.parquet`.

    `key` must change whenever anything that determines the results changes (the callers hash the
    generator's and estimators' versions, the parameters, the design and the replications). Parquet
    keeps every float64 exactly, so a resumed run returns the same numbers as an uninterrupted one.
    """

    folder: Path
    key: str
    chunk_size: int = DEFAULT_CHUNK_SIZE

    @property
    def path(self) -> Path:
        return Path(self.folder) / self.key

    def chunk_file(self, chunk: Sequence[int]) -> Path:
        return self.path / f"chunk_{chunk[0]:09d}_{chunk[-1]:09d}.parquet"

    def chunks(self, indices: Sequence[int]) -> list[list[int]]:
        """The indices cut into consecutive chunks of `chunk_size` (the last may be shorter)."""
        if self.chunk_size < 1:
            raise ValueError(f"chunk_size must be at least 1, got {self.chunk_size}")
        return [list(indices[i:i + self.chunk_size]) for i in range(0, len(indices), self.chunk_size)]

    def read(self, chunk: Sequence[int]) -> pd.DataFrame | None:
        path = self.chunk_file(chunk)
        return pd.read_parquet(path) if path.is_file() else None

    def write(self, chunk: Sequence[int], table: pd.DataFrame) -> pd.DataFrame:
        """Write one chunk atomically (a temporary file renamed into place) and return it as read back."""
        path = self.chunk_file(chunk)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.partial")
        try:
            table.to_parquet(tmp, index=False)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        return pd.read_parquet(path)

    def clear(self) -> None:
        """Remove this run's chunks (once its results are stored whole elsewhere), and `folder` if now empty."""
        if self.path.is_dir():
            shutil.rmtree(self.path)
        folder = Path(self.folder)
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()


def _call(fn: Callable[[int], Any], index: int) -> tuple[int, Any]:
    """Run one replication with one BLAS thread; any failure comes back as a `ReplicationError`."""
    from threadpoolctl import threadpool_limits

    try:
        with threadpool_limits(limits=1, user_api="blas"):
            return index, fn(index)
    except ReplicationError:
        raise
    except Exception as exc:  # noqa: BLE001 - every failure is reported with its replication
        raise ReplicationError(index, f"{type(exc).__name__}: {exc}", traceback.format_exc()) from None


def _completed(fn, todo: list[int], jobs: int, scheduler) -> Iterator[tuple[int, Any]]:
    """(index, result) for every index in `todo`, in the order they finish."""
    if scheduler is not None:
        yield from _completed_dask(fn, todo, scheduler)
    elif jobs == 1 or len(todo) <= 1:
        for index in todo:
            yield _call(fn, index)
    else:
        from joblib import Parallel, delayed
        parallel = Parallel(n_jobs=jobs, backend="loky", return_as="generator_unordered")
        yield from parallel(delayed(_call)(fn, index) for index in todo)


def _completed_dask(fn, todo: list[int], scheduler) -> Iterator[tuple[int, Any]]:
    try:
        from distributed import Client, as_completed
    except ImportError as exc:
        raise ImportError("running on a Dask cluster needs dask.distributed (pip install distributed)") from exc

    if isinstance(scheduler, Client):
        client = scheduler
    else:
        try:
            client = Client(scheduler, set_as_default=False)
        except (OSError, TimeoutError, ValueError, TypeError) as exc:
            raise ConnectionError(f"cannot reach the Dask scheduler at {scheduler!r}: {exc}") from None
    futures = []
    try:
        futures = client.map(_call, [fn] * len(todo), todo, pure=False)
        for future in as_completed(futures, loop=client.loop):  # this client (it need not be the default)
            yield future.result()
    finally:
        pending = [f for f in futures if not f.done()]
        if pending:
            client.cancel(pending)
        if client is not scheduler:
            client.close()


def _jobs(jobs: int | None) -> int:
    jobs = (os.cpu_count() or 1) if jobs is None else int(jobs)
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}")
    return jobs


def _progress_bar(total: int, initial: int, progress: bool | None, desc: str):
    from tqdm import tqdm  # the plain bar: tqdm.auto would want ipywidgets in a notebook
    # disable=None: tqdm turns itself off when stderr is not a terminal (logs, CI, notebooks' stderr)
    disable = None if progress is None else not progress
    return tqdm(total=total, initial=initial, desc=desc, unit="rep", file=sys.stderr, disable=disable,
                dynamic_ncols=True, leave=False)


def map_indices(fn: Callable[[int], Any], indices: Iterable[int], *, jobs: int | None = 1, scheduler=None,
                progress: bool | None = None, desc: str = "replications") -> list:
    """`[fn(i) for i in indices]`, computed as `jobs` or `scheduler` say; the results in index order."""
    indices = [int(i) for i in indices]
    if len(set(indices)) != len(indices):
        raise ValueError("replication indices must be distinct")
    results: dict[int, Any] = {}
    with _progress_bar(len(indices), 0, progress, desc) as bar:
        for index, result in _completed(fn, indices, _jobs(jobs), scheduler):
            results[index] = result
            bar.update(1)
    return [results[i] for i in indices]


def _table(results: list, columns: list[str] | None) -> pd.DataFrame:
    """One frame from several replications' results (each a list of row dicts, or a frame)."""
    if results and all(isinstance(r, pd.DataFrame) for r in results):
        table = pd.concat(results, ignore_index=True)
        return table if columns is None else table[columns]
    return pd.DataFrame([row for rows in results for row in rows], columns=columns)


def run_table(fn: Callable[[int], Any], indices: Iterable[int], *, columns: list[str] | None = None,
              cache: ChunkCache | None = None, jobs: int | None = 1, scheduler=None,
              progress: bool | None = None, desc: str = "replications") -> pd.DataFrame:
    """The rows of every replication, in index order: `fn(i)` returns a list of row dicts (or a frame).

    With `cache`, finished chunks are read instead of computed and new ones are written as they
    complete, so an interrupted run resumes; the rows then come back as the cache stores them.
    """
    indices = [int(i) for i in indices]
    if len(set(indices)) != len(indices):
        raise ValueError("replication indices must be distinct")
    if cache is None:
        chunks, done = [indices], {}
    else:
        chunks = cache.chunks(indices)
        done = {k: t for k, chunk in enumerate(chunks) if (t := cache.read(chunk)) is not None}
    chunk_of = {i: k for k, chunk in enumerate(chunks) for i in chunk}
    todo = [i for k, chunk in enumerate(chunks) if k not in done for i in chunk]
    pending: dict[int, dict[int, Any]] = {}
    with _progress_bar(len(indices), len(indices) - len(todo), progress, desc) as bar:
        for index, result in _completed(fn, todo, _jobs(jobs), scheduler):
            k = chunk_of[index]
            pending.setdefault(k, {})[index] = result
            if len(pending[k]) == len(chunks[k]):
                finished = pending.pop(k)
                table = _table([finished[i] for i in chunks[k]], columns)
                done[k] = cache.write(chunks[k], table) if cache is not None else table
            bar.update(1)
    tables = [done[k] for k in range(len(chunks)) if k in done]
    if not tables:
        return _table([], columns)
    return pd.concat(tables, ignore_index=True)
