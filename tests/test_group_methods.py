"""K-member methods: group objectives against the same update computed by hand, read-outs and
the group evaluator against brute force, unlabelled pools, and a group run through the pipeline.

The hand computations loop over examples, pairs and classes one at a time (input gradients in
closed form, mutual information from its definition), so they share no code with the vmapped
objectives they check.
"""

import itertools

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
import pytest

from conftest import load_config, set_fields
from simplicity_bias import pipeline
from simplicity_bias.data import registry, synthetic
from simplicity_bias.data.registry import DataInfo
from simplicity_bias.evaluators import readouts
from simplicity_bias.evaluators.group import pairwise_disagreement
from simplicity_bias.members import layout
from simplicity_bias.metrics.classification import accuracy, cross_entropy
from simplicity_bias.models import get_model
from simplicity_bias.report.run import RunWriter
from simplicity_bias.train import objectives
from simplicity_bias.train.loop import Trainer, TrainSpec, fit, init_members
from simplicity_bias.validation import ConfigError

LR = 0.1
NUM_TRAIN = 16
POOL = 12


def _data(seed=0):
  spec = synthetic.lms(5, dim=6, sizes=(NUM_TRAIN, 8, 8))
  params = synthetic.stack_params([synthetic.default_params(spec)])
  return jax.vmap(lambda k, p: synthetic.make_dataset(spec, k, p))(
      jax.random.key(seed)[None], params)


def _pool(seed=7):
  return jax.random.uniform(jax.random.key(seed), (1, POOL, 6), minval=-1.0, maxval=1.0)


def _trainer(objective, group, epochs=1, activation="relu"):
  model = get_model("fcn", width=8, depth=1, activation=activation)
  spec = TrainSpec(batch_size=NUM_TRAIN, max_epochs=epochs, stop_rule="none", select="last")
  return Trainer(model, optax.sgd(LR), spec, NUM_TRAIN,
                 objective=objectives.build(ml_collections.ConfigDict(objective),
                                            group_size=group, has_pool=True),
                 members_per_dataset=group)


def _apply(model, params, x):
  return model.apply({"params": params}, x, train=False)


def _member(tree, k):
  return jax.tree_util.tree_map(lambda a: a[k], tree)


def _sgd(params, grads):
  return jax.tree_util.tree_map(lambda p, g: p - LR * g, params, grads)


def _close(a, b, atol=2e-6):
  for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)):
    np.testing.assert_allclose(np.asarray(x), np.asarray(y), atol=atol, rtol=0)


def _moved(a, b):
  return max(float(jnp.max(jnp.abs(x - y))) for x, y in
             zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)))


def _fit(trainer, group, pool=None, seed=1):
  data = _data()
  start = init_members(trainer, jax.random.split(jax.random.key(seed), group), data.x_train)
  states, history = fit(trainer, start, data.x_train, data.y_train, data.x_val, data.y_val,
                        progress=False, pool=pool)
  return data, start, states, history


# ----------------------------------------------------------------------------- objectives

def _tanh_input_gradients(params, x, y):
  """Closed form of grad_x log p(y | x) for the one-hidden-layer tanh FCN: with h = tanh(x W1 +
  b1) and p = softmax(h W2 + b2), it is W1 diag(1 - h^2) W2 (e_y - p)."""
  w1, b1 = params["Dense_0"]["kernel"], params["Dense_0"]["bias"]
  w2, b2 = params["Dense_1"]["kernel"], params["Dense_1"]["bias"]
  h = jnp.tanh(x @ w1 + b1)
  p = jax.nn.softmax(h @ w2 + b2, axis=-1)
  return (((jax.nn.one_hot(y, 2) - p) @ w2.T) * (1 - h ** 2)) @ w1.T


