"""Spherical diffusion: the solver against Crank's series, mass conservation, size ensembles."""

import numpy as np
import pytest

from batteryct import diffusion

F = diffusion.FARADAY_C_MOL
RT_F = diffusion.GAS_CONSTANT_J_MOL_K * 298.15 / F


def test_analytic_series_known_values():
    # Crank eq. 6.33 at r = a and eq. 6.20: the values of the task, to their 6 digits
    np.testing.assert_allclose(
        diffusion.crank_constant_flux_surface([0.01, 0.1, 0.3]), [0.123643, 0.486762, 1.09977], rtol=5e-6
    )
    assert diffusion.crank_dirichlet_uptake(0.01) == pytest.approx(0.308514, rel=2e-6)
    # short times: 2 sqrt(T / pi) (surface) and 6 sqrt(T / pi) - 3T (uptake)
    t = 1e-8
    assert diffusion.crank_constant_flux_surface(t) == pytest.approx(2 * np.sqrt(t / np.pi) + t, rel=1e-4)
    assert diffusion.crank_dirichlet_uptake(t) == pytest.approx(6 * np.sqrt(t / np.pi) - 3 * t, rel=1e-6)
    # long times: 3T + 1/5 and 1
    assert diffusion.crank_constant_flux_surface(5.0) == pytest.approx(15.2, rel=1e-14)
    assert diffusion.crank_dirichlet_uptake(5.0) == pytest.approx(1.0, abs=1e-15)
    np.testing.assert_allclose(diffusion.sphere_flux_roots(3), [4.493409457909, 7.725251836938, 10.904121659428])


def test_constant_flux_solver_matches_crank_and_conserves_mass():
    tt = np.array([0.01, 0.1, 0.3])
    t = np.union1d(np.concatenate([[0.0], np.geomspace(1e-7, 1.2, 800)]), np.r_[tt, 4 * tt])
    sol = diffusion.solve_sphere(
        [1.0, 2.0], t, diffusivity_m2_s=1.0, initial_concentration_mol_m3=0.0, surface_flux_mol_m2_s=1.0, n_shells=200
    )
    ref = [0.123643, 0.486762, 1.09977]
    # radius 1: Delta c_s D / (j R) directly; radius 2: at 4 T, divided by R = 2
    np.testing.assert_allclose(sol.surface_concentration_mol_m3[np.searchsorted(t, tt), 0], ref, rtol=1e-4)
    np.testing.assert_allclose(sol.surface_concentration_mol_m3[np.searchsorted(t, 4 * tt), 1] / 2, ref, rtol=1e-4)
    np.testing.assert_allclose(sol.mean_concentration_mol_m3[-1], 3 * t[-1] / sol.radius_m, rtol=1e-12)
    # moles change = time integral of flux x area, to round-off
    inflow = 4 * np.pi * sol.radius_m**2 * np.sum(sol.surface_flux_mol_m2_s[1:] * np.diff(t)[:, None], axis=0)
    np.testing.assert_allclose(sol.moles_mol[-1] - sol.moles_mol[0], inflow, rtol=1e-10)


def test_dirichlet_uptake():
    t = np.concatenate([[0.0], np.geomspace(1e-8, 0.01, 800)])
    sol = diffusion.solve_sphere(
        1.0, t, diffusivity_m2_s=1.0, initial_concentration_mol_m3=0.0, surface_concentration_mol_m3=1.0, n_shells=200
    )
    assert sol.mean_concentration_mol_m3[-1, 0] == pytest.approx(0.308514, rel=1e-4)
    np.testing.assert_allclose(sol.surface_concentration_mol_m3[1:, 0], 1.0)
    inflow = 4 * np.pi * np.sum(sol.surface_flux_mol_m2_s[1:, 0] * np.diff(t))
    assert sol.moles_mol[-1, 0] - sol.moles_mol[0, 0] == pytest.approx(inflow, rel=1e-10)


def _method_of_lines_reference(d_of_c, j, t_end, n=400):
    """Independent reference: uniform cell-centred finite volumes + scipy's BDF (tight tolerances)."""
    from scipy.integrate import solve_ivp
    from scipy.sparse import diags

    h = 1.0 / n
    faces = np.arange(n + 1) * h
    vol = np.diff(faces**3) / 3
    area = faces[1:-1] ** 2

    def rhs(_t, c):
        flux = d_of_c(0.5 * (c[1:] + c[:-1])) * area * np.diff(c) / h
        dc = np.zeros(n)
        dc[:-1] += flux
        dc[1:] -= flux
        dc[-1] += j
        return dc / vol

    sparsity = diags([1.0, 1.0, 1.0], [-1, 0, 1], shape=(n, n))
    sol = solve_ivp(rhs, (0, t_end), np.zeros(n), method="BDF", rtol=1e-10, atol=1e-13, jac_sparsity=sparsity)
    centres = 0.5 * (faces[1:] + faces[:-1])
    return centres, sol.y[:, -1]


