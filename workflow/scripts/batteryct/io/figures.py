"""Writing matplotlib figures: PNG without the software and time stamps, atomically."""

from __future__ import annotations

import os

from batteryct.io import atomic_path

#: Resolution of the report figures in dots per inch (small files, readable at 100 %).
FIGURE_DPI = 110


def write_figure(path: str | os.PathLike, figure, *, dpi: int = FIGURE_DPI) -> None:
    """Write a matplotlib figure as PNG with no metadata that changes between runs.

    Parameters
    ----------
    path : str or os.PathLike
        Output PNG file.
    figure : matplotlib.figure.Figure
        The figure (any backend; Agg renders it).
    dpi : int, optional
        Resolution in dots per inch.

    Notes
    -----
    matplotlib writes a ``Software`` text chunk into PNGs (its version); it is removed so a
    library upgrade alone does not change the file. PNGs carry no creation time, and the
    Agg rasteriser is deterministic, so the same figure gives the same bytes.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from matplotlib.figure import Figure
    >>> fig = Figure(figsize=(1, 1))
    >>> _ = fig.add_subplot().plot([0, 1], [0, 1])
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "f.png"
    >>> write_figure(out, fig, dpi=50)
    >>> out.read_bytes()[1:4] == b"PNG", b"Software" in out.read_bytes()
    (True, False)
    """
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=dpi, metadata={"Software": None})