def test_orthogonal_gradients_update_equals_the_hand_computed_one():
  weight, group = 0.7, 3
  # tanh: the input gradient has a closed form (autodiff computes it in the objective), and no
  # example's gradient is exactly zero.
  trainer = _trainer({"name": "orthogonal_gradients", "weight": weight}, group,
                     activation="tanh")
  data, start, states, _ = _fit(trainer, group)
  model = trainer.model
  x, y = data.x_train[0], data.y_train[0]

  def loss(params):
    total = sum(cross_entropy(_apply(model, _member(params, k), x), y) for k in range(group))
    grads = [_tanh_input_gradients(_member(params, k), x, y) for k in range(group)]
    cos2 = []
    for a, b in itertools.combinations(range(group), 2):
      ga, gb = grads[a], grads[b]
      per_example = jnp.einsum("nd,nd->n", ga, gb) ** 2 / (
          jnp.einsum("nd,nd->n", ga, ga) * jnp.einsum("nd,nd->n", gb, gb))
      cos2.append(jnp.mean(per_example))
    return total + weight * sum(cos2) / len(cos2)

  expected = _sgd(start.params, jax.grad(loss)(start.params))
  _close(states.params, expected)
  plain = jax.grad(lambda p: sum(cross_entropy(_apply(model, _member(p, k), x), y)
                                 for k in range(group)))(start.params)
  assert _moved(states.params, _sgd(start.params, plain)) > 1e-5  # the penalty did act


def test_orthogonal_gradients_stay_finite_when_an_input_gradient_vanishes():
  # With ReLU units and these seeds, an example has every hidden unit off for member 0 (its
  # input gradient is exactly zero): a 0/0 there once made every parameter NaN.
  trainer = _trainer({"name": "orthogonal_gradients"}, 3, epochs=3)
  data, start, states, _ = _fit(trainer, 3)
  x, y = data.x_train[0], data.y_train[0]
  from simplicity_bias.train.orthogonal import input_gradients
  grads = input_gradients(trainer.forward, _member(start.params, 0), {}, x, y)
  assert float(jnp.min(jnp.sum(grads ** 2, axis=-1))) == 0.0
  assert all(bool(jnp.all(jnp.isfinite(a))) for a in jax.tree_util.tree_leaves(states.params))


def _class1_probs(model, params, x):
  return jax.nn.softmax(_apply(model, params, x), axis=-1)[:, 1]


def test_dbat_trains_members_in_turn_against_the_frozen_earlier_one():
  alpha, epochs = 2.0, 2  # one full-batch update per epoch: 2 updates per member
  trainer = _trainer({"name": "dbat", "alpha": alpha, "pool_batch_size": POOL}, 2, epochs)
  pool = _pool()
  data, start, states, history = _fit(trainer, 2, pool)
  model = trainer.model
  x, y, u = data.x_train[0], data.y_train[0], pool[0]
  assert trainer.total_steps == 2 * epochs
  # Updates 0-1: member 0 alone (plain cross-entropy); member 1 waits at its initialisation.
  first = _member(start.params, 0)
  for _ in range(epochs):
    first = _sgd(first, jax.grad(lambda p: cross_entropy(_apply(model, p, x), y))(first))
  _close(_member(states.params, 0), first)
  assert [r["num_updates"] for r in history] == [[1, 0], [2, 0], [2, 1], [2, 2]]
  # Updates 2-3: member 1 with the disagreement term on the pool against the frozen member 0.
  p_first = _class1_probs(model, first, u)

  def loss(p):
    q = _class1_probs(model, p, u)
    disagree = [-jnp.log(p_first[i] * (1 - q[i]) + (1 - p_first[i]) * q[i] + 1e-7)
                for i in range(POOL)]
    return cross_entropy(_apply(model, p, x), y) + alpha * sum(disagree) / POOL

  second = _member(start.params, 1)
  for _ in range(epochs):
    second = _sgd(second, jax.grad(loss)(second))
  _close(_member(states.params, 1), second)


