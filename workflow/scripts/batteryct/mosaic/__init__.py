"""Radiograph mosaics: a virtual mosaic, stitching into one overview, and 2-D particle detection.

Before tomography a grid of 0° radiographs of a monolayer of powder particles on tape is
stitched into one overview, on which particles are counted and regions for tomography are
picked (Heenan et al. 2020). The main entry points are :func:`simulate_mosaic`,
:func:`stitch` and :func:`detect_particles`; the files are read and written by
:mod:`batteryct.io` (``read_mosaic``, ``write_mosaic_h5``, ``write_mosaic_tiffs``,
``write_png``). Positions are ``(y, x)``, in px (``*_px``) or µm (``*_um``).
"""

from batteryct.io import grid_indices
from batteryct.mosaic.blend import StitchResult, blend, feather_weights, stitch
from batteryct.mosaic.detect import ParticleDetection, background_level, detect_particles, to_uint8
from batteryct.mosaic.register import (
    PairRegistration,
    find_neighbours,
    ncc_surface,
    refine_offset_lk,
    register_all,
    register_pair,
)
from batteryct.mosaic.rois import draw_fields, field_contents, propose_fields
from batteryct.mosaic.simulate import (
    SimulatedMosaic,
    lognormal_diameters_um,
    nominal_positions_um,
    particles_inside,
    place_discs,
    render_tile_transmission,
    simulate_mosaic,
    smooth_gain_drift,
    truncated_lognormal_moments,
)
from batteryct.mosaic.solve import PositionSolution, normalise_gains, overlap_mean_ratio, solve_positions

__all__ = [
    "draw_fields",
    "field_contents",
    "propose_fields",
    "PairRegistration",
    "ParticleDetection",
    "PositionSolution",
    "SimulatedMosaic",
    "StitchResult",
    "background_level",
    "blend",
    "detect_particles",
    "feather_weights",
    "find_neighbours",
    "grid_indices",
    "lognormal_diameters_um",
    "ncc_surface",
    "nominal_positions_um",
    "normalise_gains",
    "overlap_mean_ratio",
    "particles_inside",
    "place_discs",
    "refine_offset_lk",
    "register_all",
    "register_pair",
    "render_tile_transmission",
    "simulate_mosaic",
    "smooth_gain_drift",
    "solve_positions",
    "stitch",
    "to_uint8",
    "truncated_lognormal_moments",
]
