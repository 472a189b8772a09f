"""Adversarial perturbations and adversarial training on MNIST-CIFAR (Pitfalls of SB §5).

Two claim configs, one module:

* ``uap_mnist_cifar`` — a standard network on MNIST-CIFAR relies on the digit, so its adversarial
  perturbations live on the digit: the label-signed SVD-UAP of its per-example l2 PGD
  perturbations puts ≈ all of its l2 budget on the MNIST rows (published 99.3%, DenseNet-121).
  Evaluators ``sb`` and ``uap`` (``evaluators/robustness.py``); figures: the UAP as an image, and
  clean / PGD / UAP-perturbed test images.
* ``adv_training_mnist_cifar`` — l∞ adversarial training (ε = .3) makes the network robust
  (robust accuracy .000 -> .98–.99) without removing simplicity bias: its MNIST-randomized
  accuracy stays ≈ .5 as before. Two cells, ``standard`` (objective ``erm``) and
  ``adversarial`` (objective ``adversarial``), each ``num_seeds`` runs in one program; evaluators
  ``sb`` and ``robust`` (l∞ PGD at ``eval.robust_eps``). Figures: robust accuracy against ε per
  model, and clean / adversarial images with their perturbations for both models.

Metric names follow the other image experiment: ``s_rand_*`` = MNIST-randomized (the digit rows
permuted across the test set), ``sc_rand_*`` = CIFAR-randomized.
"""

import dataclasses
from typing import Dict, List

import jax
import jax.numpy as jnp
import numpy as np

from simplicity_bias.attacks.uap import apply_uap
from simplicity_bias.data.images import SIMPLE_BLOCK
from simplicity_bias.evaluators.robustness import IMAGE_BOX, eps_name, option
from simplicity_bias.experiments.mnist_cifar import _host, cells as image_cells
from simplicity_bias.pipeline import Cell, Report, apply_overrides, point_rows, validate_cell
from simplicity_bias.report import robustness as figures
from simplicity_bias.report.results import mean_ci95
from simplicity_bias.validation import ConfigError

NAME = "adversarial_images"
CONFIGS = ("uap_mnist_cifar", "adv_training_mnist_cifar")
# The metrics its claims read: shown first in the console summary.
HEADLINE = ("test_acc", "s_rand_acc", "sc_rand_acc", "svd_uap_share_s", "train_acc")
SHOW = 8  # test images in the example figures


def _mode(config) -> str:
  if "adv_cells" in config:
    return "adv_training"
  return "uap"


def cells(config) -> List[Cell]:
  """``uap``: the image experiment's cells (one model); adversarial training: a ``standard`` and
  an ``adversarial`` cell of the same model, data and seeds."""
  if _mode(config) == "uap":
    return [_with_examples(cell) for cell in image_cells(config)]
  if config.objective.name != "adversarial":
    raise ConfigError(f"objective.name={config.objective.name!r}: the adversarial cell trains "
                      "with objective 'adversarial' (the standard cell switches it to 'erm').")
  out = []
  for name in config.adv_cells:
    if name not in ("standard", "adversarial"):
      raise ConfigError(f"adv_cells has {name!r}; valid cells: 'standard', 'adversarial'.")
    overrides = {}
    if name == "standard":
      s = config.standard
      overrides = {"objective.name": "erm", "train.stop_rule": s.stop_rule,
                   "train.stop_eps": s.stop_eps, "train.max_epochs": s.max_epochs}
    c = apply_overrides(config, overrides)
    try:
      validate_cell(c)
    except ConfigError as e:
      raise ConfigError(f"cell {name!r}: {e}") from None
    out.append(_with_examples(Cell(name, {"training": name, "model": config.model.name}, c)))
  if len({c.label for c in out}) != len(out):
    raise ConfigError(f"adv_cells={tuple(config.adv_cells)} repeats a cell.")
  return out


def _with_examples(cell: Cell) -> Cell:
  """The cell with the ``attack_examples`` evaluator (the example figures' images)."""
  return dataclasses.replace(
      cell, evals=tuple(cell.evals if cell.evals is not None else cell.config.evals)
      + ("attack_examples",), eval_options={**cell.eval_options, **example_options(cell.config)})


