"""Run independent fits in parallel without oversubscribing the machine.

joblib worker processes × native threads per worker never exceed the cores that
this process may use: inside every task, ``threadpoolctl`` caps OpenMP/BLAS threads
and estimators with an ``n_jobs`` parameter get the same cap. (Two OpenMP threads
per worker on two busy cores made gradient boosting several times slower here.)
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["available_cores", "parallel_map", "worker_plan"]


def available_cores() -> int:
    """Cores this process may run on (CPU affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def worker_plan(n_jobs: int | None, n_tasks: int) -> tuple[int, int]:
    """``(workers, threads_per_worker)`` for ``n_tasks`` tasks; ``n_jobs=None`` = all cores."""
    cores = available_cores()
    budget = cores if n_jobs is None or n_jobs <= 0 else min(n_jobs, cores)
    workers = max(1, min(budget, n_tasks))
    threads = max(1, budget // workers)
    return workers, threads


def _limit_estimator_threads(obj: Any, threads: int) -> None:
    """Set the thread parameters (``n_jobs``, ...) that any step sets explicitly to ``threads``.

    Parameters left at None are not touched: most estimators then do not use them,
    and some warn when they are set.
    """
    try:
        params = obj.get_params(deep=True)
    except AttributeError:
        return
    names = ("n_jobs", "nthread", "num_threads")
    updates = {
        k: threads for k, v in params.items() if k.split("__")[-1] in names and v is not None
    }
    if updates:
        obj.set_params(**updates)


def _run_task(fn: Callable, task: Any, threads: int) -> Any:
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=threads):
        return fn(task, threads)


def parallel_map(
    fn: Callable[[Any, int], Any],
    tasks: Sequence[Any],
    *,
    n_jobs: int | None = None,
    on_done: Callable[[int, Any], None] | None = None,
) -> list[Any]:
    """``[fn(task, threads) for task in tasks]`` in parallel, results in task order.

    ``fn`` receives the number of native threads it may use. ``on_done(i, result)``
    is called in the parent as each task finishes (for progress bars).
    """
    tasks = list(tasks)
    if not tasks:
        return []
    workers, threads = worker_plan(n_jobs, len(tasks))
    results: list[Any] = [None] * len(tasks)
    if workers == 1:
        for i, t in enumerate(tasks):
            results[i] = _run_task(fn, t, threads)
            if on_done:
                on_done(i, results[i])
        return results
    from joblib import Parallel, delayed

    def indexed(i_task, thr):
        i, t = i_task
        return i, fn(t, thr)

    runner = Parallel(
        n_jobs=workers, backend="loky", return_as="generator_unordered", max_nbytes="1M"
    )
    for i, res in runner(delayed(_run_task)(indexed, (i, t), threads) for i, t in enumerate(tasks)):
        results[i] = res
        if on_done:
            on_done(i, res)
    return results


def limit_threads(estimator: Any, threads: int) -> Any:
    """Public helper: cap the estimator's own thread parameters (returns it)."""
    _limit_estimator_threads(estimator, threads)
    return estimator
