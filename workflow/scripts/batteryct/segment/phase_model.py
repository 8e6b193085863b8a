"""Pore / binder / active class model of a denoised electrode volume, with active-spill context."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi
from scipy.special import ndtr

from ..label_codes import LABEL_BINDER, LABEL_OPEN_PORE, LABEL_SOLID
from .levels import estimate_binder_level, estimate_phase_levels

__all__ = [
    "PHASE_CLASSES",
    "CLASS_LABELS",
    "SPILL_ANCHORS",
    "SPILL_CAP",
    "ACTIVE_THRESHOLD_FRACTION",
    "BINDER_PRIOR_RATIO",
    "BINDER_PRIOR_COUNT",
    "SPILL_SD_FRACTION",
    "SPILL_ANISOTROPY_RANGE",
    "active_edge_deficit",
    "spill_anisotropy",
    "direction_factor",
    "spill_coefficient",
    "PhaseModel",
    "fit_phase_model",
]

#: posterior classes of :class:`PhaseModel`, in the order of the posteriors' first axis
PHASE_CLASSES = ("pore", "binder", "active")

#: label written for each posterior class (pore voxels become 0 or 2 after the flood fill)
CLASS_LABELS = np.array([LABEL_OPEN_PORE, LABEL_BINDER, LABEL_SOLID], dtype=np.uint8)

#: Active-spill coefficient (fraction of the pore-active contrast added to the pore|binder
#: boundary per active 26-neighbour) as a piecewise-linear function of the measured edge
#: deficit (:func:`active_edge_deficit`). Anchors, see :func:`spill_coefficient`.
SPILL_ANCHORS = ((0.14, 0.010), (0.21, 0.030))

#: active 26-neighbours beyond this count add no further spill
SPILL_CAP = 12

#: bounds of the measured in-plane / axial spill ratio (:func:`spill_anisotropy`)
SPILL_ANISOTROPY_RANGE = (0.4, 2.5)
#: face-adjacent voxels per direction group below which the ratio is not measured (1 is used)
SPILL_ANISOTROPY_MIN_VOXELS = 500

#: binder|active boundary as a fraction of the pore-active contrast, see :class:`PhaseModel`
ACTIVE_THRESHOLD_FRACTION = 0.55

#: prior binder level, (binder - pore) / (active - pore): the mean plateau estimate
#: (:func:`estimate_binder_level`) on the nine training scans of the virtual scanner
BINDER_PRIOR_RATIO = 0.233
#: weight of the prior binder level, in plateau voxels
BINDER_PRIOR_COUNT = 300

#: uncertainty (1 sd) of the active-spill term as a fraction of it: the empirical
#: correction is uncertain by its own size
SPILL_SD_FRACTION = 1.0


def active_edge_deficit(
    volume: np.ndarray, active: np.ndarray, roi: np.ndarray | None, pore_level: float, active_level: float
) -> float:
    """Measure the edge blur: ``(active_level - median of the outer active layer) / contrast``.

    The outer layer is the active voxels with a non-active 26-neighbour. For a blurred
    step the deficit of that layer below the active level equals the spill of active
    intensity into the first layer outside, so it scales the active-spill correction
    (:func:`spill_coefficient`).

    Parameters
    ----------
    volume : numpy.ndarray
        Denoised volume ``(z, y, x)``, attenuation in 1/µm.
    active : numpy.ndarray of bool
        Active voxels, same shape.
    roi : numpy.ndarray of bool or None
        Region of interest; None: the whole volume.
    pore_level, active_level : float
        Phase levels, in the unit of ``volume``.

    Returns
    -------
    float
        Edge deficit as a fraction of the pore-active contrast (dimensionless); NaN if the
        outer layer has fewer than 10 voxels.
    """
    inner = ndi.binary_erosion(active, structure=np.ones((3, 3, 3), bool), border_value=1)
    layer = active & ~inner
    if roi is not None:
        layer &= roi
    if np.count_nonzero(layer) < 10:
        return float("nan")
    return float((active_level - np.median(volume[layer])) / (active_level - pore_level))


def _face_counts(active: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Active face neighbours of every voxel along z (0..2) and in-plane (0..4), as uint8."""
    act = np.asarray(active, dtype=np.uint8)
    counts = []
    for axes in ((0,), (1, 2)):
        n = np.zeros(act.shape, np.uint8)
        for axis in axes:
            lo, hi = [slice(None)] * 3, [slice(None)] * 3
            lo[axis], hi[axis] = slice(None, -1), slice(1, None)
            n[tuple(lo)] += act[tuple(hi)]
            n[tuple(hi)] += act[tuple(lo)]
        counts.append(n)
    return counts[0], counts[1]


