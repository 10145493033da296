# Latent class analysis of the carcinoma data with R's flexmix, the independent
# reference for mixtura's BernoulliMixture (tests/estimators/test_discrete.py).
#
# Run from the repository root:
#   Rscript tests/reference/lca_flexmix.R
# Writes tests/reference/lca_flexmix_carcinoma.csv: for K = 2 and 3 classes, the
# best maximised log-likelihood over many random restarts, the class weights and
# the class-conditional probabilities P(rating = 2 | class) of items A..G.
#
# Model: FLXMCmvbinary (independent Bernoulli items within a class), maximum
# likelihood by EM; minprior = 0 so that flexmix never drops a small class, and a
# tight tolerance so that the optimum is reached to many digits.
#
# Produced 2026-11-25 with R 4.2.2 and flexmix 2.3.18 (Debian r-cran-flexmix):
# K=2 loglik -317.256837, K=3 loglik -293.704979 (poLCA's published values for
# these data are -317.2568 and -293.705).
suppressPackageStartupMessages(library(flexmix))

data_path <- "src/mixtura/datasets/data/carcinoma.csv"
ratings <- as.matrix(read.csv(data_path))
y <- ratings - 1L # 1 = no carcinoma, 2 = carcinoma  ->  0 / 1

control <- list(minprior = 0, tolerance = 1e-12, iter.max = 10000, verbose = 0)
rows <- list()
for (k in c(2L, 3L)) {
  set.seed(20261125)
  fits <- stepFlexmix(y ~ 1, k = k, nrep = 200, model = FLXMCmvbinary(),
                      control = control, verbose = FALSE)
  stopifnot(fits@k == k) # minprior = 0: no class was dropped
  centers <- parameters(fits) # items x classes
  weights <- prior(fits)
  loglik <- as.numeric(logLik(fits))
  for (j in seq_len(k)) {
    rows[[length(rows) + 1]] <- data.frame(
      n_components = k, loglik = sprintf("%.10f", loglik), class = j,
      weight = sprintf("%.10f", weights[j]),
      t(setNames(sprintf("%.10f", centers[, j]), colnames(y)))
    )
  }
  cat(sprintf("K=%d loglik=%.6f\n", k, loglik))
}
out <- do.call(rbind, rows)
write.csv(out, "tests/reference/lca_flexmix_carcinoma.csv", row.names = FALSE,
          quote = FALSE)
