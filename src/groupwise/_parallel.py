"""Cores, native-thread limits and the executor seam (the ground floor of parallel work).

Independent fits (CV folds, tuning trials, learning-curve points) and prediction chunks
run through an :class:`Executor`: a pure function ``fn(task, threads)`` is mapped over
tasks and the results come back in task order. ``threads`` is the number of native
threads (OpenMP, BLAS) one task may use: workers × threads never exceeds the cores this
process may run on. (Two OpenMP threads per worker on two busy cores made gradient
boosting several times slower here.)

:class:`LocalExecutor` runs tasks in joblib worker processes on this machine; the
``[dask]`` extra adds an executor with the same interface for a cluster.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "DaskExecutor",
    "Executor",
    "LocalExecutor",
    "Pickled",
    "available_cores",
    "check_executor",
    "limit_fitted_threads",
    "limit_threads",
    "make_executor",
    "parallel_map",
    "share_fitted",
    "worker_plan",
]


def available_cores() -> int:
    """Cores this process may run on (CPU affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def worker_plan(n_jobs: int | None, n_tasks: int) -> tuple[int, int]:
    """``(workers, threads_per_worker)`` for ``n_tasks`` tasks; ``n_jobs=None`` = all cores.

    Examples
    --------
    >>> workers, threads = worker_plan(1, 10)
    >>> workers, threads
    (1, 1)
    """
    cores = available_cores()
    budget = cores if n_jobs is None or n_jobs <= 0 else min(n_jobs, cores)
    workers = max(1, min(budget, n_tasks))
    threads = max(1, budget // workers)
    return workers, threads


def limit_threads(estimator: Any, threads: int) -> Any:
    """Set the thread parameters (``n_jobs``, ``nthread``, ``num_threads``) that any step of
    ``estimator`` sets explicitly to ``threads``; returns the estimator.

    Parameters left at None are not touched: most estimators then do not use them, and
    some warn when they are set.
    """
    try:
        params = estimator.get_params(deep=True)
    except AttributeError:
        return estimator
    names = ("n_jobs", "nthread", "num_threads")
    updates = {
        k: threads for k, v in params.items() if k.split("__")[-1] in names and v is not None
    }
    if updates:
        estimator.set_params(**updates)
    return estimator


def limit_fitted_threads(estimator: Any, threads: int) -> Any:
    """:func:`limit_threads` on ``estimator`` and on every fitted estimator it holds (a
    stack's or blend's members, a calibrated or rebalanced model's inner one): what a
    worker does to a model fitted elsewhere before predicting with it, so that a member
    fitted with two threads does not run two in each of two workers. Returns it."""
    seen: set[int] = set()

    def visit(est: Any) -> None:
        if id(est) in seen or not hasattr(est, "get_params"):
            return
        seen.add(id(est))
        limit_threads(est, threads)
        for name, value in vars(est).items():
            if not name.endswith("_") or name.startswith("_"):
                continue  # fitted attributes only (members_, estimator_, ...)
            items = value if isinstance(value, list | tuple) else (value,)
            for item in items:
                if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str):
                    item = item[1]
                visit(item)
        for step in getattr(est, "steps", ()):
            visit(step[1])

    visit(estimator)
    return estimator


_WATCHED: dict[str, int] = {}


def _watch_parent(parent: int) -> None:
    """In a worker process: exit as soon as ``parent`` is gone (killed with -9, say), so
    that no worker outlives the command that started it. Started once per process."""
    import threading
    import time

    if os.getpid() == parent or _WATCHED.get("parent") == parent:
        return
    _WATCHED["parent"] = parent

    def watch():
        while True:
            if os.getppid() != parent:
                os._exit(0)
            time.sleep(0.5)

    threading.Thread(target=watch, name="groupwise-parent-watch", daemon=True).start()


class Pickled:
    """``obj`` pickled once, now, in the calling thread; what a task carries in place of a
    fitted model sent to workers (``Pickled(model)``, at the top level of the task tuple).

    Two reasons. The pickling is done once instead of once per task. And it is done in
    this thread: joblib otherwise pickles tasks in a queue-feeder thread that lives as long
    as its workers, and serialising a fitted LightGBM model there starts an OpenMP team in
    that thread; with more OpenMP threads alive in the process than cores, libgomp stops
    spin-waiting, and every later two-thread LightGBM fit in this process ran 7× slower
    (0.4 s → 2.8 s on 16,000 rows, most of it in futex sleeps). Unpickling gives back
    ``obj`` itself, so the task function sees the model; a task run in this process gets
    ``obj`` unchanged (see :func:`_run_task`).
    """

    __slots__ = ("blob", "obj")

    def __init__(self, obj: Any):
        import pickle

        self.obj = obj
        self.blob = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)

    def __reduce__(self):
        import pickle

        return (pickle.loads, (self.blob,))


