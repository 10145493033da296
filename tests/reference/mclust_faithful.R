# Reference numbers for tests/test_mclust_reference.py, from R's mclust.
#
# Run from the repository root:
#     Rscript tests/reference/mclust_faithful.R tests/reference
# It writes, into the given folder:
#   mclust_faithful_bic.csv   mclustBIC(faithful, G = 1:9) for all 14 models
#                             (mclust's sign: 2 log L - p log n, higher is better;
#                             NA where mclust could not fit the model)
#   mclust_faithful_best.csv  loglik, number of parameters, BIC and ICL of the
#                             best model, and of every fitted cell
#   mclust_faithful_cells.csv loglik, number of parameters, BIC and ICL of every
#                             fitted cell (mclust's defaults) and which is best
#   mclust_faithful_hc.csv    mclust's initial partitions (hclass of its default
#                             hierarchy, hc(X, "VVV", use = "SVD")) for G = 1..9
#   mclust_waiting_bic.csv    mclustBIC(faithful$waiting, G = 1:5), models E and V
#   mclust_nparams.csv        nMclustParams(model, d, G) for d = 1, 2, 3, 5 and
#                             G = 1..4 (1 + 14 models; E and V only for d = 1)
#   mclust_faithful_info.txt  R and mclust versions, mclust.options("hcUse"), and
#                             the best model refitted with a tight EM tolerance
suppressPackageStartupMessages(library(mclust))
args <- commandArgs(trailingOnly = TRUE)
out <- if (length(args) >= 1) args[1] else "."
X <- faithful
bic <- mclustBIC(X, G = 1:9)
table <- as.data.frame(unclass(bic)[, , drop = FALSE])
table <- cbind(G = as.integer(rownames(table)), table)
write.csv(table, file.path(out, "mclust_faithful_bic.csv"), row.names = FALSE,
          na = "NA")
hierarchy <- hc(X, modelName = mclust.options("hcModelName"),
                use = mclust.options("hcUse"))
write.csv(hclass(hierarchy, 1:9), file.path(out, "mclust_faithful_hc.csv"),
          row.names = FALSE)

rows <- list()
for (model in colnames(bic)) {
  for (g in 1:9) {
    if (is.na(bic[as.character(g), model])) next
    fit <- Mclust(X, G = g, modelNames = model, x = bic, verbose = FALSE)
    if (is.null(fit)) next
    rows[[length(rows) + 1]] <- data.frame(
      model = model, G = g, loglik = fit$loglik, df = fit$df, bic = fit$bic,
      icl = icl(fit))
  }
}
cells <- do.call(rbind, rows)
best <- Mclust(X, G = 1:9, x = bic, verbose = FALSE)
cells$best <- cells$model == best$modelName & cells$G == best$G
write.csv(cells, file.path(out, "mclust_faithful_cells.csv"), row.names = FALSE)
info <- c(
  paste("R", R.version.string),
  paste("mclust", as.character(packageVersion("mclust"))),
  paste("hcUse", mclust.options("hcUse")),
  paste("best", best$modelName, best$G, "loglik", format(best$loglik, digits = 12),
        "df", best$df, "bic", format(best$bic, digits = 12))
)
writeLines(info, file.path(out, "mclust_faithful_info.txt"))

uni <- mclustBIC(faithful$waiting, G = 1:5)
uni <- as.data.frame(unclass(uni)[, , drop = FALSE])
uni <- cbind(G = as.integer(rownames(uni)), uni)
write.csv(uni, file.path(out, "mclust_waiting_bic.csv"), row.names = FALSE, na = "NA")

counts <- list()
for (d in c(1, 2, 3, 5)) {
  models <- if (d == 1) c("E", "V") else mclust.options("emModelNames")
  for (model in models) {
    for (g in 1:4) {
      counts[[length(counts) + 1]] <- data.frame(
        model = model, d = d, G = g, nparams = nMclustParams(model, d, g))
    }
  }
}
write.csv(do.call(rbind, counts), file.path(out, "mclust_nparams.csv"),
          row.names = FALSE)

# mclust stops EM when the relative change of the log-likelihood falls below
# 1e-5; refitted from the same start with a tight tolerance, the best model's
# log-likelihood rises a little (what mixtura reaches with a tight tolerance)
tight <- me(X, modelName = best$modelName, z = unmap(best$classification),
            control = emControl(tol = c(1e-12, sqrt(.Machine$double.eps))))
cat(paste("tight-tolerance", best$modelName, best$G, "loglik",
          format(tight$loglik, digits = 12)), "\n",
    file = file.path(out, "mclust_faithful_info.txt"), append = TRUE)
