"""Segmentation of reconstructed volumes into pore / solid / internal void / binder.

Labels (``uint8``, :mod:`batteryct.label_codes`, used by every module that reads
segmentations): 0 pore connected to the outside (including the air around a powder and
everything outside the field-of-view cylinder), 1 solid (active material), 2 internal
closed void, 3 carbon-binder domain (two solid phases only). The entry point is
:func:`segment_volume`; :func:`label_pore_space` explains the open / closed pore split.
"""

from ..fov import fov_cylinder_mask
from ..label_codes import LABEL_BINDER, LABEL_INTERNAL_VOID, LABEL_OPEN_PORE, LABEL_SOLID
from .cleanup import clean_binary, label_pore_space
from .deblur import (
    DEBLUR_REGULARIZATION,
    REFERENCE_EDGE_DEFICIT,
    deblur_gaussian,
    edge_blur_sigma_voxels,
    excess_blur_sigma_voxels,
)
from .denoise import denoise, estimate_noise_sigma
from .graphcut import POTTS_WEIGHT, potts_solid_mask
from .levels import (
    MIN_PEAK_SEPARATION,
    estimate_binder_level,
    estimate_phase_levels,
    estimate_ring_profile,
    sample_voxels,
    threshold_otsu_roi,
)
from .phase_model import (
    ACTIVE_THRESHOLD_FRACTION,
    BINDER_PRIOR_COUNT,
    BINDER_PRIOR_RATIO,
    CLASS_LABELS,
    PHASE_CLASSES,
    SPILL_ANCHORS,
    SPILL_ANISOTROPY_RANGE,
    SPILL_CAP,
    SPILL_SD_FRACTION,
    PhaseModel,
    active_edge_deficit,
    direction_factor,
    fit_phase_model,
    spill_anisotropy,
    spill_coefficient,
)
from .pipeline import (
    CONFIG_OPTIONS,
    DEBLUR_MAX_ITERATIONS,
    DEBLUR_MIN_SIGMA_VOXELS,
    MultiphaseResult,
    SegmentationResult,
    segment_multiphase,
    segment_volume,
)

__all__ = [
    "LABEL_OPEN_PORE",
    "LABEL_SOLID",
    "LABEL_INTERNAL_VOID",
    "LABEL_BINDER",
    "fov_cylinder_mask",
    "estimate_noise_sigma",
    "denoise",
    "REFERENCE_EDGE_DEFICIT",
    "DEBLUR_REGULARIZATION",
    "DEBLUR_MAX_ITERATIONS",
    "DEBLUR_MIN_SIGMA_VOXELS",
    "edge_blur_sigma_voxels",
    "excess_blur_sigma_voxels",
    "deblur_gaussian",
    "sample_voxels",
    "threshold_otsu_roi",
    "clean_binary",
    "potts_solid_mask",
    "POTTS_WEIGHT",
    "label_pore_space",
    "MIN_PEAK_SEPARATION",
    "PHASE_CLASSES",
    "CLASS_LABELS",
    "SPILL_ANCHORS",
    "SPILL_CAP",
    "SPILL_ANISOTROPY_RANGE",
    "SPILL_SD_FRACTION",
    "ACTIVE_THRESHOLD_FRACTION",
    "BINDER_PRIOR_RATIO",
    "BINDER_PRIOR_COUNT",
    "estimate_phase_levels",
    "estimate_binder_level",
    "active_edge_deficit",
    "spill_coefficient",
    "spill_anisotropy",
    "direction_factor",
    "estimate_ring_profile",
    "PhaseModel",
    "fit_phase_model",
    "SegmentationResult",
    "MultiphaseResult",
    "segment_multiphase",
    "segment_volume",
    "CONFIG_OPTIONS",
]
