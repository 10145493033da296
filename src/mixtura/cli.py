"""The ``mixtura`` command line.

Usage::

    mixtura demo [--output PATH] [--max-components K] [--seed SEED]
    mixtura --version

Each subcommand is one ``_add_<name>(subparsers)`` function that declares its
arguments and sets ``run`` to the function that carries it out; a new subcommand
(``fit``, ``predict``, ``sample``, ``select``, ``plot``...) is one such function added
to ``_SUBCOMMANDS``. ``run`` receives the parsed arguments and returns the exit
status.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings

import numpy as np

from mixtura import __version__

__all__ = ["main"]

_PLOT_INSTALL = 'pip install "mixtura[plot]"'


def _positive_int(text):
    """argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer; got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1; got {value}")
    return value


# -- demo -----------------------------------------------------------------------
def _add_demo(subparsers):
    parser = subparsers.add_parser(
        "demo",
        help="fit Gaussian mixtures to Old Faithful, choose one by BIC, plot it",
        description=(
            "Fit Gaussian mixtures with K = 1..max-components and the four "
            "covariance types to the Old Faithful geyser data, print the BIC and "
            "AIC tables and the BIC-best model, and save a two-panel plot."
        ),
    )
    parser.add_argument(
        "--output",
        default="mixtura-demo.png",
        metavar="PATH",
        help="where to write the PNG plot (default: %(default)s)",
    )
    parser.add_argument(
        "--max-components",
        type=_positive_int,
        default=6,
        metavar="K",
        help="largest number of components tried (default: %(default)s)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        help="random_state of every fit (default: %(default)s)",
    )
    parser.set_defaults(run=_run_demo)


def _format_array(array):
    return np.array2string(
        np.asarray(array), precision=4, suppress_small=True, separator=", "
    )


def _indent(text, prefix="    "):
    return "\n".join(
        prefix + line if line.strip() else "" for line in text.splitlines()
    )


def _describe_model(model, X):
    """The fitted model's parameters and fit summary, as text."""
    mean_log_likelihood = model.score(X)
    lines = [
        f"covariance_type : {model.covariance_type}",
        f"n_components    : {model.n_components}",
        f"weights         : {_format_array(model.weights_)}",
        "means           :",
        _indent(_format_array(model.means_)),
        f"covariances     : shape {np.shape(model.covariances_)}",
        _indent(_format_array(model.covariances_)),
        f"log-likelihood  : {mean_log_likelihood * len(X):.4f} "
        f"(mean per sample {mean_log_likelihood:.4f})",
        f"n_parameters    : {model._n_parameters()}",
        f"BIC             : {model.bic(X):.4f}",
        f"converged       : {model.converged_}",
        f"n_iter          : {model.n_iter_}",
    ]
    return "\n".join(lines)


def _save_demo_figure(table, X, path):
    """Write the two-panel demo figure (best model; BIC curves) to ``path``."""
    from mixtura.plotting import _require_matplotlib, plot_mixture, plot_selection

    _require_matplotlib()
    # a Figure without pyplot: no backend, no global state, nothing to close
    from matplotlib.figure import Figure

    figure = Figure(figsize=(12, 5), layout="constrained")
    scatter_ax, bic_ax = figure.subplots(1, 2)
    plot_mixture(table.best_model_, X, ax=scatter_ax)
    scatter_ax.set_xlabel("eruptions (minutes)")
    scatter_ax.set_ylabel("waiting (minutes to next eruption)")
    plot_selection(table, ax=bic_ax, criterion="bic")
    figure.suptitle("mixtura demo: Old Faithful geyser")
    figure.savefig(path, dpi=100)
    return path


def _demo_header(X, source):
    return "\n".join(
        [
            f"mixtura {__version__} demo: Gaussian mixtures of Old Faithful",
            f"Data: Old Faithful geyser, {X.shape[0]} eruptions x {X.shape[1]} "
            "features (eruptions: duration in minutes; waiting: minutes to the next "
            "eruption).",
            f"Source: {source}",
        ]
    )


def _run_demo(args):
    from mixtura.datasets import SOURCES, load_faithful
    from mixtura.selection import select

    X = load_faithful()
    print(_demo_header(X, SOURCES["faithful"]))
    print()
    table = select(X, range(1, args.max_components + 1), random_state=args.seed)
    print(table.to_text("bic"))
    print()
    print(table.to_text("aic"))
    print()
    model_name, n_components = table.best("bic")
    print(f"Best model by BIC: {model_name}, K = {n_components}")
    print(_indent(_describe_model(table.best_model_, X)))
    print()
    try:
        path = _save_demo_figure(table, X, args.output)
    except ImportError:
        print(
            "Plot skipped: matplotlib is not installed. Install it with "
            f"`{_PLOT_INSTALL}` to get the figure."
        )
        return 0
    except OSError as error:
        print(
            f"mixtura demo: cannot write the plot to {args.output!r}: {error}. "
            "Choose another --output path.",
            file=sys.stderr,
        )
        return 1
    print(f"Plot written to {os.path.abspath(path)}")
    return 0


# -- the parser -----------------------------------------------------------------
_SUBCOMMANDS = (_add_demo,)


def _build_parser():
    parser = argparse.ArgumentParser(
        prog="mixtura",
        description="Mixture models from the command line.",
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {__version__}"
    )
    subparsers = parser.add_subparsers(
        title="commands", dest="command", required=True, metavar="COMMAND"
    )
    for add_subcommand in _SUBCOMMANDS:
        add_subcommand(subparsers)
    return parser


def main(argv=None):
    """Run the ``mixtura`` command line.

    Parameters
    ----------
    argv : list of str, default=None
        Arguments without the program name; ``sys.argv[1:]`` when None.

    Returns
    -------
    status : int
        Exit status, 0 on success. Bad arguments exit with status 2 through
        argparse (:class:`SystemExit`); ``--version`` exits with 0.
    """
    args = _build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    with warnings.catch_warnings():
        # each fit's convergence is reported in the output instead
        from mixtura.exceptions import ConvergenceWarning

        warnings.simplefilter("ignore", ConvergenceWarning)
        try:
            return args.run(args)
        except BrokenPipeError:
            # the reader went away (``mixtura demo | head``): stop quietly, as the
            # Python docs advise, so that flushing at exit does not fail again
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            return 1
