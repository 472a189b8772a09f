"""One run pipeline for every experiment: data -> members -> fit(objective) -> evaluators -> rows
-> report.

``run(config, workdir)`` resolves the experiment (``config.experiment``), lets it split the config
into *cells* (settings that change shapes or code: a model, an optimizer, a dataset layout), and
for each cell :func:`run_cell` draws the data of every member, trains all members in one compiled
program with the configured objective, and runs the configured evaluators on the result. The
experiment turns cell outcomes into results rows and figures; ``report/`` writes every file.

An experiment module provides (only ``NAME`` and ``CONFIGS`` are required; its claims are data,
in the claim ledger ``reproduction/ledger/<config>.json``, :mod:`simplicity_bias.report.ledger`):

* ``cells(config) -> [Cell]`` — validated cells (default: the config itself, one cell), run in
  order. A cell says how it runs beyond its config (:class:`Cell`): training points that share a
  seed's data or draw their own (per-member inputs such as ε), a named data transform, the
  purpose of its init keys and a named init, a monitor, its evaluators and their options. A claim
  with several stages is a plan: a later cell's init or transform names earlier cells by label
  (``{"from": ...}``) and reads their trained members (non-random init: slab model -> α-mixes;
  DiffROAR: source models -> their attributions mask the retraining data);
* ``rows(cell, outcome) -> [row]`` (default: :func:`point_rows`, one row per grid point);
* ``finish_rows(config, rows) -> rows`` — what a row needs from other cells' rows (e.g. a gain
  over another cell's value at the same seed);
* ``cell_figures(cell, outcome, rows, writer)`` — figures of one cell; what it returns is kept in
  ``writer.kept`` for the figures of the whole run;
* ``report(config, results, writer) -> Report`` — figures of the whole run and the report text.
"""

import copy
import dataclasses
import time
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from simplicity_bias import evaluators, interrupts, members
from simplicity_bias.data import registry, transforms
from simplicity_bias.experiment_registry import get_experiment
from simplicity_bias.members import Purpose
from simplicity_bias.progress import Display
from simplicity_bias.registries import reads
from simplicity_bias.models import build as build_model
from simplicity_bias.report.results import build_results, make_row, mean_ci95
from simplicity_bias.report.run import RunWriter, prepare_workdir
from simplicity_bias.train import inits, objectives
from simplicity_bias.train.loop import Trainer, fit, init_members, train_spec, validate_train_spec
from simplicity_bias.train.optimizers import make_optimizer
from simplicity_bias.validation import ConfigError, check_positive


@dataclasses.dataclass
class Cell:
  """One compiled member stack: a label for tables, the params that identify it, its config
  (``base``: the experiment's config before the cell's overrides, for a later stage that is
  not one of the cells), and how the pipeline trains and evaluates it beyond what the config
  says (:func:`run_planned`)."""
  label: str
  params: Dict[str, Any]
  config: ml_collections.ConfigDict
  base: Optional[ml_collections.ConfigDict] = None
  # Training points of every seed that share its data, e.g. [{"eps": 0.1}, {"eps": 0.2}]: each
  # point's values become its members' ``aux`` (read by the objective and the evaluators).
  points: Sequence[Dict[str, Any]] = ()
  monitor: Optional[Callable] = None      # params -> {name: scalar}, at every check
  check_at_start: bool = False            # record a check of the initial parameters first
  evals: Optional[Sequence[str]] = None   # the evaluators of this cell instead of config.evals
  eval_options: Dict[str, Any] = dataclasses.field(default_factory=dict)  # added to config.eval
  row_label: Optional[str] = None         # the label of its results rows, when not ``label``
  # A named data transform (simplicity_bias/data/transforms.py) and its options, applied to the
  # arrays the data source built, e.g. ("split_among_members", {"num_train": 1000}).
  transform: Optional[Tuple[str, Dict[str, Any]]] = None
  # How the members start: the purpose of their random-init keys (members.Purpose, by name) and
  # a named init (simplicity_bias/train/inits.py) that may read an earlier cell of the plan,
  # e.g. ("mix", {"from": "slab"}); ``eval_init``: evaluators of the initial parameters, whose
  # outputs are named ``init_<metric>``.
  key_purpose: str = "MODEL"
  init: Optional[Tuple[str, Dict[str, Any]]] = None
  eval_init: Sequence[str] = ()


