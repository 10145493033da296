# Reference numbers for tests/priors/test_mclust.py, from R's mclust:
# the conjugate prior of Fraley & Raftery (2007), priorControl() / defaultPrior.
#
# Run from the repository root:
#     Rscript tests/reference/mclust_faithful_prior.R tests/reference
# (R 4.2.2, mclust 6.0.0). It writes, into the given folder:
#   mclust_prior_defaults.csv   defaultPrior(data, G, model) for faithful (each
#                               model class) and faithful$waiting (E, V), G = 1..3:
#                               shrinkage, dof, mean entries, scale entries
#   mclust_prior_fits.csv       for the models mclust supports with a prior, from
#                               mclust's initial partitions (mclust_faithful_hc.csv;
#                               for waiting, mclust_prior_waiting_starts.csv):
#                               stage "mstep": one MAP M-step, mstep(z = unmap(hc));
#                               stage "me": EM to a tight tolerance from that z;
#                               stage "mstep0": one M-step with shrinkage = 0 (G = 3);
#                               rows: what (pro, mean, sigma, loglik), k, i, j, value
#                               (NA where mclust's EM fails: VEI, G = 3 loses a
#                               component under the tight tolerance)
#   mclust_prior_bic.csv        mclustBIC(faithful, G = 1:9, prior = priorControl())
#                               (NA: mclust has no prior for VEE, EVE, VVE, EVV)
#   mclust_prior_waiting_bic.csv  mclustBIC(faithful$waiting, G = 1:5,
#                               prior = priorControl()), models E and V
#   mclust_prior_waiting_starts.csv  mclust:::qclass(waiting, G), G = 1..5: the
#                               initial partitions mclustBIC uses for 1-D data
suppressPackageStartupMessages(library(mclust))
args <- commandArgs(trailingOnly = TRUE)
out <- if (length(args) >= 1) args[1] else "."
X <- as.matrix(faithful)
w <- faithful$waiting
prior <- priorControl()
supported <- c("EII", "VII", "EEI", "VEI", "EVI", "VVI", "EEE", "EEV", "VEV", "VVV")
tight <- emControl(tol = c(1e-11, sqrt(.Machine$double.eps)))

# -- defaults -------------------------------------------------------------------------
rows <- list()
add_default <- function(data, model, g) {
  p <- defaultPrior(data, G = g, modelName = model)
  data.frame(
    data = if (is.null(dim(data))) "waiting" else "faithful", model = model, G = g,
    what = c("shrinkage", "dof", rep("mean", length(p$mean)),
             rep("scale", length(p$scale))),
    index = c(0, 0, seq_along(p$mean) - 1, seq_along(p$scale) - 1),
    value = c(p$shrinkage, p$dof, as.vector(p$mean), as.vector(p$scale)))
}
for (g in 1:3) {
  for (model in c("EII", "VVI", "VVV")) rows[[length(rows) + 1]] <- add_default(X, model, g)
  for (model in c("E", "V")) rows[[length(rows) + 1]] <- add_default(w, model, g)
}
write.csv(do.call(rbind, rows), file.path(out, "mclust_prior_defaults.csv"),
          row.names = FALSE)

# -- MAP M-steps and EM fits from mclust's hc partitions -------------------------------
hc_faithful <- hclass(hc(X, modelName = "VVV", use = "SVD"), 1:9)
# for one-dimensional data mclustBIC starts from quantile classes, not hc
hc_waiting <- sapply(1:5, function(g) mclust:::qclass(w, g))
colnames(hc_waiting) <- 1:5
write.csv(hc_waiting, file.path(out, "mclust_prior_waiting_starts.csv"),
          row.names = FALSE)

flatten <- function(model, g, stage, fit) {
  par <- fit$parameters
  d <- if (model %in% c("E", "V")) 1 else ncol(X)
  sig <- if (model %in% c("E", "V")) {
    array(rep_len(par$variance$sigmasq, g), c(1, 1, g))
  } else {
    array(par$variance$sigma, c(d, d, g))
  }
  mu <- matrix(par$mean, d, g)
  out <- list(data.frame(what = "pro", k = 1:g - 1, i = 0, j = 0, value = par$pro))
  for (k in 1:g) {
    out[[length(out) + 1]] <- data.frame(what = "mean", k = k - 1, i = 1:d - 1, j = 0,
                                         value = mu[, k])
    ij <- expand.grid(i = 1:d, j = 1:d)
    out[[length(out) + 1]] <- data.frame(what = "sigma", k = k - 1, i = ij$i - 1,
                                         j = ij$j - 1, value = sig[cbind(ij$i, ij$j, k)])
  }
  if (!is.null(fit$loglik)) {
    out[[length(out) + 1]] <- data.frame(what = "loglik", k = 0, i = 0, j = 0,
                                         value = fit$loglik)
  }
  cbind(model = model, G = g, stage = stage, do.call(rbind, out))
}

fits <- list()
for (model in supported) {
  for (g in c(2, 3)) {
    z <- unmap(hc_faithful[, g])
    fits[[length(fits) + 1]] <- flatten(model, g, "mstep",
                                        mstep(X, modelName = model, z = z, prior = prior))
    fits[[length(fits) + 1]] <- flatten(model, g, "me",
                                        me(X, modelName = model, z = z, prior = prior,
                                           control = tight))
  }
  fits[[length(fits) + 1]] <- flatten(model, 3, "mstep0",
                                      mstep(X, modelName = model, z = unmap(hc_faithful[, 3]),
                                            prior = priorControl(shrinkage = 0)))
}
for (model in c("E", "V")) {
  for (g in c(2, 3)) {
    z <- unmap(hc_waiting[, g])
    fits[[length(fits) + 1]] <- flatten(model, g, "mstep",
                                        mstep(w, modelName = model, z = z, prior = prior))
    fits[[length(fits) + 1]] <- flatten(model, g, "me",
                                        me(w, modelName = model, z = z, prior = prior,
                                           control = tight))
  }
  fits[[length(fits) + 1]] <- flatten(model, 3, "mstep0",
                                      mstep(w, modelName = model, z = unmap(hc_waiting[, 3]),
                                            prior = priorControl(shrinkage = 0)))
}
write.csv(do.call(rbind, fits), file.path(out, "mclust_prior_fits.csv"),
          row.names = FALSE)

# -- BIC tables ------------------------------------------------------------------------
bic <- mclustBIC(X, G = 1:9, prior = prior)
table <- as.data.frame(unclass(bic)[, , drop = FALSE])
table <- cbind(G = as.integer(rownames(table)), table)
for (model in mclust.options("emModelNames")) {
  if (!(model %in% colnames(table))) table[[model]] <- NA
}
table <- table[, c("G", mclust.options("emModelNames"))]
write.csv(table, file.path(out, "mclust_prior_bic.csv"), row.names = FALSE, na = "NA")

uni <- mclustBIC(w, G = 1:5, prior = prior)
uni <- as.data.frame(unclass(uni)[, , drop = FALSE])
uni <- cbind(G = as.integer(rownames(uni)), uni)
write.csv(uni, file.path(out, "mclust_prior_waiting_bic.csv"), row.names = FALSE,
          na = "NA")
