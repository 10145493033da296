# Reference numbers for mixtures of regressions and mixtures of experts, from
# R's flexmix and mixtools. R is an oracle for mixtura's tests, never a
# dependency of mixtura. See README_regression.md beside this file.
#
# Regenerate (from the repository root; about a minute on 2 slow cores):
#     Rscript tests/reference/flexmix_regression.R tests/reference
# Debian packages used: r-base-core r-cran-flexmix r-cran-mixtools
# r-cran-jsonlite (nnet and modeltools come with flexmix). The R and package
# versions are recorded in the JSON under "meta".
#
# It writes, into the given folder (default: the folder of this script):
#   npreg.csv       flexmix's NPreg data (x, yn, yp, yb, class), 200 rows
#   co2data.csv     mixtools' CO2data (CO2, GNP, country), 28 rows
#   moe_sim.csv     a simulated mixture of experts (x, y, component), 500 rows
#   flexmix_regression.json   every fit below
#
# Fits (k = 2 everywhere; the best of many random starts is kept):
#   npreg_gaussian      flexmix(yn ~ x + I(x^2), data = NPreg, k = 2)
#   npreg_poisson       flexmix(yp ~ x, ..., model = FLXMRglm(family = "poisson"))
#   npreg_binomial      flexmix(cbind(yb, 1 - yb) ~ x, ...,
#                               model = FLXMRglm(family = "binomial"))
#   co2_flexmix         flexmix(CO2 ~ GNP, data = CO2data, k = 2)
#   co2_regmixEM        mixtools::regmixEM(CO2data$CO2, CO2data$GNP, k = 2)
#   moe_concomitant     flexmix(y ~ x, data = d, k = 2,
#                               concomitant = FLXPmultinom(~ x))
#   moe_no_concomitant  flexmix(y ~ x, data = d, k = 2)
# Each flexmix fit uses control = list(tol = 1e-10, iter.max = 5000) (the
# default tolerance is 1e-6; flexmix stops when
# |llh - llh_old| / (|llh| + 0.1) < tol) and the default minprior = 0.05.
#
# Besides what flexmix reports, each fit gets, computed here in plain R:
#   loglik_recomputed   sum_i log sum_k pi_k(x_i) f_k(y_i) evaluated at the
#                       reported parameters (prior, coefficients, sigma; for the
#                       mixture of experts the reported gating coefficients)
#   ml_refit            plain EM with exact maximum-likelihood M-steps (Gaussian
#                       sigma^2 = sum_i w_ik r_ik^2 / sum_i w_ik; glm.fit with a
#                       tight tolerance for Poisson / binomial; a weighted
#                       logistic regression for the gating), started from
#                       flexmix's final posterior and iterated until the
#                       parameters stop moving. Its parameters, loglik and
#                       posterior are mutually consistent (the posterior is
#                       the E-step at the reported parameters).
# This matters for Gaussian experts: flexmix's sigma is not the ML one, see
# the "notes" field of the JSON and sigma_divisor_check below.
#
# JSON conventions: doubles are written with sprintf("%.17g") (jsonlite 1.8.4
# caps numbers at 15 significant digits even with digits = NA or I(17), so the
# numbers are formatted here and inserted verbatim); matrices are row-major
# lists of lists; clusters and component labels count from 1.
suppressPackageStartupMessages({
  library(flexmix)
  library(mixtools)
  library(jsonlite)
})

args <- commandArgs(trailingOnly = TRUE)
script <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
out <- if (length(args) >= 1) args[1] else if (length(script)) dirname(script) else "."

CONTROL <- list(tol = 1e-10, iter.max = 5000)   # tol partially matches "tolerance"
NREP <- 20

