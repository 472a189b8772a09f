"""The vmapped trainer: equivalence with per-member runs, masking, stop rule, compilation."""

import itertools
import types

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from simplicity_bias.data import synthetic
from simplicity_bias.metrics.classification import accuracy
from simplicity_bias.models import get_model
from simplicity_bias.train import loop as loop_module
from simplicity_bias.train.loop import Trainer, TrainSpec, fit, init_members
from simplicity_bias.train.optimizers import make_optimizer
from simplicity_bias.validation import ConfigError, NonFiniteLossError

NUM_MEMBERS = 3


def _data(num_members=NUM_MEMBERS, num_train=1024, seed=0):
  spec = synthetic.lms(5, dim=10, sizes=(num_train, 256, 256), rotate=True)
  params = synthetic.stack_params([synthetic.default_params(spec)] * num_members)
  keys = jax.random.split(jax.random.key(seed), num_members)
  return jax.jit(jax.vmap(lambda k, p: synthetic.make_dataset(spec, k, p)))(keys, params)


def _trainer(num_train=1024, dropout=0.0, lr=0.1, **spec_kwargs):
  model = get_model("fcn", width=32, depth=2, dropout=dropout)
  spec = TrainSpec(**{"batch_size": 64, "max_epochs": 4, "stop_rule": "none", **spec_kwargs})
  return Trainer(model, make_optimizer("sgd", lr, momentum=0.9, weight_decay=1e-3), spec,
                 num_train)


def _fit(trainer, data, keys):
  states = init_members(trainer, keys, data.x_train)
  return fit(trainer, states, data.x_train, data.y_train, data.x_val, data.y_val, progress=False)


def _take(tree, i):
  return jax.tree_util.tree_map(lambda a: a[i:i + 1], tree)


def _assert_trees_close(a, b, atol=1e-5):
  for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)):
    np.testing.assert_allclose(np.asarray(x), np.asarray(y), atol=atol, rtol=0)


@pytest.mark.parametrize("stop_rule,dropout", [("none", 0.1), ("acc", 0.0)])
def test_vmapped_members_equal_separate_runs(stop_rule, dropout):
  """N members trained together == N single-member runs with the same keys (incl. masking)."""
  data = _data()
  keys = jax.random.split(jax.random.key(1), NUM_MEMBERS)
  trainer = _trainer(dropout=dropout, stop_rule=stop_rule, stop_eps=0.02, eval_every=2,
                     max_epochs=6)
  joint, _ = _fit(trainer, data, keys)
  if stop_rule == "acc":
    # The members must stop at different times for the masking to be exercised.
    updates = np.asarray(joint.num_updates)
    assert np.all(np.asarray(joint.converged_step) >= 0)
    assert len(set(updates.tolist())) > 1, updates
  for i in range(NUM_MEMBERS):
    alone, _ = _fit(trainer, _take(data, i), keys[i:i + 1])  # same static config, 1 member
    _assert_trees_close(_take(joint.params, i), alone.params)
    assert int(joint.num_updates[i]) == int(alone.num_updates[0])


def test_converged_members_stop_after_patience():
  """A member stops exactly `patience` updates after the check that saw it converge."""
  data = _data()
  keys = jax.random.split(jax.random.key(2), NUM_MEMBERS)
  trainer = _trainer(stop_rule="acc", stop_eps=0.05, eval_every=4, patience=5, max_epochs=10)
  states, history = _fit(trainer, data, keys)
  converged = np.asarray(states.converged_step)
  assert np.all(converged > 0)
  np.testing.assert_array_equal(np.asarray(states.num_updates), converged + 5)
  assert history[-1]["step"] < trainer.total_steps  # the loop ended early: everyone was done


