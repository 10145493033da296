"""Independent fits on all cores: the processes behind ``select(n_jobs=...)``.

A grid of small fits (mclust's 14 models x 9 K on a few hundred rows) is
thousands of EM iterations of tens of microseconds each, spent almost all in
the interpreter: threads would queue on the GIL, so the cells run in
processes. Where the platform forks (Linux), the workers are forked from the
caller and inherit its modules and data (a fork takes about 4 ms here; a
``multiprocessing`` pool, 13 ms to start and 0.1 ms a task), the caller works
through a share of the tasks itself, and only the results travel, pickled
through a pipe; elsewhere joblib's processes (loky) take the tasks, at a
start-up of about a second, so they are used only when asked for.

Each process limits the BLAS and OpenMP to one thread: the processes already
use every core, and more threads per process would only contend.

The results travel pickled, and only between this process and children it
forked itself, over a pipe it made: the same program on both ends, nothing
written anywhere, nothing read from outside. That is not persistence: model
files stay JSON plus NumPy arrays (:mod:`mixtura.io`), which cannot run code
when loaded. mixtura's own format was measured for this channel and is too
slow for it (1.1 ms to load one fitted Gaussian mixture against 0.05 ms for a
pickle round trip: a third of what two processes save on Old Faithful).

Measured on this project's 2-core machine (``benchmarks/bench_mclust.py``,
``benchmarks/RESULTS.md``): mclust's grid on Old Faithful from 0.78-0.83 s in
one process to 0.55 s on two.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import pickle
import signal
import struct
import sys
import time
import warnings

__all__ = [
    "AUTO_MIN_WORK",
    "parallel_map",
    "usable_cpus",
    "worker_count",
]

#: ``n_jobs=None`` runs in parallel when the tasks' rows add up to at least this
#: many (n_samples x number of fits): below it a grid takes a few tens of
#: milliseconds in one process, about what starting the workers costs.
AUTO_MIN_WORK = 20_000


def usable_cpus():
    """CPUs this process may run on (its affinity mask where the OS has one).

    Returns
    -------
    int
    """
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def _forks():
    """Whether workers can be forked: a POSIX system other than macOS, whose
    system libraries (Accelerate, Objective-C) are not safe across a fork."""
    return (
        "fork" in multiprocessing.get_all_start_methods() and sys.platform != "darwin"
    )


def worker_count(n_jobs, n_tasks, work):
    """How many processes run ``n_tasks`` tasks for a given ``n_jobs``.

    Parameters
    ----------
    n_jobs : int or None
        None: all usable CPUs where workers fork and ``work`` reaches
        :data:`AUTO_MIN_WORK`, else one. A negative value counts back from the
        usable CPUs, as joblib does (-1: all of them). 1 (or 0 tasks to share)
        means no workers: the caller's process runs the tasks.
    n_tasks : int
    work : int
        The tasks' size, in rows fitted (n_samples x fits).

    Returns
    -------
    int
        At least 1, at most ``n_tasks``.

    Raises
    ------
    ValueError
        If ``n_jobs`` is 0 or not an integer.
    """
    if n_jobs is None:
        wanted = usable_cpus() if _forks() and work >= AUTO_MIN_WORK else 1
    elif isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs == 0:
        raise ValueError(
            f"n_jobs must be None, a positive number of processes or a negative "
            f"count back from the usable CPUs (-1: all); got {n_jobs!r}."
        )
    elif n_jobs < 0:
        wanted = max(1, usable_cpus() + 1 + n_jobs)
    else:
        wanted = n_jobs
    return max(1, min(wanted, n_tasks))


def parallel_map(function, tasks, n_workers, serial_seconds=0.0, costs=None):
    """``[function(task) for task in tasks]``, on ``n_workers`` processes.

    With ``serial_seconds``, the tasks first run here, one after another,
    until that much time has passed: a batch that finishes sooner never pays
    for workers (about 50 ms on this project's machine, mostly the children's
    first touches of the memory they share with this process). Then, where
    workers fork, the caller's process and ``n_workers - 1`` forked children
    take the remaining tasks from one queue, each the next task as soon as it
    is free (tasks of unequal and unknown cost, as a grid's rows are, keep
    every process busy to the end); each child sends its results back through
    a pipe, pickled, with the warnings its tasks raised, which are raised again
    here. An exception in a child's task is raised here.

    Parameters
    ----------
    function : callable
        Module-level (picklable) where workers cannot fork.
    tasks : sequence
    n_workers : int
        From :func:`worker_count`; 1 runs the tasks here.
    serial_seconds : float, default=0.0
        How long to run tasks here before sharing the rest (0: share all).
    costs : sequence of float, default=None
        Each task's expected cost, where tasks differ: the serial start then
        runs the cheapest, and the queue holds the rest costliest first
        (longest processing time first, Graham 1969), so that the last tasks
        to start are short.

    Returns
    -------
    results : list
        In the tasks' order; the same values as the loop (up to the rounding of
        a BLAS run on one thread instead of several).
    """
    order = list(range(len(tasks)))
    if costs is not None:  # the cheapest here first, the costliest queued first
        order.sort(key=lambda index: costs[index])
    results = [None] * len(tasks)
    n_started = 0
    if n_workers > 1 and serial_seconds > 0:
        deadline = time.perf_counter() + serial_seconds
        for index in order:
            results[index] = function(tasks[index])
            n_started += 1
            if time.perf_counter() >= deadline:
                break
    rest = order[n_started:]
    n_workers = min(n_workers, len(rest))
    if n_workers <= 1:
        values = [function(tasks[index]) for index in rest]
    elif not _forks():
        from joblib import Parallel, delayed

        values = Parallel(n_jobs=n_workers)(
            delayed(function)(tasks[index]) for index in rest
        )
    else:
        rest_costs = None if costs is None else [costs[index] for index in rest]
        values = _forked_map(function, [tasks[i] for i in rest], n_workers, rest_costs)
    for index, value in zip(rest, values, strict=True):
        results[index] = value
    return results


#: bytes of one task index in the queue (a pipe): reads this small are atomic
_INDEX = struct.Struct("<i")
#: the most tasks a queue holds: its indices are written before the workers
#: start, so they must fit in a pipe's buffer (64 KiB on Linux, at least 4 KiB
#: by POSIX); longer lists are shared in fixed slices
_MAX_QUEUED = 1000


def _forked_map(function, tasks, n_workers, costs=None):
    from mixtura.inference.data import single_threaded_blas

    order = list(range(len(tasks)))
    if costs is not None:
        order.sort(key=lambda index: -costs[index])
    if len(order) > _MAX_QUEUED:
        return _forked_slices(function, tasks, n_workers)
    queue_fd, fill_fd = os.pipe()
    os.write(fill_fd, b"".join(_INDEX.pack(index) for index in order))
    os.close(fill_fd)  # an empty queue then reads as its end
    children = []
    results = [None] * len(tasks)
    try:
        for _ in range(n_workers - 1):
            children.append(_fork_child(function, tasks, queue_fd))
        with single_threaded_blas():  # one thread here too: the cores are shared
            for index in _queued(queue_fd):
                results[index] = function(tasks[index])
        for child in children:
            for index, result in child.collect():
                results[index] = result
    finally:
        os.close(queue_fd)
        for child in children:
            child.stop()
    return results


def _queued(queue_fd):
    """Task indices taken from the queue until it is empty (in any process)."""
    while True:
        data = os.read(queue_fd, _INDEX.size)
        if len(data) < _INDEX.size:
            return
        yield _INDEX.unpack(data)[0]


def _forked_slices(function, tasks, n_workers):
    """:func:`_forked_map` for task lists longer than a queue holds: one
    queue (and set of children) per slice of :data:`_MAX_QUEUED` tasks."""
    results = []
    for start in range(0, len(tasks), _MAX_QUEUED):
        results += _forked_map(function, tasks[start : start + _MAX_QUEUED], n_workers)
    return results


class _Child:
    """A forked worker: its process id and the read end of its results' pipe."""

    def __init__(self, pid, read_fd):
        self.pid = pid
        self.read_fd = read_fd
        self.done = False

    def collect(self):
        """The child's ``(task index, result)`` pairs (its warnings re-raised)."""
        pipe = os.fdopen(self.read_fd, "rb")
        self.read_fd = None  # the file object owns it now
        with pipe:
            try:
                status, payload, caught = pickle.load(pipe)
            except (EOFError, pickle.UnpicklingError):
                status, payload, caught = "error", None, []
        _, exit_status = os.waitpid(self.pid, 0)
        self.done = True
        if payload is None:
            payload = RuntimeError(
                f"a worker process ended without sending its results "
                f"(wait status {exit_status}); run with n_jobs=1 to see why."
            )
        for category, message in caught:
            warnings.warn(message, category, stacklevel=4)
        if status == "error":
            raise payload
        return payload

    def stop(self):
        """Kill and reap the child if its results were not collected (an error
        or an interrupt in the caller)."""
        if self.done:
            return
        with contextlib.suppress(ProcessLookupError, ChildProcessError):
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        if self.read_fd is not None:
            os.close(self.read_fd)
            self.read_fd = None
        self.done = True