class Outcome(NamedTuple):
  """What one trained and evaluated cell produced."""
  config: Any
  layout: members.Layout
  points: List[Dict]             # grid points (dataset parameters), one row each
  data: registry.DataBundle
  trainer: Trainer
  states: Any                    # final member states (device)
  variables: Dict                # evaluated {"params", **model_state}, member-stacked (device)
  history: List[Dict]
  evals: Dict[str, np.ndarray]   # evaluator outputs per member (host)
  timing: Dict[str, float]


class Report(NamedTuple):
  title: str
  intro: str
  metrics: Sequence[str]
  notes: Sequence[str] = ()
  extra: Dict[str, Any] = {}     # additional top-level keys of results.json


# ----------------------------------------------------------------------------- config helpers

def flatten_overrides(prefix: str, node) -> Dict[str, Any]:
  """Nested sections ({"data": {"num_train": 5}}) as override paths ({"data.num_train": 5})."""
  out = {}
  for key, value in node.items():
    path = f"{prefix}.{key}" if prefix else key
    if isinstance(value, (dict, ml_collections.ConfigDict)):
      out.update(flatten_overrides(path, value))
    else:
      out[path] = value
  return out


def apply_overrides(config: ml_collections.ConfigDict, overrides: Dict[str, Any]):
  """A copy of ``config`` with ``{"model.width": 300, ...}`` applied; unknown paths raise.

  Grid axes and model fields may be new (a CNN has no ``depth``); other paths must exist.
  """
  config = copy.deepcopy(config)
  with config.unlocked():
    for path, value in overrides.items():
      *parents, leaf = path.split(".")
      node = config
      for p in parents:
        if p not in node:
          raise ConfigError(f"override {path!r}: config has no field {p!r}.")
        node = node[p]
      if leaf not in node and not (parents and parents[0] in ("grid", "model")):
        raise ConfigError(f"override {path!r}: config has no field {leaf!r}.")
      node[leaf] = value
  return config


def grid_points(config) -> List[Dict]:
  if registry.source_name(config) != "synthetic":
    if config.get("grid") and config.grid.to_dict():
      raise ConfigError(f"grid {sorted(config.grid.to_dict())} needs synthetic data "
                        f"(data.source={registry.source_name(config)!r}).")
    return [{}]
  from simplicity_bias.data.synthetic_source import grid_points as synthetic_points
  return synthetic_points(config)


def point_label(point: Dict) -> str:
  return ",".join(f"{k}={v:g}" for k, v in point.items()) or "all"


def group_size_of(config) -> int:
  """``members.group_size``: members per group (an ensemble, a D-BAT sequence, DivDis heads)."""
  return int(config.members.group_size) if "members" in config else 1


def pool_of(config) -> str:
  """``data.pool``: the unlabelled pool the data source draws ('' = none)."""
  return str(config.data.pool) if "pool" in config.data else ""


