"""Constants of the pore-network extraction: table columns, node kinds, tuning values."""

from __future__ import annotations

AXES = ("z", "y", "x")
FACE_COLUMNS = tuple(f"on_{side}_{a}" for a in AXES for side in ("inlet", "outlet"))
NODE_COLUMNS = (
    ("node_id", "z_um", "y_um", "x_um", "pore_radius_um", "kind", "coordination_number", "skeleton_coordination")
    + FACE_COLUMNS
    + ("volume_um3", "n_voxels")
)
THROAT_COLUMNS = (
    "throat_id",
    "node_a",
    "node_b",
    "kind",
    "length_um",
    "min_radius_um",
    "mean_radius_um",
    "min_area_um2",
    "conduit_length_a_um",
    "conduit_length_throat_um",
    "conduit_length_b_um",
    "resistance_a_per_um",
    "resistance_throat_per_um",
    "resistance_b_per_um",
    "volume_um3",
    "n_voxels",
)
_KIND_NAMES = ("isolated", "end", "junction", "boundary")
_ISOLATED, _END, _JUNCTION, _BOUNDARY = range(4)
_RADIUS_OFFSET = 0.5  # r = distance - _RADIUS_OFFSET * h_min (interface half a voxel out)
_GATE_STEP = 0.5  # thinning gate increment per round, in units of h_min
_NODE_SLACK_VOXELS = 2.0  # a node cluster must fit in its inscribed ball + this (voxels)
_AREA_WINDOW = 1  # cross-sections averaged over 2 * _AREA_WINDOW + 1 branch voxels
_N_LINE_CANDIDATES = 32  # skeleton voxels tried per face opening
# throat property vector (internal): index -> meaning
_P_LEN, _P_RMIN, _P_RINT, _P_LA, _P_LT, _P_LB, _P_RA, _P_RT, _P_RB, _P_NVOX, _P_VOL, _P_AMIN, _P_CONTACT = range(13)
_N_PROPS = 13
