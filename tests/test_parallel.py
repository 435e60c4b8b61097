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


#: (thread name) of every pickling of a _Recorder in this process
_pickled_in: list[str] = []


class _Recorder:
    """An object that notes which thread of this process pickles it."""

    def __init__(self, value):
        self.value = value

    def __getstate__(self):
        import threading

        _pickled_in.append(threading.current_thread().name)
        return {"value": self.value}


def _value_plus(task, threads):
    obj, k = task
    return obj.value + k, os.getpid()


@pytest.mark.skipif(available_cores() < 2, reason="needs two cores for worker processes")
def test_a_shared_fitted_object_is_pickled_once_in_the_calling_thread():
    import threading

    from groupwise._parallel import share_fitted

    _pickled_in.clear()
    ex = LocalExecutor()
    try:
        shared = share_fitted(ex, _Recorder(10))
        out = ex.map(_value_plus, [(shared, k) for k in range(6)])
    finally:
        ex.close()
    assert [o[0] for o in out] == [10, 11, 12, 13, 14, 15]  # the workers saw the object
    assert os.getpid() not in {o[1] for o in out}
    # once, here: not once per task in joblib's queue-feeder thread
    assert _pickled_in == [threading.current_thread().name]


def test_a_shared_fitted_object_reaches_a_task_run_in_this_process_unchanged():
    from groupwise._parallel import share_fitted

    ex = LocalExecutor(n_jobs=1)
    obj = _Recorder(3)
    out = ex.map(_value_plus, [(share_fitted(ex, obj), 1)])
    assert out[0] == (4, os.getpid())


def _fails_on_two(task, threads):
    if task == 2:
        raise ValueError("task two fails")
    return task


@pytest.mark.skipif(available_cores() < 2, reason="needs two cores for worker processes")
def test_maps_share_one_open_parallel_until_close_and_a_failed_map_does_not_break_the_next():
    ex = LocalExecutor()
    assert ex.map(_fails_on_two, [1, 3]) == [1, 3]
    runner = ex._open[0]
    assert ex.map(_fails_on_two, [4, 5, 6]) == [4, 5, 6]
    assert ex._open == [runner]  # the same Parallel (and temporary folder) for both maps
    with pytest.raises(ValueError, match="task two fails"):
        ex.map(_fails_on_two, [1, 2, 3])
    assert ex._open == []  # the unfinished map's Parallel was closed
    assert ex.map(_fails_on_two, [7, 8]) == [7, 8]
    ex.close()
    assert ex._open == []
