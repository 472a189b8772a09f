"""The vmapped fit loop: many members (seeds x dataset parameters) trained by one program.

Every member's parameters, optimizer state, key and data sit on a leading member axis. A
*segment* of ``eval_every`` updates is one ``lax.scan`` (or several of ``scan_length`` updates)
whose body applies a ``vmap``-ed SGD step to all members; a *check* then measures every member on its full train and validation sets and
applies the original stop rule (train accuracy >= 1 - eps, or train loss < eps; then
``patience`` more updates). Converged members are masked (``where(active, new, old)``), never
removed, so shapes and the compiled programs never change. The host only loops over segments,
logs, and shows progress.

Randomness: member ``key`` is split by purpose with ``fold_in``; the shuffle of epoch ``e`` is
drawn from ``fold_in(key_shuffle, e)`` and dropout of update ``t`` from ``fold_in(key_dropout, t)``,
so results depend only on (config, seed), never on how the run was cut into segments.
"""

import dataclasses
import time
from typing import Callable, Dict, List, NamedTuple, Optional

import jax
import jax.numpy as jnp
import numpy as np
import optax
from tqdm.auto import tqdm

from simplicity_bias.metrics.classification import accuracy, cross_entropy
from simplicity_bias.validation import ConfigError, NonFiniteLossError, check_choice

STOP_RULES = ("acc", "loss", "none")
SELECTIONS = ("best_val", "last")
_SHUFFLE, _DROPOUT = 1, 2


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
  if spec.patience < 0 or spec.stop_eps <= 0:
    raise ConfigError("train.patience must be >= 0 and train.stop_eps > 0.")
  if spec.scan_length < 0:
    raise ConfigError(f"train.scan_length={spec.scan_length} must be >= 0 (0 = whole segment).")
  if spec.check_size < 0:
    raise ConfigError(f"train.check_size={spec.check_size} must be >= 0 (0 = whole train set).")


