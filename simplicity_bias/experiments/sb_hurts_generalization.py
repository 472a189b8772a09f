"""SB hurts generalization (Pitfalls of SB, Table 2).

L̂MS-7: the linear coordinate is noised on a fraction p of points, so a linear-only rule tops out
at 1 - p/2 (.95 at p = .1), while the 49 7-slabs still separate the classes perfectly. FCNs of
widths {100, 200, 300} x depths {1, 2} nonetheless stay at the linear ceiling (S-rand acc ≈ .5,
S^c-rand acc ≈ test acc); the same models on MS-7 (the slabs alone) reach ≈ 1.00.
"""

from typing import List

from simplicity_bias.pipeline import Cell, Report, make_cells
from simplicity_bias.report import bars
from simplicity_bias.validation import ConfigError

NAME = "sb_hurts_generalization"
CONFIGS = ("sb_hurts_generalization",)
# The metrics its claims read: shown first in the console summary.
HEADLINE = ("test_acc", "train_acc", "s_rand_acc", "sc_rand_acc")
METRICS = ("test_acc", "s_rand_acc", "sc_rand_acc", "train_acc", "test_auc", "updates")


def cells(config) -> List[Cell]:
  s = config.sweep
  if not s.widths or not s.depths or not s.datasets:
    raise ConfigError("sweep.widths, sweep.depths and sweep.datasets must be non-empty.")
  specs = []
  for name in s.datasets:
    if name not in s.optim:
      raise ConfigError(f"sweep.optim has no settings for dataset {name!r}; add "
                        f"sweep.optim.{name} (learning_rate, momentum, weight_decay, stop_eps).")
    o = s.optim[name]
    # The noise fraction belongs to the noisy dataset only; MS-7 has no noisy block.
    noise = {} if name.startswith("noisy_") else {"data.noise_frac": None}
    for depth in s.depths:
      for width in s.widths:
        specs.append((f"{name} / fcn({width},{depth})",
                      {"dataset": name, "width": width, "depth": depth},
                      {"data.name": name, "model.name": "fcn", "model.width": width,
                       "model.depth": depth, "optim.learning_rate": o.learning_rate,
                       "optim.momentum": o.momentum, "optim.weight_decay": o.weight_decay,
                       "train.stop_eps": o.stop_eps, **noise}))
  return make_cells(config, specs)


def report(config, results, writer) -> Report:
  rows = results["rows"]
  ceiling = 1.0 - float(config.data.noise_frac) / 2.0
  datasets = list(dict.fromkeys(r["params"]["dataset"] for r in rows))
  models = list(dict.fromkeys(f"FCN({r['params']['width']},{r['params']['depth']})" for r in rows))
  series = {}
  for name in datasets:
    sel = [r for r in rows if r["params"]["dataset"] == name]
    series[name] = ([r["summary"]["test_acc"]["mean"] for r in sel],
                    [r["summary"]["test_acc"]["ci95"] for r in sel])
  writer.figure("test_accuracy.png", "Test accuracy per model: L̂MS-7 (noisy linear + 7-slabs) "
                f"stays at the linear-only ceiling {ceiling:.3f}; MS-7 (slabs only) reaches ≈ 1.",
                bars.grouped_bars, models, series, ylabel="test accuracy", ylim=(0.85, 1.01),
                hlines=(ceiling,), title="SB hurts generalization")
  intro = (f"L̂MS-7 with linear noise fraction p = {config.data.noise_frac} (ceiling of a "
           f"linear-only rule: {ceiling:.3f}) vs MS-7; {config.num_seeds} seeds per cell, "
           f"{config.data.num_train} training samples.")
  notes = [f"{r['label']}: train acc {r['summary']['train_acc']['mean']:.4f}, "
           f"{sum(bool(c) for c in r['per_seed']['converged'])}/{len(r['per_seed']['converged'])}"
           f" seeds reached the stop rule (train acc ≥ .995) within the cap of "
           f"{config.train.max_epochs} epochs, "
           f"{r['summary']['updates']['mean']:.0f} updates." for r in rows]
  return Report("Simplicity bias hurts generalization", intro, METRICS, notes,
                extra={"linear_ceiling": ceiling})