def spill_anisotropy(
    volume: np.ndarray, roi: np.ndarray | None, pore_level: float, active_level: float, binder_active_threshold: float
) -> float:
    """Measure how much more active intensity spills into a voxel in-plane than along z.

    The two groups are the non-active voxels (below ``binder_active_threshold``) whose
    active face neighbours lie only along z (axis 0, the rotation axis), and those whose
    active face neighbours lie only in-plane (axes 1, 2). The ratio of their median
    excess over the pore level is the anisotropy of the spill: a reconstruction is
    blurred more in-plane (filtered back-projection, interpolation) than along the
    rotation axis. Both groups hold pore and binder voxels, whose values carry the same
    spill; ``benchmarks/README.md`` compares the ratio with that of the truth-pore voxels.

    Parameters
    ----------
    volume : numpy.ndarray
        Denoised volume ``(z, y, x)``, attenuation in 1/µm.
    roi : numpy.ndarray of bool or None
        Region of interest; None: the whole volume.
    pore_level, active_level : float
        Phase levels, in the unit of ``volume``; a voxel is active above their midpoint.
    binder_active_threshold : float
        Binder|active boundary, unit of ``volume``: brighter voxels are left out.

    Returns
    -------
    float
        In-plane / axial spill ratio (dimensionless), clipped to
        :data:`SPILL_ANISOTROPY_RANGE`; 1 if a group has fewer than
        ``SPILL_ANISOTROPY_MIN_VOXELS`` voxels or the axial excess is not positive.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import ndimage as ndi
    >>> vol = np.zeros((40, 40, 40), np.float32)
    >>> vol[10:30, 10:30, 10:30] = 1.0  # an active cube in pore
    >>> blurred = ndi.gaussian_filter(vol, (0.5, 0.7, 0.7))  # more blur in-plane
    >>> round(spill_anisotropy(blurred, None, 0.0, 1.0, 0.55), 2)
    2.02
    >>> round(spill_anisotropy(ndi.gaussian_filter(vol, 0.7), None, 0.0, 1.0, 0.55), 2)
    1.0
    """
    vol = np.asarray(volume, dtype=np.float32)
    act = vol > np.float32(0.5 * (pore_level + active_level))
    cand = ~act & (vol < np.float32(binder_active_threshold))
    if roi is not None:
        cand &= roi
    a_z, a_xy = _face_counts(act)
    along_z, in_plane = a_z > 0, a_xy > 0
    z_only = cand & along_z & ~in_plane
    plane_only = cand & in_plane & ~along_z
    if min(np.count_nonzero(z_only), np.count_nonzero(plane_only)) < SPILL_ANISOTROPY_MIN_VOXELS:
        return 1.0
    excess_z = float(np.median(vol[z_only])) - pore_level
    excess_plane = float(np.median(vol[plane_only])) - pore_level
    if excess_z <= 0 or excess_plane <= 0:
        return 1.0
    return float(np.clip(excess_plane / excess_z, *SPILL_ANISOTROPY_RANGE))


