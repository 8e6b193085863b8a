"""The mutable network graph of the cleaning passes and the node / throat tables built from it."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ._constants import (
    _BOUNDARY,
    _END,
    _ISOLATED,
    _JUNCTION,
    _KIND_NAMES,
    _N_PROPS,
    _P_AMIN,
    _P_CONTACT,
    _P_LA,
    _P_LB,
    _P_LEN,
    _P_LT,
    _P_NVOX,
    _P_RA,
    _P_RB,
    _P_RINT,
    _P_RMIN,
    _P_RT,
    _P_VOL,
    FACE_COLUMNS,
)


class _Graph:
    """Mutable multigraph of nodes and oriented throats used by the cleaning passes."""

    def __init__(self, pos, radius, kind, faces, nvox, volume, pairs, props):
        self.pos = pos
        self.r = radius
        self.kind = kind
        self.faces = faces
        self.nvox = nvox
        self.volume = volume
        self.alive = np.ones(len(radius), bool)
        self.absorbed = np.arange(len(radius))  # node whose cell takes this node's voxels
        self.a = [int(x) for x in pairs[:, 0]]
        self.b = [int(x) for x in pairs[:, 1]]
        self.p = [list(map(float, row)) for row in props]
        self.t_alive = [True] * len(self.a)
        self.adj = [[] for _ in range(len(radius))]
        for t, (a, b) in enumerate(zip(self.a, self.b)):
            self.adj[a].append(t)
            self.adj[b].append(t)

    def degree(self, n):
        return len(self.adj[n])

    def other(self, t, n):
        return self.b[t] if self.a[t] == n else self.a[t]

    def oriented(self, t, n):
        """Throat properties with ``n`` as end ``a``."""
        p = list(self.p[t])
        if self.a[t] != n:
            p[_P_LA], p[_P_LB] = p[_P_LB], p[_P_LA]
            p[_P_RA], p[_P_RB] = p[_P_RB], p[_P_RA]
        return p

    def remove_throat(self, t):
        self.t_alive[t] = False
        self.adj[self.a[t]].remove(t)
        self.adj[self.b[t]].remove(t)

    def add_throat(self, a, b, p):
        if a == b:  # self-loop: carries no flux between nodes
            self.volume[a] += p[_P_VOL]
            return
        self.a.append(a)
        self.b.append(b)
        self.p.append(p)
        self.t_alive.append(True)
        t = len(self.a) - 1
        self.adj[a].append(t)
        self.adj[b].append(t)

    def add_node(self, pos, radius, kind, faces):
        self.pos = np.vstack([self.pos, pos[None, :]])
        self.r = np.append(self.r, radius)
        self.kind = np.append(self.kind, np.int8(kind))
        self.faces = np.vstack([self.faces, faces[None, :]])
        self.nvox = np.append(self.nvox, 0)
        self.volume = np.append(self.volume, 0.0)
        self.alive = np.append(self.alive, True)
        self.absorbed = np.append(self.absorbed, len(self.r) - 1)
        self.adj.append([])
        return len(self.r) - 1

    def movable(self, n):
        return self.kind[n] != _BOUNDARY

    def prune_spurs(self, factor):
        changed = False
        for n in range(len(self.r)):
            if not self.alive[n] or not self.movable(n) or self.degree(n) != 1:
                continue
            t = self.adj[n][0]
            j = self.other(t, n)
            if self.degree(j) >= 3 and self.p[t][_P_LEN] < factor * self.r[j]:
                self.volume[j] += self.volume[n] + self.p[t][_P_VOL]
                self.nvox[j] += self.nvox[n]
                self.remove_throat(t)
                self.alive[n] = False
                self.absorbed[n] = j
                changed = True
        return changed

    def merge_junctions(self, factor):
        changed = False
        order = sorted((self.p[t][_P_LEN], t) for t in range(len(self.a)) if self.t_alive[t])
        for _, t in order:
            if not self.t_alive[t]:
                continue
            a, b = self.a[t], self.b[t]
            if not (self.movable(a) and self.movable(b)):
                continue
            if self.p[t][_P_LEN] >= factor * max(self.r[a], self.r[b]):
                continue
            keep, gone = (a, b) if (self.r[a], -a) >= (self.r[b], -b) else (b, a)
            delta = float(np.sqrt(np.sum((self.pos[keep] - self.pos[gone]) ** 2)))
            rk = self.r[keep]
            self.volume[keep] += self.volume[gone] + self.p[t][_P_VOL]
            self.nvox[keep] += self.nvox[gone]
            self.remove_throat(t)
            for t2 in list(self.adj[gone]):
                x = self.other(t2, gone)
                p = self.oriented(t2, gone)
                self.remove_throat(t2)
                p[_P_LEN] += delta
                p[_P_RINT] += rk * delta
                p[_P_LA] += delta
                p[_P_RA] += delta / (math.pi * rk * rk)
                self.add_throat(keep, x, p)
            self.alive[gone] = False
            self.absorbed[gone] = keep
            self.faces[keep] |= self.faces[gone]
            changed = True
        return changed

    def dissolve_degree2(self):
        changed = False
        for n in range(len(self.r)):
            if not self.alive[n] or not self.movable(n) or self.degree(n) != 2:
                continue
            t1, t2 = self.adj[n]
            a, b = self.other(t1, n), self.other(t2, n)
            if a == b:
                continue
            p1 = self.oriented(t1, a)  # a -> n
            p2 = self.oriented(t2, n)  # n -> b
            p = [0.0] * _N_PROPS
            p[_P_LEN] = p1[_P_LEN] + p2[_P_LEN]
            p[_P_RMIN] = min(p1[_P_RMIN], p2[_P_RMIN])
            p[_P_RINT] = p1[_P_RINT] + p2[_P_RINT]
            p[_P_LA] = p1[_P_LA]
            p[_P_LT] = p1[_P_LT] + p1[_P_LB] + p2[_P_LA] + p2[_P_LT]
            p[_P_LB] = p2[_P_LB]
            p[_P_RA] = p1[_P_RA]
            p[_P_RT] = p1[_P_RT] + p1[_P_RB] + p2[_P_RA] + p2[_P_RT]
            p[_P_RB] = p2[_P_RB]
            p[_P_NVOX] = p1[_P_NVOX] + p2[_P_NVOX] + self.nvox[n]
            p[_P_VOL] = p1[_P_VOL] + p2[_P_VOL] + self.volume[n]
            p[_P_AMIN] = min(p1[_P_AMIN], p2[_P_AMIN])
            self.remove_throat(t1)
            self.remove_throat(t2)
            self.add_throat(a, b, p)
            self.alive[n] = False
            self.absorbed[n] = -1  # its voxels now lie on a throat
            changed = True
        return changed

    def final_node(self):
        """Alive node taking over each node's voxels (-1: none, they lie on a throat)."""
        f = self.absorbed.copy()
        for _ in range(len(f)):
            nxt = np.where(f >= 0, self.absorbed[np.maximum(f, 0)], -1)
            nxt = np.where(f >= 0, nxt, -1)
            if np.array_equal(nxt, f):
                break
            f = nxt
        return f


