"""Diffusive conductances of the throats and the effective diffusivity of a pore network."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import scipy.sparse as sp
import scipy.sparse.csgraph as csgraph
import scipy.sparse.linalg as spla

from .._checks import check_axis
from ._constants import AXES

__all__ = ["throat_conductance", "network_effective_diffusivity"]


def throat_conductance(nodes: pd.DataFrame, throats: pd.DataFrame, model: str = "integrated") -> np.ndarray:
    """Compute the diffusive conductance of every throat per unit bulk diffusivity, in um.

    Parameters
    ----------
    nodes, throats : pandas.DataFrame
        Tables from :func:`~batteryct.network.extract_network`.
    model : {"integrated", "pore_throat_pore"}, optional
        Conductance model (see Notes).

    Returns
    -------
    ndarray of float64, (Nt,)
        ``g`` in um (flux = ``D_bulk g dc``); ``inf`` for a throat of zero resistance.

    Raises
    ------
    ValueError
        If ``model`` is unknown.

    Notes
    -----
    * ``"integrated"`` (default): ``g = 1 / sum(resistance_*_per_um)``, i.e.
      ``1 / int ds / A(s)`` along the skeleton path with the Voronoi cross-sections
      (:func:`~batteryct.network.extract_network`, Notes, steps 7 and 8), or the
      two-point conductance of a contact throat (step 10);
    * ``"pore_throat_pore"``: three cylinders in series with the inscribed radii
      ``R_a``, ``min_radius_um`` and ``R_b`` over the three conduit lengths,
      ``g = 1 / (L_a / (pi R_a^2) + L_t / (pi r_min^2) + L_b / (pi R_b^2))`` (contact
      throats: ``R_a``, ``R_b`` over their two halves).
    """
    if model == "integrated":
        res = (
            throats["resistance_a_per_um"].to_numpy(np.float64)
            + throats["resistance_throat_per_um"].to_numpy(np.float64)
            + throats["resistance_b_per_um"].to_numpy(np.float64)
        )
    elif model == "pore_throat_pore":
        r = nodes["pore_radius_um"].to_numpy(np.float64)
        ra = r[throats["node_a"].to_numpy()]
        rb = r[throats["node_b"].to_numpy()]
        rt = throats["min_radius_um"].to_numpy(np.float64)
        res = (
            throats["conduit_length_a_um"].to_numpy() / (np.pi * ra**2)
            + throats["conduit_length_throat_um"].to_numpy() / (np.pi * rt**2)
            + throats["conduit_length_b_um"].to_numpy() / (np.pi * rb**2)
        )
    else:
        raise ValueError(f"unknown conductance model {model!r}")
    with np.errstate(divide="ignore"):
        return 1.0 / res


def network_effective_diffusivity(
    nodes: pd.DataFrame,
    throats: pd.DataFrame,
    axis: int = 0,
    box_length_um: float | None = None,
    cross_section_um2: float | None = None,
    *,
    conductance: str = "integrated",
    porosity: float | None = None,
) -> dict:
    """Compute the effective diffusivity of a pore network along one axis.

    Parameters
    ----------
    nodes, throats : pandas.DataFrame
        Tables from :func:`~batteryct.network.extract_network`.
    axis : int, optional
        Transport axis (0 = z = through-plane). ``c = 1`` on the nodes with
        ``on_inlet_<axis>``, ``c = 0`` on those with ``on_outlet_<axis>`` (a node on
        both counts as inlet).
    box_length_um : float, optional
        Box length along ``axis`` in um (default: ``nodes.attrs["box_um"][axis]``).
    cross_section_um2 : float, optional
        Box cross-section normal to ``axis`` in um^2 (default: from ``nodes.attrs``).
    conductance : {"integrated", "pore_throat_pore"}, optional
        Throat conductance model, see :func:`throat_conductance`.
    porosity : float, optional
        Total pore volume fraction for ``tortuosity_factor`` (default:
        ``nodes.attrs["porosity"]``; NaN if unknown).

    Returns
    -------
    dict
        ``deff_over_dbulk`` (``D_eff / D_bulk``, 0 without a connecting path),
        ``tortuosity_factor`` (``eps / (D_eff / D_bulk)``, inf without a path),
        ``porosity``, ``percolating``, ``flux_in``, ``flux_out`` (um: per unit
        ``D_bulk`` and concentration difference), ``flux_imbalance``,
        ``n_nodes_solved`` (unknown nodes), ``n_inlet``, ``n_outlet`` (Dirichlet nodes
        of the connected components), ``n_throats_solved``, ``concentration`` (per
        node, NaN outside the solved components), ``conductance``.

    Raises
    ------
    TypeError
        If ``axis`` is not an integer.
    ValueError
        If ``axis`` is out of range, the box is unknown (no ``box_um`` attribute and no
        explicit lengths) or not positive, the conductance model is unknown, or a
        conductance is negative or not finite.

    See Also
    --------
    batteryct.transport.tortuosity : the voxel finite-volume solution of the same problem.

    Notes
    -----
    Solves ``sum_j g_ij (c_i - c_j) = 0`` on the nodes (scipy.sparse, direct solve) with
    ``c = 1`` on the nodes touching the inlet face of ``axis`` and ``c = 0`` on those
    touching the outlet face, restricted to the graph components that join both;
    ``D_eff / D_bulk = J L / (A dc)`` with ``J`` the mean of the inlet and outlet fluxes
    (conductances in um, per unit bulk diffusivity, :func:`throat_conductance`) and
    ``tau = eps D_bulk / D_eff`` (TauFactor's definition, as
    :func:`batteryct.transport.tortuosity`).
    """
    axis = check_axis(axis)
    attrs = nodes.attrs
    if box_length_um is None or cross_section_um2 is None:
        if "box_um" not in attrs:
            raise ValueError(
                "box_length_um and cross_section_um2 are required when the node table carries no 'box_um' attribute"
            )
        box = attrs["box_um"]
        if box_length_um is None:
            box_length_um = box[axis]
        if cross_section_um2 is None:
            cross_section_um2 = float(np.prod([box[d] for d in range(3) if d != axis]))
    if not (box_length_um > 0 and cross_section_um2 > 0):
        raise ValueError("box_length_um and cross_section_um2 must be positive")
    if porosity is None:
        porosity = attrs.get("porosity", float("nan"))
    n = len(nodes)
    a = throats["node_a"].to_numpy(np.int64)
    b = throats["node_b"].to_numpy(np.int64)
    g = throat_conductance(nodes, throats, conductance)
    if np.any(~np.isfinite(g)) or np.any(g < 0):
        raise ValueError("throat conductances must be finite and >= 0")
    inlet = nodes[f"on_inlet_{AXES[axis]}"].to_numpy(bool)
    outlet = nodes[f"on_outlet_{AXES[axis]}"].to_numpy(bool) & ~inlet
    conc = np.full(n, np.nan)
    result = dict(
        deff_over_dbulk=0.0,
        tortuosity_factor=math.inf,
        porosity=porosity,
        percolating=False,
        flux_in=0.0,
        flux_out=0.0,
        flux_imbalance=0.0,
        n_nodes_solved=0,
        n_inlet=0,
        n_outlet=0,
        n_throats_solved=0,
        concentration=conc,
        conductance=conductance,
    )
    if n == 0 or a.size == 0:
        return result
    adj = sp.coo_matrix((np.ones(a.size), (a, b)), shape=(n, n)).tocsr()
    ncomp, comp = csgraph.connected_components(adj, directed=False)
    has_in = np.zeros(ncomp, bool)
    has_out = np.zeros(ncomp, bool)
    has_in[comp[inlet]] = True
    has_out[comp[outlet]] = True
    active = (has_in & has_out)[comp]
    if not active.any():
        return result
    unknown = active & ~inlet & ~outlet
    m = int(unknown.sum())
    idx = np.full(n, -1, np.int64)
    idx[unknown] = np.arange(m)
    tsel = active[a]
    a_s, b_s, g_s = a[tsel], b[tsel], g[tsel]
    val = np.zeros(n)
    val[inlet] = 1.0
    ia, ib = idx[a_s], idx[b_s]
    diag = np.zeros(m)
    rhs = np.zeros(m)
    np.add.at(diag, ia[ia >= 0], g_s[ia >= 0])
    np.add.at(diag, ib[ib >= 0], g_s[ib >= 0])
    both = (ia >= 0) & (ib >= 0)
    ua = (ia >= 0) & (ib < 0)
    ub = (ib >= 0) & (ia < 0)
    np.add.at(rhs, ia[ua], g_s[ua] * val[b_s[ua]])
    np.add.at(rhs, ib[ub], g_s[ub] * val[a_s[ub]])
    c = val.copy()
    if m:
        mat = sp.coo_matrix(
            (
                np.concatenate([-g_s[both], -g_s[both], diag]),
                (
                    np.concatenate([ia[both], ib[both], np.arange(m)]),
                    np.concatenate([ib[both], ia[both], np.arange(m)]),
                ),
            ),
            shape=(m, m),
        ).tocsc()
        zero = diag <= 0  # unknowns without any conductance would make it singular
        if zero.any():
            mat = mat + sp.diags(zero.astype(float), format="csc")
        c[unknown] = spla.spsolve(mat, rhs)
    conc[active] = c[active]
    fin = 0.0
    fout = 0.0
    for p, q in ((a_s, b_s), (b_s, a_s)):
        s_in = inlet[p] & ~inlet[q]
        fin += float(np.sum(g_s[s_in] * (1.0 - c[q[s_in]])))
        s_out = outlet[p] & ~outlet[q]
        fout += float(np.sum(g_s[s_out] * c[q[s_out]]))
    flux = 0.5 * (fin + fout)
    deff = flux * box_length_um / cross_section_um2
    result.update(
        deff_over_dbulk=deff,
        tortuosity_factor=porosity / deff if deff > 0 else math.inf,
        percolating=True,
        flux_in=fin,
        flux_out=fout,
        flux_imbalance=abs(fin - fout) / flux if flux > 0 else 0.0,
        n_nodes_solved=m,
        n_inlet=int((inlet & active).sum()),
        n_outlet=int((outlet & active).sum()),
        n_throats_solved=int(tsel.sum()),
        concentration=conc,
    )
    return result
