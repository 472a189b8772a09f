"""Figures (matplotlib, Agg backend): score histograms, coordinate bars, decision boundaries.

Every figure of ``report/`` is made by :func:`subplots` (constrained layout: colorbars, labels
and titles get their own space instead of overlapping the next panel) and written by
:func:`save_figure`, which also writes ``S^c`` as mathtext in every text of the figure.
"""

import os
import re
from typing import Dict, Optional, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.text  # noqa: E402
import numpy as np  # noqa: E402

_EVAL_NAMES = {"test": "standard", "s_rand": "S-randomized", "sc_rand": "S$^c$-randomized"}


# "S^c" outside $...$: matplotlib would print the caret.
_RAW_SC = re.compile(r"S\^c")


def mathtext(text: str) -> str:
  """``text`` with every raw ``S^c`` outside ``$...$`` written as ``S$^c$``."""
  parts = re.split(r"(\$[^$]*\$)", text)
  return "".join(p if p.startswith("$") and p.endswith("$") and len(p) > 1
                 else _RAW_SC.sub("S$^c$", p) for p in parts)


def subplots(nrows: int = 1, ncols: int = 1, **kwargs):
  """``plt.subplots`` with constrained layout (the layout every report figure uses)."""
  return plt.subplots(nrows, ncols, layout="constrained", **kwargs)


def point_suffix(point: Dict) -> str:
  """File-name suffix of a grid point: ``{"slab_margin": 0.1}`` -> ``"_slab_margin_0.1"``,
  ``""`` for no parameters. Values are written in full (``str``, not rounded), so distinct
  points get distinct names; characters other than letters, digits, ``.`` and ``-`` become
  ``_``."""
  return "".join("_" + re.sub(r"[^A-Za-z0-9.\-]", "_", f"{k}_{v}") for k, v in point.items())


def save_figure(fig, path: str) -> str:
  """Writes ``fig`` to ``path`` (atomically) and closes it."""
  for text in fig.findobj(matplotlib.text.Text):
    fixed = mathtext(text.get_text())
    if fixed != text.get_text():
      text.set_text(fixed)
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  tmp = path + ".tmp.png"
  fig.savefig(tmp, dpi=110, bbox_inches="tight")
  plt.close(fig)
  os.replace(tmp, path)
  return path


def score_histograms(path: str, scores: Dict[str, np.ndarray], labels: np.ndarray,
                     title: str = "") -> str:
  """Histograms of ``logit_1 - logit_0`` on positive test points, one panel per evaluation."""
  names = [n for n in _EVAL_NAMES if n in scores]
  fig, axes = subplots(1, len(names), figsize=(4 * len(names), 3.2), squeeze=False)
  positives = np.asarray(labels) == 1
  for ax, name in zip(axes[0], names):
    s = np.asarray(scores[name])[positives]
    ax.hist(s, bins=60, color="tab:blue", alpha=0.8)
    ax.axvline(0.0, color="k", lw=1, ls="--")
    ax.set_title(f"{_EVAL_NAMES[name]} (y = 1)")
    ax.set_xlabel("logit$_1$ − logit$_0$")
    ax.text(0.02, 0.95, f"frac > 0: {np.mean(s > 0):.3f}", transform=ax.transAxes, va="top")
  axes[0][0].set_ylabel("test points")
  if title:
    fig.suptitle(title)
  return save_figure(fig, path)


def coordinate_bars(path: str, acc: np.ndarray, simple_coords: Sequence[int],
                    complex_coords: Sequence[int], ci95: Optional[np.ndarray] = None,
                    title: str = "") -> str:
  """Accuracy with each latent coordinate randomized alone (mean over seeds, 95% CI bars)."""
  acc = np.asarray(acc)
  dim = acc.shape[0]
  colors = np.array(["tab:gray"] * dim, dtype=object)
  colors[list(complex_coords)] = "tab:orange"
  colors[list(simple_coords)] = "tab:blue"
  fig, ax = subplots(figsize=(max(6, dim * 0.16), 3.2))
  ax.bar(np.arange(dim), acc, yerr=ci95, color=list(colors), capsize=1.5)
  ax.axhline(0.5, color="k", lw=1, ls="--")
  ax.set_ylim(0.0, 1.05)
  ax.set_xlabel("latent coordinate randomized (blue: S, orange: S$^c$)")
  ax.set_ylabel("test accuracy")
  ax.set_title(title)
  return save_figure(fig, path)


