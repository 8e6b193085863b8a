"""Tortuosity tensor of a pore space by random walk (mean-squared displacement).

Everything here follows the conventions of :mod:`batteryct` (see ``__init__``): volumes
are ``(z, y, x)``, axis 0 (``z``) is the through-plane direction of an electrode, and
lengths carry their unit in the name (``voxel_size_um``). Every tensor and every per-axis
array returned is ordered ``(z, y, x)``.

Method
------
Walkers diffuse in the pore voxels; the long-time slope of their mean-squared
displacement gives the effective diffusion tensor of the pore phase,
``D_ij = <dx_i dx_j> / (2 t)``, and ``tau = D_free / D``.

**Lattice walk, "blind ant".** A walker sits on a pore voxel. Each step it picks one of
the six face neighbours, axis ``d`` with probability ``p_d = (1/h_d^2) / S``,
``S = sum_e 1/h_e^2`` (``h`` = voxel size in um), the sign with probability 1/2; if that
neighbour is solid the walker stays where it is (the step is still counted: "blind
ant"). Every step lasts ``dt = 1 / (2 D_free S)``, so free-space hops happen at the rate
``D_free / h_d^2`` per direction and free space is isotropic with ``D = D_free`` for any
voxel shape. The master equation of this walk is *exactly* the 7-point finite-volume
operator of :mod:`batteryct.transport` (face conductance ``D A_d / h_d`` between two
pore voxels, none into solid), whose stationary distribution is uniform on the pore
voxels. The lattice walk is chosen over off-lattice Brownian steps with specular
reflection because of that identity: with the boundary continuation below, the
infinite-time RW result is the *same* discrete problem as the finite-volume solve
(no second discretisation error, 6-connectivity as in ``transport``), so any difference
between the two is statistical or finite-time. (Off-lattice walkers converge, as the
step length goes to zero, to the continuum problem on the union of voxel cubes: a
different discretisation of the same image, which differs from the 7-point FV by the
image's discretisation error and needs a rule for voxels that touch only along an edge
or a corner.) The "myopic ant" (choosing only among open neighbours) is *not* used: its
stationary distribution (proportional to the number of open neighbours) is not uniform,
so it is not the FV operator.

**Continuation of the volume at its faces** (``boundary``):

* ``"mirror"`` (default): a walker leaving the box continues in a mirrored copy of the
  image, so the box need not be periodic. Crossing a face lands in the mirror image of
  the voxel it leaves (always pore), and the walker's orientation along that axis flips;
  its *unwrapped* displacement keeps counting. The infinite mirrored medium is periodic
  with period ``2 n_d h_d`` and symmetric under reflection at every box face. Two
  consequences: (i) its long-time diffusion tensor is exactly the one of the
  finite-volume problem with ``c = const`` on the two faces normal to ``d`` (at half a
  voxel from the cell centres, as in TauFactor) and no flux through the four others:
  the solution of the periodic cell problem is odd about every mirror plane; (ii) by the
  same symmetry, the *long-time off-diagonal terms are exactly zero* - a tilted
  structure inside the box cannot show its tilt. The off-diagonal values reported in
  this mode are pure noise (plus short-time transients) and are useful only as an error
  check. A pore cluster is infinite along ``d`` in the mirrored medium iff it touches
  both box faces normal to ``d`` (a cluster only connects to its own mirror images).
* ``"periodic"``: the box is repeated periodically. This gives a genuine full 3 x 3
  tensor (e.g. for tilted structures), but only a periodic image should be used this
  way: at the faces of a non-periodic image the seam creates or cuts pore connections
  that do not exist. A periodic cluster is infinite iff it winds around the torus; that
  is detected with a union-find over the 6-connected pieces of the box carrying the
  image offset of each piece.

**Where walkers start** (``start_in``): uniformly (the stationary distribution) on a set
``W`` of pore voxels made of whole 6-connected clusters, so the increments are
stationary from the first step:

* ``"spanning"`` (default): clusters that are infinite in the continued medium (mirror:
  touching both faces along at least one axis; periodic: winding);
* ``"largest"``: the largest such cluster (periodic: the largest periodic cluster);
* ``"all"``: every pore voxel (walkers in finite clusters then add zero to ``D`` at long
  times).

``walker_fraction`` (= ``eps_W``, of the image) and ``walker_fraction_of_pore`` report
the share of ``W``.

**Relation to the finite-volume tortuosity factor.** For walkers uniform on ``W`` the
Einstein relation of the walk on the (periodic, continued) pore graph reads
``D_RW,d = D_eff,d / eps_W``, where ``D_eff,d`` is the homogenised effective diffusivity
of the medium (flux per *total* cross-section per gradient, what the finite-volume solve
gives: ``transport.tortuosity(...)["deff_over_dbulk"]``): time spent in dead ends of
``W`` slows the walkers, and walkers in clusters that do not span ``d`` add nothing at
long times. Hence

* ``tau_d = D_free / D_RW,d = eps_W D_bulk / D_eff,d`` - the RW tortuosity, relative to
  the pore space the walkers explore (no porosity factor); it equals ``transport``'s
  ``tortuosity_factor_percolating`` when ``W`` is the percolating set along ``d``;
* ``tortuosity_factor_d = tau_d * eps / eps_W = eps D_bulk / D_eff,d`` - TauFactor's
  convention with the *total* porosity ``eps``, directly comparable with
  ``transport.tortuosity(...)["tortuosity_factor"]``.

Both are exact in the limit of infinitely many walkers and infinite time (mirror mode).

**MSD and fit.** Every walker records its unwrapped integer displacement at
``n_samples`` equally spaced times after the start; because the walkers start in the
stationary distribution of the walk (uniform on ``W``), the increments are stationary
and the MSD at lag ``L`` is averaged over *all* recorded origins of every walker
(time-averaged MSD), for lags up to ``max_lag`` of the walk. At finite lag
``MSD = 2 D t + b + (decaying terms)`` with an offset ``b > 0`` from the faster
short-time diffusion, so ``D`` is the least-squares *slope* of the MSD against the lag
over the later part of the lag range (``fit_start``..1 of the longest lag), not
``MSD / 2t`` at one end point. Finite-time bias remains while the walkers have not
explored distances well beyond the structure's correlation length (it overestimates
``D``, i.e. underestimates ``tau``); ``diffusivity_drift`` (slope over the first half of
the fit window against the second half) flags it.

**Tensor.** ``diffusivity_ratio`` = ``D / D_free`` (3 x 3, symmetrised); ``tau_tensor``
= ``D_free inv(D)`` (matrix inverse of the symmetrised tensor; ``inf`` entries if ``D``
is not positive definite); ``tau`` (and ``tau_z``, ``tau_y``, ``tau_x``) = the per-axis
``D_free / D_ii``. They coincide for a tensor that is diagonal in (z, y, x) (always, in
mirror mode, up to noise); for a tilted periodic structure ``tau_tensor`` is the
physically meaningful one (its eigenvalues are the principal tortuosities). A direction
with ``D_ii <= 0`` (blocked, up to noise) gives ``tau = inf``; ``tau_lower`` =
``D_free / (D_ii + 2 se)`` is a one-sided ~97.5 % lower bound that stays finite when the
walk cannot exclude a tiny diffusivity.

**Statistics.** Walkers are split into ``n_batches`` contiguous batches; each batch gets
its own MSD curve and slope fit, and the standard errors are the standard deviation of
the batch values over ``sqrt(n_batches)`` (``tau`` errors by the delta method). The
time-averaged MSD reduces the error of the slope about 1.7 times against a single
origin at the same cost (for a free Gaussian walk with lags up to a quarter of the walk
and the fit over the upper half: per-walker relative spread of one diagonal ``D`` about
1.5 against 2.6 for the single-origin slope over the second half of the walk). Measured
relative standard errors of one diagonal ``tau``: 1.0 % (free space, 10 000 walkers),
0.9-1.3 % (random pore space of porosity 0.5, 8 000 walkers x 32 000 steps).

**Random numbers and determinism.** Each walker has its own counter-based stream
(SplitMix64, Steele, Lea & Flood 2014: a 64-bit Weyl counter pushed through a
bijective mixer) whose start is a hash of ``(seed, walker index)``; one 64-bit draw
serves two steps, the start voxel is drawn from the same stream by rejection. The
walkers' displacements are integers (lattice units), and the batch sums of
``dx_i dx_j`` (over walkers and origins) are accumulated in int64, i.e. exactly, so the
result is bit-identical for any number of numba threads (``numba.set_num_threads``) and
any chunking.

Cost: the work is ``n_walkers * n_steps`` steps, independent of the image size except
through the cache: measured CPU time per step (one thread, AMD EPYC shared with other
jobs) about 4.5 ns on a 32^3 image and 7 ns on a 128^3 image (the padded mask no longer
fits in the L2 cache). Each walker is advanced through all its steps before the next
one starts, which keeps its neighbourhood in cache. The defaults (20 000 walkers x
40 000 steps) took 8.0 s wall with two threads and 10.8 s with one on a 128^3 image on
that loaded machine. Interleaving four walkers per thread (to overlap their memory
latencies) gave no measurable gain and was dropped. Memory: the ``cc3d`` labels
(``4 n`` bytes for uint32) transiently, then a padded uint8 mask of ``W`` during the walk.

References
----------
* P. G. de Gennes, "La percolation: un concept unificateur", La Recherche 7, 919 (1976)
  - the ant in the labyrinth.
* S. J. Cooper et al., "TauFactor", SoftwareX 5, 203 (2016) - the tortuosity factor
  ``tau = eps D_bulk / D_eff``.
* G. L. Steele, D. Lea, C. H. Flood, "Fast splittable pseudorandom number generators",
  OOPSLA 2014 - SplitMix64.
"""

