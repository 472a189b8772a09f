"""Extreme simplicity bias on synthetic slab data (LMS-k, MS-(5,7), L̂MS-k, ...).

One compiled program trains every member: members = grid points (dataset parameters such as
slab margins) x seeds. Each member draws its own dataset and initialisation from its seed, so
grid points share random numbers seed by seed. Evaluation reports standard, S-randomized and
S^c-randomized accuracy/AUC, coordinate-wise randomized accuracy, and figures.
"""

import itertools
import os
import time
from typing import Dict, List, NamedTuple

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from ml_collections import config_dict

from simplicity_bias.data import synthetic
from simplicity_bias.metrics.classification import auc_null_std
from simplicity_bias.metrics.sb import SB_METRICS, decision_grid, sb_metrics
from simplicity_bias.models import get_model, model_names
from simplicity_bias.report import figures, markdown
from simplicity_bias.report.results import (JsonlWriter, build_results, make_row, mean_ci95,
                                            write_json, write_results)
from simplicity_bias.train.loop import Trainer, TrainSpec, fit, init_members, validate_train_spec
from simplicity_bias.train.optimizers import make_optimizer
from simplicity_bias.validation import ConfigError

NAME = "synthetic_sb"
# Purposes of the per-seed key (fold_in constants): data, model, evaluation permutations.
_DATA, _MODEL, _EVAL = 0, 1, 2


def base_config() -> ml_collections.ConfigDict:
  """Defaults shared by the synthetic configs: LMS-5 with the paper's (100,2)-FCN and SGD."""
  c = ml_collections.ConfigDict()
  c.experiment = NAME
  c.seed = 0
  c.num_seeds = 8
  c.progress = True

  c.data = ml_collections.ConfigDict()
  c.data.name = "lms5"
  c.data.dim = 50
  c.data.num_train = 100_000
  c.data.num_val = 10_000
  c.data.num_test = 10_000
  c.data.rotate = True
  c.data.centred_noise = False
  c.data.balanced_labels = False
  c.data.width = 1.0
  c.data.blocks = ""  # only for name='custom', e.g. 'linear:1:simple,slab5:49:complex'
  c.data.filler = "uniform"
  c.data.num_slabs = config_dict.placeholder(int)
  for alias in synthetic.PARAM_ALIASES:
    if alias != "width":
      c.data[alias] = config_dict.placeholder(float)

  c.model = ml_collections.ConfigDict()
  c.model.name = "fcn"
  c.model.width = 100
  c.model.depth = 2
  c.model.activation = "relu"
  c.model.dropout = 0.0
  c.model.init = "pytorch"
  c.model.init_scale = 1.0

  c.optim = ml_collections.ConfigDict()
  c.optim.name = "sgd"
  c.optim.learning_rate = 0.1
  c.optim.momentum = 0.0
  c.optim.weight_decay = 5e-5

  c.train = ml_collections.ConfigDict()
  c.train.batch_size = 256
  c.train.max_epochs = 100
  c.train.stop_rule = "acc"
  c.train.stop_eps = 1e-4
  c.train.eval_every = 0
  c.train.patience = 0
  c.train.select = "best_val"
  c.train.eval_batch_size = 8192

  c.eval = ml_collections.ConfigDict()
  c.eval.coordinatewise = True
  c.eval.boundary_resolution = 80

  # Dataset parameters swept in the same compiled program: {alias: [values, ...]}; the rows of
  # the results table are the cartesian product, in the order the keys are given.
  c.grid = ml_collections.ConfigDict()
  return c


def train_spec(config) -> TrainSpec:
  t = config.train
  return TrainSpec(batch_size=t.batch_size, max_epochs=t.max_epochs, stop_rule=t.stop_rule,
                   stop_eps=t.stop_eps, eval_every=t.eval_every, patience=t.patience,
                   select=t.select, eval_batch_size=t.eval_batch_size,
                   check_size=t.get("check_size", 0), scan_length=t.get("scan_length", 0))


def grid_points(config) -> List[Dict[str, float]]:
  """The cartesian product of ``config.grid`` as a list of {alias: value} (one empty dict if none)."""
  grid = config.grid.to_dict() if config.get("grid") else {}
  for alias, values in grid.items():
    if alias not in synthetic.PARAM_ALIASES:
      raise ConfigError(f"grid.{alias} is not a dataset parameter; valid: "
                        f"{', '.join(synthetic.PARAM_ALIASES)}.")
    if not isinstance(values, (list, tuple)) or not values:
      raise ConfigError(f"grid.{alias} must be a non-empty list of numbers (got {values!r}).")
  names = list(grid)
  return [dict(zip(names, combo)) for combo in itertools.product(*(grid[n] for n in names))]