# -- exact JSON numbers ----------------------------------------------------------
# %.17g identifies every double uniquely (glibc printf rounds correctly).
fmt <- function(v) {
  s <- sprintf("%.17g", v)
  s[is.na(v)] <- "null"
  if (any(is.infinite(v))) stop("infinite value in output")
  s
}
# Mark a double scalar / vector / matrix as verbatim JSON. Vectors always stay
# arrays (even of length 1); matrices become row-major lists of lists.
num <- function(v, scalar = FALSE) {
  if (is.matrix(v)) {
    rows <- vapply(seq_len(nrow(v)), function(i)
      paste0("[", paste(fmt(v[i, ]), collapse = ","), "]"), "")
    txt <- paste0("[", paste(rows, collapse = ","), "]")
  } else if (scalar) {
    stopifnot(length(v) == 1)
    txt <- fmt(v)
  } else {
    txt <- paste0("[", paste(fmt(as.numeric(v)), collapse = ","), "]")
  }
  structure(txt, class = "json")
}
sc <- function(v) num(as.numeric(v), scalar = TRUE)
ints <- function(v) I(as.integer(v))           # integer array, never unboxed

write_exact_csv <- function(df, path) {
  cols <- lapply(df, function(v) {
    if (is.integer(v) || is.factor(v) || is.character(v)) as.character(v)
    else if (is.numeric(v) && all(v == round(v))) sprintf("%.0f", v)
    else fmt(v)
  })
  write.table(as.data.frame(cols, stringsAsFactors = FALSE), path, sep = ",",
              quote = FALSE, row.names = FALSE)
}

# -- helpers ----------------------------------------------------------------------
log_row_sums <- function(m) {
  mx <- apply(m, 1, max)
  mx + log(rowSums(exp(m - mx)))
}
# log f_k(y_i) for every row and component, for the three families used here.
log_dens <- function(family, X, y, coefs, sigma = NULL) {
  eta <- X %*% coefs
  sapply(seq_len(ncol(coefs)), function(j) switch(family,
    gaussian = dnorm(y, eta[, j], sigma[j], log = TRUE),
    poisson  = dpois(y, exp(eta[, j]), log = TRUE),
    binomial = dbinom(y, 1, plogis(eta[, j]), log = TRUE)))
}
# log pi_k(x_i): constant prior (vector) or multinomial-logit gating with the
# first component as the baseline (coefficient matrix rows = gating terms).
log_gate <- function(N, prior = NULL, Z = NULL, gcoef = NULL) {
  if (is.null(gcoef)) return(matrix(log(prior), N, length(prior), byrow = TRUE))
  eta <- Z %*% gcoef
  eta - log_row_sums(eta)
}

# Parameters of a flexmix fit with one FLXMRglm model: list of coef matrix
# (terms x components) and sigma (or NULL).
split_params <- function(fit) {
  p <- parameters(fit)
  is_sigma <- rownames(p) == "sigma"
  coefs <- p[!is_sigma, , drop = FALSE]
  rownames(coefs) <- sub("^coef\\.", "", rownames(coefs))
  list(coefs = coefs, sigma = if (any(is_sigma)) p["sigma", ] else NULL)
}