def share_fitted(executor: Any, model: Any) -> Any:
    """What tasks carry in place of a fitted ``model`` (or an object holding one): pickled
    here once (:class:`Pickled`), then handed to ``executor.share`` where it has one."""
    wrapped = Pickled(model)
    share = getattr(executor, "share", None)
    return wrapped if share is None else share(wrapped)


def _resolve(task: Any) -> Any:
    """``task`` with its top-level :class:`Pickled` items replaced by their objects (a task
    run in this process, never pickled)."""
    if isinstance(task, Pickled):
        return task.obj
    if type(task) is tuple or type(task) is list:
        return type(task)(t.obj if isinstance(t, Pickled) else t for t in task)
    return task


def _run_task(fn: Callable, task: Any, threads: int, parent: int | None = None) -> Any:
    from threadpoolctl import threadpool_limits

    if parent is not None:
        _watch_parent(parent)
    with threadpool_limits(limits=threads):
        return fn(_resolve(task), threads)


#: ``fn(task, threads) -> result``: a picklable, top-level function.
TaskFn = Callable[[Any, int], Any]
#: ``on_done(i, result)``, called in the calling process as task ``i`` finishes.
OnDone = Callable[[int, Any], None] | None


@runtime_checkable
class Executor(Protocol):
    """Maps ``fn(task, threads)`` over tasks; results in task order.

    ``on_done(i, result)`` is called in the calling process as each task finishes (for
    progress bars). ``threads`` is the native-thread budget of one in-process fit.
    """

    @property
    def threads(self) -> int: ...

    def workers(self, n_tasks: int) -> int:
        """How many tasks run at once when ``n_tasks`` are mapped."""
        ...

    def map(self, fn: TaskFn, tasks: Sequence[Any], *, on_done: OnDone = None) -> list[Any]: ...


