"""Independent fits on several processes (inference/parallel.py)."""

import os
import pickle
import time
import warnings

import numpy as np
import pytest

from mixtura.inference import parallel
from mixtura.inference.parallel import (
    AUTO_MIN_WORK,
    parallel_map,
    usable_cpus,
    worker_count,
)

needs_fork = pytest.mark.skipif(
    not parallel._forks(), reason="workers are forked only where the OS forks"
)


def _square(value):
    return value * value


def _fail_on_three(value):
    if value == 3:
        raise KeyError(f"task {value}")
    return value


class _Unpicklable(Exception):
    def __reduce__(self):
        raise TypeError("not picklable")


def _fail_unpicklably(value):
    if value == 2:
        raise _Unpicklable("lost")
    return value


def _unpicklable_result(value):
    time.sleep(0.1)  # long enough that the worker takes some of the tasks
    return lambda: value


def _warn_and_return(value):
    warnings.warn(f"task {value} warns", UserWarning, stacklevel=1)
    return value


def _pid(_):
    return os.getpid()


def _no_children_left():
    try:
        os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


def test_worker_count_follows_n_jobs():
    assert worker_count(1, 50, 10**9) == 1
    assert worker_count(3, 50, 1) == 3
    assert worker_count(8, 2, 10**9) == 2  # never more workers than tasks
    assert worker_count(-1, 50, 1) == min(usable_cpus(), 50)
    assert worker_count(-(usable_cpus() + 5), 50, 1) == 1


def test_worker_count_by_default_parallel_only_for_enough_work(monkeypatch):
    monkeypatch.setattr(parallel, "usable_cpus", lambda: 4)
    monkeypatch.setattr(parallel, "_forks", lambda: True)
    assert worker_count(None, 126, AUTO_MIN_WORK - 1) == 1
    assert worker_count(None, 126, AUTO_MIN_WORK) == 4
    assert worker_count(None, 3, AUTO_MIN_WORK) == 3
    # where workers cannot fork, starting them costs too much to do unasked
    monkeypatch.setattr(parallel, "_forks", lambda: False)
    assert worker_count(None, 126, 10**9) == 1
    assert worker_count(2, 126, 1) == 2


@pytest.mark.parametrize("n_jobs", [0, 1.5, True, "2"])
def test_worker_count_refuses_a_bad_n_jobs(n_jobs):
    with pytest.raises(ValueError, match="n_jobs must be"):
        worker_count(n_jobs, 10, 10)


@pytest.mark.parametrize("n_workers", [1, 2, 3])
def test_results_come_back_in_the_tasks_order(n_workers):
    tasks = list(range(17))
    assert parallel_map(_square, tasks, n_workers) == [t * t for t in tasks]
    assert _no_children_left()


def _sleep_then_pid(seconds):
    time.sleep(seconds)
    return os.getpid()


@needs_fork
def test_a_batch_shorter_than_serial_seconds_starts_no_worker():
    pids = parallel_map(_sleep_then_pid, [0.0] * 10, 3, serial_seconds=30.0)
    assert pids == [os.getpid()] * 10


@needs_fork
def test_after_serial_seconds_the_rest_is_shared():
    # the first task alone outlasts the serial time: the other six are shared
    # (each long enough that every process takes some from the queue)
    tasks = [0.2] + [0.15] * 6
    pids = parallel_map(_sleep_then_pid, tasks, 3, serial_seconds=0.1)
    assert pids[0] == os.getpid()
    assert len(set(pids[1:])) == 3
    assert os.getpid() in pids[1:]  # the caller works through the queue too


@needs_fork
def test_tasks_run_in_several_processes():
    pids = parallel_map(_sleep_then_pid, [0.15] * 6, 3)
    assert len(set(pids)) == 3
    assert os.getpid() in pids  # the caller takes tasks from the queue too


@needs_fork
def test_an_error_in_a_worker_is_raised_here_and_no_worker_is_left():
    with pytest.raises(KeyError, match="task 3"):
        parallel_map(_fail_on_three, list(range(8)), 2)
    assert _no_children_left()


@needs_fork
def test_an_error_that_cannot_be_pickled_arrives_as_its_text():
    with pytest.raises(RuntimeError, match="_Unpicklable: lost"):
        parallel_map(_fail_unpicklably, [0, 1, 2, 3], 3)
    assert _no_children_left()


@needs_fork
def test_a_result_that_cannot_travel_is_an_error_here():
    with pytest.raises((AttributeError, TypeError, pickle.PicklingError)):
        parallel_map(_unpicklable_result, [0, 1, 2, 3], 2)
    assert _no_children_left()


@needs_fork
def test_warnings_of_the_workers_are_raised_here():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert parallel_map(_warn_and_return, [0, 1, 2, 3], 2) == [0, 1, 2, 3]
    assert sorted(str(w.message) for w in caught) == [
        f"task {i} warns" for i in range(4)
    ]


@needs_fork
def test_numpy_results_travel_intact():
    tasks = [np.arange(5.0) + i for i in range(4)]
    results = parallel_map(np.cumsum, tasks, 2)
    for task, result in zip(tasks, results, strict=True):
        np.testing.assert_array_equal(result, np.cumsum(task))


@needs_fork
def test_the_queue_gives_the_two_long_tasks_to_two_processes():
    # the two long tasks first in the queue: while one process sleeps in the
    # first, the other takes the second (fixed shares of every other task
    # would do the same here only by luck of the order; see the next test)
    pids = parallel_map(_sleep_then_pid, [0.3, 0.3] + [0.0] * 10, 2)
    assert pids[0] != pids[1]
    assert os.getpid() in pids[:2]


def test_with_costs_the_serial_start_runs_the_cheapest_tasks_first():
    ran = []
    tasks = ["c", "a", "b"]
    result = parallel_map(ran.append, tasks, 2, serial_seconds=60, costs=[3, 1, 2])
    assert ran == ["a", "b", "c"]  # all ran here, before the deadline
    assert result == [None, None, None]  # and the results in the tasks' order


def test_a_long_task_list_goes_through_slices_of_the_queue(monkeypatch):
    monkeypatch.setattr(parallel, "_MAX_QUEUED", 4)
    tasks = list(range(11))
    assert parallel.parallel_map(_square, tasks, 2) == [t * t for t in tasks]


def test_parallel_map_with_costs_returns_the_tasks_in_order():
    from mixtura.inference.parallel import parallel_map

    tasks = list(range(7))
    result = parallel_map(_square, tasks, 2, costs=[7, 1, 1, 1, 1, 1, 1])
    assert result == [t * t for t in tasks]
