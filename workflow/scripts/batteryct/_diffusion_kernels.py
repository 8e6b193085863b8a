"""Numba kernels of :func:`batteryct.diffusion.simulate_ensemble`.

One time loop for a whole ensemble of spheres: per step and per size a tridiagonal solve with
two right-hand sides (no flux and unit surface flux), then the algebraic coupling of the sizes
(a common electrode potential, or the same current density everywhere). The discretisation is
the one of :func:`batteryct.diffusion.sphere_grid` (vertex-centred finite volumes in the
dimensionless radius); the arrays it builds are passed in.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

FARADAY = 96485.33212  # C/mol
GAS_CONSTANT = 8.314462618  # J/(mol K)


@njit(cache=True)
def hermite_eval(x, x0, dx, val, der):  # pragma: no cover - numba
    """Cubic Hermite table (uniform nodes ``x0 + i dx``) and its slope; linear outside."""
    n = val.size
    s = (x - x0) / dx
    if s <= 0.0:
        return val[0] + der[0] * (x - x0), der[0]
    if s >= n - 1:
        return val[n - 1] + der[n - 1] * (x - (x0 + (n - 1) * dx)), der[n - 1]
    i = int(s)
    if i > n - 2:
        i = n - 2
    t = s - i
    y0 = val[i]
    y1 = val[i + 1]
    m0 = der[i] * dx
    m1 = der[i + 1] * dx
    t2 = t * t
    t3 = t2 * t
    h00 = 2.0 * t3 - 3.0 * t2 + 1.0
    h10 = t3 - 2.0 * t2 + t
    h01 = -2.0 * t3 + 3.0 * t2
    h11 = t3 - t2
    y = h00 * y0 + h10 * m0 + h01 * y1 + h11 * m1
    dy = (
        (6.0 * t2 - 6.0 * t) * y0
        + (3.0 * t2 - 4.0 * t + 1.0) * m0
        + (-6.0 * t2 + 6.0 * t) * y1
        + (3.0 * t2 - 2.0 * t) * m1
    ) / dx
    return y, dy


@njit(cache=True)
def _linear_eval(x, x0, dx, val):  # pragma: no cover - numba
    """Piecewise-linear table on uniform nodes, clamped outside."""
    n = val.size
    s = (x - x0) / dx
    if s <= 0.0:
        return val[0]
    if s >= n - 1:
        return val[n - 1]
    i = int(s)
    if i > n - 2:
        i = n - 2
    t = s - i
    return val[i] * (1.0 - t) + val[i + 1] * t


@njit(cache=True)
def _thomas2(lower, diag, upper, r0, r1, cp, d0, d1, out0, out1):  # pragma: no cover - numba
    """Solve one tridiagonal system for two right-hand sides (``lower[i]`` couples i to i-1)."""
    n = diag.size
    b = diag[0]
    cp[0] = upper[0] / b
    d0[0] = r0[0] / b
    d1[0] = r1[0] / b
    for i in range(1, n):
        m = diag[i] - lower[i] * cp[i - 1]
        cp[i] = upper[i] / m if i < n - 1 else 0.0
        d0[i] = (r0[i] - lower[i] * d0[i - 1]) / m
        d1[i] = (r1[i] - lower[i] * d1[i - 1]) / m
    out0[n - 1] = d0[n - 1]
    out1[n - 1] = d1[n - 1]
    for i in range(n - 2, -1, -1):
        out0[i] = d0[i] - cp[i] * out0[i + 1]
        out1[i] = d1[i] - cp[i] * out1[i + 1]


@njit(cache=True)
def _eta(j, i0, rt_f):  # pragma: no cover - numba
    """Symmetric Butler-Volmer overpotential (V) of a flux ``j`` (mol/m^2/s) and its slope."""
    z = FARADAY * j / (2.0 * i0)
    eta = 2.0 * rt_f * math.asinh(z)
    deta = (rt_f * FARADAY / i0) / math.sqrt(1.0 + z * z)
    return eta, deta


@njit(cache=True)
def _node_potential(xs, w, i_over_f, i0, rt_f, x0, dx, uval, uder, v_guess, u, j_out):  # pragma: no cover - numba
    """Solve for the common potential ``V`` with ``sum w_k j_k = I/F``, ``U(xs_k) - eta(j_k) = V``.

    Newton on the scalar ``V`` from ``v_guess`` (steps limited to 50 mV), with a bisection
    safeguard; ``j_k`` follow in closed form. ``u`` is work space. Returns ``(V, converged)``.
    """
    ns = xs.size
    c = 1.0 / (2.0 * rt_f)
    a = 2.0 * i0 / FARADAY
    umean = 0.0
    for k in range(ns):
        uk, _ = hermite_eval(xs[k], x0, dx, uval, uder)
        u[k] = uk
        umean += uk / ns
    # sinh((u_k - v) c) = (E_k / e - e / E_k) / 2 with E_k = exp((u_k - umean) c), e = exp((v - umean) c)
    for k in range(ns):
        u[k] = math.exp((u[k] - umean) * c)
    v = v_guess
    lo = -1e300
    hi = 1e300
    ok = False
    for _it in range(200):
        e = math.exp((v - umean) * c)
        ie = 1.0 / e
        g = -i_over_f
        dg = 0.0
        for k in range(ns):
            p = u[k] * ie
            m = 1.0 / p
            g += w[k] * a * 0.5 * (p - m)
            dg -= w[k] * a * 0.5 * (p + m) * c
        if g == 0.0:
            ok = True
            break
        if g > 0.0:
            lo = v
        else:
            hi = v
        step = -g / dg
        if step > 0.05:
            step = 0.05
        elif step < -0.05:
            step = -0.05
        vn = v + step
        if (vn <= lo or vn >= hi) and lo > -1e299 and hi < 1e299:
            vn = 0.5 * (lo + hi)
        d = abs(vn - v)
        v = vn
        if d < 1e-13 or hi - lo < 1e-13:
            ok = True
            break
    e = math.exp((v - umean) * c)
    for k in range(ns):
        j_out[k] = a * 0.5 * (u[k] / e - e / u[k])
    return v, ok


@njit(cache=True)
def ensemble_kernel(
    vol,
    cond,
    radius,
    area,
    time,
    current,
    damp,
    d_steps,
    use_table,
    d_x0,
    d_dx,
    log10_d_table,
    c_max,
    x_init,
    i0,
    rt_f,
    uniform,
    u_x0,
    u_dx,
    u_val,
    u_der,
    out_ve,
    out_j,
    out_eta,
    out_xs,
    out_xmean,
):  # pragma: no cover - numba
    """Time loop of the ensemble; fills the ``out_*`` arrays; returns a status code.

    ``current[i]`` (A) flows during ``(time[i-1], time[i]]``; ``damp[i]`` replaces that
    Crank-Nicolson step by two backward-Euler half steps. ``d_steps[i]`` is D (m^2/s) of
    the step unless ``use_table``, then ``D = 10**table(x)`` at the faces (predictor-corrector).
    ``area[k]`` is the total surface (m^2) of size class ``k``. Status 0 = converged,
    otherwise the index of the first step whose coupling did not converge.
    """
    nn = vol.size
    ns = radius.size
    nt = time.size
    x = np.empty((ns, nn))
    x[:, :] = x_init
    lower = np.empty(nn)
    diag = np.empty(nn)
    upper = np.empty(nn)
    r0 = np.empty(nn)
    r1 = np.zeros(nn)
    cp = np.empty(nn)
    d0 = np.empty(nn)
    d1 = np.empty(nn)
    u0 = np.empty((ns, nn))
    u1 = np.empty((ns, nn))
    af = np.empty(nn - 1)
    xs_old = np.empty(ns)
    jk = np.empty(ns)
    fk = np.empty(ns)
    dk = np.empty(ns)
    xs = np.empty(ns)
    work = np.empty(ns)
    jn = np.empty(ns)
    wsum = 0.0
    for k in range(ns):
        wsum += area[k]
    status = 0
    ve = 0.0
    # state at time[0]
    for k in range(ns):
        xs[k] = x_init
    i_f = current[0] / FARADAY
    if uniform:
        for k in range(ns):
            jk[k] = i_f / wsum
    else:
        u_init, _ = hermite_eval(x_init, u_x0, u_dx, u_val, u_der)
        ve, ok = _node_potential(xs, area, i_f, i0, rt_f, u_x0, u_dx, u_val, u_der, u_init, work, jk)
    for k in range(ns):
        out_j[0, k] = jk[k]
        out_eta[0, k], _ = _eta(jk[k], i0, rt_f)
        out_xs[0, k] = x_init
        out_xmean[0, k] = x_init
    if uniform:
        s = 0.0
        for k in range(ns):
            uk, _ = hermite_eval(x_init, u_x0, u_dx, u_val, u_der)
            s += area[k] * (uk - out_eta[0, k])
        ve = s / wsum
    out_ve[0] = ve
    for n in range(1, nt):
        dt_full = time[n] - time[n - 1]
        i_f = current[n] / FARADAY
        nsub = 2 if damp[n] else 1
        theta = 1.0 if damp[n] else 0.5
        dt = dt_full / nsub
        for _sub in range(nsub):
            npass = 2 if use_table else 1
            for k in range(ns):
                xs_old[k] = x[k, nn - 1]
            for pc in range(npass):
                for k in range(ns):
                    inv_r2 = 1.0 / (radius[k] * radius[k])
                    for f in range(nn - 1):
                        if use_table:
                            if pc == 0:
                                xf = 0.5 * (x[k, f] + x[k, f + 1])
                            else:
                                xf = 0.25 * (
                                    x[k, f]
                                    + x[k, f + 1]
                                    + u0[k, f]
                                    + jk[k] * u1[k, f]
                                    + u0[k, f + 1]
                                    + jk[k] * u1[k, f + 1]
                                )
                            af[f] = 10.0 ** _linear_eval(xf, d_x0, d_dx, log10_d_table) * inv_r2
                        else:
                            af[f] = d_steps[n] * inv_r2
                    for i in range(nn):
                        lap = 0.0
                        dsum = 0.0
                        if i > 0:
                            g = af[i - 1] * cond[i - 1]
                            lap += g * (x[k, i] - x[k, i - 1])
                            dsum += g
                            lower[i] = -theta * g
                        else:
                            lower[i] = 0.0
                        if i < nn - 1:
                            g = af[i] * cond[i]
                            lap += g * (x[k, i] - x[k, i + 1])
                            dsum += g
                            upper[i] = -theta * g
                        else:
                            upper[i] = 0.0
                        diag[i] = vol[i] / dt + theta * dsum
                        r0[i] = vol[i] / dt * x[k, i] - (1.0 - theta) * lap
                    r1[nn - 1] = 1.0 / (radius[k] * c_max)
                    _thomas2(lower, diag, upper, r0, r1, cp, d0, d1, u0[k], u1[k])
                # coupling: fluxes of the step (constant over it), constraint at the theta point
                if uniform:
                    for k in range(ns):
                        jk[k] = i_f / wsum
                else:
                    if n == 1 or damp[n]:
                        for k in range(ns):
                            jk[k] = i_f / wsum
                    ok = False
                    for _it in range(100):
                        num = 0.0
                        den = 0.0
                        g0 = -i_f
                        for k in range(ns):
                            xe = (1.0 - theta) * xs_old[k] + theta * (u0[k, nn - 1] + u1[k, nn - 1] * jk[k])
                            uk, duk = hermite_eval(xe, u_x0, u_dx, u_val, u_der)
                            ek, dek = _eta(jk[k], i0, rt_f)
                            fk[k] = uk - ek - ve
                            dk[k] = duk * theta * u1[k, nn - 1] - dek
                            if dk[k] > -1e-300:
                                dk[k] = -1e-300
                            num += area[k] * fk[k] / dk[k]
                            den += area[k] / dk[k]
                            g0 += area[k] * jk[k]
                        dv = (num - g0) / den
                        fmax = 0.0
                        for k in range(ns):
                            fmax = max(fmax, abs(fk[k]))
                            jk[k] += (dv - fk[k]) / dk[k]
                        ve += dv
                        if fmax < 1e-13 and abs(dv) < 1e-13:
                            ok = True
                            break
                    if not ok and status == 0:
                        status = n
            for k in range(ns):
                for i in range(nn):
                    x[k, i] = u0[k, i] + jk[k] * u1[k, i]
        # outputs at time[n]
        for k in range(ns):
            xs[k] = x[k, nn - 1]
            s = 0.0
            for i in range(nn):
                s += vol[i] * x[k, i]
            out_xmean[n, k] = 3.0 * s
            out_xs[n, k] = xs[k]
        if uniform:
            s = 0.0
            for k in range(ns):
                uk, _ = hermite_eval(xs[k], u_x0, u_dx, u_val, u_der)
                ek, _ = _eta(jk[k], i0, rt_f)
                out_j[n, k] = jk[k]
                out_eta[n, k] = ek
                s += area[k] * (uk - ek)
            out_ve[n] = s / wsum
        else:
            vn, ok = _node_potential(xs, area, i_f, i0, rt_f, u_x0, u_dx, u_val, u_der, ve, work, jn)
            if not ok and status == 0:
                status = n
            out_ve[n] = vn
            for k in range(ns):
                out_j[n, k] = jn[k]
                out_eta[n, k], _ = _eta(jn[k], i0, rt_f)
    return status


# ---------------------------------------------------------------------------------------------
# modal (eigenfunction) ensemble kernel with forward sensitivities
# ---------------------------------------------------------------------------------------------

EQUILIBRATED_EXPONENT = 36.0  # a mode with alpha^2 D dt / R^2 above this forgets its start (exp(-36) ~ 2e-16)


@njit(cache=True)
def knot_eval(x, xk, val, der, uniform):  # pragma: no cover - numba
    """Cubic Hermite on knots ``xk`` (uniform spacing if ``uniform``), linear outside.

    Returns ``(U, dU/dx, i, s)``: ``i = -1`` left of the knots (``s = x - xk[0]``), ``i = n - 1``
    right of them (``s = x - xk[-1]``), else the interval ``[xk[i], xk[i+1]]`` and ``s`` in [0, 1).
    """
    n = xk.size
    if x <= xk[0]:
        return val[0] + der[0] * (x - xk[0]), der[0], -1, x - xk[0]
    if x >= xk[n - 1]:
        return val[n - 1] + der[n - 1] * (x - xk[n - 1]), der[n - 1], n - 1, x - xk[n - 1]
    if uniform:
        i = int((x - xk[0]) / (xk[1] - xk[0]))
        if i > n - 2:
            i = n - 2
        if i < 0:
            i = 0
    else:
        lo = 0
        hi = n - 1
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if xk[mid] <= x:
                lo = mid
            else:
                hi = mid
        i = lo
    h = xk[i + 1] - xk[i]
    t = (x - xk[i]) / h
    t2 = t * t
    t3 = t2 * t
    m0 = der[i] * h
    m1 = der[i + 1] * h
    y = (2.0 * t3 - 3.0 * t2 + 1.0) * val[i] + (t3 - 2.0 * t2 + t) * m0 + (-2.0 * t3 + 3.0 * t2) * val[i + 1]
    y += (t3 - t2) * m1
    dy = (6.0 * t2 - 6.0 * t) * (val[i] - val[i + 1]) / h + (3.0 * t2 - 4.0 * t + 1.0) * der[i]
    dy += (3.0 * t2 - 2.0 * t) * der[i + 1]
    return y, dy, i, t


@njit(cache=True)
def _knot_value_sens(i, s, xk, slope_sens, p):  # pragma: no cover - numba
    """``dU/du_p`` at fixed x of :func:`knot_eval` (knot values are the parameters).

    ``slope_sens[m, p]`` is the derivative of the slope at knot ``m`` by the value at knot ``p``.
    """
    n = xk.size
    if i < 0:
        return (1.0 if p == 0 else 0.0) + slope_sens[0, p] * s
    if i >= n - 1:
        return (1.0 if p == n - 1 else 0.0) + slope_sens[n - 1, p] * s
    h = xk[i + 1] - xk[i]
    t = s
    t2 = t * t
    t3 = t2 * t
    out = h * ((t3 - 2.0 * t2 + t) * slope_sens[i, p] + (t3 - t2) * slope_sens[i + 1, p])
    if p == i:
        out += 2.0 * t3 - 3.0 * t2 + 1.0
    elif p == i + 1:
        out += -2.0 * t3 + 3.0 * t2
    return out


@njit(cache=True)
def _first_mode_above(alpha2, thr):  # pragma: no cover - numba
    """Index of the first mode with ``alpha^2 >= thr`` (``alpha2.size`` if none)."""
    lo = 0
    hi = alpha2.size
    while lo < hi:
        mid = (lo + hi) // 2
        if alpha2[mid] < thr:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True)
def _couple(a_k, b_k, area, i_f, i0, rt_f, xk, uval, uder, uniform_knots, j, v, fk, dk):  # pragma: no cover - numba
    """Solve ``U(a_k + b_k j_k) - eta(j_k) = V`` for all k with ``sum area_k j_k = i_f``; Newton on (V, j).

    ``j`` (start values in, solution out); returns ``(V, converged)``; ``dk`` holds the final
    ``dU/dx b_k - eta'(j_k)`` (the diagonal of the linearised system).
    """
    ns = area.size
    ok = False
    for _it in range(100):
        num = 0.0
        den = 0.0
        g0 = -i_f
        for k in range(ns):
            uk, duk, _, _ = knot_eval(a_k[k] + b_k[k] * j[k], xk, uval, uder, uniform_knots)
            ek, dek = _eta(j[k], i0, rt_f)
            fk[k] = uk - ek - v
            dk[k] = duk * b_k[k] - dek
            if dk[k] > -1e-300:
                dk[k] = -1e-300
            num += area[k] * fk[k] / dk[k]
            den += area[k] / dk[k]
            g0 += area[k] * j[k]
        dv = (num - g0) / den
        fmax = 0.0
        for k in range(ns):
            fmax = max(fmax, abs(fk[k]))
            j[k] += (dv - fk[k]) / dk[k]
        v += dv
        if fmax < 1e-13 and abs(dv) < 1e-13:
            ok = True
            break
    # final diagonal at the solution
    for k in range(ns):
        _, duk, _, _ = knot_eval(a_k[k] + b_k[k] * j[k], xk, uval, uder, uniform_knots)
        _, dek = _eta(j[k], i0, rt_f)
        dk[k] = duk * b_k[k] - dek
        if dk[k] > -1e-300:
            dk[k] = -1e-300
    return v, ok


@njit(cache=True)
def modal_ensemble_kernel(
    radius,
    area,
    alpha2,
    tail1,
    tail2,
    time,
    current,
    d_steps,
    d_group,
    n_dpar,
    c_max,
    x_init,
    i0,
    rt_f,
    uniform,
    xk,
    uval,
    uder,
    uniform_knots,
    slope_sens,
    n_upar,
    out_ve,
    out_j,
    out_eta,
    out_xs,
    out_xmean,
    out_dve,
):  # pragma: no cover - numba
    """Time loop of the ensemble in the sphere's eigenfunctions, exact for piecewise-linear fluxes.

    Per size ``k`` the state is the mean stoichiometry and the surface amplitudes ``z_n`` of the
    Neumann eigenfunctions (``tan alpha_n = alpha_n``): ``x_mean' = 3 j / (R c_max)``,
    ``z_n' = -alpha_n^2 D / R^2 z_n + 2 j / (R c_max)``, ``x_s = x_mean + sum z_n``. Each flux
    ``j_k`` is linear in time over a step (it jumps where the applied current changes) and the
    modes are integrated exactly. Modes with ``alpha_n^2 D dt / R^2 >= 36`` have forgotten their
    start: they are summed in closed form (``tail1[n] = sum_{m >= n} alpha_m^-2``,
    ``tail2[n] = sum_{m >= n} alpha_m^-4``; their state is kept as the two coefficients of that
    sum). The coupling (potential or uniform split) holds at every step end and, when the
    current changes, right after the change.

    ``d_steps[i]`` is D during step ``i``, ``d_group[i]`` the index of its ``log10 D`` parameter.
    ``out_dve`` (``(n_t, n_dpar + n_upar)``, or ``(n_t, 0)`` for none) receives the forward
    sensitivities of the electrode potential by ``log10 D`` of each group and by the OCV knot
    values (``slope_sens`` their effect on the knot slopes). The mode sensitivities are stored
    as ``w + dj g`` (``g`` the last step's response to the end flux, shared by all parameters),
    so one pass per parameter and step suffices. Returns 0, or the first step whose coupling did
    not converge (-1: the initial state).
    """
    ns = radius.size
    nt = time.size
    nm = alpha2.size
    npar = out_dve.shape[1]
    ln10 = math.log(10.0)
    z = np.zeros((ns, nm))
    w = np.zeros((npar, ns, nm))
    gl = np.zeros((ns, nm))
    ew = np.empty((ns, nm))
    f0w = np.empty((ns, nm))
    f1w = np.empty((ns, nm))
    xm = np.full(ns, x_init)
    dxm = np.zeros((npar, ns))
    xs = np.full(ns, x_init)
    dxs = np.zeros((npar, ns))
    neq = np.zeros(ns, np.int64)
    pp = np.zeros(ns)
    qq = np.zeros(ns)
    dpp = np.zeros((npar, ns))
    dqq = np.zeros((npar, ns))
    j = np.zeros(ns)
    dj = np.zeros((npar, ns))
    j0 = np.zeros(ns)
    dj0 = np.zeros((npar, ns))
    a_k = np.empty(ns)
    b_k = np.empty(ns)
    sab = np.empty(ns)
    fk = np.empty(ns)
    dk = np.empty(ns)
    zero_b = np.zeros(ns)
    du_w = np.empty(ns)
    ii_w = np.empty(ns, np.int64)
    ss_w = np.empty(ns)
    ddv = np.empty(npar)
    wsum = 0.0
    for k in range(ns):
        wsum += area[k]
    status = 0

    # ---- t[0]: uniform particles carrying current[0]
    i_f = current[0] / FARADAY
    for k in range(ns):
        j[k] = i_f / wsum
    v = knot_eval(x_init, xk, uval, uder, uniform_knots)[0]
    if uniform:
        ek, _ = _eta(j[0], i0, rt_f)
        v -= ek
    else:
        v, ok = _couple(xs, zero_b, area, i_f, i0, rt_f, xk, uval, uder, uniform_knots, j, v, fk, dk)
        if not ok:
            status = -1
    _, _, ii0, ss0 = knot_eval(x_init, xk, uval, uder, uniform_knots)
    for p in range(npar):  # all x_s equal: only the OCV values act, and the split does not move
        out_dve[0, p] = _knot_value_sens(ii0, ss0, xk, slope_sens, p - n_dpar) if p >= n_dpar else 0.0
    out_ve[0] = v
    for k in range(ns):
        out_j[0, k] = j[k]
        out_eta[0, k], _ = _eta(j[k], i0, rt_f)
        out_xs[0, k] = xs[k]
        out_xmean[0, k] = xm[k]

    for n in range(1, nt):
        dt = time[n] - time[n - 1]
        d = d_steps[n]
        g = d_group[n]
        i_f = current[n] / FARADAY
        # ---- flux right after the start of the step (it jumps when the current changes)
        for k in range(ns):
            j0[k] = j[k]
            for p in range(npar):
                dj0[p, k] = dj[p, k]
        if current[n] != current[n - 1]:
            if uniform:
                for k in range(ns):
                    j0[k] = i_f / wsum
                    for p in range(npar):
                        dj0[p, k] = 0.0
            else:
                v, ok = _couple(xs, zero_b, area, i_f, i0, rt_f, xk, uval, uder, uniform_knots, j0, v, fk, dk)
                if not ok and status == 0:
                    status = n
                # linearised: U' dxs + U_p - eta' dj0 = dV, sum area dj0 = 0 (here dk = -eta')
                if npar > 0:
                    for k in range(ns):
                        _, du_, ii_, ss_ = knot_eval(xs[k], xk, uval, uder, uniform_knots)
                        du_w[k] = du_
                        ii_w[k] = ii_
                        ss_w[k] = ss_
                for p in range(npar):
                    num = 0.0
                    den = 0.0
                    for k in range(ns):
                        rhs = du_w[k] * dxs[p, k]
                        if p >= n_dpar:
                            rhs += _knot_value_sens(ii_w[k], ss_w[k], xk, slope_sens, p - n_dpar)
                        fk[k] = rhs
                        num += area[k] * rhs / dk[k]
                        den += area[k] / dk[k]
                    dvp = num / den
                    for k in range(ns):
                        dj0[p, k] = (dvp - fk[k]) / dk[k]
        # ---- step coefficients: x_s(end) = a_k + b_k j1_k
        for k in range(ns):
            r = radius[k]
            rho = r * r / d
            tau = dt / rho
            pref = 2.0 / (r * c_max)
            c2 = pref * dt
            c3 = 1.5 * dt / (r * c_max)
            ne = _first_mode_above(alpha2, EQUILIBRATED_EXPONENT / tau)
            for m in range(neq[k], ne):  # equilibrated before, resolved in this (shorter) step
                ia = 1.0 / alpha2[m]
                z[k, m] = pp[k] * ia - qq[k] * ia * ia
                gl[k, m] = 0.0
                for p in range(npar):
                    w[p, k, m] = dpp[p, k] * ia - dqq[p, k] * ia * ia
            msr = _first_mode_above(alpha2, 0.02 / tau)
            if msr > ne:
                msr = ne
            sez = 0.0
            sf0 = 0.0
            sf1 = 0.0
            for m in range(msr):  # series of the ramp weights for h < 0.02
                h = alpha2[m] * tau
                e = math.exp(-h)
                psi = 1.0 - h * (0.5 - h * (1.0 / 6.0 - h * (1.0 / 24.0 - h * (1.0 / 120.0 - h / 720.0))))
                f1 = 0.5 - h * (1.0 / 6.0 - h * (1.0 / 24.0 - h * (1.0 / 120.0 - h * (1.0 / 720.0 - h / 5040.0))))
                ew[k, m] = e
                f0w[k, m] = psi - f1
                f1w[k, m] = f1
                sez += e * z[k, m]
                sf0 += psi - f1
                sf1 += f1
            for m in range(msr, ne):
                h = alpha2[m] * tau
                ih = 1.0 / h
                em1 = math.expm1(-h)
                psi = -em1 * ih
                f1 = (1.0 - psi) * ih
                e = 1.0 + em1
                ew[k, m] = e
                f0w[k, m] = psi - f1
                f1w[k, m] = f1
                sez += e * z[k, m]
                sf0 += psi - f1
                sf1 += f1
            t1 = tail1[ne]
            t2 = tail2[ne]
            a_k[k] = xm[k] + sez + (c3 + c2 * sf0 + pref * rho * rho * t2 / dt) * j0[k]
            b_k[k] = c3 + c2 * sf1 + pref * (rho * t1 - rho * rho * t2 / dt)
            neq[k] = ne
        # ---- coupling at the step end
        if uniform:
            s = 0.0
            for k in range(ns):
                j[k] = i_f / wsum
                uk, _, _, _ = knot_eval(a_k[k] + b_k[k] * j[k], xk, uval, uder, uniform_knots)
                ek, _ = _eta(j[k], i0, rt_f)
                s += area[k] * (uk - ek)
            v = s / wsum
        else:
            for k in range(ns):
                j[k] = j0[k]
            v, ok = _couple(a_k, b_k, area, i_f, i0, rt_f, xk, uval, uder, uniform_knots, j, v, fk, dk)
            if not ok and status == 0:
                status = n
        # ---- sensitivities (before the states move on)
        if npar > 0:
            for k in range(ns):
                _, du_, ii_, ss_ = knot_eval(a_k[k] + b_k[k] * j[k], xk, uval, uder, uniform_knots)
                du_w[k] = du_
                ii_w[k] = ii_
                ss_w[k] = ss_
        for p in range(npar):
            isd = p < n_dpar and p == g
            num = 0.0
            den = 0.0
            for k in range(ns):
                r = radius[k]
                rho = r * r / d
                tau = dt / rho
                pref = 2.0 / (r * c_max)
                c2 = pref * dt
                c3 = 1.5 * dt / (r * c_max)
                ne = neq[k]
                djl = dj[p, k]
                dj0p = dj0[p, k]
                acc = 0.0
                if isd:
                    for m in range(ne):
                        e = ew[k, m]
                        f0 = f0w[k, m]
                        f1 = f1w[k, m]
                        psi = f0 + f1
                        # d/d ln D of exp(-h), phi0, phi1 (h d/dh)
                        de = -alpha2[m] * tau * e
                        df1 = psi - 2.0 * f1
                        df0 = e - 2.0 * psi + 2.0 * f1
                        wn = e * (w[p, k, m] + djl * gl[k, m]) + c2 * f0 * dj0p
                        wn += ln10 * (de * z[k, m] + c2 * (df0 * j0[k] + df1 * j[k]))
                        w[p, k, m] = wn
                        acc += wn
                else:
                    for m in range(ne):
                        wn = ew[k, m] * (w[p, k, m] + djl * gl[k, m]) + c2 * f0w[k, m] * dj0p
                        w[p, k, m] = wn
                        acc += wn
                t1 = tail1[ne]
                t2 = tail2[ne]
                acc += dxm[p, k] + (c3 + pref * rho * rho * t2 / dt) * dj0p
                if isd:
                    acc += (
                        ln10
                        * pref
                        * (-2.0 * rho * rho * t2 / dt * j0[k] + (-rho * t1 + 2.0 * rho * rho * t2 / dt) * j[k])
                    )
                sab[k] = acc
                rhs = du_w[k] * acc
                if p >= n_dpar:
                    rhs += _knot_value_sens(ii_w[k], ss_w[k], xk, slope_sens, p - n_dpar)
                fk[k] = rhs
                if not uniform:
                    num += area[k] * rhs / dk[k]
                    den += area[k] / dk[k]
            if uniform:
                dvp = 0.0
                for k in range(ns):
                    dvp += area[k] * fk[k] / wsum
            else:
                dvp = num / den
            ddv[p] = dvp
            for k in range(ns):
                r = radius[k]
                rho = r * r / d
                pref = 2.0 / (r * c_max)
                c3 = 1.5 * dt / (r * c_max)
                dj1 = 0.0 if uniform else (dvp - fk[k]) / dk[k]
                dxm[p, k] += c3 * (dj0[p, k] + dj1)
                dxs[p, k] = sab[k] + b_k[k] * dj1
                dpp[p, k] = pref * rho * dj1
                dqq[p, k] = pref * rho * rho * (dj1 - dj0[p, k]) / dt
                if isd:
                    dpp[p, k] -= ln10 * pref * rho * j[k]
                    dqq[p, k] -= ln10 * 2.0 * pref * rho * rho * (j[k] - j0[k]) / dt
                dj[p, k] = dj1
        # ---- states
        for k in range(ns):
            r = radius[k]
            rho = r * r / d
            pref = 2.0 / (r * c_max)
            c2 = pref * dt
            c3 = 1.5 * dt / (r * c_max)
            for m in range(neq[k]):
                z[k, m] = ew[k, m] * z[k, m] + c2 * (f0w[k, m] * j0[k] + f1w[k, m] * j[k])
                gl[k, m] = c2 * f1w[k, m]
            xm[k] += c3 * (j0[k] + j[k])
            xs[k] = a_k[k] + b_k[k] * j[k]
            pp[k] = pref * rho * j[k]
            qq[k] = pref * rho * rho * (j[k] - j0[k]) / dt
        out_ve[n] = v
        for p in range(npar):
            out_dve[n, p] = ddv[p]
        for k in range(ns):
            out_j[n, k] = j[k]
            out_eta[n, k], _ = _eta(j[k], i0, rt_f)
            out_xs[n, k] = xs[k]
            out_xmean[n, k] = xm[k]
    return status