# Plain EM with exact ML M-steps, started from the posterior `post`.
ml_em <- function(family, X, y, post, Z = NULL, maxit = 20000, tol = 1e-12) {
  N <- nrow(X); k <- ncol(post)
  fam <- switch(family, gaussian = gaussian(), poisson = poisson(),
                binomial = quasibinomial())
  gctl <- glm.control(epsilon = 1e-14, maxit = 200)
  old <- NULL; coefs <- NULL; gcoef <- NULL
  for (it in seq_len(maxit)) {
    coefs <- sapply(seq_len(k), function(j) {
      if (family == "gaussian") lm.wfit(X, y, post[, j])$coefficients
      else glm.fit(X, y, weights = post[, j], family = fam, control = gctl,
                   start = if (is.null(coefs)) NULL else coefs[, j])$coefficients
    })
    rownames(coefs) <- colnames(X)
    sigma <- if (family == "gaussian") sapply(seq_len(k), function(j)
      sqrt(sum(post[, j] * (y - X %*% coefs[, j])^2) / sum(post[, j]))) else NULL
    prior <- colMeans(post)
    if (!is.null(Z)) {                # k = 2: logistic regression of post[, 2]
      stopifnot(k == 2)
      g <- glm.fit(Z, post[, 2], family = quasibinomial(), control = gctl,
                   start = if (is.null(gcoef)) NULL else gcoef[, 2])$coefficients
      gcoef <- cbind(0, g)
      dimnames(gcoef) <- list(colnames(Z), c("1", "2"))
    }
    lc <- log_gate(N, prior, Z, gcoef) + log_dens(family, X, y, coefs, sigma)
    lse <- log_row_sums(lc)
    post <- exp(lc - lse)
    theta <- c(coefs, sigma, if (is.null(Z)) prior else gcoef)
    if (!is.null(old) && max(abs(theta - old) / pmax(1, abs(theta))) < tol) break
    old <- theta
  }
  res <- list(iter = it, converged = it < maxit, max_rel_param_change = sc(max(abs(theta - old) / pmax(1, abs(theta)))),
              stopping_rule = sprintf("max |dtheta| / max(1, |theta|) < %g", tol),
              loglik = sc(sum(lse)),
              parameter_names = rownames(coefs), component_names = paste0("Comp.", 1:k),
              coefficients = num(coefs))
  if (!is.null(sigma)) res$sigma <- num(sigma)
  if (is.null(Z)) res$prior <- num(prior)
  else {
    res$concomitant_names <- rownames(gcoef)
    res$concomitant <- num(gcoef)
  }
  df <- length(coefs) + length(sigma) + (if (is.null(Z)) k - 1 else length(g))
  res$df <- df
  res$bic <- sc(-2 * sum(lse) + df * log(N))
  res$cluster <- ints(max.col(post, ties.method = "first"))
  res$posterior <- num(post)
  res
}

# Best of NREP random starts by stepFlexmix (seeded), plus everything reported.
fit_flexmix <- function(name, description, call_text, formula, data, family, seed,
                        X, y, Z = NULL, refit = TRUE, ...) {
  set.seed(seed)
  steps <- stepFlexmix(formula, data = data, k = 2, nrep = NREP, control = CONTROL,
                       verbose = FALSE, drop = FALSE, ...)
  fit <- getModel(steps, "2")
  stopifnot(fit@k == 2)
  pr <- split_params(fit)
  N <- nrow(X)
  gcoef <- if (is.null(Z)) NULL else parameters(fit, which = "concomitant")
  lc <- log_gate(N, prior(fit), Z, gcoef) + log_dens(family, X, y, pr$coefs, pr$sigma)
  ll_re <- sum(log_row_sums(lc))
  res <- list(
    description = description,
    call = call_text,
    family = family, n = N, k = fit@k,
    control = list(tolerance = fit@control@tolerance, iter_max = fit@control@iter.max,
                   minprior = fit@control@minprior, classify = fit@control@classify,
                   criterion = "stop when |llh - llh_old| / (|llh| + 0.1) < tolerance"),
    seed = seed, nrep = NREP,
    rep_logliks = num(steps@logLiks[1, ]),
    loglik = sc(logLik(fit)),
    loglik_recomputed = sc(ll_re),
    df = as.integer(fit@df),
    bic = sc(BIC(fit)), aic = sc(AIC(fit)),
    iter = as.integer(fit@iter), converged = fit@converged,
    prior = num(prior(fit)),
    parameter_names = rownames(parameters(fit)),
    component_names = colnames(parameters(fit)),
    parameters = num(unname(parameters(fit))),
    cluster = ints(clusters(fit)),
    size = ints(fit@size),
    posterior = num(unname(posterior(fit)))
  )
  if (!is.null(Z)) {
    res$concomitant_names <- rownames(gcoef)
    res$concomitant <- num(unname(gcoef))
    res$gating_probabilities <- num(exp(log_gate(N, Z = Z, gcoef = gcoef)))
  }
  t0 <- proc.time()[["elapsed"]]
  res$ml_refit <- if (refit) ml_em(family, X, y, posterior(fit), Z) else NULL
  cat(sprintf("%-20s loglik %.10f (recomputed %.10f)  ML refit %.10f (%d it, %.0fs)  iter %d  reps: %s\n",
              name, logLik(fit), ll_re,
              if (refit) as.numeric(res$ml_refit$loglik) else NA,
              if (refit) res$ml_refit$iter else NA_integer_,
              proc.time()[["elapsed"]] - t0, fit@iter,
              paste(sprintf("%.4f", sort(unique(round(steps@logLiks[1, ], 4)), TRUE)),
                    collapse = " ")))
  list(record = res, fit = fit)
}

