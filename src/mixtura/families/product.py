"""Products of families: one mixture over columns of different kinds.

For a table whose columns are measurements, flags, categories and counts, each
component is a product of independent parts, one family per group of columns:
``log p(x | k) = sum_parts log p_part(x[:, columns_part] | k)``. The statistics are
the parts' statistics side by side, and the M-step maximises each part on its own
(the expected complete-data log-likelihood separates over the parts).
"""

from __future__ import annotations

import numpy as np
from array_api_compat import device

from mixtura.backend import get_namespace, to_numpy
from mixtura.exceptions import ModelFileError
from mixtura.families.base import Family
from mixtura.families.registry import get_family
from mixtura.stats import Stats

__all__ = ["Product", "ProductStats"]


class ProductStats(Stats):
    """The statistics of each part of a product family, side by side.

    Parameters
    ----------
    resp_sum : array-like of shape (n_components,)
        Sum of the weighted responsibilities (the same in every part).
    parts : sequence of Stats
        Each part's statistics, in the order of the family's parts.
    """

    def __init__(self, resp_sum, parts):
        self.resp_sum = np.asarray(resp_sum, dtype=np.float64)
        self.parts = tuple(parts)

    def __add__(self, other):
        if not isinstance(other, ProductStats) or len(other.parts) != len(self.parts):
            return NotImplemented
        return ProductStats(
            self.resp_sum + other.resp_sum,
            [a + b for a, b in zip(self.parts, other.parts, strict=True)],
        )

    def scale(self, factor):
        return ProductStats(
            self.resp_sum * factor, [part.scale(factor) for part in self.parts]
        )

    def __repr__(self):
        return f"ProductStats(parts={list(self.parts)!r})"


def _check_columns(columns_of_parts):
    """Each part's column indices; together they must be 0 .. d - 1, each once."""
    columns = [np.asarray(c, dtype=np.intp) for c in columns_of_parts]
    if not columns or any(c.ndim != 1 or c.size == 0 for c in columns):
        raise ValueError("every part needs a non-empty 1-D list of column indices")
    together = np.sort(np.concatenate(columns))
    if not np.array_equal(together, np.arange(together.size)):
        raise ValueError(
            "the parts' columns must cover 0 .. n_features - 1, each exactly once; "
            f"got {[c.tolist() for c in columns]}"
        )
    return columns