def direction_factor(active: np.ndarray, anisotropy: float) -> np.ndarray:
    """Return each voxel's spill factor from the directions of its active face neighbours.

    With ``a_z`` active face neighbours along z and ``a_xy`` in-plane, the factor is
    ``(a_z w_z + a_xy w_xy) / (a_z + a_xy)`` with ``w_xy / w_z = anisotropy`` and
    ``w_z + 2 w_xy = 3`` (so the mean over the three axes is 1); 1 without active face
    neighbours, and everywhere when ``anisotropy`` is 1.

    Parameters
    ----------
    active : numpy.ndarray of bool
        Active voxels ``(z, y, x)``.
    anisotropy : float
        In-plane / axial spill ratio (:func:`spill_anisotropy`), > 0.

    Returns
    -------
    numpy.ndarray of float32
        Factor per voxel, same shape.

    Examples
    --------
    >>> import numpy as np
    >>> active = np.zeros((5, 5, 5), bool)
    >>> active[0] = True  # a z-face below the voxels of slice 1
    >>> active[:, :, 4] = True  # an x-face beside the voxels of column 3
    >>> f = direction_factor(active, 2.0)
    >>> [round(float(f[1, 2, 2]), 2), round(float(f[2, 2, 3]), 2), round(float(f[1, 2, 3]), 2), float(f[3, 2, 1])]
    [0.6, 1.2, 0.9, 1.0]
    """
    if not anisotropy > 0:
        raise ValueError(f"anisotropy must be > 0, got {anisotropy}")
    w_z = 3.0 / (1.0 + 2.0 * anisotropy)
    w_xy = np.float32(anisotropy * w_z)
    w_z = np.float32(w_z)
    # the factor of every (a_z in 0..2, a_xy in 0..4), looked up: two uint8 counts instead
    # of four float32 volumes
    a_z, a_xy = np.meshgrid(np.arange(3, dtype=np.float32), np.arange(5, dtype=np.float32), indexing="ij")
    total = a_z + a_xy
    table = np.ones((3, 5), np.float32)
    has = total > 0
    table[has] = (a_z[has] * w_z + a_xy[has] * w_xy) / total[has]
    return table[_face_counts(active)]


def spill_coefficient(edge_deficit: float, anchors: tuple[tuple[float, float], ...] | None = None) -> float:
    """Return the spill per active 26-neighbour, as a fraction of the pore-active contrast.

    Parameters
    ----------
    edge_deficit : float
        Edge deficit of :func:`active_edge_deficit` (dimensionless); NaN gives the
        coefficient of the first anchor.
    anchors : tuple of (float, float) pairs, optional
        ``(deficit, coefficient)`` pairs; default :data:`SPILL_ANCHORS`.

    Returns
    -------
    float
        Spill coefficient (dimensionless): piecewise linear in the edge deficit between
        the anchors, constant outside them.

    Notes
    -----
    The two default anchors are empirical:

    * (0.14, 0.010): the virtual-scanner electrodes. 0.010 makes the mean porosity error
      over nine 128^3 training scans (not the demo scans) zero. It is about half the spill
      actually measured in pore voxels next to active: the remainder compensates
      binder/pore partial-volume voxels, which the majority-vote ground truth calls
      binder. The scan-to-scan spread is irreducible for a local rule: neck and throat
      voxels between particles are pore in some scans and binder in others with the same
      grey values and neighbourhoods (dense electrodes have more pore throats, open ones
      more binder rims).
    * (0.21, 0.030): the Gaussian-blurred synthetic electrode of ``tests/test_segment.py``
      (voxel-exact truth), where partial-volume shells of active/pore edges pass through
      the binder range.
    """
    if anchors is None:
        anchors = SPILL_ANCHORS
    if not np.isfinite(edge_deficit):
        return float(anchors[0][1])
    xs = [a[0] for a in anchors]
    ys = [a[1] for a in anchors]
    return float(np.interp(edge_deficit, xs, ys))