# -- data -------------------------------------------------------------------------
data("NPreg", package = "flexmix")
NPreg <- NPreg[, c("x", "yn", "yp", "yb", "class")]
data("CO2data", package = "mixtools")
CO2data <- CO2data[, c("CO2", "GNP", "country")]
CO2data$country <- as.character(CO2data$country)

# Mixture of experts, simulated (the draws are made in exactly this order):
set.seed(1)
n <- 500
x <- runif(n, -3, 3)
component <- ifelse(runif(n) < plogis(2 * x), 1L, 2L)   # P(comp 1 | x) = plogis(2x)
e <- rnorm(n)
y <- ifelse(component == 1L, 1 + 2 * x + 0.5 * e, -1 - x + 0.8 * e)
moe <- data.frame(x = x, y = y, component = component)

write_exact_csv(NPreg, file.path(out, "npreg.csv"))
write_exact_csv(CO2data, file.path(out, "co2data.csv"))
write_exact_csv(moe, file.path(out, "moe_sim.csv"))

# -- flexmix fits -------------------------------------------------------------------
Xq <- model.matrix(~ x + I(x^2), NPreg)
Xl <- model.matrix(~ x, NPreg)
fits <- list()
r <- fit_flexmix("npreg_gaussian",
  "Gaussian experts, each with its own sigma: yn ~ x + x^2",
  "stepFlexmix(yn ~ x + I(x^2), data = NPreg, k = 2, nrep = 20, control = list(tol = 1e-10, iter.max = 5000))",
  yn ~ x + I(x^2), NPreg, "gaussian", 11, Xq, NPreg$yn)
fits$npreg_gaussian <- r$record; fit_npreg <- r$fit
fits$npreg_poisson <- fit_flexmix("npreg_poisson",
  "Poisson experts with log link: yp ~ x",
  "stepFlexmix(yp ~ x, data = NPreg, k = 2, nrep = 20, model = FLXMRglm(family = 'poisson'), control = list(tol = 1e-10, iter.max = 5000))",
  yp ~ x, NPreg, "poisson", 12, Xl, NPreg$yp,
  model = FLXMRglm(family = "poisson"))$record
fits$npreg_binomial <- suppressWarnings(fit_flexmix("npreg_binomial",
  "Bernoulli experts with logit link: cbind(yb, 1 - yb) ~ x",
  "stepFlexmix(cbind(yb, 1 - yb) ~ x, data = NPreg, k = 2, nrep = 20, model = FLXMRglm(family = 'binomial'), control = list(tol = 1e-10, iter.max = 5000))",
  cbind(yb, 1 - yb) ~ x, NPreg, "binomial", 13, Xl, NPreg$yb, refit = FALSE,
  model = FLXMRglm(family = "binomial")))$record
# One binary response per row: the mixture is identified only through
# P(y = 1 | x) = sum_k pi_k plogis(a_k + b_k x), and EM drives the coefficients
# to infinity (step functions; glm.fit warns about fitted probabilities 0 or 1,
# silenced above). No finite MLE, so no ml_refit.
fits$npreg_binomial$caveat <- paste(
  "Degenerate: single Bernoulli trials per row, the EM coefficients diverge",
  "(|coef| in the hundreds or thousands, component probabilities numerically 0/1)",
  "and the log-likelihood keeps creeping up; flexmix stops on its relative",
  "tolerance. Several restarts reach the same loglik to about 1e-10 with",
  "different coefficients. Use loglik (about -134.3056) and clusters only as a",
  "loose check, not the coefficients; there is no ml_refit.")
