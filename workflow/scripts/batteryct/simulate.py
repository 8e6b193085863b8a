"""Virtual scanner: powder and electrode phantoms, parallel-beam projections and detector.

The phantom is voxelised on a grid ``oversample`` times finer than the reconstruction grid
and projected there (:func:`project`); the detector averages *intensities* over
``oversample x oversample`` fine bins, so partial-volume and edge effects are those of a
real detector. None of this shares code with the reconstructor. :func:`simulate_scan`
runs the whole scanner.

Phase codes (uint8) of the ground truth, matching :mod:`batteryct.segment`:
0 = air / open pore, 1 = active material, 2 = internal closed void, 3 = carbon-binder,
4 = support (Kapton-like film under a powder; counts as background when scoring).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numba import njit, prange
from scipy import ndimage

AIR, ACTIVE, VOID, BINDER, SUPPORT = 0, 1, 2, 3, 4
N_PHASES = 5


@dataclass
class Phantom:
    """A voxelised phantom on the fine grid.

    Attributes
    ----------
    phase : ndarray, uint8, (z, y, x)
        Phase code per fine voxel.
    particle_id : ndarray, int32, (z, y, x)
        Particle index + 1 for active and void voxels of a particle, else 0.
    voxel_size_um : float
        Fine voxel size in micrometres.
    particles : DataFrame
        One row per particle (nominal geometry, fine-grid measured volumes).
    """

    phase: np.ndarray
    particle_id: np.ndarray
    voxel_size_um: float
    particles: pd.DataFrame


def lognormal_diameters_um(rng, n, median_um, sigma_ln, d_min_um, d_max_um):
    """Draw ``n`` diameters from a lognormal truncated to ``[d_min_um, d_max_um]``.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of the draws.
    n : int
        Number of diameters.
    median_um : float
        Median of the untruncated lognormal, um.
    sigma_ln : float
        Standard deviation of ln d (dimensionless).
    d_min_um, d_max_um : float
        Truncation limits, um.

    Returns
    -------
    ndarray, float64, (n,)
        Diameters in um, in the order drawn.
    """
    out = np.empty(0)
    while out.size < n:
        d = median_um * np.exp(sigma_ln * rng.standard_normal(2 * n))
        out = np.concatenate([out, d[(d >= d_min_um) & (d <= d_max_um)]])
    return out[:n]


def _random_unit_vectors(rng, n):
    v = rng.standard_normal((n, 3))
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _box(center, extent, shape):
    lo = np.maximum(np.floor(center - extent).astype(int), 0)
    hi = np.minimum(np.ceil(center + extent).astype(int) + 1, shape)
    return lo, hi


def _grid(lo, hi, center):
    z, y, x = np.ogrid[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]]
    return z - center[0], y - center[1], x - center[2]


def _rough_particle_mask(dz, dy, dx, radius, bumps, amplitudes, kappa, semi_axes_scale=(1.0, 1.0, 1.0)):
    """Return the mask of a star-shaped particle: radius modulated by von Mises bumps on the unit sphere.

    The relative radius ``1 + sum_i a_i exp(kappa (u . v_i - 1))`` lies between
    ``1 + sum min(a_i, 0)`` and ``1 + sum max(a_i, 0)``, so the bumps are evaluated only on
    the voxels between those two spheres (widened by 1e-9 against rounding); every voxel
    gets the value the full evaluation would give.
    """
    sz, sy, sx = semi_axes_scale
    dz, dy, dx = dz / sz, dy / sy, dx / sx
    r = np.sqrt(dz * dz + dy * dy + dx * dx)
    amplitudes = np.asarray(amplitudes, dtype=np.float64)
    r_in = radius * (1.0 + np.minimum(amplitudes, 0.0).sum()) * (1.0 - 1e-9)
    r_out = radius * (1.0 + np.maximum(amplitudes, 0.0).sum()) * (1.0 + 1e-9)
    mask = r <= r_in
    shell = (r > r_in) & (r <= r_out)
    r_shell = r[shell]
    rsafe = np.where(r_shell > 0, r_shell, 1.0)
    shape = r.shape
    uz = np.broadcast_to(dz, shape)[shell] / rsafe
    uy = np.broadcast_to(dy, shape)[shell] / rsafe
    ux = np.broadcast_to(dx, shape)[shell] / rsafe
    rel = np.ones(r_shell.shape)
    for (vz, vy, vx), a in zip(bumps, amplitudes):
        rel += a * np.exp(kappa * (uz * vz + uy * vy + ux * vx - 1.0))
    mask[shell] = r_shell <= radius * rel
    return mask


def _stamp_particle(
    phase, pid, index, center, radius, rng, roughness, n_bumps, kappa, void_fraction, semi_axes_scale=(1.0, 1.0, 1.0)
):
    """Voxelise one particle (and its internal void) into the fine grid, in place."""
    extent = radius * (1.0 + 3.0 * roughness) * np.max(semi_axes_scale) + 2
    lo, hi = _box(np.asarray(center), extent, phase.shape)
    if np.any(hi <= lo):
        return 0, 0, None
    dz, dy, dx = _grid(lo, hi, center)
    bumps = _random_unit_vectors(rng, n_bumps)
    amplitudes = roughness * rng.uniform(-1.0, 1.0, n_bumps)
    solid = _rough_particle_mask(dz, dy, dx, radius, bumps, amplitudes, kappa, semi_axes_scale)
    void = np.zeros_like(solid)
    if void_fraction > 0:
        # Irregular void: two overlapping spheres, total ~void_fraction of the particle.
        rv = radius * (void_fraction / 1.6) ** (1.0 / 3.0)
        offset = _random_unit_vectors(rng, 1)[0] * rng.uniform(0.0, 0.25) * radius
        axis = _random_unit_vectors(rng, 1)[0] * 0.8 * rv
        for c in (offset + axis / 2, offset - axis / 2):
            void |= (dz - c[0]) ** 2 + (dy - c[1]) ** 2 + (dx - c[2]) ** 2 <= rv * rv
        void &= solid
    sl = tuple(slice(a, b) for a, b in zip(lo, hi))
    region_phase = phase[sl]
    region_pid = pid[sl]
    free = region_pid == 0  # earlier particles keep voxels they already own
    region_phase[solid & free & ~void] = ACTIVE
    region_phase[void & free] = VOID
    region_pid[(solid | void) & free] = index + 1
    return int(np.count_nonzero(solid & free & ~void)), int(np.count_nonzero(void & free)), sl


def _settle_positions(rng, radii, fov_radius, floor_z, z_max, n_tries=24):
    """Drop spheres one by one onto a floor, each at the lowest of ``n_tries`` random spots.

    Returns the centres ``(k, 3)`` (z, y, x relative to the axis) and the indices of the
    ``k`` spheres that fitted below ``z_max``; the others are skipped.
    """
    centers, kept = [], []
    for i, r in enumerate(radii):
        if r >= fov_radius:
            continue
        best = None
        placed = np.asarray(centers).reshape(-1, 3)
        placed_r = radii[kept]
        for _ in range(n_tries):
            rho = (fov_radius - r) * np.sqrt(rng.uniform())
            phi = rng.uniform(0, 2 * np.pi)
            y, x = rho * np.sin(phi), rho * np.cos(phi)
            z = floor_z + r
            if len(placed):
                d2 = (placed[:, 1] - y) ** 2 + (placed[:, 2] - x) ** 2
                reach = (placed_r + r) ** 2
                hit = d2 < reach
                if np.any(hit):
                    z = max(z, float(np.max(placed[hit, 0] + np.sqrt(reach[hit] - d2[hit]))))
            if best is None or z < best[0]:
                best = (z, y, x)
        if best[0] <= z_max:
            centers.append(best)
            kept.append(i)
    return np.asarray(centers).reshape(-1, 3), np.asarray(kept, dtype=int)


def powder_phantom(
    seed: int,
    n_voxels: int = 128,
    voxel_size_um: float = 0.512,
    oversample: int = 2,
    n_particles: int = 100,
    median_diameter_um: float = 8.0,
    sigma_ln: float = 0.35,
    diameter_range_um: tuple[float, float] = (5.0, 30.0),
    roughness: float = 0.05,
    void_particle_fraction: float = 0.0,
    void_volume_fraction: float = 0.04,
    support_thickness_um: float = 2.0,
    fov_fill: float = 0.92,
) -> Phantom:
    """Rough secondary particles settled as a near-monolayer on a thin support film.

    Parameters
    ----------
    seed : int
        Seed of every random choice.
    n_voxels : int
        Edge of the reconstruction grid (the phantom grid is ``oversample`` times finer).
    voxel_size_um : float
        Reconstruction voxel size in micrometres.
    oversample : int
        Fine voxels per reconstruction voxel along each axis.
    n_particles : int
        Particles to drop; fewer are kept if the stack reaches the top of the volume.
    median_diameter_um, sigma_ln, diameter_range_um
        Truncated lognormal size distribution of equivalent diameters.
    roughness : float
        Relative amplitude of the surface bumps (0 gives spheres).
    void_particle_fraction : float
        Fraction of particles holding one internal closed void.
    void_volume_fraction : float
        Void volume as a fraction of its host particle's volume.
    support_thickness_um : float
        Thickness of the low-attenuation support disk at the bottom.
    fov_fill : float
        Particles and support stay within this fraction of the field-of-view radius.

    Returns
    -------
    Phantom
        On the fine grid (voxel size ``voxel_size_um / oversample``).
    """
    rng = np.random.default_rng(seed)
    n = n_voxels * oversample
    a_um = voxel_size_um / oversample
    shape = (n, n, n)
    phase = np.zeros(shape, np.uint8)
    pid = np.zeros(shape, np.int32)
    centre = (n - 1) / 2.0
    fov_r = fov_fill * centre

    # Support disk of a few voxels at the bottom of the volume.
    t_sup = max(1, int(round(support_thickness_um / a_um)))
    z0 = 2 * oversample
    yy, xx = np.ogrid[:n, :n]
    disk = (yy - centre) ** 2 + (xx - centre) ** 2 <= fov_r**2
    phase[z0 : z0 + t_sup][:, disk] = SUPPORT

    d_um = lognormal_diameters_um(rng, n_particles, median_diameter_um, sigma_ln, *diameter_range_um)
    d_um = np.sort(d_um)[::-1]  # big ones first settle at the bottom, as after tapping
    radii = d_um / 2 / a_um
    centers, kept = _settle_positions(rng, radii, fov_r, z0 + t_sup, n - 1 - 0.2 * radii.min())
    radii = radii[kept]
    has_void = rng.uniform(size=len(centers)) < void_particle_fraction
    rows = []
    for i, (c_rel, r) in enumerate(zip(centers, radii)):
        c = np.array([c_rel[0], c_rel[1] + centre, c_rel[2] + centre])
        vf = (
            float(np.clip(rng.normal(void_volume_fraction, 0.25 * void_volume_fraction), 0.01, 0.1))
            if has_void[i]
            else 0.0
        )
        n_solid, n_void, _ = _stamp_particle(phase, pid, i, c, r, rng, roughness, 40, 25.0, vf)
        rows.append((i + 1, c, r, n_solid, n_void))
    return Phantom(phase, pid, a_um, _particle_table(rows, pid, a_um))


def electrode_phantom(
    seed: int,
    n_voxels: int = 128,
    voxel_size_um: float = 0.512,
    oversample: int = 2,
    porosity: float = 0.40,
    binder_fraction: float = 0.10,
    median_diameter_um: float = 8.0,
    sigma_ln: float = 0.3,
    diameter_range_um: tuple[float, float] = (4.0, 20.0),
    calendering_strain: float = 0.0,
    roughness: float = 0.03,
    pillar_fill: float = 0.9,
    binder_morphology: str = "bridge",
    binder_smoothing_voxels: float = 1.5,
    aspect_sigma: float = 0.0,
) -> Phantom:
    """Build a cylindrical electrode pillar: packed active particles, carbon-binder and pores.

    Particles are oblate spheroids flattened along ``z`` (through-plane) by
    ``calendering_strain`` (volume kept), placed by random sequential addition with a
    tolerated overlap until the active fraction reaches ``1 - porosity - binder_fraction``
    inside the pillar. Carbon-binder fills the pore voxels closest to particle necks (where
    a smoothed active indicator is highest) up to ``binder_fraction`` (a "bridge" binder).

    Parameters
    ----------
    seed : int
        Seed of every random choice.
    n_voxels : int
        Edge of the reconstruction grid (the phantom grid is ``oversample`` times finer).
    voxel_size_um : float
        Reconstruction voxel size in micrometres.
    oversample : int
        Fine voxels per reconstruction voxel along each axis.
    porosity : float
        Target pore fraction inside the pillar.
    binder_fraction : float
        Carbon-binder fraction inside the pillar.
    median_diameter_um, sigma_ln, diameter_range_um
        Truncated lognormal size distribution of equivalent diameters (um, dimensionless, um).
    calendering_strain : float
        Through-plane compression of the particles (0 = spheres, volume kept).
    roughness : float
        Relative amplitude of the surface bumps.
    pillar_fill : float
        Pillar radius as a fraction of the field-of-view radius.
    binder_morphology : {"bridge", "film"}
        ``"bridge"``: binder fills the pore voxels where a smoothed active indicator
        (Gaussian sigma ``binder_smoothing_voxels`` reconstruction voxels) is highest, i.e.
        the necks and crevices between particles; a small smoothing gives thin necks that
        blur into the active phase. ``"film"``: a coating of the particle surfaces, in
        patches (half the surface), thick enough to reach ``binder_fraction``.
    binder_smoothing_voxels : float
        Smoothing of the bridge binder, in reconstruction voxels.
    aspect_sigma : float
        Log-normal spread of each particle's three semi-axes (volume kept; 0 = the
        calendering shape for every particle).

    Returns
    -------
    Phantom
        On the fine grid (voxel size ``voxel_size_um / oversample``).
    """
    if binder_morphology not in ("bridge", "film"):
        raise ValueError(f"binder_morphology must be 'bridge' or 'film', got {binder_morphology!r}")
    rng = np.random.default_rng(seed)
    # the shape spread draws from its own stream so the default phantoms stay as they were
    shape_rng = np.random.default_rng([seed, 7])
    n = n_voxels * oversample
    a_um = voxel_size_um / oversample
    shape = (n, n, n)
    phase = np.zeros(shape, np.uint8)
    pid = np.zeros(shape, np.int32)
    centre = (n - 1) / 2.0
    pillar_r = pillar_fill * centre
    yy, xx = np.ogrid[:n, :n]
    disk = (yy - centre) ** 2 + (xx - centre) ** 2 <= pillar_r**2
    pillar = np.broadcast_to(disk, shape)
    pillar_voxels = int(np.count_nonzero(disk)) * n
    target_active = 1.0 - porosity - binder_fraction
    scale = (
        (1 - calendering_strain) ** (2.0 / 3.0),
        (1 - calendering_strain) ** (-1.0 / 3.0),
        (1 - calendering_strain) ** (-1.0 / 3.0),
    )
    rows = []
    # centres and bounding radii of the placed particles, as arrays so that one candidate
    # is tested against all of them at once (the test is the per-pair one, term by term)
    placed_centres = np.empty((0, 3))
    placed_radii = np.empty(0)
    n_active = 0
    i = 0
    failures = 0
    while n_active < target_active * pillar_voxels and failures < 20000:
        r = lognormal_diameters_um(rng, 1, median_diameter_um, sigma_ln, *diameter_range_um)[0] / 2 / a_um
        rho = pillar_r * np.sqrt(rng.uniform())
        phi = rng.uniform(0, 2 * np.pi)
        c = np.array([rng.uniform(-0.3 * r, n - 1 + 0.3 * r), centre + rho * np.sin(phi), centre + rho * np.cos(phi)])
        # Tolerated overlap grows with the fill so dense (calendered) targets are reachable.
        tol = 0.15 + 0.35 * n_active / (target_active * pillar_voxels)
        d = placed_centres - c
        distance2 = d[:, 0] ** 2 + d[:, 1] ** 2 + d[:, 2] ** 2
        if np.any(distance2 < ((placed_radii + r * max(scale)) * (1 - tol)) ** 2):
            failures += 1
            continue
        axes = scale
        if aspect_sigma > 0:
            g = np.exp(shape_rng.normal(0.0, aspect_sigma, 3))
            axes = tuple(np.asarray(scale) * g / np.prod(g) ** (1.0 / 3.0))
        n_solid, _, sl = _stamp_particle(phase, pid, i, c, r, rng, roughness, 30, 25.0, 0.0, axes)
        placed_centres = np.vstack([placed_centres, c])
        placed_radii = np.append(placed_radii, r * max(axes))
        rows.append((i + 1, c, r, n_solid, 0))
        if sl is not None:
            # Only what lies inside the pillar counts: the wall cuts particles, as milling does.
            n_active += int(np.count_nonzero((pid[sl] == i + 1) & disk[sl[1:]]))
        i += 1
    outside = ~pillar
    phase[outside & (phase == ACTIVE)] = AIR
    pid[outside] = 0
    candidates = (phase == AIR) & pillar
    n_binder = int(round(binder_fraction * pillar_voxels))
    if binder_morphology == "bridge":
        # binder in the necks between particles
        smooth = ndimage.gaussian_filter(
            (phase == ACTIVE).astype(np.float32), sigma=binder_smoothing_voxels * oversample
        )
        values = smooth[candidates]
    else:
        # patchy film: closeness to the active surface, on half of it (a smooth random field)
        distance = ndimage.distance_transform_edt(phase != ACTIVE)
        patches = ndimage.gaussian_filter(shape_rng.standard_normal(shape).astype(np.float32), 3.0 * oversample)
        smooth = np.where(patches > np.median(patches[candidates]), -distance, -np.inf).astype(np.float32)
        values = smooth[candidates]
    if n_binder > 0 and values.size > n_binder:
        level = np.partition(values, values.size - n_binder)[values.size - n_binder]
        phase[candidates & (smooth >= level)] = BINDER
    table = _particle_table(rows, pid, a_um)
    return Phantom(phase, pid, a_um, table)


def _particle_table(rows, pid, a_um) -> pd.DataFrame:
    n = pid.shape
    counts = np.bincount(pid.ravel(), minlength=len(rows) + 1)
    border = np.zeros(len(rows) + 1, bool)
    for face in (pid[0], pid[-1], pid[:, 0], pid[:, -1], pid[:, :, 0], pid[:, :, -1]):
        border[np.unique(face)] = True
    records = []
    for pid_i, c, r, n_solid, n_void in rows:
        records.append(
            {
                "particle_id": pid_i,
                "z_um": c[0] * a_um,
                "y_um": c[1] * a_um,
                "x_um": c[2] * a_um,
                "nominal_diameter_um": 2 * r * a_um,
                "volume_um3": n_solid * a_um**3,
                "void_volume_um3": n_void * a_um**3,
                "has_void": n_void > 0,
                "touches_border": bool(border[pid_i]),
                "n_fine_voxels": int(counts[pid_i]) if pid_i < len(counts) else 0,
            }
        )
    table = pd.DataFrame.from_records(records)
    if len(table):
        v = table["volume_um3"] + table["void_volume_um3"]
        table["equivalent_diameter_um"] = (6 * v / np.pi) ** (1 / 3)
    del n
    return table


ATTENUATION_PER_UM = {ACTIVE: 0.047, VOID: 0.0, BINDER: 0.0094, SUPPORT: 0.004, AIR: 0.0}


def attenuation_volume(phase: np.ndarray, attenuation_per_um: dict | None = None) -> np.ndarray:
    """Map phase codes to linear attenuation.

    Parameters
    ----------
    phase : ndarray, uint8
        Phase codes (module docstring).
    attenuation_per_um : dict, optional
        Phase code -> attenuation in 1/um, overriding :data:`ATTENUATION_PER_UM`.

    Returns
    -------
    ndarray, float32, same shape
        Linear attenuation coefficient in 1/um.
    """
    table = dict(ATTENUATION_PER_UM)
    table.update(attenuation_per_um or {})
    lut = np.zeros(256, np.float32)
    for code, mu in table.items():
        lut[int(code)] = mu
    return lut[phase]


# Parallel compilation only: compiled serially it ran about 15 % slower on one thread.
@njit(parallel=True, cache=True)
def _project_fine(mu, cos_t, sin_t, center_fine, voxel_um):
    """Project each fine slice, pixel-driven; parallel over slices (deterministic).

    A slice's non-zero voxels are listed once, in raster order, and splatted at every
    angle: pores and the air around the pillar are skipped without being read again,
    and each detector bin adds the same terms in the same order as a raster scan.
    """
    nz, ny, nx = mu.shape
    n_ang = cos_t.size
    n_det = nx
    out = np.zeros((n_ang, nz, n_det), np.float64)
    cy = (ny - 1) / 2.0
    cx = (nx - 1) / 2.0
    for z in prange(nz):
        ys = np.empty(ny * nx, np.float64)
        xs = np.empty(ny * nx, np.float64)
        vs = np.empty(ny * nx, np.float64)
        n = 0
        for iy in range(ny):
            for ix in range(nx):
                v = mu[z, iy, ix]
                if v != 0.0:
                    ys[n] = iy - cy
                    xs[n] = ix - cx
                    vs[n] = np.float64(v) * voxel_um
                    n += 1
        for a in range(n_ang):
            c = cos_t[a]
            s = sin_t[a]
            row = out[a, z]
            for i in range(n):
                u = xs[i] * c + (ys[i] * s + center_fine)
                k = int(np.floor(u))
                w = u - k
                v = vs[i]
                if 0 <= k < n_det:
                    row[k] += v * (1.0 - w)
                if 0 <= k + 1 < n_det:
                    row[k + 1] += v * w
    return out


def project(
    mu_fine: np.ndarray, theta_rad: np.ndarray, center_px: float, oversample: int, fine_voxel_um: float
) -> np.ndarray:
    """Compute line integrals of a fine attenuation volume on the fine detector.

    Each fine voxel splats its attenuation onto two fine detector bins. The geometry is
    the one of :mod:`batteryct`: a fine voxel at in-slice position ``(x, y)`` (fine pixels
    from the grid centre) projects onto fine detector coordinate
    ``x cos(theta) + y sin(theta) + center_fine`` with
    ``center_fine = oversample * center_px + (oversample - 1) / 2``.

    Parameters
    ----------
    mu_fine : ndarray, (z, y, x)
        Attenuation on the fine grid, 1/um.
    theta_rad : ndarray, (n_angles,)
        Projection angles in radians.
    center_px : float
        Rotation axis column on the (coarse) detector, pixels.
    oversample : int
        Fine voxels per detector pixel.
    fine_voxel_um : float
        Fine voxel size, um.

    Returns
    -------
    ndarray, float64, (n_angles, n_fine_rows, n_fine_columns)
        Line integrals (dimensionless).
    """
    center_fine = oversample * center_px + (oversample - 1) / 2.0
    return _project_fine(
        np.ascontiguousarray(mu_fine, dtype=np.float32),
        np.cos(theta_rad),
        np.sin(theta_rad),
        float(center_fine),
        float(fine_voxel_um),
    )


def detector_intensity(line_integrals_fine: np.ndarray, oversample: int, blur_sigma_px: float = 0.0) -> np.ndarray:
    """Average the transmitted intensity over each detector pixel's ``oversample²`` fine bins.

    Parameters
    ----------
    line_integrals_fine : ndarray, (n_angles, n_fine_rows, n_fine_columns)
        Line integrals on the fine detector.
    oversample : int
        Fine bins per detector pixel along each axis.
    blur_sigma_px : float, optional
        Gaussian point-spread function of the detector (scintillator and optics), sigma in
        detector pixels, applied to the intensity before the pixels integrate it.

    Returns
    -------
    ndarray, float64, (n_angles, n_rows, n_columns)
        Transmission (0..1).
    """
    t = np.exp(-line_integrals_fine)
    if blur_sigma_px > 0:
        t = ndimage.gaussian_filter(t, (0.0, blur_sigma_px * oversample, blur_sigma_px * oversample), mode="nearest")
    a, r, c = t.shape
    return t.reshape(a, r // oversample, oversample, c // oversample, oversample).mean(axis=(2, 4))


def acquire(
    transmission: np.ndarray,
    rng: np.random.Generator,
    flat_counts: float = 5000.0,
    dark_counts: float = 100.0,
    n_flats: int = 10,
    n_darks: int = 10,
    n_bad_columns: int = 3,
    bad_column_gain_range: tuple[float, float] = (0.03, 0.08),
    zinger_fraction: float = 2e-5,
    beam_drift: float = 0.0,
):
    """Simulate detector counts: Poisson noise, darks, flats, miscalibrated columns, zingers.

    Parameters
    ----------
    transmission : ndarray, (n_angles, n_rows, n_columns)
        Transmitted fraction of the beam per detector pixel.
    rng : numpy.random.Generator
        Source of all noise and defects.
    flat_counts, dark_counts : float
        Mean open-beam and dark counts per pixel.
    n_flats, n_darks : int
        Number of reference frames.
    n_bad_columns : int
        Detector columns whose gain drifted after the flats (rings).
    bad_column_gain_range : (float, float)
        Range of the relative gain error of those columns.
    zinger_fraction : float
        Fraction of projection pixels hit by a zinger.
    beam_drift : float
        Linear drift of the beam intensity over the scan (relative, end to end / 2).

    Returns
    -------
    projections, flats, darks : ndarray, uint16
        Counts.
    defects : dict
        ``bad_columns``, ``column_gain`` and ``n_zingers``.
    """
    n_ang, n_rows, n_cols = transmission.shape
    pixel_gain = rng.normal(1.0, 0.02, (n_rows, n_cols))  # flat-field corrected away
    column_error = np.ones(n_cols)
    bad_cols = (
        np.sort(rng.choice(np.arange(4, n_cols - 4), size=n_bad_columns, replace=False))
        if n_bad_columns
        else np.array([], int)
    )
    for col in bad_cols:
        # Gain that drifted after the flats were taken: not corrected, gives a ring.
        column_error[col] = 1.0 + rng.choice([-1, 1]) * rng.uniform(*bad_column_gain_range)
    drift = 1.0 + beam_drift * np.linspace(-1, 1, n_ang)
    expected = flat_counts * pixel_gain[None] * column_error[None, None, :] * transmission * drift[:, None, None]
    projections = rng.poisson(expected).astype(np.float64) + rng.poisson(dark_counts, transmission.shape)
    flats = rng.poisson(flat_counts * pixel_gain[None], (n_flats, n_rows, n_cols)) + rng.poisson(
        dark_counts, (n_flats, n_rows, n_cols)
    )
    darks = rng.poisson(dark_counts, (n_darks, n_rows, n_cols)).astype(np.float64)
    n_zingers = rng.binomial(projections.size, zinger_fraction)
    zinger_index = rng.choice(projections.size, size=n_zingers, replace=False)
    projections.ravel()[zinger_index] += flat_counts * rng.uniform(0.5, 3.0, n_zingers)
    flat_zinger = rng.choice(flats.size, size=max(1, n_flats), replace=False)
    flats = flats.astype(np.float64)
    flats.ravel()[flat_zinger] += flat_counts * 2.0
    clip = lambda x: np.clip(np.rint(x), 0, 65535).astype(np.uint16)  # noqa: E731
    defects = {
        "bad_columns": bad_cols.tolist(),
        "column_gain": column_error[bad_cols].tolist(),
        "n_zingers": int(n_zingers),
    }
    return clip(projections), clip(flats), clip(darks), defects


def block_mean(volume: np.ndarray, factor: int) -> np.ndarray:
    """Average ``factor³`` blocks (fine grid → reconstruction grid).

    Parameters
    ----------
    volume : ndarray, (z, y, x)
        Fine-grid values (cropped to multiples of ``factor``).
    factor : int
        Block edge in voxels.

    Returns
    -------
    ndarray, float64
        Block means.
    """
    z, y, x = (s // factor for s in volume.shape)
    v = volume[: z * factor, : y * factor, : x * factor].astype(np.float64)
    return v.reshape(z, factor, y, factor, x, factor).mean(axis=(1, 3, 5))


def coarse_phase(phase: np.ndarray, factor: int) -> np.ndarray:
    """Return the majority phase of each ``factor³`` block (ties go to the lower code).

    Parameters
    ----------
    phase : ndarray, uint8, (z, y, x)
        Fine-grid phase codes.
    factor : int
        Block edge in voxels.

    Returns
    -------
    ndarray, uint8
        Phase codes on the coarse grid.
    """
    z, y, x = (s // factor for s in phase.shape)
    blocks = phase[: z * factor, : y * factor, : x * factor].reshape(z, factor, y, factor, x, factor)
    # integer counts: the same argmax (and ties) as the block fractions, without float copies
    counts = np.stack([(blocks == code).sum(axis=(1, 3, 5), dtype=np.int32) for code in range(N_PHASES)])
    return np.argmax(counts, axis=0).astype(np.uint8)


@dataclass
class SimulatedScan:
    """A virtual scan and its ground truth.

    Attributes
    ----------
    projections, flats, darks : ndarray, uint16, (n, n_rows, n_columns)
        Detector counts.
    theta_deg : ndarray, float64, (n_angles,)
        Projection angles in degrees.
    pixel_size_um : float
        Detector pixel (= reconstruction voxel) size, um.
    center_px : float
        True rotation axis column, pixels.
    mu_truth_per_um : ndarray, float32, (z, y, x)
        Attenuation averaged on the reconstruction grid, 1/um.
    phase_truth : ndarray, uint8, (z, y, x)
        Majority phase on the reconstruction grid (module docstring).
    particles : DataFrame
        One row per particle (nominal geometry, fine-grid volumes).
    info : dict
        ``center_px``, the detector defects of :func:`acquire` and ``n_particles``.
    """

    projections: np.ndarray
    flats: np.ndarray
    darks: np.ndarray
    theta_deg: np.ndarray
    pixel_size_um: float
    center_px: float
    mu_truth_per_um: np.ndarray
    phase_truth: np.ndarray
    particles: pd.DataFrame
    info: dict


_SPEC_KEYS = (
    "phantom",
    "seed",
    "n_voxels",
    "voxel_size_um",
    "oversample",
    "n_angles",
    "angle_range_deg",
    "center_offset_px",
    "flat_counts",
    "dark_counts",
    "n_bad_columns",
    "zinger_fraction",
    "attenuation_per_um",
)


def simulate_scan(spec: dict) -> SimulatedScan:
    """Run the virtual scanner for one scan.

    Parameters
    ----------
    spec : dict
        A data description of the scan, as an entry of ``simulate.scans`` merged over
        ``simulate.defaults`` of the workflow config (``config/README.md`` explains every
        key): ``phantom`` ("powder" or "electrode"), ``seed``, ``n_voxels`` (grid edge),
        ``voxel_size_um`` (um), ``oversample``, ``n_angles``, ``angle_range_deg`` ([first,
        last], degrees), ``center_offset_px`` (axis position relative to the detector
        centre, pixels), ``flat_counts``, ``dark_counts``, ``n_bad_columns``,
        ``zinger_fraction``, ``attenuation_per_um`` (phase name -> 1/um) and optionally
        ``blur_sigma_px`` (detector point-spread sigma, pixels; default 0) and
        ``phantom_params`` (keywords of :func:`powder_phantom` or
        :func:`electrode_phantom`; their defaults otherwise).

    Returns
    -------
    SimulatedScan
        Projections, references and ground truth.

    Raises
    ------
    KeyError
        Naming the keys missing from ``spec``.
    ValueError
        If the phantom is unknown.

    Examples
    --------
    >>> spec = dict(phantom="powder", seed=1, n_voxels=16, voxel_size_um=0.5, oversample=1, n_angles=9,
    ...             angle_range_deg=[-90.0, 90.0], center_offset_px=0.3, flat_counts=1000, dark_counts=10,
    ...             n_bad_columns=0, zinger_fraction=0.0, attenuation_per_um={"active": 0.05},
    ...             phantom_params={"n_particles": 3, "median_diameter_um": 3.0, "diameter_range_um": [2.0, 4.0]})
    >>> sim = simulate_scan(spec)
    >>> sim.projections.shape, sim.projections.dtype.name, sim.center_px
    ((9, 16, 16), 'uint16', 7.8)
    """
    missing = [k for k in _SPEC_KEYS if k not in spec]
    if missing:
        raise KeyError(f"virtual-scanner spec lacks {missing}")
    spec = dict(spec)
    seed = int(spec["seed"])
    n = int(spec["n_voxels"])
    os_ = int(spec["oversample"])
    px = float(spec["voxel_size_um"])
    params = dict(spec.get("phantom_params", {}))
    if spec["phantom"] == "powder":
        ph = powder_phantom(seed, n, px, os_, **params)
    elif spec["phantom"] == "electrode":
        ph = electrode_phantom(seed, n, px, os_, **params)
    else:
        raise ValueError(f"unknown phantom {spec['phantom']!r} (powder or electrode)")
    names = {"active": ACTIVE, "void": VOID, "binder": BINDER, "support": SUPPORT}
    mu_table = {names[k]: float(v) for k, v in spec["attenuation_per_um"].items()}
    mu_fine = attenuation_volume(ph.phase, mu_table)
    lo, hi = spec["angle_range_deg"]
    theta_deg = np.linspace(float(lo), float(hi), int(spec["n_angles"]))
    center_px = (n - 1) / 2.0 + float(spec["center_offset_px"])
    p_fine = project(mu_fine, np.deg2rad(theta_deg), center_px, os_, ph.voxel_size_um)
    transmission = detector_intensity(p_fine, os_, float(spec.get("blur_sigma_px", 0.0)))
    rng = np.random.default_rng([seed, 1])
    proj, flats, darks, defects = acquire(
        transmission,
        rng,
        flat_counts=float(spec["flat_counts"]),
        dark_counts=float(spec["dark_counts"]),
        n_bad_columns=int(spec["n_bad_columns"]),
        zinger_fraction=float(spec["zinger_fraction"]),
    )
    mu_truth = block_mean(mu_fine, os_).astype(np.float32)
    phase_truth = coarse_phase(ph.phase, os_)
    info = {"center_px": center_px, **defects, "n_particles": int(len(ph.particles))}
    return SimulatedScan(proj, flats, darks, theta_deg, px, center_px, mu_truth, phase_truth, ph.particles, info)
