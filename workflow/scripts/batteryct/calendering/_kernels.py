"""Numba kernel of the nip integrator (the per-step loop of :func:`.nip.nip_exit_porosity`)."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def relax_steps(eps0, eq, decay, irreversible):  # pragma: no cover - numba
    """Return the porosity after the steps: ``eps <- eq + (eps - eq) decay`` per step.

    ``eps0`` has shape (n,), ``eq`` and ``decay`` shape (n, m); with ``irreversible`` a step
    only acts where ``eps > eq`` (compaction branch).
    """
    n, m = eq.shape
    out = np.empty(n)
    for i in range(n):
        e = eps0[i]
        for k in range(m):
            target = eq[i, k]
            if not irreversible or e > target:
                e = target + (e - target) * decay[i, k]
        out[i] = e
    return out