Xc <- model.matrix(~ GNP, CO2data)
fits$co2_flexmix <- fit_flexmix("co2_flexmix",
  "Gaussian experts on CO2data: CO2 ~ GNP",
  "stepFlexmix(CO2 ~ GNP, data = CO2data, k = 2, nrep = 20, control = list(tol = 1e-10, iter.max = 5000))",
  CO2 ~ GNP, CO2data, "gaussian", 14, Xc, CO2data$CO2)$record
Xm <- model.matrix(~ x, moe)
r <- fit_flexmix("moe_concomitant",
  "Mixture of experts: Gaussian experts y ~ x, multinomial-logit gating ~ x",
  "stepFlexmix(y ~ x, data = moe_sim, k = 2, nrep = 20, concomitant = FLXPmultinom(~ x), control = list(tol = 1e-10, iter.max = 5000))",
  y ~ x, moe, "gaussian", 15, Xm, moe$y, Z = Xm,
  concomitant = FLXPmultinom(~ x))
fits$moe_concomitant <- r$record; fit_moe <- r$fit
fits$moe_no_concomitant <- fit_flexmix("moe_no_concomitant",
  "Same simulated data, constant mixing proportions: y ~ x",
  "stepFlexmix(y ~ x, data = moe_sim, k = 2, nrep = 20, control = list(tol = 1e-10, iter.max = 5000))",
  y ~ x, moe, "gaussian", 16, Xm, moe$y)$record

# -- mixtools regmixEM on CO2data ---------------------------------------------------
# regmixEM stops when the log-likelihood gain <= epsilon (absolute). Its returned
# posterior is the E-step *before* its last M-step (one step behind beta, sigma,
# lambda); posterior_at_final_params is the E-step at the returned parameters.
# A tighter epsilon than 1e-10 makes it restart from random values when rounding
# noise shows a tiny decrease, so 1e-10 is kept and ml_refit tightens the result.
EPS_MIXTOOLS <- 1e-10
seeds <- 1:50
runs <- lapply(seeds, function(s) {
  set.seed(s)
  out_txt <- NULL
  f <- tryCatch({
    out_txt <- capture.output(res <- regmixEM(CO2data$CO2, CO2data$GNP, k = 2,
                                               epsilon = EPS_MIXTOOLS, maxit = 100000))
    res
  }, error = function(e) NULL)
  f
})
ok <- !vapply(runs, is.null, TRUE)
lls <- vapply(runs, function(f) if (is.null(f)) NA_real_ else f$loglik, 0)
best <- which.max(lls)
rm_fit <- runs[[best]]
lc <- log_gate(nrow(Xc), rm_fit$lambda) +
  log_dens("gaussian", Xc, CO2data$CO2, rm_fit$beta, rm_fit$sigma)
fits$co2_regmixEM <- list(
  description = "mixtools regmixEM on CO2data: CO2 ~ GNP, k = 2, arbmean and arbvar",
  call = sprintf("regmixEM(CO2data$CO2, CO2data$GNP, k = 2, epsilon = %g, maxit = 1e5)",
                 EPS_MIXTOOLS),
  family = "gaussian", n = nrow(Xc), k = 2L,
  control = list(epsilon = EPS_MIXTOOLS, maxit = 100000L,
                 criterion = "stop when loglik gain <= epsilon (absolute)"),
  seeds = ints(seeds), seed = seeds[best], failed_seeds = ints(seeds[!ok]),
  seed_logliks = num(lls),
  loglik = sc(rm_fit$loglik),
  loglik_recomputed = sc(sum(log_row_sums(lc))),
  df = 7L, bic = sc(-2 * rm_fit$loglik + 7 * log(nrow(Xc))),
  iter = length(rm_fit$all.loglik) - 1L, restarts = as.integer(rm_fit$restarts),
  lambda = num(rm_fit$lambda),
  beta_names = c("(Intercept)", "GNP"), component_names = colnames(rm_fit$beta),
  beta = num(unname(rm_fit$beta)),
  sigma = num(rm_fit$sigma),
  posterior = num(unname(rm_fit$posterior)),
  posterior_at_final_params = num(exp(lc - log_row_sums(lc))),
  ml_refit = ml_em("gaussian", Xc, CO2data$CO2, rm_fit$posterior)
)
cat(sprintf("%-20s loglik %.10f  ML refit %.10f  seeds ok %d/%d, distinct %s\n",
            "co2_regmixEM", rm_fit$loglik, as.numeric(fits$co2_regmixEM$ml_refit$loglik),
            sum(ok), length(seeds),
            paste(sprintf("%.4f", sort(unique(round(lls[ok], 4)), TRUE)), collapse = " ")))