def test_concentration_dependent_diffusivity_against_method_of_lines():
    b = 2.0

    def d_of_c(c):
        return 0.2 * (1.0 + b * c)

    j, t_end = 0.3, 0.3
    t = np.concatenate([[0.0], np.geomspace(1e-6, t_end, 300)])
    sol = diffusion.solve_sphere(
        1.0, t, diffusivity_m2_s=d_of_c, initial_concentration_mol_m3=0.0, surface_flux_mol_m2_s=j, n_shells=120
    )
    r_ref, c_ref = _method_of_lines_reference(d_of_c, j, t_end)
    inner = sol.node_radius_m[0] <= r_ref[-1]
    c_at_nodes = np.interp(sol.node_radius_m[0, inner], r_ref, c_ref)
    span = np.ptp(c_ref)
    assert span > 0.05  # a real gradient: D varies by ~ 10 % across the particle
    # agreement to 1e-3 of the span (D frozen at the mean concentration is off by ~ 5e-2)
    np.testing.assert_allclose(sol.concentration_mol_m3[-1, 0, inner], c_at_nodes, rtol=0, atol=1e-3 * span)
    inflow = 4 * np.pi * j * t_end
    assert sol.moles_mol[-1, 0] - sol.moles_mol[0, 0] == pytest.approx(inflow, rel=1e-10)
    # the ensemble kernel (tabulated D(c), uniform split) solves the same problem
    c_max = 2.0
    res = diffusion.simulate_ensemble(
        [1.0], [1.0], t, np.full(t.size, j * F * 3.0), diffusivity_m2_s=d_of_c, ocv_V=lambda x: 4.0 - x,
        exchange_current_density_A_m2=1e3, temperature_K=298.15, active_volume_m3=1.0,
        max_concentration_mol_m3=c_max, initial_stoichiometry=0.0, split="uniform", n_shells=120,
        grading=10.0, switch_substeps=0,
    )  # fmt: skip
    np.testing.assert_allclose(
        res.surface_stoichiometry[1:, 0] * c_max, sol.surface_concentration_mol_m3[1:, 0], rtol=1e-5
    )


def _pulse(t_on=200.0, t_rest=2000.0):
    t = np.concatenate([[0.0], np.geomspace(0.01, t_on, 80), t_on + np.geomspace(0.01, t_rest, 80)])
    i = np.where(t <= t_on, 2e-3, 0.0)
    i[0] = 0.0
    return t, i


KW = dict(
    ocv_V=lambda x: 4.3 - 0.9 * x,
    exchange_current_density_A_m2=2.0,
    temperature_K=298.15,
    active_volume_m3=1e-9,
    max_concentration_mol_m3=5e4,
    initial_stoichiometry=0.4,
)