def build_model(model_config):
  fields = {k: v for k, v in model_config.to_dict().items() if k != "name"}
  if model_config.name not in model_names():
    raise ConfigError(f"unknown model model.name={model_config.name!r}; valid models: "
                      f"{', '.join(model_names())}.")
  try:
    return get_model(model_config.name, **fields)
  except TypeError as e:
    raise ConfigError(f"model {model_config.name!r} does not accept the config fields "
                      f"{sorted(fields)} ({e}); remove the extra model.* fields.")


def validate(config):
  """All checks that need no compilation; returns (spec, per-grid-point params, train spec)."""
  if config.num_seeds < 1:
    raise ConfigError(f"num_seeds={config.num_seeds} must be >= 1.")
  spec = synthetic.spec_from_config(config.data)
  base = synthetic.params_from_config(spec, config.data)
  points = grid_points(config)
  params = []
  for point in points:
    p = base
    for alias, value in point.items():
      p = synthetic.set_param(spec, p, alias, value)
    synthetic.check_params(spec, p, where="data" if not point else f"grid point {point}")
    params.append(p)
  model = build_model(config.model)
  make_optimizer(config.optim.name, config.optim.learning_rate, config.optim.momentum,
                 config.optim.weight_decay)
  tspec = train_spec(config)
  validate_train_spec(tspec, spec.num_train)
  return spec, points, params, model, tspec


def member_keys(config, num_points: int):
  """Per-member base keys, grid-point major: member g * num_seeds + s uses seed ``seed + s``."""
  seeds = [config.seed + s for s in range(config.num_seeds)]
  keys = jnp.stack([jax.random.key_data(jax.random.key(s)) for s in seeds] * num_points)
  return jax.random.wrap_key_data(keys), seeds


def row_label(point: Dict[str, float]) -> str:
  return ",".join(f"{k}={v:g}" for k, v in point.items()) or "all"


class Outcome(NamedTuple):
  """Everything one trained sweep produced (host arrays except ``data`` and ``params``)."""
  spec: synthetic.SyntheticSpec
  points: List[Dict[str, float]]
  rows: List[Dict]
  metrics: Dict[str, np.ndarray]   # [members, ...]
  scores: Dict[str, np.ndarray]    # [members, num_test]
  boundary: tuple
  data: synthetic.SyntheticData    # member-stacked, on device
  trainer: Trainer
  params: dict                     # evaluated parameters, member-stacked
  history: List[Dict]
  timing: Dict[str, float]


