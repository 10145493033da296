"""Progress bars (mixtura.progress) and Ctrl-C during a fit (FitInterrupted)."""

import os
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from sklearn.utils.validation import check_is_fitted

from mixtura import GaussianMixture, PoissonMixture, load, save, select
from mixtura.inference import FitInterrupted

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

FIT_SCRIPT = textwrap.dedent(
    """
    import numpy as np
    from mixtura import GaussianMixture, select
    X = np.random.default_rng(0).normal(size=(200, 2))
    X[:100] += 3
    GaussianMixture(3, n_init=2, max_iter=30, tol=0, progress=True,
                    random_state=0).fit(X)
    select(X, n_components=[1, 2], progress=True, n_jobs=1)
    print("done")
    """
)


def _blobs(n=200, seed=0):
    X = np.random.default_rng(seed).normal(size=(n, 2))
    X[: n // 2] += 4
    return X


def _environment():
    env = dict(os.environ, OMP_NUM_THREADS="1", COLUMNS="100")
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [os.path.join(ROOT, "src"), env.get("PYTHONPATH")])
    )
    return env


def _read_all(fd, process, timeout=120):
    """Everything written to the pty's master side until the child exits."""
    import select as select_module

    chunks, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select_module.select([fd], [], [], 0.2)
        if ready:
            try:
                data = os.read(fd, 65536)
            except OSError:  # the slave side closed (Linux: EIO)
                break
            if not data:
                break
            chunks.append(data)
        elif process.poll() is not None:
            break
    return b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_bar_is_drawn_on_a_terminal():
    pytest.importorskip("tqdm")
    import fcntl
    import pty
    import struct
    import termios

    master, slave = pty.openpty()
    # a new pseudo-terminal is 0 columns wide: give it a size, as a terminal has
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    try:
        process = subprocess.Popen(
            [sys.executable, "-c", FIT_SCRIPT],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=_environment(),
            close_fds=True,
        )
        os.close(slave)
        slave = None
        output = _read_all(master, process)
        assert process.wait(timeout=60) == 0, output
    finally:
        if slave is not None:
            os.close(slave)
        os.close(master)
    assert "done" in output
    assert "%|" in output  # tqdm's bar
    assert "GaussianMixture" in output  # the fit's bar, labelled
    assert "60/60" in output  # restarts x iterations, filled at the end
    assert "select" in output and "8/8" in output  # the grid's 4 x 2 cells