def test_two_sizes_share_the_potential():
    t, i = _pulse()
    res = diffusion.simulate_ensemble([1.5e-6, 6e-6], [0.5, 0.5], t, i, diffusivity_m2_s=2e-15, **KW)
    i_small, i_large = res.current_density_A_m2[:, 0], res.current_density_A_m2[:, 1]
    on = (t > 0) & (t <= 200.0)
    # the small particles fill up first (3 j t / R), their OCV falls: current moves to the large ones
    assert i_large[on][-1] > 1.3 * i_small[on][-1] > 0
    assert i_large[on][-1] > i_large[on][len(i_large[on]) // 2] > i_large[on][0]
    # in the rest the small particles hand lithium to the large ones, at zero net current
    rest = t > 200.0
    assert np.all(i_small[rest][:-1] < 0) and np.all(i_large[rest][:-1] > 0)
    np.testing.assert_allclose(res.current_density_A_m2 @ res.surface_area_m2, i, rtol=1e-10, atol=1e-10 * 2e-3)
    # lithium conserved: sum_k phi_k x_mean_k follows the charge
    charge = np.concatenate([[0.0], np.cumsum(i[1:] * np.diff(t))])
    x_bar = res.mean_stoichiometry @ np.array([0.5, 0.5])
    np.testing.assert_allclose(x_bar - 0.4, charge / (F * 5e4 * 1e-9), rtol=1e-10, atol=1e-15)
    # and in the rest the sizes approach one surface stoichiometry (one potential, no current)
    gap = np.abs(np.diff(res.surface_stoichiometry, axis=1))[:, 0]
    assert gap[-1] < 0.5 * gap[rest][0] and gap[-1] < 0.2 * gap[on].max()


def test_uniform_split_is_the_single_particle_solver():
    t, i = _pulse()
    r = np.array([1.5e-6, 6e-6])
    res = diffusion.simulate_ensemble(r, [0.3, 0.7], t, i, diffusivity_m2_s=2e-15, split="uniform", **KW)
    flux = i / (F * res.surface_area_m2.sum())
    sol = diffusion.solve_sphere(
        r, t, diffusivity_m2_s=2e-15, initial_concentration_mol_m3=0.4 * 5e4, surface_flux_mol_m2_s=flux, n_shells=24,
        grading=16.0,
    )  # fmt: skip
    # same discretisation (the ensemble sub-steps the switches: compare without them)
    res0 = diffusion.simulate_ensemble(
        r, [0.3, 0.7], t, i, diffusivity_m2_s=2e-15, split="uniform", switch_substeps=0, **KW
    )
    np.testing.assert_allclose(res0.surface_stoichiometry * 5e4, sol.surface_concentration_mol_m3, rtol=1e-12)
    np.testing.assert_allclose(res0.mean_stoichiometry * 5e4, sol.mean_concentration_mol_m3, rtol=1e-12)
    # with sub-steps the answer moves by less than the discretisation error
    np.testing.assert_allclose(res.surface_stoichiometry, res0.surface_stoichiometry, atol=2e-4)
    np.testing.assert_allclose(res.current_density_A_m2, np.repeat(flux[:, None] * F, 2, axis=1), rtol=1e-12)


def test_one_size_is_a_single_particle_with_butler_volmer():
    t, i = _pulse()
    res = diffusion.simulate_ensemble([4e-6], [1.0], t, i, diffusivity_m2_s=2e-15, series_resistance_ohm=5.0, **KW)
    area = res.surface_area_m2[0]
    assert area == pytest.approx(3 * 1e-9 / 4e-6)
    flux = i / (F * area)
    sol = diffusion.solve_sphere(
        4e-6, t, diffusivity_m2_s=2e-15, initial_concentration_mol_m3=0.4 * 5e4, surface_flux_mol_m2_s=flux,
        n_shells=24, grading=16.0,
    )  # fmt: skip
    res0 = diffusion.simulate_ensemble(
        [4e-6], [1.0], t, i, diffusivity_m2_s=2e-15, series_resistance_ohm=5.0, switch_substeps=0, **KW
    )
    xs = sol.surface_concentration_mol_m3[:, 0] / 5e4
    np.testing.assert_allclose(res0.surface_stoichiometry[:, 0], xs, rtol=1e-12)
    eta = 2 * RT_F * np.arcsinh(flux * F / (2 * 2.0))
    np.testing.assert_allclose(res0.overpotential_V[:, 0], eta, atol=1e-12)
    np.testing.assert_allclose(res0.voltage_V, 4.3 - 0.9 * xs - eta - 5.0 * i, atol=1e-11)


def test_argument_errors():
    t, i = _pulse()
    with pytest.raises(ValueError, match="volume_fraction must sum to 1"):
        diffusion.simulate_ensemble([1e-6, 2e-6], [0.5, 0.6], t, i, diffusivity_m2_s=1e-15, **KW)
    with pytest.raises(ValueError, match="split must be one of"):
        diffusion.simulate_ensemble([1e-6], [1.0], t, i, diffusivity_m2_s=1e-15, split="equal", **KW)
    with pytest.raises(ValueError, match="current_A must have the shape of time_s"):
        diffusion.simulate_ensemble([1e-6], [1.0], t, i[:-1], diffusivity_m2_s=1e-15, **KW)
    with pytest.raises(ValueError, match="radius_m must be > 0"):
        diffusion.solve_sphere([1.0, -1.0], t, diffusivity_m2_s=1.0, initial_concentration_mol_m3=0.0,
                               surface_flux_mol_m2_s=1.0)  # fmt: skip
    with pytest.raises(ValueError, match="exactly one of"):
        diffusion.solve_sphere(1.0, t, diffusivity_m2_s=1.0, initial_concentration_mol_m3=0.0)
    with pytest.raises(ValueError, match="time_s must be strictly increasing"):
        diffusion.solve_sphere(1.0, [0.0, 1.0, 1.0], diffusivity_m2_s=1.0, initial_concentration_mol_m3=0.0,
                               surface_flux_mol_m2_s=1.0)  # fmt: skip
    with pytest.raises(ValueError, match="grading must be >= 1"):
        diffusion.sphere_grid(10, 0.5)
