"""Parameter descriptions that several estimators share, written once.

An estimator's docstring names them on one line, ``{{shared: tol max_iter}}``,
at the indentation of its other parameters; :func:`shared_docstring` (a class
or function decorator) puts the descriptions there, in that order. Parameters
whose meaning differs between estimators (``missing``, a Bayesian ``tol``)
stay written in the estimator's own docstring.
"""

from __future__ import annotations

import re

__all__ = ["SHARED_PARAMETERS", "fill_shared_parameters", "shared_docstring"]

#: name -> numpydoc entry (header line, then the description indented by 4);
#: a backslash continues a long header line, and the spaces after it are those
#: the estimators' own docstrings have, so the filled text is the same
SHARED_PARAMETERS = {
    "tol": """\
tol : float, default=1e-3
    EM stops when the mean per-sample log-likelihood changes by less than this.""",
    "max_iter": """\
max_iter : int, default=100
    Number of EM iterations per initialisation.""",
    "n_init": """\
n_init : int, default=1
    Number of initialisations; the best log-likelihood is kept.""",
    "init_params": """\
init_params : {'kmeans', 'k-means++', 'random', 'random_from_data'} or \
            array-like of shape (n_samples,), default='kmeans'
    How initial responsibilities are made (k-means methods cluster the
    family's :meth:`~mixtura.families.base.Family.init_features`), or integer
    labels of the training rows.""",
    "random_state": """\
random_state : int, RandomState instance, Generator or None, default=None
    Seed of initialisation and sampling. A Generator seeds a new RandomState
    at each fit, so it advances: a fresh ``default_rng(seed)`` reproduces a fit.""",
    "warm_start": """\
warm_start : bool, default=False
    Continue from the fitted parameters on the next ``fit``.""",
    "verbose": """\
verbose : int, default=0
    Print progress.""",
    "verbose_interval": """\
verbose_interval : int, default=10
    Iterations between progress messages.""",
    "callback": """\
callback : callable, default=None
    Called after each iteration with an
    :class:`~mixtura.inference.IterationInfo`.""",
    "progress": """\
progress : bool, default=False
    Draw a progress bar over restarts x iterations on stderr, when it is a
    terminal (:mod:`mixtura.progress`; needs tqdm, ``pip install
    "mixtura[progress]"``). Ctrl-C during a fit keeps the best restart so far
    as the fit (recorded in ``fit_events_``) and raises the KeyboardInterrupt
    again.""",
    "chunk_size": """\
chunk_size : int, default=None
    Rows processed at a time.""",
    "on_degenerate": """\
on_degenerate : {'reseed', 'regularize', 'prune', 'stop', 'raise'}, \
            default='reseed'
    What an M-step that collapses a component (a singular covariance) does:
    re-seed the component from the worst-explained rows, redo the M-step
    with ten times the regularisation, remove the component, end the
    restart with the last valid parameters, or raise. A recovery that
    fails escalates in that order; each one is recorded in ``fit_events_``
    (see :mod:`mixtura.inference.degenerate`). A component that empties
    instead (its weight falls under a thousandth of a row's worth) is
    re-seeded, removed, kept (``'regularize'``, ``'stop'``) or raised as an
    :class:`~mixtura.exceptions.EmptyComponentError`, recorded with
    ``'reason': 'emptied'``.""",
    "frozen": """\
frozen : str, list of str or dict, default=None
    Parameters EM keeps at their starting values (``means_init``, a warm
    start or the initialisation's), bit for bit: ``'weights'`` or the
    family's parameter names (``'means'``, ``'covariances'``, ``'rates'``,
    ...), or a dict giving the components of each, ``{'means': [0, 2]}``.
    The other parameters are fitted given them (a Gaussian's covariances
    about frozen means); see :mod:`mixtura.inference.frozen`.""",
    "learning_decay": """\
learning_decay : float, default=0.7
    Step-size exponent of :meth:`partial_fit` (online EM): batch t moves the
    running statistics by ``(t + 2) ** -learning_decay``; values in (0.5, 1]
    guarantee convergence, 0 makes each batch a plain EM step.""",
    "weight_concentration_prior_type": """\
weight_concentration_prior_type : {'dirichlet_process', \
            'dirichlet_distribution'}, default='dirichlet_process'
    Prior of the weights.""",
}

_PLACEHOLDER = re.compile(r"^( *)\{\{shared: ([\w ]+)\}\}$", re.MULTILINE)


def _entries(match):
    indent, names = match.group(1), match.group(2).split()
    unknown = [name for name in names if name not in SHARED_PARAMETERS]
    if unknown:
        raise KeyError(f"no shared description of {unknown}")
    text = "\n".join(SHARED_PARAMETERS[name] for name in names)
    return "\n".join(indent + line for line in text.split("\n"))


def fill_shared_parameters(doc):
    """``doc`` with each ``{{shared: ...}}`` line replaced by the descriptions.

    Parameters
    ----------
    doc : str

    Returns
    -------
    str
    """
    return _PLACEHOLDER.sub(_entries, doc)


def shared_docstring(obj):
    """Decorator: fill the shared parameter descriptions of ``obj.__doc__``.

    Parameters
    ----------
    obj : class or function

    Returns
    -------
    obj
        The same object, its docstring filled.
    """
    obj.__doc__ = fill_shared_parameters(obj.__doc__)
    return obj
