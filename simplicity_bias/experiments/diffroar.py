"""DiffROAR (the poster of "Do Input Gradients Highlight Discriminative Features?"): do the input
gradients of standard and robust models rank predictive pixels first?

    DiffROAR_M(A, k) = PredPower_M(top-k of A) - PredPower_M(bottom-k of A)

For every source model (standard; adversarially trained at the configured radii; a linear model)
and for a random attribution, each training and test image is masked to the fraction k of its
pixels with the highest (top-k) or lowest (bottom-k) attribution, the rest black (or the
per-pixel training mean, ``diffroar.fill``); a fresh model of class M (``config.model``) is
trained on the masked training images and scored on the identically masked test images.
Published (poster, read at k ≈ .05, standard / most robust): Fashion-MNIST MLP ≈ .03 / .17,
CIFAR-10 ResNet-50 ≈ −.03 / .22; standard models near or below 0 at small k, robust ones clearly
above, increasingly so with ε. Checks by construction: k = 1 gives 0; random gives ≈ 0.

Programs: each source (one norm's radii together, seeds as members) is one cell; then ONE
retraining program holds every (attribution, k, side, seed) member (``diffroar.retrain_group``
attributions per program when memory asks for fewer: every member holds its own masked copy of
the training set, because the masks differ, so the retraining data bundle has a member axis).
All retrained members of a seed start from the same initialisation (common random numbers across
attributions, k and sides), so at k = 1 — both sides the unmasked image — top and bottom train
identically and DiffROAR is exactly 0.
"""

from typing import Dict, List

import numpy as np

from simplicity_bias.attribution import diffroar as lib
from simplicity_bias.attribution import gradients
from simplicity_bias.data import registry
from simplicity_bias.experiments import trainings as training_lib
from simplicity_bias.experiments.block_mnist import model_overrides
from simplicity_bias.pipeline import Cell, Report, apply_overrides, make_cells, validate_cell
from simplicity_bias.report import attribution as attribution_report
from simplicity_bias.report.results import add_metrics, make_row
from simplicity_bias.validation import ConfigError

NAME = "diffroar"
CONFIGS = ("diffroar_fashion_mnist", "diffroar_cifar10", "diffroar_mnist", "diffroar_block_mnist")
# The metrics its claims read: shown first in the console summary.
HEADLINE = ("diffroar", "top_acc", "bottom_acc", "diffroar_mean_k_below_1", "source_test_acc")
TIDY_COLUMNS = ("dataset", "model", "source", "attribution", "k", "side", "seed", "test_acc",
                "diffroar")


def k_grid(config) -> List[float]:
  ks = config.diffroar.k_grid
  ks = [ks] if isinstance(ks, (int, float)) else list(ks)
  if not ks or any(isinstance(k, bool) or not 0 < k <= 1 for k in ks) or len(set(ks)) != len(ks):
    raise ConfigError(f"diffroar.k_grid={config.diffroar.k_grid!r} must hold distinct fractions "
                      "in (0, 1].")
  return [float(k) for k in ks]


def _linear_overrides(config) -> Dict:
  out = model_overrides(config, "mlp")
  out["model.depth"] = 0
  if "width" in config.model:
    out["model.width"] = config.model.width if config.model.width is not None else 256
  return out


def _groups(names: List, size: int) -> List[List]:
  size = size or len(names)
  return [names[i:i + size] for i in range(0, len(names), size)]


