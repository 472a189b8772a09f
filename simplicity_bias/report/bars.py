"""Grouped bar charts with error bars (matplotlib, Agg backend)."""

from typing import Dict, Sequence, Tuple

import numpy as np

from simplicity_bias.report.figures import save_figure, subplots


def grouped_bars(path: str, labels: Sequence[str],
                 series: Dict[str, Tuple[Sequence[float], Sequence[float]]], ylabel: str = "",
                 title: str = "", ylim: Tuple[float, float] = (0.0, 1.05),
                 hlines: Sequence[float] = (), colors: Sequence[str] = ()) -> str:
  """One group of bars per label, one bar per series: ``series = {name: (means, ci95s)}``.

  Error bars are the given half-widths (e.g. 95% CI over seeds); ``hlines`` draws dashed
  reference lines (e.g. chance AUC 0.5).
  """
  names = list(series)
  n, k = len(labels), max(len(names), 1)
  width = 0.8 / k
  x = np.arange(n)
  fig, ax = subplots(figsize=(max(5.0, 0.55 * n * k + 1.5), 3.8))
  for i, name in enumerate(names):
    means, ci = (np.asarray(v, dtype=float) for v in series[name])
    kwargs = {"color": colors[i]} if i < len(colors) else {}
    ax.bar(x + (i - (k - 1) / 2) * width, means, width, yerr=ci, capsize=2, label=name,
           **kwargs)
  for y in hlines:
    ax.axhline(y, color="k", lw=1, ls="--")
  ax.set_xticks(x, list(labels), rotation=45, ha="right")
  ax.set_ylim(*ylim)
  ax.set_ylabel(ylabel)
  ax.set_title(title)
  if names:
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
  return save_figure(fig, path)
