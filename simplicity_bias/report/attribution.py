"""Figures and tables of the attribution experiments: images beside their attribution maps, block
profiles of gradients, DiffROAR curves, and DiffROAR's tidy per-seed CSV."""

import csv
import io
from typing import Dict, List, Sequence

import matplotlib.cm
import matplotlib.colors
import matplotlib.ticker
import numpy as np

from simplicity_bias.report.figures import save_figure, subplots
from simplicity_bias.report.results import atomic_write_text


def attribution_grid(path: str, images: np.ndarray, maps: Dict[str, np.ndarray],
                     labels: Sequence[int] = (), title: str = "") -> str:
  """Top row: the images ([n, H, W, C] in [0, 1]); below, one row of attribution maps
  ([n, H, W], |gradient| scaled per image to its maximum) per model, with their colour scale."""
  n = min([len(images)] + [len(m) for m in maps.values()])
  rows = ["image"] + list(maps)
  fig, axes = subplots(len(rows), n, figsize=(1.0 * n + 1.4, 1.9 * len(rows)), squeeze=False)
  for r, name in enumerate(rows):
    for i in range(n):
      ax = axes[r][i]
      if r == 0:
        img = np.clip(np.asarray(images[i]), 0.0, 1.0)
        ax.imshow(img[..., 0] if img.shape[-1] == 1 else img, cmap="gray", vmin=0, vmax=1,
                  interpolation="nearest")
        if len(labels):
          ax.set_title(f"y={int(labels[i])}", fontsize=8)
      else:
        m = np.abs(np.asarray(maps[name][i], np.float64))
        ax.imshow(m / (m.max() or 1.0), cmap="inferno", vmin=0, vmax=1, interpolation="nearest")
      ax.set_xticks([])
      ax.set_yticks([])
    axes[r][0].set_ylabel(name, fontsize=7, rotation=0, ha="right", va="center")
  if len(rows) > 1:  # every map is drawn on the same [0, 1] scale: one colour bar for all
    scale = matplotlib.cm.ScalarMappable(matplotlib.colors.Normalize(0, 1), cmap="inferno")
    bar = fig.colorbar(scale, ax=axes[1:, :], shrink=0.9, aspect=25)
    bar.set_label("|gradient| / its max per image", fontsize=7)
    bar.ax.tick_params(labelsize=7)
  if title:
    fig.suptitle(title, fontsize=9)
  return save_figure(fig, path)


def block_profiles(path: str, profiles: Dict[str, np.ndarray], half: int, title: str = "") -> str:
  """Mean gradient norm per block, the instance's signal block first (position 0), then the
  other first-half blocks, then the noise half (shaded); one line per model."""
  fig, ax = subplots(figsize=(6.2, 3.6))
  for name, profile in profiles.items():
    p = np.asarray(profile, np.float64)
    ax.plot(np.arange(len(p)), p / (p.max() or 1.0), marker="o", ms=3, label=name)
  d = max((len(p) for p in profiles.values()), default=2 * half)
  ax.axvspan(half - 0.5, d - 0.5, color="0.9", zorder=0)
  # Block numbers only (the x label says which is which): words as tick labels ran into the
  # neighbouring number ("9noise" at d = 20).
  ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
  ax.set_xlabel("block (0: the instance's signal block; shaded: noise half)")
  ax.set_ylabel("mean ‖gradient‖ (scaled to max 1)")
  ax.set_title(title, fontsize=9)
  ax.legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.0, 1.0))
  return save_figure(fig, path)


def diffroar_curves(path: str, panels: Dict[str, Dict[str, Dict[str, Sequence[float]]]],
                    title: str = "") -> str:
  """DiffROAR vs k, one panel per dataset: ``{panel: {source: {"k", "mean", "ci95"}}}``; the
  band is the 95% CI over seeds; dashed: 0 (a random attribution's expected value)."""
  names = list(panels)
  fig, axes = subplots(1, len(names), figsize=(5.0 * len(names), 3.8), squeeze=False)
  for ax, panel in zip(axes[0], names):
    for source, curve in panels[panel].items():
      k, mean, ci = (np.asarray(curve[f], np.float64) for f in ("k", "mean", "ci95"))
      line, = ax.plot(k, mean, marker="o", ms=3, label=source,
                      ls="--" if source in ("random", "linear") else "-")
      ax.fill_between(k, mean - ci, mean + ci, color=line.get_color(), alpha=0.2, lw=0)
    ax.axhline(0.0, color="k", lw=0.8, ls=":")
    ax.set_xlabel("k (fraction of pixels kept)")
    ax.set_ylabel("DiffROAR = acc(top-k) − acc(bottom-k)")
    ax.set_title(panel, fontsize=9)
    ax.legend(fontsize=7)
  if title:
    fig.suptitle(title, fontsize=10)
  return save_figure(fig, path)


def tidy_csv(records: List[Dict], columns: Sequence[str]) -> str:
  """One line per record, the given columns in order (floats with 6 significant digits)."""
  out = io.StringIO()
  writer = csv.writer(out)
  writer.writerow(columns)
  for r in records:
    writer.writerow([f"{r[c]:.6g}" if isinstance(r[c], float) else r[c] for c in columns])
  return out.getvalue()


def write_table(writer, name: str, records: List[Dict], columns: Sequence[str]) -> None:
  """Writes a tidy CSV ``name`` into the run's work directory (atomically), when writing."""
  if writer.enabled:
    atomic_write_text(writer.path(name), tidy_csv(records, columns))
