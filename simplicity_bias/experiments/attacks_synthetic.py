"""Per-example adversarial attacks and universal adversarial perturbations (UAPs) on SB models
(Pitfalls of SB §5): LMS-5 and MS-(5,7) with the (200,1)-FCN.

A model with extreme simplicity bias reads the simple block S only, so the cheapest way to change
its prediction is to move S: per-example l2 PGD drives its accuracy to ≈ 0, one label-signed
universal perturbation ``x + s(y) u`` of the same norm does nearly as well on held-out points,
and almost all of each perturbation's squared l2 norm lies on the S coordinates once un-rotated.

One cell per dataset (``attacks.datasets``), each with its own stop rule and radius
(``attacks.settings.<name>``); all seeds of a dataset train in one program. Evaluators: ``sb``,
``uap`` (per-example PGD, SVD-UAP, AS-UAP; ``evaluators/robustness.py``) and ``robust`` (accuracy
under l2 PGD at every radius of the cell's ε grid, for the robust-accuracy figure).
"""

from typing import Dict, List

import numpy as np

from simplicity_bias.pipeline import Report, make_cells, point_rows
from simplicity_bias.report import robustness as figures
from simplicity_bias.report.results import mean_ci95
from simplicity_bias.validation import named_settings

NAME = "attacks_synthetic"
CONFIGS = ("attacks_synthetic",)
# The metrics its claims read: shown first in the console summary.
HEADLINE = ("test_acc", "pgd_acc", "uap_acc", "pgd_share_s", "svd_uap_share_s",
            "range_pgd_norm_share_s")
METRICS = ("test_acc", "s_rand_acc", "sc_rand_acc", "pgd_acc", "pgd_share_s", "range_pgd_acc",
           "range_pgd_norm_share_s", "range_pgd_share_s", "svd_uap_acc",
           "svd_uap_fit_acc", "svd_uap_share_s", "as_uap_acc", "as_uap_fit_acc",
           "as_uap_share_s", "train_acc", "updates")
SETTING_FIELDS = ("stop_rule", "stop_eps", "patience", "uap_eps", "num_train", "num_val",
                  "num_test")


def cells(config):
  """One cell per dataset of ``attacks.datasets`` with its settings."""
  specs = []
  for name, s in named_settings("attacks", config.attacks.datasets, config.attacks.settings,
                                SETTING_FIELDS, "lms5"):
    grid = tuple(round(s.uap_eps * f, 6) for f in config.eval.robust_eps_fractions)
    specs.append((name, {"dataset": name, "uap_eps": s.uap_eps}, {
        "data.name": name, "data.num_train": s.num_train, "data.num_val": s.num_val,
        "data.num_test": s.num_test, "train.stop_rule": s.stop_rule,
        "train.stop_eps": s.stop_eps, "train.patience": s.patience, "eval.uap_eps": s.uap_eps,
        "eval.attack_eps": s.uap_eps,
        "eval.robust_eps": grid}))
  return make_cells(config, specs)


def rows(cell, outcome) -> List[Dict]:
  out = point_rows(cell, outcome, coordinates=False)
  for row in out:
    row["robust_eps"] = list(cell.config.eval.robust_eps)
  return out


def cell_figures(cell, outcome, cell_rows, writer) -> None:
  """The UAPs in latent coordinates, and accuracy against the l2 radius of per-example PGD."""
  info, evals = outcome.data.info, outcome.evals
  name = cell.label
  writer.figure(f"uap_latent_{name}.png",
                f"{name}: SVD-UAP and AS-UAP (l2 norm {cell.params['uap_eps']:g}) in latent "
                "coordinates: bars = mean over seeds (each seed's sign fixed by its largest "
                "coordinate), heat map = |u_j| per seed.", figures.uap_latent,
                {"SVD-UAP": np.asarray(evals["svd_uap_latent"]),
                 "AS-UAP": np.asarray(evals["as_uap_latent"])}, info.simple, info.complex,
                title=f"{name}: universal perturbations", seeds=list(outcome.layout.seeds))
  row = cell_rows[0]
  eps = list(cell.config.eval.robust_eps)
  acc = np.asarray(evals["robust_acc"])
  stats = [mean_ci95(acc[:, j]) for j in range(len(eps))]
  series = {"l2 PGD (per example)": (eps, [s["mean"] for s in stats], [s["ci95"] for s in stats])}
  hlines = {f"{k} {row['summary'][m]['mean']:.2f}": row["summary"][m]["mean"]
            for k, m in (("S-randomized", "s_rand_acc"), ("S^c-randomized", "sc_rand_acc"))
            if m in row["summary"]}
  writer.figure(f"robust_accuracy_{name}.png",
                f"{name}: test accuracy under per-example l2 PGD against its radius (mean ± 95% "
                "CI over seeds); horizontal lines: the same models' S- and S^c-randomized "
                "accuracy (no attack).", figures.accuracy_vs_eps,
                [(_model(cell.config), series)], "l2 radius ε",
                title=f"{name}: accuracy under attack", panel_hlines=[hlines])


def _model(config) -> str:
  return f"{config.model.name}({config.model.width},{config.model.depth})"


def report(config, results, writer) -> Report:
  del writer
  rows_ = results["rows"]
  intro = (f"{_model(config)} trained with SGD lr {config.optim.learning_rate}, wd "
           f"{config.optim.weight_decay}, batch {config.train.batch_size}, on "
           f"{', '.join(config.attacks.datasets)}; {config.num_seeds} seeds per dataset in one "
           "program. `pgd_acc`: test accuracy under per-example l2 PGD "
           f"({config.eval.attack_steps} steps from 0) at the UAP's radius; `*_share_s`: share of "
           "the perturbation's squared l2 norm on the S coordinates (un-rotated); `range_pgd_*`: "
           "the original notebook's per-example attack (l2 PGD from 0 at radius "
           f"{config.eval.range_attack_fraction:g} x the data range R, "
           f"{config.eval.range_attack_steps} steps of "
           f"{config.eval.range_attack_step_fraction:g} R, kept in the data's box), "
           "with `range_pgd_norm_share_s` its mean ||δ_S|| / ||δ|| (the notebook's \"fraction of "
           "budget\"). UAPs are "
           f"label-signed (x + s(y) u), fitted on the first {config.eval.uap_fit_fraction:g} of "
           "the test set; `*_uap_acc` is on the rest (held out), `*_uap_fit_acc` on the fitting "
           "part.")
  notes = ["Per-dataset settings: " + "; ".join(
      f"{r['label']}: UAP / PGD l2 radius {r['params']['uap_eps']:g}" for r in rows_) + ".",
      "Published (Pitfalls of SB §5): LMS-5 UAP accuracy .0066 (l2 norm 1), MS-(5,7) .0656 "
      "(norm .5); 99.6% / 99.9% of the budget on S."]
  return Report("Adversarial attacks and UAPs on SB models", intro, list(METRICS), notes,
                extra={"model": config.model.to_dict(),
                       "datasets": list(config.attacks.datasets)})
