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

import jax
import jax.numpy as jnp
import numpy as np

from simplicity_bias.attribution import diffroar as lib
from simplicity_bias.attribution import gradients, masking
from simplicity_bias.data import registry
from simplicity_bias.evaluators.attribution import attribute_chunked
from simplicity_bias.experiments import trainings as training_lib
from simplicity_bias.experiments.block_mnist import model_overrides
from simplicity_bias.members import Attribution, Layout, Purpose, subkey
from simplicity_bias.pipeline import (Cell, Report, apply_overrides, layout_of, make_cells,
                                      run_cell, validate_cell)
from simplicity_bias.report import attribution as attribution_report
from simplicity_bias.report.results import make_row
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


def cells(config) -> List[Cell]:
  """The source models: one cell per training (standard, one per attack norm) and the linear
  model; the retraining config is checked here too, before anything compiles."""
  k_grid(config)
  lib.fill_value(np.zeros((1, 1, 1, 1), np.float32), config.diffroar.fill)
  if config.diffroar.get("attribution_method", "grad_logit") not in gradients.METHODS:
    raise ConfigError(f"diffroar.attribution_method={config.diffroar.attribution_method!r} is "
                      f"unknown; valid: {', '.join(gradients.METHODS)}.")
  validate_cell(config)
  specs = []
  if config.sweep.standard or config.sweep.linf_eps or config.sweep.l2_eps:
    for training in training_lib.trainings(config):
      specs.append((training.kind, {"source": training.kind, "eps": training.eps},
                    training_lib.overrides(config, training)))
  if config.sweep.linear:
    specs.append(("linear", {"source": "linear", "eps": ()}, _linear_overrides(config)))
  if not specs:
    raise ConfigError("DiffROAR needs a source model: set sweep.standard, sweep.linf_eps, "
                      "sweep.l2_eps or sweep.linear.")
  return make_cells(config, specs)


def retrain_config(cells):
  """Class M: the configured model trained with the configured objective (the experiment's
  config before any source cell's overrides: never a robust source's adversarial objective or
  the linear source's model)."""
  return apply_overrides(cells[0].base, {})


def pixel_ranks(predict, variables, x, y, keys, method, chunk):
  """int16 [seeds, n, H, W] top-first pixel ranks of every seed's attribution of ``x`` (one seed
  at a time: the attributions of a whole training set are the largest arrays of the run)."""
  num_pixels = int(np.prod(x.shape[1:3]))
  dtype = jnp.int16 if num_pixels < 2 ** 15 else jnp.int32

  @jax.jit
  def one(v, key):
    k_attr, k_tie = jax.random.split(key)
    attr = attribute_chunked(method, lambda z: predict(v, z), x, y, k_attr, chunk)
    return masking.feature_ranks(gradients.pixel_scores(attr), "top", k_tie).astype(dtype)

  num = jax.tree_util.tree_leaves(variables)[0].shape[0]
  return jnp.stack([one(jax.tree_util.tree_map(lambda a: a[s], variables), keys[s])
                    for s in range(num)])


def random_ranks(x, keys):
  """Ranks of a random attribution (uniform scores, random tie-breaks) per seed."""
  num_pixels = int(np.prod(x.shape[1:3]))
  dtype = jnp.int16 if num_pixels < 2 ** 15 else jnp.int32

  @jax.jit
  def one(key):
    k_score, k_tie = jax.random.split(key)
    scores = jax.random.uniform(k_score, x.shape[:3])
    return masking.feature_ranks(scores, "top", k_tie).astype(dtype)

  return jnp.stack([one(k) for k in keys])


def retrain(config, writer, label, data: registry.DataBundle, ranks, fill, seeds, progress):
  """Test accuracy [attributions, points, seeds] of models of class M retrained on every
  (attribution, k, side) masking, all members of one program.

  ``ranks``: one ``(ranks_train, ranks_test)`` per attribution, each [seeds, n, H, W].
  """
  fractions, sides = lib.grid(k_grid(config))
  layout = Layout(tuple(seeds), len(ranks) * len(fractions))
  stack = lambda x, i: jnp.concatenate([lib.masked_stack(jnp.asarray(x), r[i], fractions, sides,
                                                          fill) for r in ranks])
  x_train, x_test = stack(data.x_train, 0), stack(data.x_test, 1)
  members = layout.num_members
  tile = lambda a: jnp.broadcast_to(jnp.asarray(a), (members,) + np.shape(a))
  bundle = data._replace(x_train=x_train, y_train=tile(data.y_train), x_val=x_test[:, :0],
                         y_val=tile(data.y_test)[:, :0], x_test=x_test, y_test=tile(data.y_test),
                         shared=False, extras=None)  # masked: the digit extras do not apply
  outcome = run_cell(config, writer, label, progress, layout=layout, data=bundle,
                     keys=layout.keys(Purpose.RETRAIN), evals=("accuracy",))
  del x_train, x_test, bundle
  return np.asarray(outcome.evals["test_acc"]).reshape(len(ranks), len(fractions), len(seeds))


def _groups(names: List[str], size: int) -> List[List[str]]:
  size = size or len(names)
  return [names[i:i + size] for i in range(0, len(names), size)]


