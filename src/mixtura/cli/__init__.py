"""The ``mixtura`` command line.

Usage::

    mixtura fit DATA [--family NAME|auto] [--components K|K-K|K,K] [--model M,M]
                     [--columns a,b] [--key NAME] [--missing em] [--n-init N]
                     [--seed S] [--json] -o MODEL
    mixtura select DATA [--components 1-9] [--model M,M] [--criterion bic]
                        [--json] [-o BEST]
    mixtura predict MODEL DATA [--columns a,b] -o OUT
    mixtura sample MODEL -n N [--seed S] -o OUT
    mixtura info MODEL [--json]
    mixtura plot MODEL DATA [--kind clusters|pairs|density|uncertainty|
                             responsibilities|density1d] [--features a,b]
                            [--columns a,b] -o PNG
    mixtura demo [--output PATH] [--max-components K] [--seed SEED]
    mixtura --version

``python -m mixtura`` is the same command. The command line is one thin layer
over the Python API (:func:`mixtura.select`, :func:`mixtura.save`,
:func:`mixtura.load` and the estimators); it needs Click (``pip install
"mixtura[cli]"``), which ``import mixtura`` never does. The subcommands are
declared in :mod:`mixtura.cli._app`, the data files read and written in
:mod:`mixtura.cli._io`, the estimators chosen from mixtura's registries in
:mod:`mixtura.cli._models`.

Exit status: 0 on success; 2 for a usage error (an unknown option, a value out of
range: a usage line and the error on stderr) or bad input (a missing or
unreadable file, an unknown column, a non-numeric column for a numeric family, a
model file that is newer or damaged: one line on stderr); 1 for any other failure
(one line on stderr; ``MIXTURA_DEBUG=1`` shows the traceback).
"""

from __future__ import annotations

import os
import sys
import warnings

import numpy as np

from mixtura._version import __version__

__all__ = ["main"]

_PLOT_INSTALL = 'pip install "mixtura[plot]"'
_CLI_INSTALL = 'pip install "mixtura[cli]"'


# -- demo -----------------------------------------------------------------------
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


def _plot_format(path):
    """The format of the plot file: its extension, or PNG without one."""
    extension = os.path.splitext(path)[1].lstrip(".").lower()
    return extension or "png"


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
    # the format named, so that a path without an extension is the file written
    figure.savefig(path, dpi=100, format=_plot_format(path))
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


def _run_demo(output, max_components, seed):
    """The demo: the BIC and AIC tables, the best model, the plot; exit status."""
    import click

    from mixtura.datasets import SOURCES, load_faithful
    from mixtura.selection import select

    X = load_faithful()
    click.echo(_demo_header(X, SOURCES["faithful"]))
    click.echo()
    table = select(X, range(1, max_components + 1), random_state=seed)
    click.echo(table.to_text("bic"))
    click.echo()
    click.echo(table.to_text("aic"))
    click.echo()
    model_name, n_components = table.best("bic")
    click.echo(f"Best model by BIC: {model_name}, K = {n_components}")
    click.echo(_indent(_describe_model(table.best_model_, X)))
    click.echo()
    try:
        path = _save_demo_figure(table, X, output)
    except ImportError:
        click.echo(
            "Plot skipped: matplotlib is not installed. Install it with "
            f"`{_PLOT_INSTALL}` to get the figure."
        )
        return 0
    except (OSError, ValueError) as error:
        click.echo(
            f"mixtura demo: cannot write the plot to {output!r}: {error}. "
            "Choose another --output path.",
            err=True,
        )
        return 1
    click.echo(f"Plot written to {os.path.abspath(path)}")
    return 0


# -- main -----------------------------------------------------------------------
def main(argv=None):
    """Run the ``mixtura`` command line.

    Parameters
    ----------
    argv : list of str, default=None
        Arguments without the program name; ``sys.argv[1:]`` when None.

    Returns
    -------
    status : int
        Exit status of the subcommand: 0 on success, 2 for bad input, 1 for any
        other failure, or when Click is not installed. A usage error raises
        :class:`SystemExit` with status 2 (a usage line and the error on
        stderr); ``--version`` raises it with 0.
    """
    try:
        import click
    except ImportError:
        sys.stderr.write(
            f"mixtura: the command line needs Click; install it with {_CLI_INSTALL}\n"
        )
        return 1
    from mixtura.cli._app import build_cli
    from mixtura.exceptions import ConvergenceWarning

    args = sys.argv[1:] if argv is None else list(argv)
    with warnings.catch_warnings():
        # each fit's convergence is reported in the output instead
        warnings.simplefilter("ignore", ConvergenceWarning)
        try:
            return build_cli(_run_demo).main(
                args, prog_name="mixtura", standalone_mode=False
            )
        except click.UsageError as error:
            error.show()
            raise SystemExit(2) from None
        except click.ClickException as error:
            error.show()
            return error.exit_code
        except click.Abort:
            click.echo("Aborted!", err=True)
            return 1
        except BrokenPipeError:
            # the reader went away (``mixtura demo | head``): stop quietly, as the
            # Python docs advise, so that flushing at exit does not fail again
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            return 1
