"""Objectives: the trainer runs what an objective says, checked against the same update by hand.

Three test-only objectives show that the interface expresses what later methods need: a batch
transform inside the compiled step (the shape of PGD adversarial training), a loss over a group
of members trained on one batch (diversity objectives), and per-member inputs that are not
trained (a fixed projection, a frozen reference model).
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from simplicity_bias.data import synthetic
from simplicity_bias.metrics.classification import cross_entropy
from simplicity_bias.models import get_model
from simplicity_bias.train.loop import Trainer, TrainSpec, fit, init_members
from simplicity_bias.train.objectives import Objective, build, hinge_loss
from simplicity_bias.validation import ConfigError

LR = 0.1
NUM_TRAIN = 64
BATCH = 64  # one full batch per update: the batch is known without replaying the shuffle


def _data(num_datasets):
  spec = synthetic.lms(5, dim=6, sizes=(NUM_TRAIN, 16, 16))
  params = synthetic.stack_params([synthetic.default_params(spec)] * num_datasets)
  keys = jax.random.split(jax.random.key(0), num_datasets)
  return jax.vmap(lambda k, p: synthetic.make_dataset(spec, k, p))(keys, params)


def _trainer(objective, members_per_dataset=1, epochs=1):
  model = get_model("fcn", width=8, depth=1)
  spec = TrainSpec(batch_size=BATCH, max_epochs=epochs, stop_rule="none", select="last")
  return Trainer(model, optax.sgd(LR), spec, NUM_TRAIN, objective=objective,
                 members_per_dataset=members_per_dataset)


def _apply(model, params, x):
  return model.apply({"params": params}, x, train=False)


def _sgd(params, grads):
  return jax.tree_util.tree_map(lambda p, g: p - LR * g, params, grads)


def _close(a, b, atol=1e-6):
  for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)):
    np.testing.assert_allclose(np.asarray(x), np.asarray(y), atol=atol, rtol=0)


def _far(a, b, at_least=1e-4):
  diff = max(float(jnp.max(jnp.abs(x - y))) for x, y in
             zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)))
  assert diff > at_least, diff


# ----------------------------------------------------------------------------- a batch transform

EPS = 0.3


def _fgsm(inputs):
  """One signed gradient step on the input: the shape of a PGD attack (test-only objective)."""
  forward, params, model_state, x, y = inputs[:5]
  loss = lambda xx: cross_entropy(forward(params, model_state, xx, train=False)[0], y)
  return x + EPS * jnp.sign(jax.grad(loss)(x))


@pytest.mark.slow
def test_batch_transform_replaces_the_batch_inside_the_step():
  data = _data(2)
  trainer = _trainer(Objective("fgsm_test", transform=_fgsm))
  keys = jax.random.split(jax.random.key(1), 2)
  start = init_members(trainer, keys, data.x_train)
  states, _ = fit(trainer, start, data.x_train, data.y_train, data.x_val, data.y_val,
                  progress=False)
  model = trainer.model
  for m in range(2):
    params = jax.tree_util.tree_map(lambda a: a[m], start.params)
    x, y = data.x_train[m], data.y_train[m]
    grad_x = jax.grad(lambda xx: cross_entropy(_apply(model, params, xx), y))(x)
    x_adv = x + EPS * jnp.sign(grad_x)
    grads = jax.grad(lambda p: cross_entropy(_apply(model, p, x_adv), y))(params)
    _close(jax.tree_util.tree_map(lambda a: a[m], states.params), _sgd(params, grads))
    # ... and not the clean update: the transform did change the step.
    clean = jax.grad(lambda p: cross_entropy(_apply(model, p, x), y))(params)
    _far(jax.tree_util.tree_map(lambda a: a[m], states.params), _sgd(params, clean))


# ----------------------------------------------------------------------------- a group loss

LAMBDA = 2.0


def _agreement(inputs):
  """λ · mean over the batch of p_0 · p_1: how much two members agree (test-only penalty)."""
  probs = jax.nn.softmax(inputs.logits, axis=-1)            # [2, batch, classes]
  return LAMBDA * jnp.mean(jnp.sum(probs[0] * probs[1], axis=-1))


@pytest.mark.slow
def test_group_penalty_gradients_reach_every_member_of_the_group():
  data = _data(2)                       # two groups of two members, one dataset per group
  objective = Objective("agree_test", group_size=2, group_penalty=_agreement)
  trainer = _trainer(objective, members_per_dataset=2)
  keys = jax.random.split(jax.random.key(2), 4)
  start = init_members(trainer, keys, data.x_train)
  states, history = fit(trainer, start, data.x_train, data.y_train, data.x_val, data.y_val,
                        progress=False)
  model = trainer.model
  for g in range(2):
    x, y = data.x_train[g], data.y_train[g]
    pair = jax.tree_util.tree_map(lambda a: a[2 * g:2 * g + 2], start.params)

    def total(params):
      logits = jax.vmap(lambda p: _apply(model, p, x))(params)
      ce = jax.vmap(lambda lg: cross_entropy(lg, y))(logits)
      probs = jax.nn.softmax(logits, axis=-1)
      return jnp.sum(ce) + LAMBDA * jnp.mean(jnp.sum(probs[0] * probs[1], axis=-1))

    grads = jax.grad(total)(pair)
    expected = _sgd(pair, grads)
    got = jax.tree_util.tree_map(lambda a: a[2 * g:2 * g + 2], states.params)
    _close(got, expected)
    # The penalty's gradient is non-zero for both members: without it each would differ.
    for j in range(2):
      alone = jax.tree_util.tree_map(lambda a: a[j], pair)
      ce_only = jax.grad(lambda p: cross_entropy(_apply(model, p, x), y))(alone)
      _far(jax.tree_util.tree_map(lambda a: a[j], got), _sgd(alone, ce_only))
  assert len(history[-1]["segment_loss"]) == 4


def test_group_without_penalty_equals_independent_members():
  data = _data(2)
  zero = lambda inputs: 0.0
  grouped = _trainer(Objective("zero_test", group_size=2, group_penalty=zero),
                     members_per_dataset=2, epochs=3)
  plain = _trainer(Objective("erm"), members_per_dataset=2, epochs=3)
  keys = jax.random.split(jax.random.key(3), 4)
  a, _ = fit(grouped, init_members(grouped, keys, data.x_train), data.x_train, data.y_train,
             data.x_val, data.y_val, progress=False)
  b, _ = fit(plain, init_members(plain, keys, data.x_train), data.x_train, data.y_train,
             data.x_val, data.y_val, progress=False)
  _close(a.params, b.params, atol=1e-6)


def test_group_members_must_share_a_dataset():
  with pytest.raises(ConfigError, match="share a dataset"):
    _trainer(Objective("g", group_size=2, group_penalty=_agreement), members_per_dataset=1)
  with pytest.raises(ConfigError, match="group_size"):
    Objective("g", group_penalty=_agreement).check_group()
  with pytest.raises(ConfigError, match="group_size"):
    _trainer(Objective("g", group_penalty=_agreement))


# ----------------------------------------------------------------------------- non-trained inputs


def _frozen_reference(inputs):
  """Pulls the model's logits towards a frozen reference model's (given in ``aux``) after a
  fixed projection of the inputs (also in ``aux``): both are inputs, neither is trained."""
  forward, model_state, x, aux, logits = (inputs.forward, inputs.model_state, inputs.x,
                                          inputs.aux, inputs.logits)
  ref_logits, _ = forward(aux["reference"], model_state, x @ aux["projection"], train=False)
  return jnp.mean((logits - ref_logits) ** 2)


def test_auxiliary_inputs_enter_the_loss_and_stay_fixed():
  data = _data(2)
  trainer = _trainer(Objective("ref_test", penalty=_frozen_reference))
  keys = jax.random.split(jax.random.key(4), 2)
  start = init_members(trainer, keys, data.x_train)
  reference = init_members(trainer, jax.random.split(jax.random.key(5), 2), data.x_train).params
  projection = jnp.stack([jnp.eye(6), jnp.diag(jnp.arange(1.0, 7.0))])  # per member
  aux = {"reference": reference, "projection": projection}
  states, _ = fit(trainer, start, data.x_train, data.y_train, data.x_val, data.y_val,
                  progress=False, aux=aux)
  model = trainer.model
  for m in range(2):
    p0 = jax.tree_util.tree_map(lambda a: a[m], start.params)
    ref = jax.tree_util.tree_map(lambda a: a[m], reference)
    x, y = data.x_train[m], data.y_train[m]
    ref_logits = _apply(model, ref, x @ projection[m])
    loss = lambda p: cross_entropy(_apply(model, p, x), y) + jnp.mean(
        (_apply(model, p, x) - ref_logits) ** 2)
    _close(jax.tree_util.tree_map(lambda a: a[m], states.params), _sgd(p0, jax.grad(loss)(p0)))
  assert aux["reference"] is reference  # handed in, never updated


# ----------------------------------------------------------------------------- the registry


def test_registry_builds_named_objectives():
  assert build("erm").loss is cross_entropy
  assert build("hinge").loss is hinge_loss
  with pytest.raises(ConfigError, match="valid objectives"):
    build("no_such_objective")


def test_hinge_loss_closed_form():
  logits = jnp.array([[0.0, 2.0], [0.0, 0.5], [0.0, -0.3]])
  y = jnp.array([1, 1, 0])
  # s·f = 2, 0.5, 0.3  ->  max(0, 1 - s·f) = 0, 0.5, 0.7
  np.testing.assert_allclose(hinge_loss(logits, y), (0 + 0.5 + 0.7) / 3, rtol=1e-6)