def train_and_evaluate(config, workdir: str = "", progress: bool = True,
                       data_keys=None, model_keys=None, init_hook=None,
                       data_hook=None) -> Outcome:
  """Builds the member stack, trains it in one program and evaluates every member.

  ``data_keys`` / ``model_keys`` (one per member, grid-point major) replace the per-seed keys,
  e.g. to give ensemble members one dataset; ``init_hook(trainer, states, data) -> states``
  replaces
  the initial parameters (e.g. a non-random initialisation); ``data_hook(data) -> data``
  transforms the generated member-stacked data before training (e.g. stripping a block).
  """
  spec, points, params, model, tspec = validate(config)
  num_seeds, num_points = config.num_seeds, len(points)
  keys, seeds = member_keys(config, num_points)
  fold = lambda tag: jax.vmap(lambda k: jax.random.fold_in(k, tag))(keys)
  member_params = synthetic.stack_params([p for p in params for _ in range(num_seeds)])
  timing = {}

  t0 = time.perf_counter()
  data = jax.jit(jax.vmap(lambda k, p: synthetic.make_dataset(spec, k, p)))(
      fold(_DATA) if data_keys is None else data_keys, member_params)
  if data_hook is not None:
    data = data_hook(data)
  jax.block_until_ready(data)
  timing["data_s"] = time.perf_counter() - t0

  optimizer = make_optimizer(config.optim.name, config.optim.learning_rate,
                             config.optim.momentum, config.optim.weight_decay)
  trainer = Trainer(model, optimizer, tspec, spec.num_train)
  t0 = time.perf_counter()
  states = init_members(trainer, fold(_MODEL) if model_keys is None else model_keys,
                        data.x_train)
  if init_hook is not None:
    states = init_hook(trainer, states, data)
  on_eval = JsonlWriter(os.path.join(workdir, "metrics.jsonl")) if workdir else None
  states, history = fit(trainer, states, data.x_train, data.y_train, data.x_val, data.y_val,
                        progress=progress and config.progress, on_eval=on_eval,
                        description=f"{spec.name} x{num_points * num_seeds} members")
  jax.block_until_ready(states)
  timing["train_s"] = time.perf_counter() - t0

  t0 = time.perf_counter()
  final = trainer.final_params(states)
  metrics, scores, boundary = evaluate(config, spec, trainer, final, data, fold(_EVAL))
  timing["eval_s"] = time.perf_counter() - t0
  timing["members"] = num_points * num_seeds

  last = history[-1]
  rows = []
  for g, point in enumerate(points):
    sl = slice(g * num_seeds, (g + 1) * num_seeds)
    per_seed = {m: metrics[m][sl] for m in SB_METRICS if m in metrics}
    per_seed["train_acc"] = np.asarray(last["train_acc"])[sl]
    per_seed["val_acc"] = np.asarray(last["val_acc"])[sl]
    per_seed["updates"] = np.asarray(last["num_updates"])[sl]
    per_seed["converged"] = np.asarray(last["converged"], float)[sl]
    extra = {"seeds": seeds, "auc_null_std": float(np.mean(metrics["auc_null_std"][sl]))}
    if "coord_rand_acc" in metrics:
      coord = np.asarray(metrics["coord_rand_acc"][sl])
      stats = [mean_ci95(coord[:, j]) for j in range(coord.shape[1])]
      extra["coord_rand_acc"] = {"mean": [c["mean"] for c in stats],
                                 "ci95": [c["ci95"] for c in stats],
                                 "per_seed": coord.tolist()}
    rows.append(make_row(row_label(point), point, per_seed, **extra))
  return Outcome(spec, points, rows, metrics, scores, boundary, data, trainer, final, history,
                 timing)


def run(config, workdir: str = "", progress: bool = True) -> Dict:
  """Trains and evaluates every member; writes results, figures and report when ``workdir``."""
  out = train_and_evaluate(config, workdir, progress)
  timing = dict(out.timing, device=str(jax.devices()[0].platform))
  results = build_results(NAME, out.rows, timing, dataset=synthetic.describe(out.spec),
                          model=config.model.to_dict(), selection=out.trainer.spec.select)
  if workdir:
    write_outputs(workdir, config, out.spec, results, out.metrics, out.scores, out.boundary,
                  out.data, out.points, config.num_seeds)
  return results


def evaluate(config, spec, trainer, params, data, eval_keys):
  """SB metrics of every member (one vmapped call) and first-seed decision grids."""
  simple, complex_ = spec.simple_coords, spec.complex_coords

  def member(p, x, y, rotation, key):
    logits_fn = lambda xx: trainer.logits(p, xx)
    m, s = sb_metrics(logits_fn, x, y, rotation, simple, complex_, key,
                      coordinatewise=config.eval.coordinatewise)
    m["auc_null_std"] = auc_null_std(y)
    u_coord = simple[0] if simple else 0
    v_coord = complex_[0] if complex_ else min(1, spec.dim - 1)
    base = (x[0] @ rotation.T)
    grid = decision_grid(logits_fn, base, rotation, u_coord, v_coord,
                         1.1 * float(config.data.width), config.eval.boundary_resolution)
    return m, s, grid

  out = jax.jit(jax.vmap(member))(params, data.x_test, data.y_test, data.rotation, eval_keys)
  return jax.device_get(out)