@pytest.mark.slow
def test_results_do_not_depend_on_how_the_run_is_segmented():
  """Shuffles and dropout keys depend on (epoch, update), not on the check interval."""
  data = _data(num_members=2)
  keys = jax.random.split(jax.random.key(3), 2)
  a, history_a = _fit(_trainer(dropout=0.2, eval_every=16), data, keys)
  b, _ = _fit(_trainer(dropout=0.2, eval_every=5), data, keys)
  _assert_trees_close(a.params, b.params, atol=1e-6)
  # Segments of 16 updates run as compiled calls of 3 (the last one 1): the same run.
  chunked = _trainer(dropout=0.2, eval_every=16, scan_length=3)
  assert chunked.scan_length == 3
  c, history_c = _fit(chunked, data, keys)
  _assert_trees_close(a.params, c.params, atol=1e-6)
  np.testing.assert_allclose(history_a[-1]["segment_loss"], history_c[-1]["segment_loss"],
                             rtol=1e-5)
  assert chunked._chunk._cache_size() == 2  # lengths 3 and 1


def test_training_is_deterministic():
  data = _data(num_members=2)
  keys = jax.random.split(jax.random.key(4), 2)
  a, _ = _fit(_trainer(dropout=0.1), data, keys)
  b, _ = _fit(_trainer(dropout=0.1), data, keys)
  for x, y in zip(jax.tree_util.tree_leaves(a.params), jax.tree_util.tree_leaves(b.params)):
    np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def test_segment_compiles_once_and_moves_no_data_to_host():
  """Many segments, one trace each; a segment runs under transfer_guard('disallow')."""
  data = _data(num_members=2)
  trainer = _trainer(eval_every=3)
  states = init_members(trainer, jax.random.split(jax.random.key(5), 2), data.x_train)
  states, _ = fit(trainer, states, data.x_train, data.y_train, data.x_val, data.y_val,
                  progress=False)
  assert trainer._chunk._cache_size() == 1
  # Two check programs: one reads the running statistics, one passes over the training set.
  assert trainer.check._cache_size() == 2
  step = jax.device_put(jnp.int32(7))
  with jax.transfer_guard("disallow"):
    states, loss = trainer.segment(states, data.x_train, data.y_train, step)
    states, stats = trainer.check(states, data.x_train, data.y_train, data.x_val, data.y_val,
                                  step)
  assert trainer._chunk._cache_size() == 1


def test_best_validation_selection():
  """select='best_val' returns the parameters of the check with the highest validation acc."""
  data = _data(num_members=2)
  trainer = _trainer(eval_every=2, select="best_val", lr=0.5)
  states, history = _fit(trainer, data, jax.random.split(jax.random.key(6), 2))
  best = np.max([h["val_acc"] for h in history], axis=0)
  final = trainer.final_params(states)
  for i in range(2):
    params = jax.tree_util.tree_map(lambda a: a[i], final)
    val_acc = accuracy(trainer.logits(params, data.x_val[i]), data.y_val[i])
    np.testing.assert_allclose(float(val_acc), best[i], atol=1e-6)


def test_nan_loss_stops_with_a_message():
  data = _data(num_members=2)
  trainer = _trainer(lr=1e12, eval_every=2)
  with pytest.raises(NonFiniteLossError, match="NaN/inf"):
    _fit(trainer, data, jax.random.split(jax.random.key(7), 2))


def test_chunked_evaluation_matches_direct_apply():
  data = _data(num_members=1)
  trainer = _trainer(eval_batch_size=100)  # 1024 rows -> 11 chunks, the last one padded
  state = trainer.init(jax.random.key(8), data.x_train[0, :1])
  direct = trainer.model.apply({"params": state.params}, data.x_train[0], train=False)
  np.testing.assert_allclose(np.asarray(trainer.logits(state.params, data.x_train[0])),
                             np.asarray(direct), atol=1e-5)


def test_sgd_coupled_weight_decay_and_momentum_by_hand():
  """One optimizer = PyTorch SGD: v = mu v + (g + wd theta); theta -= lr v."""
  lr, mu, wd = 0.1, 0.9, 0.01
  tx = make_optimizer("sgd", lr, momentum=mu, weight_decay=wd)
  theta = {"w": jnp.array([1.0, -2.0])}
  grads = [{"w": jnp.array([0.5, 0.25])}, {"w": jnp.array([-1.0, 2.0])}]
  state = tx.init(theta)
  ref_theta, v = np.array([1.0, -2.0]), np.zeros(2)
  for g in grads:
    updates, state = tx.update(g, state, theta)
    theta = optax.apply_updates(theta, updates)
    v = mu * v + (np.asarray(g["w"]) + wd * ref_theta)
    ref_theta = ref_theta - lr * v
  np.testing.assert_allclose(np.asarray(theta["w"]), ref_theta, rtol=1e-6)


