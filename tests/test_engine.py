"""The simulation engine: the same results however they are run, resumable, and clear when one fails.

Every replication is seeded by its own index, so in this process, in two local processes (joblib's
loky backend) and on a two-worker dask.distributed LocalCluster the results must be EXACTLY equal,
for a toy function and for the truth-recovery study's real replications. A run cut short leaves its
finished chunks, and the next run computes only what is missing; a replication that raises stops the
run with an error that names it, whichever backend ran it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ztown.analysis import engine, montecarlo

TOY_COLUMNS = ["replication", "draw", "value"]


def toy(index: int) -> list[dict]:
    """A replication: a few normal draws seeded by the index alone."""
    rng = np.random.default_rng(10_000 + index)
    return [{"replication": index, "draw": k, "value": float(v)} for k, v in enumerate(rng.normal(size=3))]


def fails_at_seven(index: int) -> list[dict]:
    if index == 7:
        raise ValueError("no data for this replication")
    return toy(index)


class Recorder:
    """The toy replication, remembering which indices it was asked for (in this process: jobs=1)."""

    def __init__(self, fail_at: int | None = None):
        self.calls: list[int] = []
        self.fail_at = fail_at

    def __call__(self, index: int) -> list[dict]:
        self.calls.append(index)
        if index == self.fail_at:
            raise KeyboardInterrupt  # the run is stopped from outside, as by Ctrl-C
        return toy(index)


@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed")
    # dashboard_address=":0": the scheduler's HTTP server on a free port (with None it still takes 8787,
    # and warns when another cluster holds it); without bokeh there is no dashboard either way
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as c:
        yield c


# --------------------------------------------------------------------------- the same results everywhere

def test_local_processes_and_a_dask_cluster_give_exactly_the_same_rows(cluster):
    from distributed import Client

    serial = engine.run_table(toy, range(12), columns=TOY_COLUMNS, jobs=1)
    assert serial["replication"].tolist() == [r for r in range(12) for _ in range(3)]
    pd.testing.assert_frame_equal(engine.run_table(toy, range(12), columns=TOY_COLUMNS, jobs=2), serial,
                                  check_exact=True)
    pd.testing.assert_frame_equal(engine.run_table(toy, range(12), columns=TOY_COLUMNS,
                                                   scheduler=cluster.scheduler_address), serial, check_exact=True)
    with Client(cluster) as client:  # an existing client is used, and left open
        pd.testing.assert_frame_equal(engine.run_table(toy, range(12), columns=TOY_COLUMNS, scheduler=client),
                                      serial, check_exact=True)
        assert client.status == "running"


@pytest.fixture(scope="module")
def params(study):
    return montecarlo.parameters_of(study)


def test_the_truth_recovery_study_is_exactly_the_same_on_every_backend(params, cluster):
    """Real replications (every estimator of the book): jobs=1, jobs=2 and two Dask workers, bit for bit."""
    serial = montecarlo.run(params, 3, workers=1, first=5)
    assert serial["replication"].unique().tolist() == [5, 6, 7]
    two = montecarlo.run(params, 3, workers=2, first=5)
    dask = montecarlo.run(params, 3, first=5, scheduler=cluster.scheduler_address)
    pd.testing.assert_frame_equal(two, serial, check_exact=True)
    pd.testing.assert_frame_equal(dask, serial, check_exact=True)


def test_results_come_in_index_order_whatever_order_is_asked():
    out = engine.map_indices(lambda i: i * i, [5, 2, 9], jobs=1)
    assert out == [25, 4, 81]
    table = engine.run_table(toy, [4, 1], columns=TOY_COLUMNS, jobs=1)
    assert table["replication"].tolist() == [4, 4, 4, 1, 1, 1]


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="distinct"):
        engine.run_table(toy, [1, 1], jobs=1)
    with pytest.raises(ValueError, match="jobs"):
        engine.map_indices(toy, [1], jobs=0)
    with pytest.raises(ValueError, match="chunk_size"):
        engine.ChunkCache(__import__("pathlib").Path("."), "k", chunk_size=0).chunks([1, 2])


# --------------------------------------------------------------------------- resuming from the chunks

def test_an_interrupted_run_resumes_from_its_finished_chunks(tmp_path):
    cache = engine.ChunkCache(tmp_path / "partial", "study-key", chunk_size=4)
    whole = engine.run_table(toy, range(10), columns=TOY_COLUMNS, jobs=1)

    first = Recorder(fail_at=6)
    with pytest.raises(KeyboardInterrupt):
        engine.run_table(first, range(10), columns=TOY_COLUMNS, cache=cache, jobs=1)
    assert first.calls == [0, 1, 2, 3, 4, 5, 6]
    files = sorted(p.name for p in cache.path.iterdir())
    assert files == ["chunk_000000000_000000003.parquet"]  # only the finished chunk; no partial file left

    second = Recorder()
    resumed = engine.run_table(second, range(10), columns=TOY_COLUMNS, cache=cache, jobs=1)
    assert second.calls == [4, 5, 6, 7, 8, 9]  # chunk 0-3 read, not computed
    pd.testing.assert_frame_equal(resumed, whole, check_exact=True)

    third = Recorder()
    again = engine.run_table(third, range(10), columns=TOY_COLUMNS, cache=cache, jobs=1)
    assert third.calls == []
    pd.testing.assert_frame_equal(again, whole, check_exact=True)
    cache.clear()
    assert not (tmp_path / "partial").exists()


def test_a_chunk_of_another_key_is_not_used(tmp_path):
    engine.run_table(toy, range(4), columns=TOY_COLUMNS, cache=engine.ChunkCache(tmp_path, "a", 4), jobs=1)
    other = Recorder()
    engine.run_table(other, range(4), columns=TOY_COLUMNS, cache=engine.ChunkCache(tmp_path, "b", 4), jobs=1)
    assert other.calls == [0, 1, 2, 3]


def test_a_truth_recovery_study_resumes_from_its_chunks(params, tmp_path, monkeypatch):
    """cached_run keeps chunks while it computes: a finished chunk is read, not computed again, and the
    chunks are removed once the study's cache file is written."""
    chunks = montecarlo.partial_cache(params, 2, tmp_path)
    assert chunks.path.parent == tmp_path / ".partial"
    fresh = montecarlo.run(params, 2, workers=1)
    chunks.write([0, 1], fresh)  # the study's one chunk, finished before an interruption

    def computed_again(*args):
        raise AssertionError("a finished chunk was computed again")

    monkeypatch.setattr(montecarlo, "replicate", computed_again)
    reps = montecarlo.cached_run(params, 2, cache_dir=tmp_path, workers=1)
    assert montecarlo.compare_with_cache(fresh, reps).empty
    assert [p.name for p in tmp_path.iterdir()] == [montecarlo.cache_path(params, 2, tmp_path).name]


