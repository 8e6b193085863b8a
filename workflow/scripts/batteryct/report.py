"""A self-contained HTML report of a campaign: tables and images in one file."""

from __future__ import annotations

import base64
import html
from pathlib import Path

import numpy as np
import pandas as pd

LABEL_COLOURS = np.array([[235, 235, 235], [40, 70, 160], [220, 50, 40], [240, 170, 30], [0, 0, 0]], np.uint8)


def to_uint8(image: np.ndarray, low: float = 0.5, high: float = 99.5) -> np.ndarray:
    """Scale to 0..255 between two percentiles of the finite values."""
    finite = image[np.isfinite(image)]
    if finite.size == 0:
        return np.zeros(image.shape, np.uint8)
    lo, hi = np.percentile(finite, [low, high])
    scaled = (np.nan_to_num(image, nan=lo) - lo) / (hi - lo if hi > lo else 1.0)
    return np.clip(np.round(scaled * 255), 0, 255).astype(np.uint8)


def slice_preview(volume: np.ndarray | None, labels: np.ndarray, z: int | None = None) -> np.ndarray:
    """RGB image: the middle z slice of the volume (grey) beside its labels (colours)."""
    z = labels.shape[0] // 2 if z is None else z
    lab = LABEL_COLOURS[np.clip(labels[z], 0, len(LABEL_COLOURS) - 1)]
    if volume is None:
        return lab
    grey = np.repeat(to_uint8(volume[z])[..., None], 3, axis=2)
    gap = np.full((lab.shape[0], 4, 3), 255, np.uint8)
    return np.concatenate([grey, gap, lab], axis=1)


def write_png(path: str | Path, rgb: np.ndarray) -> None:
    """Write an 8-bit image to PNG (deterministic bytes)."""
    from PIL import Image

    Image.fromarray(rgb).save(path, format="PNG", optimize=False)


def _img_tag(path: Path) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode()
    return f'<img src="data:image/png;base64,{data}" alt="{html.escape(Path(path).name)}">'


def render_html(title: str, tables: dict[str, pd.DataFrame], images: dict[str, Path], notes: str = "") -> str:
    """One HTML page with every table (numbers rounded to 4 significant digits) and image."""
    parts = [
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;font-size:12px}"
        "td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}th{background:#eee}"
        ".scroll{overflow-x:auto;max-width:100%}"
        "img{min-width:256px;max-width:100%;image-rendering:pixelated;border:1px solid #ccc}"
        "figure{display:inline-block;margin:0 1em 1em 0;vertical-align:top}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    if notes:
        parts.append(f"<p>{html.escape(notes)}</p>")
    for name, table in tables.items():
        parts.append(f"<h2>{html.escape(name)}</h2>")
        if table.empty:
            parts.append("<p>(empty)</p>")
        else:
            parts.append(
                '<div class="scroll">'
                + table.to_html(index=False, float_format=lambda x: f"{x:.4g}", na_rep="–")
                + "</div>"
            )
    if images:
        parts.append("<h2>Images</h2>")
        for caption, path in images.items():
            parts.append(f"<figure>{_img_tag(path)}<figcaption>{html.escape(caption)}</figcaption></figure>")
    parts.append("</body></html>")
    return "\n".join(parts)
