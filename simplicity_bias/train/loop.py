"""The vmapped fit loop: many members (seeds x grid points x slots) trained by one program.

Every member's parameters, optimizer state, key and data sit on a leading member axis. A
*segment* of ``eval_every`` updates is one ``lax.scan`` (or several of ``scan_length`` updates)
whose body applies a ``vmap``-ed optimizer step to all members; a *check* then measures every
member on its full train and validation sets and applies the original stop rule (train accuracy
>= 1 - eps, or train loss < eps; then ``patience`` more updates). Converged members are masked
(``where(active, new, old)``), never removed, so shapes and the compiled programs never change.
The host only loops over segments, logs, checkpoints and shows progress.

What a step minimises is an :class:`~simplicity_bias.train.objectives.Objective`: a loss on the
logits, optionally a transform of the batch (adversarial training), a per-member penalty, and a
penalty over groups of members trained on the same batch.

Data: ``x_train`` is ``[datasets, n, ...]`` with ``members_per_dataset`` consecutive members per
dataset (1 for synthetic sweeps, the ensemble size when an ensemble's members share their data),
or ``[n, ...]`` when every member uses the same data (``shared_data``, images). Each member still
draws its own shuffle. With a ``sampler`` there is no fixed training set: every update draws a
fresh batch (the training arrays are then used by the checks only).

Randomness: member ``key`` is split by purpose (``members.counter_key``); the shuffle of epoch
``e`` is drawn from ``counter_key(key, Step.SHUFFLE, e)`` and dropout / attacks / fresh batches /
pool batches of update ``t`` from ``counter_key(key, Step.<purpose>, t)``, so results depend only on (config, seed), never on how the run was
cut into segments or resumed.
"""

import dataclasses
import functools
import time
from typing import Callable, Dict, List, NamedTuple, Optional

import jax
import jax.numpy as jnp
import numpy as np
import optax
from tqdm.auto import tqdm

from simplicity_bias import interrupts
from simplicity_bias.data import counter_rng
from simplicity_bias.members import Step, counter_key
from simplicity_bias.metrics.classification import accuracy
from simplicity_bias.train.objectives import Objective, StepInputs
from simplicity_bias.validation import ConfigError, NonFiniteLossError, check_choice

STOP_RULES = ("acc", "loss", "none")
SELECTIONS = ("best_val", "last")
FULL_CHECKS = ("gated", "always")


@dataclasses.dataclass(frozen=True)
class TrainSpec:
  """Static training settings (they fix the compiled programs)."""
  batch_size: int = 256
  max_epochs: int = 100
  stop_rule: str = "acc"      # 'acc': train acc >= 1 - eps; 'loss': train loss < eps; 'none'
  stop_eps: float = 1e-4
  eval_every: int = 0         # updates between checks; 0 = once per epoch
  patience: int = 0           # updates to keep training after the criterion is first met
  select: str = "best_val"    # which parameters are evaluated: best validation accuracy, or last
  eval_batch_size: int = 8192  # chunk size of full-set evaluation
  check_size: int = 0         # training examples the stop rule looks at; 0 = all of them
  scan_length: int = 0        # updates per compiled call (a lax.scan); 0 = the whole segment
  # When the full training set is passed through at a check: 'gated' = only when the running
  # accuracy of the last quarter of the interval (or the running loss) is within `check_slack`
  # of the stop criterion for some member still training, and at the end; 'always' = every check.
  full_check: str = "gated"
  check_slack: float = 0.005


def train_spec(train_config) -> TrainSpec:
  """The static spec from a ``config.train`` section (fields it lacks keep their defaults)."""
  fields = {f.name for f in dataclasses.fields(TrainSpec)}
  return TrainSpec(**{k: v for k, v in train_config.items() if k in fields})


class SegmentSums(NamedTuple):
  """Per-member sums over the active updates of a segment, from the training forward passes."""
  loss: jax.Array          # summed batch losses
  updates: jax.Array       # active updates
  correct: jax.Array       # correctly classified training examples (before each update)
  seen: jax.Array          # training examples seen
  tail_correct: jax.Array  # the same over the last quarter of the check interval
  tail_seen: jax.Array

  def mean_loss(self):
    return self.loss / jnp.maximum(self.updates, 1)


class MemberState(NamedTuple):
  params: dict
  opt_state: optax.OptState
  key: jax.Array
  best_params: dict
  best_val_acc: jax.Array
  converged_step: jax.Array   # first check at which the stop criterion held; -1 if never
  num_updates: jax.Array
  model_state: dict = {}      # non-trainable collections, e.g. {"batch_stats": ...}
  best_model_state: dict = {}