def test_divdis_update_equals_the_hand_computed_one():
  mi_weight, reg_weight, group = 1.5, 0.5, 3
  trainer = _trainer({"name": "divdis", "mi_weight": mi_weight, "reg_weight": reg_weight,
                      "pool_batch_size": POOL}, group)
  pool = _pool()
  data, start, states, _ = _fit(trainer, group, pool)
  model = trainer.model
  x, y, u = data.x_train[0], data.y_train[0], pool[0]
  prior = [float(np.mean(np.asarray(y) == c)) for c in range(2)]

  def loss(params):
    probs = [jax.nn.softmax(_apply(model, _member(params, k), u), axis=-1) for k in range(group)]
    total = sum(cross_entropy(_apply(model, _member(params, k), x), y) for k in range(group))
    for a, b in itertools.combinations(range(group), 2):
      joint = [[jnp.mean(probs[a][:, i] * probs[b][:, j]) for j in range(2)] for i in range(2)]
      pa = [joint[i][0] + joint[i][1] for i in range(2)]
      pb = [joint[0][j] + joint[1][j] for j in range(2)]
      total += mi_weight * sum(joint[i][j] * jnp.log(joint[i][j] / (pa[i] * pb[j]))
                               for i in range(2) for j in range(2))
    for k in range(group):
      q = jnp.mean(probs[k], axis=0)
      total += reg_weight * sum(q[c] * jnp.log(q[c] / prior[c]) for c in range(2))
    return total

  expected = _sgd(start.params, jax.grad(loss)(start.params))
  _close(states.params, expected, atol=1e-5)


def test_group_objectives_check_what_they_need():
  with pytest.raises(ConfigError, match="group_size"):
    objectives.build("orthogonal_gradients", group_size=1)
  with pytest.raises(ConfigError, match="data.pool"):
    objectives.build("dbat", group_size=2, has_pool=False)
  with pytest.raises(ConfigError, match="two classes"):
    objectives.build("dbat", DataInfo("x", "image", num_classes=10), 2, True)
  trainer = _trainer({"name": "divdis", "pool_batch_size": POOL + 1}, 2)
  with pytest.raises(ConfigError, match="pool_size"):
    _fit(trainer, 2, _pool())


# ----------------------------------------------------------------------------- read-outs

def _linear_predict(variables, x):
  return x @ variables["w"] + variables["b"]


def test_readouts_match_brute_force():
  rng = np.random.default_rng(0)
  k, n, d, c = 4, 20, 3, 3
  group = {"w": jnp.asarray(rng.normal(size=(k, d, c)), jnp.float32),
           "b": jnp.asarray(rng.normal(size=(k, c)), jnp.float32)}
  x = jnp.asarray(rng.normal(size=(n, d)), jnp.float32)
  logits = np.stack([np.asarray(x) @ np.asarray(group["w"][j]) + np.asarray(group["b"][j])
                     for j in range(k)])
  probs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
  votes, votes3 = np.zeros((n, c)), np.zeros((n, c))
  for j in range(k):
    for i in range(n):
      votes[i, logits[j, i].argmax()] += 1.0 / k
      if j < 3:
        votes3[i, logits[j, i].argmax()] += 1.0 / 3
  expected = {"mean_logits": logits.mean(0), "mean_probs": np.log(probs.mean(0)),
              "vote": votes, "prefix:2": logits[:2].mean(0), "member:3": logits[3],
              "head:1": logits[1], "mean_logits:3": logits[:3].mean(0),
              "mean_probs:2": np.log(probs[:2].mean(0)), "vote:3": votes3}
  for spec, want in expected.items():
    readouts.parse(spec, k)
    got = readouts.group_predict(spec, _linear_predict)(group, x)
    np.testing.assert_allclose(np.asarray(got), want, atol=1e-5, err_msg=spec)
  assert readouts.group_predict("vote", _linear_predict) is readouts.group_predict(
      "vote", _linear_predict)  # cached: evaluations of the same read-out compile once


@pytest.mark.parametrize("spec,match", [("member:2", "does not exist"), ("prefix:0", "k=0"),
                                        ("prefix:3", "k=3"), ("median", "unknown"),
                                        ("vote:3", "k=3"), ("mean_probs:0", "k=0"),
                                        ("member:x", "unknown")])