from __future__ import annotations

import math
import time

import cc3d
import numba
import numpy as np
from numba import njit, prange

__all__ = ["random_walk_tortuosity", "walker_start_set"]

_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_WALKER_KEY = np.uint64(0xD1B54A32D192ED03)
_U30 = np.uint64(30)
_U27 = np.uint64(27)
_U31 = np.uint64(31)
_U32 = np.uint64(32)
_U11 = np.uint64(11)
_LOW32 = np.uint64(0xFFFFFFFF)
_CHUNK = 256  # walkers per parallel work item
# (z, y, x) index pairs of the six stored second moments: zz, yy, xx, zy, zx, yx
_PAIRS = ((0, 0), (1, 1), (2, 2), (0, 1), (0, 2), (1, 2))
from ._checks import as_mask_3d


# --------------------------------------------------------------------------------------
# Argument checks
# --------------------------------------------------------------------------------------
def _check_voxel_size(voxel_size_um) -> tuple[float, float, float]:
    h = np.broadcast_to(np.asarray(voxel_size_um, dtype=np.float64), (3,))
    if not np.all(np.isfinite(h)) or np.any(h <= 0):
        raise ValueError(f"voxel_size_um must be positive and finite, got {voxel_size_um!r}")
    return float(h[0]), float(h[1]), float(h[2])


