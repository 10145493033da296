# Reference fits of one multivariate / univariate Student-t by R's MASS, for
# tests/families/test_student.py (MASS ships with R as a recommended package;
# Debian: apt-get install r-base-core r-cran-mass r-cran-jsonlite).
#
#   Rscript tests/reference/student_t_mass.R > tests/reference/student_t_mass.json
#
# cov.trob: location and scale matrix of a t with fixed nu by its EM
#   (weights (nu + p) / (nu + Q), scale = sum w (x - m)(x - m)^T / n), on the
#   stackloss data (21 x 4), nu = 3, iterated to tol 1e-12.
# fitdistr(x, "t"): location m, scale s and df by maximum likelihood (optim's
#   Nelder-Mead, tightened to reltol 1e-14), on the lengths of 141 North
#   American rivers, whose right tail is heavy (df about 1.5).
# The data sets themselves are written too, so the tests read R's copies.
library(MASS)
library(jsonlite)
trob <- cov.trob(stackloss, nu = 3, tol = 1e-12, maxit = 10000)
rivers_fit <- fitdistr(as.numeric(rivers), "t",
                       control = list(reltol = 1e-14, maxit = 20000))
cat(toJSON(list(
  R_version = R.version.string,
  MASS_version = as.character(packageVersion("MASS")),
  stackloss_data = unname(as.matrix(stackloss)),
  rivers_data = as.numeric(rivers),
  stackloss_nu = 3,
  stackloss_center = unname(trob$center),
  stackloss_scale = unname(trob$cov),
  rivers_m = unname(rivers_fit$estimate["m"]),
  rivers_s = unname(rivers_fit$estimate["s"]),
  rivers_df = unname(rivers_fit$estimate["df"]),
  rivers_loglik = rivers_fit$loglik
), digits = NA, pretty = TRUE))