def validate_train_spec(spec: TrainSpec, num_train: int) -> None:
  check_choice("train.stop_rule", spec.stop_rule, STOP_RULES)
  check_choice("train.select", spec.select, SELECTIONS)
  if spec.batch_size < 1:
    raise ConfigError(f"train.batch_size={spec.batch_size} must be >= 1.")
  if spec.batch_size > num_train:
    raise ConfigError(f"train.batch_size={spec.batch_size} is larger than the training set "
                      f"(data.num_train={num_train}); lower the batch size or add data.")
  if spec.max_epochs < 1:
    raise ConfigError(f"train.max_epochs={spec.max_epochs} must be >= 1.")
  steps_per_epoch = num_train // spec.batch_size
  if spec.eval_every < 0 or spec.eval_every > steps_per_epoch:
    raise ConfigError(f"train.eval_every={spec.eval_every} must be in [0, {steps_per_epoch}] "
                      "(updates per epoch; 0 means once per epoch).")
  if spec.patience < 0 or not spec.stop_eps > 0:
    raise ConfigError("train.patience must be >= 0 and train.stop_eps > 0.")
  if spec.scan_length < 0:
    raise ConfigError(f"train.scan_length={spec.scan_length} must be >= 0 (0 = whole segment).")
  if spec.check_size < 0:
    raise ConfigError(f"train.check_size={spec.check_size} must be >= 0 (0 = whole train set).")
  check_choice("train.full_check", spec.full_check, FULL_CHECKS)
  if not spec.check_slack >= 0:
    raise ConfigError(f"train.check_slack={spec.check_slack} must be >= 0.")


