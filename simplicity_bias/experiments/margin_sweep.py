"""Where does extreme SB stop? S-/S^c-randomized AUC over linear margin x slab margin.

Margins are traced dataset parameters, so the whole grid (x seeds) is one compiled program: every
member draws its own LMS-k dataset at its grid point and trains alongside the others. A smaller
linear margin makes the simple feature less separable from the margin's point of view; a smaller
slab gap widens the slabs. The heat-maps show the region where S-rand AUC stays ≈ .5.
"""

from typing import Dict, List

from simplicity_bias.pipeline import Cell, Report, point_rows, validate_cell
from simplicity_bias.report import figures
from simplicity_bias.validation import ConfigError

NAME = "margin_sweep"
CONFIGS = ("margin_sweep",)
# The metrics its claims read: shown first in the console summary.
HEADLINE = ("test_auc", "s_rand_auc", "sc_rand_auc")
METRICS = ("test_auc", "s_rand_auc", "sc_rand_auc", "test_acc", "train_acc", "updates")


def axes(config) -> List[str]:
  return [k for k, v in config.grid.to_dict().items() if len(v)]


def cells(config) -> List[Cell]:
  if len(axes(config)) != 2:
    raise ConfigError(f"margin_sweep needs exactly two grid axes (e.g. grid.linear_margin and "
                      f"grid.slab_margin); got {axes(config) or 'none'}.")
  validate_cell(config)
  return [Cell("", {}, config)]


def rows(cell, outcome) -> List[Dict]:
  return point_rows(cell, outcome, coordinates=False)


def report(config, results, writer) -> Report:
  rows_ = results["rows"]
  x_param, y_param = axes(config)
  for metric in ("s_rand_auc", "sc_rand_auc", "test_auc"):
    writer.figure(f"heatmap_{metric}.png",
                  f"{metric} (mean over {config.num_seeds} seeds) per grid point.",
                  figures.rows_heatmap, rows_, x_param, y_param, metric,
                  title=f"{metric} on {config.data.name}", vmin=0.4, vmax=1.0)
  not_extreme = [r["label"] for r in rows_ if r["summary"]["s_rand_auc"]["mean"] > 0.6]
  notes = ["Grid points where S-rand AUC > 0.6 (SB no longer extreme): "
           + (", ".join(not_extreme) if not_extreme else "none.")]
  intro = (f"{config.data.name}, {len(rows_)} grid points x {config.num_seeds} seeds = "
           f"{len(rows_) * config.num_seeds} members trained in one compiled program, "
           f"{config.data.num_train} training samples each.")
  return Report("Margin sweep", intro, METRICS, notes, extra={"not_extreme": not_extreme})
