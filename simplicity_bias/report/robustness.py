"""Figures of the robustness experiments: accuracy against ε, universal perturbations (in latent
coordinates and as images), and clean / adversarial / UAP-perturbed MNIST-CIFAR examples.

Drawing functions only (``draw(path, ...)``), called through ``RunWriter.figure``.
"""

from typing import Dict, Optional, Sequence, Tuple

import numpy as np

from simplicity_bias.report.curves import Series, metric_curves
from simplicity_bias.report.figures import plt, save_figure, subplots


def accuracy_vs_eps(path: str, panels: Sequence[Tuple[str, Dict[str, Series]]], xlabel: str,
                    title: str = "", panel_hlines: Optional[Sequence[Dict[str, float]]] = None,
                    ) -> str:
  """Accuracies (robust, S-randomized, S^c-randomized, ...) against ε, one panel per model;
  ``panel_hlines`` adds a model's ε-independent accuracies as horizontal lines (coloured, over
  the thin gray chance line)."""
  return metric_curves(path, panels, xlabel, "accuracy", title=title, hlines={"chance": 0.5},
                       panel_hlines=panel_hlines, ylim=(-0.02, 1.02))


def uap_latent(path: str, uaps: Dict[str, np.ndarray], simple: Sequence[int],
               complex_: Sequence[int], title: str = "",
               seeds: Optional[Sequence[int]] = None) -> str:
  """Each UAP's latent coordinates ([seeds, d] per name; mean over seeds, the sign of each seed's
  UAP fixed by its largest coordinate) as bars (blue: S, orange: S^c, gray: other) and the
  per-seed |u_j| as a heat map below, one row per seed (labelled with ``seeds``, default
  0, 1, ...)."""
  names = list(uaps)
  fig = plt.figure(layout="constrained", figsize=(5.6 * len(names), 5.4))
  # A narrow column per panel holds the heat map's colour scale; the bars above leave it empty,
  # so bars and heat map share their x extent and the scale's label has a column of its own.
  grid = fig.add_gridspec(2, 2 * len(names), height_ratios=[2, 1],
                          width_ratios=[1.0, 0.035] * len(names))
  for c, name in enumerate(names):
    u = np.asarray(uaps[name], float)
    u = u * np.sign(u[np.arange(len(u)), np.argmax(np.abs(u), axis=1)])[:, None]
    dim = u.shape[1]
    labels = list(range(len(u))) if seeds is None else list(seeds)
    if len(labels) != len(u):
      raise ValueError(f"uap_latent: {name} has {len(u)} rows but {len(labels)} seeds were given")
    colors = np.array(["tab:gray"] * dim, dtype=object)
    colors[list(complex_)] = "tab:orange"
    colors[list(simple)] = "tab:blue"
    ax = fig.add_subplot(grid[0, 2 * c])
    ax.bar(np.arange(dim), u.mean(0), yerr=u.std(0) if len(u) > 1 else None,
           color=list(colors), capsize=1.5)
    ax.axhline(0.0, color="k", lw=0.8)
    ax.set_title(f"{name}: latent coordinates (blue: S, orange: S$^c$)")
    ax.set_ylabel("u (mean over seeds)")
    heat = fig.add_subplot(grid[1, 2 * c], sharex=ax)
    im = heat.imshow(np.abs(u), aspect="auto", cmap="viridis", interpolation="nearest")
    heat.set_yticks(range(len(u)), [str(s) for s in labels])
    heat.set_xlabel("latent coordinate")
    heat.set_ylabel("seed")
    fig.colorbar(im, cax=fig.add_subplot(grid[1, 2 * c + 1]), label="$|u_j|$")
  if title:
    fig.suptitle(title)
  return save_figure(fig, path)


def uap_image(path: str, uaps: Dict[str, np.ndarray], boundary_row: Optional[int] = None,
              title: str = "") -> str:
  """Image UAPs ({name: [H, W, C]}): the perturbation itself (mid-gray = 0, contrast stretched
  to its largest |value|) and its per-pixel l2 magnitude over channels; a dashed line marks the
  boundary between the blocks (MNIST above, CIFAR below)."""
  names = list(uaps)
  fig, axes = subplots(1, 2 * len(names), figsize=(3.2 * len(names) * 2, 4.4), squeeze=False)
  for c, name in enumerate(names):
    u = np.asarray(uaps[name], float)
    scale = float(np.max(np.abs(u))) or 1.0
    ax = axes[0][2 * c]
    ax.imshow(np.clip(0.5 + 0.5 * u / scale, 0, 1), interpolation="nearest")
    ax.set_title(f"{name}\n(0.5 + u / 2 max|u|)", fontsize=8)
    mag = np.sqrt(np.sum(u ** 2, axis=-1))
    ax2 = axes[0][2 * c + 1]
    im = ax2.imshow(mag, cmap="magma", interpolation="nearest")
    ax2.set_title(f"{name}: per-pixel ||u||", fontsize=8)
    fig.colorbar(im, ax=ax2, fraction=0.08)
    for a in (ax, ax2):
      a.set_xticks([])
      a.set_yticks([])
      if boundary_row is not None:
        a.axhline(boundary_row - 0.5, color="c", ls="--", lw=1)
  if title:
    fig.suptitle(title)
  return save_figure(fig, path)


def perturbed_examples(path: str, rows: Dict[str, np.ndarray], labels: Sequence[int] = (),
                       predictions: Optional[Dict[str, Sequence[int]]] = None,
                       title: str = "") -> str:
  """Images in rows ({name: [n, H, W, C]}; names containing "perturbation" are drawn as
  ``0.5 + delta / (2 max|delta|)``), the model's prediction under each image."""
  names = list(rows)
  n = min(len(v) for v in rows.values())
  fig, axes = subplots(len(names), n, figsize=(1.15 * n, 2.2 * len(names)), squeeze=False)
  for r, name in enumerate(names):
    images = np.asarray(rows[name], float)
    if "perturbation" in name:
      images = 0.5 + 0.5 * images / (float(np.max(np.abs(images))) or 1.0)
    for i in range(n):
      ax = axes[r][i]
      ax.imshow(np.clip(images[i], 0.0, 1.0), interpolation="nearest")
      ax.set_xticks([])
      ax.set_yticks([])
      if r == 0 and len(labels):
        ax.set_title(f"y={int(labels[i])}", fontsize=8)
      if predictions and name in predictions:
        ax.set_xlabel(f"pred {int(predictions[name][i])}", fontsize=7)
    axes[r][0].set_ylabel(name, fontsize=8)
  if title:
    fig.suptitle(title)
  return save_figure(fig, path)