def validate_cell(config) -> registry.DataInfo:
  """Every check of one cell that needs no data and no compilation."""
  check_positive("num_seeds", config.num_seeds)
  group_size = group_size_of(config)
  check_positive("members.group_size", group_size)
  info = registry.info(config)
  if registry.source_name(config) == "synthetic":
    from simplicity_bias.data.synthetic_source import spec_and_params
    spec_and_params(config)
  grid_points(config)
  if registry.source_name(config) == "synthetic":
    from simplicity_bias.data.synthetic_source import pool_settings
    pool_settings(config)
  elif pool_of(config):
    raise ConfigError(f"data.pool={pool_of(config)!r}: only the synthetic source provides "
                      f"unlabelled pools so far, not {registry.source_name(config)!r}.")
  build_model(config.model, info.kind, info.num_classes)
  if info.kind == "vector":
    from simplicity_bias.models.vector import check_input_dim
    check_input_dim(config.model, info.dim)
  optimizer_of(config, steps_per_epoch=1)
  validate_train_spec(train_spec(config.train), info.num_train or 10**9)
  objectives.build(config.objective, info, group_size, has_pool=bool(pool_of(config)))
  evaluators.check_entries(list(config.evals), info, group_size)
  if config.resume and config.overwrite:
    raise ConfigError("resume=True and overwrite=True contradict each other; use one.")
  return info


def optimizer_of(config, steps_per_epoch: int):
  o = config.optim
  schedule = None
  if o.decay_epochs:
    check_positive("optim.decay_factor", o.decay_factor)
    # One epoch, or several (x decay_factor at each): e.g. (1000, 2000, 3000).
    epochs = o.decay_epochs if isinstance(o.decay_epochs, (tuple, list)) else (o.decay_epochs,)
    schedule = {int(e * steps_per_epoch): float(o.decay_factor) for e in epochs}
  return make_optimizer(o.name, o.learning_rate, o.momentum, o.weight_decay, schedule)


# ----------------------------------------------------------------------------- one cell

def layout_of(config, num_points: int = 1, slots: int = 1) -> members.Layout:
  return members.layout(config.seed, config.num_seeds, num_points, slots)


def model_keys(layout: members.Layout, purpose: Purpose = Purpose.MODEL):
  """Initialisation keys: the seed's MODEL key, and the slot folded in when a seed has several."""
  return layout.keys(purpose, per_slot=layout.slots > 1)


def _mesh(config):
  devices = config.num_devices or jax.device_count()
  if devices <= 1:
    return None
  from simplicity_bias.train import distributed
  return distributed.make_data_mesh(devices)


