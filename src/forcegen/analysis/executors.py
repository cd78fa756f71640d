"""Executors of an exploration: in-process threads, a local Dask cluster, or a remote one.

The experiments of a design are cut into chunks of whole experiments; each chunk is one
engine call (:func:`forcegen.analysis.explore.run_experiments`). Chunks are handed out a
few at a time and their frames yielded as they finish, so that memory holds only the
chunks in flight, whatever the number of experiments. Every random number is keyed by run,
and each experiment's values by the design, so the frames are the same whatever the
executor, the number of workers or the size of chunks; only their order differs.

Dask (``pip install 'forcegen[explore]'``) takes the work past one process: ``"dask"``
starts a local cluster of single-thread worker processes on this machine (no dashboard,
listening on localhost only) and closes it at the end; ``scheduler="tcp://HOST:PORT"``
sends the chunks to an existing cluster, whose workers must have forcegen installed. Each
worker receives the exploration once and then only the bounds of its chunks.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any, Literal

import pandas as pd

from forcegen.analysis.explore import Exploration, run_experiments
from forcegen.errors import UsageError

Frames = tuple[pd.DataFrame, pd.DataFrame]

IN_FLIGHT = 2
"""Chunks in flight per worker: one running and one waiting, so no worker idles."""


def _chunks(rows: pd.DataFrame, chunk: int) -> list[tuple[int, int]]:
    return [(a, min(a + chunk, len(rows))) for a in range(0, len(rows), chunk)]


def _check(chunk: int, workers: int | None, n_jobs: int) -> None:
    for name, value, least in (("chunk", chunk, 1), ("n_jobs", n_jobs, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise UsageError(f"{name} must be a whole number >= {least}; got {value!r}")
    if workers is not None and (
        isinstance(workers, bool) or not isinstance(workers, int) or workers < 1
    ):
        raise UsageError(f"workers must be a whole number >= 1; got {workers!r}")


def map_experiments(
    exploration: Exploration,
    rows: pd.DataFrame,
    *,
    chunk: int = 8,
    executor: Literal["threads", "dask"] = "threads",
    scheduler: str | None = None,
    workers: int | None = None,
    n_jobs: int = 1,
) -> Iterator[Frames]:
    """Run the experiments ``rows`` chunk by chunk, yielding ``(runs, summaries)`` per chunk
    of at most ``chunk`` whole experiments as chunks finish (in any order).

    Parameters
    ----------
    exploration
        What is explored (scenario, factors, runs, seed, pinned choices).
    rows
        Rows of a design (:func:`forcegen.analysis.explore.design`), or some of them.
    chunk
        Experiments per engine call.
    executor
        ``"threads"``: in this process, ``workers`` chunks at once (default 1); ``"dask"``:
        a local cluster of ``workers`` single-thread processes (default 1), unless
        ``scheduler`` names an existing cluster.
    scheduler
        Address of a Dask scheduler (``tcp://HOST:PORT``); implies ``executor="dask"``.
    workers
        Chunks run at once (threads), or worker processes of the local cluster.
    n_jobs
        Engine threads within each chunk.

    Raises
    ------
    UsageError
        If an argument is invalid, or Dask is wanted but not installed.
    """
    _check(chunk, workers, n_jobs)
    if executor not in ("threads", "dask"):
        raise UsageError(f"executor must be 'threads' or 'dask'; got {executor!r}")
    rows = rows.reset_index(drop=True)
    parts = _chunks(rows, chunk)
    if scheduler is not None or executor == "dask":
        return _dask(exploration, rows, parts, scheduler, workers or 1, n_jobs)
    return _threads(exploration, rows, parts, workers or 1, n_jobs)


def _threads(
    exploration: Exploration,
    rows: pd.DataFrame,
    parts: list[tuple[int, int]],
    workers: int,
    n_jobs: int,
) -> Iterator[Frames]:
    if workers == 1:
        for a, b in parts:
            yield run_experiments(exploration, rows.iloc[a:b], n_jobs=n_jobs)
        return
    todo = iter(parts)
    pool = ThreadPoolExecutor(workers)
    running: set[Future[Frames]] = set()
    try:
        for a, b in todo:
            running.add(pool.submit(run_experiments, exploration, rows.iloc[a:b], n_jobs=n_jobs))
            if len(running) >= IN_FLIGHT * workers:
                break
        while running:
            done, running = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                nxt = next(todo, None)
                if nxt is not None:
                    a, b = nxt
                    running.add(
                        pool.submit(run_experiments, exploration, rows.iloc[a:b], n_jobs=n_jobs)
                    )
                yield future.result()
    finally:  # stopped early, or failed: chunks not yet started never start
        pool.shutdown(wait=True, cancel_futures=True)


def _run_part(exploration: Exploration, rows: pd.DataFrame, a: int, b: int, n_jobs: int) -> Frames:
    """One chunk, on a Dask worker: the exploration and the design arrive once, as futures."""
    return run_experiments(exploration, rows.iloc[a:b], n_jobs=n_jobs)


def _dask(
    exploration: Exploration,
    rows: pd.DataFrame,
    parts: list[tuple[int, int]],
    scheduler: str | None,
    workers: int,
    n_jobs: int,
) -> Iterator[Frames]:
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise UsageError(
            "the Dask executor needs dask and distributed: pip install 'forcegen[explore]'"
        ) from None
    cluster: Any = None
    if scheduler is None:
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        )
        client = Client(cluster)
    else:
        try:
            client = Client(scheduler, timeout="30s")
        except (OSError, TimeoutError, ValueError) as e:
            raise UsageError(f"cannot reach the Dask scheduler at {scheduler}: {e}") from None
    try:
        slots = IN_FLIGHT * max(1, len(client.scheduler_info().get("workers", {})) or workers)
        shared = client.scatter([exploration, rows], broadcast=True)
        todo = iter(parts)
        pending = as_completed()
        for a, b in todo:
            pending.add(client.submit(_run_part, *shared, a, b, n_jobs, pure=False))
            if pending.count() >= slots:
                break
        for future in pending:
            nxt = next(todo, None)
            if nxt is not None:
                pending.add(client.submit(_run_part, *shared, *nxt, n_jobs, pure=False))
            result = future.result()
            future.release()
            yield result
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