def cells(config) -> List[Cell]:
  """A plan: one cell per source training (standard, one per attack norm with its radii as
  training points) and the linear model, then the retraining cells, each a program of models of
  class M on the masks of ``diffroar.retrain_group`` attributions (the random one last). Every
  check that needs no compilation runs here."""
  k_grid(config)
  lib.fill_value(np.zeros((1, 1, 1, 1), np.float32), config.diffroar.fill)
  method = config.diffroar.attribution_method
  if method not in gradients.METHODS:
    raise ConfigError(f"diffroar.attribution_method={method!r} is unknown; valid: "
                      f"{', '.join(gradients.METHODS)}.")
  validate_cell(config)
  specs, attributions = [], []
  if config.sweep.standard or config.sweep.linf_eps or config.sweep.l2_eps:
    for training in training_lib.trainings(config):
      label = f"source {training.kind}"
      specs.append((label, {"source": training.kind, "eps": training.eps},
                    training_lib.overrides(config, training)))
      attributions += [(name, [label, g]) for g, name in enumerate(training.point_names())]
  if config.sweep.linear:
    specs.append(("source linear", {"source": "linear", "eps": ()}, _linear_overrides(config)))
    attributions.append(("linear", ["source linear", 0]))
  if not specs:
    raise ConfigError("DiffROAR needs a source model: set sweep.standard, sweep.linf_eps, "
                      "sweep.l2_eps or sweep.linear.")
  if config.sweep.random:
    attributions.append(("random", ["random"]))
  out = make_cells(config, specs, of=lambda c: {"evals": ("accuracy",)})
  for cell in out:   # a robust source's radii are its training points (each member's ε)
    cell.points = [{"eps": e} for e in cell.params["eps"]]
  # Class M: the configured model and objective (never a robust source's adversarial objective
  # or the linear source's model); every retrained member of a seed starts from the same init.
  fractions, sides = lib.grid(k_grid(config))
  for group in _groups(attributions, int(config.diffroar.retrain_group)):
    names = [name for name, _ in group]
    out.append(Cell(
        f"retrain on {', '.join(names)} masks", {"stage": "retrain", "sources": names},
        apply_overrides(config, {}), config, evals=("accuracy",), key_purpose="RETRAIN",
        points=[{"mask": f"{name} {lib.SIDES[side]} {k:g}"} for name in names
                for k, side in zip(fractions, sides)],
        transform=("mask_by_ranks", {
            "from": sorted({src[0] for _, src in group if src[0] != "random"}),
            "attributions": [src for _, src in group], "k_grid": k_grid(config),
            "fill": config.diffroar.fill, "method": method,
            "chunk": int(config.diffroar.attribution_chunk)})))
  return out


def rows(cell, outcome) -> List[Dict]:
  """A source cell: each source model's test accuracy; a retraining cell: per attribution,
  DiffROAR and both sides' accuracy per k, and their mean over k < 1 (``finish_rows`` adds what
  needs other cells: the gain over the standard model, the source's accuracy)."""
  seeds = list(outcome.layout.seeds)
  note = outcome.data.info.source_note or outcome.data.info.name
  if cell.params.get("stage") != "retrain":
    training = training_lib.Training(
        cell.params["source"] if cell.params["source"] != "linear" else "standard",
        tuple(cell.params["eps"]))
    names = ["linear"] if cell.params["source"] == "linear" else training.point_names()
    acc = np.asarray(outcome.evals["test_acc"])
    return [make_row(f"{name} source", {"source": name, "stage": "source"},
                     {"source_test_acc": acc[outcome.layout.point_slice(g)]}, seeds=seeds,
                     data=note) for g, name in enumerate(names)]
  ks = k_grid(cell.config)
  names = cell.params["sources"]
  acc = np.asarray(outcome.evals["test_acc"]).reshape(len(names), len(ks), 2, len(seeds))
  out = []
  for name, a in zip(names, acc):
    diff = a[:, 0] - a[:, 1]                             # [k, seed]
    for i, k in enumerate(ks):
      out.append(make_row(f"{name} k={k:g}", {"source": name, "k": k},
                          {"diffroar": diff[i], "top_acc": a[i, 0], "bottom_acc": a[i, 1]},
                          seeds=seeds, data=note))
    below_one = [i for i, k in enumerate(ks) if k < 1]
    out.append(make_row(f"{name} summary", {"source": name},
                        {"diffroar_mean_k_below_1": diff[below_one].mean(0) if below_one
                         else diff[0]}, seeds=seeds, data=note))
  return out


