"""Wall-time benchmark of batteryct.recon.fbp against algotom and scikit-image.

Run:  python benchmarks/bench_fbp.py

Cases (identical line integrals for every method; analytic ellipse phantom + noise):
  A: 128 slices of 128 x 128 from 141 angles over -90..+90 deg (the scanner's set)
  B: one 512 x 512 slice from 600 angles over [0, 180) deg
Times are the best of 5 calls after one warm-up call (JIT compilation excluded); the
process CPU time of that call is printed too, since the cores may be shared.

* ours: batteryct.recon.fbp, ramp filter, zero padding, numba with 2 threads (also
  shown with 1 thread);
* algotom: algotom.rec.reconstruction.fbp_reconstruction(gpu=False, ncore=1,
  filter_name=None i.e. ramp, apply_log=False) with numba limited to 1 thread: its
  CPU back-projector is a numba prange over angles that adds into the same image (a
  data race with more than one thread). Angles are passed negated because algotom
  back-projects at -theta (its image is ours flipped along y otherwise);
* skimage: skimage.transform.iradon(filter_name="ramp", interpolation="linear"), one
  thread. iradon has no off-centre axis, so it is timed only (no accuracy
  comparison); for case A it is timed on 8 slices and extrapolated to 128.
"""

from __future__ import annotations

import math
import os
import time

import numba
import numpy as np

from batteryct import recon

ELLIPSES = [
    (0.0, 0.0, 52.0, 46.0, 0.0, 0.010),
    (-18.0, -10.0, 16.0, 9.0, 0.5, 0.020),
    (20.0, 14.0, 11.0, 11.0, 0.0, 0.030),
    (8.0, -25.0, 6.0, 14.0, -0.3, -0.006),
    (-15.0, 25.0, 5.0, 5.0, 0.0, 0.025),
    (22.0, -8.0, 3.0, 3.0, 0.0, 0.040),
]
REPEATS = 5
THREADS = min(2, numba.config.NUMBA_NUM_THREADS)


def analytic_sinogram(theta, n_cols, center, scale):
    """Closed-form line integrals of the scaled ellipse phantom, (n_angles, n_cols)."""
    t = np.arange(n_cols)[None, :] - center
    th = np.asarray(theta)[:, None]
    p = np.zeros((th.shape[0], n_cols))
    for x0, y0, a, b, phi, mu in ELLIPSES:
        x0, y0, a, b, mu = x0 * scale, y0 * scale, a * scale, b * scale, mu / scale
        s = t - (x0 * np.cos(th) + y0 * np.sin(th))
        a2 = (a * np.cos(th - phi)) ** 2 + (b * np.sin(th - phi)) ** 2
        p += np.where(s * s < a2, 2 * mu * a * b / a2 * np.sqrt(np.clip(a2 - s * s, 0, None)), 0)
    return p


def make_case(n, n_rows, theta, offset_px, seed):
    rng = np.random.default_rng(seed)
    center = (n - 1) / 2 + offset_px
    sino = analytic_sinogram(theta, n, center, n / 128)
    li = np.repeat(sino[:, None, :], n_rows, axis=1)
    counts = rng.poisson(1e4 * np.exp(-li))
    li = -np.log(np.maximum(counts, 1) / 1e4)
    return np.ascontiguousarray(li, dtype=np.float32), center


def best_time(fn, repeats=REPEATS):
    """Best wall time of ``repeats`` calls after a warm-up, and the process CPU time
    (all threads) of that best call."""
    fn()  # warm-up (JIT, caches)
    best = (math.inf, math.inf)
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        best = min(best, (wall, cpu))
    return best, out


def ours(li, theta, center):
    return recon.fbp(li, theta, center, filter_name="ramp", pad=True)


def algotom_fbp(li, theta, center):
    from algotom.rec.reconstruction import fbp_reconstruction

    sino = li  # (n_angles, n_slices, n_cols): algotom's 3-D layout too
    if sino.shape[1] == 1:
        rec = fbp_reconstruction(
            sino[:, 0, :], center, angles=-theta, ratio=None, filter_name=None, apply_log=False, gpu=False, ncore=1
        )
        return rec[None]
    rec = fbp_reconstruction(
        sino, center, angles=-theta, ratio=None, filter_name=None, apply_log=False, gpu=False, ncore=1
    )
    return np.moveaxis(rec, 1, 0)  # algotom returns (y, slice, x)