# -- flexmix's sigma divisor, shown on the final NPreg fit --------------------------
# FLXMRglm(family = "gaussian")@fit is
#   fit <- lm.wfit(x, y, w = w, offset = offset)
#   sigma = sqrt(sum(fit$weights * fit$residuals^2 / mean(fit$weights)) /
#                (nrow(x) - fit$rank))
# with x all N rows and w the posterior column, i.e.
#   sigma^2 = [sum_i w_i r_i^2 / sum_i w_i] * N / (N - rank).
# One M-step from the final posterior, four ways:
w_all <- posterior(fit_npreg)
N <- nrow(Xq)
check <- lapply(1:2, function(j) {
  w <- w_all[, j]
  comp <- fit_npreg@model[[1]]@fit(Xq, NPreg$yn, w, component = list())
  lw <- lm.wfit(Xq, NPreg$yn, w)
  rss <- sum(w * lw$residuals^2)
  list(component = j, N = N, N_k = sc(sum(w)), rank = lw$rank,
       sigma_flexmix_mstep = sc(comp@parameters$sigma),
       sigma_formula_N_over_N_minus_rank = sc(sqrt(rss / sum(w) * N / (N - lw$rank))),
       sigma_ml = sc(sqrt(rss / sum(w))),
       sigma_divisor_Nk_minus_rank = sc(sqrt(rss / (sum(w) - lw$rank))))
})
for (ch in check) {
  a <- as.numeric(ch$sigma_flexmix_mstep); b <- as.numeric(ch$sigma_formula_N_over_N_minus_rank)
  stopifnot(abs(a - b) < 1e-12 * b)
}
fits$npreg_gaussian$sigma_divisor_check <- check

