"""Extreme SB across model classes (Pitfalls of SB, Table 4 / Fig. 3b).

Cells = datasets {LMS-5, MS-(5,7)} x models {(100,1)-, (100,2)-FCN, (32,7,1)-, (32,7,2)-CNN,
(100,10,1)-, (100,10,2)-GRU}, plus the wide (2000,1)-FCN on MS-(5,7) at d = 50 and d = 250
(Fig. 3(b); the same on LMS-5 is our extension). Each cell
is one compiled member stack of seeds (``pipeline.run_cell``); cells of one dataset share their
datasets seed by seed, so models are compared on the same draws. Published: S-randomized AUC
0.49-0.51 and S^c-randomized AUC 1.00 for every model; the wide FCN 0.50 +- .01.

Models are named by spec strings in ``config.sweep.models`` / ``config.sweep.wide_model``:

  fcn:<width>:<depth>                    (h, L)-FCN
  cnn1d:<filters>:<kernel_size>:<layers> (f, k, L)-CNN
  gru:<hidden>:<step_size>:<layers>      (h, l, L)-GRU (data.dim must be divisible by l)

``config.sweep.optimizers`` (e.g. ``("sgd:0.1", "adam:0.001")``) repeats every cell once per
optimizer and learning rate; a cell whose setting differs from the paper's (``optim.*``: SGD lr .1)
is reported as an extension. Each row keeps its training-accuracy curve (mean ± 95% CI over seeds
at every check), drawn per dataset in ``train_acc_curves.png``.
"""

import math
from typing import Dict, List, Optional, Tuple

import numpy as np

from simplicity_bias.pipeline import Report, flatten_overrides, make_cells, point_rows
from simplicity_bias.report import bars, curves
from simplicity_bias.report.results import mean_ci95
from simplicity_bias.train.optimizers import OPTIMIZERS
from simplicity_bias.validation import ConfigError

NAME = "sb_models"
CONFIGS = ("sb_models",)
# The metrics its claims read: shown first in the console summary.
HEADLINE = ("test_auc", "s_rand_auc", "sc_rand_auc", "train_acc")
METRICS = ("test_auc", "s_rand_auc", "sc_rand_auc", "test_acc", "train_acc", "updates",
           "converged")
# kind -> the model.* fields its spec string gives, in order.
MODEL_FIELDS = {"fcn": ("width", "depth"),
                "cnn1d": ("filters", "kernel_size", "layers"),
                "gru": ("hidden", "step_size", "layers")}
_PUBLISHED_S, _PUBLISHED_SC, _PUBLISHED_WIDE = "0.49–0.51", "1.00", "0.50 ± 0.01"


def parse_model_spec(spec: str) -> Tuple[str, Dict[str, int]]:
  """``'cnn1d:32:7:1'`` -> ``('cnn1d', {'filters': 32, 'kernel_size': 7, 'layers': 1})``."""
  formats = "; ".join(f"{k}:{':'.join('<' + f + '>' for f in v)}" for k, v in MODEL_FIELDS.items())
  if not isinstance(spec, str):
    raise ConfigError(f"model spec {spec!r} must be a string such as 'fcn:100:2' ({formats}).")
  kind, *values = spec.strip().split(":")
  if kind not in MODEL_FIELDS:
    raise ConfigError(f"model spec {spec!r} has unknown model kind {kind!r}; valid spec "
                      f"formats: {formats}.")
  fields = MODEL_FIELDS[kind]
  if len(values) != len(fields):
    raise ConfigError(f"model spec {spec!r} needs {len(fields)} sizes after {kind!r} "
                      f"({kind}:{':'.join('<' + f + '>' for f in fields)}).")
  try:
    sizes = [int(v) for v in values]
  except ValueError:
    raise ConfigError(f"model spec {spec!r} has a size that is not an integer; write e.g. "
                      f"{kind}:{':'.join('<' + f + '>' for f in fields)} with integers.") from None
  if min(sizes) < (0 if kind == "fcn" else 1) or (kind == "fcn" and sizes[0] < 1):
    raise ConfigError(f"model spec {spec!r} has a size out of range; sizes must be positive "
                      "integers (an FCN depth may be 0).")
  return kind, dict(zip(fields, sizes))


