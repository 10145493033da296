"""Inference: the shared fit loop, the data seam, EM and initialisation."""

from mixtura.inference.data import ArrayData, accumulate
from mixtura.inference.em import FitSteps, em_step, em_stepper
from mixtura.inference.hierarchical import hierarchical_responsibilities
from mixtura.inference.init import INIT_METHODS, initial_responsibilities
from mixtura.inference.loop import FitInterrupted, FitResult, IterationInfo, fit_loop
from mixtura.inference.spherical import (
    spherical_kmeans_plusplus_responsibilities,
    spherical_kmeans_responsibilities,
)

# mclust's model-based hierarchical initialisation (Fraley 1998)
INIT_METHODS["hc"] = hierarchical_responsibilities
# directions: seeds and clusters by cosine (Endo & Miyamoto 2015; Dhillon & Modha 2001)
INIT_METHODS["spherical-k-means++"] = spherical_kmeans_plusplus_responsibilities
INIT_METHODS["spherical-kmeans"] = spherical_kmeans_responsibilities

__all__ = [
    "INIT_METHODS",
    "ArrayData",
    "FitInterrupted",
    "FitResult",
    "FitSteps",
    "IterationInfo",
    "accumulate",
    "em_step",
    "em_stepper",
    "fit_loop",
    "initial_responsibilities",
]