def run_cells(cells, writer, progress) -> List[Dict]:
  config = retrain_config(cells)
  with writer.phase("loading data"):
    data = registry.build(config, layout_of(config))
  info = data.info
  seeds = layout_of(config).seeds
  fill = lib.fill_value(data.x_train, config.diffroar.fill)
  method = config.diffroar.get("attribution_method", "grad_logit")
  chunk = int(config.diffroar.get("attribution_chunk", 512))
  ranks: Dict[str, tuple] = {}        # attribution -> (ranks_train, ranks_test)
  source_acc: Dict[str, np.ndarray] = {}
  attribution_keys = Layout(seeds).keys(Purpose.ATTRIBUTION)
  num_train = len(data.y_train)
  x_all = jnp.concatenate([jnp.asarray(data.x_train), jnp.asarray(data.x_test)])
  y_all = jnp.concatenate([jnp.asarray(data.y_train), jnp.asarray(data.y_test)])
  for cell in cells:
    training = training_lib.Training(cell.params["source"] if cell.params["source"] != "linear"
                                      else "standard", tuple(cell.params["eps"]))
    layout = layout_of(cell.config, training.num_points)
    outcome = run_cell(cell.config, writer, f"source {cell.label}", progress,
                       layout=layout, data=data, evals=("accuracy",),
                       aux=training_lib.member_aux(training, layout.num_seeds))
    names = ["linear"] if cell.params["source"] == "linear" else training.point_names()
    for g, name in enumerate(names):
      sl = layout.point_slice(g)
      variables = jax.tree_util.tree_map(lambda a: a[sl], outcome.variables)
      # Training and test images in one pass (one compiled attribution program per source).
      with writer.phase(f"ranking pixels by the {name} model's attributions"):
        both = pixel_ranks(outcome.trainer.predict, variables, x_all, y_all,
                           attribution_keys, method, chunk)
      ranks[name] = (both[:, :num_train], both[:, num_train:])
      source_acc[name] = np.asarray(outcome.evals["test_acc"])[sl]
  if config.sweep.random:
    keys = subkey(attribution_keys, Attribution.RANDOM_RANKS)
    both = random_ranks(x_all, keys)
    ranks["random"] = (both[:, :num_train], both[:, num_train:])
  del both, x_all, y_all
  sources: Dict[str, Dict] = {}
  for group in _groups(list(ranks), int(config.diffroar.get("retrain_group", 0))):
    acc = retrain(config, writer, f"retrain on {', '.join(group)} masks", data,
                  [ranks.pop(name) for name in group], fill, seeds, progress)
    for i, name in enumerate(group):
      sources[name] = {"acc": acc[i], "source_acc": source_acc.get(name)}
  return _rows(config, info, sources, seeds, writer)


def _rows(config, info, sources, seeds, writer) -> List[Dict]:
  ks = k_grid(config)
  rows, tidy = [], []
  standard = sources.get("standard")
  model = config.model.name
  note = info.source_note or info.name
  for name, s in sources.items():
    acc = s["acc"].reshape(len(ks), 2, len(seeds))     # [k, side, seed]
    diff = acc[:, 0] - acc[:, 1]
    for i, k in enumerate(ks):
      per_seed = {"diffroar": diff[i], "top_acc": acc[i, 0], "bottom_acc": acc[i, 1]}
      if standard is not None and name != "standard":
        std = standard["acc"].reshape(len(ks), 2, len(seeds))
        per_seed["gain_over_standard"] = diff[i] - (std[i, 0] - std[i, 1])
      rows.append(make_row(f"{name} k={k:g}", {"source": name, "k": k}, per_seed,
                           seeds=list(seeds), data=note))
      for side in range(2):
        for j, seed in enumerate(seeds):
          tidy.append({"dataset": info.name, "model": model, "source": name,
                       "attribution": "random" if name == "random" else
                       config.diffroar.get("attribution_method", "grad_logit"),
                       "k": k, "side": lib.SIDES[side], "seed": seed,
                       "test_acc": float(acc[i, side, j]), "diffroar": float(diff[i, j])})
    below_one = [i for i, k in enumerate(ks) if k < 1]
    summary = {"diffroar_mean_k_below_1": diff[below_one].mean(0) if below_one else diff[0]}
    if s["source_acc"] is not None:
      summary["source_test_acc"] = s["source_acc"]
    rows.append(make_row(f"{name} summary", {"source": name}, summary, seeds=list(seeds),
                         data=note))
  attribution_report.write_table(writer, "diffroar.csv", tidy, TIDY_COLUMNS)
  return rows


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
  panel = f"{info.name} / {config.model.name}"
  writer.figure("diffroar.png", f"DiffROAR vs k per attribution source ({note}); bands: 95% CI "
                f"over {config.num_seeds} seeds; dotted: 0.", attribution_report.diffroar_curves,
                {panel: curves}, title=f"DiffROAR, {panel}")
  intro = (f"DiffROAR on {note}: model class M = {config.model.name}; attribution "
           f"{config.diffroar.get('attribution_method', 'grad_logit')} of each source model "
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