def test_readout_errors(spec, match):
  with pytest.raises(ConfigError, match=match):
    readouts.parse(spec, 2)


def test_disagreement_is_the_mean_pairwise_rate():
  rng = np.random.default_rng(1)
  logits = rng.normal(size=(3, 50, 2))
  pred = logits.argmax(-1)
  rates = [np.mean(pred[a] != pred[b]) for a, b in [(0, 1), (0, 2), (1, 2)]]
  assert float(pairwise_disagreement(jnp.asarray(logits))) == pytest.approx(np.mean(rates))
  assert float(pairwise_disagreement(jnp.asarray(logits[[0, 0]]))) == 0.0


# ----------------------------------------------------------------------------- pools and runs

def _lms5(**fields):
  config = load_config("lms5", "smoke")
  config.num_seeds = 2
  config.data.num_train, config.data.num_val, config.data.num_test = 400, 100, 200
  config.train.max_epochs = 2
  config.evals = ("sb",)
  return set_fields(config, **fields)


def test_decorrelated_pool_permutes_only_s_of_the_same_draw():
  lay = layout(0, 2)
  kept = registry.build(_lms5(**{"data.pool": "in_distribution", "data.pool_size": 300}), lay)
  mixed = registry.build(_lms5(**{"data.pool": "decorrelated", "data.pool_size": 300}), lay)
  plain = registry.build(_lms5(), lay)
  assert plain.pool is None and kept.pool.shape == (2, 300, 50)
  np.testing.assert_array_equal(np.asarray(kept.x_train), np.asarray(plain.x_train))
  info = kept.info
  for d in range(2):
    rot = np.asarray(kept.rotation[d])
    z_kept, z_mixed = np.asarray(kept.pool[d]) @ rot.T, np.asarray(mixed.pool[d]) @ rot.T
    s = list(info.simple)
    rest = [j for j in range(50) if j not in s]
    np.testing.assert_allclose(z_mixed[:, rest], z_kept[:, rest], atol=1e-5)
    np.testing.assert_allclose(np.sort(z_mixed[:, s[0]]), np.sort(z_kept[:, s[0]]), atol=1e-5)
    assert np.mean(np.abs(z_mixed[:, s[0]] - z_kept[:, s[0]]) > 1e-4) > 0.9
    # In distribution S agrees with the slabs' label; decorrelated, half the time. The label of
    # a pool point is read off the in-distribution S (LMS: sign of the linear coordinate).
    agree = np.mean(np.sign(z_mixed[:, s[0]]) == np.sign(z_kept[:, s[0]]))
    assert 0.4 < agree < 0.6, agree
    # Drawn apart from the splits: no pool point is a training point.
    train_z = np.asarray(kept.x_train[d]) @ rot.T
    assert not np.isin(z_kept[:, rest[0]].round(6), train_z[:, rest[0]].round(6)).any()


def test_pool_settings_are_checked_before_anything_compiles():
  with pytest.raises(ConfigError, match="pool_size"):
    pipeline.validate_cell(_lms5(**{"data.pool": "decorrelated"}))
  with pytest.raises(ConfigError, match="without data.pool"):
    pipeline.validate_cell(_lms5(**{"data.pool_size": 10}))
  with pytest.raises(ConfigError, match="data.pool="):
    pipeline.validate_cell(_lms5(**{"data.pool": "novel", "data.pool_size": 10}))
  with pytest.raises(ConfigError, match="group_size >= 2"):
    pipeline.validate_cell(_lms5(**{"evals": ("sb@mean_logits",)}))
  with pytest.raises(ConfigError, match="read-out"):
    pipeline.validate_cell(_lms5(**{"members.group_size": 2, "evals": ("sb@member:2",)}))
  with pytest.raises(ConfigError, match="group_size"):
    pipeline.validate_cell(_lms5(**{"objective.name": "divdis", "data.pool": "decorrelated",
                                    "data.pool_size": 10}))