def write_outputs(workdir, config, spec, results, metrics, scores, boundary, data, points,
                  num_seeds):
  os.makedirs(workdir, exist_ok=True)
  write_json(os.path.join(workdir, "config.json"), config.to_dict())
  write_results(workdir, results)
  figs = []
  simple, complex_ = spec.simple_coords, spec.complex_coords
  u_name = f"latent {simple[0] if simple else 0} ({'S' if simple else 'coord'})"
  v_name = f"latent {complex_[0] if complex_ else 1} ({'S^c' if complex_ else 'coord'})"
  y_test = np.asarray(jax.device_get(data.y_test))
  for g, point in enumerate(points):
    first = g * num_seeds
    suffix = "" if len(points) == 1 else f"_{g}"
    label = row_label(point)
    name = f"score_histograms{suffix}.png"
    figures.score_histograms(os.path.join(workdir, name),
                             {k: v[first] for k, v in scores.items()}, y_test[first],
                             title=f"{spec.name} {label} (seed {config.seed})")
    figs.append((name, f"Scores of positive test points, {label}: standard vs randomized."))
    if "coord_rand_acc" in metrics:
      row = results["rows"][g]
      name = f"coordinate_randomized_acc{suffix}.png"
      figures.coordinate_bars(os.path.join(workdir, name), row["coord_rand_acc"]["mean"], simple,
                              complex_, ci95=row["coord_rand_acc"]["ci95"],
                              title=f"{spec.name} {label}: accuracy with one coordinate randomized")
      figs.append((name, f"Coordinate-wise randomized accuracy, {label} (mean ± 95% CI)."))
    u, v, grid = (boundary[0][first], boundary[1][first], boundary[2][first])
    z = np.asarray(jax.device_get(data.x_test[first] @ data.rotation[first].T))
    u_coord = simple[0] if simple else 0
    v_coord = complex_[0] if complex_ else min(1, spec.dim - 1)
    name = f"decision_boundary{suffix}.png"
    figures.decision_boundary(os.path.join(workdir, name), u, v, grid, z[:, u_coord],
                              z[:, v_coord], y_test[first], u_name, v_name,
                              title=f"{spec.name} {label}: decision boundary")
    figs.append((name, f"Model score over ({u_name}, {v_name}), other coordinates fixed at one "
                       f"test point; dots: test points (red y=1), {label}."))
  if len(points) > 1 and len(config.grid.to_dict()) == 1:
    param = list(config.grid.to_dict())[0]
    name = "grid_metrics.png"
    figures.metric_over_grid(os.path.join(workdir, name), results["rows"], param,
                             ["test_auc", "s_rand_auc", "sc_rand_auc"], ylabel="AUC",
                             title=f"{spec.name}: AUC over {param}")
    figs.insert(0, (name, f"Standard / S-randomized / S^c-randomized AUC over {param}."))
  intro = (f"Dataset **{spec.name}** (d={spec.dim}, {spec.num_train} train / {spec.num_val} val / "
           f"{spec.num_test} test, rotated={spec.rotate}; S = latent {list(simple)}, S^c = "
           f"{len(complex_)} coordinates), model {config.model.name} "
           f"{config.model.to_dict()}, {config.optim.name} lr {config.optim.learning_rate}, "
           f"{num_seeds} seeds trained together. Extreme simplicity bias = standard AUC ≈ 1, "
           "S-randomized AUC ≈ 0.5 and S^c-randomized AUC ≈ standard.")
  null = results["rows"][0]["auc_null_std"]
  notes = [f"AUC null standard deviation at this test size: {null:.4f}.",
           f"Evaluated parameters: {results['selection']} (best = highest validation accuracy "
           "at a check; the validation split is separate from the test set)."]
  markdown.write_report(workdir, f"Simplicity bias on {spec.name}", intro, results,
                        list(SB_METRICS) + ["train_acc", "updates"], figs, notes)


# Published values (Pitfalls of SB, Table 4 / §3) for the named datasets of this experiment.
_PUBLISHED = {"lms5": ("1.000", "0.507", "1.000"), "ms57": ("1.000", "0.502", "1.000")}


def claims(results) -> List[Dict]:
  """Extreme SB on every row: std AUC ≈ 1, S-rand AUC ≈ .5, S^c-rand AUC ≈ 1."""
  from simplicity_bias.experiments import common
  name = results.get("dataset", {}).get("name", "")
  std, s_rand, sc_rand = _PUBLISHED.get(name, ("≈1", "≈.5", "≈1"))
  out = []
  for row in results["rows"]:
    if "s_rand_auc" not in row["summary"]:
      continue
    where = name if row["label"] == "all" else f"{name} {row['label']}"
    out += [common.claim(results, row["label"], "test_auc", f"{where}: std AUC ≈ 1", std,
                         0.99, 1.0),
            common.claim(results, row["label"], "s_rand_auc", f"{where}: S-rand AUC ≈ .5", s_rand,
                         0.45, 0.55),
            common.claim(results, row["label"], "sc_rand_auc", f"{where}: S^c-rand AUC ≈ 1",
                         sc_rand, 0.98, 1.0)]
  return out
