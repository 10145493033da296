"""Exceptions and warnings raised by mixtura.

Every error that mixtura raises for bad input derives from :class:`ValueError`, so
code written for scikit-learn's ``except ValueError`` keeps working, and from
:class:`MixturaError`, so code written for mixtura can catch all of them at once.
"""

from sklearn.exceptions import ConvergenceWarning

__all__ = [
    "ConvergenceWarning",
    "DataTypeError",
    "DataValidationError",
    "EmptyComponentError",
    "MixturaError",
    "ModelFileError",
    "SingularCovarianceError",
]


class MixturaError(Exception):
    """Base class of every error mixtura raises on purpose."""


class DataValidationError(MixturaError, ValueError):
    """The data or sample weights given to an estimator are unusable as given."""


class DataTypeError(MixturaError, TypeError):
    """The data hold values of a type that cannot be read as numbers (e.g. dicts)."""


class ModelFileError(MixturaError, ValueError):
    """A model file is truncated, edited, foreign or of an unknown format version."""


class SingularCovarianceError(MixturaError, ValueError):
    """A covariance matrix is not positive definite, so its component collapsed.

    Parameters
    ----------
    message : str
    components : sequence of int, optional
        The collapsed components (indices into the M-step's components), where
        the raiser knows them; the fit loop's recovery re-seeds, regularises or
        removes these (see :mod:`mixtura.inference.degenerate`).
    """

    def __init__(self, message, components=None):
        super().__init__(message)
        self.components = None if components is None else tuple(components)


class EmptyComponentError(SingularCovarianceError):
    """A component's mixing weight fell to (next to) zero during a fit.

    Raised with ``on_degenerate='raise'`` where the responsibilities give a
    component less than
    :data:`~mixtura.inference.degenerate.MIN_EFFECTIVE_ROWS` rows' worth: its
    parameters, made from no rows, may still look valid, but it is dead
    weight. A :class:`SingularCovarianceError`, so that code catching a
    degenerate component catches it too.

    Parameters
    ----------
    message : str
    components : sequence of int, optional
        The emptied components (indices into the fit's components).
    """