def run_cell(config, writer: RunWriter, label: str = "", progress: bool = True, *,
             layout: Optional[members.Layout] = None, data: Optional[registry.DataBundle] = None,
             data_hook: Optional[Callable] = None, init_hook: Optional[Callable] = None,
             keys: Optional[Any] = None, monitor: Optional[Callable] = None,
             evals: Optional[Sequence[str]] = None,
             check_at_start: bool = False, aux: Optional[Any] = None,
             eval_options: Optional[Dict[str, Any]] = None) -> Outcome:
  """Data -> members -> fit -> evaluators for one cell.

  ``layout`` defaults to seeds x grid points; ``data`` to the source's arrays for that layout;
  ``data_hook(bundle) -> bundle`` transforms them (e.g. strips a block); ``keys`` replaces the
  members' initialisation keys; ``init_hook(trainer, states, data) -> states`` replaces the
  initial parameters; ``monitor(params)`` adds statistics to every check; ``evals`` replaces
  ``config.evals`` (``()``: evaluate nothing), ``eval_options`` adds to ``config.eval``; ``aux``:
  per-member non-trained inputs of the objective and the evaluators (e.g. each member's ε of an
  adversarial-training grid).
  """
  timing: Dict[str, float] = {}
  display = writer.display
  display.cell(label or config.experiment)
  interrupts.check(f"before cell {label!r}" if label else "before training")
  points = grid_points(config)
  layout = layout or layout_of(config, len(points), slots=group_size_of(config))
  t0 = time.perf_counter()
  with display.phase("loading data" if data is None else "preparing data"):
    if data is None:
      data = registry.build(config, layout)
    if data_hook is not None:
      data = data_hook(data)
    jax.block_until_ready(data.arrays())
  timing["data_s"] = time.perf_counter() - t0

  info = data.info
  num_train = data.x_train.shape[0] if data.shared else data.x_train.shape[1]
  mesh = _mesh(config)
  x_train, y_train = data.x_train, data.y_train
  if mesh is not None:
    from simplicity_bias.train import distributed
    keep = num_train // mesh.size * mesh.size  # every device gets as many examples
    x_train, y_train = (distributed.place_examples(mesh, a[:keep][distributed.process_slice(keep)])
                        for a in (np.asarray(x_train), np.asarray(y_train)))
    num_train = keep
  tspec = train_spec(config.train)
  sampler = None
  if registry.source_name(config) == "synthetic" and config.train.fresh_batches:
    from simplicity_bias.data.synthetic_source import sampler as make_sampler
    sampler = make_sampler(config, tspec.batch_size)
  trainer = Trainer(build_model(config.model, info.kind, info.num_classes), optimizer_of(
      config, num_train // tspec.batch_size), tspec, num_train, shared_data=data.shared,
                    mesh=mesh, objective=objectives.build(
                        config.objective, info, group_size_of(config),
                        has_pool=data.pool is not None),
                    members_per_dataset=_members_per_dataset(data, layout), sampler=sampler,
                    monitor=monitor)
  t0 = time.perf_counter()
  with display.phase(f"initialising {layout.num_members} members"):
    states = init_members(trainer, model_keys(layout) if keys is None else keys, x_train)
    if mesh is not None:
      from simplicity_bias.train import distributed
      states = distributed.replicate(mesh, states)
    if init_hook is not None:
      states = init_hook(trainer, states, data)
    jax.block_until_ready(states)
  interrupts.check(f"before training {label!r}" if label else "before training")
  checkpointer = checkpointer_for(config, writer, label)
  writer.training_started = True
  try:
    states, history = fit(
        trainer, states, x_train, y_train, data.x_val, data.y_val,
        progress=progress and config.progress,
        on_eval=writer.metrics_logger(label),
        description=f"{label or info.name} x{layout.num_members} members",
        checkpointer=checkpointer, resume=bool(config.resume),
        unit="img" if info.kind == "image" else "ex",
        sample_params=data.sample_params if sampler is not None else None,
        check_at_start=check_at_start, aux=aux, display=display, pool=data.pool)
  finally:
    if checkpointer is not None:
      checkpointer.close()
  jax.block_until_ready(states)
  timing["train_s"] = time.perf_counter() - t0
  writer.cell_history(label, history)

  interrupts.check(f"after training {label!r}" if label else "after training",
                   resumable=checkpointer is not None)
  t0 = time.perf_counter()
  variables = trainer.final_variables(states)
  entries = list(config.evals) if evals is None else list(evals)
  options = {**dict(config.eval), **(eval_options or {})}
  out = {}
  if entries:
    with display.phase(f"evaluating ({', '.join(entries)})"):
      out = evaluate_members(entries, trainer, variables, data, layout, options, aux)
    interrupts.check(f"after evaluating {label!r}" if label else "after evaluating",
                     resumable=checkpointer is not None)
  timing["eval_s"] = time.perf_counter() - t0
  timing["members"] = layout.num_members
  return Outcome(config, layout, points, data, trainer, states, variables, history, out, timing)


def evaluate_members(entries, trainer, variables, data: registry.DataBundle,
                     layout: members.Layout, options: Dict[str, Any], aux=None
                     ) -> Dict[str, Any]:
  """The evaluators ``entries`` of member-stacked ``variables``: per-member evaluators on their
  seed's data; group evaluators and read-outs (``name@readout``) see each group of slots as
  one."""
  info = data.info
  names = [e for e in entries if "@" not in e and not evaluators.is_group(e)]
  out = {}
  for split in ("test", "val"):
    on_split = [n for n in names if evaluators.split_of(n) == split]
    x, y = (data.x_test, data.y_test) if split == "test" else (data.x_val, data.y_val)
    if on_split and (data.shared or layout.slots == 1):
      out.update(evaluators.evaluate(
          on_split, trainer.predict, variables, x, y, data.rotation,
          model_keys_for_eval(layout, data), info,
          options, shared_data=data.shared, aux=aux,
          first_layer=trainer.first_layer, extras=data.extras))
    elif on_split:
      out.update(_evaluate_slots(on_split, trainer, variables, x, y, data, layout, info,
                                 options))
  out.update(_evaluate_groups([e for e in entries if e not in names], trainer, variables,
                              data, layout, info, options))
  return out


def tile_points(data: registry.DataBundle, num_points: int) -> registry.DataBundle:
  """A per-seed bundle repeated for every training point (point major, as the layout is)."""
  if data.shared:
    return data
  tile = lambda a: None if a is None else jnp.concatenate([a] * num_points)
  return data._replace(**{f: tile(getattr(data, f)) for f in
                          ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test",
                           "rotation", "pool")})


