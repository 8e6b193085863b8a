"""Noise estimate and edge-preserving denoising of reconstructed volumes (first segmentation step)."""

from __future__ import annotations

import numpy as np

from .._checks import as_volume_3d

__all__ = ["estimate_noise_sigma", "denoise"]


def _central_box(roi: np.ndarray | None, shape: tuple[int, ...], min_inside: float = 0.99) -> tuple[slice, ...]:
    """Centred box (slices) inside which at least ``min_inside`` of the voxels are in the ROI."""
    if roi is None:
        return tuple(slice(0, s) for s in shape)
    if not roi.any():
        raise ValueError("the ROI is empty")
    nz = np.flatnonzero(roi.any(axis=(1, 2)))
    ny = np.flatnonzero(roi.any(axis=(0, 2)))
    nx = np.flatnonzero(roi.any(axis=(0, 1)))
    lo = np.array([nz[0], ny[0], nx[0]], float)
    hi = np.array([nz[-1], ny[-1], nx[-1]], float) + 1
    centre = (lo + hi) / 2
    half = (hi - lo) / 2
    for _ in range(60):
        a = np.floor(centre - half).astype(int)
        b = np.ceil(centre + half).astype(int)
        a = np.maximum(a, 0)
        b = np.minimum(b, shape)
        box = tuple(slice(int(i), int(j)) for i, j in zip(a, b))
        sub = roi[box]
        if sub.size and sub.mean() >= min_inside:
            return box
        half[1:] *= 0.95  # shrink in y, x only (ROIs are cylinders about z)
        if np.all(half[1:] < 4):
            half *= 0.95
    return box


