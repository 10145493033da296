# Reference hierarchies for tests/inference/test_hierarchical.py, from R's mclust.
#
# Run from the repository root:
#     Rscript tests/reference/hc_reference.R tests/reference
# It writes, into the given folder, for mclust's default initial hierarchy
# hc(X, modelName = "VVV", use = "SVD") (what mclustBIC uses; R 4.2.2, mclust
# 6.0.0 made the committed files):
#   hc_iris.csv              hclass(hierarchy, 1:9) for iris[, 1:4] (the rows of
#                            sklearn.datasets.load_iris, same order): columns
#                            K = 1..9, one row per observation, labels from 1
#   hc_faithful_merges.csv   the merge pairs of the whole hierarchy (n - 1 rows,
#   hc_iris_merges.csv       columns i < j): step s merges the clusters whose
#                            smallest observations are i and j
#   hc_info.txt              R and mclust versions and mclust.options("hcUse")
suppressPackageStartupMessages(library(mclust))
args <- commandArgs(trailingOnly = TRUE)
out <- if (length(args) >= 1) args[1] else "."
data <- list(faithful = faithful, iris = iris[, 1:4])
for (name in names(data)) {
  hierarchy <- hc(data[[name]], modelName = "VVV", use = "SVD")
  merges <- t(unclass(hierarchy)[, , drop = FALSE])
  colnames(merges) <- c("i", "j")
  write.csv(merges, file.path(out, paste0("hc_", name, "_merges.csv")),
            row.names = FALSE)
}
write.csv(hclass(hc(iris[, 1:4], modelName = "VVV", use = "SVD"), 1:9),
          file.path(out, "hc_iris.csv"), row.names = FALSE)
writeLines(c(paste("R", R.version.string),
             paste("mclust", as.character(packageVersion("mclust"))),
             paste("hcUse", mclust.options("hcUse"))),
           file.path(out, "hc_info.txt"))