@dataclasses.dataclass(frozen=True)
class LocalExecutor:
    """Tasks in joblib (loky) worker processes on this machine, threads capped per worker.

    Parameters
    ----------
    n_jobs : int, default=None
        Worker processes; default every available core.
    """

    n_jobs: int | None = None
    #: the warm-up thread, while one runs (a list: the executor itself is frozen)
    _warming: list = dataclasses.field(default_factory=list, repr=False, compare=False)
    #: the open joblib ``Parallel`` every map goes through, once one has run (see _runner)
    _open: list = dataclasses.field(default_factory=list, repr=False, compare=False)

    def warm_up(self, modules: Sequence[str]) -> None:
        """Start the worker processes now and have each import ``modules``, in a background
        thread: the workers' start-up (seconds of imports) overlaps whatever the caller does
        next in this process instead of delaying the first :meth:`map`, which waits for it."""
        workers, threads = worker_plan(self.n_jobs, 1 << 16)
        if workers == 1 or self._warming:
            return
        import threading

        from joblib import Parallel, delayed

        parent = os.getpid()

        def start() -> None:
            try:
                runner = Parallel(n_jobs=workers, backend="loky", max_nbytes="1M")
                runner(delayed(_run_task)(_import_all, modules, threads, parent) for _ in range(workers))  # fmt: skip
            except Exception:  # a failed warm-up only loses its head start
                pass

        thread = threading.Thread(target=start, name="groupwise-warm-up", daemon=True)
        self._warming.append(thread)
        thread.start()

    def _wait_for_warm_up(self) -> None:
        while self._warming:
            self._warming.pop().join()

    @property
    def threads(self) -> int:
        """Native threads one in-process fit may use (the whole budget)."""
        cores = available_cores()
        return cores if self.n_jobs is None else max(1, min(self.n_jobs, cores))

    def workers(self, n_tasks: int) -> int:
        return worker_plan(self.n_jobs, n_tasks)[0]

    def share(self, obj: Any) -> Any:
        """What tasks receive in place of ``obj`` (here ``obj`` itself)."""
        return obj

    def close(self) -> None:
        """Release the open ``Parallel`` and its temporary files (the workers are joblib's
        and stay for reuse); a warm-up still running is waited for first."""
        self._wait_for_warm_up()
        while self._open:
            self._open.pop().__exit__(None, None, None)

    def _runner(self, workers: int):
        """One joblib ``Parallel`` kept open from the first map to :meth:`close`. A
        ``Parallel`` per map deletes its temporary folder of memory-mapped arrays when the
        map ends, and waits in 0.1 s sleeps until every worker has let go of the files:
        1.2 s of a 27 s training run went to those waits. Kept open, the folder is
        deleted once, and an array sent again (the same content) reuses its file."""
        from joblib import Parallel

        if not self._open or self._open[0].n_jobs != workers:
            self.close()
            runner = Parallel(
                n_jobs=workers, backend="loky", return_as="generator_unordered", max_nbytes="1M"
            )
            runner.__enter__()
            self._open.append(runner)
        return self._open[0]

    def map(self, fn: TaskFn, tasks: Sequence[Any], *, on_done: OnDone = None) -> list[Any]:
        self._wait_for_warm_up()
        tasks = list(tasks)
        if not tasks:
            return []
        workers, threads = worker_plan(self.n_jobs, len(tasks))
        results: list[Any] = [None] * len(tasks)
        if workers == 1:
            for i, t in enumerate(tasks):
                results[i] = _run_task(fn, t, threads)
                if on_done:
                    on_done(i, results[i])
            return results
        from joblib import delayed

        def indexed(i_task, thr):
            i, t = i_task
            return i, fn(t, thr)

        # every core's worker, whatever the number of tasks: resizing joblib's pool of
        # workers would restart them; idle ones cost nothing
        runner = self._runner(worker_plan(self.n_jobs, 1 << 16)[0])
        parent = os.getpid()
        jobs = (delayed(_run_task)(indexed, (i, t), threads, parent) for i, t in enumerate(tasks))
        try:
            for i, res in runner(jobs):
                results[i] = res
                if on_done:
                    on_done(i, res)
        except BaseException:  # a map left unfinished: the next one starts a new Parallel
            self.close()
            raise
        return results


def _import_all(modules: Sequence[str], threads: int) -> None:
    import importlib
    import importlib.util

    for name in modules:
        if importlib.util.find_spec(name.split(".")[0]) is not None:
            importlib.import_module(name)


def parallel_map(
    fn: Callable[[Any, int], Any],
    tasks: Sequence[Any],
    *,
    n_jobs: int | None = None,
    on_done: Callable[[int, Any], None] | None = None,
) -> list[Any]:
    """``[fn(task, threads) for task in tasks]`` on a :class:`LocalExecutor`."""
    executor = LocalExecutor(n_jobs)
    try:
        return executor.map(fn, tasks, on_done=on_done)
    finally:
        executor.close()