class Trainer:
  """Compiled segment / check functions for one model, optimizer, objective and data shape."""

  def __init__(self, model, optimizer: optax.GradientTransformation, spec: TrainSpec,
               num_train: int, shared_data: bool = False, mesh=None,
               objective: Optional[Objective] = None, members_per_dataset: int = 1,
               sampler: Optional[Callable] = None, monitor: Optional[Callable] = None):
    """``shared_data``: one dataset for all members (``x_train`` without a member axis), as
    for images. ``members_per_dataset``: consecutive members that share one dataset (the
    leading axis of ``x_train`` is then members / this). ``mesh``: a 1-D
    ``jax.sharding.Mesh`` with axis ``"data"``; each batch is then split over its devices (data
    parallel) while parameters stay replicated. ``sampler(key, sample_params) -> (x, y)`` draws
    a fresh batch per update instead of shuffling a fixed set. ``monitor(params) -> {name:
    scalar}`` adds per-member statistics of the parameters to every check.
    """
    validate_train_spec(spec, num_train)
    self.objective = (objective or Objective("erm")).check_group()
    if mesh is not None and spec.batch_size % mesh.size:
      raise ConfigError(f"train.batch_size={spec.batch_size} must be divisible by the "
                        f"{mesh.size} devices it is split over.")
    # Members trained as a group on one batch (a group term or a sequential group); a group
    # without either (an ensemble of independent members) trains member by member.
    group = self.objective.group_size if (self.objective.group_penalty is not None
                                          or self.objective.sequential) else 1
    self.group = group
    if group > 1 and not shared_data and members_per_dataset % group:
      raise ConfigError(f"objective {self.objective.name!r} trains groups of {group} members on "
                        f"one batch, so they must share a dataset; members_per_dataset="
                        f"{members_per_dataset} is not a multiple of {group}.")
    if group > 1 and sampler is not None:
      raise ConfigError("a group objective cannot be combined with fresh-sample batches.")
    self.model, self.optimizer, self.spec = model, optimizer, spec
    self.shared_data, self.mesh = shared_data, mesh
    self.members_per_dataset = members_per_dataset
    self.sampler, self.monitor = sampler, monitor
    self.num_train = num_train
    self.steps_per_epoch = num_train // spec.batch_size  # the last partial batch is dropped
    self.eval_every = spec.eval_every or self.steps_per_epoch
    # Each member's budget; a sequential group trains its members one after another.
    self.member_steps = spec.max_epochs * self.steps_per_epoch
    self.total_steps = self.member_steps * (group if self.objective.sequential else 1)
    self.pool_batch = self.objective.pool_batch_size or spec.batch_size
    # XLA:CPU runs convolutions inside a while loop (a lax.scan) several times slower than
    # the same convolutions outside one (measured 7x for ResNet-50, benchmarks/RESULTS.md);
    # scan_length=1 then runs each update as its own compiled call.
    self.scan_length = min(spec.scan_length or self.eval_every, self.eval_every)
    self._chunk = jax.jit(self._segment, static_argnums=6)
    self.check = jax.jit(self._check, static_argnames="full")

  # -- single-member pieces (vmapped below) ------------------------------------------------------

  def init(self, key, x_example) -> MemberState:
    """Initial state of one member; ``x_example`` is one input batch (only its shape matters)."""
    k_params, k_member = jax.random.split(key)
    variables = dict(self.model.init(k_params, x_example, train=False))
    params = variables.pop("params")
    return MemberState(params=params, opt_state=self.optimizer.init(params), key=k_member,
                       best_params=params, best_val_acc=jnp.float32(-1.0),
                       converged_step=jnp.int32(-1), num_updates=jnp.int32(0),
                       model_state=variables, best_model_state=variables)

  def forward(self, params, model_state, x, *, train: bool, key=None):
    """Logits and the new non-trainable state (BatchNorm statistics) of one member."""
    variables = {"params": params, **model_state}
    if not train:
      return self.model.apply(variables, x, train=False), model_state
    mutable = list(model_state)
    out = self.model.apply(variables, x, train=True, rngs={"dropout": key},
                           mutable=mutable or False)
    logits, new_state = out if mutable else (out, {})
    return logits, dict(new_state)

  def predict(self, variables, x):
    """Eval-mode logits of one member from ``{"params": ..., **model_state}`` (evaluators)."""
    return self.logits(variables["params"], x,
                       {k: v for k, v in variables.items() if k != "params"})

  def _constrain_batch(self, x, axis: int):
    """Splits ``x`` over the mesh along ``axis`` (the example axis) when training sharded."""
    if self.mesh is None:
      return x
    spec = [None] * x.ndim
    spec[axis] = "data"
    return jax.lax.with_sharding_constraint(
        x, jax.sharding.NamedSharding(self.mesh, jax.sharding.PartitionSpec(*spec)))

  def first_layer(self, variables):
    """``None``, or ``(kernel, bias, head)`` when the model's first layer is affine in its
    flattened input (the model has a ``first_layer(params)`` method, as the FCN): then
    ``predict(variables, x) == head(x.reshape(n, -1) @ kernel + bias)`` up to float rounding.
    Evaluators use it to compute ``x @ kernel`` once for many rank-one changes of ``x``."""
    split = getattr(self.model, "first_layer", None)
    if split is None:
      return None
    kernel, bias = split(variables["params"])
    apply = lambda h: self.model.apply(variables, h, train=False, from_first_layer=True)
    return kernel, bias, lambda h: self._in_chunks(apply, h)

  def logits(self, params, x, model_state=None):
    """Eval-mode logits of a whole set, in chunks of ``eval_batch_size`` rows."""
    variables = {"params": params, **(model_state or {})}
    return self._in_chunks(lambda xx: self.model.apply(variables, xx, train=False), x)

  def _in_chunks(self, apply, x):
    """``apply(x)`` in chunks of ``eval_batch_size`` rows (one ``lax.map`` over them)."""
    n, chunk = x.shape[0], self.spec.eval_batch_size
    if n <= chunk:
      return apply(x)
    num_chunks = -(-n // chunk)
    padded = jnp.pad(x, [(0, num_chunks * chunk - n)] + [(0, 0)] * (x.ndim - 1))
    out = jax.lax.map(apply, padded.reshape((num_chunks, chunk) + x.shape[1:]))
    return out.reshape((num_chunks * chunk,) + out.shape[2:])[:n]

  def _step_key(self, state, purpose: int, step):
    return counter_key(state.key, purpose, step)

  def _member_loss(self, params, state: MemberState, xb, yb, step, aux, pool=None):
    """One member's objective on a batch: (loss, (model_state, logits))."""
    obj = self.objective
    if obj.transform is not None:
      xb = jax.lax.stop_gradient(obj.transform(StepInputs(
          self.forward, params, state.model_state, xb, yb,
          self._step_key(state, int(Step.TRANSFORM), step), aux, pool=pool)))
    logits, model_state = self.forward(params, state.model_state, xb, train=True,
                                       key=self._step_key(state, int(Step.DROPOUT), step))
    loss = obj.loss(logits, yb)
    if obj.penalty is not None:
      loss = loss + obj.penalty(StepInputs(
          self.forward, params, state.model_state, xb, yb,
          self._step_key(state, int(Step.PENALTY), step), aux, logits, pool))
    return loss, (model_state, logits)

  def _apply(self, state: MemberState, grads, model_state, active):
    updates, opt_state = self.optimizer.update(grads, state.opt_state, state.params)
    new = state._replace(params=optax.apply_updates(state.params, updates), opt_state=opt_state,
                         num_updates=state.num_updates + 1, model_state=model_state)
    return jax.tree_util.tree_map(lambda a, b: jnp.where(active, a, b), new, state)

  def _member_update(self, state: MemberState, xb, yb, step, active, aux, pool=None):
    grad_fn = jax.value_and_grad(self._member_loss, has_aux=True)
    (loss, (model_state, logits)), grads = grad_fn(state.params, state, xb, yb, step, aux, pool)
    correct = jnp.sum(jnp.argmax(logits, axis=-1) == yb)
    return (self._apply(state, grads, model_state, active), jnp.where(active, loss, 0.0),
            jnp.where(active, correct, 0))

  def _group_update(self, states: MemberState, xb, yb, step, active, aux, pool=None):
    """One update of a group of members ([K] leading axes) that share the batch ``xb`` (and the
    pool batch ``pool``)."""
    obj = self.objective

    def group_loss(params):
      losses, (model_states, logits) = jax.vmap(
          self._member_loss, in_axes=(0, 0, None, None, None, 0, None))(params, states, xb, yb,
                                                                         step, aux, pool)
      penalty = 0.0
      if obj.group_penalty is not None:
        penalty = obj.group_penalty(StepInputs(
            self.forward, params, states.model_state, xb, yb,
            self._step_key(jax.tree_util.tree_map(lambda a: a[0], states), int(Step.PENALTY),
                           step), aux, logits, pool, active))
      return jnp.sum(losses) + penalty, (model_states, losses + penalty / losses.shape[0],
                                         logits)

    (_, (model_states, losses, logits)), grads = jax.value_and_grad(group_loss, has_aux=True)(
        states.params)
    new = jax.vmap(self._apply)(states, grads, model_states, active)
    correct = jnp.sum(jnp.argmax(logits, axis=-1) == yb[None], axis=-1)
    return new, jnp.where(active, losses, 0.0), jnp.where(active, correct, 0)

  def _active(self, state: MemberState, step):
    not_done = (state.converged_step < 0) | (step < state.converged_step + self.spec.patience)
    return not_done & (step < self.total_steps) & (state.num_updates < self.member_steps)

  def _members_active(self, states: MemberState, step):
    """Per member, whether it trains at update ``step``; in a sequential group only the first
    member that has not stopped does (members before it are done, members after it wait)."""
    active = jax.vmap(self._active, in_axes=(0, None))(states, step)
    if not self.objective.sequential:
      return active
    grouped = active.reshape((-1, self.group))
    earlier = jnp.cumsum(grouped, axis=1) - grouped > 0
    return (grouped & ~earlier).reshape(-1)

  def _pool_batch(self, states: MemberState, pool, step):
    """Per member, ``pool_batch`` rows of the unlabelled pool for update ``step``: the first
    rows of a keyed permutation of the pool (key: the member's POOL step key)."""
    size = pool.shape[0] if self.shared_data else pool.shape[1]
    keys = jax.vmap(lambda s: self._step_key(s, int(Step.POOL), step))(states)
    idx = jax.vmap(lambda k: counter_rng.permutation(k, size)[:self.pool_batch])(keys)
    return self._gather(pool, idx)

  # -- member-stacked, compiled ------------------------------------------------------------------

  def _epoch_perms(self, keys, epoch):
    # A sort-free keyed permutation (counter_rng): jax.random.permutation sorts, which cost
    # half a second per epoch for 16 members of 100k on two CPU cores.
    shuffle = int(Step.SHUFFLE)
    return jax.vmap(lambda k: counter_rng.permutation(
        counter_key(k, shuffle, epoch), self.num_train))(keys)

  def segment(self, states: MemberState, x_train, y_train, step0, aux=None, sample_params=None,
              pool=None):
    """``eval_every`` updates of every member starting at update ``step0``, in compiled calls
    of ``scan_length`` updates. Returns the new states and per-member sums over the active
    updates (:class:`SegmentSums`). ``pool``: the unlabelled pool (``[datasets, m, ...]``, or
    ``[m, ...]`` with shared data) of an objective that needs one."""
    if "unlabelled" in self.objective.needs:
      if pool is None:
        raise ConfigError(f"objective {self.objective.name!r} needs an unlabelled pool; fit "
                          "was given none (set data.pool and data.pool_size).")
      size = pool.shape[0] if self.shared_data else pool.shape[1]
      if self.pool_batch > size:
        raise ConfigError(f"the objective draws {self.pool_batch} pool examples per update but "
                          f"the pool has {size}; raise data.pool_size or lower "
                          "objective.pool_batch_size.")
    else:
      pool = None
    if self.scan_length == self.eval_every:
      return self._chunk(states, x_train, y_train, step0, aux, sample_params, self.eval_every,
                         pool)
    total = None
    for start in range(0, self.eval_every, self.scan_length):
      length = min(self.scan_length, self.eval_every - start)
      states, sums = self._chunk(states, x_train, y_train, step0 + start, aux, sample_params,
                                 length, pool)
      total = sums if total is None else jax.tree_util.tree_map(jnp.add, total, sums)
    return states, total

  def _gather(self, a, idx):
    """Per-member batches ``[members, batch, ...]`` of ``a`` at row indices ``idx``."""
    take = lambda arr, i: arr[i]
    if self.shared_data:
      return jax.vmap(take, in_axes=(None, 0))(a, idx)
    k = self.members_per_dataset
    if k == 1:
      return jax.vmap(take)(a, idx)
    idx = idx.reshape((-1, k) + idx.shape[1:])
    out = jax.vmap(jax.vmap(take, in_axes=(None, 0)))(a, idx)
    return out.reshape((-1,) + out.shape[2:])

  def _segment(self, states: MemberState, x_train, y_train, step0, aux, sample_params,
               length: int, pool=None):
    """``length`` updates of every member starting at update ``step0``: one ``lax.scan``.

    Returns the new states and each member's :class:`SegmentSums` over its active updates. The
    updates span at most two epochs (``length <= steps_per_epoch``), so both shuffles are drawn
    up front and each step slices its batch indices from the right one.
    """
    batch, spe = self.spec.batch_size, self.steps_per_epoch
    num_members = states.num_updates.shape[0]
    group = self.group
    first_epoch = step0 // spe
    full_batch = batch == self.num_train  # every update sees the whole set: no shuffle needed
    if self.sampler is None and not full_batch:
      current = self._epoch_perms(states.key, first_epoch)
      # Calls start at multiples of scan_length within segments that start at multiples of
      # eval_every, so when each divides the next they never cross an epoch boundary and the
      # next epoch's shuffle is not needed.
      crosses = spe % self.eval_every != 0 or self.eval_every % self.scan_length != 0
      perms = (current, self._epoch_perms(states.key, first_epoch + 1) if crosses else current)

    def batch_at(states, step):
      if self.sampler is not None:
        keys = jax.vmap(lambda s: self._step_key(s, int(Step.SAMPLE), step))(states)
        return jax.vmap(self.sampler)(keys, sample_params)
      if full_batch:
        if self.shared_data:
          return (jnp.broadcast_to(x_train, (num_members,) + x_train.shape),
                  jnp.broadcast_to(y_train, (num_members,) + y_train.shape))
        k = self.members_per_dataset
        return jnp.repeat(x_train, k, axis=0), jnp.repeat(y_train, k, axis=0)
      start = (step % spe) * batch
      idx = jnp.where(step // spe == first_epoch,
                      jax.lax.dynamic_slice_in_dim(perms[0], start, batch, axis=1),
                      jax.lax.dynamic_slice_in_dim(perms[1], start, batch, axis=1))
      return self._gather(x_train, idx), self._gather(y_train, idx)

    # The last quarter of a check interval: its running accuracy tells whether the stop rule
    # may hold (a member whose accuracy jumps mid-interval is judged on its recent batches).
    tail_start = self.eval_every - max(1, self.eval_every // 4)

    def body(carry, t):
      states, sums = carry
      step = step0 + t
      active = self._members_active(states, step)
      xb, yb = batch_at(states, step)
      xb, yb = self._constrain_batch(xb, axis=1), self._constrain_batch(yb, axis=1)
      pb = None if pool is None else self._pool_batch(states, pool, step)
      if group == 1:
        states, loss, correct = jax.vmap(
            self._member_update, in_axes=(0, 0, 0, None, 0, 0, None if pb is None else 0))(
                states, xb, yb, step, active, aux, pb)
      else:
        # Members of a group share the batch (and pool batch) of the group's first member.
        regroup = lambda a: a.reshape((-1, group) + a.shape[1:])
        grouped = jax.tree_util.tree_map(regroup, (states, active, aux))
        new, loss, correct = jax.vmap(
            self._group_update, in_axes=(0, 0, 0, None, 0, 0, None if pb is None else 0))(
                grouped[0], xb[::group], yb[::group], step, grouped[1], grouped[2],
                None if pb is None else pb[::group])
        states = jax.tree_util.tree_map(lambda a: a.reshape((-1,) + a.shape[2:]), new)
        loss, correct = loss.reshape(-1), correct.reshape(-1)
      tail = (step % self.eval_every) >= tail_start
      seen = active.astype(jnp.int32) * batch
      sums = SegmentSums(sums.loss + loss, sums.updates + active, sums.correct + correct,
                         sums.seen + seen, sums.tail_correct + jnp.where(tail, correct, 0),
                         sums.tail_seen + jnp.where(tail, seen, 0))
      return (states, sums), None

    zeros = jnp.zeros(num_members, jnp.int32)
    init = (states, SegmentSums(jnp.zeros(num_members), zeros, zeros, zeros, zeros, zeros))
    if length == 1:  # straight-line code: no while loop around the convolutions
      (states, sums), _ = body(init, jnp.int32(0))
    else:
      (states, sums), _ = jax.lax.scan(body, init, jnp.arange(length))
    return states, sums

  def _member_check(self, state: MemberState, x_train, y_train, x_val, y_val, step, aux,
                    running_acc, running_loss, gate, full: bool):
    if full:
      if self.spec.check_size:
        x_train, y_train = x_train[:self.spec.check_size], y_train[:self.spec.check_size]
      logits = self.logits(state.params, x_train, state.model_state)
      train_acc, train_loss = accuracy(logits, y_train), self.objective.loss(logits, y_train)
    else:  # no full pass: report the running estimate; the stop rule is not decided on it
      train_acc, train_loss = running_acc, running_loss
    # ``gate``: this member's own running statistics allow a stop at this check. A member's
    # decision never depends on the other members (a full pass that another member asked for
    # does not stop this one), so N members trained together stop as N separate runs do.
    if full and self.spec.stop_rule == "acc":
      met = gate & (train_acc >= 1.0 - self.spec.stop_eps)
    elif full and self.spec.stop_rule == "loss":
      met = gate & (train_loss < self.spec.stop_eps)
    else:
      met = jnp.bool_(False)
    converged_step = jnp.where((state.converged_step < 0) & met, step, state.converged_step)
    if x_val.shape[0]:
      if self.objective.select_on_transform and self.objective.transform is not None:
        x_val = jax.lax.stop_gradient(self.objective.transform(StepInputs(
            self.forward, state.params, state.model_state, x_val, y_val,
            self._step_key(state, int(Step.VAL_TRANSFORM), step), aux)))
      val_acc = accuracy(self.logits(state.params, x_val, state.model_state), y_val)
    else:
      val_acc = train_acc  # no validation split: fall back to training accuracy
    better = val_acc > state.best_val_acc
    keep_better = lambda new, old: jax.tree_util.tree_map(
        lambda a, b: jnp.where(better, a, b), new, old)
    state = state._replace(converged_step=converged_step,
                           best_params=keep_better(state.params, state.best_params),
                           best_model_state=keep_better(state.model_state,
                                                        state.best_model_state),
                           best_val_acc=jnp.maximum(val_acc, state.best_val_acc))
    stats = dict(train_acc=train_acc, train_loss=train_loss, val_acc=val_acc,
                 converged=converged_step >= 0, done=~self._active(state, step),
                 num_updates=state.num_updates)
    if self.monitor is not None:
      stats.update(self.monitor(state.params))
    return state, stats

  def _check(self, states, x_train, y_train, x_val, y_val, step, aux=None, running_acc=None,
             running_loss=None, gate=None, full: bool = True):
    num_members = states.num_updates.shape[0]
    if running_acc is None:
      running_acc = running_loss = jnp.zeros(num_members)
    if gate is None:
      gate = jnp.ones(num_members, bool)
    if self.shared_data:
      data_axis = None
    else:
      data_axis = 0
      k = self.members_per_dataset
      if k > 1:  # one copy of each dataset per member for the (cheap, per-check) forward pass
        x_train, y_train, x_val, y_val = (jnp.repeat(a, k, axis=0)
                                          for a in (x_train, y_train, x_val, y_val))
    check = functools.partial(self._member_check, full=full)
    return jax.vmap(check, in_axes=(0,) + (data_axis,) * 4 + (None, 0, 0, 0, 0))(
        states, x_train, y_train, x_val, y_val, step, aux, running_acc, running_loss, gate)

  def final_params(self, states: MemberState):
    return states.best_params if self.spec.select == "best_val" else states.params

  def final_model_state(self, states: MemberState):
    return states.best_model_state if self.spec.select == "best_val" else states.model_state

  def final_variables(self, states: MemberState):
    """Member-stacked ``{"params": ..., **model_state}`` of the evaluated parameters."""
    return {"params": self.final_params(states), **self.final_model_state(states)}


def init_members(trainer: Trainer, keys, x_train):
  """Stacked initial states, one per key (``x_train``: [datasets, n, ...], or [n, ...] when the
  trainer's data is shared)."""
  example = x_train[:1] if trainer.shared_data else x_train[0, :1]
  return jax.jit(jax.vmap(trainer.init, in_axes=(0, None)))(keys, example)


def fit(trainer: Trainer, states: MemberState, x_train, y_train, x_val, y_val,
        progress: bool = True, on_eval: Optional[Callable[[Dict], None]] = None,
        description: str = "train", checkpointer=None, resume: bool = False,
        unit: str = "ex", aux=None, sample_params=None, check_at_start: bool = False,
        display=None, pool=None):
  """Trains every member until all have stopped or ``max_epochs`` is reached.

  ``on_eval`` receives one JSON-friendly record per check (per-member lists). Raises
  :class:`NonFiniteLossError` as soon as any member's loss is NaN/inf. With a
  ``checkpointer`` (``train.checkpoint.Checkpointer``) the state is saved when it is due and at
  the end; ``resume=True`` continues from its latest checkpoint when there is one. The
  progress bar shows throughput as ``{unit}_per_s`` (examples, or images) and, when every member
  has stopped early, says so. ``aux``: per-member non-trained inputs of the objective;
  ``sample_params``: per-member arguments of the trainer's sampler; ``pool``: the unlabelled pool
  of an objective that needs one (see :meth:`Trainer.segment`). ``check_at_start`` records
  one check of the initial parameters (step 0) first. ``display`` (a
  :class:`simplicity_bias.progress.Display`) shows the bar and notes; without it a tqdm bar.
  A stop request (:mod:`simplicity_bias.interrupts`) is honoured after the segment that is
  running: the state is checkpointed, then :class:`~simplicity_bias.interrupts.Interrupted` is
  raised. Returns ``(states, history)``.
  """
  history: List[Dict] = []
  num_members = states.num_updates.shape[0]
  step, start = 0, time.perf_counter()
  note = display.note if display is not None else (lambda text: None)
  if resume and checkpointer is not None and checkpointer.latest_step() is not None:
    step, states, history = checkpointer.restore(states)
    if history and (_all_done(trainer, history[-1]) or step >= trainer.total_steps):
      return states, history
    note(f"{description}: resuming from the checkpoint at update {step} of "
         f"{trainer.total_steps}")
    if history:  # elapsed_s counts the training time of every segment, not only this one
      start -= float(history[-1].get("elapsed_s", 0.0))
  elif resume:
    note(f"{description}: resume=True but there is no checkpoint to resume from"
         f"{'' if checkpointer is not None else ' (checkpoints are off)'}; training from "
         "update 0")
  examples_per_update = num_members * trainer.spec.batch_size

  def record_check(states, step, sums, gate, full):
    """One check; ``gate``: per-member bools (members whose stop may be decided now);
    ``full``: whether to pass over the full training set."""
    if sums is None:
      loss = acc = jnp.zeros(num_members)
    else:
      loss = sums.mean_loss()
      acc = sums.correct / jnp.maximum(sums.seen, 1)
    states, stats = trainer.check(states, x_train, y_train, x_val, y_val, jnp.int32(step), aux,
                                  acc, loss, jnp.asarray(gate), full=full)
    seen = None if sums is None else sums.seen
    stats, segment_loss, seen = jax.device_get((stats, loss, seen))
    if not full and seen is not None and history:
      # A member that stopped before this interval made no forward pass in it: its running
      # statistics are those of its last check (not the 0 of an empty count).
      idle = np.asarray(seen) == 0
      for key in ("train_acc", "train_loss"):
        stats[key] = np.where(idle, np.asarray(history[-1][key]), stats[key])
    bad = ~(np.isfinite(stats["train_loss"]) & np.isfinite(segment_loss))
    if bad.any():
      bar.close()
      raise NonFiniteLossError(
          f"training loss became NaN/inf at update {step} for member(s) "
          f"{np.flatnonzero(bad).tolist()}; lower optim.learning_rate or check the data.")
    record = {"step": step, "epoch": step / trainer.steps_per_epoch,
              "elapsed_s": time.perf_counter() - start,
              "segment_loss": np.asarray(segment_loss).tolist(),
              "train_check": "full" if full else "running",
              **{k: np.asarray(v).tolist() for k, v in stats.items()}}
    return states, record, stats

  def log(record):
    history.append(record)
    if on_eval is not None:
      on_eval(record)

  if display is not None:
    bar = display.bar(trainer.total_steps, step, description, "upd") if progress else tqdm(
        total=trainer.total_steps, initial=step, disable=True)
  else:
    bar = tqdm(total=trainer.total_steps, initial=step, disable=not progress, unit="upd",
               desc=description, dynamic_ncols=True, leave=True)
  label = getattr(bar, "desc", "")
  first_segment = progress and step < trainer.total_steps
  if first_segment:  # the first segment compiles the step: say so while the clock runs
    bar.set_description_str(f"{label} (compiling)")
  if check_at_start and step == 0:
    states, record, _ = record_check(states, 0, None, np.ones(num_members, bool), True)
    log(record)
  while step < trainer.total_steps:
    segment_start, first_step = time.perf_counter(), step
    states, sums = trainer.segment(states, x_train, y_train, jnp.int32(step), aux,
                                   sample_params, pool)
    if first_segment:
      bar.set_description_str(label)
      first_segment = False
    step = min(step + trainer.eval_every, trainer.total_steps)
    gate = _may_stop(trainer, jax.device_get(sums), history[-1] if history else None)
    if step >= trainer.total_steps:
      gate = np.ones(num_members, bool)
    states, record, stats = record_check(states, step, sums, gate, bool(gate.any()))
    done = _all_done(trainer, record)
    if done and not gate.any():  # the last record reports the full training set
      states, record, stats = record_check(states, step, sums, gate, True)
    log(record)
    bar.update(step - bar.n)
    rate = examples_per_update * (step - first_step) / (time.perf_counter() - segment_start)
    bar.set_postfix(epoch=f"{record['epoch']:.1f}",
                    converged=f"{int(np.sum(stats['converged']))}/{num_members}",
                    min_train_acc=f"{float(np.min(stats['train_acc'])):.4f}",
                    **{f"{unit}_per_s": f"{rate:.0f}"})
    stop = interrupts.requested() is not None and not done and step < trainer.total_steps
    if checkpointer is not None and (checkpointer.due(step) or done or stop
                                     or step >= trainer.total_steps):
      checkpointer.save(step, states, history)
    if stop:
      bar.close()
      interrupts.check(f"at update {step} of {trainer.total_steps} ({description})",
                       resumable=checkpointer is not None)
    if done:
      # Close the bar at the stop, so a finished run does not look cut short.
      bar.total = step
      bar.set_description_str(f"{label}: all stopped at epoch {record['epoch']:.1f}")
      bar.refresh()
      break
  bar.close()
  return states, history


def _may_stop(trainer: Trainer, sums: SegmentSums, last: Optional[Dict]) -> np.ndarray:
  """Per member, whether its stop may be decided at this check (a full pass over the training
  set runs when any may): it has not converged yet, still trains, and its running statistics
  from the training forward passes are within ``check_slack`` of the stop criterion (accuracy
  over the last quarter of the interval; the mean training loss for the loss rule)."""
  spec = trainer.spec
  num_members = np.asarray(sums.updates).shape[0]
  if spec.full_check == "always":
    return np.ones(num_members, bool)
  if spec.stop_rule == "none":
    return np.zeros(num_members, bool)
  training = np.asarray(sums.updates) > 0
  if last is not None:
    training &= ~np.asarray(last["converged"], bool)
  if spec.stop_rule == "acc":
    seen = np.where(sums.tail_seen > 0, sums.tail_seen, sums.seen)
    correct = np.where(sums.tail_seen > 0, sums.tail_correct, sums.correct)
    error = 1.0 - correct / np.maximum(seen, 1)
    near = error <= spec.stop_eps + spec.check_slack
  else:
    near = sums.loss / np.maximum(sums.updates, 1) <= 10.0 * spec.stop_eps + spec.check_slack
  return training & near


def _all_done(trainer: Trainer, record: Dict) -> bool:
  return trainer.spec.stop_rule != "none" and bool(np.all(record["done"]))
