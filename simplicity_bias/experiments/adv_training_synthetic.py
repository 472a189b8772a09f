"""l2 adversarial training on AdvMS-(5,7) fails well before the data's max margin (Pitfalls of SB §5).

AdvMS-(5,7) (d = 20: ten 5-slabs with gap half-width .05 form S, ten 7-slabs with gap half-width
.15 form S^c) is separable with a large l2 margin: the max-margin classifier would stay correct
up to ε ≈ .62. Yet adversarial training of FCNs, which keep relying on the simple 5-slabs, gives
robust accuracy ≈ 100% only up to a small ε (≈ .1 for the (200,2)-FCN, ≈ .25 for the
(1000,2)-FCN) and fails beyond it; whenever training succeeds, randomizing S still sends the
model to chance: adversarial training does not remove simplicity bias.

Members: the ε grid (``adv.eps``) x seeds of one model train in ONE program, every member with
its own radius (``aux = {"eps": ...}``, the objective ``adversarial`` of ``attacks/training.py``)
on its seed's dataset (the same dataset at every ε: common random numbers). One cell per model
width (``adv.widths``). Evaluators: ``sb`` and ``robust`` at every ε of the grid; each row reports
the robust accuracy at the radius its model was trained for (``robust_acc_at_eps``).
"""

from typing import Dict, List

from simplicity_bias.evaluators.robustness import eps_name
from simplicity_bias.pipeline import Report, make_cells, scalar_metrics, training_metrics
from simplicity_bias.report import robustness as figures
from simplicity_bias.report.curves import series_from_rows
from simplicity_bias.report.results import make_row
from simplicity_bias.validation import ConfigError

NAME = "adv_training_synthetic"
CONFIGS = ("adv_training_advms",)
# The metrics its claims read: shown first in the console summary.
HEADLINE = ("test_acc", "robust_acc_at_eps", "s_rand_acc", "sc_rand_acc")
METRICS = ("robust_acc_at_eps", "test_acc", "s_rand_acc", "sc_rand_acc", "test_auc",
           "s_rand_auc", "train_acc", "val_acc", "updates")


def _widths(config) -> List[int]:
  widths = [int(w) for w in config.adv.widths]
  if not widths or len(set(widths)) != len(widths) or min(widths) < 1:
    raise ConfigError(f"adv.widths={tuple(config.adv.widths)} must list distinct widths >= 1.")
  return widths


def _eps(config) -> List[float]:
  eps = [float(e) for e in config.adv.eps]
  if not eps or min(eps) < 0 or len(set(eps)) != len(eps):
    raise ConfigError(f"adv.eps={tuple(config.adv.eps)} must list distinct radii >= 0.")
  return eps


def cells(config):
  """One cell per FCN width; the ε grid trains inside each cell."""
  _eps(config)
  if config.objective.name != "adversarial":
    raise ConfigError(f"objective.name={config.objective.name!r}: this experiment trains "
                      "adversarially; use 'adversarial'.")
  # Robust accuracy at each member's own training radius (its point's ε), on its seed's test set.
  return make_cells(config, [(f"({w},{config.model.depth})-FCN", {"width": w},
                              {"model.width": w}) for w in _widths(config)],
                    points=[{"eps": e} for e in _eps(config)], evals=("sb", "robust"))


def rows(cell, outcome) -> List[Dict]:
  out = []
  for g, point in enumerate(outcome.points):
    sl = outcome.layout.point_slice(g)
    per_seed = scalar_metrics(outcome.evals, sl)
    per_seed.update(training_metrics(outcome.history, sl))
    out.append(make_row(f"{cell.label} eps={eps_name(point['eps'])}",
                        {**cell.params, "eps": point["eps"]}, per_seed,
                        seeds=list(outcome.layout.seeds)))
  return out


def report(config, results, writer) -> Report:
  rows = results["rows"]
  panels = []
  for width in _widths(config):
    sel = [r for r in rows if r["params"]["width"] == width]
    panels.append((f"({width},{config.model.depth})-FCN", {
        "robust acc (at training ε)": series_from_rows(sel, "eps", "robust_acc_at_eps"),
        "standard acc": series_from_rows(sel, "eps", "test_acc"),
        "S-randomized acc": series_from_rows(sel, "eps", "s_rand_acc"),
        "S^c-randomized acc": series_from_rows(sel, "eps", "sc_rand_acc")}))
  writer.figure("accuracy_vs_eps.png",
                "Per model width, against the training radius ε: robust test accuracy at that ε, "
                "standard, S-randomized and S^c-randomized test accuracy (mean ± 95% CI over "
                "seeds). Dashed: chance.", figures.accuracy_vs_eps, panels,
                "l2 radius ε of adversarial training",
                title="AdvMS-(5,7): l2 adversarial training")
  o = config.objective
  intro = (f"AdvMS-(5,7) (d = {config.data.dim}, {config.data.num_train} train / "
           f"{config.data.num_val} val / {config.data.num_test} test), FCNs of widths "
           f"{_widths(config)} and depth {config.model.depth}, l2 adversarial training at every "
           f"ε of {_eps(config)} ({o.num_steps} PGD steps of 2.5 ε / {o.num_steps}, "
           f"{o.restarts} start(s), random start {o.random_start}), SGD lr "
           f"{config.optim.learning_rate} x{config.optim.get('decay_factor', 1.0):g} at epochs "
           f"{config.optim.get('decay_epochs', 0)}, {config.train.max_epochs} epochs; "
           f"{config.num_seeds} seeds; all ε and seeds of a width in one program. "
           "`robust_acc_at_eps`: test accuracy under l2 PGD "
           f"({config.eval.robust_steps} steps, {config.eval.robust_restarts} restart(s)) at the "
           "ε the model was trained for. Evaluated parameters: best adversarial validation "
           "accuracy.")
  notes = ["Published (Pitfalls of SB §5): (200,2)-FCN 100% robust for ε ≤ .1, ≤ 50% for ε ≥ "
           ".2; (1000,2)-FCN 100% for ε ≤ .25, fails for ε ≥ .3; the max-margin classifier "
           "would allow ε up to ≈ .62; S-randomized accuracy ≈ .5 whenever training succeeds."]
  return Report("l2 adversarial training on AdvMS-(5,7)", intro, list(METRICS), notes,
                extra={"widths": _widths(config), "eps": _eps(config)})
