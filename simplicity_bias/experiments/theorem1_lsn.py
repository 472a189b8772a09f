"""Theorem 1 of Pitfalls of SB checked numerically: a one-hidden-layer ReLU net on LSN.

The theorem's setting (§4.1, App. F):

* data: LSN (``data.name='lsn'``, not rotated): s = 2y − 1 uniform on {±1}, x1 = s (linear, S),
  x2 = ((s + 1)/2)·σ with σ Rademacher (3-slab-like, S^c), x3..xd ~ N(0, 1);
* model: ``fixed_output_relu`` (``models/theory.py``): f(x) = Σ_j a_j ReLU(w_j·x) with k hidden
  units and output weights fixed at ±1/√k; only W is trained;
* loss: the hinge loss max(0, 1 − s·f(x)) (``objective.name='hinge'``), plain SGD;
* one update per "epoch": the batch is the whole ``data.num_train``-sample set, or with
  ``train.fresh_batches=True`` a fresh batch of that many samples at every step (the theorem's
  one pass over Θ(m) new samples per step);
* the per-step weights come from a monitor of every check (one check per step, plus the
  initialisation).

The theorem predicts, after O(1) steps, |w_1j| ≈ (2/√k)(1 − c/√log d), |w_2j| = O(1/√(d k log d))
and ‖w_3:d,j‖ = O(1/√(k log d)). One cell per d (d changes the shapes); seeds are members.
"""

import math
from typing import Dict, List

import numpy as np

from simplicity_bias.models.theory import init_std, weight_stats
from simplicity_bias.pipeline import Cell, Report, make_cells
from simplicity_bias.report import curves
from simplicity_bias.report.results import make_row, mean_ci95
from simplicity_bias.validation import ConfigError

NAME = "theorem1_lsn"
CONFIGS = ("theorem1_lsn",)
# The metrics its claims read: shown first in the console summary.
HEADLINE = ("test_acc", "s_rand_acc", "sc_rand_acc", "linear_over_horizon", "slab_over_theory",
            "noise_over_theory")
WEIGHT_STATS = ("w_linear", "w_slab", "w_noise", "w_noise_coord")
STEP_STATS = WEIGHT_STATS + ("train_loss", "train_acc")
METRICS = ("linear_growth", "slab_growth", "noise_growth", "linear_over_slab",
           "linear_over_theory", "linear_over_horizon", "slab_over_theory", "noise_over_theory", "train_acc",
           "test_acc", "s_rand_acc", "sc_rand_acc", "test_auc", "s_rand_auc", "sc_rand_auc")


def theory(dim: int, hidden: int, std: float, steps: int = 0,
           learning_rate: float = 1.0) -> Dict[str, float]:
  """The theorem's scales (constants set to 1), the linear growth they imply from ``std``, and
  |w_1j| after ``steps`` steps of size η inside the horizon: (2/√k)·(tη/4). (Each step adds
  η/(2√k) while every margin is below 1 and half the units are active: the proof's dynamics; at
  the horizon t = (4/η)(1 − c/√log d) this is the theorem's (2/√k)(1 − c/√log d).)"""
  mean_abs_init = std * math.sqrt(2 / math.pi)   # E|w| for w ~ N(0, std²)
  linear = 2 / math.sqrt(hidden)
  slab = 1 / math.sqrt(dim * hidden * math.log(dim))
  return {"linear": linear, "slab_scale": slab,
          "linear_at_steps": linear * steps * learning_rate / 4,
          "noise_scale": 1 / math.sqrt(hidden * math.log(dim)),
          "init_std": std, "init_mean_abs": mean_abs_init,
          "linear_growth": linear / mean_abs_init,
          "linear_over_slab_scale": linear / slab}


