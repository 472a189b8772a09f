"""Simplified BlockMNIST: input gradients of wide one-hidden-layer ReLU networks leak (the
poster's theorem), those of adversarially trained ones do not.

Data (``data.source='simplified_block_mnist'``): d blocks of b coordinates; the signal y·mu sits
in one of the first d/2 blocks, drawn per instance, the other first-half blocks are 0 and the
last d/2 blocks are N(0, sigma^2) noise. The poster: "input gradients of standard one-layer ReLU
MLPs trained on a simplified version of BlockMNIST data provably exhibit feature leakage in the
infinite-width limit" — the gradient is (near) equal on every first-half block, not concentrated
on the instance's own signal block; an l-inf adversarially trained network picks the signal
block.

Per model and test set the ``block_attribution`` evaluator reports ``p_argmax_signal`` =
P[the block of largest gradient norm is the signal block] (chance among the first half: 2/d),
``signal_ratio`` = mean ‖g_signal‖ / mean ‖g_other first-half block‖ (≈ 1: leakage) and
``noise_mass`` (share of |g| on the noise half).

Cells: one per (d, width, training): d and the width change shapes; the attack norm changes
code. Inside a cell the noise levels ``data.sigmas`` (and the radii of a robust cell) are grid
points and the seeds members: one program per cell, every dataset drawn from its seed's key.
"""

from typing import Dict, List

import numpy as np

from simplicity_bias.data.attribution_source import sigma_values
from simplicity_bias.experiments import trainings as training_lib
from simplicity_bias.pipeline import Cell, Report, make_cells
from simplicity_bias.report import attribution as attribution_figures
from simplicity_bias.report import bars
from simplicity_bias.report.results import make_row
from simplicity_bias.validation import ConfigError

NAME = "block_mnist_theory"
CONFIGS = ("block_mnist_theory",)
# The metrics its claims read: shown first in the console summary.
HEADLINE = ("test_acc", "p_argmax_signal", "signal_ratio")
METRICS = ("p_argmax_signal", "signal_ratio", "noise_mass", "test_acc", "train_acc")


def _ints(config, field: str) -> List[int]:
  values = config.sweep[field]
  values = [values] if isinstance(values, int) else list(values)
  if not values or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in values):
    raise ConfigError(f"sweep.{field}={config.sweep[field]!r} must be a non-empty tuple of "
                      "positive integers.")
  if len(set(values)) != len(values):
    raise ConfigError(f"sweep.{field}={tuple(values)} repeats a value; list each once.")
  return values


def cells(config) -> List[Cell]:
  if config.data.source != "simplified_block_mnist":
    raise ConfigError("experiment block_mnist_theory needs data.source='simplified_block_mnist' "
                      f"(got {config.data.source!r}).")
  out = []
  for d in _ints(config, "num_blocks"):
    for width in _ints(config, "widths"):
      for training in training_lib.trainings(config):
        label = f"d={d} width={width} {training.kind}"
        out += make_cells(config, [(label, {"d": d, "width": width, "training": training.kind,
                                            "eps": training.eps},
                                    {"data.num_blocks": d, "model.width": width,
                                     **training_lib.overrides(config, training)})],
                          points=_points(config, training), evals=("block_attribution",),
                          eval_options={"num_blocks": d,
                                        "block_size": config.data.block_size})
  return out


def _points(config, training) -> List[Dict]:
  """Every training point of a cell, radius-major: its noise level (a dataset each) and, in a
  robust cell, its radius (the member's ε)."""
  return [{**({} if eps is None else {"eps": eps}), "sigma": sigma}
          for eps in (training.eps or (None,)) for sigma in sigma_values(config)]


def rows(cell, outcome) -> List[Dict]:
  out = []
  last = outcome.history[-1]
  kind_of = cell.params["training"]
  for g, point in enumerate(outcome.points):
    sl = outcome.layout.point_slice(g)
    eps, sigma = point.get("eps"), point["sigma"]
    per_seed = {m: np.asarray(outcome.evals[m])[sl] for m in METRICS if m in outcome.evals}
    per_seed["train_acc"] = np.asarray(last["train_acc"])[sl]
    per_seed["train_loss"] = np.asarray(last["train_loss"])[sl]
    kind = kind_of if eps is None else f"{kind_of} {training_lib.eps_name(kind_of, eps)}"
    label = f"d={cell.params['d']} width={cell.params['width']} {kind} sigma={sigma:g}"
    out.append(make_row(label, {"d": cell.params["d"], "width": cell.params["width"],
                                "training": kind_of, "eps": eps or 0.0, "sigma": sigma},
                        per_seed, seeds=list(outcome.layout.seeds),
                        chance_p_argmax=2.0 / cell.params["d"],
                        block_profile=np.asarray(outcome.evals["block_profile"])[sl]
                        .mean(0).tolist()))
  return out


def report(config, results, writer) -> Report:
  rows = results["rows"]
  for d in sorted({r["params"]["d"] for r in rows}):
    of_d = [r for r in rows if r["params"]["d"] == d]
    writer.figure(f"gradient_blocks_d{d}.png",
                  f"d = {d}: mean gradient norm per block (mean over seeds), the instance's "
                  "signal block first, then the other first-half blocks, then the noise half. "
                  "Flat over the first half = leakage.", attribution_figures.block_profiles,
                  {r["label"].split(" ", 1)[1]: np.asarray(r["block_profile"]) for r in of_d},
                  d // 2, title=f"simplified BlockMNIST, d = {d}, b = {config.data.block_size}")
  writer.figure("p_argmax_signal.png", "P[the largest-gradient block is the instance's signal "
                "block] per model (mean ± 95% CI over seeds); chance among the first half is 2/d.",
                bars.grouped_bars, [r["label"] for r in rows],
                {"P[argmax |g| = signal block]": (
                    [r["summary"]["p_argmax_signal"]["mean"] for r in rows],
                    [r["summary"]["p_argmax_signal"]["ci95"] for r in rows]),
                 "share of |g| on the noise half": (
                    [r["summary"]["noise_mass"]["mean"] for r in rows],
                    [r["summary"]["noise_mass"]["ci95"] for r in rows])},
                ylabel="probability / share", title="simplified BlockMNIST")
  adv = config.adversarial
  intro = (f"Simplified BlockMNIST: d blocks of b = {config.data.block_size} coordinates, signal "
           f"y·mu (mu = {config.data.mu:g}) in one of the first d/2 blocks, N(0, sigma²) noise "
           f"in the last d/2; {config.data.num_train} training / {config.data.num_test} test "
           f"points per dataset. One-hidden-layer ReLU networks (with biases), SGD lr "
           f"{config.optim.learning_rate} (momentum {config.optim.momentum}), batch "
           f"{config.train.batch_size}, {config.train.max_epochs} epochs of cross-entropy; "
           f"robust: l-inf PGD ({adv.num_steps} steps) at the radius in the label. "
           f"{config.num_seeds} seeds per point, trained together. signal_ratio ≈ 1 = leakage.")
  return Report("Simplified BlockMNIST: feature leakage of input gradients", intro,
                list(METRICS) + ["train_loss"])
