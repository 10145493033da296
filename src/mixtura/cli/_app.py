"""The ``mixtura`` command's subcommands, on Click.

Each subcommand is a Click command whose options are declared here and whose body
calls the Python API (:func:`mixtura.save`, :func:`mixtura.load`,
:func:`mixtura.select`, the estimators' ``fit``, ``predict_proba``, ``sample``...)
through :mod:`mixtura.cli._models` and :mod:`mixtura.cli._io`. The body runs under
:func:`_reported`, which turns bad input (an unreadable file, an unknown column,
mixtura's own errors) into one line on stderr and exit status 2, and any other
failure into one line and status 1.

Only :func:`mixtura.cli.main` imports this module, once it knows Click is
installed; the demo's body is :func:`mixtura.cli._run_demo`, handed to
:func:`build_cli`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import warnings

import click
import numpy as np

from mixtura._version import __version__
from mixtura.cli import _io, _models
from mixtura.exceptions import MixturaError

__all__ = ["build_cli"]

_log = logging.getLogger(__name__)

#: the largest K the command line fits (a grid cell per K)
MAX_COMPONENTS = 1000
_MAX_N_INIT = 1000
_MAX_SAMPLES = 10**8
_SEED = click.IntRange(0, 2**32 - 1)
_CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 88}
# What the user can fix: bad files, values and columns (mixtura's errors and
# scikit-learn's InvalidParameterError are ValueErrors), unreadable paths.
_BAD_INPUT = (MixturaError, ValueError, OSError)


# -- Click classes: argparse's lower-case "usage:" -------------------------------------
class _Usage:
    def format_usage(self, ctx, formatter):
        pieces = self.collect_usage_pieces(ctx)
        formatter.write_usage(ctx.command_path, " ".join(pieces), prefix="usage: ")

    def parse_args(self, ctx, args):
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as error:
            # the option parser's errors come without the context that prints
            # the usage line
            if error.ctx is None:
                error.ctx = ctx
            raise


class _Command(_Usage, click.Command):
    pass


class _Group(_Usage, click.Group):
    command_class = _Command


# -- option types ----------------------------------------------------------------------
class _Components(click.ParamType):
    """``3``, ``1-9`` or ``2,4,6`` (ranges and lists combined: ``1-3,5``)."""

    name = "K"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        ks = []
        for part in str(value).split(","):
            low, sep, high = part.strip().partition("-")
            try:
                first = int(low)
                last = int(high) if sep else first
            except ValueError:
                self.fail(f"expected K, K-K or K,K,...; got {value!r}", param, ctx)
            if first > last:
                self.fail(f"the range {part.strip()!r} is empty", param, ctx)
            if first < 1 or last > MAX_COMPONENTS:
                self.fail(
                    f"{value!r}: the numbers of components are from 1 to "
                    f"{MAX_COMPONENTS}",
                    param,
                    ctx,
                )
            ks.extend(range(first, last + 1))
        return tuple(dict.fromkeys(ks))


class _Names(click.ParamType):
    """A comma-separated list of names."""

    name = "NAMES"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        names = tuple(name.strip() for name in str(value).split(","))
        if not all(names):
            self.fail(f"expected names separated by commas; got {value!r}", param, ctx)
        return names


class _Output(click.ParamType):
    """A file to write: its directory exists and is writable; not a directory."""

    name = "PATH"

    def __init__(self, extensions=None):
        self.extensions = extensions

    def convert(self, value, param, ctx):
        path = os.fspath(value)
        directory = os.path.dirname(os.path.abspath(path))
        if not path or os.path.isdir(path):
            self.fail(f"{path!r} is a directory; name a file", param, ctx)
        if not os.path.isdir(directory):
            self.fail(f"the directory {directory!r} does not exist", param, ctx)
        if not os.access(directory, os.W_OK):
            self.fail(f"the directory {directory!r} is not writable", param, ctx)
        if os.path.exists(path) and not os.access(path, os.W_OK):
            self.fail(f"{path!r} exists and is not writable", param, ctx)
        extension = os.path.splitext(path)[1].lower()
        if self.extensions is not None and extension not in self.extensions:
            self.fail(
                f"{path!r}: the format is chosen by the extension, one of "
                f"{', '.join(self.extensions)}",
                param,
                ctx,
            )
        if extension == ".parquet" and self.extensions is not None:
            try:
                import pyarrow  # noqa: F401
            except ImportError:
                self.fail(
                    'writing Parquet needs pyarrow: pip install "mixtura[parquet]"',
                    param,
                    ctx,
                )
        return path


def _version(ctx, param, value):
    if value and not ctx.resilient_parsing:
        click.echo(f"mixtura {__version__}")
        # SystemExit, not ctx.exit(): main() returns a command's status and
        # lets --version exit as argparse's did
        raise SystemExit(0)


def _verbose(ctx, param, value):
    if value:
        logging.basicConfig(format="mixtura: %(message)s")
        logging.getLogger("mixtura").setLevel(
            logging.INFO if value == 1 else logging.DEBUG
        )
    return value


# -- reporting -------------------------------------------------------------------------
def _one_line(error):
    if isinstance(error, OSError) and error.filename is not None:
        text = f"{error.strerror or error}: {error.filename!r}"
    else:
        text = str(error) or type(error).__name__
    return " ".join(text.split())


def _reported(name, function, **kwargs):
    """Run a subcommand's body; bad input -> 2, other failures -> 1, one line each."""
    try:
        status = function(**kwargs)
    except (click.ClickException, click.exceptions.Exit, BrokenPipeError):
        raise
    except KeyboardInterrupt:  # Ctrl-C outside a fit (fit and select save theirs)
        click.echo(f"mixtura {name}: interrupted", err=True)
        return 130
    except _BAD_INPUT as error:
        click.echo(f"mixtura {name}: error: {_one_line(error)}", err=True)
        return 2
    except Exception as error:
        if os.environ.get("MIXTURA_DEBUG"):
            raise
        click.echo(
            f"mixtura {name}: internal error: {type(error).__name__}: "
            f"{_one_line(error)} (set MIXTURA_DEBUG=1 to see where; please report it)",
            err=True,
        )
        return 1
    return 0 if status is None else status