def _dims(config) -> List[int]:
  dims = config.sweep.dims
  dims = list((dims,) if isinstance(dims, int) else dims)
  if not dims:
    raise ConfigError("sweep.dims is empty; give input dimensions such as (100, 200, 400).")
  for d in dims:
    if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 3:
      raise ConfigError(f"sweep.dims contains {d!r}; every dimension must be an integer >= 3 "
                        "(x1 linear, x2 slab, at least one noise coordinate).")
  if len(set(dims)) != len(dims):
    raise ConfigError(f"sweep.dims={tuple(dims)} repeats a dimension; list each d once.")
  return [int(d) for d in dims]


def horizon_steps(dim: int, learning_rate: float, c: float) -> int:
  """The theorem's horizon: the most whole steps t with t ≤ (4/η)(1 − c/√log d)."""
  return int(math.floor((4 / learning_rate) * (1 - c / math.sqrt(math.log(dim))) + 1e-9))


def _per_d(config, dim: int) -> Dict:
  """Per-d overrides: m = ⌈m_over_d2 · d²⌉ samples per step when ``sweep.m_over_d2`` > 0, and
  the number of steps = the horizon when ``sweep.horizon``."""
  sweep, over = config.sweep, {"data.dim": dim}
  factor = float(sweep.get("m_over_d2", 0.0))
  if factor < 0:
    raise ConfigError(f"sweep.m_over_d2={factor} must be >= 0 (0: use data.num_train).")
  if factor > 0:
    m = int(math.ceil(factor * dim * dim))
    over.update({"data.num_train": m, "train.batch_size": m})
  if sweep.get("horizon", False):
    c = float(sweep.get("horizon_c", 1.0))
    if not c >= 0:
      raise ConfigError(f"sweep.horizon_c={c} must be >= 0.")
    steps = horizon_steps(dim, config.optim.learning_rate, c)
    if steps < 1:
      raise ConfigError(f"the horizon (4/η)(1 − c/√log d) at d = {dim}, η = "
                        f"{config.optim.learning_rate}, sweep.horizon_c = {c} is below one step; "
                        "lower optim.learning_rate or sweep.horizon_c.")
    over["train.max_epochs"] = steps
  return over


def cells(config) -> List[Cell]:
  if config.data.name != "lsn":
    raise ConfigError(f"theorem1_lsn needs data.name='lsn' (got {config.data.name!r}).")
  if not config.sweep.m_over_d2 and config.train.batch_size != config.data.num_train:
    raise ConfigError(f"train.batch_size={config.train.batch_size} must equal data.num_train="
                      f"{config.data.num_train}: each step uses one full batch of m samples.")
  if not config.optim.learning_rate > 0:
    raise ConfigError(f"optim.learning_rate={config.optim.learning_rate} must be > 0.")
  dims = _dims(config)
  return make_cells(config, [(f"d={d}", {"d": d, "k": config.model.hidden}, _per_d(config, d))
                             for d in dims], monitor=weight_stats, check_at_start=True)


def _summaries(values: np.ndarray) -> Dict[str, List[float]]:
  """[seeds, steps + 1] -> per-step mean and 95% CI over seeds."""
  stats = [mean_ci95(values[:, t]) for t in range(values.shape[1])]
  return {"mean": [s["mean"] for s in stats], "ci95": [s["ci95"] for s in stats]}


