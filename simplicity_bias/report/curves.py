"""Line plots of metrics against a numeric setting (ensemble size, init mixing α), one panel each.

Each panel shows several series (mean over seeds ± 95% CI as error bars), optionally with
horizontal reference lines (e.g. chance, a linear-only ceiling).
"""

from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from simplicity_bias.report.figures import save_figure, subplots

Series = Tuple[Sequence[float], Sequence[float], Sequence[float]]  # x, mean, ci95


def series_from_rows(rows: List[Dict], x_param: str, metric: str) -> Series:
  """(x, mean, ci95) of ``metric`` over the rows that have ``x_param``, sorted by it."""
  rows = sorted((r for r in rows if x_param in r["params"] and metric in r["summary"]),
                key=lambda r: r["params"][x_param])
  return ([r["params"][x_param] for r in rows], [r["summary"][metric]["mean"] for r in rows],
          [r["summary"][metric]["ci95"] for r in rows])


def metric_curves(path: str, panels: Sequence[Tuple[str, Dict[str, Series]]], xlabel: str,
                  ylabel: str, title: str = "", hlines: Optional[Dict[str, float]] = None,
                  ylim: Optional[Tuple[float, float]] = None, xticks: Optional[Sequence] = None,
                  panel_hlines: Optional[Sequence[Dict[str, float]]] = None,
                  bands: bool = False) -> str:
  """One panel per ``(panel title, {series label: (x, mean, ci95)})``; shared y axis.

  ``hlines`` ({label: y}, reference values such as chance) are drawn in every panel as thin gray
  dashed lines under the data; ``panel_hlines[i]`` ({label: y}, a model's own values) only in
  panel i, in colours of their own over the reference lines. With one panel, ``title`` and the
  panel's title share one line. ``bands``: lines with a shaded ± ci95 band instead of markers
  with error bars (for long curves, e.g. one point per epoch).
  """
  n = max(1, len(panels))
  fig, axes = subplots(1, n, figsize=(4.2 * n, 3.4), squeeze=False, sharey=True)
  styles = ["-", "--", ":", "-."]
  # Panel lines take the colours after the series' (the k-th line of every panel the same one).
  num_series = max((len(series) for _, series in panels), default=0)
  for i, (ax, (panel_title, series)) in enumerate(zip(axes[0], panels)):
    for j, (label, (x, mean, ci)) in enumerate(series.items()):
      if not len(x):
        continue
      x, mean, ci = (np.asarray(v, float) for v in (x, mean, ci))
      if bands:
        line, = ax.plot(x, mean, ls=styles[j % len(styles)], label=label)
        ax.fill_between(x, mean - ci, mean + ci, color=line.get_color(), alpha=0.15, lw=0)
      else:
        ax.errorbar(x, mean, yerr=ci, marker="o", ms=4, capsize=3, ls=styles[j % len(styles)],
                    label=label)
    # Zorder 1 (data lines are at 2): a reference line at a model's value (chance at an
    # S-randomized accuracy of .5) must not hide it.
    for label, y in (hlines or {}).items():
      ax.axhline(y, color="0.55", lw=0.8, ls=(0, (4, 3)), zorder=1, label=label)
    own = (panel_hlines[i] or {}) if panel_hlines is not None and i < len(panel_hlines) else {}
    for k, (label, y) in enumerate(own.items()):
      ax.axhline(y, color=f"C{(num_series + k) % 10}", lw=1.4, ls=styles[(k + 2) % len(styles)],
                 zorder=2.5, label=label)
    if xticks is not None:
      ax.set_xticks(list(xticks))
    if ylim is not None:
      ax.set_ylim(*ylim)
    ax.set_xlabel(xlabel)
    if len(panels) == 1 and title:
      ax.set_title(f"{title}, {panel_title}" if panel_title else title)
    else:
      ax.set_title(panel_title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")
  axes[0][0].set_ylabel(ylabel)
  if title and len(panels) != 1:
    fig.suptitle(title)
  return save_figure(fig, path)


def weights_per_step(path: str, rows: List[Dict]) -> str:
  """Theorem 1: |w_linear|, |w_slab|, per-coordinate |w_noise| and ‖w_noise‖ against the step,
  one panel per row (``row["per_step"][stat] = {"mean", "ci95"}``, ``row["theory"]["linear"]``)."""
  styles = (("w_linear", "|w_linear|", "tab:blue", "-"), ("w_slab", "|w_slab|", "tab:orange", "-"),
            ("w_noise_coord", "|w_noise| per coord.", "tab:gray", "-"),
            ("w_noise", "‖w_noise‖", "tab:gray", "--"))
  fig, axes = subplots(1, len(rows), figsize=(4.2 * len(rows), 3.4), squeeze=False,
                       sharey=True)
  for ax, row in zip(axes[0], rows):
    for key, label, color, style in styles:
      mean = np.asarray(row["per_step"][key]["mean"])
      ci = np.asarray(row["per_step"][key]["ci95"])
      steps = np.arange(mean.size)
      ax.plot(steps, mean, color=color, ls=style, marker="o", ms=3, label=label)
      ax.fill_between(steps, np.maximum(mean - ci, 1e-12), mean + ci, color=color, alpha=0.2)
    ax.axhline(row["theory"]["linear"], color="tab:blue", ls=":", lw=1, label="2/√k")
    ax.set_yscale("log")
    ax.set_xlabel("gradient step")
    ax.set_title(f"{row['label']}, k={row['params']['k']}")
  axes[0][0].set_ylabel("mean over hidden units")
  axes[0][-1].legend(fontsize=7, loc="center right")
  return save_figure(fig, path)