def _tables(g: _Graph):
    keep = np.flatnonzero(g.alive)
    new_id = np.full(len(g.alive), -1, np.int64)
    new_id[keep] = np.arange(keep.size)
    tl = [t for t in range(len(g.a)) if g.t_alive[t]]
    ta = new_id[np.array([g.a[t] for t in tl], np.int64)]
    tb = new_id[np.array([g.b[t] for t in tl], np.int64)]
    tp = np.array([g.p[t] for t in tl], np.float64).reshape(-1, _N_PROPS)
    swap = ta > tb
    ta, tb = np.where(swap, tb, ta), np.where(swap, ta, tb)
    perm = list(range(_N_PROPS))
    perm[_P_LA], perm[_P_LB] = _P_LB, _P_LA
    perm[_P_RA], perm[_P_RB] = _P_RB, _P_RA
    tp[swap] = tp[swap][:, perm]
    order = np.lexsort((tp[:, _P_LEN], tb, ta))
    ta, tb, tp = ta[order], tb[order], tp[order]
    coord = np.bincount(np.concatenate([ta, tb]), minlength=keep.size)
    skel_t = tp[:, _P_CONTACT] == 0
    coord_skel = np.bincount(np.concatenate([ta[skel_t], tb[skel_t]]), minlength=keep.size)
    kinds = g.kind[keep].copy()
    nonb = kinds != _BOUNDARY
    kinds[nonb & (coord_skel == 0)] = _ISOLATED
    kinds[nonb & (coord_skel == 1)] = _END
    kinds[nonb & (coord_skel >= 2)] = _JUNCTION
    nodes = pd.DataFrame(
        {
            "node_id": np.arange(keep.size, dtype=np.int64),
            "z_um": g.pos[keep, 0],
            "y_um": g.pos[keep, 1],
            "x_um": g.pos[keep, 2],
            "pore_radius_um": g.r[keep],
            "kind": np.array(_KIND_NAMES, dtype=object)[kinds],
            "coordination_number": coord.astype(np.int64),
            "skeleton_coordination": coord_skel.astype(np.int64),
            **{c: g.faces[keep, i].copy() for i, c in enumerate(FACE_COLUMNS)},
            "volume_um3": g.volume[keep],
            "n_voxels": g.nvox[keep],
        }
    )
    length = tp[:, _P_LEN]
    throats = pd.DataFrame(
        {
            "throat_id": np.arange(ta.size, dtype=np.int64),
            "node_a": ta,
            "node_b": tb,
            "kind": np.where(skel_t, "skeleton", "contact").astype(object),
            "length_um": length,
            "min_radius_um": tp[:, _P_RMIN],
            "mean_radius_um": np.divide(tp[:, _P_RINT], length, out=tp[:, _P_RMIN].copy(), where=length > 0),
            "min_area_um2": tp[:, _P_AMIN],
            "conduit_length_a_um": tp[:, _P_LA],
            "conduit_length_throat_um": tp[:, _P_LT],
            "conduit_length_b_um": tp[:, _P_LB],
            "resistance_a_per_um": tp[:, _P_RA],
            "resistance_throat_per_um": tp[:, _P_RT],
            "resistance_b_per_um": tp[:, _P_RB],
            "volume_um3": tp[:, _P_VOL],
            "n_voxels": tp[:, _P_NVOX].astype(np.int64),
        }
    )
    return nodes, throats
