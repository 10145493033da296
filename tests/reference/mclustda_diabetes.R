# Reference numbers for tests/estimators/test_discriminant.py, from R's mclust.
#
# Run from the repository root:
#     Rscript tests/reference/mclustda_diabetes.R tests/reference
# It writes mclustda_diabetes.json into the given folder, holding:
#   versions     R and mclust
#   data         mclust's diabetes data (Reaven & Miller 1979): 145 rows of
#                glucose, insulin, sspg, and the class (Chemical, Normal, Overt)
#   mclustda     MclustDA(X, class) with mclust's defaults (G = 1:5, the 14
#                models): per class the chosen model, G, loglik, df, BIC and the
#                whole BIC table (rows G = 1..5, columns the models, null where
#                mclust could not fit); the training classification and
#                posteriors (predict on the training rows); loglik, df, BIC
#   edda         MclustDA(X, class, modelType = "EDDA"): the BIC of every model
#                (one Gaussian per class, the covariance model common to the
#                classes), the chosen one, training classification and posteriors
#   split        MclustDA on the rows whose number is not a multiple of 3, then
#                predict on the others: chosen models, test classification,
#                posteriors and error
# BIC values are mclust's: 2 log L - df log n, higher is better.
suppressPackageStartupMessages({
  library(mclust)
  library(jsonlite)
})
args <- commandArgs(trailingOnly = TRUE)
out <- if (length(args) >= 1) args[1] else "."
data(diabetes, package = "mclust")
X <- as.matrix(diabetes[, c("glucose", "insulin", "sspg")])
class <- diabetes$class

bic_table <- function(bic) {
  table <- unclass(bic)[, , drop = FALSE]
  list(G = as.integer(rownames(table)), models = colnames(table),
       values = unname(lapply(seq_len(nrow(table)), function(i) table[i, ])))
}

per_class <- function(fit) {
  lapply(fit$models, function(model) list(
    model = model$modelName, G = model$G, n = model$n, loglik = model$loglik,
    # MclustDA keeps the class's BIC table, not the chosen cell's BIC and df
    df = nMclustParams(model$modelName, model$d, model$G),
    bic = max(model$BIC, na.rm = TRUE), bic_table = bic_table(model$BIC)))
}

posteriors <- function(fit, newdata) {
  prediction <- predict(fit, newdata)
  list(classification = as.character(prediction$classification),
       z = unname(lapply(seq_len(nrow(prediction$z)), function(i) prediction$z[i, ])))
}

mda <- MclustDA(X, class, verbose = FALSE)
edda <- MclustDA(X, class, modelType = "EDDA", verbose = FALSE)
train <- seq_len(nrow(X)) %% 3 != 0
split <- MclustDA(X[train, ], class[train], verbose = FALSE)
test_prediction <- posteriors(split, X[!train, ])

result <- list(
  versions = list(R = R.version.string,
                  mclust = as.character(packageVersion("mclust"))),
  data = list(columns = colnames(X),
              X = unname(lapply(seq_len(nrow(X)), function(i) X[i, ])),
              class = as.character(class), classes = levels(class)),
  mclustda = c(list(models = per_class(mda), loglik = mda$loglik, df = mda$df,
                    bic = mda$bic, prop = unname(mda$prop)),
               posteriors(mda, X)),
  edda = c(list(bic = as.list(edda$models[[1]]$BIC),
                model = edda$models[[1]]$modelName,
                loglik = edda$loglik, df = edda$df, best_bic = edda$bic),
           posteriors(edda, X)),
  split = c(list(train = which(train) - 1L, test = which(!train) - 1L,
                 models = per_class(split),
                 error = mean(test_prediction$classification !=
                              as.character(class[!train]))),
            test_prediction)
)
writeLines(toJSON(result, auto_unbox = TRUE, digits = NA, na = "null",
                  pretty = TRUE),
           file.path(out, "mclustda_diabetes.json"))
