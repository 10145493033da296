# Reference numbers for the noise component (tests/families/test_noise.py and
# tests/estimators/test_gaussian_noise.py), from R's mclust.
#
# Run from the repository root:
#     Rscript tests/reference/mclust_faithful_noise.R tests/reference
# It writes, into the given folder:
#   mclust_faithful_noise_init.csv   the noise initialisation: rows of faithful
#                                    whose squared Mahalanobis distance from the
#                                    mean exceeds its 0.9 quantile (TRUE = noise)
#   mclust_faithful_noise_hc.csv     mclust's partitions of the other rows
#                                    (hclass of hc(X[!noise, ], "VVV", use =
#                                    "SVD")) for G = 1..5; 0 marks noise rows
#   mclust_faithful_noise_bic.csv    mclustBIC(faithful, G = 1:5, initialization
#                                    = list(noise = noise)) for all 14 models
#                                    (mclust's sign, higher is better; NA where
#                                    mclust could not fit)
#   mclust_faithful_noise_fits.csv   for the best model and a few others: EM
#                                    with a tight tolerance (me, tol 1e-13)
#                                    from mclust's start; loglik, number of
#                                    parameters, proportions (noise last),
#                                    means (component-major), Vinv
#   mclust_faithful_noise_info.txt   R and mclust versions, hypvol(faithful)
#                                    and its two candidate volumes, the best
#                                    model of the BIC table and its loglik
suppressPackageStartupMessages(library(mclust))
args <- commandArgs(trailingOnly = TRUE)
out <- if (length(args) >= 1) args[1] else "."
X <- as.matrix(faithful)
n <- nrow(X)

distance <- mahalanobis(X, colMeans(X), cov(X))
noise <- distance > quantile(distance, 0.9, type = 7)
write.csv(data.frame(noise = noise), file.path(out, "mclust_faithful_noise_init.csv"),
          row.names = FALSE)

hierarchy <- hc(X[!noise, ], modelName = mclust.options("hcModelName"),
                use = mclust.options("hcUse"))
classes <- hclass(hierarchy, 1:5)
partitions <- matrix(0L, n, 5, dimnames = list(NULL, 1:5))
partitions[!noise, ] <- classes
write.csv(partitions, file.path(out, "mclust_faithful_noise_hc.csv"), row.names = FALSE)

bic <- mclustBIC(X, G = 1:5, initialization = list(noise = noise), verbose = FALSE)
table <- as.data.frame(unclass(bic)[, , drop = FALSE])
table <- cbind(G = as.integer(rownames(table)), table)
write.csv(table, file.path(out, "mclust_faithful_noise_bic.csv"), row.names = FALSE,
          na = "NA")
best <- Mclust(X, x = bic, verbose = FALSE)

Vinv <- hypvol(X, reciprocal = TRUE)
fits <- list()
cases <- list(c(best$modelName, best$G), c("VVV", 2), c("EEE", 3), c("VEV", 2),
              c("EII", 4))
for (case in cases) {
  model <- case[1]
  g <- as.integer(case[2])
  z <- matrix(0, n, g + 1)
  z[!noise, 1:g] <- unmap(partitions[!noise, g], groups = 1:g)
  z[noise, g + 1] <- 1
  fit <- me(X, modelName = model, z = z, Vinv = Vinv,
            control = emControl(tol = c(1e-13, sqrt(.Machine$double.eps))))
  fits[[length(fits) + 1]] <- data.frame(
    model = model, G = g, loglik = fit$loglik,
    nparams = nMclustParams(model, ncol(X), g, noise = TRUE),
    bic = bic(model, fit$loglik, n, ncol(X), g, noise = TRUE),
    Vinv = fit$parameters$Vinv,
    pro = paste(format(fit$parameters$pro, digits = 15), collapse = ";"),
    mean = paste(format(as.vector(fit$parameters$mean), digits = 15), collapse = ";"),
    iterations = attr(fit, "info")[1])
}
write.csv(do.call(rbind, fits), file.path(out, "mclust_faithful_noise_fits.csv"),
          row.names = FALSE)

logbox <- sum(log(apply(X, 2, function(column) diff(range(column)))))
logpc <- sum(log(apply(princomp(X)$scores, 2, function(column) diff(range(column)))))
info <- c(
  paste("R", R.version.string),
  paste("mclust", as.character(packageVersion("mclust"))),
  paste("hypvol", format(hypvol(X), digits = 15)),
  paste("box_volume", format(exp(logbox), digits = 15)),
  paste("pc_volume", format(exp(logpc), digits = 15)),
  paste("best", best$modelName, best$G, "loglik", format(best$loglik, digits = 15),
        "df", best$df, "bic", format(best$bic, digits = 15))
)
writeLines(info, file.path(out, "mclust_faithful_noise_info.txt"))