class Trainer:
  """Compiled segment / check functions for one model, optimizer and dataset shape."""

  def __init__(self, model, optimizer: optax.GradientTransformation, spec: TrainSpec,
               num_train: int, shared_data: bool = False, mesh=None):
    """``shared_data``: one dataset for all members (``x_train`` without a member axis), as
    for images; otherwise every member has its own (synthetic sweeps). ``mesh``: a 1-D
    ``jax.sharding.Mesh`` with axis ``"data"``; each batch is then split over its devices
    (data parallel) while parameters stay replicated.
    """
    validate_train_spec(spec, num_train)
    if mesh is not None and spec.batch_size % mesh.size:
      raise ConfigError(f"train.batch_size={spec.batch_size} must be divisible by the "
                        f"{mesh.size} devices it is split over.")
    self.model, self.optimizer, self.spec = model, optimizer, spec
    self.shared_data, self.mesh = shared_data, mesh
    self.num_train = num_train
    self.steps_per_epoch = num_train // spec.batch_size  # the last partial batch is dropped
    self.eval_every = spec.eval_every or self.steps_per_epoch
    self.total_steps = spec.max_epochs * self.steps_per_epoch
    # XLA:CPU runs convolutions inside a while loop (a lax.scan) several times slower than
    # the same convolutions outside one (measured 7x for ResNet-50, benchmarks/RESULTS.md);
    # scan_length=1 then runs each update as its own compiled call.
    self.scan_length = min(spec.scan_length or self.eval_every, self.eval_every)
    self._chunk = jax.jit(self._segment, static_argnums=4)
    self.check = jax.jit(self._check)

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

  def _constrain_batch(self, x, axis: int):
    """Splits ``x`` over the mesh along ``axis`` (the example axis) when training sharded."""
    if self.mesh is None:
      return x
    spec = [None] * x.ndim
    spec[axis] = "data"
    return jax.lax.with_sharding_constraint(
        x, jax.sharding.NamedSharding(self.mesh, jax.sharding.PartitionSpec(*spec)))

  def logits(self, params, x, model_state=None):
    """Eval-mode logits of a whole set, in chunks of ``eval_batch_size`` rows."""
    variables = {"params": params, **(model_state or {})}
    apply = lambda xx: self.model.apply(variables, xx, train=False)
    n, chunk = x.shape[0], self.spec.eval_batch_size
    if n <= chunk:
      return apply(x)
    num_chunks = -(-n // chunk)
    padded = jnp.pad(x, [(0, num_chunks * chunk - n)] + [(0, 0)] * (x.ndim - 1))
    out = jax.lax.map(apply, padded.reshape((num_chunks, chunk) + x.shape[1:]))
    return out.reshape((num_chunks * chunk,) + out.shape[2:])[:n]

  def _member_update(self, state: MemberState, xb, yb, step, active):
    dropout_key = jax.random.fold_in(jax.random.fold_in(state.key, _DROPOUT), step)

    mutable = list(state.model_state)

    def loss_fn(params):
      out = self.model.apply({"params": params, **state.model_state}, xb, train=True,
                             rngs={"dropout": dropout_key}, mutable=mutable or False)
      logits, model_state = out if mutable else (out, {})
      return cross_entropy(logits, yb), dict(model_state)

    (loss, model_state), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
    updates, opt_state = self.optimizer.update(grads, state.opt_state, state.params)
    new = state._replace(params=optax.apply_updates(state.params, updates), opt_state=opt_state,
                         num_updates=state.num_updates + 1, model_state=model_state)
    kept = jax.tree_util.tree_map(lambda a, b: jnp.where(active, a, b), new, state)
    return kept, jnp.where(active, loss, 0.0)

  def _active(self, state: MemberState, step):
    not_done = (state.converged_step < 0) | (step < state.converged_step + self.spec.patience)
    return not_done & (step < self.total_steps)

  # -- member-stacked, compiled ------------------------------------------------------------------

  def _epoch_perms(self, keys, epoch):
    return jax.vmap(lambda k: jax.random.permutation(
        jax.random.fold_in(jax.random.fold_in(k, _SHUFFLE), epoch), self.num_train))(keys)

  def segment(self, states: MemberState, x_train, y_train, step0):
    """``eval_every`` updates of every member starting at update ``step0``, in compiled calls
    of ``scan_length`` updates. Returns the new states and each member's mean loss over its
    active updates."""
    if self.scan_length == self.eval_every:
      states, _, _, mean = self._chunk(states, x_train, y_train, step0, self.eval_every)
      return states, mean
    loss_sum = count = 0
    for start in range(0, self.eval_every, self.scan_length):
      length = min(self.scan_length, self.eval_every - start)
      states, s, c, _ = self._chunk(states, x_train, y_train, step0 + start, length)
      loss_sum, count = loss_sum + s, count + c
    return states, loss_sum / jnp.maximum(count, 1)

  def _segment(self, states: MemberState, x_train, y_train, step0, length: int):
    """``length`` updates of every member starting at update ``step0``: one ``lax.scan``.

    Returns the new states, each member's summed loss, its number of active updates and their
    mean loss. The
    updates span at most two epochs (``length <= steps_per_epoch``), so both shuffles are drawn
    up front and each step slices its batch indices from the right one.
    """
    batch, spe = self.spec.batch_size, self.steps_per_epoch
    first_epoch = step0 // spe
    current = self._epoch_perms(states.key, first_epoch)
    # Calls start at multiples of scan_length within segments that start at multiples of
    # eval_every, so when each divides the next they never cross an epoch boundary and the next
    # epoch's shuffle is not needed.
    crosses = spe % self.eval_every != 0 or self.eval_every % self.scan_length != 0
    perms = (current, self._epoch_perms(states.key, first_epoch + 1) if crosses else current)
    if self.shared_data:
      gather = jax.vmap(lambda a, idx: a[idx], in_axes=(None, 0))
    else:
      gather = jax.vmap(lambda a, idx: a[idx])

    def body(carry, t):
      states, loss_sum, count = carry
      step = step0 + t
      start = (step % spe) * batch
      idx = jnp.where(step // spe == first_epoch,
                      jax.lax.dynamic_slice_in_dim(perms[0], start, batch, axis=1),
                      jax.lax.dynamic_slice_in_dim(perms[1], start, batch, axis=1))
      active = jax.vmap(self._active, in_axes=(0, None))(states, step)
      xb = self._constrain_batch(gather(x_train, idx), axis=1)
      yb = self._constrain_batch(gather(y_train, idx), axis=1)
      states, loss = jax.vmap(self._member_update, in_axes=(0, 0, 0, None, 0))(
          states, xb, yb, step, active)
      return (states, loss_sum + loss, count + active), None

    num_members = states.num_updates.shape[0]
    init = (states, jnp.zeros(num_members), jnp.zeros(num_members, jnp.int32))
    if length == 1:  # straight-line code: no while loop around the convolutions
      (states, loss_sum, count), _ = body(init, jnp.int32(0))
    else:
      (states, loss_sum, count), _ = jax.lax.scan(body, init, jnp.arange(length))
    return states, loss_sum, count, loss_sum / jnp.maximum(count, 1)

  def _member_check(self, state: MemberState, x_train, y_train, x_val, y_val, step):
    if self.spec.check_size:
      x_train, y_train = x_train[:self.spec.check_size], y_train[:self.spec.check_size]
    logits = self.logits(state.params, x_train, state.model_state)
    train_acc, train_loss = accuracy(logits, y_train), cross_entropy(logits, y_train)
    if self.spec.stop_rule == "acc":
      met = train_acc >= 1.0 - self.spec.stop_eps
    elif self.spec.stop_rule == "loss":
      met = train_loss < self.spec.stop_eps
    else:
      met = jnp.bool_(False)
    converged_step = jnp.where((state.converged_step < 0) & met, step, state.converged_step)
    if x_val.shape[0]:
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
    return state, stats

  def _check(self, states, x_train, y_train, x_val, y_val, step):
    data_axis = None if self.shared_data else 0
    return jax.vmap(self._member_check, in_axes=(0,) + (data_axis,) * 4 + (None,))(
        states, x_train, y_train, x_val, y_val, step)

  def final_params(self, states: MemberState):
    return states.best_params if self.spec.select == "best_val" else states.params

  def final_model_state(self, states: MemberState):
    return states.best_model_state if self.spec.select == "best_val" else states.model_state


def init_members(trainer: Trainer, keys, x_train):
  """Stacked initial states, one per key (``x_train``: [members, n, ...], or [n, ...] when the
  trainer's data is shared)."""
  example = x_train[:1] if trainer.shared_data else x_train[0, :1]
  return jax.jit(jax.vmap(trainer.init, in_axes=(0, None)))(keys, example)


def fit(trainer: Trainer, states: MemberState, x_train, y_train, x_val, y_val,
        progress: bool = True, on_eval: Optional[Callable[[Dict], None]] = None,
        description: str = "train", checkpointer=None, resume: bool = False,
        unit: str = "ex"):
  """Trains every member until all have stopped or ``max_epochs`` is reached.

  ``on_eval`` receives one JSON-friendly record per check (per-member lists). Raises
  :class:`NonFiniteLossError` as soon as any member's loss is NaN/inf. With a
  ``checkpointer`` (``train.checkpoint.Checkpointer``) the state is saved periodically and at
  the end; ``resume=True`` continues from its latest checkpoint when there is one. The
  progress bar shows throughput as ``{unit}_per_s`` (examples, or images).
  Returns ``(states, history)``.
  """
  history: List[Dict] = []
  num_members = states.num_updates.shape[0]
  step, start = 0, time.perf_counter()
  if resume and checkpointer is not None and checkpointer.latest_step() is not None:
    step, states, history = checkpointer.restore(states)
    if history and _all_done(trainer, history[-1]):
      return states, history
  examples_per_update = num_members * trainer.spec.batch_size
  bar = tqdm(total=trainer.total_steps, initial=step, disable=not progress, unit="upd",
             desc=description, dynamic_ncols=True)
  while step < trainer.total_steps:
    segment_start, first_step = time.perf_counter(), step
    states, segment_loss = trainer.segment(states, x_train, y_train, jnp.int32(step))
    step = min(step + trainer.eval_every, trainer.total_steps)
    states, stats = trainer.check(states, x_train, y_train, x_val, y_val, jnp.int32(step))
    stats, segment_loss = jax.device_get((stats, segment_loss))
    bad = ~(np.isfinite(stats["train_loss"]) & np.isfinite(segment_loss))
    if bad.any():
      bar.close()
      raise NonFiniteLossError(
          f"training loss became NaN/inf at update {step} for member(s) "
          f"{np.flatnonzero(bad).tolist()}; lower optim.learning_rate or check the data.")
    record = {"step": step, "epoch": step / trainer.steps_per_epoch,
              "elapsed_s": time.perf_counter() - start,
              "segment_loss": segment_loss.tolist(),
              **{k: np.asarray(v).tolist() for k, v in stats.items()}}
    history.append(record)
    if on_eval is not None:
      on_eval(record)
    bar.update(step - bar.n)
    rate = examples_per_update * (step - first_step) / (time.perf_counter() - segment_start)
    bar.set_postfix(epoch=f"{record['epoch']:.1f}",
                    converged=f"{int(np.sum(stats['converged']))}/{num_members}",
                    min_train_acc=f"{float(np.min(stats['train_acc'])):.4f}",
                    **{f"{unit}_per_s": f"{rate:.0f}"})
    done = _all_done(trainer, record)
    if checkpointer is not None and (checkpointer.due(step) or done
                                     or step >= trainer.total_steps):
      checkpointer.save(step, states, history)
    if done:
      break
  bar.close()
  return states, history


def _all_done(trainer: Trainer, record: Dict) -> bool:
  return trainer.spec.stop_rule != "none" and bool(np.all(record["done"]))
