"""Where the random walkers start: whole pore clusters that are infinite in the continued medium."""

from __future__ import annotations

import cc3d
import numpy as np

from .. import _checks


def _periodic_roots(labels: np.ndarray, n: int):
    """Union-find over the 6-connected pieces of the box across periodic faces.

    Returns ``(root, wound)``: the periodic cluster (root piece) of every piece ``0..n``
    and, per root, whether the cluster winds around the torus (is infinite in the
    periodic tiling). Each piece carries the integer image offset of its copy relative
    to its root's copy; a face connection between two pieces already in one cluster
    whose offsets disagree closes a non-contractible loop.
    """
    parent = np.arange(n + 1)
    offset = np.zeros((n + 1, 3), np.int64)
    wound = np.zeros(n + 1, bool)

    def find(a):
        off = np.zeros(3, np.int64)
        path = []
        while parent[a] != a:
            path.append(a)
            a = parent[a]
        # path compression, offsets re-expressed relative to the root
        acc = np.zeros(3, np.int64)
        for p in reversed(path):
            acc = acc + offset[p]
            offset[p] = acc
            parent[p] = a
        if path:
            off = offset[path[0]].copy()
        return a, off

    for d in range(3):
        last = np.take(labels, -1, axis=d).reshape(-1)
        first = np.take(labels, 0, axis=d).reshape(-1)
        keep = (last > 0) & (first > 0)
        if not keep.any():
            continue
        pairs = np.unique(np.stack([last[keep], first[keep]], axis=1).astype(np.int64), axis=0)
        e = np.zeros(3, np.int64)
        e[d] = 1
        for a, b in pairs:
            # the copy of piece b next to piece a's copy sits one period further along d
            ra, oa = find(int(a))
            rb, ob = find(int(b))
            want = oa + e  # offset of b's copy relative to ra's copy
            if ra == rb:
                if np.any(want != ob):
                    wound[ra] = True
            else:
                parent[rb] = ra
                offset[rb] = want - ob
                wound[ra] = wound[ra] or wound[rb]
    root = np.array([find(i)[0] for i in range(n + 1)], np.int64)
    wound_root = np.zeros(n + 1, bool)
    wound_root[root[wound]] = True  # a wound flag may sit on a piece that was re-rooted
    return root, wound_root


def walker_start_set(pore_mask: np.ndarray, boundary: str = "mirror", start_in: str = "spanning"):
    """Select the pore voxels the walkers start in (whole 6-connected clusters).

    Parameters
    ----------
    pore_mask : ndarray of bool, (z, y, x)
        True in the pore phase (integer arrays: non-zero = pore).
    boundary : {"mirror", "periodic"}
        Continuation of the image at its faces (see :func:`random_walk_tortuosity`,
        Notes).
    start_in : {"spanning", "largest", "all"}
        ``"spanning"``: the clusters that are infinite in the continued medium (mirror:
        touching both faces normal to at least one axis; periodic: winding around the
        torus). ``"largest"``: the largest such cluster. ``"all"``: every pore voxel.

    Returns
    -------
    dict
        ``mask`` : ndarray of bool, (z, y, x), the start set ``W``.
        ``n_clusters`` : int, number of pore clusters (6-connected; periodic: across
        the faces too). ``n_spanning`` : int, how many are infinite.
        ``spanning_axes`` : (3,) bool, mirror mode: whether some cluster spans each
        axis ``(z, y, x)``; periodic mode: whether some cluster winds at all (same value
        thrice).
        ``spanning_fraction`` : float, volume fraction (of the image) of the infinite
        clusters.

    Raises
    ------
    ValueError
        If the mask is not 3-D or is empty, or ``boundary`` / ``start_in`` is unknown.
    TypeError
        If the mask is neither boolean nor integer.

    Examples
    --------
    >>> import numpy as np
    >>> m = np.zeros((8, 8, 8), bool)
    >>> m[:, 2, 2] = True  # spans z
    >>> m[3, 5, 5] = True  # an isolated voxel
    >>> s = walker_start_set(m)
    >>> int(s["mask"].sum()), s["n_clusters"], s["n_spanning"], s["spanning_axes"].tolist()
    (8, 2, 1, [True, False, False])
    """
    mask = _checks.as_mask_3d(pore_mask, "pore_mask")
    if boundary not in ("mirror", "periodic"):
        raise ValueError(f"boundary must be 'mirror' or 'periodic', got {boundary!r}")
    if start_in not in ("spanning", "largest", "all"):
        raise ValueError(f"start_in must be 'spanning', 'largest' or 'all', got {start_in!r}")
    labels, n = cc3d.connected_components(mask, connectivity=6, return_N=True)
    counts = np.bincount(labels.reshape(-1), minlength=n + 1).astype(np.int64)
    if boundary == "mirror":
        span = np.zeros(n + 1, bool)
        axes = np.zeros(3, bool)
        for d in range(3):
            first = np.zeros(n + 1, bool)
            last = np.zeros(n + 1, bool)
            first[np.unique(np.take(labels, 0, axis=d))] = True
            last[np.unique(np.take(labels, -1, axis=d))] = True
            both = first & last
            both[0] = False
            axes[d] = bool(both.any())
            span |= both
        root = np.arange(n + 1)
        n_clusters = int(n)
    else:
        root, wound = _periodic_roots(labels, int(n))
        span = wound[root]
        span[0] = False
        roots = np.unique(root[1:]) if n else np.zeros(0, np.int64)
        n_clusters = int(roots.size)
        axes = np.full(3, bool(span.any()))
    # cluster volumes (by root) and the selection
    cluster_size = np.bincount(root, weights=counts, minlength=n + 1)
    cluster_size[0] = 0
    spanning_roots = np.unique(root[span])
    n_spanning = int(spanning_roots.size)
    if start_in == "all":
        take = np.ones(n + 1, bool)
    elif start_in == "spanning":
        take = span.copy()
    else:
        take = np.zeros(n + 1, bool)
        if n_spanning:
            best = spanning_roots[np.argmax(cluster_size[spanning_roots])]
            take = root == best
    take[0] = False
    return {
        "mask": take[labels],
        "n_clusters": n_clusters,
        "n_spanning": n_spanning,
        "spanning_axes": axes,
        "spanning_fraction": float(counts[span].sum()) / mask.size,
    }