def test_no_bar_when_piped():
    pytest.importorskip("tqdm")
    done = subprocess.run(
        [sys.executable, "-c", FIT_SCRIPT],
        capture_output=True,
        text=True,
        env=_environment(),
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "done"
    for mark in ("%|", "\r", "it/s", "cell"):
        assert mark not in done.stderr, done.stderr
        assert mark not in done.stdout


@pytest.fixture
def without_tqdm(monkeypatch):
    # a None entry in sys.modules makes `import tqdm` raise ImportError
    monkeypatch.setitem(sys.modules, "tqdm", None)


def test_missing_tqdm_is_a_clear_error(without_tqdm):
    X = _blobs()
    with pytest.raises(ImportError, match=r'pip install "mixtura\[progress\]"'):
        GaussianMixture(2, progress=True).fit(X)
    with pytest.raises(ImportError, match="tqdm"):
        select(X, n_components=[1, 2], progress=True)
    # the core works without it
    GaussianMixture(2, random_state=0).fit(X)
    select(X, n_components=[1], n_jobs=1)


def test_progress_is_an_estimator_parameter():
    model = GaussianMixture(2, progress=True)
    assert model.get_params()["progress"] is True
    assert PoissonMixture().get_params()["progress"] is False
    with pytest.raises(ValueError, match="progress"):
        GaussianMixture(2, progress="yes").fit(_blobs())


class _InterruptAt:
    """A callback that raises KeyboardInterrupt at (restart, iteration)."""

    def __init__(self, init, n_iter):
        self.at = (init, n_iter)
        self.seen = []

    def __call__(self, info):
        self.seen.append((info.init, info.n_iter))
        if (info.init, info.n_iter) == self.at:
            raise KeyboardInterrupt


def test_ctrl_c_keeps_a_valid_fit():
    X = _blobs()
    model = GaussianMixture(
        3, max_iter=100, tol=0, random_state=0, callback=_InterruptAt(0, 4)
    )
    with pytest.raises(KeyboardInterrupt) as caught:
        model.fit(X)
    assert isinstance(caught.value, FitInterrupted)
    assert caught.value.estimator is model
    check_is_fitted(model)
    assert model.n_iter_ == 4 and len(model.lower_bounds_) == 4
    assert not model.converged_
    assert model.fit_events_[-1]["event"] == "interrupted"
    assert model.fit_events_[-1]["iteration"] == 4
    assert np.isclose(model.weights_.sum(), 1.0)
    assert np.all(np.isfinite(model.score_samples(X)))
    # the parameters are those of 4 uninterrupted iterations
    reference = GaussianMixture(3, max_iter=4, tol=0, random_state=0)
    with pytest.warns(Warning):
        reference.fit(X)
    assert np.allclose(model.means_, reference.means_)


def test_ctrl_c_in_a_later_restart_keeps_the_best_so_far(tmp_path):
    X = _blobs()
    callback = _InterruptAt(1, 1)
    model = GaussianMixture(2, n_init=3, random_state=0, callback=callback)
    with pytest.raises(FitInterrupted):
        model.fit(X)
    assert max(init for init, _ in callback.seen) == 1  # no third restart
    # restart 0 ran to convergence and beats restart 1's first iteration
    reference = GaussianMixture(2, n_init=1, random_state=0).fit(X)
    assert np.allclose(model.means_, reference.means_)
    assert model.lower_bound_ == reference.lower_bound_
    assert [e["event"] for e in model.fit_events_] == ["interrupted"]
    # what the command line does with it: save and load
    save(model.set_params(callback=None), tmp_path / "m.mixtura")
    assert np.allclose(load(tmp_path / "m.mixtura").means_, model.means_)


def test_ctrl_c_in_select_hands_on_the_finished_cells(monkeypatch):
    X = _blobs()
    calls = []
    original = GaussianMixture._fit_iterations

    def fit_iterations(self, *args, **kwargs):
        # the grid fits a row's models side by side (inference/lockstep.py):
        # Ctrl-C as the first fit of the second row (K = 2) starts
        calls.append(self.n_components)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(GaussianMixture, "_fit_iterations", fit_iterations)
    with pytest.raises(KeyboardInterrupt) as caught:
        select(X, n_components=[1, 2], models=["full", "diag"], n_jobs=1)
    partial = caught.value.partial_table
    # the finished row is handed on; the interrupted row's cells are not
    assert len(partial) == 2
    assert partial.n_components == (1,)
    assert set(partial.models) == {"full", "diag"}


def _write_blobs(path):
    X = _blobs()
    with open(path, "w") as handle:
        handle.write("a,b\n")
        for row in X:
            handle.write(f"{float(row[0])!r},{float(row[1])!r}\n")


@pytest.mark.parametrize("command", ["fit", "select"])
def test_cli_ctrl_c_saves_the_best_fit_and_exits_130(
    tmp_path, monkeypatch, capsys, command
):
    pytest.importorskip("click")
    from mixtura.cli import main
    from mixtura.estimators import base

    _write_blobs(tmp_path / "d.csv")
    interrupt = _InterruptAt(0, 1)
    monkeypatch.setattr(base.BaseMixture, "_progress_callback", lambda self: interrupt)
    monkeypatch.chdir(tmp_path)
    args = ["-k", "2"] if command == "fit" else ["-k", "1-3", "--model", "full"]
    if command == "select":
        # the first cell fits, the second is interrupted at its first iteration
        calls = []

        def counting(info, calls=calls):
            if info.n_iter == 1:
                calls.append(info.init)
            if len(calls) == 2:
                raise KeyboardInterrupt

        monkeypatch.setattr(
            base.BaseMixture, "_progress_callback", lambda self: counting
        )
    status = main([command, "d.csv", *args, "-q", "-o", "m.mixtura"])
    captured = capsys.readouterr()
    assert status == 130
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "interrupted" in lines[0]
    assert "m.mixtura" in lines[0]
    model = load(tmp_path / "m.mixtura")
    check_is_fitted(model)
    if command == "select":
        assert model.n_components == 1  # the one finished cell
    else:
        assert model.n_iter_ == 1