def rows(cell, outcome) -> List[Dict]:
  c = cell.config
  dim, hidden = c.data.dim, c.model.hidden
  history = {k: np.stack([np.asarray(r[k], np.float64) for r in outcome.history], axis=1)
             for k in STEP_STATS}
  th = theory(dim, hidden, init_std(dim, hidden, c.model.init, c.model.init_scale),
              c.train.max_epochs, c.optim.learning_rate)
  first = {k: history[k][:, 0] for k in WEIGHT_STATS}
  last = {k: history[k][:, -1] for k in WEIGHT_STATS}
  per_seed = {
      "linear_growth": last["w_linear"] / first["w_linear"],
      "slab_growth": last["w_slab"] / first["w_slab"],
      "noise_growth": last["w_noise"] / first["w_noise"],
      "noise_coord_growth": last["w_noise_coord"] / first["w_noise_coord"],
      "linear_over_slab": last["w_linear"] / last["w_slab"],
      "linear_over_theory": last["w_linear"] / th["linear"],
      "linear_over_horizon": last["w_linear"] / th["linear_at_steps"],
      "slab_over_theory": last["w_slab"] / th["slab_scale"],
      "noise_over_theory": last["w_noise"] / th["noise_scale"],
      "w_linear_final": last["w_linear"],
      "w_slab_final": last["w_slab"],
      "w_noise_final": last["w_noise"],
      "train_loss": history["train_loss"][:, -1],
      "train_acc": history["train_acc"][:, -1],
  }
  for name in ("test", "s_rand", "sc_rand"):
    for m in ("acc", "auc"):
      per_seed[f"{name}_{m}"] = np.asarray(outcome.evals[f"{name}_{m}"])
  per_step = {k: _summaries(history[k]) for k in STEP_STATS}
  params = dict(cell.params, steps=c.train.max_epochs, m=c.data.num_train)
  return [make_row(cell.label, params, per_seed, seeds=list(outcome.layout.seeds),
                   theory=th, per_step=per_step)]


def report(config, results, writer) -> Report:
  rows_ = results["rows"]
  writer.figure("weights_per_step.png",
                f"First-layer weights vs gradient step (mean over {config.num_seeds} seeds, 95% "
                "CI bands; dotted: the theorem's 2/√k).", curves.weights_per_step, rows_)
  k = config.model.hidden
  steps = sorted({r["params"]["steps"] for r in rows_})
  sizes = ", ".join(f"{r['params']['m']:,}" for r in rows_)
  batches = ("a fresh batch of" if config.train.fresh_batches
             else "the same full batch of")
  setting = theorem_setting(config)
  intro = (f"One-hidden-layer ReLU net, k={k} units, output weights fixed at ±1/√k, first layer "
           f"trained by {'/'.join(map(str, steps))} hinge-loss gradient steps (lr "
           f"{config.optim.learning_rate}"
           + (f"; the theorem's horizon (4/η)(1 − c/√log d) with c = "
              f"{config.sweep.horizon_c:g}, our choice of the unknown constant"
              if config.sweep.horizon else "")
           + f"), each on {batches} m LSN samples (m = {sizes} per d), init {config.model.init} "
           f"(x{config.model.init_scale}), bias {bool(config.model.bias)}; {config.num_seeds} "
           "seeds per d in one compiled program. "
           + ("This is the theorem's setting (its init, fresh batches, m ≥ d², stopped at the "
              "horizon): its rows are the counted claims." if setting else
              "Not the theorem's setting (see configs/theorem1_lsn.py): a labelled variant, "
              "its claims are reported as extensions."))
  notes = [f"{r['label']}: |w_linear| {r['summary']['w_linear_final']['mean']:.4f} "
           f"(theorem at step {r['params']['steps']}: {r['theory']['linear_at_steps']:.4f}; "
           f"2/√k = {r['theory']['linear']:.4f}), |w_slab| "
           f"{r['summary']['w_slab_final']['mean']:.5f} (scale 1/√(dk log d) = "
           f"{r['theory']['slab_scale']:.5f}), ‖w_noise‖ "
           f"{r['summary']['w_noise_final']['mean']:.4f} (scale 1/√(k log d) = "
           f"{r['theory']['noise_scale']:.4f})." for r in rows_]
  return Report("Theorem 1: one hidden layer on LSN", intro, METRICS, notes,
                extra={"init": config.model.init, "hidden": k, "theorem_setting": setting})


def theorem_setting(config) -> bool:
  """The theorem's own setting: its init, a fresh batch per step, m ≥ d² and the horizon."""
  return bool(config.model.init == "theorem" and config.train.fresh_batches
              and config.sweep.horizon
              and config.sweep.m_over_d2 >= 1.0)