def point_inputs(points: Sequence[Dict[str, Any]], layout: members.Layout) -> Dict[str, Any]:
  """Per-member ``aux`` of a cell's training points: each point's numeric values, repeated over
  its seeds and slots (``{"eps": [members]}``; a text value only names the point)."""
  per_point = layout.num_seeds * layout.slots
  return {k: jnp.repeat(jnp.asarray([float(p[k]) for p in points], jnp.float32), per_point)
          for k, v in points[0].items() if not isinstance(v, str)}


def run_planned(cell: Cell, writer: RunWriter, progress: bool = True,
                earlier: Optional[Dict[str, Outcome]] = None) -> Outcome:
  """:func:`run_cell` for a cell as it describes itself (training points, data transform, keys,
  init, monitor, evaluators); ``earlier``: the outcomes of the plan's earlier cells by label
  (those an init reads)."""
  config = cell.config
  kwargs = dict(monitor=cell.monitor, check_at_start=cell.check_at_start, evals=cell.evals,
                eval_options=cell.eval_options)
  slots = group_size_of(config)
  layout = layout_of(config, len(grid_points(config)), slots=slots)
  if cell.points:
    if len(grid_points(config)) > 1:
      raise ConfigError(f"cell {cell.label!r} has training points and a dataset grid; use one.")
    layout = layout_of(config, num_points=len(cell.points), slots=slots)
    data_params = registry.point_params(config)
    if any(k in data_params for k in cell.points[0]):  # the points draw their own data
      data = registry.build_points(config, layout, cell.points)
    else:                                               # the points share their seed's data
      data = tile_points(registry.build(config, layout_of(config, slots=slots)),
                         len(cell.points))
    inputs = [{k: v for k, v in p.items() if k not in data_params} for p in cell.points]
    kwargs.update(data=data, aux=point_inputs(inputs, layout) or None)
  if cell.transform is not None:
    kwargs.update(data_hook=lambda bundle: transforms.apply(cell.transform, bundle, layout,
                                                            earlier))
  if cell.key_purpose != "MODEL":
    kwargs.update(keys=model_keys(layout, Purpose[cell.key_purpose]))
  start = {}
  if cell.init is not None or cell.eval_init:
    def init_hook(trainer, states, data):
      del data
      if cell.init is not None:
        states = inits.apply(cell.init, trainer, states, layout=layout, points=cell.points,
                             earlier=earlier or {})
      start["variables"] = {"params": states.params, **states.model_state}
      return states
    kwargs.update(init_hook=init_hook)
  outcome = run_cell(config, writer, cell.label, progress, layout=layout, **kwargs)
  if cell.eval_init:
    with writer.phase("evaluating the initial parameters"):
      at_init = evaluate_members(
          list(cell.eval_init), outcome.trainer, start["variables"], outcome.data, layout,
          {**dict(config.eval), **cell.eval_options}, kwargs.get("aux"))
    outcome = outcome._replace(evals={**outcome.evals, **{f"init_{k}": v for k, v in
                                                         at_init.items()}})
  return outcome._replace(points=list(cell.points)) if cell.points else outcome


