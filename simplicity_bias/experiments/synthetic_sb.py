"""Extreme simplicity bias on synthetic slab data (LMS-k, MS-(5,7), L̂MS-k, ...).

Members = grid points (dataset parameters such as slab margins) x seeds, one compiled program.
Evaluators (``config.evals``): standard, S-randomized and S^c-randomized accuracy / AUC,
coordinate-wise randomized accuracy, decision grids. Extreme SB = standard AUC ≈ 1, S-randomized
AUC ≈ .5 and S^c-randomized AUC ≈ standard.
"""

from typing import Dict

import numpy as np

from simplicity_bias.evaluators.sb import SB_METRICS, grid_coords
from simplicity_bias.pipeline import Report, point_label
from simplicity_bias.report import figures

NAME = "synthetic_sb"
CONFIGS = ("lms5", "ms57")
# The metrics its claims read: shown first in the console summary.
HEADLINE = ("test_auc", "s_rand_auc", "sc_rand_auc", "train_acc")


def cell_figures(cell, outcome, rows, writer) -> None:
  """Per grid point: score histograms, coordinate-wise bars, decision boundary (first seed), each
  named by the point's values (``decision_boundary_slab_margin_0.1.png``; no suffix without a
  grid)."""
  if not writer.enabled:
    return
  info, layout, data = outcome.data.info, outcome.layout, outcome.data
  u_coord, v_coord = grid_coords(info)
  u_name = f"latent {u_coord} ({'S' if info.simple else 'coord'})"
  v_name = f"latent {v_coord} ({'S$^c$' if info.complex else 'coord'})"
  for g, (point, row) in enumerate(zip(outcome.points, rows)):
    first = layout.index(g, 0)
    suffix = figures.point_suffix(point)
    label = point_label(point)
    y_test = np.asarray(data.y_test[first])
    seed = layout.seeds[0]
    if "scores" in outcome.evals:
      writer.figure(f"score_histograms{suffix}.png",
                    f"Scores of positive test points, {label}: standard vs randomized.",
                    figures.score_histograms,
                    {k: v[first] for k, v in outcome.evals["scores"].items()}, y_test,
                    title=f"{info.name} {label} (seed {seed})")
    if "coord_rand_acc" in row:
      writer.figure(f"coordinate_randomized_acc{suffix}.png",
                    f"Coordinate-wise randomized accuracy, {label} (mean ± 95% CI).",
                    figures.coordinate_bars, row["coord_rand_acc"]["mean"], info.simple,
                    info.complex, ci95=row["coord_rand_acc"]["ci95"],
                    title=f"{info.name} {label}: accuracy with one coordinate randomized")
    if "boundary" in outcome.evals:
      u, v, grid = (np.asarray(a[first]) for a in outcome.evals["boundary"])
      z = np.asarray(data.x_test[first] @ data.rotation[first].T)
      writer.figure(f"decision_boundary{suffix}.png",
                    f"Model score over ({u_name}, {v_name}), other coordinates fixed at one "
                    f"test point; dots: test points (red y=1), {label}.",
                    figures.decision_boundary, u, v, grid, z[:, u_coord], z[:, v_coord], y_test,
                    u_name, v_name, title=f"{info.name} {label}: decision boundary")


def report(config, results, writer) -> Report:
  rows = results["rows"]
  grid = {k: v for k, v in config.grid.to_dict().items() if len(v)}
  if len(rows) > 1 and len(grid) == 1:
    param = list(grid)[0]
    writer.figure("grid_metrics.png", f"Standard / S-randomized / S^c-randomized AUC over {param}.",
                  figures.metric_over_grid, rows, param, ["test_auc", "s_rand_auc", "sc_rand_auc"],
                  ylabel="AUC", title=f"{config.data.name}: AUC over {param}")
  d = config.data
  intro = (f"Dataset **{d.name}** (d={d.dim}, {d.num_train} train / {d.num_val} val / "
           f"{d.num_test} test, rotated={d.rotate}), model {config.model.name}, "
           f"{config.optim.name} lr {config.optim.learning_rate}, {config.num_seeds} seeds "
           f"x {len(rows)} grid point(s) trained together. Extreme simplicity bias = standard "
           "AUC ≈ 1, S-randomized AUC ≈ 0.5 and S^c-randomized AUC ≈ standard.")
  notes = []
  if "auc_null_std" in rows[0]:
    notes.append(f"AUC null standard deviation at this test size: {rows[0]['auc_null_std']:.4f}.")
  notes.append(f"Evaluated parameters: {config.train.select} (best = highest validation accuracy "
               "at a check; the validation split is separate from the test set).")
  metrics = list(SB_METRICS) + ["train_acc", "updates"]
  group_size = config.members.group_size
  if group_size > 1:
    intro += (f" Each seed trains a group of {group_size} members (objective "
              f"{config.objective.name}); metric@readout is the group read out as one model "
              "(mean_logits: mean logits, member:i: member i), metric@member_mean the mean over "
              "its members, disagreement@group how often two members disagree.")
    metrics = group_metrics(rows[0]["summary"], metrics)
  return Report(f"Simplicity bias on {d.name}", intro, metrics, notes,
                extra={"dataset": rows and _dataset(config), "model": config.model.to_dict(),
                       "selection": config.train.select})


def group_metrics(summary: Dict, base) -> list:
  """The metrics of a group run in table order: each read-out's (and the member mean's) values
  of the ``base`` metrics, then the group evaluators' (``...@group``)."""
  suffixes = list(dict.fromkeys(k.split("@", 1)[1] for k in summary if "@" in k))
  out = [f"{m}@{suffix}" for suffix in suffixes for m in base if f"{m}@{suffix}" in summary]
  return out + [k for k in summary if k.endswith("@group")]


def _dataset(config) -> Dict:
  from simplicity_bias.data import synthetic
  return synthetic.describe(synthetic.spec_from_config(config.data))


