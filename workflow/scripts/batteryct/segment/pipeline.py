"""Whole segmentation pipeline: reconstructed volume → labels (and, for electrodes, posteriors)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from .._checks import as_volume_3d
from ..fov import fov_cylinder_mask
from ..label_codes import LABEL_BINDER, LABEL_SOLID
from .cleanup import clean_binary, label_pore_space
from .deblur import DEBLUR_REGULARIZATION, deblur_gaussian, excess_blur_sigma_voxels
from .denoise import denoise, estimate_noise_sigma
from .graphcut import POTTS_WEIGHT, potts_solid_mask
from .levels import estimate_ring_profile, threshold_otsu_roi
from .phase_model import ACTIVE_THRESHOLD_FRACTION, SPILL_SD_FRACTION, PhaseModel, fit_phase_model

#: default iterations of the blur estimate, and the residual sigma (voxels) at which they stop
DEBLUR_MAX_ITERATIONS = 4
DEBLUR_MIN_SIGMA_VOXELS = 0.1

#: optional keywords of :func:`segment_volume` that a campaign's ``segment`` config may set
#: (same names); left out, they take the defaults here
CONFIG_OPTIONS = ("potts_weight", "deblur", "deblur_max_iterations", "spill_sd_fraction", "anisotropic_spill")

__all__ = [
    "CONFIG_OPTIONS",
    "DEBLUR_MAX_ITERATIONS",
    "DEBLUR_MIN_SIGMA_VOXELS",
    "SegmentationResult",
    "MultiphaseResult",
    "segment_volume",
    "segment_multiphase",
]


@dataclass(frozen=True, kw_only=True)
class SegmentationResult:
    """Result of :func:`segment_volume`.

    Attributes
    ----------
    labels : numpy.ndarray of uint8
        Label codes ``(z, y, x)`` of :mod:`batteryct.label_codes` (0 open pore, 1 solid /
        active, 2 internal void, 3 binder).
    info : dict
        Noise estimate, thresholds or class model, label counts, class means, timings and
        the parameters (see :func:`segment_volume`).
    posteriors : numpy.ndarray of float16 or None
        Class posteriors ``(3, z, y, x)`` in the order
        :data:`~batteryct.segment.PHASE_CLASSES` (pore, binder, active); they sum to 1 up
        to float16 rounding, and are (1, 0, 0) outside the ROI. None when not asked for.
    """

    labels: np.ndarray
    info: dict
    posteriors: np.ndarray | None


@dataclass(frozen=True, kw_only=True)
class MultiphaseResult(SegmentationResult):
    """Result of a two-solid-phase segmentation (:func:`segment_multiphase`).

    Attributes
    ----------
    labels, info, posteriors
        As in :class:`SegmentationResult`.
    overridden : numpy.ndarray of bool
        Voxels ``(z, y, x)`` whose hard label is not the posterior median class (the
        class whose cumulative posterior first reaches 1/2): solid specks
        removed and small closed pores filled by :func:`~batteryct.segment.clean_binary`
        (filled pores become binder). Everywhere else ``CLASS_LABELS[median] == labels``
        (pore voxels may be 0 or 2).
    model : PhaseModel
        The fitted class model.
    denoised : numpy.ndarray of float32 or None
        The volume ``(z, y, x)`` the class model classified (denoised, ring offsets
        subtracted), 1/µm; None unless asked for (``return_denoised``).
    """

    overridden: np.ndarray
    model: PhaseModel
    denoised: np.ndarray | None = None


def _prepare(
    vol, denoise_method, denoise_strength, fov_radius_fraction, patch_size, patch_distance, timings, info, progress=None
):
    """ROI, noise sigma and denoised volume (shared by both paths)."""
    t = time.perf_counter()
    roi = None if fov_radius_fraction is None else fov_cylinder_mask(vol.shape, fov_radius_fraction)
    sigma = estimate_noise_sigma(vol, roi)
    info["sigma"] = sigma
    timings["noise_estimate"] = time.perf_counter() - t
    t = time.perf_counter()
    den = denoise(
        vol,
        denoise_method,
        denoise_strength,
        sigma=sigma,
        patch_size=patch_size,
        patch_distance=patch_distance,
        progress=progress,
    )
    timings["denoise"] = time.perf_counter() - t
    return roi, den


def _base_info(
    n_solid_phases,
    denoise_method,
    denoise_strength,
    patch_size,
    patch_distance,
    min_solid_voxels,
    min_pore_voxels,
    fov_radius_fraction,
    seed,
) -> dict:
    return {
        "n_solid_phases": int(n_solid_phases),
        "denoise_method": denoise_method,
        "denoise_strength": float(denoise_strength),
        "patch_size": int(patch_size),
        "patch_distance": int(patch_distance),
        "min_solid_voxels": int(min_solid_voxels),
        "min_pore_voxels": int(min_pore_voxels),
        "fov_radius_fraction": None if fov_radius_fraction is None else float(fov_radius_fraction),
        "seed": int(seed),
    }


def _finish_info(info, labels, den, roi, timings):
    inside = roi if roi is not None else np.ones(labels.shape, dtype=bool)
    lab_in = labels[inside]
    den_in = den[inside]
    counts = np.bincount(lab_in, minlength=4)
    info["label_counts"] = {str(k): int(counts[k]) for k in range(4)}
    sums = np.bincount(lab_in, weights=den_in.astype(np.float64), minlength=4)
    info["class_means"] = {str(k): float(sums[k] / counts[k]) for k in range(4) if counts[k]}
    info["timings_s"] = {k: round(v, 4) for k, v in timings.items()}


def _one_phase(den, roi, info, timings, *, min_solid_voxels, min_pore_voxels, max_samples, seed):
    """Otsu threshold, clean-up and pore-space labels of a powder (one solid phase)."""
    outside = None if roi is None else ~roi
    t = time.perf_counter()
    thr = threshold_otsu_roi(den, roi, max_samples=10 * max_samples, seed=seed)
    info["threshold"] = thr
    solid = den > thr
    if roi is not None:
        solid &= roi
    timings["threshold"] = time.perf_counter() - t

    t = time.perf_counter()
    solid = clean_binary(solid, min_solid_voxels, min_pore_voxels, outside_mask=outside)
    timings["clean"] = time.perf_counter() - t

    t = time.perf_counter()
    labels = label_pore_space(solid, outside_mask=outside)
    timings["label"] = time.perf_counter() - t

    _finish_info(info, labels, den, roi, timings)
    return SegmentationResult(labels=labels, info=info, posteriors=None)


def _two_phases(
    den,
    roi,
    info,
    timings,
    *,
    min_solid_voxels,
    min_pore_voxels,
    max_samples,
    seed,
    partial_volume_correction,
    binder_level,
    active_fraction,
    ring_correction,
    return_posteriors,
    spill_anchors,
    potts_weight,
    return_denoised,
    deblur,
    deblur_max_iterations,
    deblur_regularization,
    spill_sd_fraction,
    anisotropic_spill,
):
    """Class model, posteriors, clean-up and labels of an electrode (pore / binder / active)."""
    outside = None if roi is None else ~roi
    t = time.perf_counter()
    fit = dict(
        max_samples=max_samples,
        seed=seed,
        spill_correction=partial_volume_correction,
        binder_level=binder_level,
        active_fraction=active_fraction,
        spill_anchors=spill_anchors,
        spill_sd_fraction=spill_sd_fraction,
        anisotropic_spill=anisotropic_spill,
    )
    model = fit_phase_model(den, roi, **fit)
    info["deblur_sigma_voxels"] = 0.0
    if deblur:
        # the deficit -> sigma map of a planar step underestimates the blur of curved
        # edges, so the residual excess is removed too until the edges are reference-sharp
        blurred, sigma = den, 0.0
        for _ in range(deblur_max_iterations):
            sigma_residual = excess_blur_sigma_voxels(model.edge_deficit)
            if sigma_residual < DEBLUR_MIN_SIGMA_VOXELS:
                break
            sigma = float(np.hypot(sigma, sigma_residual))
            den = deblur_gaussian(blurred, sigma, deblur_regularization)
            if roi is not None:
                den[outside] = blurred[outside]
            model = fit_phase_model(den, roi, **fit)
        info["deblur_sigma_voxels"] = sigma
    info["ring_offset_max_abs"] = 0.0
    if ring_correction:
        near = ndi.maximum_filter(den, size=5, mode="nearest") > np.float32(model.spill_source_threshold)
        clear = ~near
        if roi is not None:
            clear &= roi
        ring = estimate_ring_profile(den, clear)
        info["ring_offset_max_abs"] = float(np.abs(ring).max())
        den = den - ring[None]
        del near, clear
        model = fit_phase_model(den, roi, **fit)
    n_act = model.active_neighbours(den)
    post = model.posteriors(den, n_act, dtype=np.float32)
    if roi is not None:
        post[0][outside] = 1.0
        post[1][outside] = 0.0
        post[2][outside] = 0.0
    cls = np.argmax(post, axis=0).astype(np.uint8)
    binder_over_active = post[1] >= post[2]
    if return_posteriors or potts_weight > 0:
        # the stored posteriors also carry the uncertainty of the class boundaries
        post = model.posteriors(den, n_act, dtype=np.float32, systematic=True)
        if roi is not None:
            post[0][outside] = 1.0
            post[1][outside] = 0.0
            post[2][outside] = 0.0
    # voxels a context-free rule (no spill term) would call binder but the model keeps as pore
    t_pb0 = np.float32(model.pore_binder_threshold)
    n_pv = int(
        np.count_nonzero(
            (cls == 0)
            & (den > t_pb0)
            & (den <= np.float32(model.binder_active_threshold))
            & (roi if roi is not None else True)
        )
    )
    model_d = model.as_dict()
    info["thresholds"] = [float(v) for v in model_d["thresholds"]]
    info["gmm"] = model_d  # class model (pore, binder, active); name kept for compatibility
    info["n_partial_volume_reassigned"] = n_pv
    timings["threshold"] = time.perf_counter() - t

    solid_argmax = cls > 0
    info["potts_weight"] = float(potts_weight)
    info["n_potts_changed"] = 0
    if potts_weight > 0:
        t = time.perf_counter()
        # pore|solid by the Potts prior on the posteriors that carry the boundary uncertainty;
        # a voxel it makes solid is binder or active by the larger of the two posteriors
        solid_cut = potts_solid_mask(1.0 - post[0], potts_weight, fixed_pore=outside)
        changed = solid_cut != solid_argmax
        info["n_potts_changed"] = int(np.count_nonzero(changed))
        made_solid = changed & solid_cut
        cls[made_solid] = np.where(binder_over_active[made_solid], 1, 2)
        cls[changed & ~solid_cut] = 0
        del solid_cut, changed, made_solid
        timings["potts"] = time.perf_counter() - t
    del binder_over_active
    t = time.perf_counter()
    solid_raw = cls > 0
    solid = clean_binary(solid_raw, min_solid_voxels, min_pore_voxels, outside_mask=outside)
    timings["clean"] = time.perf_counter() - t

    t = time.perf_counter()
    labels = label_pore_space(solid, outside_mask=outside)
    # binder = solid voxels of class binder; filled small pores (class pore made solid)
    # are below the binder|active boundary and become binder as well
    labels[solid & (cls != 2)] = LABEL_BINDER
    labels[solid & (cls == 2)] = LABEL_SOLID
    overridden = solid != solid_argmax
    info["n_argmax_overridden"] = int(np.count_nonzero(overridden))
    timings["label"] = time.perf_counter() - t

    _finish_info(info, labels, den, roi, timings)
    posteriors = post.astype(np.float16) if return_posteriors else None
    return MultiphaseResult(
        labels=labels,
        info=info,
        posteriors=posteriors,
        overridden=overridden,
        model=model,
        denoised=den if return_denoised else None,
    )


def segment_volume(
    volume: np.ndarray,
    *,
    n_solid_phases: int = 1,
    denoise_method: str,
    denoise_strength: float,
    min_solid_voxels: int,
    min_pore_voxels: int,
    fov_radius_fraction: float | None,
    seed: int,
    patch_size: int = 5,
    patch_distance: int = 2,
    max_samples: int = 200_000,
    partial_volume_correction: bool = True,
    binder_level: float | None = None,
    active_fraction: float = ACTIVE_THRESHOLD_FRACTION,
    ring_correction: bool = True,
    return_posteriors: bool = False,
    spill_anchors: tuple[tuple[float, float], ...] | None = None,
    potts_weight: float = POTTS_WEIGHT,
    return_denoised: bool = False,
    deblur: bool = False,
    deblur_max_iterations: int = DEBLUR_MAX_ITERATIONS,
    deblur_regularization: float = DEBLUR_REGULARIZATION,
    spill_sd_fraction: float = SPILL_SD_FRACTION,
    anisotropic_spill: bool = False,
    progress=None,
) -> SegmentationResult:
    """Segment a reconstructed volume into the label codes of :mod:`batteryct.label_codes`.

    Parameters
    ----------
    volume : numpy.ndarray
        Reconstruction ``(z, y, x)``, attenuation in 1/µm (finite values).
    n_solid_phases : {1, 2}, optional
        1: Otsu threshold solid / pore (powders). 2: pore / binder / active (electrodes):
        labels 0/2 for pores, 3 binder, 1 active. Pore connectivity (open / closed) is
        computed on binder + active as one solid.
    denoise_method : {"nlm", "tv", "none"}
        See :func:`~batteryct.segment.denoise`.
    denoise_strength : float
        Filter strength in units of the noise sigma (dimensionless).
    min_solid_voxels, min_pore_voxels : int
        Smallest solid component and smallest closed pore kept, in voxels
        (:func:`~batteryct.segment.clean_binary`).
    fov_radius_fraction : float or None
        ROI = :func:`~batteryct.segment.fov_cylinder_mask` with this radius fraction;
        everything outside is label 0 and counts as "outside" for the open / closed pore
        decision. None: the whole volume.
    seed : int
        Seed of the voxel subsamples (threshold / phase-level estimates).
    patch_size, patch_distance : int, optional
        NLM patch size and search radius, in voxels.
    max_samples : int, optional
        Voxels sampled for the phase levels (Otsu uses 10x as many).
    partial_volume_correction : bool, optional
        2 phases only: the active-spill term of :class:`~batteryct.segment.PhaseModel`.
    binder_level : float, optional
        2 phases only: binder level in 1/µm, bypassing the plateau estimate.
    active_fraction : float, optional
        2 phases only: binder|active boundary as a fraction of the pore-active contrast.
    ring_correction : bool, optional
        2 phases only: after a first model fit, ring offsets are measured on voxels with no
        active-level voxel within 2 voxels (:func:`~batteryct.segment.estimate_ring_profile`),
        subtracted from the denoised volume, and the model is fitted again.
    return_posteriors : bool, optional
        2 phases only: also return the float16 posteriors ``(3, z, y, x)`` (pore, binder,
        active).
    spill_anchors : tuple of (float, float) pairs, optional
        2 phases only: ``(edge deficit, spill coefficient)`` anchors of
        :func:`~batteryct.segment.spill_coefficient` (default
        :data:`~batteryct.segment.SPILL_ANCHORS`); for sensitivity studies
        (``benchmarks/bench_electrode_accuracy.py --spill-anchors``).
    potts_weight : float, optional
        2 phases only: cost of one pore|solid voxel face in nats, the Potts prior of
        :func:`~batteryct.segment.potts_solid_mask` on the pore|solid decision (default
        :data:`~batteryct.segment.POTTS_WEIGHT`); 0 keeps the per-voxel argmax.
    return_denoised : bool, optional
        2 phases only: also return the volume the class model classified
        (``MultiphaseResult.denoised``), e.g. to study the classification against a truth.
    deblur : bool, optional
        2 phases only: before the class model, remove the blur beyond the sharpness of the
        scans the spill anchors were set on. The blur sigma comes from the scan's own
        active edges (:func:`~batteryct.segment.active_edge_deficit`,
        :func:`~batteryct.segment.excess_blur_sigma_voxels`); the residual is re-measured
        and removed, up to ``deblur_max_iterations`` times, by
        :func:`~batteryct.segment.deblur_gaussian`. A scan as sharp as the reference is
        left as it is.
    deblur_max_iterations : int, optional
        2 phases only: at most this many blur estimates and removals (default
        :data:`DEBLUR_MAX_ITERATIONS`); they stop earlier once the residual sigma is below
        :data:`DEBLUR_MIN_SIGMA_VOXELS`.
    deblur_regularization : float, optional
        2 phases only: Wiener regularisation of :func:`~batteryct.segment.deblur_gaussian`
        (default :data:`~batteryct.segment.DEBLUR_REGULARIZATION`).
    spill_sd_fraction : float, optional
        2 phases only: uncertainty (1 sd) of the active-spill term as a fraction of it, in
        the posteriors (:func:`~batteryct.segment.fit_phase_model`).
    anisotropic_spill : bool, optional
        2 phases only: weight a voxel's active neighbours by direction with the in-plane /
        axial spill ratio measured on the scan (:func:`~batteryct.segment.spill_anisotropy`),
        so the pore|binder boundary is raised more beside in-plane faces, which a
        reconstruction blurs more than faces along the rotation axis (z).
    progress : callable, optional
        ``progress(blocks_done, n_blocks)`` of the NLM denoising (:func:`denoise`).

    Returns
    -------
    SegmentationResult
        A :class:`MultiphaseResult` for 2 phases. ``info`` holds the parameters above, then
        ``sigma`` (noise estimate, 1/µm); for 1 phase ``threshold`` (1/µm); for 2 phases
        ``deblur_sigma_voxels`` (the Gaussian sigma removed, 0 without ``deblur`` or on a sharp
        scan), ``ring_offset_max_abs`` (1/µm), ``thresholds`` [pore|binder without active
        neighbours, binder|active] (1/µm), ``gmm`` (the class model of
        :meth:`~batteryct.segment.PhaseModel.as_dict`), ``n_partial_volume_reassigned``
        (voxels kept as pore by the spill term that a context-free threshold would call
        binder), ``potts_weight``, ``n_potts_changed`` (voxels whose pore|solid class the
        Potts prior changed) and ``n_argmax_overridden``; then ``label_counts`` (inside the ROI),
        ``class_means`` (mean denoised value per final label inside the ROI, 1/µm) and
        ``timings_s`` (seconds per step).

    Raises
    ------
    ValueError
        If ``n_solid_phases`` is not 1 or 2, posteriors are asked for one phase, the
        volume is not 3-D or not finite, or the phases cannot be separated.

    Notes
    -----
    1. region of interest = field-of-view cylinder; outside it reconstructions are 0 and
       are labelled 0;
    2. noise sigma estimated on the largest centred box inside the ROI (the zeros outside
       the FOV would bias it low);
    3. edge-preserving denoising (non-local means, total variation or none);
    4. classification. One solid phase: Otsu threshold on a deterministic random
       subsample of ROI voxels. Two solid phases: the pore / binder / active class model
       of :func:`~batteryct.segment.fit_phase_model` (pore and active levels from their
       histogram peaks, binder level from "plateau" voxels shrunk towards a prior, ring
       offsets subtracted, a pore|binder boundary raised next to active particles by
       their blurred-edge spill), per-voxel posteriors and their argmax; with
       ``potts_weight`` > 0 the pore|solid decision is the graph-cut minimum of posterior
       cost plus boundary cost instead;
    5. :func:`~batteryct.segment.clean_binary` on the solid (binder | active);
    6. :func:`~batteryct.segment.label_pore_space`: open pores 0, internal voids 2; binder
       3 on top (filled small pores become binder).

    All steps are deterministic (fixed seeds, no multithreaded reductions whose order
    changes the result): two runs on the same input give identical labels.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> vol = rng.normal(0.0, 0.002, (20, 20, 20)).astype(np.float32)
    >>> vol[5:15, 5:15, 5:15] += 0.05  # a solid cube in air, 1/um
    >>> res = segment_volume(
    ...     vol, denoise_method="nlm", denoise_strength=0.6, min_solid_voxels=8,
    ...     min_pore_voxels=8, fov_radius_fraction=None, seed=0,
    ... )
    >>> res.labels.dtype, int((res.labels == 1).sum()), res.posteriors is None
    (dtype('uint8'), 1000, True)
    """
    if n_solid_phases not in (1, 2):
        raise ValueError(f"n_solid_phases must be 1 or 2, got {n_solid_phases}")
    if return_posteriors and n_solid_phases != 2:
        raise ValueError("posteriors are only available for n_solid_phases=2")
    if return_denoised and n_solid_phases != 2:
        raise ValueError("the classified volume is only returned for n_solid_phases=2")
    if int(deblur_max_iterations) != deblur_max_iterations or deblur_max_iterations < 1:
        raise ValueError(f"deblur_max_iterations must be an integer >= 1, got {deblur_max_iterations}")
    if not deblur_regularization > 0:
        raise ValueError(f"deblur_regularization must be > 0, got {deblur_regularization}")
    vol = as_volume_3d(volume, "volume", dtype=np.float32, finite=True)
    timings: dict[str, float] = {}
    info = _base_info(
        n_solid_phases,
        denoise_method,
        denoise_strength,
        patch_size,
        patch_distance,
        min_solid_voxels,
        min_pore_voxels,
        fov_radius_fraction,
        seed,
    )
    roi, den = _prepare(
        vol, denoise_method, denoise_strength, fov_radius_fraction, patch_size, patch_distance, timings, info, progress
    )
    sizes = dict(min_solid_voxels=min_solid_voxels, min_pore_voxels=min_pore_voxels, max_samples=max_samples, seed=seed)
    if n_solid_phases == 1:
        return _one_phase(den, roi, info, timings, **sizes)
    return _two_phases(
        den,
        roi,
        info,
        timings,
        **sizes,
        partial_volume_correction=partial_volume_correction,
        binder_level=binder_level,
        active_fraction=active_fraction,
        ring_correction=ring_correction,
        return_posteriors=return_posteriors,
        spill_anchors=spill_anchors,
        potts_weight=potts_weight,
        return_denoised=return_denoised,
        deblur=deblur,
        deblur_max_iterations=deblur_max_iterations,
        deblur_regularization=deblur_regularization,
        spill_sd_fraction=spill_sd_fraction,
        anisotropic_spill=anisotropic_spill,
    )


def segment_multiphase(volume: np.ndarray, *, return_posteriors: bool = True, **options) -> MultiphaseResult:
    """Segment an electrode volume into pore / carbon-binder / active.

    The same as ``segment_volume(volume, n_solid_phases=2, ...)``, with posteriors by
    default.

    Parameters
    ----------
    volume : numpy.ndarray
        Reconstruction ``(z, y, x)``, attenuation in 1/µm.
    return_posteriors : bool, optional
        Keep the float16 posteriors in the result.
    **options
        The keyword arguments of :func:`segment_volume` (all but ``n_solid_phases`` and
        ``return_posteriors``; the same required ones).

    Returns
    -------
    MultiphaseResult
        Labels, info, posteriors, the voxels where the labels differ from the posterior
        argmax, and the class model.
    """
    return segment_volume(volume, n_solid_phases=2, return_posteriors=return_posteriors, **options)
