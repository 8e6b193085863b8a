"""batteryct: X-ray CT of battery powders and electrodes.

Conventions used by every module
--------------------------------
* Projections are arrays ``(n_projections, n_rows, n_columns)``; rows run along the
  rotation axis. Angles are in radians inside the library (files may store degrees).
* Volumes are ``(z, y, x)``; ``z`` is the rotation axis, one slice per detector row.
* Geometry (parallel beam): a voxel centre at in-slice coordinates ``(x, y)`` in pixels,
  measured from the centre of the reconstruction grid (``(n - 1) / 2`` in index units),
  projects at angle ``theta`` onto the detector column
  ``u = x * cos(theta) + y * sin(theta) + center_px``, where ``center_px`` is the
  (sub-pixel) detector column of the rotation axis, pixel centres at integers.
* Lengths carry their unit in the name (``pixel_size_um``); attenuation is in 1/um.
* The library never imports snakemake.
"""

__version__ = "0.1.0"