def _check_mask(pore_mask) -> np.ndarray:
    return as_mask_3d(pore_mask, "pore_mask")


def _check_int(value, name: str, minimum: int) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if int(value) < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


# --------------------------------------------------------------------------------------
# Which pore voxels the walkers start in
# --------------------------------------------------------------------------------------
def _periodic_roots(labels: np.ndarray, n: int):
    """Union-find over the 6-connected pieces of the box across periodic faces.

    Returns ``(root, wound)``: the periodic cluster (root piece) of every piece ``0..n``
    and, per root, whether the cluster winds around the torus (is infinite in the
    periodic tiling). Each piece carries the integer image offset of its copy relative
    to its root's copy; a face connection between two pieces already in one cluster
    whose offsets disagree closes a non-contractible loop.
    """
    parent = np.arange(n + 1)
    offset = np.zeros((n + 1, 3), np.int64)
    wound = np.zeros(n + 1, bool)

    def find(a):
        off = np.zeros(3, np.int64)
        path = []
        while parent[a] != a:
            path.append(a)
            a = parent[a]
        # path compression, offsets re-expressed relative to the root
        acc = np.zeros(3, np.int64)
        for p in reversed(path):
            acc = acc + offset[p]
            offset[p] = acc
            parent[p] = a
        if path:
            off = offset[path[0]].copy()
        return a, off

    for d in range(3):
        last = np.take(labels, -1, axis=d).reshape(-1)
        first = np.take(labels, 0, axis=d).reshape(-1)
        keep = (last > 0) & (first > 0)
        if not keep.any():
            continue
        pairs = np.unique(np.stack([last[keep], first[keep]], axis=1).astype(np.int64), axis=0)
        e = np.zeros(3, np.int64)
        e[d] = 1
        for a, b in pairs:
            # the copy of piece b next to piece a's copy sits one period further along d
            ra, oa = find(int(a))
            rb, ob = find(int(b))
            want = oa + e  # offset of b's copy relative to ra's copy
            if ra == rb:
                if np.any(want != ob):
                    wound[ra] = True
            else:
                parent[rb] = ra
                offset[rb] = want - ob
                wound[ra] = wound[ra] or wound[rb]
    root = np.array([find(i)[0] for i in range(n + 1)], np.int64)
    wound_root = np.zeros(n + 1, bool)
    wound_root[root[wound]] = True  # a wound flag may sit on a piece that was re-rooted
    return root, wound_root