class DaskExecutor:
    """Tasks on a Dask cluster (the ``[dask]`` extra), the same contract as
    :class:`LocalExecutor`: results in task order, native threads capped per task at the
    worker's own thread count.

    Build one with :func:`make_executor` (``"dask"`` starts a local cluster on loopback,
    ``"dask://HOST:PORT"`` connects to a running scheduler). Tasks are submitted as
    impure (every task runs), so a worker that dies has its tasks re-run elsewhere by the
    scheduler; a task that keeps failing fails the map.
    """

    def __init__(self, client, *, cluster=None):
        self.client = client
        self._cluster = cluster

    @property
    def address(self) -> str:
        return self.client.scheduler.address

    def _nthreads(self) -> dict[str, int]:
        return dict(self.client.nthreads())

    @property
    def threads(self) -> int:
        """Native threads one fit in the calling process may use (its own cores, as with
        :class:`LocalExecutor`); tasks on workers get :attr:`worker_threads`."""
        return available_cores()

    @property
    def worker_threads(self) -> int:
        """Native threads one task on a worker may use: the smallest worker's threads."""
        n = self._nthreads()
        return max(1, min(n.values())) if n else 1

    def workers(self, n_tasks: int) -> int:
        return max(1, min(n_tasks, sum(self._nthreads().values()) or 1))

    def share(self, obj: Any) -> Any:
        """Send ``obj`` to every worker once; pass the returned handle inside tasks."""
        return self.client.scatter(obj, broadcast=True, hash=False)

    def map(self, fn: TaskFn, tasks: Sequence[Any], *, on_done: OnDone = None) -> list[Any]:
        from distributed import as_completed

        tasks = list(tasks)
        if not tasks:
            return []
        threads = self.worker_threads
        futures = [self.client.submit(_run_task, fn, t, threads, pure=False) for t in tasks]
        order = {f.key: i for i, f in enumerate(futures)}
        results: list[Any] = [None] * len(tasks)
        try:
            for future in as_completed(futures):
                i = order[future.key]
                results[i] = future.result()
                if on_done:
                    on_done(i, results[i])
        except BaseException:
            self.client.cancel(futures)
            raise
        return results

    def close(self) -> None:
        """Close the client, and the cluster if this executor started it."""
        self.client.close()
        if self._cluster is not None:
            self._cluster.close()


def check_executor(spec: Any, flag: str = "--executor") -> str:
    """``spec`` if it names an executor (``local``, ``dask``, ``dask://HOST:PORT``), else a
    ConfigError saying what is accepted."""
    from groupwise.exceptions import ConfigError

    if isinstance(spec, str) and (spec in ("local", "dask") or spec.startswith("dask://")):
        return spec
    raise ConfigError(
        f"{flag} must be 'local', 'dask' or 'dask://HOST:PORT'. Got {spec!r} instead.",
        parameter="executor",
        value=spec,
    )


def make_executor(spec: str | None = "local", n_jobs: int | None = None):
    """The executor ``--executor`` names: ``"local"`` (joblib workers on this machine),
    ``"dask"`` (a Dask LocalCluster on loopback: one single-threaded worker per core, so
    workers × threads never exceeds the cores) or ``"dask://HOST:PORT"`` (a running
    scheduler). Close it with ``.close()``."""
    from groupwise.exceptions import EnvironmentFault, MissingDependencyError

    spec = check_executor((spec or "local").strip())
    if spec == "local":
        return LocalExecutor(n_jobs)
    try:
        import dask  # noqa: F401
        from distributed import Client, LocalCluster
    except ImportError:
        raise MissingDependencyError(
            f"--executor {spec} needs the [dask] extra: pip install 'groupwise[dask]'."
        ) from None
    if spec == "dask":
        workers = worker_plan(n_jobs, available_cores())[0]
        cluster = LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
            dashboard_address=None, silence_logs=40,
        )  # fmt: skip
        return DaskExecutor(Client(cluster), cluster=cluster)
    address = "tcp://" + spec[len("dask://") :]
    try:
        client = Client(address, timeout="10s")
    except OSError as exc:
        raise EnvironmentFault(
            f"Cannot reach the Dask scheduler at {address} ({exc}). Start it (dask scheduler) "
            "or check the address; --executor dask starts a local cluster instead."
        ) from None
    return DaskExecutor(client)