def skimage_fbp(li, theta):
    from skimage.transform import iradon

    deg = np.rad2deg(theta)
    return np.stack(
        [
            iradon(li[:, z, :].T, theta=deg, filter_name="ramp", interpolation="linear", circle=True)
            for z in range(li.shape[1])
        ]
    )


def fov_nrmse(a, b, center):
    n = a.shape[-1]
    yy, xx = np.mgrid[:n, :n] - (n - 1) / 2
    mask = xx**2 + yy**2 <= (min(center, n - 1 - center) - 2) ** 2
    d = a[:, mask] - b[:, mask]
    return float(np.sqrt(np.mean(d**2)) / (b[:, mask].max() - b[:, mask].min()))


def run_case(name, li, theta, center, skimage_slices=None):
    n_slices = li.shape[1]
    print(f"\n== {name}: {n_slices} slice(s) of {li.shape[2]}^2 from {li.shape[0]} angles, centre {center:.2f} px")
    results = {}
    outputs = {}
    ours_key = f"ours ({THREADS} thread{'s' if THREADS > 1 else ''})"
    for n_threads in sorted({1, THREADS}):
        numba.set_num_threads(n_threads)
        t, out = best_time(lambda: ours(li, theta, center))
        results[f"ours ({n_threads} thread{'s' if n_threads > 1 else ''})"] = t
        outputs[n_threads] = out
    numba.set_num_threads(THREADS)
    identical = all(outputs[k].tobytes() == outputs[1].tobytes() for k in outputs)

    rec_alg = None
    try:
        numba.set_num_threads(1)
        t_alg, rec_alg = best_time(lambda: algotom_fbp(li, theta, center))
        results["algotom fbp_reconstruction (1 thread)"] = t_alg
    except ImportError:
        print("   algotom not installed: skipped")
    finally:
        numba.set_num_threads(THREADS)

    sub = li if skimage_slices is None else li[:, :skimage_slices]
    (wall, cpu), _ = best_time(lambda: skimage_fbp(sub, theta), repeats=3 if skimage_slices is None else REPEATS)
    label = "skimage iradon (1 thread)"
    if skimage_slices is not None and skimage_slices < n_slices:
        wall, cpu = wall * n_slices / skimage_slices, cpu * n_slices / skimage_slices
        label += f" [{skimage_slices} slices timed, x{n_slices // skimage_slices}]"
    results[label] = (wall, cpu)

    ours_wall = results[ours_key][0]
    print(f"   {'method':<62s} {'wall s':>8s} {'cpu s':>8s} {'wall/ours':>10s}")
    for key, (wall, cpu) in results.items():
        print(f"   {key:<62s} {wall:8.4f} {cpu:8.4f} {wall / ours_wall:10.2f}")
    print(f"   ours byte-identical for 1 and {THREADS} numba threads: {identical}")
    if rec_alg is not None:
        print(
            f"   NRMSE ours vs algotom (FOV disk, normalised by algotom's range): "
            f"{fov_nrmse(outputs[THREADS], rec_alg.astype(np.float32), center):.4f}"
        )
    return results


def main():
    print(
        f"batteryct fbp benchmark; numba {numba.__version__}, threading layer "
        f"{numba.config.THREADING_LAYER}, {os.cpu_count()} CPU(s), load average "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} (other users share the cores)"
    )
    theta_a = np.deg2rad(np.linspace(-90.0, 90.0, 141))
    li_a, c_a = make_case(128, 128, theta_a, 3.37, seed=1)
    run_case("A", li_a, theta_a, c_a, skimage_slices=8)
    theta_b = np.linspace(0.0, np.pi, 600, endpoint=False)
    li_b, c_b = make_case(512, 1, theta_b, 3.37, seed=2)
    run_case("B", li_b, theta_b, c_b)
    print(
        "\ntargets: A <= 0.25 s, B <= 0.1 s wall with 2 threads (after warm-up). 'cpu s' is the"
        " process CPU time of the best call (all threads): with idle cores, wall ~ cpu / threads."
    )


if __name__ == "__main__":
    main()
