"""Tortuosity tensor of a pore space by random walk (mean-squared displacement of lattice walkers)."""

from __future__ import annotations

import math
import time

import numba
import numpy as np

from .. import _checks
from ._kernels import _GAMMA, _mix, _walk
from .start_set import walker_start_set

_CHUNK = 256  # walkers per parallel work item
# (z, y, x) index pairs of the six stored second moments: zz, yy, xx, zy, zx, yx
_PAIRS = ((0, 0), (1, 1), (2, 2), (0, 1), (0, 2), (1, 2))


def _slope(t: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Least-squares slope of ``y`` (..., n_t) against ``t`` (n_t,)."""
    tc = t - t.mean()
    return (y - y.mean(axis=-1, keepdims=True)) @ tc / float(tc @ tc)


def _tensor(six: np.ndarray) -> np.ndarray:
    """(..., 6) zz, yy, xx, zy, zx, yx -> (..., 3, 3) symmetric."""
    out = np.empty(six.shape[:-1] + (3, 3))
    for k, (i, j) in enumerate(_PAIRS):
        out[..., i, j] = six[..., k]
        out[..., j, i] = six[..., k]
    return out


def random_walk_tortuosity(
    pore_mask: np.ndarray,
    voxel_size_um=1.0,
    n_walkers: int = 20000,
    n_steps: int = 40000,
    seed: int = 0,
    *,
    boundary: str = "mirror",
    start_in: str = "spanning",
    n_batches: int = 16,
    n_samples: int = 128,
    max_lag: float = 0.25,
    fit_start: float = 0.5,
) -> dict:
    """Compute the tortuosity tensor of the pore space from the mean-squared displacement of walkers.

    Lattice "blind ant" walk on the pore voxels (6 face neighbours, hop probability
    along ``d`` proportional to ``1 / h_d^2``, blocked moves count as steps), walkers
    started uniformly on whole spanning pore clusters, the image continued by mirroring
    (default) or periodically at its faces, ``D_ij`` = half the least-squares slope of
    the time-averaged ``<dx_i dx_j>`` against the lag over the later part of the lag
    range, ``tau = D_free / D``. See the Notes for the physics, the relation to the
    finite-volume tortuosity factor and the statistics.

    Parameters
    ----------
    pore_mask : ndarray of bool, (z, y, x)
        True in the pore phase (integer arrays: non-zero = pore).
    voxel_size_um : float or (3,) sequence
        Voxel size in um, ``(dz, dy, dx)`` (non-cubic allowed).
    n_walkers : int
        Number of walkers (>= ``2 * n_batches``).
    n_steps : int
        Steps per walker; rounded down to a multiple of ``n_samples`` (>= ``n_samples``).
        One step lasts ``D_free dt = 1 / (2 S)`` um^2, ``S = sum_d 1/h_d^2`` (um^-2).
    seed : int
        Non-negative seed; walker ``w`` uses the stream ``hash(seed, w)``.
    boundary : {"mirror", "periodic"}
        Continuation of the image at its faces. Mirror: no periodic image needed, result
        consistent with the finite-volume tortuosity, off-diagonal terms zero at long
        times by symmetry. Periodic: full tensor, for periodic images only.
    start_in : {"spanning", "largest", "all"}
        Which pore clusters the walkers start in (see :func:`walker_start_set`).
    n_batches : int
        Number of walker batches for the standard errors (>= 2).
    n_samples : int
        Number of equally spaced positions recorded per walker after the start (>= 8);
        every recorded position is an origin of the time-averaged MSD.
    max_lag : float
        Longest lag as a fraction of the walk, in ``(0, 1]``. The free-space RMS
        displacement per axis at the longest lag is ``sqrt(2 D_free t_max)``, for cubic
        voxels ``h sqrt(max_lag n_steps / 3)``; it should exceed the correlation length
        of the structure several times (see ``diffusivity_drift``).
    fit_start : float
        Start of the slope fit as a fraction of the longest lag, in ``[0, 1)``; at least
        3 lags are fitted.

    Returns
    -------
    dict
        ``tau`` : (3,) float, per-axis RW tortuosity ``D_free / D_ii`` (z, y, x),
        relative to the start set ``W`` (no porosity factor); ``inf`` where
        ``D_ii <= 0``. ``tau_z``, ``tau_y``, ``tau_x`` : the same as floats.
        ``tau_se`` : (3,) standard errors (delta method; ``nan`` where ``tau`` is inf).
        ``tau_lower`` : (3,) ``D_free / (D_ii + 2 se)``, a ~97.5 % lower bound (inf if
        ``D_ii + 2 se <= 0``).
        ``tau_tensor`` : (3, 3) ``D_free inv(D)`` of the symmetrised ``D`` (all ``inf``
        if ``D`` is not positive definite).
        ``tortuosity_factor`` : (3,) TauFactor convention ``eps D_bulk / D_eff`` =
        ``tau * eps / eps_W``, comparable with
        ``transport.tortuosity(...)["tortuosity_factor"]``;
        ``tortuosity_factor_se`` : (3,).
        ``diffusivity_ratio`` : (3, 3) ``D / D_free`` (symmetrised);
        ``diffusivity_ratio_se`` : (3, 3) its batch standard errors.
        ``deff_over_dbulk`` : (3,) ``eps_W D_ii / D_free``, the effective diffusivity
        per total cross-section (FV's ``deff_over_dbulk``).
        ``diffusivity_drift`` : (3,) ``(D_early - D_late) / D_late``, the diagonal
        slopes over the first and the second half of the fit window (positive and
        larger than the noise: ``D`` still decreasing, walk too short); nan where
        ``D_late`` is not positive.
        ``porosity`` : pore volume fraction ``eps`` of the image.
        ``walker_fraction`` : ``eps_W``, volume fraction (of the image) of ``W``;
        ``walker_fraction_of_pore`` : ``eps_W / eps``.
        ``spanning_fraction``, ``n_clusters``, ``n_spanning``, ``spanning_axes`` : see
        :func:`walker_start_set`.
        ``lag_dfree_t_um2`` : (n_lags,) lags as ``D_free t`` in um^2;
        ``msd_um2`` : (n_lags, 3, 3) time-averaged ``<dx_i dx_j>`` in um^2;
        ``msd_batches_um2`` : (n_batches, n_lags, 3, 3).
        ``rms_displacement_um`` : (3,) RMS displacement per axis at the longest lag.
        ``fit_dfree_t_um2`` : (2,) the fit window.
        ``n_walkers``, ``n_steps`` (as used), ``seed``, ``boundary``, ``start_in``,
        ``n_batches``, ``voxel_size_um``, ``n_threads``, ``time_s`` (dict:
        ``clusters``, ``walk``, ``total``).

    Raises
    ------
    ValueError
        If the mask is not 3-D or is empty, the voxel size is not positive and finite,
        or an argument is out of range.
    TypeError
        If the mask is neither boolean nor integer, or a count is not an integer.

    Notes
    -----
    Walkers diffuse in the pore voxels; the long-time slope of their mean-squared
    displacement gives the effective diffusion tensor of the pore phase,
    ``D_ij = <dx_i dx_j> / (2 t)``, and ``tau = D_free / D``.

    **Lattice walk, "blind ant"** (de Gennes 1976). Each step a walker picks one of the
    six face neighbours, axis ``d`` with probability ``p_d = (1/h_d^2) / S``,
    ``S = sum_e 1/h_e^2`` (``h`` = voxel size in um), the sign with probability 1/2; if
    that neighbour is solid it stays where it is (the step still counts). Every step
    lasts ``dt = 1 / (2 D_free S)``, so free space is isotropic with ``D = D_free`` for
    any voxel shape. The master equation of this walk is *exactly* the 7-point
    finite-volume operator of :mod:`batteryct.transport` (face conductance
    ``D A_d / h_d`` between two pore voxels, none into solid), whose stationary
    distribution is uniform on the pore voxels: with the mirror continuation below, the
    infinite-time result is the *same* discrete problem as the finite-volume solve (no
    second discretisation error, 6-connectivity), so any difference between the two is
    statistical or finite-time. Off-lattice walkers would converge to the continuum
    problem on the union of voxel cubes, a different discretisation; the "myopic ant"
    (choosing only among open neighbours) has a non-uniform stationary distribution, so
    it is not the finite-volume operator.

    **Continuation of the volume at its faces** (``boundary``):

    * ``"mirror"``: a walker leaving the box continues in a mirrored copy of the image
      (it lands in the mirror image of the voxel it leaves, its orientation along that
      axis flips, its unwrapped displacement keeps counting). The mirrored medium is
      periodic with period ``2 n_d h_d`` and symmetric under reflection at every box
      face, so (i) its long-time diffusion tensor is exactly that of the finite-volume
      problem with ``c = const`` on the two faces normal to ``d`` (half a voxel from the
      cell centres, as in TauFactor) and no flux through the four others, and (ii) its
      *long-time off-diagonal terms are exactly zero*: the off-diagonal values reported
      in this mode are noise (plus short-time transients), useful only as an error
      check. A cluster is infinite along ``d`` iff it touches both box faces normal to
      ``d``.
    * ``"periodic"``: the box is repeated periodically, which gives a genuine 3 x 3
      tensor (e.g. for tilted structures), but only for periodic images: at the faces
      of a non-periodic image the seam creates or cuts pore connections. A cluster is
      infinite iff it winds around the torus (union-find over the 6-connected pieces of
      the box, carrying the image offset of each piece).

    **Start set** ``W`` (``start_in``, :func:`walker_start_set`): walkers start uniformly
    (the stationary distribution) on whole 6-connected clusters, so the increments are
    stationary from the first step. ``walker_fraction`` (``eps_W``, of the image) and
    ``walker_fraction_of_pore`` report its share.

    **Relation to the finite-volume tortuosity factor.** For walkers uniform on ``W``
    the Einstein relation reads ``D_RW,d = D_eff,d / eps_W``, where ``D_eff,d`` is the
    effective diffusivity per *total* cross-section, what the finite-volume solve gives
    (``transport.tortuosity(...)["deff_over_dbulk"]``). Hence
    ``tau_d = D_free / D_RW,d = eps_W D_bulk / D_eff,d``, relative to the pore space the
    walkers explore (``transport``'s ``tortuosity_factor_percolating`` when ``W`` is the
    percolating set along ``d``), and ``tortuosity_factor_d = tau_d eps / eps_W =
    eps D_bulk / D_eff,d``, TauFactor's convention with the total porosity ``eps``
    (Cooper et al. 2016). Both are exact for infinitely many walkers and infinite time
    (mirror mode).

    **MSD and fit.** Every walker records its unwrapped integer displacement at
    ``n_samples`` equally spaced times; the increments being stationary, the MSD at lag
    ``L`` is averaged over *all* recorded origins of every walker (time-averaged MSD),
    for lags up to ``max_lag`` of the walk. At finite lag
    ``MSD = 2 D t + b + (decaying terms)`` with an offset ``b > 0`` from the faster
    short-time diffusion, so ``D`` is the least-squares *slope* of the MSD against the
    lag over ``fit_start``..1 of the longest lag, not ``MSD / 2t`` at one end point. A
    walk too short to explore distances well beyond the structure's correlation length
    overestimates ``D`` (underestimates ``tau``); ``diffusivity_drift`` flags it.

    **Tensor.** ``tau_tensor = D_free inv(D)`` of the symmetrised ``D``; ``tau`` is the
    per-axis ``D_free / D_ii``. They coincide for a tensor that is diagonal in
    (z, y, x) (always, in mirror mode, up to noise); for a tilted periodic structure
    ``tau_tensor`` is the meaningful one (its eigenvalues are the principal
    tortuosities).

    **Statistics.** Walkers are split into ``n_batches`` contiguous batches, each with
    its own MSD curve and slope; the standard errors are the standard deviation of the
    batch values over ``sqrt(n_batches)`` (``tau`` errors by the delta method).

    **Random numbers and determinism.** Each walker has its own counter-based stream
    (SplitMix64, Steele, Lea & Flood 2014) whose start is a hash of
    ``(seed, walker index)``; one 64-bit draw serves two steps, the start voxel is drawn
    from the same stream by rejection. Displacements are integers and the batch sums of
    ``dx_i dx_j`` are accumulated in int64, i.e. exactly, so the result is bit-identical
    for any number of numba threads and any chunking.

    **Cost.** ``n_walkers * n_steps`` steps, independent of the image size except
    through the cache; each walker is advanced through all its steps before the next
    one starts, which keeps its neighbourhood in cache. Memory: the ``cc3d`` labels
    (``4 n`` bytes) transiently, then a padded uint8 mask of ``W`` during the walk.

    References
    ----------
    * P. G. de Gennes, "La percolation: un concept unificateur", La Recherche 7, 919
      (1976): the ant in the labyrinth.
    * S. J. Cooper et al., "TauFactor", SoftwareX 5, 203 (2016): the tortuosity factor
      ``tau = eps D_bulk / D_eff``.
    * G. L. Steele, D. Lea, C. H. Flood, "Fast splittable pseudorandom number
      generators", OOPSLA 2014: SplitMix64.

    Examples
    --------
    Straight channels along z, away from the lateral faces: free diffusion along z
    (``tau`` about 1), none across.

    >>> import numpy as np
    >>> pores = np.zeros((16, 16, 16), bool)
    >>> pores[:, 1:15:2, 1:15:2] = True
    >>> r = random_walk_tortuosity(pores, n_walkers=2000, n_steps=2048, seed=1)
    >>> bool(abs(r["tau_z"] - 1.0) < 4 * r["tau_se"][0]), r["tau_x"]
    (True, inf)
    """
    t_start = time.perf_counter()
    mask = _checks.as_mask_3d(pore_mask, "pore_mask")
    h = _checks.voxel_size_um(voxel_size_um)
    n_walkers = _checks.check_int(n_walkers, "n_walkers", 1)
    n_steps = _checks.check_int(n_steps, "n_steps", 1)
    seed = _checks.check_int(seed, "seed", 0)
    n_batches = _checks.check_int(n_batches, "n_batches", 2)
    n_samples = _checks.check_int(n_samples, "n_samples", 8)
    if n_walkers < 2 * n_batches:
        raise ValueError(f"n_walkers ({n_walkers}) must be >= 2 * n_batches ({n_batches})")
    if n_steps < n_samples:
        raise ValueError(f"n_steps ({n_steps}) must be >= n_samples ({n_samples})")
    max_lag = float(max_lag)
    if not 0.0 < max_lag <= 1.0:
        raise ValueError(f"max_lag must lie in (0, 1], got {max_lag}")
    fit_start = float(fit_start)
    if not 0.0 <= fit_start < 1.0:
        raise ValueError(f"fit_start must lie in [0, 1), got {fit_start}")

    start = walker_start_set(mask, boundary, start_in)
    t_clusters = time.perf_counter() - t_start
    walk = start.pop("mask")
    eps = float(mask.mean())
    eps_w = float(walk.mean())

    inv_h2 = 1.0 / h**2
    s_sum = float(inv_h2.sum())
    interval = n_steps // n_samples
    n_steps = interval * n_samples
    sample_steps = np.arange(n_samples + 1, dtype=np.int64) * interval
    n_lags = max(3, int(round(max_lag * n_samples)))
    n_lags = min(n_lags, n_samples)
    lags = np.arange(1, n_lags + 1)
    lag_t = lags * interval / (2.0 * s_sum)  # D_free t in um^2
    first = min(int(math.ceil(fit_start * n_lags)), n_lags - 2)
    fit = lags >= max(first, 1)
    cum = np.cumsum(inv_h2 / s_sum)
    axis_thr = np.minimum(np.round(cum[:2] * 2.0**31), 2**31).astype(np.int64)

    # contiguous batches, split into chunks of at most _CHUNK walkers
    bounds = (np.arange(n_batches + 1) * n_walkers) // n_batches
    lo, hi, owner = [], [], []
    for b in range(n_batches):
        edges = list(range(int(bounds[b]), int(bounds[b + 1]), _CHUNK)) + [int(bounds[b + 1])]
        for a, c in zip(edges[:-1], edges[1:]):
            lo.append(a)
            hi.append(c)
            owner.append(b)
    owner = np.array(owner)
    batch_size = np.diff(bounds).astype(np.float64)

    t0 = time.perf_counter()
    batch_sums = np.zeros((n_batches, n_lags, 6), np.int64)
    if eps_w > 0:
        padded = np.pad(walk.view(np.uint8), 1, constant_values=2)
        del walk
        sums = np.zeros((len(lo), n_lags, 6), np.int64)
        seed_mixed = np.uint64(_mix(np.uint64(seed) ^ _GAMMA))
        _walk(
            padded,
            seed_mixed,
            np.array(lo, np.int64),
            np.array(hi, np.int64),
            n_steps,
            sample_steps,
            n_lags,
            axis_thr,
            boundary == "periodic",
            sums,
        )
        del padded
        np.add.at(batch_sums, owner, sums)
    t_walk = time.perf_counter() - t0

    hh = np.array([h[i] * h[j] for i, j in _PAIRS])
    origins = (n_samples + 1 - lags).astype(np.float64)
    msd_b = batch_sums.astype(np.float64) * hh / (batch_size[:, None, None] * origins[:, None])
    msd = batch_sums.sum(axis=0).astype(np.float64) * hh / (n_walkers * origins[:, None])
    # D / D_free = slope of <dx dx> against D_free t, / 2 (per batch and pooled)
    wgt = batch_size / n_walkers
    tf = lag_t[fit]
    d_b = 0.5 * _slope(tf, np.moveaxis(msd_b[:, fit, :], 1, -1))  # (n_batches, 6)
    d6 = 0.5 * _slope(tf, msd[fit, :].T)  # equals the weighted mean of d_b
    d6_se = np.sqrt((wgt[:, None] * (d_b - d6) ** 2).sum(axis=0) / (n_batches - 1))
    idx = np.flatnonzero(fit)
    early, late = idx[: (idx.size + 1) // 2 + 1], idx[idx.size // 2 :]
    d_early = 0.5 * _slope(lag_t[early], msd[early, :3].T)
    d_late = 0.5 * _slope(lag_t[late], msd[late, :3].T)
    with np.errstate(divide="ignore", invalid="ignore"):
        drift = np.where(d_late > 0, (d_early - d_late) / d_late, np.nan)

    dmat = _tensor(d6)
    dmat_se = _tensor(d6_se)
    dii = d6[:3]
    dii_se = d6_se[:3]
    with np.errstate(divide="ignore", invalid="ignore"):
        tau = np.where(dii > 0, 1.0 / dii, np.inf)
        tau_se = np.where(dii > 0, dii_se / dii**2, np.nan)
        upper = dii + 2.0 * dii_se
        tau_lower = np.where(upper > 0, 1.0 / upper, np.inf)
    if eps_w > 0 and np.all(np.linalg.eigvalsh(dmat) > 0):
        tau_tensor = np.linalg.inv(dmat)
        tau_tensor = 0.5 * (tau_tensor + tau_tensor.T)
    else:
        tau_tensor = np.full((3, 3), np.inf)
    ratio = eps / eps_w if eps_w > 0 else np.inf
    with np.errstate(invalid="ignore"):
        tau_factor = tau * ratio
        tau_factor_se = tau_se * ratio

    return {
        "tau": tau,
        "tau_z": float(tau[0]),
        "tau_y": float(tau[1]),
        "tau_x": float(tau[2]),
        "tau_se": tau_se,
        "tau_lower": tau_lower,
        "tau_tensor": tau_tensor,
        "tortuosity_factor": tau_factor,
        "tortuosity_factor_se": tau_factor_se,
        "diffusivity_ratio": dmat,
        "diffusivity_ratio_se": dmat_se,
        "deff_over_dbulk": eps_w * dii,
        "diffusivity_drift": drift,
        "porosity": eps,
        "walker_fraction": eps_w,
        "walker_fraction_of_pore": eps_w / eps if eps > 0 else math.nan,
        "spanning_fraction": start["spanning_fraction"],
        "n_clusters": start["n_clusters"],
        "n_spanning": start["n_spanning"],
        "spanning_axes": start["spanning_axes"],
        "lag_dfree_t_um2": lag_t,
        "msd_um2": _tensor(msd),
        "msd_batches_um2": _tensor(msd_b),
        "rms_displacement_um": np.sqrt(msd[-1, :3]),
        "fit_dfree_t_um2": np.array([tf[0], tf[-1]]),
        "n_walkers": n_walkers,
        "n_steps": n_steps,
        "seed": seed,
        "boundary": boundary,
        "start_in": start_in,
        "n_batches": n_batches,
        "voxel_size_um": tuple(float(v) for v in h),
        "n_threads": int(numba.get_num_threads()),
        "time_s": {"clusters": t_clusters, "walk": t_walk, "total": time.perf_counter() - t_start},
    }
