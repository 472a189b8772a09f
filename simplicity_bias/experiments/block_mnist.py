"""BlockMNIST feature leakage ("Do Input Gradients Highlight Discriminative Features?", §4):
input gradients of standard models light up the null block, those of robust models do not.

Every image stacks an MNIST digit (the label) and a fixed null patch (no label information); the
digit is on top or at the bottom at random (BlockMNIST), or always on top (BlockMNIST-Top). Per
trained model the ``attribution`` evaluator measures, over the test images, the share of the
top-k gradient pixels in the null block (k = 2.5 ... 30% of the pixels; ``null_topk`` their
mean; chance = .5), the share of gradient mass there, and the leakage score (correlation of the
null-block map with the training-set mean digit of the predicted class; ``leakage_random`` is
that of a random attribution). Standard models leak (published 44-48% of top-k pixels on the
null block); adversarially trained ones concentrate on the digit (<1% to 30%); on BlockMNIST-Top
the standard models' leakage largely disappears.

Cells: one per (model, training): ``sweep.models`` (e.g. 'mlp,resnet18') x standard and one cell
per attack norm whose radii (``sweep.linf_eps``, ``sweep.l2_eps``) are grid points of that
cell's program (robust cells only for ``sweep.robust_models``, '' = every model); seeds are
members. All members share one dataset.
"""

from typing import Dict, List

import numpy as np

from simplicity_bias.evaluators.attribution import (check_fractions,
                                                    topk_metric_names)
from simplicity_bias.experiments import trainings as training_lib
from simplicity_bias.models import field_defaults
from simplicity_bias.pipeline import Cell, Report, make_cells
from simplicity_bias.report import attribution as attribution_figures
from simplicity_bias.report import bars
from simplicity_bias.report.results import make_row
from simplicity_bias.validation import ConfigError

NAME = "block_mnist"
CONFIGS = ("block_mnist", "block_mnist_top")
# The metrics its claims read: shown first in the console summary.
HEADLINE = ("test_acc", "null_topk", "leakage_excess")


def model_names(config) -> List[str]:
  names = [t.strip() for t in config.sweep.models.split(",") if t.strip()]
  return names or [config.model.name]


def model_overrides(config, name: str) -> Dict:
  """The model section for ``name``: fields it does not take reset to None (its default), so
  one config holds an MLP's width and a ResNet's base width side by side."""
  from simplicity_bias.models import model_names as registered
  if name not in registered():
    raise ConfigError(f"sweep.models names {name!r}, which is not a model; valid: "
                      f"{', '.join(registered())}.")
  takes = set(field_defaults([name]))
  out = {"model.name": name}
  out.update({f"model.{f}": None for f in config.model if f != "name" and f not in takes})
  return out


def cells(config) -> List[Cell]:
  if config.data.source != "block_mnist":
    raise ConfigError(f"experiment block_mnist needs data.source='block_mnist' (got "
                      f"{config.data.source!r}).")
  if "attribution" not in tuple(config.evals):
    raise ConfigError("experiment block_mnist measures attributions: evals must include "
                      "'attribution'.")
  check_fractions(config.eval.topk_fractions)
  robust_models = [t.strip() for t in config.sweep.robust_models.split(",")
                   if t.strip()] or model_names(config)
  cells_ = []
  for model in model_names(config):
    for training in training_lib.trainings(config):
      if training.kind != "standard" and model not in robust_models:
        continue
      label = f"{model} {training.kind}"
      # A robust cell's radii are training points sharing the data (each member's eps).
      cells_ += make_cells(config, [(label, {"model": model, "training": training.kind,
                                             "eps": training.eps},
                                     {**model_overrides(config, model),
                                      **training_lib.overrides(config, training)})],
                           points=[{"eps": e} for e in training.eps])
  if len({c.label for c in cells_}) != len(cells_):
    raise ConfigError("the sweep repeats a (model, training) cell; list each once.")
  return cells_


def _training_of(cell: Cell) -> training_lib.Training:
  return training_lib.Training(cell.params["training"], tuple(cell.params["eps"]))