def _members_per_dataset(data: registry.DataBundle, layout: members.Layout) -> int:
  """Consecutive members that train on one dataset: 1 with shared data, else members / datasets
  (a seed's slots share its dataset unless ``data_hook`` gave every member its own)."""
  if data.shared:
    return 1
  datasets = data.x_train.shape[0]
  if datasets < 1 or layout.num_members % datasets:
    raise ValueError(f"{datasets} training sets cannot be split evenly among "
                     f"{layout.num_members} members.")
  return layout.num_members // datasets


def model_keys_for_eval(layout: members.Layout, data: registry.DataBundle):
  """One EVAL key per member (shared by the slots of a seed: they see the same permutations)."""
  return layout.keys(Purpose.EVAL)


def _evaluate_slots(names, trainer, variables, x, y, data, layout, info, options):
  """Members that share datasets: each slot evaluated on its seed's ``x, y`` (a split)."""
  repeat = lambda a: None if a is None else jnp.repeat(a, layout.slots, axis=0)
  return evaluators.evaluate(
      names, trainer.predict, variables, repeat(x), repeat(y),
      repeat(data.rotation), layout.keys(Purpose.EVAL),
      info, options, shared_data=False, first_layer=trainer.first_layer,
      extras=jax.tree_util.tree_map(repeat, data.extras))


def _evaluate_groups(entries, trainer, variables, data, layout, info, options):
  """Group evaluators and ``evaluator@readout`` entries: one model per group of ``K =
  layout.slots`` members (a seed's slots), evaluated on its seed's data with its seed's EVAL key.
  Outputs are named ``metric@readout``, or ``metric@group`` for group evaluators; every output
  named with ``@`` has one entry per group."""
  if not entries:
    return {}
  from simplicity_bias.evaluators import readouts
  k = layout.slots
  groups = layout.num_members // k
  grouped = jax.tree_util.tree_map(lambda a: a.reshape((groups, k) + a.shape[1:]), variables)
  keys = layout.keys(Purpose.EVAL)[::k]
  shared = data.shared
  if not shared and data.x_test.shape[0] != groups:
    raise ConfigError(f"read-outs need one dataset per group; the data have "
                      f"{data.x_test.shape[0]} for {groups} groups.")
  by_readout: Dict[str, List[str]] = {}
  for entry in entries:
    name, readout = evaluators.split_entry(entry)
    by_readout.setdefault(readout, []).append(name)
  out = {}
  for readout, names in by_readout.items():
    fn = readouts.group_predict(readout, trainer.predict) if readout else readouts.stacked(
        trainer.predict)
    res = evaluators.evaluate(names, fn, grouped, data.x_test, data.y_test, data.rotation, keys,
                              info, options, shared_data=shared, extras=data.extras)
    out.update({f"{m}@{readout or 'group'}": v for m, v in res.items()})
  return out


def checkpointer_for(config, writer: RunWriter, label: str):
  """Checkpoints under WORKDIR/checkpoints/<cell> when the run has a work directory. Every
  process of a multi-process job takes part (orbax writes the arrays they share; the work
  directory must then be on a shared file system)."""
  every = config.checkpoint_every_s
  if not writer.workdir or every is None or every < 0:
    return None
  from simplicity_bias.train.checkpoint import Checkpointer
  return Checkpointer(writer.checkpoint_dir(label), every_s=float(every))


# ----------------------------------------------------------------------------- rows

def training_metrics(history: List[Dict], index=slice(None)) -> Dict[str, np.ndarray]:
  """Per-member training outcome from the last check: train/val accuracy, updates, converged."""
  last = history[-1]
  return {"train_acc": np.asarray(last["train_acc"])[index],
          "val_acc": np.asarray(last["val_acc"])[index],
          "updates": np.asarray(last["num_updates"], float)[index],
          "converged": np.asarray(last["converged"], float)[index]}


