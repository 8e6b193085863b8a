# Job resources from the scan's voxel count (batteryct.resources: the model and its figures).
from functools import lru_cache

from batteryct import resources as job_model


@lru_cache(maxsize=None)
def scan_voxels(sample, scan):
    """Voxels of the scan's volume: the virtual scanner's n_voxels^3, else the header of the
    labels or projections file, else None (the model's default, 256^3)."""
    key = f"{sample}/{scan}"
    if key in SIMULATED and not is_labels_scan(sample, scan):
        return int(SIMULATED[key]["n_voxels"]) ** 3
    row = SCAN_ROWS.get((sample, scan))
    if row is None:
        return None
    # imported here: batteryct.io loads h5py and pandas, which a campaign of virtual scans never needs
    from batteryct.io.shapes import declared_projection_voxels, declared_volume_voxels

    if is_labels_scan(sample, scan):
        return declared_volume_voxels(row["labels"])
    path = row.get("projections")
    return declared_projection_voxels(path) if isinstance(path, str) and Path(path).exists() else None


def stage_mem_mb(stage):
    """``resources: mem_mb`` of a per-scan stage, scaled by the attempt."""
    return lambda wildcards, attempt: job_model.mem_mb(stage, scan_voxels(wildcards.sample, wildcards.scan), attempt)


def stage_threads():
    """``threads:`` of a parallel per-scan stage, from the scan's voxel count."""
    return lambda wildcards: job_model.threads(scan_voxels(wildcards.sample, wildcards.scan))


def stage_runtime(stage):
    """``resources: runtime`` (minutes) of a per-scan stage, scaled by the attempt."""
    return lambda wildcards, attempt: job_model.runtime_min(
        stage, scan_voxels(wildcards.sample, wildcards.scan), attempt
    )


def env_modules(env):
    """``envmodules:`` of the rules using ``envs/{env}.yaml`` (config envmodules; none by default)."""
    return config.get("envmodules", {}).get(env, [])