def rows(cell, outcome) -> List[Dict]:
  training = _training_of(cell)
  data, layout, evals = outcome.data, outcome.layout, outcome.evals
  last = outcome.history[-1]
  out = []
  for g, name in enumerate(training.point_names()):
    sl = layout.point_slice(g)
    per_seed = {k: np.asarray(v)[sl] for k, v in evals.items()
                if np.ndim(v) == 1 and k != "auc_null_std"}
    per_seed = {k: v for k, v in per_seed.items() if not np.all(np.isnan(v))}
    per_seed["leakage_excess"] = per_seed["leakage"] - per_seed["leakage_random"]
    per_seed["train_acc"] = np.asarray(last["train_acc"])[sl]
    eps = training.eps[g] if training.eps else 0.0
    out.append(make_row(f"{cell.params['model']} {name}",
                        {"model": cell.params["model"], "training": training.kind, "eps": eps},
                        per_seed, seeds=list(layout.seeds), source=data.info.source_note,
                        num_train=len(data.y_train), num_test=len(data.y_test)))
  return out


def cell_figures(cell, outcome, cell_rows, writer):
  """Keeps the first seed's attribution maps of every model of the cell (and the test images
  they explain) for the run's figure."""
  if "maps" not in outcome.evals:
    return None
  layout = outcome.layout
  maps = {row["label"]: np.asarray(outcome.evals["maps"])[layout.point_slice(g)][0]
          for g, row in enumerate(cell_rows)}
  return {"maps": maps, "x": outcome.data.x_test, "y": outcome.data.y_test,
          "info": outcome.data.info}


def _maps_figure(writer) -> None:
  kept = [k for k in writer.kept.values() if k]
  if not writer.enabled or not kept:
    return
  maps = {label: m for k in kept for label, m in k["maps"].items()}
  show = min(len(v) for v in maps.values())
  first = kept[0]
  writer.figure("attribution_maps.png",
                "Test images (top row) and the |input gradient| of the true-class logit of "
                "every model (first seed; each map scaled to its maximum).",
                attribution_figures.attribution_grid, first["x"][:show], maps, first["y"][:show],
                title=f"{first['info'].name}: {first['info'].source_note}")


def report(config, results, writer) -> Report:
  _maps_figure(writer)
  rows = results["rows"]
  labels = [r["label"] for r in rows]
  series = {name: ([r["summary"][m]["mean"] for r in rows], [r["summary"][m]["ci95"] for r in rows])
            for name, m in (("top-k pixels on the null block (mean over k)", "null_topk"),
                            ("gradient mass on the null block", "null_mass"))}
  writer.figure("null_block_share.png", "Share of the top-k gradient pixels (mean over k = "
                "2.5-30%) and of the gradient mass that lies in the null block, per model "
                "(mean ± 95% CI over seeds); dashed: a random attribution (.5).",
                bars.grouped_bars, labels, series, ylabel="share in the null block",
                title=f"{rows[0]['source']}", hlines=(0.5,))
  placement = config.data.placement
  where = {"top": "digit block on top", "bottom": "digit block at the bottom"}.get(
      placement, "digit block on top or at the bottom at random")
  intro = (f"BlockMNIST ({where}, null "
           f"block: {config.data.null}), classes {config.data.classes}: {rows[0]['source']}; "
           f"{rows[0]['num_train']} train / {rows[0]['num_test']} test images; "
           f"{config.num_seeds} seeds per model trained together; attribution "
           f"{config.eval.attribution_method} (BatchNorm in eval mode). "
           "null_top{k}: share of the top-k% gradient pixels in the null block (chance .5); "
           "null_mass: share of |gradient| there; leakage: correlation of the null-block map "
           "with the training-set mean digit of the predicted class (leakage_random: a random "
           "attribution's).")
  notes = []
  if "not MNIST" in rows[0]["source"]:
    notes.append("The digits are NOT MNIST (an offline stand-in): these are not BlockMNIST "
                 "results.")
  metrics = ["test_acc"] + topk_metric_names(config.eval.topk_fractions) \
      + ["null_topk", "null_mass", "null_mass_digit_top", "null_mass_digit_bottom", "leakage",
         "leakage_random"]
  return Report(f"BlockMNIST attribution ({placement} placement)", intro,
                [m for m in metrics if m in rows[0]["summary"]], notes,
                extra={"placement": placement, "source": rows[0]["source"]})