notes <- c(
  paste("Gaussian sigma: flexmix's FLXMRglm gaussian M-step computes",
        "sigma = sqrt(sum(fit$weights * fit$residuals^2 / mean(fit$weights)) / (nrow(x) - fit$rank))",
        "after fit <- lm.wfit(x, y, w = w), where x holds all N rows and w is the posterior",
        "column. So sigma_k^2 = [sum_i w_ik r_ik^2 / sum_i w_ik] * N / (N - rank): the ML",
        "variance inflated by N / (N - rank) with the TOTAL N, not a division by",
        "(N_k - rank) with N_k = sum_i w_ik. The fixed point is therefore not the maximum",
        "likelihood estimate (see npreg_gaussian.sigma_divisor_check)."),
  paste("flexmix's logLik is the exact mixture log-likelihood evaluated with its own",
        "(inflated) sigma: loglik_recomputed = sum_i log sum_k prior_k dnorm(y_i, mu_ik,",
        "sigma_k) agrees with loglik up to the convergence tolerance. The true maximum is",
        "ml_refit (plain EM with the ML sigma), whose loglik is higher."),
  paste("flexmix's logLik and parameters come from the last M-step, computed with the",
        "posterior of the previous iteration; its prior (colMeans of the posterior) and",
        "posterior are from the final E-step, one half-step later. At tol = 1e-10 the",
        "difference is far below test tolerances; ml_refit is exactly consistent."),
  paste("Poisson and binomial experts: flexmix's M-step is a weighted glm.fit (IRLS,",
        "glm's default epsilon 1e-8, warm-started), so its fixed point is the MLE up to",
        "that tolerance; ml_refit tightens it."),
  paste("Mixture of experts: during EM flexmix fits the gating by nnet (FLXPmultinom,",
        "nnet.default with its own BFGS defaults, started from zero weights each",
        "iteration); the reported concomitant coefficients come from a separate",
        "nnet::multinom refit on the final posterior, component 1 is the baseline",
        "(its column is 0), and prior(fit) is only the mean posterior. ml_refit uses an",
        "exact weighted logistic regression of the component-2 posterior on (1, x)."),
  paste("mixtools regmixEM uses the ML sigma (sum z r^2 / sum z) and so targets the",
        "true MLE, like ml_refit; its returned posterior is one E-step behind its",
        "returned parameters (posterior_at_final_params is the E-step at them)."),
  paste("npreg_binomial is degenerate (no finite MLE; see its caveat field)."),
  paste("Component labels are whatever the fit produced (no reordering): match",
        "components by permutation. Matrices are row-major lists of rows: posterior",
        "n x k, parameters terms x components. Doubles are printed with %.17g."),
  paste("NPreg is flexmix's saved data set (ExNPreg(100) after set.seed(2602)):",
        "class 1: yn = 5x + e, class 2: yn = 40 - (x - 5)^2 = 15 + 10x - x^2 + e,",
        "e ~ 3 N(0, 1) (ExNPreg recycles the same 100 normal draws over both classes);",
        "yp ~ Poisson(exp(2 - 0.2x)) / Poisson(exp(1 + 0.1x));",
        "yb ~ Bernoulli(plogis(x - 5)) / Bernoulli(plogis(5 - x)); x ~ U(0, 10).")
)

dpkg <- tryCatch(system2("dpkg-query", c("-W", shQuote("-f=${Package} ${Version}\\n"),
                                         "r-base-core", "r-cran-flexmix", "r-cran-mixtools",
                                         "r-cran-jsonlite", "r-cran-nnet"),
                         stdout = TRUE, stderr = FALSE),
                 error = function(e) character(0), warning = function(w) character(0))

result <- list(
  meta = list(
    generated_by = "tests/reference/flexmix_regression.R",
    command = "Rscript tests/reference/flexmix_regression.R tests/reference",
    date = as.character(Sys.Date()),
    R_version = R.version.string,
    packages = lapply(c(flexmix = "flexmix", mixtools = "mixtools", jsonlite = "jsonlite",
                        nnet = "nnet", modeltools = "modeltools"),
                      function(p) as.character(packageVersion(p))),
    debian_packages = dpkg,
    number_format = "doubles printed with sprintf('%.17g'); matrices row-major lists of rows",
    notes = notes
  ),
  datasets = list(
    npreg = list(file = "npreg.csv", n = nrow(NPreg), columns = names(NPreg),
                 source = paste("R package flexmix, data(NPreg): artificial 2-class",
                                "regression data, ExNPreg(100) after set.seed(2602)")),
    co2data = list(file = "co2data.csv", n = nrow(CO2data), columns = names(CO2data),
                   source = paste("R package mixtools, data(CO2data): GNP per capita and",
                                  "CO2 emission per capita in 1996 for 28 countries",
                                  "(Hurn, Justel & Robert 2003, JCGS 12(1), 55-79)")),
    moe_sim = list(file = "moe_sim.csv", n = nrow(moe), columns = names(moe),
                   source = paste("simulated by this script: set.seed(1); x <- runif(500, -3, 3);",
                                  "component <- ifelse(runif(500) < plogis(2 * x), 1, 2);",
                                  "e <- rnorm(500); y <- ifelse(component == 1,",
                                  "1 + 2 * x + 0.5 * e, -1 - x + 0.8 * e)"))
  ),
  fits = fits
)
writeLines(toJSON(result, auto_unbox = TRUE, pretty = TRUE, json_verbatim = TRUE,
                  digits = NA),
           file.path(out, "flexmix_regression.json"))
cat("wrote", file.path(out, "flexmix_regression.json"), "\n")
