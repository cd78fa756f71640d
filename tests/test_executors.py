"""Executors: the same frames whatever the executor, the number of workers or the chunks."""

from __future__ import annotations

import pandas as pd
import pytest
from test_explore import exploration

from forcegen.analysis.executors import map_experiments
from forcegen.analysis.explore import design, run_experiments
from forcegen.errors import UsageError


def gathered(parts) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The frames of all chunks, in the order of experiments and runs."""
    parts = list(parts)
    runs = pd.concat([p[0] for p in parts], ignore_index=True)
    summaries = pd.concat([p[1] for p in parts], ignore_index=True)
    runs = runs.sort_values(["experiment", "run"], ignore_index=True)
    return runs, summaries.sort_values("experiment", ignore_index=True)


def test_threads_give_the_same_frames_whatever_the_chunks_and_workers() -> None:
    ex = exploration()
    rows = design(ex.factors, n=3, seed=1)
    whole = run_experiments(ex, rows)
    for chunk, workers in ((1, 1), (2, 2), (4, 3)):
        parts = list(map_experiments(ex, rows, chunk=chunk, workers=workers))
        assert len(parts) == -(-len(rows) // chunk)
        got = gathered(parts)
        for a, b in zip(got, whole, strict=True):
            pd.testing.assert_frame_equal(a, b, check_dtype=False)


def test_bad_executor_arguments_are_refused() -> None:
    ex = exploration()
    rows = design(ex.factors, n=1)
    with pytest.raises(UsageError, match="chunk"):
        map_experiments(ex, rows, chunk=0)
    with pytest.raises(UsageError, match="executor"):
        map_experiments(ex, rows, executor="mpi")  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="workers"):
        map_experiments(ex, rows, workers=0)


def test_a_local_dask_cluster_gives_the_frames_of_threads() -> None:
    pytest.importorskip("distributed")
    ex = exploration()
    rows = design(ex.factors, n=3, seed=1)
    threads = gathered(map_experiments(ex, rows, chunk=2))
    dask = gathered(map_experiments(ex, rows, chunk=3, executor="dask", workers=2))
    for a, b in zip(dask, threads, strict=True):
        pd.testing.assert_frame_equal(a, b)


def test_an_existing_cluster_is_reached_by_its_address() -> None:
    distributed = pytest.importorskip("distributed")
    ex = exploration()
    rows = design(ex.factors, n=2, seed=1)
    threads = gathered(map_experiments(ex, rows, chunk=2))
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        got = gathered(map_experiments(ex, rows, chunk=1, scheduler=cluster.scheduler_address))
        assert cluster.scheduler_address  # the cluster outlives the exploration
    for a, b in zip(got, threads, strict=True):
        pd.testing.assert_frame_equal(a, b)