class Product(Family):
    """A product of families, each over its own group of columns.

    Parameters
    ----------
    parts : sequence of dict or of (Family, columns)
        One entry per group of columns: either ``{"family": name, "config":
        {...}, "columns": [indices]}`` (a template part, as :meth:`config`
        writes it) or a pair of a family (template or with parameters) and its
        column indices. Together the columns must be ``0 .. n_features - 1``.

    Examples
    --------
    >>> from mixtura.families import Bernoulli, Gaussian, Product
    >>> template = Product([(Gaussian("diag"), [0, 1]), (Bernoulli(), [2])])
    >>> template.config()["parts"][1]
    {'family': 'bernoulli', 'config': {'alpha': 1.0, 'beta': 1.0}, 'columns': [2]}
    """

    name = "product"

    def __init__(self, parts):
        families, columns = [], []
        for part in parts:
            if isinstance(part, dict):
                family = get_family(part["family"])(**part.get("config", {}))
                families.append(family)
                columns.append(part["columns"])
            else:
                family, part_columns = part
                families.append(family)
                columns.append(part_columns)
        self.parts = tuple(families)
        self.columns = tuple(_check_columns(columns))
        # missing entries are handled part by part, so only when every part can
        self.supports_missing = all(part.supports_missing for part in self.parts)

    @property
    def n_components(self):
        return self.parts[0].n_components

    @property
    def n_features(self):
        return int(sum(c.size for c in self.columns))

    def _split(self, X):
        """Each part's columns of ``X``."""
        if isinstance(X, np.ndarray):
            return [X[:, columns] for columns in self.columns]
        xp = get_namespace(X)
        return [
            xp.take(X, xp.asarray(columns, device=device(X)), axis=1)
            for columns in self.columns
        ]

    def check_data(self, X):
        """Each part checks its own columns (see :meth:`Family.check_data`)."""
        for part, columns in zip(self.parts, self.columns, strict=True):
            part.check_data(X[:, columns])
        return X

    def init_features(self, X):
        """The parts' features side by side, each column scaled to unit variance.

        Parts measure in different units (a flag, a count, a length); scaling keeps
        any one of them from deciding the k-means initialisation alone.
        """
        features = np.hstack(
            [
                part.init_features(block)
                for part, block in zip(self.parts, self._split(X), strict=True)
            ]
        )
        spread = features.std(axis=0)
        return features / np.where(spread > 0, spread, 1.0)

    def log_prob(self, X):
        return self._sum_over_parts(X, lambda part, block: part.log_prob(block))

    def log_kernel(self, X):
        return self._sum_over_parts(X, lambda part, block: part.log_kernel(block))

    def log_base_measure(self, X):
        """The sum of the parts' base measures (None when no part has one)."""
        total = None
        for part, block in zip(self.parts, self._split(X), strict=True):
            base = part.log_base_measure(block)
            if base is not None:
                base = to_numpy(base).astype(np.float64, copy=False)
                total = base if total is None else total + base
        return total

    def base_measure_key(self):
        return (
            type(self),
            tuple(part.base_measure_key() for part in self.parts),
            tuple(tuple(int(c) for c in columns) for columns in self.columns),
        )

    def _sum_over_parts(self, X, per_part):
        blocks = self._split(X)
        total = per_part(self.parts[0], blocks[0])
        for part, block in zip(self.parts[1:], blocks[1:], strict=True):
            total = total + per_part(part, block)
        return total

    def statistics(self, X, resp, sample_weight=None):
        parts = [
            part.statistics(block, resp, sample_weight)
            for part, block in zip(self.parts, self._split(X), strict=True)
        ]
        return ProductStats(parts[0].resp_sum, parts)

    def maximize(self, stats):
        fitted = [
            part.maximize(part_stats)
            for part, part_stats in zip(self.parts, stats.parts, strict=True)
        ]
        return Product(list(zip(fitted, self.columns, strict=True)))

    def sample(self, labels, random_state):
        samples = np.empty((np.asarray(labels).shape[0], self.n_features))
        for part, columns in zip(self.parts, self.columns, strict=True):
            samples[:, columns] = part.sample(labels, random_state)
        return samples

    def n_parameters(self):
        return sum(part.n_parameters() for part in self.parts)

    def config(self):
        return {
            "parts": [
                {
                    "family": part.name,
                    "config": part.config(),
                    "columns": columns.tolist(),
                }
                for part, columns in zip(self.parts, self.columns, strict=True)
            ]
        }

    def parameter_groups(self):
        """Each part's groups, under the part's prefix (``part0_rates``)."""
        return {
            f"part{i}_{name}": tuple(f"part{i}_{member}" for member in members)
            for i, part in enumerate(self.parts)
            for name, members in part.parameter_groups().items()
        }

    def arrays(self):
        return {
            f"part{i}_{name}": value
            for i, part in enumerate(self.parts)
            for name, value in part.arrays().items()
        }

    @classmethod
    def from_arrays(cls, config, arrays):
        specs = config.get("parts") if isinstance(config, dict) else None
        if not isinstance(specs, list) or not specs:
            raise ModelFileError("a product family's config needs a list of parts")
        parts, used = [], set()
        for i, spec in enumerate(specs):
            if not isinstance(spec, dict) or set(spec) != {
                "family",
                "config",
                "columns",
            }:
                raise ModelFileError(
                    f"part {i} must have exactly the keys family, config, columns"
                )
            if spec["family"] == cls.name:
                raise ModelFileError("a product cannot nest another product")
            prefix = f"part{i}_"
            mine = {
                name.removeprefix(prefix): value
                for name, value in arrays.items()
                if name.startswith(prefix)
            }
            used |= {prefix + name for name in mine}
            family = get_family(spec["family"]).from_arrays(spec["config"], mine)
            parts.append((family, spec["columns"]))
        unused = sorted(set(arrays) - used)
        if unused:
            raise ModelFileError(f"arrays {unused} belong to no part")
        product = cls(parts)
        if len({part.n_components for part in product.parts}) != 1:
            raise ModelFileError("the parts disagree on the number of components")
        return product

    def __repr__(self):
        inner = ", ".join(
            f"{part!r} on {columns.tolist()}"
            for part, columns in zip(self.parts, self.columns, strict=True)
        )
        return f"Product({inner})"
