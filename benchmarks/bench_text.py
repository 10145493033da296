"""Text mixtures on a simulated sparse corpus: peak memory and time, with peers.

The corpus is ``--docs`` documents over ``--terms`` terms with about ``--nnz``
distinct terms a document, from ``--k`` topics (each topic half a shared Zipf
background, half its own sparse Dirichlet draw), held as a float64 CSR matrix.

What it measures, all in this process:

- mixtura's ``MultinomialMixture`` on the whole CSR corpus: tracemalloc peak of
  ``fit`` (k-means initialisation on L2-normalised rows included) against the
  CSR matrix's own size (data + indices + indptr; the corpus itself is allocated
  before tracing starts), seconds per EM iteration, adjusted Rand index;
- ``DirichletMultinomialMixture`` on the same corpus, the same figures;
- scikit-learn has no multinomial mixture. Two timing references: a
  straightforward dense NumPy EM (the same model and updates) on a slice of
  ``--dense-docs`` documents, against mixtura on the same slice; and scikit-learn's
  ``LatentDirichletAllocation`` (batch variational EM, a different, richer model)
  on the whole corpus, seconds per pass.

Run (unset the OpenBLAS overrides that this machine may set; they slow NumPy)::

    cd benchmarks && env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \
        ../.venv/bin/python bench_text.py --docs 20000 --terms 20000 --nnz 100 --k 20
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
import warnings

import numpy as np
import scipy.sparse
from scipy.special import logsumexp
from sklearn.decomposition import LatentDirichletAllocation
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import adjusted_rand_score

from _common import best_time, blas_info
from mixtura import DirichletMultinomialMixture, MultinomialMixture


def simulate(n_docs, n_terms, nnz, n_topics, seed=0):
    """A sparse corpus from a multinomial mixture; returns (CSR, labels)."""
    rng = np.random.default_rng(seed)
    background = 1.0 / np.arange(1, n_terms + 1) ** 1.1
    background = rng.permutation(background / background.sum())
    specific = rng.dirichlet(np.full(n_terms, 0.05), size=n_topics)
    topics = 0.5 * background + 0.5 * specific
    labels = rng.integers(n_topics, size=n_docs)
    # tokens so that each document has about `nnz` distinct terms
    lengths = rng.poisson(1.25 * nnz, size=n_docs)
    rows, cols = [], []
    for k in range(n_topics):
        docs = np.flatnonzero(labels == k)
        tokens = rng.choice(n_terms, size=int(lengths[docs].sum()), p=topics[k])
        rows.append(np.repeat(docs, lengths[docs]))
        cols.append(tokens)
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    X = scipy.sparse.csr_matrix(
        (np.ones(rows.size), (rows, cols)), shape=(n_docs, n_terms)
    )
    X.sum_duplicates()
    return X, labels


def csr_bytes(X):
    return X.data.nbytes + X.indices.nbytes + X.indptr.nbytes


def traced_fit(make, X):
    """Fit ``make()`` on X: (model, seconds, tracemalloc peak bytes)."""
    model = make()
    tracemalloc.start()
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X)
    seconds = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return model, seconds, peak


def seconds_per_iteration(make, X, iterations, repeats=3):
    """(fit with 1 + iterations) - (fit with 1), divided: no init, no final E-step.

    ``make(max_iter)`` must start from given labels with ``tol=0``, so that every
    fit runs exactly ``max_iter`` iterations; each fit is timed ``repeats`` times
    and the fastest kept.
    """

    def run(max_iter):
        def fit():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                make(max_iter).fit(X)

        return best_time(fit, repeats)

    return (run(1 + iterations) - run(1)) / iterations


def dense_numpy_em(X, resp, iterations, alpha=1.0):
    """A straightforward dense EM for the multinomial mixture (the timing peer)."""
    log_coefficient = 0.0  # constant per row: does not change the iterations
    for _ in range(iterations):
        counts = resp.T @ X + alpha
        log_theta = np.log(counts / counts.sum(axis=1, keepdims=True))
        log_weights = np.log(resp.sum(axis=0) / resp.shape[0])
        joint = X @ log_theta.T + log_weights + log_coefficient
        resp = np.exp(joint - logsumexp(joint, axis=1, keepdims=True))
    return resp


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=20_000)
    parser.add_argument("--terms", type=int, default=20_000)
    parser.add_argument("--nnz", type=int, default=100)
    parser.add_argument("--k", type=int, default=20)
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--dense-docs", type=int, default=2_000)
    parser.add_argument("--lda-passes", type=int, default=3)
    args = parser.parse_args()
    print(blas_info())

    X, labels = simulate(args.docs, args.terms, args.nnz, args.k)
    size = csr_bytes(X)
    print(
        f"corpus: {X.shape[0]} docs x {X.shape[1]} terms, {X.nnz} stored counts "
        f"({X.nnz / X.shape[0]:.1f} a doc), CSR {size / 2**20:.1f} MiB"
    )

    for name, cls in (
        ("MultinomialMixture", MultinomialMixture),
        ("DirichletMultinomialMixture", DirichletMultinomialMixture),
    ):
        model, seconds, peak = traced_fit(lambda c=cls: c(args.k, random_state=0), X)
        ari = adjusted_rand_score(labels, model.predict(X))
        start_labels = model.predict(X)
        per_iter = seconds_per_iteration(
            lambda m, c=cls, s=start_labels: c(
                args.k, max_iter=m, tol=0, init_params=s
            ),
            X,
            args.iterations,
        )
        print(
            f"{name}: fit {seconds:.2f} s ({model.n_iter_} iterations, converged "
            f"{model.converged_}), {per_iter:.3f} s/iteration, ARI {ari:.4f}, "
            f"tracemalloc peak {peak / 2**20:.1f} MiB = {peak / size:.2f} x CSR"
        )

    # dense NumPy EM peer on a slice, from the same responsibilities
    part = X[: args.dense_docs]
    dense = part.toarray()
    rng = np.random.default_rng(1)
    resp = rng.dirichlet(np.ones(args.k), size=part.shape[0])
    dense_per_iter = (
        best_time(lambda: dense_numpy_em(dense, resp, args.iterations))
        / args.iterations
    )
    sparse_per_iter = seconds_per_iteration(
        lambda m: MultinomialMixture(
            args.k, max_iter=m, tol=0, init_params=resp.argmax(axis=1)
        ),
        part,
        args.iterations,
    )
    print(
        f"slice of {part.shape[0]} docs: dense NumPy EM {dense_per_iter:.4f} "
        f"s/iteration, mixtura sparse {sparse_per_iter:.4f} s/iteration, "
        f"speed-up {dense_per_iter / sparse_per_iter:.1f}x"
    )

    lda = LatentDirichletAllocation(
        args.k, max_iter=args.lda_passes, learning_method="batch", random_state=0
    )
    start = time.perf_counter()
    lda.fit(X)
    lda_per_pass = (time.perf_counter() - start) / args.lda_passes
    print(
        f"sklearn LatentDirichletAllocation (batch, {args.lda_passes} passes): "
        f"{lda_per_pass:.2f} s/pass"
    )


if __name__ == "__main__":
    main()
