"""``batteryct init FOLDER``: a campaign (samples.tsv, scans.tsv, campaign.yaml) from a folder of raw files.

Every supported file becomes one row: Zeiss ``.txrm`` tomographies and NXtomo or
DataExchange HDF5 files (``projections``), Zeiss ``.txm`` reconstructions (``volume``),
folders of ``proj_*.tif`` (``projections``); Zeiss mosaics (``.xrm``/``.txrm`` with a tile
grid) and batteryct mosaic HDF5 files become a sample's ``mosaic``. The sample id is the
file name made valid, the scan id ``s01``; pixel sizes come from the files. The config is
the demo's stage parameters without its campaign sections (virtual scanner, model-fit
sheets), so ``snakemake --configfile campaign.yaml`` runs this campaign only.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import h5py
import yaml

from batteryct import io
from batteryct.io import nxtomo, zeiss
from batteryct.sheets import DEMO_CAMPAIGN_KEYS

MAX_ID_LENGTH = 64  # the sheets' id pattern: at most 64 characters
HDF5_SUFFIXES = (".h5", ".hdf5", ".hdf", ".nx", ".nxs")


@dataclass
class Found:
    """One raw file or folder and what it is."""

    path: Path
    role: str  # projections, volume, mosaic
    fmt: str
    pixel_size_um: float | None
    sample: str = ""


def valid_id(name: str, taken: set) -> str:
    """Return ``name`` made a valid, unused sample id (letters, digits, ``_.-``; at most 64 characters).

    Examples
    --------
    >>> valid_id("NMC 622 (cal.) #3", set()), valid_id("__x", {"x"}), valid_id("", set())
    ('NMC_622_cal._3', 'x_2', 'sample')
    """
    text = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_.-") or "sample"
    text = text[:MAX_ID_LENGTH]
    out, k = text, 2
    while out in taken:
        suffix = f"_{k}"
        out, k = text[: MAX_ID_LENGTH - len(suffix)] + suffix, k + 1
    taken.add(out)
    return out


def classify(path: Path) -> Found | None:
    """Tell what a file or folder is (None: not a raw input batteryct reads).

    Parameters
    ----------
    path : pathlib.Path
        A file or folder.

    Returns
    -------
    Found or None
    """
    suffix = path.suffix.lower()
    if path.is_dir():
        if any(path.glob("proj_*.tif*")):
            px_file = path / "pixel_size_um.txt"
            pixel = float(px_file.read_text().strip()) if px_file.is_file() else None
            return Found(path, "projections", "TIFF folder", pixel)
        if (path / "positions.csv").is_file() and any(path.glob("tile_*.tif")):
            return Found(path, "mosaic", "mosaic TIFF folder", None)
        return None
    if suffix in (".txrm", ".xrm", ".txm"):
        info = zeiss.read_zeiss_info(path)
        if info.mosaic_rows > 0 and info.mosaic_cols > 0:
            return Found(path, "mosaic", f"Zeiss {suffix} mosaic", info.pixel_size_um)
        if suffix == ".txrm":
            return Found(path, "projections", "Zeiss .txrm", info.pixel_size_um)
        if suffix == ".txm":
            return Found(path, "volume", "Zeiss .txm", info.pixel_size_um)
        return None  # a single radiograph
    if suffix in HDF5_SUFFIXES:
        if nxtomo.is_nxtomo(path):
            pixel = nxtomo.read_nxtomo(path).pixel_size_um
            return Found(path, "projections", "NXtomo", pixel)
        try:
            with h5py.File(path, "r") as f:
                if "exchange/data" in f:
                    fmt = "DataExchange"
                elif "tiles" in f and "stage_position_um" in f:
                    return Found(path, "mosaic", "mosaic HDF5", float(f.attrs.get("pixel_size_um", "nan")))
                else:
                    return None
        except OSError:
            return None
        return Found(path, "projections", fmt, io.read_dataexchange(path).pixel_size_um)
    return None


def scan_folder(folder: Path) -> tuple[list[Found], list[str]]:
    """Classify every entry of ``folder`` (files and first-level folders), sorted by name.

    Returns
    -------
    found : list of Found
    skipped : list of str
        Entries not used, with the reason.
    """
    found, skipped = [], []
    for path in sorted(folder.iterdir()):
        if path.name in ("samples.tsv", "scans.tsv", "campaign.yaml", "results", ".snakemake") or path.name[0] == ".":
            continue
        try:
            item = classify(path)
        except io.InputDataError as exc:
            skipped.append(f"{path.name}: {exc}")
            continue
        if item is None:
            if path.is_file() and path.suffix.lower() in (".xrm",) + HDF5_SUFFIXES:
                skipped.append(f"{path.name}: not a tomography, volume or mosaic (e.g. a single radiograph)")
            continue
        found.append(item)
    return found, skipped


def demo_config_path() -> Path:
    """Return the demo campaign's config (its stage parameters are the defaults)."""
    return Path(__file__).resolve().parents[3] / "config" / "config.yaml"