def estimate_noise_sigma(volume: np.ndarray, roi: np.ndarray | None = None, max_slices: int = 128) -> float:
    """Estimate the Gaussian noise sigma of ``volume`` with :func:`skimage.restoration.estimate_sigma`.

    The estimate (wavelet-detail MAD) is computed on the largest centred box inside the
    ROI (at most ``max_slices`` central slices and ``4 * max_slices`` voxels in y and x),
    so that the zeros outside the FOV cylinder do not bias it low.

    Parameters
    ----------
    volume : numpy.ndarray
        Volume ``(z, y, x)``, e.g. attenuation in 1/µm.
    roi : numpy.ndarray of bool, optional
        Region of interest of the same shape (e.g. :func:`~batteryct.segment.fov_cylinder_mask`);
        None: the whole volume.
    max_slices : int, optional
        Largest number of z slices used (voxels).

    Returns
    -------
    float
        Noise standard deviation, in the unit of ``volume``.

    Raises
    ------
    ValueError
        If ``roi`` has another shape than ``volume`` or is empty.
    """
    nz = volume.shape[0]
    if roi is not None:
        if roi.shape != volume.shape:
            raise ValueError(f"roi shape {roi.shape} differs from volume shape {volume.shape}")
        zs = np.flatnonzero(roi.any(axis=(1, 2)))
        if zs.size == 0:
            raise ValueError("the ROI is empty")
        za, zb = int(zs[0]), int(zs[-1]) + 1
    else:
        za, zb = 0, nz
    if zb - za > max_slices:
        za = (za + zb) // 2 - max_slices // 2
        zb = za + max_slices
    vol_c = volume[za:zb]
    box = list(_central_box(None if roi is None else roi[za:zb], vol_c.shape))
    for ax in (1, 2):
        sl, limit = box[ax], 4 * max_slices
        if sl.stop - sl.start > limit:
            mid = (sl.start + sl.stop) // 2
            box[ax] = slice(mid - limit // 2, mid - limit // 2 + limit)
    sub = np.asarray(vol_c[tuple(box)], dtype=np.float32)
    from skimage.restoration import estimate_sigma  # lazily: skimage.restoration loads scipy.stats (1 s)

    return float(estimate_sigma(sub, channel_axis=None))


def denoise(
    volume: np.ndarray,
    method: str = "nlm",
    strength: float = 0.6,
    *,
    sigma: float | None = None,
    roi: np.ndarray | None = None,
    patch_size: int = 5,
    patch_distance: int = 2,
    block_size: int | None = 128,
    tv_max_num_iter: int = 200,
    progress=None,
) -> np.ndarray:
    """Denoise a volume with an edge-preserving filter.

    Parameters
    ----------
    volume : numpy.ndarray
        Volume ``(z, y, x)``, e.g. attenuation in 1/µm.
    method : {"nlm", "tv", "none"}, optional
        ``"nlm"``: :func:`skimage.restoration.denoise_nl_means` in ``fast_mode`` with
        ``h = strength * sigma`` and the noise ``sigma`` passed in (its variance is
        subtracted from patch distances). ``"tv"``: Chambolle total variation with
        ``weight = strength * sigma``. ``"none"``: the input as float32.
    strength : float, optional
        Filter strength in units of the noise sigma (dimensionless).
    sigma : float, optional
        Noise sigma in the unit of ``volume``; estimated with :func:`estimate_noise_sigma`
        (inside ``roi``) if None.
    roi : numpy.ndarray of bool, optional
        Region of interest for the noise estimate.
    patch_size, patch_distance : int, optional
        NLM patch size and search radius (voxels). Fast-mode NLM costs about
        ``(2 * patch_distance + 1) ** 3`` image operations per voxel, independent of
        ``patch_size``; skimage's default search radius (11) is far slower than the
        default 2 here.
    block_size : int or None, optional
        NLM is run on cubic blocks of this side (voxels) with a halo of
        ``patch_distance + patch_size // 2 + 1`` voxels, which bounds memory (skimage's
        fast NLM keeps several float64 copies of its input); the result equals the
        whole-volume filter up to float rounding. None: whole volume at once.
    tv_max_num_iter : int, optional
        Iterations of the TV solver. TV is global and runs on the whole volume at once
        (several float32 copies: mind the memory on large volumes).
    progress : callable, optional
        Called as ``progress(blocks_done, n_blocks)`` after each NLM block (e.g. a
        :class:`batteryct.runlog.Progress`).

    Returns
    -------
    numpy.ndarray of float32
        Denoised volume, same shape and unit (the input itself for ``"none"`` when it is
        float32 already, a copy when the noise sigma is not positive).

    Raises
    ------
    ValueError
        If ``volume`` is not 3-D or ``method`` is unknown.
    """
    vol = as_volume_3d(volume, "volume", dtype=np.float32)
    if method == "none":
        return vol
    if method not in ("nlm", "tv"):
        raise ValueError(f"unknown denoise method {method!r}; use 'nlm', 'tv' or 'none'")
    if sigma is None:
        sigma = estimate_noise_sigma(vol, roi)
    sigma = float(sigma)
    if not np.isfinite(sigma) or sigma <= 0:
        return vol.copy()
    from skimage.restoration import denoise_nl_means, denoise_tv_chambolle  # lazily, as above

    if method == "tv":
        out = denoise_tv_chambolle(vol, weight=strength * sigma, max_num_iter=tv_max_num_iter, channel_axis=None)
        return np.asarray(out, dtype=np.float32)
    kwargs = dict(
        h=strength * sigma,
        sigma=sigma,
        patch_size=int(patch_size),
        patch_distance=int(patch_distance),
        fast_mode=True,
        channel_axis=None,
    )
    shape = np.array(vol.shape)
    if block_size is None or np.all(shape <= block_size):
        out = np.asarray(denoise_nl_means(vol, **kwargs), dtype=np.float32)
        if progress is not None:
            progress(1, 1)
        return out
    halo = int(patch_distance) + int(patch_size) // 2 + 1
    bs = int(block_size)
    out = np.empty_like(vol)
    n_blocks = int(np.prod([-(-int(n) // bs) for n in shape]))
    done = 0
    for z0 in range(0, shape[0], bs):
        for y0 in range(0, shape[1], bs):
            for x0 in range(0, shape[2], bs):
                c0 = np.array([z0, y0, x0])
                c1 = np.minimum(c0 + bs, shape)
                a = np.maximum(c0 - halo, 0)
                b = np.minimum(c1 + halo, shape)
                res = denoise_nl_means(np.ascontiguousarray(vol[a[0] : b[0], a[1] : b[1], a[2] : b[2]]), **kwargs)
                o0, o1 = c0 - a, c1 - a
                out[c0[0] : c1[0], c0[1] : c1[1], c0[2] : c1[2]] = res[o0[0] : o1[0], o0[1] : o1[1], o0[2] : o1[2]]
                done += 1
                if progress is not None:
                    progress(done, n_blocks)
    return out
