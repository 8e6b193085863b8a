"""Tomography fields proposed on a stitched mosaic from its 2-D particle detection.

Heenan et al. (2020) chose the regions of their nano-CT scans on a radiograph mosaic
because they held many particles, or particles of various sizes. :func:`propose_fields`
does that on the detection of :func:`~batteryct.mosaic.detect_particles`: square fields
of the tomography's field of view, inside the imaged area and not overlapping, picked
greedily by the particle count or by the range of particle sizes they hold.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from batteryct._checks import check_int, positive_scalar

CRITERIA = ("count", "size_range")
FIELD_COLUMNS = [
    "field",
    "centre_y_um",
    "centre_x_um",
    "centre_y_px",
    "centre_x_px",
    "field_of_view_um",
    "n_particles",
    "diameter_min_um",
    "diameter_median_um",
    "diameter_max_um",
    "criterion",
    "score",
]


def _inside_counts(valid: np.ndarray, cy: np.ndarray, cx: np.ndarray, half: float) -> np.ndarray:
    """Pixels outside the imaged area in each square field (0: the field lies wholly inside)."""
    bad = np.pad(np.cumsum(np.cumsum(~valid, axis=0), axis=1), ((1, 0), (1, 0)))
    y0 = np.clip(np.floor(cy - half).astype(int), 0, valid.shape[0])
    y1 = np.clip(np.ceil(cy + half).astype(int) + 1, 0, valid.shape[0])
    x0 = np.clip(np.floor(cx - half).astype(int), 0, valid.shape[1])
    x1 = np.clip(np.ceil(cx + half).astype(int) + 1, 0, valid.shape[1])
    return bad[y1, x1] - bad[y0, x1] - bad[y1, x0] + bad[y0, x0]


def field_contents(particles: pd.DataFrame, cy, cx, side_px: float) -> list[np.ndarray]:
    """Return the diameters (um) of the particles whose centre lies in each square field.

    Parameters
    ----------
    particles : pandas.DataFrame
        ``y_px``, ``x_px`` (mosaic indices) and ``diameter_um``.
    cy, cx : array_like
        Field centres, px.
    side_px : float
        Field edge, px.

    Returns
    -------
    list of numpy.ndarray
        One array per field.

    Examples
    --------
    >>> p = pd.DataFrame({"y_px": [5.0, 50.0], "x_px": [5.0, 5.0], "diameter_um": [2.0, 3.0]})
    >>> [d.tolist() for d in field_contents(p, [5.0, 30.0], [5.0, 5.0], 20.0)]
    [[2.0], []]
    """
    y = particles["y_px"].to_numpy(float)
    x = particles["x_px"].to_numpy(float)
    d = particles["diameter_um"].to_numpy(float)
    half = side_px / 2.0
    return [d[(np.abs(y - a) <= half) & (np.abs(x - b) <= half)] for a, b in zip(np.ravel(cy), np.ravel(cx))]


def _score(diameters: np.ndarray, criterion: str) -> float:
    if criterion == "count":
        return float(diameters.size)
    # size_range: the span of ln d, ties broken by the count
    span = float(np.log(diameters.max() / diameters.min())) if diameters.size >= 2 else 0.0
    return span + 1e-6 * diameters.size


def propose_fields(
    particles: pd.DataFrame,
    valid: np.ndarray,
    pixel_size_um: float,
    origin_px,
    *,
    field_of_view_um: float,
    n_fields: int,
    criterion: str = "count",
    step_fraction: float = 0.25,
) -> pd.DataFrame:
    """Propose up to ``n_fields`` non-overlapping square tomography fields on a mosaic.

    Parameters
    ----------
    particles : pandas.DataFrame
        The 2-D detection: ``y_px``, ``x_px`` (mosaic array indices), ``diameter_um``.
    valid : numpy.ndarray of bool, (H, W)
        Mosaic pixels covered by a tile (``isfinite(mosaic)``).
    pixel_size_um : float
        Mosaic pixel size, um.
    origin_px : array_like of 2
        Stage coordinate (y, x) of mosaic pixel ``[0, 0]``, px (attribute ``origin_px`` of
        the stitched mosaic).
    field_of_view_um : float
        Edge of the square field, um.
    n_fields : int
        Fields wanted; fewer when no more fit without overlap.
    criterion : {"count", "size_range"}
        ``count``: most particle centres in the field; ``size_range``: widest span of
        ``ln d`` of the particles in it (the count breaks ties).
    step_fraction : float
        Candidate centres lie on a grid of this fraction of the field edge.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`FIELD_COLUMNS`, best first: the centre in stage coordinates (um,
        the stitcher's frame: ``(origin_px + index) * pixel_size_um``) and in mosaic
        indices, the particle count and the diameter range expected in the field.

    Raises
    ------
    ValueError
        If the criterion is unknown, a number is not positive, or no field of that size
        fits inside the imaged area.

    Notes
    -----
    Greedy: the best candidate is taken, candidates overlapping it are removed, repeat.
    A particle belongs to a field when its centre does.

    Examples
    --------
    >>> valid = np.ones((100, 200), bool)
    >>> p = pd.DataFrame({"y_px": [20.0, 22, 25, 80], "x_px": [150.0, 152, 149, 30],
    ...                   "diameter_um": [1.0, 2, 3, 4]})
    >>> t = propose_fields(p, valid, 1.0, (0, 0), field_of_view_um=40, n_fields=2)
    >>> t["n_particles"].tolist(), bool(abs(t["centre_x_um"][0] - 150) <= 20)
    ([3, 1], True)
    """
    if criterion not in CRITERIA:
        raise ValueError(f"criterion must be one of {CRITERIA}, got {criterion!r}")
    px = positive_scalar(pixel_size_um, "pixel_size_um")
    side = positive_scalar(field_of_view_um, "field_of_view_um") / px
    n_fields = check_int(n_fields, "n_fields", 1)
    step = max(1.0, positive_scalar(step_fraction, "step_fraction") * side)
    valid = np.asarray(valid, bool)
    h, w = valid.shape
    half = side / 2.0
    ys = np.arange(half, h - half + 1e-9, step)
    xs = np.arange(half, w - half + 1e-9, step)
    cy, cx = (a.ravel() for a in np.meshgrid(ys, xs, indexing="ij"))
    if cy.size:
        keep = _inside_counts(valid, cy, cx, half) == 0
        cy, cx = cy[keep], cx[keep]
    if cy.size == 0:
        raise ValueError(
            f"no {field_of_view_um:g} um field fits inside the imaged area of the mosaic ({h} x {w} px of {px:g} um)"
        )
    contents = field_contents(particles, cy, cx, side)
    score = np.array([_score(d, criterion) for d in contents])
    alive = np.ones(cy.size, bool)
    rows = []
    origin = np.asarray(origin_px, float)
    while alive.any() and len(rows) < n_fields:
        k = int(np.flatnonzero(alive)[np.argmax(score[alive])])
        d = contents[k]
        rows.append(
            {
                "field": len(rows) + 1,
                "centre_y_um": float((origin[0] + cy[k]) * px),
                "centre_x_um": float((origin[1] + cx[k]) * px),
                "centre_y_px": float(cy[k]),
                "centre_x_px": float(cx[k]),
                "field_of_view_um": float(field_of_view_um),
                "n_particles": int(d.size),
                "diameter_min_um": float(d.min()) if d.size else float("nan"),
                "diameter_median_um": float(np.median(d)) if d.size else float("nan"),
                "diameter_max_um": float(d.max()) if d.size else float("nan"),
                "criterion": criterion,
                "score": float(score[k]),
            }
        )
        alive &= (np.abs(cy - cy[k]) >= side) | (np.abs(cx - cx[k]) >= side)
    return pd.DataFrame(rows, columns=FIELD_COLUMNS)


def draw_fields(image_uint8: np.ndarray, fields: pd.DataFrame, side_px: float, width: int = 2) -> np.ndarray:
    """Draw the fields' outlines in red on a greyscale overview.

    Parameters
    ----------
    image_uint8 : numpy.ndarray of uint8, (H, W)
        The overview (:func:`~batteryct.mosaic.to_uint8`).
    fields : pandas.DataFrame
        ``centre_y_px``, ``centre_x_px`` of each field.
    side_px : float
        Field edge, px.
    width : int, optional
        Line width, px.

    Returns
    -------
    numpy.ndarray of uint8, (H, W, 3)

    Examples
    --------
    >>> img = draw_fields(np.zeros((20, 20), np.uint8), pd.DataFrame({"centre_y_px": [10.0], "centre_x_px": [10.0]}), 8)
    >>> img[6, 10].tolist(), img[10, 10].tolist()
    ([255, 0, 0], [0, 0, 0])
    """
    rgb = np.repeat(np.asarray(image_uint8, np.uint8)[:, :, None], 3, axis=2)
    h, w = rgb.shape[:2]
    half = side_px / 2.0
    for cy, cx in zip(fields["centre_y_px"], fields["centre_x_px"]):
        y0, y1 = int(round(cy - half)), int(round(cy + half))
        x0, x1 = int(round(cx - half)), int(round(cx + half))
        ys, xs = slice(max(y0, 0), min(y1 + 1, h)), slice(max(x0, 0), min(x1 + 1, w))
        for band in (
            (slice(max(y0, 0), min(y0 + width, h)), xs),
            (slice(max(y1 - width + 1, 0), min(y1 + 1, h)), xs),
            (ys, slice(max(x0, 0), min(x0 + width, w))),
            (ys, slice(max(x1 - width + 1, 0), min(x1 + 1, w))),
        ):
            rgb[band] = (255, 0, 0)
    return rgb
