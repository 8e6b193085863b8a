"""Per-particle morphology of powders: instance splitting, particle and void tables, powder summary.

Follows Heenan et al. (2020, *Adv. Sci.*): :func:`split_particles` (watershed of the
distance map), :func:`touching_border` (particles cut by the faces or the field of view,
kept in the tables but left out of the statistics), :func:`particle_table` and
:func:`void_table` (one row per particle / internal void) and :func:`powder_summary`
(Table 1 of the paper). Labels follow :mod:`batteryct.label_codes`; other codes (the
virtual scanner's 4 = support film) are background.
"""

from .measure import AZIMUTHS_DEG, PARTICLE_COLUMNS, PLANES, VOID_COLUMNS, particle_table, touching_border, void_table
from .split import SOLID_LABELS, VOID_LABEL, split_particles
from .summary import SUMMARY_COLUMNS, powder_summary, volume_weighted_percentile

__all__ = [
    "PLANES",
    "AZIMUTHS_DEG",
    "SOLID_LABELS",
    "VOID_LABEL",
    "PARTICLE_COLUMNS",
    "VOID_COLUMNS",
    "SUMMARY_COLUMNS",
    "split_particles",
    "touching_border",
    "particle_table",
    "void_table",
    "powder_summary",
    "volume_weighted_percentile",
]