def parse_optimizer_spec(spec: str) -> Tuple[str, float]:
  """``'adam:0.001'`` -> ``('adam', 0.001)``."""
  parts = spec.strip().split(":") if isinstance(spec, str) else []
  if len(parts) != 2 or parts[0] not in OPTIMIZERS:
    raise ConfigError(f"optimizer spec {spec!r} must read <name>:<learning rate> with name one "
                      f"of {', '.join(OPTIMIZERS)}, e.g. 'adam:0.001'.")
  try:
    lr = float(parts[1])
  except ValueError:
    lr = float("nan")
  if not (lr > 0 and math.isfinite(lr)):
    raise ConfigError(f"optimizer spec {spec!r}: the learning rate must be a number > 0.")
  return parts[0], lr


def model_label(spec: str) -> str:
  kind, fields = parse_model_spec(spec)
  return f"{kind}({','.join(str(v) for v in fields.values())})"


def _check_kinds(where: str, node) -> None:
  for key in node:
    if key not in MODEL_FIELDS:
      raise ConfigError(f"{where}.{key}: unknown model kind; valid: {', '.join(MODEL_FIELDS)}.")


def _cell(config, dataset: str, spec: str, dim=None, extension: bool = False,
          optimizer: Optional[str] = None):
  kind, fields = parse_model_spec(spec)
  s = config.sweep
  ds = dict(s.per_dataset[dataset]) if dataset in s.per_dataset else {}
  ds_models = ds.pop("per_model", None) or {}
  _check_kinds(f"sweep.per_dataset.{dataset}.per_model", ds_models)
  overrides = {"data.name": dataset, **flatten_overrides("", ds),
               "model.name": kind, **{f"model.{k}": v for k, v in fields.items()},
               **(flatten_overrides("", s.per_model[kind]) if kind in s.per_model else {}),
               **(flatten_overrides("", ds_models[kind]) if kind in ds_models else {})}
  label = f"{dataset} / {model_label(spec)}"
  if dim is not None:
    overrides["data.dim"] = dim
    label = f"{dataset} d={dim} / {model_label(spec)}"
  params = {"dataset": dataset, "model": model_label(spec),
            "dim": overrides.get("data.dim", config.data.dim), "wide": dim is not None}
  if optimizer is not None:
    name, lr = parse_optimizer_spec(optimizer)
    overrides.update({"optim.name": name, "optim.learning_rate": lr})
    label = f"{label} / {name} lr {lr:g}"
    params.update(optimizer=name, learning_rate=lr)
    # The paper trains every cell with the base optimizer (SGD lr .1): other settings are ours.
    extension = extension or (name, lr) != (config.optim.name, config.optim.learning_rate)
  if extension:
    params["extension"] = True
  return label, params, overrides


def cells(config):
  s = config.sweep
  _check_kinds("sweep.per_model", s.per_model)
  optimizers = tuple(s.optimizers) or (None,)
  cells = [_cell(config, d, m, optimizer=o) for d in s.datasets for m in s.models
           for o in optimizers]
  if s.wide_dims:
    unknown = [d for d in s.wide_extensions if d not in s.wide_datasets]
    if unknown:
      raise ConfigError(f"sweep.wide_extensions names {unknown}, which are not in "
                        f"sweep.wide_datasets={tuple(s.wide_datasets)}.")
    cells += [_cell(config, d, s.wide_model, int(dim), extension=d in s.wide_extensions)
              for d in s.wide_datasets for dim in s.wide_dims]
  if not cells:
    raise ConfigError("sb_models has no cells: set sweep.datasets and sweep.models (or "
                      "sweep.wide_dims).")
  labels = [c[0] for c in cells]
  unknown = [l for l in s.skip if l not in labels]
  if unknown:
    raise ConfigError(f"sweep.skip names cells that are not in the sweep: {unknown}; valid "
                      f"labels: {labels}.")
  cells = [c for c in cells if c[0] not in s.skip]
  if not cells:
    raise ConfigError("sb_models has no cells left: sweep.skip leaves out every cell.")
  return make_cells(config, cells)