@dataclass
class PhaseModel:
    """Pore / binder / active model of a denoised electrode volume with active-spill context.

    Decision rule (per voxel, value ``v``, ``n`` = number of active 26-neighbours, capped
    at ``spill_cap``, times the voxel's :func:`direction_factor` of ``spill_anisotropy``;
    "active" for this count = ``v > pore_level + contrast / 2``):

    * active  if ``v > binder_active_threshold`` (``pore + active_fraction * contrast``);
    * binder  if ``v > pore_binder_threshold + spill_per_neighbour * n`` (and not active);
    * pore    otherwise.

    ``pore_binder_threshold`` is the midpoint of the pore and binder levels; the
    ``spill_per_neighbour * n`` term raises it next to active particles, whose blurred
    edges spill intensity into neighbouring pore voxels (without it those pore voxels,
    e.g. in narrow throats of calendered electrodes, become binder and the porosity is
    underestimated).

    Posteriors (:meth:`posteriors`): the noise-free value is taken as Gaussian about
    ``v`` with ``posterior_sigma`` (noise left after denoising, from the widths of the
    pore and active peaks) and the class is the interval it falls in:
    ``P(pore) = Phi((b1 - v) / s)``, ``P(active) = Phi((v - b2) / s)``,
    ``P(binder) = 1 - P(pore) - P(active)``, with ``b1``, ``b2`` the two boundaries above.
    Their argmax is the rule above. With ``systematic=True`` the boundaries are also
    uncertain: ``s`` becomes ``sqrt(s^2 + (binder_level_sd / 2)^2 + (spill_sd_fraction *
    spill)^2)`` for the pore|binder boundary (``spill`` the voxel's spill term) and
    ``sqrt(s^2 + (active_fraction_sd * contrast)^2)`` for the binder|active one, so
    voxels that a plausible other placement of the boundaries would label differently
    (partial-volume voxels at the pore|binder|active edges, the spill-corrected voxels
    next to particles) carry that doubt. The median class is unchanged.

    Attributes
    ----------
    pore_level, pore_width, binder_level, binder_width, active_level, active_width : float
        Phase levels and peak widths, in the unit of the volume (1/µm); a width is NaN
        when unknown.
    binder_level_source : str
        How the binder level was found (``"given"``, ``"prior"`` or the plateau estimate).
    n_plateau_voxels : int
        Plateau voxels of :func:`estimate_binder_level`.
    edge_deficit : float
        Of :func:`active_edge_deficit` (dimensionless).
    spill_fraction : float
        Spill per active neighbour as a fraction of the contrast (dimensionless).
    spill_cap : int
        Active neighbours beyond this count add no further spill.
    spill_anisotropy : float
        In-plane / axial spill per neighbour (:func:`spill_anisotropy`); 1: every
        neighbour counts alike.
    active_fraction : float
        Binder|active boundary as a fraction of the contrast.
    posterior_sigma : float
        Noise sigma of the posteriors, in the unit of the volume.
    binder_level_sd : float
        Uncertainty (1 sd) of the binder level, unit of the volume: half the disagreement
        of the plateau estimate and the prior it is combined with.
    spill_sd_fraction : float
        Uncertainty of the active-spill term as a fraction of the term.
    active_fraction_sd : float
        Uncertainty of the binder|active boundary, as a fraction of the contrast.
    """

    pore_level: float
    pore_width: float
    binder_level: float
    binder_width: float
    active_level: float
    active_width: float
    binder_level_source: str
    n_plateau_voxels: int
    edge_deficit: float
    spill_fraction: float
    spill_cap: int = SPILL_CAP
    spill_anisotropy: float = 1.0
    active_fraction: float = ACTIVE_THRESHOLD_FRACTION
    posterior_sigma: float = 0.0
    binder_level_sd: float = 0.0
    spill_sd_fraction: float = 0.0
    active_fraction_sd: float = 0.0

    @property
    def contrast(self) -> float:
        """Pore-active contrast, in volume units (1/µm)."""
        return float(self.active_level - self.pore_level)

    @property
    def spill_source_threshold(self) -> float:
        """Level above which voxels count as active neighbours (half-way pore-active), 1/µm."""
        return float(self.pore_level + 0.5 * self.contrast)

    @property
    def pore_binder_threshold(self) -> float:
        """Pore|binder boundary for a voxel without active neighbours, 1/µm."""
        return float(0.5 * (self.pore_level + self.binder_level))

    @property
    def binder_active_threshold(self) -> float:
        """Binder|active boundary, in volume units (1/µm)."""
        return float(self.pore_level + self.active_fraction * self.contrast)

    @property
    def spill_per_neighbour(self) -> float:
        """Spill per active neighbour, in volume units (1/µm)."""
        return float(self.spill_fraction * self.contrast)

    def active_neighbours(self, volume: np.ndarray) -> np.ndarray:
        """Count the active 26-neighbours of every voxel, capped at ``spill_cap``, times its direction factor.

        Parameters
        ----------
        volume : numpy.ndarray
            Denoised volume ``(z, y, x)``, 1/µm.

        Returns
        -------
        numpy.ndarray
            Neighbour counts, same shape: uint8 when ``spill_anisotropy`` is 1, else the
            capped counts times :func:`direction_factor` as float32.
        """
        act = (np.asarray(volume) > self.spill_source_threshold).astype(np.uint8)
        k = np.ones((3, 3, 3), np.uint8)
        k[1, 1, 1] = 0
        n = np.minimum(ndi.convolve(act, k, mode="constant", cval=0), np.uint8(self.spill_cap))
        if self.spill_anisotropy == 1.0:
            return n
        return n * direction_factor(act, self.spill_anisotropy)

    def boundaries(self, n_active: np.ndarray) -> tuple[np.ndarray, float]:
        """Return the class boundaries for the given active-neighbour counts.

        Parameters
        ----------
        n_active : numpy.ndarray
            Active-neighbour counts (:meth:`active_neighbours`).

        Returns
        -------
        pore_binder : numpy.ndarray of float32
            Pore|binder boundary per voxel, 1/µm.
        binder_active : float
            Binder|active boundary, 1/µm.
        """
        b2 = self.binder_active_threshold
        b1 = self.pore_binder_threshold + self.spill_per_neighbour * np.asarray(n_active, dtype=np.float32)
        return np.minimum(b1, np.float32(b2)).astype(np.float32), b2

    def posteriors(
        self,
        volume: np.ndarray,
        n_active: np.ndarray | None = None,
        dtype=np.float32,
        chunk_slices: int = 16,
        systematic: bool = False,
    ) -> np.ndarray:
        """Compute the class posteriors in the order of :data:`PHASE_CLASSES`.

        Parameters
        ----------
        volume : numpy.ndarray
            Denoised volume ``(z, y, x)``, 1/µm.
        n_active : numpy.ndarray, optional
            Active-neighbour counts; computed with :meth:`active_neighbours` if None.
        dtype : numpy.dtype, optional
            Output dtype.
        chunk_slices : int, optional
            z slices computed at once (bounds the temporary memory).
        systematic : bool, optional
            Add the boundaries' own uncertainty to the noise (class docstring).

        Returns
        -------
        numpy.ndarray
            Posteriors ``(3, *volume.shape)`` (probabilities summing to 1 per voxel).
        """
        vol = np.asarray(volume, dtype=np.float32)
        if n_active is None:
            n_active = self.active_neighbours(vol)
        s = np.float32(max(self.posterior_sigma, 1e-12))
        s2 = s
        if systematic:
            s2 = np.float32(np.hypot(s, self.active_fraction_sd * self.contrast))
        out = np.empty((3,) + vol.shape, dtype=dtype)
        for z0 in range(0, vol.shape[0], chunk_slices):
            sl = slice(z0, min(z0 + chunk_slices, vol.shape[0]))
            v = vol[sl]
            b1, b2 = self.boundaries(n_active[sl])
            s1 = s
            if systematic:
                spill = self.spill_per_neighbour * n_active[sl].astype(np.float32)
                s1 = np.sqrt(
                    s * s
                    + np.float32(0.5 * self.binder_level_sd) ** 2
                    + (np.float32(self.spill_sd_fraction) * spill) ** 2
                )
            p_pore = ndtr((b1 - v) / s1)
            p_act = ndtr((v - np.float32(b2)) / s2)
            p_bind = np.clip(1.0 - p_pore - p_act, 0.0, None)
            tot = p_pore + p_bind + p_act
            out[0, sl] = p_pore / tot
            out[1, sl] = p_bind / tot
            out[2, sl] = p_act / tot
        return out

    def classify(self, volume: np.ndarray, n_active: np.ndarray | None = None) -> np.ndarray:
        """Return the posterior-argmax class of every voxel.

        Parameters
        ----------
        volume : numpy.ndarray
            Denoised volume ``(z, y, x)``, 1/µm.
        n_active : numpy.ndarray, optional
            Active-neighbour counts; computed if None.

        Returns
        -------
        numpy.ndarray of uint8
            0 pore, 1 binder, 2 active.
        """
        return np.argmax(self.posteriors(volume, n_active), axis=0).astype(np.uint8)

    def as_dict(self) -> dict:
        """Return the parameters as plain Python values (non-finite values, e.g. an unknown width, as None).

        Returns
        -------
        dict
            Classes, levels (``means``, 1/µm), widths (``stds``), binder source, spill
            parameters and the two thresholds (1/µm).
        """

        def f(x):
            x = float(x)
            return x if np.isfinite(x) else None

        return {
            "classes": list(PHASE_CLASSES),
            "means": [float(self.pore_level), float(self.binder_level), float(self.active_level)],
            "stds": [f(self.pore_width), f(self.binder_width), f(self.active_width)],
            "binder_level_source": self.binder_level_source,
            "n_plateau_voxels": int(self.n_plateau_voxels),
            "edge_deficit": f(self.edge_deficit),
            "spill_fraction": float(self.spill_fraction),
            "spill_per_neighbour": float(self.spill_per_neighbour),
            "spill_cap": int(self.spill_cap),
            "spill_anisotropy": float(self.spill_anisotropy),
            "active_fraction": float(self.active_fraction),
            "posterior_sigma": float(self.posterior_sigma),
            "binder_level_sd": float(self.binder_level_sd),
            "spill_sd_fraction": float(self.spill_sd_fraction),
            "active_fraction_sd": float(self.active_fraction_sd),
            "thresholds": [self.pore_binder_threshold, self.binder_active_threshold],
        }


