"""Stereology of spherical particles: section circles on 2D slices and Schwartz-Saltykov.

A 2D section instrument (SEM of a polished cross-section, a single CT slice) sees
circles, not spheres: :func:`volume_section_diameters` measures the section circles of a
label volume, and :func:`schwartz_saltykov` unfolds them into the number distribution of
sphere diameters (method and limits in its Notes).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from scipy.optimize import nnls

from . import _checks

__all__ = [
    "section_circle_diameters",
    "volume_section_diameters",
    "sphere_section_kernel",
    "schwartz_saltykov",
    "schwartz_saltykov_details",
    "saltykov_mean_diameter_um",
]


def section_circle_diameters(
    labels_2d_or_instances,
    voxel_size_um,
    exclude_border: bool = True,
    min_area_px: int = 1,
    instances: bool | None = None,
) -> np.ndarray:
    """Measure the equivalent circle diameters of the particle sections on one 2D slice.

    Parameters
    ----------
    labels_2d_or_instances : ndarray, 2D
        Either a boolean mask of particle material (sections are its 8-connected
        components: touching particles merge, as on a real binary image), or an integer
        instance image (0 = background, each positive value one particle; a section is all
        pixels of one value).
    voxel_size_um : float or (dy, dx)
        Pixel edge in micrometres, or the two edges of rectangular pixels (rows, columns).
    exclude_border : bool, optional
        Drop sections that touch the image border (their area is truncated).
    min_area_px : int, optional
        Drop sections with fewer pixels (single-pixel noise).
    instances : bool or None, optional
        Force the interpretation; None = boolean dtype is a mask, integer dtype with
        values other than 0/1 is an instance image, integer 0/1 is a mask.

    Returns
    -------
    ndarray, float
        Diameters ``sqrt(4 A / pi)`` in micrometres, ``A`` = pixel count x pixel area.

    Raises
    ------
    ValueError
        If the image is not 2D, an instance label is negative or a pixel size is not
        positive.
    """
    img = np.asarray(labels_2d_or_instances)
    if img.ndim != 2:
        raise ValueError(f"expected a 2D slice, got shape {img.shape}")
    if instances is None:
        instances = img.dtype != bool and bool(np.any(img > 1))
    if instances:
        lab = img.astype(np.int64)
        if np.any(lab < 0):
            raise ValueError("instance labels must be >= 0")
    else:
        lab, _ = ndimage.label(img != 0, structure=np.ones((3, 3), bool))
    counts = np.bincount(lab.ravel())
    keep = counts >= max(int(min_area_px), 1)
    keep[0] = False
    if exclude_border:
        edge = np.concatenate([lab[0], lab[-1], lab[:, 0], lab[:, -1]])
        keep[np.unique(edge)] = False
    pixel = np.broadcast_to(np.asarray(voxel_size_um, dtype=float), (2,))
    if not np.all(pixel > 0):
        raise ValueError(f"pixel size must be positive, got {voxel_size_um}")
    area_um2 = counts[keep] * float(pixel[0] * pixel[1])
    return np.sqrt(4.0 * area_um2 / np.pi)


def volume_section_diameters(labels_3d, voxel_size_um, axis: int = 0, step: int = 1, **kwargs) -> np.ndarray:
    """Measure the section diameters of every ``step``-th slice of a 3D label volume along ``axis``.

    Parameters
    ----------
    labels_3d : ndarray, 3D
        Mask or instance volume (see :func:`section_circle_diameters`).
    voxel_size_um : float or (dz, dy, dx)
        Voxel edge(s) in micrometres; a slice normal to ``axis`` has the other two.
    axis, step : int, optional
        Slicing axis and slice spacing in voxels (systematic sampling: every particle
        lying wholly inside the volume is cut at uniformly spaced heights).
    **kwargs
        Passed to :func:`section_circle_diameters`.

    Returns
    -------
    ndarray
        Pooled section diameters in micrometres.

    Raises
    ------
    ValueError
        If the volume is not 3D, a voxel size is not positive, or ``axis`` or ``step`` is
        out of range.
    TypeError
        If ``axis`` or ``step`` is not an integer.
    """
    axis = _checks.check_axis(axis)
    step = _checks.check_int(step, "step", 1)
    vol = np.moveaxis(_checks.as_volume_3d(labels_3d, "labels_3d"), axis, 0)
    edges = _checks.voxel_size_um(voxel_size_um)
    pixel = tuple(float(edges[d]) for d in range(3) if d != axis)
    parts = [section_circle_diameters(vol[k], pixel, **kwargs) for k in range(0, vol.shape[0], step)]
    return np.concatenate(parts) if parts else np.empty(0)


def sphere_section_kernel(n_bins: int) -> np.ndarray:
    """Return the Saltykov kernel ``K[i, j]`` (0-based) for unit class width.

    Parameters
    ----------
    n_bins : int
        Number of classes.

    Returns
    -------
    ndarray, (n_bins, n_bins)
        ``K[i-1, j-1] = j * [P(d <= i | D = j) - P(d <= i - 1 | D = j)]`` with
        ``P(d <= x | D) = 1 - sqrt(1 - (x/D)^2)``, i.e. expected sections in class ``i``
        per unit sphere number density per unit class width; upper triangular.
    """
    i = np.arange(1, n_bins + 1, dtype=float)[:, None]
    j = np.arange(1, n_bins + 1, dtype=float)[None, :]

    def cdf(x, dd):
        r = np.clip(x / dd, 0.0, 1.0)
        return 1.0 - np.sqrt(1.0 - r * r)

    return np.where(i <= j, j * (cdf(i, j) - cdf(i - 1, j)), 0.0)


def schwartz_saltykov_details(
    section_diameters_um,
    n_bins: int,
    d_max_um: float,
    section_area_um2: float | None = None,
    method: str = "sequential",
) -> dict:
    """Unfold section diameters by Schwartz-Saltykov, with diagnostics.

    Parameters
    ----------
    section_diameters_um, n_bins, d_max_um, section_area_um2, method
        See :func:`schwartz_saltykov`.

    Returns
    -------
    dict
        ``bin_edges_um`` (n_bins + 1), ``class_diameter_um`` (upper limits, um),
        ``values`` (N_V per um^3 if ``section_area_um2`` is given, else number fractions
        summing to 1), ``section_counts`` (histogram), ``n_clipped`` (classes set to
        zero), ``n_outside`` (sections above ``d_max_um``, ignored), ``scale`` (the
        rescaling factor of the sequential correction, 1 for nnls).

    Raises
    ------
    ValueError
        If ``n_bins < 1``, ``d_max_um`` is not positive or ``method`` is unknown.
    TypeError
        If ``n_bins`` is not an integer.
    """
    d = np.asarray(section_diameters_um, dtype=float).ravel()
    d = d[np.isfinite(d) & (d > 0)]
    n_bins = _checks.check_int(n_bins, "n_bins", 1)
    if not d_max_um > 0:
        raise ValueError(f"d_max_um must be > 0, got {d_max_um}")
    edges = np.linspace(0.0, float(d_max_um), n_bins + 1)
    delta = edges[1]
    counts, _ = np.histogram(d, bins=edges)
    n_outside = int(np.count_nonzero(d > d_max_um))
    area = 1.0 if section_area_um2 is None else float(section_area_um2)
    n_a = counts / area  # sections per um^2 (or raw counts)
    k = sphere_section_kernel(n_bins) * delta
    n_clipped = 0
    scale = 1.0
    if method == "sequential":
        nv = np.zeros(n_bins)
        rest = n_a.astype(float).copy()
        for j in range(n_bins - 1, -1, -1):
            v = rest[j] / k[j, j]
            if v < 0:
                v = 0.0
                n_clipped += 1
            nv[j] = v
            rest[:j] -= k[:j, j] * v
        predicted = float(np.sum(k @ nv))
        if n_clipped and predicted > 0:
            scale = float(n_a.sum() / predicted)
            nv *= scale
    elif method == "nnls":
        nv, _ = nnls(k, n_a.astype(float))
        n_clipped = int(np.count_nonzero(nv == 0))
    else:
        raise ValueError(f"unknown method {method!r} (sequential or nnls)")
    if section_area_um2 is None:
        total = nv.sum()
        values = nv / total if total > 0 else nv
    else:
        values = nv
    return {
        "bin_edges_um": edges,
        "class_diameter_um": edges[1:].copy(),
        "values": values,
        "section_counts": counts,
        "n_clipped": n_clipped,
        "n_outside": n_outside,
        "scale": scale,
    }


def schwartz_saltykov(
    section_diameters_um,
    n_bins: int,
    d_max_um: float,
    section_area_um2: float | None = None,
    method: str = "sequential",
):
    """Unfold section-circle diameters into the number distribution of sphere diameters.

    Parameters
    ----------
    section_diameters_um : array_like
        Equivalent circle diameters of sections, micrometres.
    n_bins : int
        Number of equal-width classes on ``(0, d_max_um]`` (15-20 for a few thousand
        sections; fewer classes bias the mean upwards, more classes amplify noise).
    d_max_um : float
        Upper limit of the largest class, micrometres; should be >= the largest section
        (larger sections are ignored and counted in ``n_outside`` of the details).
    section_area_um2 : float or None
        Total area of the sampled section planes in um^2. Given: values are sphere number
        densities N_V per um^3 per class. None: number fractions per class (sum 1).
    method : {"sequential", "nnls"}, optional
        Treatment of negative classes (Notes).

    Returns
    -------
    bin_edges_um : ndarray, (n_bins + 1,)
        Class limits in micrometres; the spheres of class ``j`` are taken to have the
        upper limit ``bin_edges_um[j + 1]``.
    values : ndarray, (n_bins,)
        N_V (1/um^3) or number fraction per class.

    Raises
    ------
    ValueError, TypeError
        As :func:`schwartz_saltykov_details`.

    Notes
    -----
    A 2D section instrument (SEM of a polished cross-section, a single CT slice) sees
    circles, not spheres: a sphere of diameter ``D`` cut by a plane at distance ``h`` from its
    centre shows a circle of diameter ``d = sqrt(D**2 - 4 h**2)``. For planes placed at
    random, ``h`` is uniform on ``[0, D/2]``, so (seed document 000, "The Art of Building",
    last paragraph: a small circle may be "a slice near the 'pole' of a much larger spherical
    particle")::

        P(d <= x | D) = 1 - sqrt(1 - (x / D)**2)          (0 <= x <= D)

    and a sphere is hit by a plane with probability proportional to ``D``: the number of
    sections per unit area is ``N_A = N_V * mean(D)``.

    Section diameters are binned in ``n`` classes of width ``delta = d_max / n``; class ``i``
    is ``((i-1) delta, i delta]``. All spheres of class ``j`` are assumed to have the class's
    *upper* limit ``D_j = j delta`` (Saltykov's convention). The number of sections per unit
    area in class ``i`` is then::

        N_A(i) = sum_{j >= i} N_V(j) * D_j * [P(d <= i delta | D_j) - P(d <= (i-1) delta | D_j)]
               = delta * sum_{j >= i} K[i, j] N_V(j),
        K[i, j] = sqrt(j**2 - (i-1)**2) - sqrt(j**2 - i**2)        (i <= j, else 0)

    :func:`sphere_section_kernel` computes ``K`` from the section probability above (it is
    not a copied table: Saltykov's published coefficients are the entries of ``K^-1``). The
    upper-triangular system is solved by back substitution from the largest class down.

    **Negative classes.** Counting noise makes some ``N_V(j)`` negative, which is
    unphysical. ``method="sequential"`` (default) sets a class to zero as soon as it comes
    out negative *during* the back substitution (so it does not hand negative sections to
    the smaller classes), then multiplies the whole non-negative solution by one factor so
    that the total number of sections it predicts, ``delta * sum_i sum_j K[i, j] N_V(j)``,
    equals the observed total: clipping alone would over-predict sections, the rescaling
    conserves ``N_A``. It changes only the absolute densities, not the shape or the mean of
    the distribution. ``method="nnls"`` instead solves ``min ||delta K N_V - N_A||`` with
    ``N_V >= 0`` (:func:`scipy.optimize.nnls`). The number of clipped classes is returned by
    :func:`schwartz_saltykov_details`.

    Limits: spheres only (non-spherical particles need shape factors), sections smaller than
    a pixel are lost (their contribution to the smallest class is under-counted), and
    sections cut by the image border are excluded by default, which under-samples large
    sections slightly (no Miles-Lantuejoul weighting is applied).

    Examples
    --------
    Random sections of spheres 10 um across:

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> h = rng.uniform(0.0, 5.0, 2000)  # distance of the cutting plane from the centre, um
    >>> edges, values = schwartz_saltykov(np.sqrt(10.0**2 - 4 * h**2), 10, 10.0001)
    >>> round(saltykov_mean_diameter_um(edges, values), 1)
    9.9
    """
    res = schwartz_saltykov_details(section_diameters_um, n_bins, d_max_um, section_area_um2, method)
    return res["bin_edges_um"], res["values"]


def saltykov_mean_diameter_um(bin_edges_um, values) -> float:
    """Return the number-mean sphere diameter of an unfolded distribution (class upper limits).

    Parameters
    ----------
    bin_edges_um : array_like, (n_bins + 1,)
        Class limits in um (:func:`schwartz_saltykov`).
    values : array_like, (n_bins,)
        Number fractions or densities per class.

    Returns
    -------
    float
        Mean diameter in um (NaN if all values are 0).
    """
    edges = np.asarray(bin_edges_um, dtype=float)
    v = np.asarray(values, dtype=float)
    total = v.sum()
    return float(np.sum(v * edges[1:]) / total) if total > 0 else float("nan")