@pytest.mark.slow
def test_a_group_run_reads_each_group_out_on_its_own_seed():
  config = _lms5(**{"members.group_size": 3, "objective.name": "divdis",
                    "data.pool": "decorrelated", "data.pool_size": 400,
                    "evals": ("sb", "sb@mean_logits", "sb@member:2", "disagreement")})
  pipeline.validate_cell(config)
  outcome = pipeline.run_cell(config, RunWriter("", config, write=False), progress=False)
  assert outcome.layout.num_members == 6 and outcome.layout.slots == 3
  data, trainer = outcome.data, outcome.trainer
  for g in range(2):  # group g = seed g: members 3g..3g+2, dataset g
    logits = [trainer.predict(_member(outcome.variables, 3 * g + j), data.x_test[g])
              for j in range(3)]
    mean = sum(logits) / 3
    assert float(outcome.evals["test_acc@mean_logits"][g]) == pytest.approx(
        float(accuracy(mean, data.y_test[g])), abs=1e-6)
    assert float(outcome.evals["test_acc@member:2"][g]) == pytest.approx(
        float(outcome.evals["test_acc"][3 * g + 2]), abs=1e-6)
    pred = [np.asarray(lg).argmax(-1) for lg in logits]
    rate = np.mean([np.mean(pred[a] != pred[b]) for a, b in [(0, 1), (0, 2), (1, 2)]])
    assert float(outcome.evals["disagreement@group"][g]) == pytest.approx(rate, abs=1e-6)
  rows = pipeline.point_rows(pipeline.Cell("", {}, config), outcome)
  summary = rows[0]["summary"]
  assert len(rows) == 1 and rows[0]["per_seed"]["test_acc@mean_logits"] == pytest.approx(
      np.asarray(outcome.evals["test_acc@mean_logits"]).tolist())
  assert rows[0]["per_seed"]["test_acc@member_mean"] == pytest.approx(
      np.asarray(outcome.evals["test_acc"]).reshape(2, 3).mean(1).tolist())
  assert {"disagreement@group", "s_rand_disagreement@group", "train_acc@member_mean"} <= set(
      summary)


def _one_member_update(objective):
  """(model, first batch x, y, initial and updated parameters) of one member trained for one
  full-batch update with ``objective``."""
  model = get_model("fcn", width=8, depth=1)
  spec = TrainSpec(batch_size=NUM_TRAIN, max_epochs=1, stop_rule="none", select="last")
  trainer = Trainer(model, optax.sgd(LR), spec, NUM_TRAIN,
                    objective=objectives.build(ml_collections.ConfigDict(objective)))
  data, start, states, _ = _fit(trainer, 1)
  return (model, data.x_train[0], data.y_train[0], _member(start.params, 0),
          _member(states.params, 0))


def test_spectral_decoupling_update_equals_the_hand_computed_one():
  weight = 0.3
  model, x, y, p0, p1 = _one_member_update({"name": "spectral_decoupling", "weight": weight})

  def loss(p):
    logits = _apply(model, p, x)
    squares = sum(logits[i, c] ** 2 for i in range(NUM_TRAIN) for c in range(2))
    return cross_entropy(logits, y) + weight * squares / (2 * NUM_TRAIN)

  _close(p1, _sgd(p0, jax.grad(loss)(p0)))


def test_sam_update_follows_the_gradient_at_the_worst_nearby_weights():
  rho = 0.2
  model, x, y, p0, p1 = _one_member_update({"name": "sam", "rho": rho})
  loss = lambda p: cross_entropy(_apply(model, p, x), y)
  g = jax.grad(loss)(p0)
  norm = np.sqrt(sum(float(np.sum(np.asarray(leaf, np.float64) ** 2))
                     for leaf in jax.tree_util.tree_leaves(g)))
  worst = jax.tree_util.tree_map(lambda p, d: p + rho * d / norm, p0, g)
  expected = _sgd(p0, jax.grad(loss)(worst))
  _close(p1, expected)
  # The step differs from plain SGD's by more than the tolerance (the check can fail).
  assert _moved(expected, _sgd(p0, g)) > 1e-4