def scalar_metrics(evals: Dict[str, Any], index=slice(None)) -> Dict[str, np.ndarray]:
  """The evaluators' per-model scalars (arrays of shape [models])."""
  return {k: np.asarray(v)[index] for k, v in evals.items()
          if not isinstance(v, (dict, tuple, list)) and np.ndim(v) == 1
          and not k.startswith("auc_null_std")}


def coordinate_summary(coord: np.ndarray) -> Dict[str, List[float]]:
  stats = [mean_ci95(coord[:, j]) for j in range(coord.shape[1])]
  return {"mean": [s["mean"] for s in stats], "ci95": [s["ci95"] for s in stats],
          "per_seed": coord.tolist()}


def _group_means(values: Dict[str, np.ndarray], slots: int) -> Dict[str, np.ndarray]:
  """Per-member values ``[seeds x slots]`` as the mean over each seed's group, named
  ``name@member_mean``."""
  return {f"{k}@member_mean": np.asarray(v, float).reshape(-1, slots).mean(axis=1)
          for k, v in values.items()}


def point_rows(cell: Cell, outcome: Outcome, training: bool = True,
               coordinates: bool = True) -> List[Dict]:
  """One row per grid point: the evaluators' scalars and the training outcome, per seed. With
  groups (``members.group_size > 1``) a seed is a group: outputs named ``metric@readout`` have
  one value per group, and per-member values become their group's mean (``metric@member_mean``)."""
  rows = []
  layout = outcome.layout
  per_member = {k: v for k, v in outcome.evals.items() if "@" not in k}
  per_group = {k: v for k, v in outcome.evals.items() if "@" in k}
  for g, point in enumerate(outcome.points):
    sl = layout.point_slice(g)
    gsl = slice(g * layout.num_seeds, (g + 1) * layout.num_seeds)
    per_seed = scalar_metrics(per_member, sl)
    if training:
      per_seed.update(training_metrics(outcome.history, sl))
    if layout.slots > 1:
      per_seed = _group_means(per_seed, layout.slots)
    per_seed.update(scalar_metrics(per_group, gsl))
    extra = {"seeds": list(layout.seeds)}
    if "auc_null_std" in outcome.evals:
      extra["auc_null_std"] = float(np.mean(outcome.evals["auc_null_std"][sl]))
    if coordinates and "coord_rand_acc" in outcome.evals and layout.slots == 1:
      extra["coord_rand_acc"] = coordinate_summary(np.asarray(outcome.evals["coord_rand_acc"][sl]))
    for key in per_group:
      if coordinates and key.startswith("coord_rand_acc@"):
        extra[key] = coordinate_summary(np.asarray(per_group[key][gsl]))
    label = point_label(point)
    if cell.label:
      label = cell.label if len(outcome.points) == 1 else f"{cell.label} [{label}]"
    rows.append(make_row(label, {**cell.params, **point}, per_seed, **extra))
  return rows


# ----------------------------------------------------------------------------- the run

def default_report(config, results, writer) -> Report:
  """A report without figures: every metric of the rows, mean ± 95% CI over seeds."""
  del writer
  metrics = list(dict.fromkeys(m for r in results["rows"] for m in r["summary"]))
  return Report(results["experiment"], f"{config.num_seeds} seeds; config in config.json.",
                metrics)


def default_cells(config) -> List[Cell]:
  validate_cell(config)
  return [Cell("", {}, config)]


def make_cells(config, specs, **fields) -> List[Cell]:
  """Cells from ``(label, params, overrides)`` triples, each validated before any compiles
  (a ConfigError names the cell); ``fields``: :class:`Cell` fields every cell gets (e.g.
  ``monitor``), or a function of the cell's config returning them."""
  cells = []
  for label, params, overrides in specs:
    try:
      c = apply_overrides(config, overrides)
      validate_cell(c)
    except ConfigError as e:
      raise ConfigError(f"cell {label!r}: {e}") from None
    own = fields["of"](c) if "of" in fields else fields
    cells.append(Cell(label, params, c, config, **own))
  labels = [c.label for c in cells]
  if len(set(labels)) != len(labels):
    twice = sorted({l for l in labels if labels.count(l) > 1})
    raise ConfigError(f"the sweep has duplicate cells {twice}; list each setting once.")
  return cells