def test_pytorch_default_init_bounds():
  """Weights and biases ~ Unif(+-1/sqrt(fan_in)), as the original used."""
  model = get_model("fcn", width=400, depth=1, init="pytorch")
  params = model.init(jax.random.key(0), jnp.zeros((1, 50)))["params"]
  layers = sorted(params)
  for name, fan_in in zip(layers, (50, 400)):
    for leaf in ("kernel", "bias"):
      values = np.asarray(params[name][leaf])
      bound = 1.0 / np.sqrt(fan_in)
      assert np.all(np.abs(values) <= bound)
      if values.size > 1000:
        np.testing.assert_allclose(values.std(), bound / np.sqrt(3), rtol=0.05)
  flax_default = get_model("fcn", width=400, depth=1, init="flax").init(
      jax.random.key(0), jnp.zeros((1, 50)))["params"]
  assert np.all(np.asarray(flax_default[layers[0]]["bias"]) == 0)


def test_bad_training_settings_are_rejected():
  with pytest.raises(ConfigError, match="batch_size"):
    _trainer(num_train=100, batch_size=256)
  with pytest.raises(ConfigError, match="stop_rule"):
    _trainer(stop_rule="sometimes")
  with pytest.raises(ConfigError, match="optim.name"):
    make_optimizer("lbfgs", 0.1)


class _Killed(Exception):
  pass


@pytest.mark.slow
def test_killed_run_resumes_to_the_same_final_state(tmp_path, monkeypatch):
  """Kill after a few checks, resume from the orbax checkpoint: bit-identical to no kill."""
  from simplicity_bias.train.checkpoint import Checkpointer
  data = _data(num_members=2)
  keys = jax.random.split(jax.random.key(9), 2)
  trainer = _trainer(dropout=0.1, eval_every=4, stop_rule="acc", stop_eps=0.02, max_epochs=6)
  straight, straight_history = _fit(trainer, data, keys)

  def kill_at_step_12(record):
    if record["step"] >= 12:
      raise _Killed()

  fresh = init_members(trainer, keys, data.x_train)
  # every_s=0: a checkpoint at every check (updates 4 and 8); the kill comes at the check of
  # update 12, before its checkpoint is written.
  with pytest.raises(_Killed):
    fit(trainer, fresh, data.x_train, data.y_train, data.x_val, data.y_val, progress=False,
        on_eval=kill_at_step_12, checkpointer=Checkpointer(str(tmp_path), every_s=0))
  checkpointer = Checkpointer(str(tmp_path), every_s=0)
  assert checkpointer.latest_step() == 8  # saved before the kill at update 12
  # The resumed segment runs on a clock that barely moves: its checks' elapsed_s can only exceed
  # the first segment's if the clock continues from the restored history.
  ticks = itertools.count()
  clock = types.SimpleNamespace(perf_counter=lambda: next(ticks) * 1e-9)
  monkeypatch.setattr(loop_module, "time", clock)
  resumed, history = fit(trainer, init_members(trainer, keys, data.x_train), data.x_train,
                         data.y_train, data.x_val, data.y_val, progress=False,
                         checkpointer=checkpointer, resume=True)
  monkeypatch.undo()
  for x, y in zip(jax.tree_util.tree_leaves(straight), jax.tree_util.tree_leaves(resumed)):
    if jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):
      x, y = jax.random.key_data(x), jax.random.key_data(y)
    np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
  assert [h["step"] for h in history] == [h["step"] for h in straight_history]
  elapsed = [h["elapsed_s"] for h in history]
  assert elapsed == sorted(elapsed) and elapsed[-1] > elapsed[1]  # one clock over both segments