# --------------------------------------------------------------------------- a failing replication

@pytest.mark.parametrize("how", ["serial", "loky", "dask"])
def test_a_failing_replication_is_named_with_its_traceback(how, cluster):
    kwargs = {"serial": {"jobs": 1}, "loky": {"jobs": 2}, "dask": {"scheduler": cluster.scheduler_address}}[how]
    with pytest.raises(engine.ReplicationError) as caught:
        engine.run_table(fails_at_seven, range(10), columns=TOY_COLUMNS, **kwargs)
    err = caught.value
    assert err.index == 7
    assert str(err) == "replication 7 failed: ValueError: no data for this replication"
    assert "fails_at_seven" in err.remote_traceback


def test_chunks_finished_before_a_failure_are_kept(tmp_path):
    cache = engine.ChunkCache(tmp_path, "k", chunk_size=5)
    with pytest.raises(engine.ReplicationError):
        engine.run_table(fails_at_seven, range(10), columns=TOY_COLUMNS, cache=cache, jobs=1)
    assert [p.name for p in cache.path.iterdir()] == ["chunk_000000000_000000004.parquet"]


# --------------------------------------------------------------------------- the progress bar

def test_the_progress_bar_shows_only_when_asked_or_on_a_terminal(capsys):
    engine.run_table(toy, range(3), columns=TOY_COLUMNS, jobs=1, progress=True, desc="toy study")
    assert "toy study" in capsys.readouterr().err
    engine.run_table(toy, range(3), columns=TOY_COLUMNS, jobs=1, progress=False, desc="toy study")
    assert capsys.readouterr().err == ""
    engine.run_table(toy, range(3), columns=TOY_COLUMNS, jobs=1, desc="toy study")  # stderr is not a terminal here
    assert capsys.readouterr().err == ""


def test_an_unreachable_scheduler_is_named():
    dask = pytest.importorskip("dask")
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        with pytest.raises(ConnectionError, match="cannot reach the Dask scheduler at 'tcp://127.0.0.1:9'"):
            engine.map_indices(toy, [1], scheduler="tcp://127.0.0.1:9")
