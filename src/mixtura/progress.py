"""Progress bars (tqdm) over a fit's restarts x iterations and a grid's cells.

``progress=True`` on an EM estimator (``GaussianMixture(progress=True)``) or on
:func:`mixtura.select` draws a bar with `tqdm <https://tqdm.github.io>`_, an
optional dependency (``pip install "mixtura[progress]"``); the core imports
and fits without it, and only ``progress=True`` asks for it.

- A fit's bar is one more per-iteration callback (:class:`FitProgress`, fed
  the :class:`~mixtura.inference.IterationInfo` that ``callback`` receives):
  ``n_init x max_iter`` steps, a restart that converges early jumping to the
  start of the next, the restart and the bound shown beside it.
- A grid's bar counts the cells fitted (:class:`GridProgress`); with
  several processes, the cells of the forked workers are counted when their
  results arrive.

The bars are drawn on stderr and only when it is a terminal (tqdm's
``disable=None``): piped or redirected output stays clean, so logs and CI
see no bar.
"""

from __future__ import annotations

import os

__all__ = ["INSTALL_HINT", "FitProgress", "GridProgress", "require_tqdm"]

#: how to install the optional dependency, named in the ImportError
INSTALL_HINT = 'pip install "mixtura[progress]"'


def require_tqdm():
    """tqdm's bar class, or an ImportError that says how to install it.

    Returns
    -------
    tqdm : type

    Raises
    ------
    ImportError
        If tqdm is not installed.
    """
    try:
        from tqdm import tqdm
    except ImportError as error:
        raise ImportError(
            "progress=True draws its progress bar with tqdm, which is not "
            f"installed: install it with {INSTALL_HINT} (or pip install tqdm), "
            "or leave progress=False."
        ) from error
    return tqdm


class FitProgress:
    """A fit loop callback that draws a bar over restarts x iterations.

    Parameters
    ----------
    n_init : int
        Restarts of the fit (1 for a warm start).
    max_iter : int
        Iterations per restart.
    desc : str, default=None
        Label before the bar (e.g. the estimator's name).
    file : file-like, default=None
        Where the bar goes (tqdm's default: stderr); drawn only on a terminal.
    """

    def __init__(self, n_init, max_iter, desc=None, file=None):
        tqdm = require_tqdm()
        self.n_init = int(n_init)
        self.max_iter = int(max_iter)
        self.bar = tqdm(
            total=self.n_init * self.max_iter,
            desc=desc,
            unit="it",
            disable=None,
            file=file,
            dynamic_ncols=True,
        )

    def __call__(self, info):
        """Advance the bar to iteration ``info.n_iter`` of restart ``info.init``.

        Parameters
        ----------
        info : IterationInfo
        """
        position = min(info.init * self.max_iter + info.n_iter, self.bar.total)
        self.bar.set_postfix(
            restart=f"{info.init + 1}/{self.n_init}",
            bound=f"{info.lower_bound:.6g}",
            refresh=False,
        )
        if position > self.bar.n:
            self.bar.update(position - self.bar.n)

    def close(self, finished=True):
        """Fill the bar (a fit that converged early is complete) and close it.

        Parameters
        ----------
        finished : bool, default=True
            False leaves the bar where it stopped (an interrupted fit).
        """
        if finished and self.bar.total and self.bar.n < self.bar.total:
            self.bar.update(self.bar.total - self.bar.n)
        self.bar.close()


class GridProgress:
    """Count the cells of a model-selection grid on a bar, in this process.

    Wraps the function that fits one cell: each result that arrives in the
    process that made the wrapper advances the bar and is kept in
    :attr:`done` (what an interrupted :func:`~mixtura.select` still has). In
    a forked worker the copy does neither; pickled (joblib's workers) it
    travels without its bar.

    Parameters
    ----------
    function : callable
        ``function(task) -> cell`` or ``-> list of cells``.
    total : int
        Number of cells.
    enabled : bool
        Whether to draw a bar (else only :attr:`done` is kept).
    desc : str, default='select'
    """

    def __init__(self, function, total, enabled, desc="select"):
        self.function = function
        self.done = []
        self._pid = os.getpid()
        self.bar = None
        if enabled:
            tqdm = require_tqdm()
            self.bar = tqdm(
                total=int(total),
                desc=desc,
                unit="cell",
                disable=None,
                dynamic_ncols=True,
            )

    def __call__(self, task):
        result = self.function(task)
        if os.getpid() == self._pid:
            # a task fits one cell, or a list of them (a row of the grid)
            cells = result if isinstance(result, list) else [result]
            self.done.extend(cells)
            if self.bar is not None:
                self.bar.update(len(cells))
        return result

    def __getstate__(self):
        # joblib's workers get the function only: the bar stays here
        return {"function": self.function, "_pid": None}

    def __setstate__(self, state):
        self.function = state["function"]
        self._pid = state["_pid"]
        self.done = []
        self.bar = None

    def finish(self, n_done):
        """Set the bar to ``n_done`` cells (workers' results) and close it.

        Parameters
        ----------
        n_done : int
        """
        if self.bar is None:
            return
        if n_done > self.bar.n:
            self.bar.update(n_done - self.bar.n)
        self.bar.close()

    def close(self):
        """Close the bar where it is (an interrupted or failed grid)."""
        if self.bar is not None:
            self.bar.close()