def _fork_child(function, tasks, queue_fd):
    read_fd, write_fd = os.pipe()
    with warnings.catch_warnings():
        # Python >= 3.12 warns on every fork of a process with threads; the
        # threads here are the BLAS's idle pool, which OpenBLAS shuts down
        # before a fork and starts again after it (its own fork handlers)
        warnings.filterwarnings(
            "ignore", ".*use of fork\\(\\) may lead to deadlocks", DeprecationWarning
        )
        pid = os.fork()
    if pid == 0:  # the child: run tasks from the queue, send the results, exit
        os.close(read_fd)
        _child_main(function, tasks, queue_fd, write_fd)
    os.close(write_fd)
    return _Child(pid, read_fd)


def _child_main(function, tasks, queue_fd, write_fd):  # pragma: no cover - in a child
    code = 0
    try:
        from mixtura.inference.data import _blas_controller

        _blas_controller().limit(limits=1)  # BLAS and OpenMP: one thread each
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                done = [(i, function(tasks[i])) for i in _queued(queue_fd)]
                message = ("ok", done)
            except Exception as error:  # raised again in the caller
                message = ("error", _picklable(error))
        message += ([(w.category, str(w.message)) for w in caught],)
        try:
            payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as error:  # a result that cannot travel
            payload = pickle.dumps(("error", _picklable(error), message[2]))
        with os.fdopen(write_fd, "wb") as pipe:
            pipe.write(payload)
    except BaseException:
        code = 1
    finally:
        os._exit(code)  # no atexit handlers, no flush of the caller's buffers


def _picklable(error):
    """``error`` if it survives pickling, else a RuntimeError with its text."""
    try:
        pickle.loads(pickle.dumps(error))
        return error
    except Exception:
        return RuntimeError(f"{type(error).__name__}: {error}")