def fit_phase_model(
    volume: np.ndarray,
    roi: np.ndarray | None = None,
    *,
    max_samples: int = 200_000,
    seed: int = 0,
    spill_correction: bool = True,
    binder_level: float | None = None,
    active_fraction: float = ACTIVE_THRESHOLD_FRACTION,
    binder_prior_ratio: float = BINDER_PRIOR_RATIO,
    binder_prior_count: float = BINDER_PRIOR_COUNT,
    spill_sd_fraction: float = SPILL_SD_FRACTION,
    active_fraction_sd: float = 0.05,
    spill_anchors: tuple[tuple[float, float], ...] | None = None,
    anisotropic_spill: bool = False,
) -> PhaseModel:
    """Fit :class:`PhaseModel` to a denoised electrode volume (deterministic).

    Parameters
    ----------
    volume : numpy.ndarray
        Denoised volume ``(z, y, x)``, attenuation in 1/µm.
    roi : numpy.ndarray of bool, optional
        Region of interest; None: the whole volume.
    max_samples, seed : int, optional
        Subsample of the phase levels (:func:`estimate_phase_levels`).
    spill_correction : bool, optional
        Use the active-spill term (else the spill coefficient is 0).
    binder_level : float, optional
        Binder level in 1/µm; bypasses the plateau estimate.
    active_fraction : float, optional
        Binder|active boundary as a fraction of the pore-active contrast.
    binder_prior_ratio : float, optional
        Prior binder level as ``(binder - pore) / (active - pore)``.
    binder_prior_count : float, optional
        Weight of the prior, in plateau voxels.
    spill_sd_fraction : float, optional
        Uncertainty of the spill term as a fraction of it (1: the empirical correction is
        uncertain by its own size).
    active_fraction_sd : float, optional
        Uncertainty of ``active_fraction`` (0.05: half-way to the plain midpoint 0.5).
    spill_anchors : tuple of (float, float) pairs, optional
        ``(edge deficit, spill coefficient)`` anchors of :func:`spill_coefficient`;
        default :data:`SPILL_ANCHORS`.
    anisotropic_spill : bool, optional
        Weight the active neighbours by direction with the in-plane / axial spill ratio
        measured on the scan (:func:`spill_anisotropy`); else every neighbour counts alike.

    Returns
    -------
    PhaseModel
        The fitted model.

    Raises
    ------
    ValueError
        If the phase levels cannot be separated or the binder level is not between the
        pore and active levels.

    Notes
    -----
    1. pore and active levels and peak widths: :func:`estimate_phase_levels`;
    2. binder level: ``binder_level`` if given; else the plateau estimate
       (:func:`estimate_binder_level`, ``n`` voxels) shrunk towards the prior
       ``pore + binder_prior_ratio * (active - pore)`` with weights ``n`` and
       ``binder_prior_count``; the prior alone if there are no plateau voxels. With few
       plateau voxels (small volumes) the plateau median scatters; with many it dominates;
    3. edge deficit (:func:`active_edge_deficit`) -> spill coefficient
       (:func:`spill_coefficient`); 0 when ``spill_correction`` is False;
    4. with ``anisotropic_spill``, the in-plane / axial spill ratio
       (:func:`spill_anisotropy`).
    """
    vol = np.asarray(volume, dtype=np.float32)
    mp, sp, ma, sa, _ = estimate_phase_levels(vol, roi, max_samples=max_samples, seed=seed)
    n_plateau = 0
    prior = mp + float(binder_prior_ratio) * (ma - mp)
    # 1 sd: the prior alone, half its distance from the pore level; with a plateau estimate,
    # half the two estimates' disagreement
    binder_sd = 0.5 * (prior - mp)
    if binder_level is not None:
        mb, sb, source = float(binder_level), float("nan"), "given"
        binder_sd = 0.0
    else:
        est = estimate_binder_level(vol, roi, mp, sp, ma, sa)
        if est is not None:
            mb_plateau, sb, n_plateau, k = est
            w = n_plateau / (n_plateau + float(binder_prior_count))
            mb = w * mb_plateau + (1.0 - w) * prior
            binder_sd = 0.5 * abs(mb_plateau - prior)
            source = f"plateau(k={k:g}, n={n_plateau}, median={mb_plateau:.6g}, weight={w:.3f})+prior"
        else:
            mb, sb, source = prior, float("nan"), "prior"
    if not mp < mb < ma:
        raise ValueError(f"binder level {mb} is not between the pore ({mp}) and active ({ma}) levels")
    active = vol > mp + 0.5 * (ma - mp)
    deficit = active_edge_deficit(vol, active, roi, mp, ma)
    spill = spill_coefficient(deficit, spill_anchors) if spill_correction else 0.0
    anisotropy = 1.0
    if anisotropic_spill and spill_correction:
        anisotropy = spill_anisotropy(vol, roi, mp, ma, mp + float(active_fraction) * (ma - mp))
    return PhaseModel(
        pore_level=mp,
        pore_width=sp,
        binder_level=mb,
        binder_width=sb,
        active_level=ma,
        active_width=sa,
        binder_level_source=source,
        n_plateau_voxels=n_plateau,
        edge_deficit=deficit,
        spill_fraction=spill,
        spill_anisotropy=anisotropy,
        active_fraction=float(active_fraction),
        posterior_sigma=float(np.sqrt(0.5 * (sp * sp + sa * sa))),
        binder_level_sd=float(binder_sd),
        spill_sd_fraction=float(spill_sd_fraction) if spill_correction else 0.0,
        active_fraction_sd=float(active_fraction_sd),
    )
