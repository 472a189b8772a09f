"""Non-random initialisation vs simplicity bias (Pitfalls of SB, Fig. 5 / App. C.7).

Stage 1 trains M_slab, one per seed, on LMS-7 data whose linear coordinate (S) carries no label
information: by default its latent values are permuted across the training (and validation) rows
(``init.slab_data='permute'``: the coordinate keeps its marginal distribution, as in an
S-randomized set), or set to 0 (``'zero'``). M_slab can only use the 7-slabs. Stage 2 starts from
``θ = α·θ_slab + (1−α)·θ_rand`` (θ_rand: the usual random init; α per member) and trains on the
ordinary LMS-7 data of the same seed, for every α of ``init.alphas`` x seed in one compiled
program. S- and S^c-randomized accuracy/AUC against α show whether a model that starts close to
the slab solution keeps using the slabs (α = 0 is the usual extreme SB: S-rand AUC ≈ .5).
"""

from typing import Dict, List

import numpy as np

from simplicity_bias.evaluators.sb import SB_METRICS
from simplicity_bias.pipeline import (Cell, Report, apply_overrides, training_metrics,
                                      validate_cell)
from simplicity_bias.report import curves
from simplicity_bias.report.results import make_row
from simplicity_bias.train.loop import STOP_RULES
from simplicity_bias.validation import ConfigError, check_choice

NAME = "nonrandom_init"
CONFIGS = ("nonrandom_init",)
# The metrics its claims read: shown first in the console summary.
HEADLINE = ("test_auc", "s_rand_auc", "sc_rand_auc")
SLAB_DATA = ("permute", "zero")
METRICS = ("test_auc", "s_rand_auc", "sc_rand_auc", "test_acc", "s_rand_acc", "sc_rand_acc",
           "init_test_acc", "init_s_rand_auc", "init_sc_rand_auc", "train_acc", "updates")


# ----------------------------------------------------------------------------- config


def alphas_of(config) -> List[float]:
  alphas = list(config.init.alphas)
  if not alphas or any(not isinstance(a, (int, float)) or isinstance(a, bool)
                       or not 0.0 <= a <= 1.0 for a in alphas):
    raise ConfigError(f"init.alphas={tuple(alphas)} must be a non-empty list of numbers in "
                      "[0, 1], e.g. (0, 0.5, 1).")
  if len(set(alphas)) != len(alphas):
    raise ConfigError(f"init.alphas={tuple(alphas)} repeats a value; list each α once.")
  return [float(a) for a in alphas]


def stage_configs(config):
  """(M_slab config, α config): stage 1 uses the ``slab`` section's training settings."""
  slab = apply_overrides(config, {"train.max_epochs": config.slab.max_epochs,
                                  "train.stop_rule": config.slab.stop_rule,
                                  "train.stop_eps": config.slab.stop_eps,
                                  "optim.learning_rate": config.slab.learning_rate,
                                  "optim.momentum": config.slab.momentum,
                                  "optim.weight_decay": config.slab.weight_decay,
                                  "evals": ("sb",)})
  return slab, config


def cells(config) -> List[Cell]:
  """Every check that needs no compilation (ConfigError names the field); two stages."""
  if config.num_seeds < 1:
    raise ConfigError(f"num_seeds={config.num_seeds} must be >= 1.")
  alphas_of(config)
  check_choice("init.slab_data", config.init.slab_data, SLAB_DATA)
  check_choice("slab.stop_rule", config.slab.stop_rule, STOP_RULES)
  if not 0.0 < config.init.sc_drop_threshold <= 1.0:
    raise ConfigError(f"init.sc_drop_threshold={config.init.sc_drop_threshold} must lie in "
                      "(0, 1].")
  if config.slab.max_epochs < 1:
    raise ConfigError(f"slab.max_epochs={config.slab.max_epochs} must be >= 1.")
  for field in ("stop_eps", "learning_rate"):
    if config.slab[field] <= 0:
      raise ConfigError(f"slab.{field}={config.slab[field]} must be > 0.")
  for field in ("momentum", "weight_decay"):
    if config.slab[field] < 0:
      raise ConfigError(f"slab.{field}={config.slab[field]} must be >= 0.")
  if any(len(v) for v in config.grid.to_dict().values()):
    raise ConfigError("grid is not supported by nonrandom_init (the member axis holds α x "
                      "seeds); set data.* fields instead.")
  slab, alpha = stage_configs(config)
  info = validate_cell(slab)
  validate_cell(alpha)
  if not info.simple or not info.complex:
    raise ConfigError(f"data.name={config.data.name!r} has no simple/complex (S/S^c) split; use "
                      "a dataset such as 'lms7', 'lms5' or 'ms57'.")
  # Stage 1: M_slab per seed on its seed's dataset with S stripped from train and val (the test
  # set stays ordinary: M_slab's metrics there show it ignores S), from its own init keys.
  # Stage 2: every α trains on its seed's ordinary dataset from the α-mix of M_slab and the usual
  # random init; the mixed initial parameters are evaluated too.
  return [Cell("slab", {"stage": "slab"}, slab,
               transform=("strip_simple", {"mode": config.init.slab_data}),
               key_purpose="STAGE1_MODEL"),
          Cell("alpha", {"stage": "alpha"}, alpha,
               points=[{"alpha": a} for a in alphas_of(config)],
               init=("mix", {"from": "slab"}), eval_init=("sb",))]


# ----------------------------------------------------------------------------- rows


