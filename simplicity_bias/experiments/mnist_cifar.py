"""Simplicity bias on images: MNIST-CIFAR (variants A, B, C), CIFAR only, and ensembles.

A network trained on MNIST-CIFAR (an MNIST digit stacked on a CIFAR-10 image, both fully
predictive) relies on the digit alone: standard AUC ≈ 1, MNIST-randomized AUC ≈ .5 and
CIFAR-randomized AUC ≈ 1 (Pitfalls of SB §4). The CIFAR-only source trains on the bottom block
by itself to show it is predictive (automobile vs truck ≈ 95% accuracy);
``members.group_size > 1`` averages the logits of that many independently trained members (the
``mean_logits`` read-out).

All members (``num_seeds`` ensembles x ``members.group_size`` models) train together in one compiled
program on one shared dataset; with several devices each batch is split over them (data
parallel; ``distributed=True`` first connects the processes of a multi-host job). Metric names
follow the synthetic experiments: ``s_rand_*`` is MNIST-randomized (the digit block permuted
across the test set with one permutation per run), ``sc_rand_*`` CIFAR-randomized.
``sweep.models`` / ``sweep.variants`` train one cell per (model, variant), each its own program.
"""

import itertools
from typing import Dict, List

import jax
import numpy as np

from simplicity_bias.pipeline import Cell, Report, group_size_of, make_cells
from simplicity_bias.report import bars, figures
from simplicity_bias.report.results import make_row
from simplicity_bias.validation import ConfigError, check_positive

NAME = "mnist_cifar"
CONFIGS = ("mnist_cifar", "cifar_only", "mnist_cifar_ensemble")
# The metrics its claims read: shown first in the console summary.
HEADLINE = ("test_acc", "test_auc", "s_rand_auc", "sc_rand_auc", "train_acc")
# The sb evaluator keeps the first test images of each set as evaluated (for examples.png).
EXAMPLE_OPTIONS = {"show_examples": 8}
_IMAGE_EVAL_NAMES = {"test": "standard", "s_rand": "MNIST-randomized",
                     "sc_rand": "CIFAR-randomized"}


def _names(text: str) -> List[str]:
  return [t.strip() for t in text.split(",") if t.strip()]


def _evals(config):
  """The configured evaluators of every member; with ensembles also the ensembles' ``sb`` (mean
  logits)."""
  return tuple(config.evals) + (() if group_size_of(config) == 1 else ("sb@mean_logits",))


def cells(config) -> List[Cell]:
  check_positive("members.group_size", group_size_of(config))
  check_positive("num_devices", config.num_devices, allow_zero=True)
  if config.data.num_train and config.train.batch_size > config.data.num_train:
    raise ConfigError(f"train.batch_size={config.train.batch_size} is larger than "
                      f"data.num_train={config.data.num_train}; lower the batch size.")
  models = _names(config.sweep.models) or [config.model.name]
  variants = _names(config.sweep.variants) or [config.data.variant]
  specs = []
  for model, variant in itertools.product(models, variants):
    overrides = {"data.variant": variant}
    if model != config.model.name:
      # A swept model starts from its own defaults: the base model's sizes do not carry over.
      overrides.update({f"model.{f}": None for f in config.model if f != "name"})
      overrides["model.name"] = model
    specs.append((f"{variant} {model}", {"variant": variant, "model": model}, overrides))
  if len(specs) == 1:  # one cell: errors name the field, not the cell
    from simplicity_bias.pipeline import apply_overrides, validate_cell
    c = apply_overrides(config, specs[0][2])
    validate_cell(c)
    return [Cell(specs[0][0], specs[0][1], c, evals=_evals(c), row_label="all",
                 eval_options=dict(EXAMPLE_OPTIONS))]
  return make_cells(config, specs,
                    of=lambda c: {"evals": _evals(c), "eval_options": dict(EXAMPLE_OPTIONS)})


def _host(tree):
  """Replicated (possibly multi-process) arrays as this process's numpy copy."""
  return jax.tree_util.tree_map(
      lambda a: np.asarray(a.addressable_data(0)) if hasattr(a, "addressable_data") else a, tree)


def _per_run(outcome) -> Dict:
  """The evaluators' outputs per run: the model's, or with ensembles the ensemble's (mean
  logits) plus ``member_<metric>`` = the mean over its members."""
  k = outcome.layout.slots
  if k == 1:
    return dict(outcome.evals)
  out = {name.split("@")[0]: v for name, v in outcome.evals.items()
         if name.endswith("@mean_logits")}
  for name, v in outcome.evals.items():
    if "@" not in name and (name.endswith("_acc") or name.endswith("_auc")):
      out[f"member_{name}"] = np.asarray(v).reshape(outcome.layout.num_seeds, k).mean(axis=1)
  return out