def walker_start_set(pore_mask: np.ndarray, boundary: str = "mirror", start_in: str = "spanning"):
    """The pore voxels the walkers start in (whole 6-connected clusters).

    Parameters
    ----------
    pore_mask : ndarray of bool, (z, y, x)
        True in the pore phase.
    boundary : {"mirror", "periodic"}
        Continuation of the image at its faces (see the module notes).
    start_in : {"spanning", "largest", "all"}
        ``"spanning"``: the clusters that are infinite in the continued medium (mirror:
        touching both faces normal to at least one axis; periodic: winding around the
        torus). ``"largest"``: the largest such cluster. ``"all"``: every pore voxel.

    Returns
    -------
    dict
        ``mask`` : ndarray of bool, (z, y, x), the start set ``W``.
        ``n_clusters`` : int, number of pore clusters (6-connected; periodic: across
        the faces too). ``n_spanning`` : int, how many are infinite.
        ``spanning_axes`` : (3,) bool, mirror mode: whether some cluster spans each
        axis ``(z, y, x)``; periodic mode: whether some cluster winds at all (same value
        thrice).
        ``spanning_fraction`` : float, volume fraction (of the image) of the infinite
        clusters.
    """
    mask = _check_mask(pore_mask)
    if boundary not in ("mirror", "periodic"):
        raise ValueError(f"boundary must be 'mirror' or 'periodic', got {boundary!r}")
    if start_in not in ("spanning", "largest", "all"):
        raise ValueError(f"start_in must be 'spanning', 'largest' or 'all', got {start_in!r}")
    labels, n = cc3d.connected_components(mask, connectivity=6, return_N=True)
    counts = np.bincount(labels.reshape(-1), minlength=n + 1).astype(np.int64)
    if boundary == "mirror":
        span = np.zeros(n + 1, bool)
        axes = np.zeros(3, bool)
        for d in range(3):
            first = np.zeros(n + 1, bool)
            last = np.zeros(n + 1, bool)
            first[np.unique(np.take(labels, 0, axis=d))] = True
            last[np.unique(np.take(labels, -1, axis=d))] = True
            both = first & last
            both[0] = False
            axes[d] = bool(both.any())
            span |= both
        root = np.arange(n + 1)
        n_clusters = int(n)
    else:
        root, wound = _periodic_roots(labels, int(n))
        span = wound[root]
        span[0] = False
        roots = np.unique(root[1:]) if n else np.zeros(0, np.int64)
        n_clusters = int(roots.size)
        axes = np.full(3, bool(span.any()))
    # cluster volumes (by root) and the selection
    cluster_size = np.bincount(root, weights=counts, minlength=n + 1)
    cluster_size[0] = 0
    spanning_roots = np.unique(root[span])
    n_spanning = int(spanning_roots.size)
    if start_in == "all":
        take = np.ones(n + 1, bool)
    elif start_in == "spanning":
        take = span.copy()
    else:
        take = np.zeros(n + 1, bool)
        if n_spanning:
            best = spanning_roots[np.argmax(cluster_size[spanning_roots])]
            take = root == best
    take[0] = False
    return {
        "mask": take[labels],
        "n_clusters": n_clusters,
        "n_spanning": n_spanning,
        "spanning_axes": axes,
        "spanning_fraction": float(counts[span].sum()) / mask.size,
    }