def rows(cell, outcome) -> List[Dict]:
  config = cell.config
  cell_rows = point_rows(cell, outcome, coordinates=False)
  last = outcome.history[-1]
  for row in cell_rows:
    row["per_seed"]["epochs"] = (np.asarray(last["num_updates"], float)
                                 / outcome.trainer.steps_per_epoch).tolist()
    row["summary"]["epochs"] = mean_ci95(row["per_seed"]["epochs"])
    row["timing"] = dict(outcome.timing)
    row["source"] = outcome.data.info.source_note
    row["num_train"], row["num_test"] = outcome.trainer.num_train, len(outcome.data.y_test)
    if "robust_acc" in outcome.evals:
      row["robust_eps"] = [float(e) for e in option(dict(config.eval), "robust_eps")]
      acc = np.asarray(outcome.evals["robust_acc"])
      row["robust_acc"] = [mean_ci95(acc[:, j]) for j in range(acc.shape[1])]
  return cell_rows


def cell_figures(cell, outcome, cell_rows, writer) -> Dict:
  """The UAP figures of a UAP run; keeps the cell's example images for the run's figures."""
  del cell_rows
  examples = _examples(cell.config, outcome)
  if _mode(cell.config) == "uap" and writer.enabled:
    _uap_figures(cell, outcome, examples, writer)
  return examples


def example_options(config) -> Dict:
  """The ``attack_examples`` evaluator's options: l2 PGD at the attack's ε (UAP runs) or l∞ PGD
  at the largest robust-evaluation ε, with the attack's steps."""
  o = dict(config.eval)
  if _mode(config) == "uap":
    norm, eps, steps = "l2", option(o, "attack_eps"), option(o, "attack_steps")
  else:
    norm, eps, steps = "linf", max(option(o, "robust_eps")), option(o, "robust_steps")
  return {"show_examples": SHOW, "example_norm": norm, "example_eps": float(eps),
          "example_steps": int(steps)}


def _examples(config, outcome) -> Dict:
  """The first run's example images from its ``attack_examples`` evaluation, and with the first
  run's SVD-UAP where there is one (host arrays, for the figures)."""
  options = example_options(config)
  out = {k: np.asarray(v[0]) for k, v in outcome.evals["attack_examples"].items()}
  out.update(norm=options["example_norm"], eps=options["example_eps"])
  if "svd_uap" in outcome.evals:
    variables = jax.tree_util.tree_map(lambda a: a[0], _host(outcome.variables))
    u = jnp.asarray(outcome.evals["svd_uap"][0])
    x_uap = apply_uap(jnp.asarray(out["x"]), jnp.asarray(out["y"]), u, IMAGE_BOX)
    out.update(uap=np.asarray(u), x_uap=np.asarray(x_uap), pred_uap=np.asarray(
        jnp.argmax(outcome.trainer.predict(variables, x_uap), -1)))
  return out


def _uap_figures(cell, outcome, ex, writer) -> None:
  evals = outcome.evals
  eps = float(option(dict(cell.config.eval), "uap_eps"))
  writer.figure("uap_image.png", f"{cell.label}: the label-signed UAPs (l2 norm {eps:g}) of the "
                "first run, as images and as per-pixel magnitude; dashed: MNIST (top) / CIFAR "
                "(bottom) boundary.", figures.uap_image,
                {"SVD-UAP": np.asarray(evals["svd_uap"][0]),
                 "AS-UAP": np.asarray(evals["as_uap"][0])}, boundary_row=SIMPLE_BLOCK[1],
                title=f"{cell.label}: universal perturbations (first run)")
  writer.figure("uap_examples.png", f"{cell.label}: test images clean, with their per-example "
                f"l2 PGD perturbation (ε = {ex['eps']:g}) and with the SVD-UAP (x + s(y) u); "
                "the perturbations are contrast-stretched; predictions under each image.",
                figures.perturbed_examples,
                {"clean": ex["x"], "PGD": ex["x"] + ex["delta"],
                 "PGD perturbation": ex["delta"], "SVD-UAP": ex["x_uap"],
                 "UAP perturbation": ex["x_uap"] - ex["x"]}, ex["y"],
                predictions={"clean": ex["pred"], "PGD": ex["pred_adv"],
                             "SVD-UAP": ex["pred_uap"]},
                title=f"{cell.label}: perturbed test images (first run)")


