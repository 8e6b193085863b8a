"""The pore network in OpenPNM's dictionary format."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._constants import _KIND_NAMES, FACE_COLUMNS

__all__ = ["to_openpnm_dict"]


def to_openpnm_dict(nodes: pd.DataFrame, throats: pd.DataFrame) -> dict:
    """Convert the network tables to OpenPNM's dictionary format (SI units: m, m^2, m^3).

    Parameters
    ----------
    nodes, throats : pandas.DataFrame
        Tables from :func:`~batteryct.network.extract_network`.

    Returns
    -------
    dict of str -> ndarray
        ``pore.coords`` (Np, 3; m; columns in array-axis order z, y, x),
        ``pore.inscribed_diameter`` and ``pore.diameter`` (2 x pore radius, m),
        ``pore.volume`` (m^3), ``pore.coordination_number``, labels ``pore.junction``,
        ``pore.end``, ``pore.boundary``, ``pore.isolated``, ``pore.on_inlet_z`` ...
        ``pore.on_outlet_x`` (bool); ``throat.conns`` (Nt, 2; int64),
        ``throat.inscribed_diameter`` and ``throat.diameter`` (2 x ``min_radius_um``,
        m), ``throat.mean_diameter`` (m), ``throat.cross_sectional_area`` (smallest
        Voronoi section, m^2), ``throat.length`` (throat part of the conduit, m:
        OpenPNM's meaning, pore bodies excluded), ``throat.total_length`` (centre to
        centre along the skeleton, m), ``throat.conduit_lengths`` (Nt, 3: pore 1, throat,
        pore 2; m), ``throat.diffusive_size_factors`` (Nt, 3; ``1 / int ds / A`` of each
        part, m; ``inf`` for an empty part), ``throat.volume`` (m^3).

    See Also
    --------
    batteryct.io.write_npz : writes the dictionary to an ``.npz`` file.

    Notes
    -----
    ``pore.coords`` columns are in the order of the array axes, ``(z, y, x)``, like a
    PoreSpy network extracted from the same array (OpenPNM's first coordinate is our z).
    ``throat.diffusive_size_factors`` (pore 1, throat, pore 2) reproduce the
    ``"integrated"`` conductance of :func:`~batteryct.network.throat_conductance` with
    OpenPNM's ``generic_diffusive`` model (``g = D / sum(1 / S_i)``, zero-length parts as
    ``inf``). Written with :func:`batteryct.io.write_npz`, the network loads with::

        import numpy as np
        import openpnm as op

        d = dict(np.load("network.npz"))
        pn = op.network.Network(coords=d.pop("pore.coords"), conns=d.pop("throat.conns"))
        for key, value in d.items():
            pn[key] = value
    """
    um = 1e-6
    r = nodes["pore_radius_um"].to_numpy(np.float64)
    d = {
        "pore.coords": nodes[["z_um", "y_um", "x_um"]].to_numpy(np.float64) * um,
        "pore.inscribed_diameter": 2.0 * r * um,
        "pore.diameter": 2.0 * r * um,
        "pore.volume": nodes["volume_um3"].to_numpy(np.float64) * um**3,
        "pore.coordination_number": nodes["coordination_number"].to_numpy(np.int64),
    }
    kinds = nodes["kind"].astype(str).to_numpy()
    for k in _KIND_NAMES:
        d[f"pore.{k}"] = kinds == k
    for c in FACE_COLUMNS:
        d[f"pore.{c}"] = nodes[c].to_numpy(bool)
    res = throats[["resistance_a_per_um", "resistance_throat_per_um", "resistance_b_per_um"]].to_numpy(np.float64)
    safe = np.where(res > 0, res, 1.0)
    size_factors = np.where(res > 0, 1.0 / safe, np.inf) * um
    rt = throats["min_radius_um"].to_numpy(np.float64)
    d.update(
        {
            "throat.conns": throats[["node_a", "node_b"]].to_numpy(np.int64),
            "throat.inscribed_diameter": 2.0 * rt * um,
            "throat.diameter": 2.0 * rt * um,
            "throat.mean_diameter": 2.0 * throats["mean_radius_um"].to_numpy(np.float64) * um,
            "throat.cross_sectional_area": throats["min_area_um2"].to_numpy(np.float64) * um**2,
            "throat.length": throats["conduit_length_throat_um"].to_numpy(np.float64) * um,
            "throat.total_length": throats["length_um"].to_numpy(np.float64) * um,
            "throat.conduit_lengths": throats[
                ["conduit_length_a_um", "conduit_length_throat_um", "conduit_length_b_um"]
            ].to_numpy(np.float64)
            * um,
            "throat.diffusive_size_factors": size_factors,
            "throat.volume": throats["volume_um3"].to_numpy(np.float64) * um**3,
        }
    )
    return d