def rows(cell, outcome) -> List[Dict]:
  config, layout, data, trainer = cell.config, outcome.layout, outcome.data, outcome.trainer
  evals = _host(_per_run(outcome))
  last = outcome.history[-1]
  per_ensemble = lambda v: np.asarray(v, float).reshape(layout.num_seeds, -1).mean(axis=1)
  per_seed = {n: np.asarray(v) for n, v in evals.items()
              if not isinstance(v, dict) and np.ndim(v) == 1 and n != "auc_null_std"}
  per_seed["train_acc"] = per_ensemble(last["train_acc"])
  per_seed["epochs"] = per_ensemble(np.asarray(last["num_updates"]) / trainer.steps_per_epoch)
  per_seed["converged"] = per_ensemble(last["converged"])
  timing = dict(outcome.timing)
  images = layout.num_members * trainer.spec.batch_size * float(np.mean(last["num_updates"]))
  timing["images_per_s_incl_compile"] = images / max(timing["train_s"], 1e-9)
  return [make_row(cell.row_label or cell.label, cell.params, per_seed, seeds=list(layout.seeds),
                   source=data.info.source_note, num_train=trainer.num_train,
                   num_test=len(data.y_test), devices=jax.device_count()
                   if config.num_devices == 0 else config.num_devices,
                   auc_null_std=float(np.mean(evals["auc_null_std"])), timing=timing)]


def cell_figures(cell, outcome, cell_rows, writer) -> None:
  """The first cell's test images and score histograms."""
  if not any(name == "examples.png" for name, _ in writer.figures):
    first_figures(cell, outcome, _host(_per_run(outcome)), writer)


def first_figures(cell, outcome, evals, writer) -> None:
  """Test images as evaluated (first run's permutations) and the first run's score histograms."""
  if not writer.enabled:
    return
  data = outcome.data
  show = min(EXAMPLE_OPTIONS["show_examples"], len(data.y_test))
  # The first run's test images as its sb evaluator randomized them.
  sets = {k: np.asarray(v[0])[:show] for k, v in outcome.evals["randomized_examples"].items()}
  writer.figure("examples.png", "The first test images as evaluated: standard and, for "
                "MNIST-CIFAR, with one block permuted across the test set (first run).",
                figures.image_grid, {_IMAGE_EVAL_NAMES[k]: v for k, v in sets.items()},
                data.y_test[:show], title=f"{cell.label}: test images\n({data.info.source_note})")
  writer.figure("score_histograms.png", "Scores of positive test images: standard vs randomized "
                "(first run).", figures.score_histograms,
                {k: v[0] for k, v in evals["scores"].items()}, data.y_test,
                title=f"{cell.label}, first run")


def report(config, results, writer) -> Report:
  rows = results["rows"]
  evals = [k for k in _IMAGE_EVAL_NAMES if f"{k}_auc" in rows[0]["summary"]]
  labels = [r["label"] if r["label"] != "all" else
            f"{r['params']['variant']} {r['params']['model']}" for r in rows]
  series = {_IMAGE_EVAL_NAMES[k]: ([r["summary"][f"{k}_auc"]["mean"] for r in rows],
                                   [r["summary"][f"{k}_auc"]["ci95"] for r in rows])
            for k in evals}
  writer.figure("auc.png", "Standard, MNIST-randomized and CIFAR-randomized test AUC per cell; "
                "dashed: chance.", bars.grouped_bars, labels, series, ylabel="test AUC",
                title=f"{_title(config)}: AUC (mean ± 95% CI over {config.num_seeds} runs)",
                hlines=(0.5,))
  group_size = group_size_of(config)
  ensemble = (f"ensembles of {group_size} models (mean logits), " if group_size > 1 else "")
  intro = (f"{_title(config)}: {rows[0]['source']}; {rows[0]['num_train']} train / "
           f"{rows[0]['num_test']} test images; {ensemble}{config.num_seeds} independent runs "
           f"trained together on {rows[0]['devices']} device(s); {config.optim.name} lr "
           f"{config.optim.learning_rate}, stop at train {config.train.stop_rule} "
           f"(eps {config.train.stop_eps}). s_rand = MNIST-randomized (the digit block permuted "
           "across the test set), sc_rand = CIFAR-randomized. Simplicity bias = standard AUC ≈ 1, "
           "s_rand AUC ≈ .5, sc_rand AUC ≈ 1.")
  notes = [f"AUC null standard deviation at this test size: {rows[0]['auc_null_std']:.4f}."]
  if "not MNIST" in rows[0]["source"]:
    notes.append("The digits are NOT MNIST (an offline stand-in): these are not MNIST-CIFAR "
                 "results.")
  metrics = [f"{k}_{m}" for k in evals for m in ("acc", "auc")] + ["train_acc", "epochs"]
  if group_size > 1:
    metrics += [f"member_{k}_auc" for k in evals]
  return Report(_title(config), intro, metrics, notes,
                extra={"layout": config.data.source, "ensemble_size": group_size,
                       "source": rows[0]["source"], "model": config.model.to_dict(),
                       "selection": config.train.select})


def _title(config) -> str:
  if config.data.source == "cifar_only":
    return f"CIFAR-only (variant {config.data.variant} classes)"
  return "MNIST-CIFAR simplicity bias"