def sc_drop_alpha(rows, threshold: float):
  """The smallest α whose mean S^c-rand AUC is below ``threshold`` (None if none)."""
  for r in sorted((r for r in rows if "alpha" in r["params"]), key=lambda r: r["params"]["alpha"]):
    if r["summary"]["sc_rand_auc"]["mean"] < threshold:
      return r["params"]["alpha"]
  return None


def rows(cell, outcome) -> List[Dict]:
  config, layout = cell.config, outcome.layout
  seeds = list(layout.seeds)
  train = training_metrics(outcome.history)
  if cell.label == "slab":
    per_seed = {m: np.asarray(outcome.evals[m]) for m in SB_METRICS}
    per_seed.update(train)
    return [make_row("M_slab", {"stage": "slab"}, per_seed, seeds=seeds,
                     auc_null_std=float(np.mean(outcome.evals["auc_null_std"])),
                     note=("trained with S " + ("permuted" if config.init.slab_data == "permute"
                                                else "set to 0") + " in train/val; metrics on "
                           "the ordinary test set"))]
  out = []
  for a, point in enumerate(outcome.points):
    alpha = point["alpha"]
    sl = layout.point_slice(a)
    per_seed = {m: np.asarray(outcome.evals[m])[sl] for m in SB_METRICS}
    for m in ("test_acc", "test_auc", "s_rand_auc", "sc_rand_auc"):
      per_seed[f"init_{m}"] = np.asarray(outcome.evals[f"init_{m}"])[sl]
    per_seed.update({k: v[sl] for k, v in train.items()})
    out.append(make_row(f"alpha={alpha:g}", {"alpha": alpha}, per_seed, seeds=seeds,
                        auc_null_std=float(np.mean(outcome.evals["auc_null_std"][sl]))))
  return out


def report(config, results, writer) -> Report:
  rows = results["rows"]
  alphas = alphas_of(config)
  num_alphas = len(alphas)
  seeds = [config.seed + s for s in range(config.num_seeds)]
  slab_row = next(r for r in rows if r["label"] == "M_slab")
  failed = [seeds[i] for i, acc in enumerate(slab_row["per_seed"]["test_acc"]) if acc < 0.9]
  threshold = float(config.init.sc_drop_threshold)
  drop = sc_drop_alpha(rows, threshold)
  write_figures(writer, rows, config.data.name, threshold)
  name = config.data.name
  intro = (f"{name}: stage 1 trains M_slab ({config.num_seeds} seeds) with the linear "
           f"coordinate {'permuted across rows' if config.init.slab_data == 'permute' else 'set to 0'}"
           f" in the training and validation sets; stage 2 starts from α·θ_slab + (1−α)·θ_rand "
           f"for α ∈ {alphas} ({num_alphas * config.num_seeds} members in one program) and trains "
           f"on the ordinary {name} data of the same seed. {config.data.num_train} training "
           f"samples, {config.model.name}({config.model.width},{config.model.depth}), "
           f"{config.optim.name} lr {config.optim.learning_rate} (M_slab: lr "
           f"{config.slab.learning_rate}, momentum {config.slab.momentum}, wd "
           f"{config.slab.weight_decay}, stop at train acc ≥ {1 - config.slab.stop_eps:g}). "
           "`init_*`: the mixed initial model before any training.")
  notes = [f"Smallest α with S^c-randomized AUC < {threshold:g}: "
           f"{'none' if drop is None else f'{drop:g}'} (α = 0: the model uses only S; "
           "low S^c-rand AUC = it relies on the slabs).",
           "Published (App. C.7): a large enough α, i.e. starting close to the slab solution, "
           "makes the trained model keep using the slabs; SPEC gives no number.",
           "M_slab seeds that did not learn the slabs (test acc on the ordinary test set < .9): "
           + (", ".join(str(s) for s in failed) if failed else "none") + ".",
           f"Evaluated parameters: {config.train.select}; with the stop rule "
           f"'{config.train.stop_rule}', members whose start already fits the training set stop "
           "at the first check (`updates`). For longer training from the mixed start use "
           "`--config.train.stop_rule=none --config.train.max_epochs=N --config.train.select=last`.",
           f"Updates per α (mean over seeds; {config.data.num_train // config.train.batch_size} "
           "per epoch): "
           + ", ".join(f"α = {r['params']['alpha']:g}: {r['summary']['updates']['mean']:.0f}"
                       for r in sorted((r for r in rows if "alpha" in r["params"]),
                                       key=lambda r: r["params"]["alpha"])) + "."]
  return Report("Non-random initialisation and SB", intro, METRICS, notes,
                extra={"alphas": alphas, "sc_drop_alpha": drop, "sc_drop_threshold": threshold,
                       "slab_data": config.init.slab_data, "slab_failed_seeds": failed})


def write_figures(writer, rows, dataset: str, threshold: float):
  panels = [("after training", {m: curves.series_from_rows(rows, "alpha", m)
                                for m in ("test_auc", "s_rand_auc", "sc_rand_auc")}),
            ("at initialisation", {m: curves.series_from_rows(rows, "alpha", f"init_{m}")
                                   for m in ("test_auc", "s_rand_auc", "sc_rand_auc")})]
  writer.figure("auc_vs_alpha.png", "Standard, S-randomized and S^c-randomized AUC against α "
                "(mean ± 95% CI over seeds), after training and at initialisation.",
                curves.metric_curves, panels, "α (θ = α·θ_slab + (1−α)·θ_rand)", "AUC",
                title=f"{dataset}: SB vs non-random initialisation",
                hlines={"chance": 0.5, f"threshold {threshold:g}": threshold}, ylim=(0.3, 1.02))