def _echo_json(value):
    click.echo(json.dumps(value, indent=2, allow_nan=False))


# -- shared options --------------------------------------------------------------------
def _data_options(function):
    options = [
        click.argument("data", metavar="DATA"),
        click.option(
            "--columns",
            type=_Names(),
            help="Columns to use, by name, separated by commas (default: all; for "
            "predict, the ones the model was fitted on). Example: --columns "
            "eruptions,waiting. NumPy arrays have columns x0, x1, ...",
        ),
        click.option(
            "--key",
            metavar="NAME",
            help="The array of an .npz file to read (default: its first). Example: "
            "--key X",
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def _fit_options(components_default):
    def decorate(function):
        families = ", ".join(_models.cli_families())
        options = [
            click.option(
                "--family",
                type=click.Choice(["auto", *_models.cli_families()]),
                default="gaussian",
                show_default=True,
                metavar="NAME",
                help=f"Component family: {families}; or auto, which picks from the "
                "data: text columns -> categorical, only 0/1 -> bernoulli, "
                "non-negative integers -> poisson, other numbers -> gaussian. "
                "Example: --family poisson",
            ),
            click.option(
                "--components",
                "-k",
                type=_Components(),
                default=components_default,
                show_default=True,
                help="Number of components K: one, a range or a list; with several, "
                "the best by BIC is kept. Example: --components 1-9",
            ),
            click.option(
                "--model",
                type=_Names(),
                help="Covariance model(s) of the gaussian (and student_t, lognormal) "
                "family: full, tied, diag, spherical or mclust's EII ... VVV, "
                "separated by commas, or mclust for all of mclust's (default: "
                "full for fit; full, tied, diag, spherical for select). Example: "
                "--model VVV,EEE",
            ),
            click.option(
                "--missing",
                type=click.Choice(["em", "error"]),
                help="em: fit through missing values (NA cells, NaN); error: refuse "
                "them (the estimator's default). Example: --missing em",
            ),
            click.option(
                "--n-init",
                type=click.IntRange(1, _MAX_N_INIT),
                default=1,
                show_default=True,
                help="Initialisations per fit; the best is kept. Example: --n-init 5",
            ),
            click.option(
                "--seed",
                type=_SEED,
                default=0,
                show_default=True,
                help="Random seed (0 to 2**32 - 1) of every fit. Example: --seed 42",
            ),
            click.option(
                "--json",
                "as_json",
                is_flag=True,
                help="Print the result as JSON instead of text.",
            ),
            click.option(
                "--quiet",
                "-q",
                is_flag=True,
                help="Draw no progress bar (by default one is drawn on stderr when "
                "it is a terminal and tqdm is installed). Ctrl-C stops the fit, "
                "saves the best fit so far to -o and exits with status 130.",
            ),
        ]
        for option in reversed(options):
            function = option(function)
        return _data_options(function)

    return decorate


# -- fit and select --------------------------------------------------------------------
def _prepare(data, columns, key, family, memory_budget=None):
    table = _io.open_table(data, key, columns, memory_budget=memory_budget)
    reason = None
    if family == "auto":
        family, reason = _io.detect_family(table)
        _log.info("--family auto: %s (%s)", family, reason)
    return table, family, reason


def _name_features(estimator, table):
    if table.named:
        estimator.feature_names_in_ = np.asarray(table.names, dtype=object)


def _fitted_description(estimator, X, table, family):
    summary = _models.model_summary(estimator)
    summary["family_requested"] = family
    summary["covariance_type"] = getattr(estimator, "covariance_type", None)
    summary["n_samples"] = int(table.n_rows)
    summary["columns"] = list(table.names)
    summary["bic"] = _models.fitted_bic(estimator, X)
    return summary


def _fitted_text(summary, reason):
    lines = []
    if reason is not None:
        lines.append(f"family: {summary['family_requested']} (auto: {reason})")
    model = summary["covariance_type"]
    lines.append(
        f"fitted {summary['estimator']} ({summary['family_requested']}"
        f"{'' if model is None else ' ' + model}, K = {summary['n_components']}) "
        f"to {summary['n_samples']} rows x {len(summary['columns'])} columns "
        f"({', '.join(summary['columns'])})"
    )
    status = "converged" if summary["converged"] else "did not converge"
    bound, bic = summary["lower_bound"], summary["bic"]
    bound = "n/a" if bound is None else f"{bound:.6g}"
    bic = "n/a" if bic is None else f"{bic:.2f}"
    lines.append(
        f"{status} after {summary['n_iter']} iterations; lower bound {bound} per "
        f"row; BIC {bic}"
    )
    return lines


def _progress_wanted(quiet):
    """Whether to draw progress bars: not --quiet, and tqdm is installed."""
    import importlib.util

    return not quiet and importlib.util.find_spec("tqdm") is not None


def _interrupted(name, error, table, output):
    """Ctrl-C in a fit or a grid: save the best fit so far to ``output``; 130.

    The fit loop hands the interrupted estimator on with the interrupt
    (``error.estimator``, its best restart so far) and :func:`mixtura.select`
    the cells it had finished (``error.partial_table``); the best of those
    is saved.
    """
    from mixtura.io import save

    estimator = getattr(error, "estimator", None)
    partial = getattr(error, "partial_table", None)
    if partial is not None:
        # the best of the finished cells (a ValueError: none fitted)
        with contextlib.suppress(ValueError):
            estimator = partial.best_model_
    if estimator is None or output is None:
        click.echo(f"mixtura {name}: interrupted; nothing saved", err=True)
        return 130
    _name_features(estimator, table)
    save(estimator, output)
    click.echo(
        f"mixtura {name}: interrupted; the best fit so far saved to {output}",
        err=True,
    )
    return 130


def _run_fit(
    data,
    columns,
    key,
    family,
    components,
    model,
    missing,
    n_init,
    seed,
    as_json,
    output,
    quiet=False,
    memory_budget=None,
):
    from mixtura.io import save

    budget = _io.default_memory_budget() if memory_budget is None else memory_budget
    table, family, reason = _prepare(data, columns, key, family, budget)
    options = {
        "seed": seed,
        "n_init": n_init,
        "missing": missing,
        "progress": _progress_wanted(quiet),
    }
    models = model
    grid = None
    one_model = models is None or (len(models) == 1 and models[0] != "mclust")
    try:
        if len(components) == 1 and one_model:
            chosen = None if models is None else models[0]
            estimator, X = _models.fit_one(
                table, family, components[0], model=chosen, **options
            )
        else:
            if models is None and _models.estimator_class(family).__name__ == (
                "GaussianMixture"
            ):
                models = ("full",)
            grid, X = _models.fit_grid(table, family, components, models, **options)
            estimator = grid.best_model_
    except KeyboardInterrupt as error:
        return _interrupted("fit", error, table, output)
    _name_features(estimator, table)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "X does not have valid feature names")
        summary = _fitted_description(estimator, X, table, family)
    save(estimator, output)
    summary["output"] = output
    if grid is not None:
        summary["selection"] = {
            "criterion": "bic",
            "best": dict(zip(("model", "n_components"), grid.best("bic"), strict=True)),
            "table": _models.records(grid),
        }
    if as_json:
        _echo_json(summary)
        return 0
    lines = _fitted_text(summary, reason)
    if grid is not None:
        best_model, best_k = grid.best("bic")
        lines.insert(
            -1 if reason is None else 1,
            f"chosen by BIC among {len(grid)} fits: {best_model}, K = {best_k}",
        )
    lines.append(f"model saved to {output}")
    click.echo("\n".join(lines))
    return 0


def _run_select(
    data,
    columns,
    key,
    family,
    components,
    model,
    missing,
    n_init,
    seed,
    as_json,
    criterion,
    output,
    quiet=False,
):
    from mixtura.io import save

    table, family, reason = _prepare(data, columns, key, family)
    try:
        grid, _ = _models.fit_grid(
            table,
            family,
            components,
            model,
            seed=seed,
            n_init=n_init,
            missing=missing,
            criterion=criterion,
            progress=_progress_wanted(quiet),
        )
    except KeyboardInterrupt as error:
        return _interrupted("select", error, table, output)
    best_model, best_k = grid.best(criterion)
    estimator = grid.best_model_
    if output is not None:
        _name_features(estimator, table)
        save(estimator, output)
    if as_json:
        _echo_json(
            {
                "family": family,
                "criterion": criterion,
                "n_samples": int(table.n_rows),
                "columns": list(table.names),
                "best": {"model": best_model, "n_components": int(best_k)},
                "output": output,
                "table": _models.records(grid),
            }
        )
        return 0
    if reason is not None:
        click.echo(f"family: {family} (auto: {reason})\n")
    click.echo(grid.to_text(criterion))
    click.echo(f"\nBest model by {criterion.upper()}: {best_model}, K = {best_k}")
    if output is not None:
        click.echo(f"model saved to {output}")
    return 0


# -- predict, sample, info -------------------------------------------------------------
def _load(path):
    from mixtura.io import load

    if not os.path.exists(path):
        raise _io.InputError(f"model file {path!r} does not exist")
    if os.path.isdir(path):
        raise _io.InputError(f"model file {path!r} is a directory")
    return load(path)


def _model_columns(estimator, table, columns):
    """The input columns the model takes, by name where it has them."""
    if columns is not None:
        return table.select(columns)
    names = getattr(estimator, "feature_names_in_", None)
    n_features = int(estimator.n_features_in_)
    if names is not None:
        names = [str(name) for name in names]
        missing = [name for name in names if name not in table.names]
        if not missing:
            return table.select(names)
        if table.named:
            raise _io.InputError(
                f"the model was fitted on the columns {', '.join(names)}; "
                f"{table.source} lacks {', '.join(missing)} (its columns are "
                f"{', '.join(table.names)}): choose them with --columns"
            )
    if len(table.names) != n_features:
        raise _io.InputError(
            f"the model takes {n_features} columns and {table.source} has "
            f"{len(table.names)} ({', '.join(table.names)}): choose them with "
            "--columns"
        )
    return table


def _run_predict(model, data, columns, key, output, memory_budget=None):
    estimator = _load(model)
    # a Parquet input over the budget is labelled a row group at a time, when
    # the output can be written so (.parquet, .csv)
    streams = os.path.splitext(output)[1].lower() in _io.STREAM_OUTPUTS
    budget = _io.default_memory_budget() if memory_budget is None else memory_budget
    table = _io.open_table(
        data, key, memory_budget=budget if streams else None, numeric=False
    )
    used = _model_columns(estimator, table, columns)
    if isinstance(table, _io.StreamedTable):
        names, _ = _models.predict_stream(estimator, table, used, output)
    else:
        names, columns_out = _models.labelled_columns(estimator, table, used)
        text_cells = table.text or [None] * len(table.names)
        extra = [None] * (len(names) - len(table.names))
        _io.write_table(output, names, columns_out, [*text_cells, *extra])
    n_prob = sum(name.startswith("prob_") for name in names[len(table.names) :])
    click.echo(
        f"wrote {table.n_rows} rows to {output}: the input's {len(table.names)} "
        f"columns, label, prob_0..prob_{n_prob - 1}, uncertainty"
        f"{', log_density' if names[-1] == 'log_density' else ''}"
    )
    return 0


def _run_sample(model, n_samples, seed, output):
    estimator = _load(model)
    if not hasattr(estimator, "sample"):
        raise _io.InputError(f"a {type(estimator).__name__} model draws no samples")
    if seed is not None:
        estimator.set_params(random_state=seed)
    X, labels = estimator.sample(n_samples)
    X = np.asarray(X)
    names = getattr(estimator, "feature_names_in_", None)
    names = (
        [f"x{j}" for j in range(X.shape[1])]
        if names is None
        else [str(n) for n in names]
    )
    columns = [X[:, j] for j in range(X.shape[1])]
    levels = getattr(estimator, "categories_", None)
    if levels is not None:  # categorical codes back to the levels seen in fit
        columns = [
            np.asarray(level, dtype=object)[column.astype(np.intp)]
            for level, column in zip(levels, columns, strict=True)
        ]
    _io.write_table(output, [*names, "label"], [*columns, np.asarray(labels)])
    click.echo(f"wrote {n_samples} samples ({', '.join(names)}, label) to {output}")
    return 0


def _run_info(model, as_json):
    from mixtura.io import _open_archive, _read_document

    estimator = _load(model)
    with _open_archive(model) as archive:  # audited by load just now
        document = _read_document(archive, model)
    summary = {
        "path": model,
        "format_version": document["format_version"],
        "mixtura_version": document["mixtura_version"],
        **_models.model_summary(estimator),
    }
    if "models" in document:
        summary["n_parts"] = len(document["models"])
    # the model's own summary (mixtura.summary: no data, so no criteria)
    fitted = estimator.summary() if hasattr(estimator, "summary") else None
    if fitted is not None:
        summary["n_parameters"] = fitted.n_parameters
    if as_json:
        _echo_json(summary)
        return 0
    family = summary["family"]
    rows = [
        ("model file", model),
        (
            "format",
            f"version {summary['format_version']} "
            f"(written by mixtura {summary['mixtura_version']})",
        ),
        ("estimator", summary["estimator"]),
    ]
    if family is not None:
        config = ", ".join(f"{k}={v}" for k, v in family["config"].items())
        rows.append(("family", family["name"] + (f" ({config})" if config else "")))
        rows.append(("components", str(summary["n_components"])))
        weights = ", ".join(f"{w:.4g}" for w in summary["weights"])
        rows.append(("weights", weights))
    if "n_parts" in summary:
        rows.append(("parts", str(summary["n_parts"])))
    if "classes" in summary:
        rows.append(("classes", ", ".join(map(str, summary["classes"]))))
    rows.append(("features", str(summary["n_features"])))
    if summary["feature_names"] is not None:
        rows.append(("columns", ", ".join(summary["feature_names"])))
    for key in ("converged", "n_iter", "lower_bound"):
        if summary[key] is not None:
            rows.append((key, str(summary[key])))
    if fitted is not None:
        rows.append(("df", f"{fitted.n_parameters} (free parameters)"))
    width = max(len(name) for name, _ in rows)
    click.echo("\n".join(f"{name:<{width}} : {value}" for name, value in rows))
    if fitted is not None and fitted.parameters:
        click.echo("\n" + fitted.parameters_text())
    return 0


# -- the group -------------------------------------------------------------------------
_FIT_HELP = """Fit a mixture to DATA and save it to a model file.

\b
DATA is a table: .csv/.tsv/.txt (a header row; the delimiter is sniffed; empty,
NA, N/A, NaN, null, None, #N/A and ? cells are missing; text columns are
categorical), .npy, .npz or .parquet (with pyarrow).

With one K and one --model, fits that model; with several (--components 1-9,
--model VVV,EEE) fits each and keeps the best by BIC (mixtura.select for the
gaussian family). The column names are stored in the model.

\b
Examples:
  mixtura fit faithful.csv -o faithful.mixtura
  mixtura fit faithful.csv --components 1-9 --model VVV,EEE -o best.mixtura
  mixtura fit survey.csv --family auto --components 3 -o survey.mixtura
  mixtura fit counts.npy --family multinomial -k 4 --json -o topics.mixtura
"""

_SELECT_HELP = """Fit a grid of models and numbers of components; print the table.

Prints the information criterion of every (model, K) cell (BIC: lower is better;
the best is starred), names the best one and, with -o, saves it. DATA is read as
for fit.

\b
Examples:
  mixtura select faithful.csv --components 1-9 --model VVV,EEE,VII
  mixtura select faithful.csv -k 1-5 --model mclust -o best.mixtura
  mixtura select counts.csv --family poisson -k 1-6 --json
"""

_PREDICT_HELP = """Label the rows of DATA with a saved MODEL; write them to OUT.

The output holds the input's own columns, then label (the most probable
component), prob_0, prob_1, ... (each component's posterior probability),
uncertainty (1 - the largest probability) and log_density (log p(x)). Its format
follows OUT's extension: .csv (floats in their exact shortest form), .npy
(numbers only), .npz (one array per column) or .parquet (with pyarrow).

\b
Examples:
  mixtura predict faithful.mixtura faithful.csv -o labels.csv
  mixtura predict model.mixtura new.parquet --columns a,b -o labels.parquet
"""

_SAMPLE_HELP = """Draw N samples from a saved MODEL; write them to OUT.

OUT has one column per feature (the model's column names, else x0, x1, ...) and
label, the component each sample was drawn from; its format follows the
extension (.csv, .npy, .npz, .parquet).

\b
Examples:
  mixtura sample faithful.mixtura -n 1000 -o draws.csv
  mixtura sample faithful.mixtura -n 10 --seed 7 -o draws.npy
"""

_INFO_HELP = """Describe a saved MODEL: format version, estimator, family, K,
features, column names and the fit's diagnostics, as stored in the file.

\b
Examples:
  mixtura info faithful.mixtura
  mixtura info faithful.mixtura --json
"""


def _memory_size(ctx, param, value):
    if value is None:
        return None
    try:
        return _io.parse_memory_size(value)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


_memory_budget_option = click.option(
    "--memory-budget",
    metavar="SIZE",
    callback=_memory_size,
    help="A .parquet DATA whose columns take more than SIZE in memory (rows x "
    "columns x 8 bytes, from its metadata) is read one row group at a time: fit "
    "streams it through batch EM (one model; a grid is fitted in memory), "
    "predict writes a .parquet or .csv output row group by row group (default: "
    "a quarter of the memory available). kB, MB, GB: powers of 1000; KiB, MiB, "
    "GiB: of 1024. Example: --memory-budget 200MB",
)


def _output_option(required, extensions=None, help_text=""):
    return click.option(
        "--output",
        "-o",
        type=_Output(extensions),
        required=required,
        help=help_text,
    )


def build_cli(run_demo):
    """The ``mixtura`` Click group.

    Parameters
    ----------
    run_demo : callable
        The demo's body, called with ``output``, ``max_components`` and ``seed``;
        returns the exit status.

    Returns
    -------
    group : click.Group
    """

    @click.group(
        cls=_Group,
        name="mixtura",
        context_settings=_CONTEXT,
        no_args_is_help=False,
        help="Mixture models from the command line: fit, select, predict, sample, "
        "describe, plot. Run 'mixtura COMMAND -h' for a command's options and "
        "examples.",
    )
    @click.option(
        "--version",
        is_flag=True,
        expose_value=False,
        is_eager=True,
        callback=_version,
        help="Print the version and exit.",
    )
    @click.option(
        "--verbose",
        "-v",
        count=True,
        expose_value=False,
        callback=_verbose,
        help="Log what is read, fitted and written to stderr (-vv: more).",
    )
    def group():
        pass

    @group.command(help=_FIT_HELP)
    @_fit_options("1")
    @_output_option(
        True,
        help_text="Where to write the model file (its directory must exist; "
        "'.mixtura' by convention). Example: -o faithful.mixtura",
    )
    @_memory_budget_option
    def fit(**options):
        return _reported("fit", _run_fit, **options)

    @group.command(help=_SELECT_HELP)
    @_fit_options("1-9")
    @click.option(
        "--criterion",
        type=click.Choice(["bic", "aic", "icl"]),
        default="bic",
        show_default=True,
        help="The criterion of the table and of the choice (lower is better). "
        "Example: --criterion icl",
    )
    @_output_option(
        False,
        help_text="Also save the best model to this file. Example: -o best.mixtura",
    )
    def select(**options):
        return _reported("select", _run_select, **options)

    @group.command(help=_PREDICT_HELP)
    @click.argument("model", metavar="MODEL")
    @_data_options
    @_output_option(
        True,
        _io.OUTPUT_FORMATS,
        help_text="Where to write the labelled rows (.csv, .npy, .npz, .parquet). "
        "Example: -o labels.csv",
    )
    @_memory_budget_option
    def predict(**options):
        return _reported("predict", _run_predict, **options)

    @group.command(help=_SAMPLE_HELP)
    @click.argument("model", metavar="MODEL")
    @click.option(
        "-n",
        "--n-samples",
        type=click.IntRange(1, _MAX_SAMPLES),
        required=True,
        help=f"Number of samples, 1 to {_MAX_SAMPLES:.0e}. Example: -n 1000",
    )
    @click.option(
        "--seed",
        type=_SEED,
        help="Random seed (0 to 2**32 - 1); default: the seed stored with the "
        "model. Example: --seed 7",
    )
    @_output_option(
        True,
        _io.OUTPUT_FORMATS,
        help_text="Where to write the samples (.csv, .npy, .npz, .parquet). "
        "Example: -o draws.csv",
    )
    def sample(**options):
        return _reported("sample", _run_sample, **options)

    @group.command(help=_INFO_HELP)
    @click.argument("model", metavar="MODEL")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
    def info(**options):
        return _reported("info", _run_info, **options)

    # mixtura plot: the body is mixtura.cli._plot.run_plot (issue 18)
    @group.command(
        help="Plot a saved MODEL on DATA (read as for predict) to an image OUT "
        '(.png, .pdf or .svg; needs matplotlib: pip install "mixtura[plot]").\n\n'
        "\b\nKinds:\n  clusters: points by component, 1 and 2 sd ellipses"
        "\n  pairs: every pair of features (a scatter matrix)"
        "\n  density: filled contours of the log density"
        "\n  uncertainty: points sized by 1 - max responsibility"
        "\n  responsibilities: a heat map, rows sorted by label"
        "\n  density1d: one feature's histogram, density and components"
        "\n\n\b\nExamples:\n  mixtura plot faithful.mixtura faithful.csv -o "
        "clusters.png\n  mixtura plot model.mixtura data.csv --kind pairs -o pairs.png",
        short_help="Plot a saved model on a data file (clusters, density, ...).",
    )
    @click.argument("model", metavar="MODEL")
    @_data_options
    @click.option(
        "--kind",
        type=click.Choice(
            [
                "clusters",
                "pairs",
                "density",
                "uncertainty",
                "responsibilities",
                "density1d",
            ]
        ),
        default="clusters",
        show_default=True,
        help="What to draw (see above). Example: --kind density",
    )
    @click.option(
        "--features",
        type=_Names(),
        help="The model's columns to show (two for clusters, density, "
        "uncertainty; default: the first two, or all for pairs). Example: "
        "--features eruptions,waiting",
    )
    @_output_option(
        True,
        (".png", ".pdf", ".svg"),
        help_text="Where to write the image (.png, .pdf, .svg). Example: -o plot.png",
    )
    def plot(**options):
        from mixtura.cli._plot import run_plot

        readers = (_load, _model_columns)
        return _reported("plot", run_plot, readers=readers, **options)

    @group.command(
        help="Fit Gaussian mixtures with K = 1..max-components and the four "
        "covariance types to the Old Faithful geyser data, print the BIC and AIC "
        "tables and the BIC-best model, and save a two-panel plot.\n\n"
        "\b\nExample:\n  mixtura demo --max-components 4 --output demo.png",
        short_help="Fit Gaussian mixtures to Old Faithful, choose by BIC, plot.",
    )
    @click.option(
        "--output",
        default="mixtura-demo.png",
        show_default=True,
        metavar="PATH",
        callback=_check_plot_path,
        help="Where to write the plot; its extension names the format (png, pdf, "
        "svg, ...; none: png). Example: --output demo.pdf",
    )
    @click.option(
        "--max-components",
        type=click.IntRange(1, MAX_COMPONENTS),
        default=6,
        show_default=True,
        metavar="K",
        callback=_check_demo_components,
        help="Largest number of components tried (at most the data's 272 rows). "
        "Example: --max-components 4",
    )
    @click.option(
        "--seed",
        type=_SEED,
        default=0,
        show_default=True,
        help="random_state of every fit (0 to 2**32 - 1). Example: --seed 1",
    )
    def demo(**options):
        return _reported("demo", run_demo, **options)

    return group


def _check_plot_path(ctx, param, value):
    if os.path.isdir(value):
        raise click.BadParameter(f"{value!r} is a directory; name a file")
    extension = os.path.splitext(value)[1].lower().lstrip(".")
    if not extension:
        return value
    try:
        from matplotlib.backend_bases import FigureCanvasBase
    except ImportError:  # no plot will be drawn; the demo says so
        return value
    formats = FigureCanvasBase.get_supported_filetypes()
    if extension not in formats:
        raise click.BadParameter(
            f"matplotlib cannot write .{extension} files; use one of "
            f"{', '.join(sorted(formats))}"
        )
    return value


def _check_demo_components(ctx, param, value):
    from mixtura.datasets import load_faithful

    n_rows = len(load_faithful())
    if value > n_rows:
        raise click.BadParameter(
            f"{value} is more than the {n_rows} rows of Old Faithful"
        )
    return value