# --------------------------------------------------------------------------------------
# The walk (numba)
# --------------------------------------------------------------------------------------
@njit(cache=True, inline="always")
def _mix(z):  # pragma: no cover - numba
    z = (z ^ (z >> _U30)) * _M1
    z = (z ^ (z >> _U27)) * _M2
    return z ^ (z >> _U31)


@njit(parallel=True, cache=True)
def _walk(
    padded, seed, chunk_lo, chunk_hi, n_steps, sample_steps, n_lags, axis_thr, periodic, out
):  # pragma: no cover - numba
    """Advance every walker through all its steps; per-chunk int64 sums of dx_i dx_j.

    padded : uint8 (nz + 2, ny + 2, nx + 2), 1 on the start set (walkers never leave
        it), 0 elsewhere inside, 2 on the one-voxel frame (a box face is crossed).
    seed : uint64, already mixed.
    chunk_lo, chunk_hi : int64 walker index ranges of the work items.
    sample_steps : int64 (n_samples + 1,), 0 then increasing step counts, equally spaced.
    n_lags : time-averaged moments are accumulated for lags 1..n_lags (in samples).
    axis_thr : int64 (2,), cumulative axis probabilities scaled to 2^31.
    out : int64 (n_chunks, n_lags, 6), zeroed: per lag, the sum over walkers and over
        all sample origins of the products of the displacement components.

    Branch-free inner step (the direction is random, so branches on it would be
    mispredicted half of the time): axis ``a`` and sign ``s`` from one 32-bit draw, the
    move is applied as ``open * m`` with ``open`` read from the flat padded mask; the
    frame value 2 is the only (rare, well predicted) branch.
    """
    pz, py, px = padded.shape
    nz, ny, nx = pz - 2, py - 2, px - 2
    flat_pad = padded.reshape(-1)
    n_total = nz * ny * nx
    n_samples = sample_steps.shape[0] - 1
    t0 = axis_thr[0]
    t1 = axis_thr[1]
    for c in prange(chunk_lo.shape[0]):
        size = np.empty(3, np.int64)
        size[0] = nz
        size[1] = ny
        size[2] = nx
        stride = np.empty(3, np.int64)
        stride[0] = py * px
        stride[1] = px
        stride[2] = 1
        sstr = np.empty(3, np.int64)  # stride x current orientation (mirror flips it)
        disp = np.empty(3, np.int64)
        samp = np.zeros((n_samples + 1, 3), np.int64)
        for w in range(chunk_lo[c], chunk_hi[c]):
            state = _mix(seed ^ (np.uint64(w) * _WALKER_KEY))
            # start voxel: uniform on the start set, by rejection
            while True:
                state += _GAMMA
                r = _mix(state)
                f = np.int64((r >> _U11) % np.uint64(n_total))
                flat = ((f // (ny * nx) + 1) * py + (f // nx) % ny + 1) * px + f % nx + 1
                if flat_pad[flat] == 1:
                    break
            for a in range(3):
                sstr[a] = stride[a]
                disp[a] = 0
            k = 1
            nxt = sample_steps[1]
            r = np.uint64(0)
            for step in range(n_steps):
                if (step & 1) == 0:
                    state += _GAMMA
                    r = _mix(state)
                    u = np.int64(r >> _U32)
                else:
                    u = np.int64(r & _LOW32)
                s = 1 - 2 * (u & 1)
                v = u >> 1
                a = np.int64(v >= t0) + np.int64(v >= t1)
                m = s * sstr[a]
                val = np.int64(flat_pad[flat + m])
                if val == 2:
                    if periodic:
                        nb = flat + m - m * size[a]  # periodic: sstr[a] = stride[a]
                        op = np.int64(flat_pad[nb])
                        flat += op * (nb - flat)
                        disp[a] += op * s
                    else:
                        # the mirror image of the same voxel: always open
                        sstr[a] = -sstr[a]
                        disp[a] += s
                else:
                    flat += val * m
                    disp[a] += val * s
                if step + 1 == nxt:
                    samp[k, 0] = disp[0]
                    samp[k, 1] = disp[1]
                    samp[k, 2] = disp[2]
                    k += 1
                    if k <= n_samples:
                        nxt = sample_steps[k]
            # time-averaged second moments over all origins, exact in int64
            for lag in range(1, n_lags + 1):
                s0 = np.int64(0)
                s1 = np.int64(0)
                s2 = np.int64(0)
                s3 = np.int64(0)
                s4 = np.int64(0)
                s5 = np.int64(0)
                for i in range(n_samples + 1 - lag):
                    ez = samp[i + lag, 0] - samp[i, 0]
                    ey = samp[i + lag, 1] - samp[i, 1]
                    ex = samp[i + lag, 2] - samp[i, 2]
                    s0 += ez * ez
                    s1 += ey * ey
                    s2 += ex * ex
                    s3 += ez * ey
                    s4 += ez * ex
                    s5 += ey * ex
                out[c, lag - 1, 0] += s0
                out[c, lag - 1, 1] += s1
                out[c, lag - 1, 2] += s2
                out[c, lag - 1, 3] += s3
                out[c, lag - 1, 4] += s4
                out[c, lag - 1, 5] += s5


# --------------------------------------------------------------------------------------
# Public function
# --------------------------------------------------------------------------------------
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
    """Tortuosity tensor of the pore space from the mean-squared displacement of walkers.

    Lattice "blind ant" walk on the pore voxels (6 face neighbours, hop probability
    along ``d`` proportional to ``1 / h_d^2``, blocked moves count as steps), walkers
    started uniformly on whole spanning pore clusters, the image continued by mirroring
    (default) or periodically at its faces, ``D_ij`` = half the least-squares slope of
    the time-averaged ``<dx_i dx_j>`` against the lag over the later part of the lag
    range, ``tau = D_free / D``. See the module notes for the physics, the relation to
    the finite-volume tortuosity factor and the statistics.

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
    """
    t_start = time.perf_counter()
    mask = _check_mask(pore_mask)
    h = np.array(_check_voxel_size(voxel_size_um))
    n_walkers = _check_int(n_walkers, "n_walkers", 1)
    n_steps = _check_int(n_steps, "n_steps", 1)
    seed = _check_int(seed, "seed", 0)
    n_batches = _check_int(n_batches, "n_batches", 2)
    n_samples = _check_int(n_samples, "n_samples", 8)
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
