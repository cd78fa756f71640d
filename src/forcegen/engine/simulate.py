"""Simulating a plan: runs handed to the kernel in chunks, over threads.

Since every random draw is keyed by run, day and unit (:mod:`forcegen.engine.streams`), the
records are the same whatever the number of threads or the size of chunks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager

import numba
import numpy as np
from numba.core import event
from numpy.typing import NDArray

from forcegen.engine.kernel import STREAMS, KOut, kernel_features, kernel_plan, simulate_runs
from forcegen.engine.plan import Plan
from forcegen.engine.records import Records
from forcegen.engine.streams import run_keys


class _CompileListener(event.Listener):
    """Calls ``callback`` once, when numba first starts compiling (not loading from cache)."""

    def __init__(self, callback: Callable[[], None]) -> None:
        self.callback: Callable[[], None] | None = callback

    def on_start(self, event: event.Event) -> None:
        callback, self.callback = self.callback, None
        if callback is not None:
            callback()

    def on_end(self, event: event.Event) -> None:
        pass


@contextmanager
def compiling(callback: Callable[[], None]) -> Iterator[None]:
    """While inside, ``callback()`` is called once if numba compiles machine code.

    numba compiles the engine the first time it is used after an install (or a change of its
    sources) and keeps the result in its cache; later processes load it from there, which
    calls nothing. A face can so say once that the first run will take a while, and say
    nothing when the cache is warm. The engine itself never prints.
    """
    listener = _CompileListener(callback)
    with event.install_listener("numba:compile", listener):
        yield


def simulate_plan(
    plan: Plan,
    *,
    runs: int,
    seed: int,
    deterministic: bool = False,
    keep_units: bool = False,
    n_jobs: int = 1,
    chunk_size: int | None = None,
    progress: Callable[[int], None] | None = None,
    run_ids: NDArray[np.int64] | None = None,
) -> Records:
    """Simulate ``runs`` runs of a plan; ``progress(k)`` is called as k more run-days finish.

    Run ``r`` takes the plan's sample ``r`` (or its only sample). ``n_jobs`` threads (at most
    numba's thread count, the number of processors, and the runs) share the runs in slices of
    at most ``chunk_size / n_jobs`` runs (one thread: chunks of ``chunk_size``, for progress
    reports), which the compiled kernel runs without the GIL. Neither changes the results.

    ``run_ids`` (one per run; default ``0 .. runs - 1``) keys each run's random streams:
    two runs with the same id draw the same numbers. A batch of experiments that gives run
    ``k`` the id ``k % R`` so takes common random numbers across its experiments, each of
    which draws what a call of ``R`` runs alone would.
    """
    samples = np.arange(runs, dtype=np.int64) % plan.samples
    if run_ids is None:
        run_ids = np.arange(runs, dtype=np.int64)
    else:
        run_ids = np.asarray(run_ids, dtype=np.int64)
        if run_ids.shape != (runs,) or (runs and run_ids.min() < 0):
            raise ValueError(f"run_ids must hold {runs} whole numbers >= 0")
    ids, back = np.unique(run_ids, return_inverse=True)  # each stream's key computed once
    keys = np.stack([run_keys(seed, ids, purpose)[back] for purpose in STREAMS], axis=1)
    rec = Records.empty(plan, runs, keep_units, compact=not deterministic)
    kplan = kernel_plan(plan)
    features = kernel_features(kplan)
    if chunk_size is None:
        chunk_size = max(16 * n_jobs, 64)
    threads = max(1, min(n_jobs, numba.config.NUMBA_NUM_THREADS, runs))

    def simulate(start: int, stop: int) -> None:
        part = rec.rows(start, stop)
        out = KOut(**{name: getattr(part, name) for name in KOut._fields})
        simulate_runs(
            kplan, samples[start:stop], keys[start:stop], deterministic, keep_units, out, *features
        )

    if threads == 1:
        for start in range(0, runs, chunk_size):
            stop = min(runs, start + chunk_size)
            simulate(start, stop)
            if progress is not None:
                progress((stop - start) * plan.horizon)
    else:  # slices taken in turn, with no wait between chunks: at least four a thread, at
        # most a chunk's share each, a multiple of the threads in number, all of one size
        step = max(1, chunk_size // threads)
        n = max(4 * threads, -(-runs // step))
        n = min(runs, -(-n // threads) * threads)
        cuts = [int(c) for c in np.linspace(0, runs, n + 1)]
        pool = ThreadPoolExecutor(threads)
        try:
            slices = {
                pool.submit(simulate, a, b): b - a for a, b in zip(cuts[:-1], cuts[1:], strict=True)
            }
            for done in as_completed(slices):
                done.result()
                if progress is not None:
                    progress(slices[done] * plan.horizon)
        finally:  # interrupted (Ctrl-C) or failed: slices not yet started never start
            pool.shutdown(wait=True, cancel_futures=True)
    if not keep_units:
        rec.unit_position = None
        rec.unit_strength = None
    return rec
