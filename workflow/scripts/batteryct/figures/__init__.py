"""Report figures: pure functions from arrays and tables to matplotlib figures.

Every function returns a :class:`matplotlib.figure.Figure` drawn with the Agg backend and no
pyplot state; :func:`batteryct.io.figures.write_figure` writes it as a PNG without time or
version stamps, so a rerun gives the same bytes. Only the figure jobs import this package
(matplotlib is not loaded by the other rules).

Modules: :mod:`.scan` (slices, histogram, centre check, sinograms), :mod:`.mosaic`,
:mod:`.powder` (gallery, size distributions, azimuthal radii, shape, stereology, Table 1),
:mod:`.acceptance`, :mod:`.electrode`, :mod:`.validation`, :mod:`.fits`.
"""

# Submodules are imported by name (``from batteryct.figures import scan``) so a figure job
# loads only what it draws.
from ._base import PHASES, add_scale_bar, fmt, new_figure, nice_length

__all__ = ["PHASES", "add_scale_bar", "fmt", "new_figure", "nice_length"]