def finish_rows(config, rows) -> List[Dict]:
  """Adds to each attribution's rows the gain over the standard model's DiffROAR at the same k
  and seed, and to its summary the source model's test accuracy; drops the source rows."""
  del config
  source_acc = {r["params"]["source"]: r["per_seed"]["source_test_acc"] for r in rows
                if r["params"].get("stage") == "source"}
  standard = {r["params"]["k"]: np.asarray(r["per_seed"]["diffroar"]) for r in rows
              if r["params"].get("source") == "standard" and "k" in r["params"]}
  out = []
  for r in rows:
    if r["params"].get("stage") == "source":
      continue
    source = r["params"]["source"]
    if "k" in r["params"] and standard and source != "standard":
      add_metrics(r, {"gain_over_standard": np.asarray(r["per_seed"]["diffroar"])
                      - standard[r["params"]["k"]]})
    elif "k" not in r["params"] and source in source_acc:
      add_metrics(r, {"source_test_acc": source_acc[source]})
    out.append(r)
  return out


def _tidy(config, rows, dataset: str) -> List[Dict]:
  """Per (attribution, k, side, seed): the retrained model's test accuracy and DiffROAR."""
  out = []
  for r in rows:
    if "k" not in r["params"]:
      continue
    name, k = r["params"]["source"], r["params"]["k"]
    for side, metric in enumerate(("top_acc", "bottom_acc")):
      for j, seed in enumerate(r["seeds"]):
        out.append({"dataset": dataset, "model": config.model.name, "source": name,
                    "attribution": "random" if name == "random" else
                    config.diffroar.attribution_method, "k": k, "side": lib.SIDES[side],
                    "seed": seed, "test_acc": r["per_seed"][metric][j],
                    "diffroar": r["per_seed"]["diffroar"][j]})
  return out


def report(config, results, writer) -> Report:
  rows = results["rows"]
  curves = {}
  for r in rows:
    if "k" not in r["params"]:
      continue
    c = curves.setdefault(r["params"]["source"], {"k": [], "mean": [], "ci95": []})
    c["k"].append(r["params"]["k"])
    c["mean"].append(r["summary"]["diffroar"]["mean"])
    c["ci95"].append(r["summary"]["diffroar"]["ci95"])
  info = registry.info(config)
  note = rows[0].get("data") or info.source_note or info.name
  attribution_report.write_table(writer, "diffroar.csv", _tidy(config, rows, info.name),
                                 TIDY_COLUMNS)
  panel = f"{info.name} / {config.model.name}"
  writer.figure("diffroar.png", f"DiffROAR vs k per attribution source ({note}); bands: 95% CI "
                f"over {config.num_seeds} seeds; dotted: 0.", attribution_report.diffroar_curves,
                {panel: curves}, title=f"DiffROAR, {panel}")
  intro = (f"DiffROAR on {note}: model class M = {config.model.name}; attribution "
           f"{config.diffroar.attribution_method} of each source model "
           f"(random: uniform scores); removed pixels filled {config.diffroar.fill}; "
           f"{config.num_seeds} seeds, each seed's retrained models (every k and side) one "
           "program. diffroar = test accuracy(top-k) − test accuracy(bottom-k); per-seed, "
           "per-side accuracies in diffroar.csv.")
  notes = []
  if "not MNIST" in note or "not the official" in note:
    notes.append(f"Data: {note}.")
  return Report(f"DiffROAR: {panel}", intro,
                ["diffroar", "top_acc", "bottom_acc", "gain_over_standard",
                 "diffroar_mean_k_below_1", "source_test_acc"], notes,
                extra={"dataset": info.name, "source": note, "model_class": config.model.name,
                       "published": config.diffroar.published.to_dict()})