def campaign_files(folder: Path, found: list[Found]) -> dict[str, str]:
    """Return the text of samples.tsv, scans.tsv and campaign.yaml for the files found."""
    taken: set = set()
    for item in found:
        item.sample = valid_id(item.path.stem if item.path.is_file() else item.path.name, taken)
    samples = ["sample\tkind\tmaterial\tmosaic\tdescription"]
    scans = ["sample\tscan\tprojections\tvolume\tpixel_size_um"]
    for item in found:
        rel = item.path.relative_to(folder).as_posix()
        mosaic = rel if item.role == "mosaic" else ""
        samples.append(f"{item.sample}\tpowder\tunknown\t{mosaic}\t{item.fmt} {rel}: set kind and material")
        if item.role in ("projections", "volume"):
            # Zeiss stores float32: 7 significant digits
            px = "" if item.pixel_size_um is None else f"{item.pixel_size_um:.7g}"
            proj, vol = (rel, "") if item.role == "projections" else ("", rel)
            scans.append(f"{item.sample}\ts01\t{proj}\t{vol}\t{px}")
    header = "# written by batteryct init: kind is powder or electrode; material e.g. NMC622\n"
    config = yaml.safe_load(demo_config_path().read_text())
    for key in DEMO_CAMPAIGN_KEYS:
        config.pop(key, None)
    config.update({"samples": "samples.tsv", "scans": "scans.tsv"})
    text = (
        "# batteryct campaign written by batteryct init; every key is explained in config/README.md.\n"
        "# Paths are relative to this folder: run snakemake with --directory set to it.\n"
        + yaml.safe_dump(config, sort_keys=False)
    )
    return {
        "samples.tsv": header + "\n".join(samples) + "\n",
        "scans.tsv": "\n".join(scans) + "\n",
        "campaign.yaml": text,
    }


def main(argv=None) -> int:
    """Console entry point: ``batteryct init FOLDER [--force]``."""
    parser = argparse.ArgumentParser(prog="batteryct", description="batteryct campaign tools")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("init", help="write samples.tsv, scans.tsv and campaign.yaml for a folder of raw files")
    p.add_argument("folder", type=Path)
    p.add_argument("--force", action="store_true", help="overwrite existing sheets and config")
    args = parser.parse_args(argv)
    folder = args.folder
    if not folder.is_dir():
        print(f"batteryct init: {folder} is not a folder", file=sys.stderr)
        return 2
    found, skipped = scan_folder(folder)
    if not any(f.role in ("projections", "volume") for f in found):
        print(f"batteryct init: no tomography or volume found in {folder}", file=sys.stderr)
        for line in skipped:
            print(f"  skipped {line}", file=sys.stderr)
        return 1
    files = campaign_files(folder, found)
    existing = [name for name in files if (folder / name).exists()]
    if existing and not args.force:
        print(f"batteryct init: {', '.join(existing)} exist in {folder}; use --force to overwrite", file=sys.stderr)
        return 1
    for name, text in files.items():
        io.atomic_write_bytes(folder / name, text.encode())
    print(f"batteryct init: {len(found)} input(s) in {folder}")
    for item in found:
        px = "no pixel size in the file" if item.pixel_size_um is None else f"pixel {item.pixel_size_um:.6g} um"
        print(f"  {item.path.name}: {item.fmt}, {item.role} of sample {item.sample} ({px})")
    for line in skipped:
        print(f"  skipped {line}")
    print("Still to fill in:")
    print("  samples.tsv: kind (powder or electrode) and material of every sample (written: powder, unknown)")
    missing = [f.sample for f in found if f.role != "mosaic" and f.pixel_size_um is None]
    if missing:
        print(f"  scans.tsv: pixel_size_um of {', '.join(missing)} (not in the files)")
    print("  campaign.yaml: raw_data.dark_counts (Zeiss files hold no dark frames; 0 now) and the stage parameters")
    print(
        f"Then: snakemake --snakefile <batteryct>/Snakefile --directory {folder} "
        f"--configfile {folder / 'campaign.yaml'} --cores 2"
    )
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