def _adv_figures(config, rows, examples, writer) -> None:
  panels, hlines = [], []
  for row in rows:
    if "robust_eps" not in row:
      continue
    eps = row["robust_eps"]
    series = {"l∞ PGD": (eps, [s["mean"] for s in row["robust_acc"]],
                         [s["ci95"] for s in row["robust_acc"]])}
    panels.append((f"{row['label']} training", series))
    hlines.append({f"{n} {row['summary'][m]['mean']:.2f}": row["summary"][m]["mean"]
                   for n, m in (("MNIST-randomized", "s_rand_acc"),
                                ("CIFAR-randomized", "sc_rand_acc")) if m in row["summary"]})
  if panels:
    writer.figure("robust_accuracy.png", "Test accuracy under l∞ PGD against ε, standard and "
                  "adversarially trained models (mean ± 95% CI over runs); horizontal lines: the "
                  "same models' MNIST- and CIFAR-randomized accuracy (no attack).",
                  figures.accuracy_vs_eps, panels, "l∞ radius ε",
                  title="MNIST-CIFAR: accuracy under attack", panel_hlines=hlines)
  images, predictions = {}, {}
  for name, ex in examples.items():
    if not images:
      images["clean"] = ex["x"]
    images[f"PGD vs {name}"] = ex["x"] + ex["delta"]
    images[f"{name} perturbation"] = ex["delta"]
    predictions[f"PGD vs {name}"] = ex["pred_adv"]
  first = next(iter(examples.values()))
  writer.figure("adversarial_examples.png", f"Test images clean and under l∞ PGD (ε = "
                f"{first['eps']:g}) against the standard and the adversarially trained model "
                "(first run each), with the perturbations (contrast-stretched); predictions under "
                "each attacked image.", figures.perturbed_examples, images, first["y"],
                predictions=predictions, title="MNIST-CIFAR: adversarial examples")


def report(config, results, writer) -> Report:
  rows = results["rows"]
  if _mode(config) == "adv_training" and writer.enabled:
    _adv_figures(config, rows, writer.kept, writer)
  o = config.objective
  common = (f"MNIST-CIFAR ({rows[0].get('source', '')}; {rows[0].get('num_train')} train / "
            f"{rows[0].get('num_test')} test images), {config.model.name} (base width "
            f"{config.model.base_width}), {config.num_seeds} runs per cell in one program; "
            f"{config.optim.name} lr {config.optim.learning_rate}, batch "
            f"{config.train.batch_size}. s_rand = MNIST-randomized, sc_rand = "
            "CIFAR-randomized.")
  if _mode(config) == "uap":
    e = dict(config.eval)
    intro = (common + f" Per-example l2 PGD (ε = {option(e, 'attack_eps'):g}, "
             f"{option(e, 'attack_steps')} steps, from 0) on the first "
             f"{option(e, 'attack_examples') or 'all'} test images; label-signed UAPs of l2 norm "
             f"{option(e, 'uap_eps'):g} fitted on the first {option(e, 'uap_fit_fraction'):g} of "
             "them (SVD-UAP: top right singular vector of the per-example perturbations; AS-UAP: "
             "projected gradient ascent) and evaluated on the rest (held out) and on the fitting "
             "part; `*_share_s`: share of the squared l2 norm on the MNIST rows.")
    metrics = ["test_acc", "s_rand_acc", "sc_rand_acc", "pgd_acc", "pgd_share_s",
               "svd_uap_acc", "svd_uap_fit_acc", "svd_uap_share_s", "as_uap_acc",
               "as_uap_share_s", "train_acc", "epochs"]
    title = "MNIST-CIFAR: universal perturbations live on the digit"
  else:
    radii = ", ".join(eps_name(e) for e in config.eval.robust_eps)
    intro = (common + f" Adversarial cell: l∞ PGD training, ε = {o.eps:g}, {o.num_steps} steps "
             f"of {o.step_size:g}, random start {o.random_start}, BatchNorm in {o.bn_mode} mode "
             f"during the attack, {config.train.max_epochs} epochs. Standard cell: the same "
             f"model with cross-entropy, stopped at train {config.standard.stop_rule} < "
             f"{config.standard.stop_eps:g} (at most {config.standard.max_epochs} epochs). "
             f"`robust_acc_<ε>`: test accuracy under l∞ PGD ({config.eval.robust_steps} steps of "
             f"2.5 ε / {config.eval.robust_steps}, {config.eval.robust_restarts} random start(s)) "
             f"at ε in ({radii}), on the first {config.eval.attack_examples or 'all'} test images.")
    metrics = (["test_acc", "test_auc"] + [f"robust_acc_{eps_name(e)}"
                                           for e in config.eval.robust_eps]
               + ["s_rand_acc", "s_rand_auc", "sc_rand_acc", "train_acc", "epochs"])
    title = "MNIST-CIFAR: adversarial training does not remove simplicity bias"
  notes = []
  if "not MNIST" in rows[0].get("source", ""):
    notes.append("The digits are NOT MNIST (an offline stand-in): these are not MNIST-CIFAR "
                 "results.")
  return Report(title, intro, metrics, notes, extra={"mode": _mode(config),
                                                     "model": config.model.to_dict()})
