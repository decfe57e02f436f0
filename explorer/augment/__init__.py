"""Data augmentation on torchvision.transforms.v2: operations, pipelines, seeded sampling, code and JSON.

- transforms.py: the course's colour shifting and AlexNet's PCA colour augmentation, as v2 transforms;
- operations.py: the operations a person can add, each declared once, and the checking of steps;
- pipeline.py: pipelines built, sampled with a seed, shown step by step, printed as code;
- files.py: pipelines saved and loaded as JSON, strictly and within bounds.
"""

from explorer.augment.files import MAX_JSON_BYTES, from_json, to_json
from explorer.augment.operations import (
    MAX_STEPS,
    OPERATIONS,
    Operation,
    new_step,
    validate_step,
    validate_steps,
)
from explorer.augment.pipeline import augment, build_pipeline, build_step, rgb_histograms, sample_grid, step_by_step, to_code
from explorer.augment.transforms import ColorShift, FancyPCA, RandomColorShift, fancy_pca_shift, principal_components
from explorer.errors import AugmentError

__all__ = [
    "MAX_JSON_BYTES", "MAX_STEPS", "OPERATIONS", "AugmentError", "ColorShift", "FancyPCA", "Operation",
    "RandomColorShift", "augment", "build_pipeline", "build_step", "fancy_pca_shift", "from_json", "new_step",
    "principal_components", "rgb_histograms", "sample_grid", "step_by_step", "to_code", "to_json", "validate_step",
    "validate_steps",
]