def train_curve(history: List[Dict]) -> Dict[str, List[float]]:
  """Training accuracy at every check: epoch, mean and 95% CI over the cell's members (a member
  that stopped earlier reports its last check's value, see ``train.loop.fit``)."""
  stats = [mean_ci95(np.asarray(r["train_acc"], float)) for r in history]
  return {"epoch": [float(r["epoch"]) for r in history], "mean": [s["mean"] for s in stats],
          "ci95": [s["ci95"] for s in stats]}


def rows(cell, outcome) -> List[Dict]:
  """The pipeline's rows, each with its cell's training-accuracy curve."""
  out = point_rows(cell, outcome)
  curve = train_curve(outcome.history)
  for row in out:
    row["train_curve"] = curve
  return out


def _thin(curve: Dict[str, List[float]], points: int = 60):
  """(x, mean, ci) with at most ``points`` checks (evenly spaced, the last kept)."""
  n = len(curve["epoch"])
  idx = sorted(set(np.linspace(0, n - 1, min(n, points)).round().astype(int).tolist()))
  return tuple([curve[k][i] for i in idx] for k in ("epoch", "mean", "ci95"))


def report(config, results, writer) -> Report:
  rows = results["rows"]
  with_curves = [r for r in rows if r.get("train_curve", {}).get("epoch")]
  if with_curves:
    datasets = list(dict.fromkeys(r["params"]["dataset"] for r in with_curves))
    # Series named by the label without its "<dataset> / " prefix (wide cells keep "d=...").
    panels = [(d, {r["label"].removeprefix(f"{d} / "): _thin(r["train_curve"])
                   for r in with_curves if r["params"]["dataset"] == d}) for d in datasets]
    writer.figure("train_acc_curves.png", "Training accuracy against epochs per cell (mean ± "
                  "95% CI over seeds at each check): a cell at 0.5 never left the plateau.",
                  curves.metric_curves, panels, "epoch", "training accuracy",
                  title="Training accuracy per cell", ylim=(0.4, 1.02), bands=True)
  series = {name: ([r["summary"][m]["mean"] for r in rows], [r["summary"][m]["ci95"] for r in rows])
            for name, m in (("S-randomized AUC", "s_rand_auc"),
                            ("S$^c$-randomized AUC", "sc_rand_auc"))}
  writer.figure("sb_models_auc.png", "S-randomized (≈ .5: the simple block is all the model "
                "uses) and S^c-randomized (≈ 1: the complex block is ignored) AUC per cell, "
                "mean ± 95% CI over seeds.", bars.grouped_bars, [r["label"] for r in rows],
                series, ylabel="test AUC", hlines=(0.5,), colors=("tab:blue", "tab:orange"),
                title=f"Extreme SB across models ({config.num_seeds} seeds, mean ± 95% CI)")
  not_converged = [r["label"] for r in rows if r["summary"]["converged"]["mean"] < 1.0]
  notes = ["Cells where some seed did not reach the stop rule within train.max_epochs: "
           + (", ".join(not_converged) if not_converged else "none.")]
  intro = (f"{config.num_seeds} seeds per cell; datasets {', '.join(config.sweep.datasets)} "
           f"(d={config.data.dim}) x models {', '.join(model_label(m) for m in config.sweep.models)}"
           + (f", plus {model_label(config.sweep.wide_model)} on "
              f"{', '.join(config.sweep.wide_datasets)} at "
              f"d = {', '.join(str(d) for d in config.sweep.wide_dims)}"
              if config.sweep.wide_dims else "")
           + (f" x optimizers {', '.join(config.sweep.optimizers)}"
              if config.sweep.optimizers else "")
           + f"; {config.optim.name} lr {config.optim.learning_rate}, wd "
           f"{config.optim.weight_decay}, batch {config.train.batch_size}, stop at "
           + {"loss": f"train loss < {config.train.stop_eps:g}",
              "none": "the epoch cap"}.get(config.train.stop_rule,
                                          f"train acc ≥ {1 - config.train.stop_eps:g}")
           + f". Published: S-rand AUC {_PUBLISHED_S} and S^c-rand "
           f"AUC {_PUBLISHED_SC} for every model (wide FCN {_PUBLISHED_WIDE}).")
  return Report("Extreme SB across models", intro, METRICS, notes,
                extra={"not_converged": not_converged})
