"""The local executor: results in task order, native threads capped, warm-up before work."""

import os

import pytest

from groupwise._parallel import LocalExecutor, available_cores, worker_plan


def _square_and_threads(task, threads):
    from threadpoolctl import threadpool_info

    caps = {i["num_threads"] for i in threadpool_info()}
    return task * task, threads, caps, os.getpid()


def test_workers_times_threads_never_exceeds_the_cores():
    cores = available_cores()
    for n_jobs in (None, 1, 2, 8):
        for n_tasks in (1, 2, 5, 100):
            workers, threads = worker_plan(n_jobs, n_tasks)
            assert workers >= 1 and threads >= 1
            assert workers * threads <= max(cores, 1)


@pytest.mark.skipif(available_cores() < 2, reason="needs two cores for worker processes")
def test_warm_up_starts_the_workers_the_first_map_then_uses():
    ex = LocalExecutor()
    ex.warm_up(["json", "a_module_that_is_not_installed"])  # a missing module is skipped
    assert ex._warming  # the warm-up runs in the background
    out = ex.map(_square_and_threads, [1, 2, 3, 4])
    assert not ex._warming  # map waited for it
    assert [o[0] for o in out] == [1, 4, 9, 16]  # in task order
    workers, threads = worker_plan(None, 4)
    assert all(o[1] == threads for o in out)
    assert all(max(o[2], default=threads) <= threads for o in out)  # native pools capped
    assert os.getpid() not in {o[3] for o in out}  # ran in worker processes
    ex.close()


def test_warm_up_does_nothing_with_one_worker():
    ex = LocalExecutor(n_jobs=1)
    ex.warm_up(["json"])
    assert not ex._warming
    assert [o[0] for o in ex.map(_square_and_threads, [3])] == [9]