def run_cells(experiment, cells: List[Cell], writer: RunWriter, progress: bool) -> List[Dict]:
  """Each cell through :func:`run_planned`; rows and per-cell figures from the experiment
  (what ``cell_figures`` returns is kept in ``writer.kept[cell.label]`` for the run's figures)."""
  rows = []
  rows_of = getattr(experiment, "rows", point_rows)
  cell_figures = getattr(experiment, "cell_figures", None)
  read = {source for cell in cells for source in reads(cell.init) + reads(cell.transform)}
  earlier: Dict[str, Outcome] = {}   # the outcomes a later cell's init or transform reads
  for cell in cells:
    outcome = run_planned(cell, writer, progress, earlier)
    if cell.label in read:           # its trained members, not its data
      earlier[cell.label] = outcome._replace(data=None, states=None)
    cell_rows = rows_of(cell, outcome)
    for row in cell_rows:
      row.setdefault("timing", dict(outcome.timing))
    rows += cell_rows
    if cell_figures is not None:
      kept = cell_figures(cell, outcome, cell_rows, writer)
      if kept is not None:
        writer.kept[cell.label] = kept
  finish = getattr(experiment, "finish_rows", None)
  return rows if finish is None else finish(cells[0].base or cells[0].config, rows)


def run(config, workdir: str = "", progress: bool = True) -> Dict:
  """Runs ``config.experiment`` end to end; writes its files when ``workdir`` is given.

  A run that stops before it has anything to keep (bad data found after the work directory was
  prepared, an interrupt before the first checkpoint) leaves the work directory as it found it,
  so the corrected command can simply be run again. A stop request
  (:mod:`simplicity_bias.interrupts`) raises :class:`~simplicity_bias.interrupts.Interrupted`,
  whose ``resumable`` says whether ``resume=True`` can continue the run."""
  experiment = get_experiment(config.experiment)
  cells = getattr(experiment, "cells", default_cells)(config)
  if config.distributed:
    from simplicity_bias.train import distributed
    distributed.initialize_distributed()
  writer_process = jax.process_index() == 0  # the others compute the same and write nothing
  resume = bool(config.resume)
  created = False
  if workdir and writer_process:
    created = prepare_workdir(workdir, config, resume=resume,
                              overwrite=bool(config.overwrite))
  show = progress and config.progress
  display = Display(enabled=bool(show))
  display.num_cells = len(cells)
  writer = RunWriter(workdir, config, write=writer_process, display=display).start()
  start = time.perf_counter()
  try:
    rows = run_cells(experiment, cells, writer, show)
    interrupts.check("before the report", resumable=writer.has_checkpoint())
    timing = {"total_s": time.perf_counter() - start, "cells": len(cells),
              "device": jax.devices()[0].platform, "devices": jax.device_count()}
    results = build_results(experiment.NAME, rows, timing)
    display.whole_run()
    report = getattr(experiment, "report", default_report)(config, results, writer)
    results.update(report.extra)
    writer.results(results, report.title, report.intro, report.metrics, report.notes)
  except BaseException as e:
    writer.close()
    display.close()
    interrupted = isinstance(e, interrupts.Interrupted)
    if interrupted:
      e.resumable = writer.has_checkpoint()
    # Nothing to keep: a failure before training, or an interrupt before the first checkpoint.
    if not resume and (not writer.training_started or (interrupted and not e.resumable)):
      writer.discard(remove_dir=created)
    raise
  writer.close()
  display.close()
  return results