def decision_boundary(path: str, u: np.ndarray, v: np.ndarray, scores: np.ndarray,
                      points_u: np.ndarray, points_v: np.ndarray, labels: np.ndarray,
                      xlabel: str, ylabel: str, title: str = "", max_points: int = 2000) -> str:
  """Model score over two latent coordinates (others fixed) with test points overlaid."""
  fig, ax = subplots(figsize=(4.6, 4.0))
  limit = float(np.max(np.abs(scores))) or 1.0
  mesh = ax.pcolormesh(u, v, scores, cmap="RdBu_r", vmin=-limit, vmax=limit, shading="auto")
  ax.contour(u, v, scores, levels=[0.0], colors="k", linewidths=1.2)
  n = min(max_points, len(labels))
  ax.scatter(points_u[:n], points_v[:n], c=np.where(labels[:n] == 1, "tab:red", "tab:blue"),
             s=3, alpha=0.5, linewidths=0)
  fig.colorbar(mesh, ax=ax, label="logit$_1$ − logit$_0$")
  ax.set_xlabel(xlabel)
  ax.set_ylabel(ylabel)
  if title:  # over the colour bar too: an Axes title as wide reaches the bar's top tick label
    fig.suptitle(title)
  return save_figure(fig, path)


def metric_over_grid(path: str, rows, param: str, metrics: Sequence[str], title: str = "",
                     ylabel: str = "") -> str:
  """Mean +- 95% CI of ``metrics`` against one grid parameter (rows sorted by it)."""
  rows = sorted(rows, key=lambda r: r["params"][param])
  x = [r["params"][param] for r in rows]
  fig, ax = subplots(figsize=(5, 3.4))
  for m in metrics:
    mean = [r["summary"][m]["mean"] for r in rows]
    ci = [r["summary"][m]["ci95"] for r in rows]
    ax.errorbar(x, mean, yerr=ci, marker="o", capsize=3, label=m)
  ax.set_xlabel(param)
  ax.set_ylabel(ylabel)
  ax.set_title(title)
  ax.legend()
  return save_figure(fig, path)


def heatmap(path: str, values: np.ndarray, x_values, y_values, xlabel: str, ylabel: str,
            title: str = "", vmin: float = 0.4, vmax: float = 1.0, fmt: str = "{:.2f}",
            label: str = "") -> str:
  """A grid of mean metric values (rows: ``y_values``, columns: ``x_values``), annotated;
  ``label`` names the colour scale."""
  values = np.asarray(values)
  fig, ax = subplots(figsize=(1.0 + 0.9 * len(x_values), 0.8 + 0.6 * len(y_values)))
  im = ax.imshow(values, cmap="viridis", vmin=vmin, vmax=vmax, aspect="auto", origin="lower")
  for i in range(values.shape[0]):
    for j in range(values.shape[1]):
      ax.text(j, i, fmt.format(values[i, j]), ha="center", va="center", color="w", fontsize=8)
  ax.set_xticks(range(len(x_values)), [str(x) for x in x_values])
  ax.set_yticks(range(len(y_values)), [str(y) for y in y_values])
  ax.set_xlabel(xlabel)
  ax.set_ylabel(ylabel)
  if title:  # over the colour bar too, as in decision_boundary
    fig.suptitle(title)
  fig.colorbar(im, ax=ax, label=label)
  return save_figure(fig, path)


def image_grid(path: str, rows: Dict[str, np.ndarray], labels: Sequence[int] = (),
               title: str = "") -> str:
  """One row of images per entry of ``rows`` ({name: [n, H, W, C] in [0, 1]}), same columns."""
  names = list(rows)
  n = min(len(v) for v in rows.values())
  fig, axes = subplots(len(names), n, figsize=(1.1 * n, 2.1 * len(names)), squeeze=False)
  for r, name in enumerate(names):
    for i in range(n):
      ax = axes[r][i]
      ax.imshow(np.clip(np.asarray(rows[name][i]), 0.0, 1.0), interpolation="nearest")
      ax.set_xticks([])
      ax.set_yticks([])
      if r == 0 and len(labels):
        ax.set_title(f"y={int(labels[i])}", fontsize=8)
    axes[r][0].set_ylabel(name, fontsize=8)
  if title:
    fig.suptitle(title)
  return save_figure(fig, path)


def heatmap_values(rows, x_param: str, y_param: str, metric: str):
  """(values[y, x], x_values, y_values) of a metric's mean from rows keyed by two params."""
  xs = list(dict.fromkeys(r["params"][x_param] for r in rows))
  ys = list(dict.fromkeys(r["params"][y_param] for r in rows))
  values = np.full((len(ys), len(xs)), np.nan)
  for r in rows:
    values[ys.index(r["params"][y_param]), xs.index(r["params"][x_param])] = \
        r["summary"][metric]["mean"]
  return values, xs, ys


def rows_heatmap(path: str, rows, x_param: str, y_param: str, metric: str, **kwargs) -> str:
  """:func:`heatmap` of a metric's mean over rows that vary in two params."""
  values, xs, ys = heatmap_values(rows, x_param, y_param, metric)
  kwargs.setdefault("label", f"{metric} (mean)")
  return heatmap(path, values, xs, ys, x_param, y_param, **kwargs)
