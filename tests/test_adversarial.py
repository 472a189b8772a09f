"""Adversarial training (attacks/training.py), the robustness evaluators
(evaluators/robustness.py) and the adversarial experiments' `:smoke` runs.

The objective is checked against the same update computed by hand (PGD written out step by step,
then one SGD step on the perturbed batch); an ε grid trained as members of one program against
one run per ε; ε = 0 against ERM. The evaluators are checked on linear models, whose worst
perturbations are known in closed form: over the l2 ball of radius ε the signed margin of
``f(x) = w.x + b`` drops by exactly ε ||w||_2 (l∞: ε ||w||_1), along ``-s w / ||w||``, which is
also the optimal label-signed universal perturbation; a model that reads S only is attacked on S
only. Compile time dominates on a CPU, so the models are tiny and each program is built once
(module-scoped fixtures) and checked several ways.
"""

import json
import os

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from conftest import REPO, ledger_claims, load_config, smoke_params
from simplicity_bias import evaluators
from simplicity_bias.attacks import training
from simplicity_bias.data import synthetic
from simplicity_bias.data.registry import DataInfo
from simplicity_bias.members import Purpose, layout
from simplicity_bias.metrics.classification import cross_entropy
from simplicity_bias.models import get_model
from simplicity_bias.train import objectives
from simplicity_bias.train.loop import Trainer, TrainSpec, init_members
from simplicity_bias.train.objectives import StepInputs
from simplicity_bias.validation import ConfigError

LR = 0.1
NUM_TRAIN = 64
DIM = 6
EPS = 0.3
STEPS = 3
GRID = (0.0, 0.15, 0.4)  # eps of the members of one program


def _data(num_datasets):
  spec = synthetic.lms(5, dim=DIM, sizes=(NUM_TRAIN, 16, 16))
  params = synthetic.stack_params([synthetic.default_params(spec)] * num_datasets)
  keys = jax.random.split(jax.random.key(0), num_datasets)
  return jax.vmap(lambda k, p: synthetic.make_dataset(spec, k, p))(keys, params)


def _trainer(objective, epochs=1):
  # One full batch per update: the batch is known without replaying the shuffle.
  spec = TrainSpec(batch_size=NUM_TRAIN, max_epochs=epochs, stop_rule="none", select="last")
  return Trainer(get_model("fcn", width=8, depth=1), optax.sgd(LR), spec, NUM_TRAIN,
                 objective=objective)


def _train(trainer, keys, x, y, aux=None):
  """Initial and trained states after every update of ``trainer`` (one compiled segment of one
  update, called once per update; no checks, which would compile a second program)."""
  start = init_members(trainer, keys, x)
  states = start
  for step in range(trainer.total_steps):
    states, _ = trainer.segment(states, x, y, jnp.int32(step), aux)
  return start, states


def _adversarial(**fields):
  return objectives.build(training.objective_config(**{
      "norm": "l2", "eps": EPS, "num_steps": STEPS, "random_start": False, **fields}))


def _member(tree, m):
  return jax.tree_util.tree_map(lambda a: a[m], tree)


def _close(a, b, atol=1e-6):
  for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)):
    np.testing.assert_allclose(np.asarray(x), np.asarray(y), atol=atol, rtol=0)


# ----------------------------------------------------------------------------- the objective


def _hand_pgd(loss_of, x, eps, step, steps):
  """l2 PGD from 0, written out: normalised gradient steps projected on the ball; per example
  the highest-loss iterate (the last one scored too), kept only if it beats the clean loss."""
  delta = jnp.zeros_like(x)
  best, best_loss = delta, jnp.full(x.shape[0], -jnp.inf)
  grad = jax.grad(lambda d: jnp.sum(loss_of(x + d)))
  for t in range(steps + 1):
    loss = loss_of(x + delta)
    better = loss > best_loss
    best = jnp.where(better[:, None], delta, best)
    best_loss = jnp.where(better, loss, best_loss)
    if t == steps:
      break
    g = grad(delta)
    delta = delta + step * g / jnp.maximum(jnp.linalg.norm(g, axis=1, keepdims=True), 1e-12)
    norm = jnp.linalg.norm(delta, axis=1, keepdims=True)
    delta = delta * jnp.minimum(1.0, eps / jnp.maximum(norm, 1e-12))
  return jnp.where((best_loss > loss_of(x))[:, None], best, 0.0)


@pytest.mark.slow
def test_adversarial_update_is_pgd_then_sgd():
  data = _data(1)
  trainer = _trainer(_adversarial(step_size=0.2))
  start, states = _train(trainer, jax.random.split(jax.random.key(1), 1), data.x_train,
                         data.y_train)
  model = trainer.model
  params, x, y = _member(start.params, 0), data.x_train[0], data.y_train[0]
  apply = lambda p, xx: model.apply({"params": p}, xx, train=False)
  per_example = lambda xx: optax.softmax_cross_entropy_with_integer_labels(apply(params, xx), y)
  delta = jax.jit(lambda xx: _hand_pgd(per_example, xx, EPS, 0.2, STEPS))(x)
  assert float(jnp.max(jnp.linalg.norm(delta, axis=1))) <= EPS + 1e-5
  assert float(jnp.mean(jnp.linalg.norm(delta, axis=1))) > 0.5 * EPS  # the attack did move
  grads = jax.grad(lambda p: cross_entropy(apply(p, x + delta), y))(params)
  expected = jax.tree_util.tree_map(lambda p, g: p - LR * g, params, grads)
  _close(_member(states.params, 0), expected, atol=1e-5)
  clean = jax.grad(lambda p: cross_entropy(apply(p, x), y))(params)
  not_clean = jax.tree_util.tree_map(lambda p, g: p - LR * g, params, clean)
  assert max(float(jnp.max(jnp.abs(a - b))) for a, b in zip(
      jax.tree_util.tree_leaves(states.params), jax.tree_util.tree_leaves(not_clean))) > 1e-4


@pytest.fixture(scope="module")
def grid_run():
  """Three members with their own ε (aux) trained in one program, for 3 updates."""
  data = _data(1)
  tile = lambda a: jnp.concatenate([a] * len(GRID))
  trainer = _trainer(_adversarial(random_start=True), epochs=3)
  keys = jnp.stack([jax.random.key_data(jax.random.key(7))] * len(GRID))
  keys = jax.random.wrap_key_data(keys)
  aux = {"eps": jnp.asarray(GRID, jnp.float32)}
  _, states = _train(trainer, keys, tile(data.x_train), tile(data.y_train), aux)
  return data, keys[:1], states


def _alone(objective, data, keys):
  return _train(_trainer(objective, epochs=3), keys, data.x_train, data.y_train)[1]


@pytest.mark.slow
def test_eps_grid_as_members_equals_one_run_per_eps(grid_run):
  data, keys, states = grid_run
  for m, eps in enumerate(GRID):
    if eps == 0:
      continue
    alone = _alone(_adversarial(random_start=True, eps=eps), data, keys)
    _close(_member(states.params, m), _member(alone.params, 0), atol=2e-5)


@pytest.mark.slow
def test_eps_zero_equals_erm(grid_run):
  data, keys, states = grid_run
  erm = _alone(objectives.build("erm"), data, keys)
  _close(_member(states.params, GRID.index(0.0)), _member(erm.params, 0), atol=1e-7)


def test_objective_config_is_validated():
  assert objectives.build(training.objective_config()).select_on_transform
  for fields, message in (({"norm": "l1"}, "objective.norm"), ({"bn_mode": "frozen"}, "bn_mode"),
                          ({"eps": -0.1}, "objective.eps"), ({"num_steps": 0}, "num_steps"),
                          ({"box": (1.0, 0.0)}, "objective.box"),
                          ({"eps": 0.0, "step_size": 0.1}, "step_size")):
    with pytest.raises(ConfigError, match=message):
      objectives.build(training.objective_config(**fields))
  with pytest.raises(ConfigError, match="not a field"):
    training.objective_config(epsilon=0.3)


def test_step_size_follows_each_members_eps():
  s = training.settings(training.objective_config(eps=0.3, step_size=0.12, num_steps=7))
  assert training.step_size_at(s, 0.3) == pytest.approx(0.12)
  assert training.step_size_at(s, 0.15) == pytest.approx(0.06)
  s = training.settings(training.objective_config(eps=0.3, step_size=0.0, num_steps=10))
  assert training.step_size_at(s, 0.2) == pytest.approx(0.05)  # 2.5 eps / steps
  assert training.member_eps(s, {"eps": 0.1}) == 0.1 and training.member_eps(s, None) == 0.3


class _BatchNormNet(nn.Module):
  """Dense -> BatchNorm -> ReLU -> Dense: the smallest model whose two BN modes differ."""

  @nn.compact
  def __call__(self, x, train: bool):
    h = nn.BatchNorm(use_running_average=not train, momentum=0.9)(nn.Dense(8)(x))
    return nn.Dense(2)(nn.relu(h))


def test_bn_modes_attack_running_or_batch_statistics():
  """'eval' attacks the running-statistics model, 'train' the batch-statistics one; neither
  updates the running statistics."""
  model = _BatchNormNet()
  x = jax.random.uniform(jax.random.key(0), (16, DIM))
  y = jnp.arange(16) % 2
  variables = dict(model.init(jax.random.key(1), x, train=False))
  params = variables.pop("params")
  # Running statistics far from the batch's: the two modes attack different functions.
  variables["batch_stats"] = jax.tree_util.tree_map(lambda a: a + 3.0, variables["batch_stats"])
  calls = []

  def forward(p, state, xx, *, train, key=None):
    del key
    calls.append(train)
    v = {"params": p, **state}
    if train:
      out, new = model.apply(v, xx, train=True, mutable=["batch_stats"])
      return out, dict(new)
    return model.apply(v, xx, train=False), state

  out = {}
  for mode in ("eval", "train"):
    s = training.settings(training.objective_config(norm="linf", eps=0.1, num_steps=2,
                                                    random_start=False, bn_mode=mode))
    calls.clear()
    attack = jax.jit(lambda st, xx, m=training.attack_fn(s): m(StepInputs(
        forward, params, st, xx, y, jax.random.key(2))))
    out[mode] = attack(variables, x)
    assert set(calls) == {mode == "train"}
  assert float(jnp.max(jnp.abs(out["eval"] - out["train"]))) > 1e-3


# ----------------------------------------------------------------------------- evaluators

N = 400
VDIM = 5
W_LATENT = np.array([2.0, 0.0, 0.0, 0.0, 0.0], np.float32)  # reads S = latent 0 only
BIAS = 0.1
RADII = (0.0, 0.1, 0.3)
UAP_EPS = 0.3


def _linear_vector_case():
  rng = np.random.default_rng(0)
  q, r = np.linalg.qr(rng.normal(size=(VDIM, VDIM)))
  rotation = (q * np.sign(np.diag(r))).astype(np.float32)
  z = rng.uniform(-1, 1, size=(N, VDIM)).astype(np.float32)
  y = (z[:, 0] + BIAS / 2.0 > 0).astype(np.int32)
  w = W_LATENT @ rotation  # w.x = W_LATENT.z with z = x rotation^T
  return z @ rotation, y, rotation, w


@pytest.fixture(scope="module")
def linear_evals():
  """``robust`` and ``uap`` on two linear models that read S only (scales 1 and 2)."""
  x, y, rotation, w = _linear_vector_case()
  info = DataInfo(name="linear", kind="vector", simple=(0,), complex=(1, 2, 3, 4), dim=VDIM)
  scales = jnp.asarray([1.0, 2.0])

  def logits_fn(scale, xx):
    f = scale * (xx @ jnp.asarray(w) + BIAS)
    return jnp.stack([jnp.zeros_like(f), f], -1)

  # From 0: a random l2 start is only forgotten asymptotically (each projection rescales it).
  options = {"robust_eps": RADII, "robust_norm": "l2", "robust_steps": 10,
             "robust_random_start": False, "attack_eps": UAP_EPS,
             "attack_steps": 10, "uap_eps": UAP_EPS, "as_uap_steps": 10, "attack_batch": 150}
  keys = layout(seed=0, num_seeds=2).keys(Purpose.EVAL)
  out = evaluators.evaluate(["robust", "uap"], logits_fn, scales, jnp.asarray(x), jnp.asarray(y),
                            jnp.asarray(rotation), keys, info, options, shared_data=True)
  margin = (2 * y - 1) * (x @ w + BIAS)
  return out, margin, np.linalg.norm(w), x, y


def test_robust_accuracy_is_the_margin_closed_form(linear_evals):
  out, margin, norm, _, _ = linear_evals
  for j, eps in enumerate(RADII):
    expected = np.mean(margin - eps * norm > 0)
    np.testing.assert_allclose(out["robust_acc"][:, j], expected, atol=1.5 / N)
    np.testing.assert_allclose(out[f"robust_acc_{eps:g}"], expected, atol=1.5 / N)
  assert out["robust_acc"][0, 2] < out["robust_acc"][0, 0] - 0.1


def test_uaps_of_a_model_that_reads_s_only_live_on_s(linear_evals):
  out, margin, norm, x, y = linear_evals
  for name in ("pgd_share_s", "svd_uap_share_s", "as_uap_share_s"):
    np.testing.assert_allclose(out[name], 1.0, atol=1e-5, err_msg=name)
  fit = N // 2
  for name in ("svd_uap", "as_uap"):
    np.testing.assert_allclose(np.linalg.norm(out[name], axis=1), UAP_EPS, rtol=1e-5)
    # The optimal label-signed UAP lowers every margin by eps ||w||: held out and fitted.
    np.testing.assert_allclose(out[f"{name}_acc"], np.mean(margin[fit:] - UAP_EPS * norm > 0),
                               atol=1.5 / N)
    np.testing.assert_allclose(out[f"{name}_fit_acc"],
                               np.mean(margin[:fit] - UAP_EPS * norm > 0), atol=1.5 / N)
    latent = out[f"{name}_latent"]
    np.testing.assert_allclose(np.abs(latent[:, 0]), UAP_EPS, rtol=1e-4)
  np.testing.assert_allclose(out["pgd_acc"], np.mean(margin - UAP_EPS * norm > 0), atol=1.5 / N)


@pytest.mark.parametrize("latent,norm_share", [((2.0, 0.0, 0.0, 0.0, 0.0), 1.0),
                                               ((1.0, 1.0, 0.0, 0.0, 0.0), 0.5 ** 0.5)])
def test_range_attack_measures_the_notebooks_fraction_of_budget(latent, norm_share):
  """The notebook's attack (radius = a fraction of the data range, kept in the data's box) on a
  linear model w: the steepest l2 ascent is along w, so ||delta_S|| / ||delta|| is
  |w_S| / ||w||: 1 for a model that reads S only, 1/sqrt(2) for one that weighs S and one S^c
  coordinate equally (the squared share is its square). Clipping to the box only bends the
  few perturbations of points at its edge."""
  x, y, rotation, _ = _linear_vector_case()
  info = DataInfo(name="linear", kind="vector", simple=(0,), complex=(1, 2, 3, 4), dim=VDIM)
  w = jnp.asarray(np.asarray(latent, np.float32) @ rotation)

  def logits_fn(_, xx):
    f = xx @ w + BIAS
    return jnp.stack([jnp.zeros_like(f), f], -1)

  span = float(x.max() - x.min())
  options = {"attack_eps": UAP_EPS, "attack_steps": 2, "uap_eps": UAP_EPS, "as_uap_steps": 2,
             "range_attack_fraction": 0.05, "range_attack_step_fraction": 0.02,
             "range_attack_steps": 10}
  out = evaluators.evaluate(["uap"], logits_fn, jnp.zeros(1), jnp.asarray(x), jnp.asarray(y),
                            jnp.asarray(rotation), layout(0, 1).keys(Purpose.EVAL), info,
                            options, shared_data=True)
  np.testing.assert_allclose(out["range_pgd_norm_share_s"], norm_share, atol=0.01)
  np.testing.assert_allclose(out["range_pgd_share_s"], norm_share ** 2, atol=0.015)
  margin = (2 * y - 1) * (x @ np.asarray(w) + BIAS)
  expected = np.mean(margin - 0.05 * span * np.linalg.norm(np.asarray(w)) > 0)
  np.testing.assert_allclose(out["range_pgd_acc"], expected, atol=3 / N)
  # Off by default: no range attack, no range metrics.
  del options["range_attack_fraction"]
  out = evaluators.evaluate(["uap"], logits_fn, jnp.zeros(1), jnp.asarray(x), jnp.asarray(y),
                            jnp.asarray(rotation), layout(0, 1).keys(Purpose.EVAL), info,
                            options, shared_data=True)
  assert not any(k.startswith("range_") for k in out)


def test_image_uap_share_counts_the_digit_rows():
  """A model that reads the top rows only: its perturbations and UAPs live there."""
  rng = np.random.default_rng(1)
  y = rng.integers(0, 2, 64).astype(np.int32)
  x = rng.uniform(0.3, 0.7, size=(64, 8, 4, 3)).astype(np.float32)
  x[:, :4] += (0.1 * (2 * y - 1))[:, None, None, None]
  info = DataInfo(name="toy_mnist_cifar", kind="image", simple=(0, 4), complex=(4, 8))

  def logits_fn(scale, xx):
    f = scale * (jnp.mean(xx[:, :4], axis=(1, 2, 3)) - 0.5)
    return jnp.stack([jnp.zeros_like(f), f], -1)

  options = {"attack_eps": 0.2, "uap_eps": 0.2, "attack_steps": 3, "as_uap_steps": 3}
  out = evaluators.evaluate(["uap"], logits_fn, jnp.asarray([1.0]), jnp.asarray(x),
                            jnp.asarray(y), None, layout(0, 1).keys(Purpose.EVAL),
                            info, options, shared_data=True)
  for name in ("pgd_share_s", "svd_uap_share_s", "as_uap_share_s"):
    np.testing.assert_allclose(out[name], 1.0, atol=1e-5, err_msg=name)
  assert out["svd_uap"].shape == (1, 8, 4, 3)


def test_attack_examples_are_the_pgd_attack_of_the_first_images_with_the_attack_key():
  """``attack_examples``: the first images, their PGD perturbation computed from the model's
  ATTACK subkey exactly as a direct call gives it, and the predictions on both."""
  from simplicity_bias.attacks.pgd import pgd
  from simplicity_bias.members import subkey
  rng = np.random.default_rng(2)
  y = rng.integers(0, 2, 20).astype(np.int32)
  x = rng.uniform(0.2, 0.8, size=(20, 8, 4, 3)).astype(np.float32)
  info = DataInfo(name="toy_mnist_cifar", kind="image", simple=(0, 4), complex=(4, 8))

  def logits_fn(scale, xx):
    f = scale * (jnp.mean(xx[:, :4], axis=(1, 2, 3)) - 0.5)
    return jnp.stack([jnp.zeros_like(f), f], -1)

  keys = layout(0, 2).keys(Purpose.EVAL)
  options = {"show_examples": 6, "example_norm": "l2", "example_eps": 0.5, "example_steps": 3}
  out = evaluators.evaluate(["attack_examples"], logits_fn, jnp.asarray([1.0, 3.0]),
                            jnp.asarray(x), jnp.asarray(y), None, keys, info, options,
                            shared_data=True)["attack_examples"]
  for m, scale in enumerate((1.0, 3.0)):
    predict = lambda _, xx, s=scale: logits_fn(s, xx)
    delta = pgd(predict, None, jnp.asarray(x[:6]), jnp.asarray(y[:6]),
                subkey(keys[m], Purpose.ATTACK), norm="l2", eps=0.5, num_steps=3,
                box=(0.0, 1.0))
    np.testing.assert_allclose(out["delta"][m], np.asarray(delta), atol=1e-6)
    np.testing.assert_array_equal(out["x"][m], x[:6])
    np.testing.assert_array_equal(out["pred_adv"][m],
                                  np.argmax(np.asarray(logits_fn(scale, x[:6] + delta)), -1))
  assert np.max(np.abs(out["delta"])) > 0.01   # the attack moved the images


def test_robust_uses_each_models_own_eps_from_aux():
  x, y, rotation, w = _linear_vector_case()
  info = DataInfo(name="linear", kind="vector", simple=(0,), complex=(1, 2, 3, 4), dim=VDIM)
  logits_fn = lambda _, xx: jnp.stack([jnp.zeros(xx.shape[0]), xx @ jnp.asarray(w) + BIAS], -1)
  radii = jnp.asarray([0.0, 0.2])
  out = evaluators.evaluate(["robust"], logits_fn, jnp.zeros(2), jnp.stack([x, x]),
                            jnp.stack([y, y]), jnp.stack([rotation] * 2),
                            layout(0, 2).keys(Purpose.EVAL), info,
                            {"robust_eps": (), "robust_norm": "l2", "robust_steps": 10,
                             "robust_random_start": False},
                            shared_data=False, aux={"eps": radii})
  margin = (2 * y - 1) * (x @ w + BIAS)
  for m, eps in enumerate((0.0, 0.2)):
    np.testing.assert_allclose(out["robust_acc_at_eps"][m],
                               np.mean(margin - eps * np.linalg.norm(w) > 0), atol=1.5 / N)
  assert "robust_acc" not in out


# ----------------------------------------------------------------------------- experiments

SMOKE = {"attacks_synthetic": ("uap_latent_lms5.png", "uap_latent_ms57.png",
                               "robust_accuracy_lms5.png"),
         "adv_training_advms": ("accuracy_vs_eps.png",),
         "uap_mnist_cifar": ("uap_image.png", "uap_examples.png"),
         "adv_training_mnist_cifar": ("robust_accuracy.png", "adversarial_examples.png")}


@pytest.mark.parametrize("name", smoke_params(sorted(SMOKE)))
def test_smoke_run_writes_its_figures_and_claims(name, smoke_run):
  config, workdir, results = smoke_run(name)
  for figure in SMOKE[name]:
    assert os.path.getsize(os.path.join(workdir, figure)) > 0, figure
  claims = ledger_claims(name, results)
  assert claims and all({"statement", "published", "band", "verdict", "mean", "per_seed"}
                        <= set(c) for c in claims)
  golden = os.path.join(REPO, "tests", "data", "smoke_golden")
  recorded = []
  for path in os.listdir(golden):
    with open(os.path.join(golden, path), encoding="utf-8") as f:
      recorded.append(name in json.load(f))
  assert any(recorded), f"no CPU vendor has recorded numbers of {name}"


@pytest.mark.slow
def test_smoke_rows_of_the_eps_grid(smoke_run):
  config, _, results = smoke_run("adv_training_advms")
  labels = [r["label"] for r in results["rows"]]
  assert len(labels) == len(config.adv.widths) * len(config.adv.eps)
  row = results["rows"][-1]
  assert row["params"]["eps"] == config.adv.eps[-1]
  assert {"robust_acc_at_eps", "s_rand_acc", "test_acc"} <= set(row["per_seed"])


def test_cells_and_their_validation():
  from simplicity_bias.experiments import adv_training_synthetic, adversarial_images
  from simplicity_bias.experiments import attacks_synthetic
  config = load_config("attacks_synthetic")
  cells = attacks_synthetic.cells(config)
  assert [c.label for c in cells] == ["lms5", "ms57"]
  lms5, ms57 = (c.config for c in cells)
  assert (lms5.train.stop_rule, lms5.train.stop_eps, lms5.eval.uap_eps) == ("loss", 0.01, 1.0)
  assert (ms57.train.stop_rule, ms57.train.stop_eps, ms57.eval.uap_eps) == ("acc", 0.01, 0.5)
  assert (lms5.train.patience, ms57.train.patience) == (0, 3000)
  assert lms5.eval.range_attack_fraction == 0.5 and lms5.eval.range_attack_steps == 20
  assert lms5.model.width == 200 and lms5.model.depth == 1 and lms5.optim.weight_decay == 5e-4
  config = load_config("adv_training_advms")
  assert [c.label for c in adv_training_synthetic.cells(config)] == ["(200,2)-FCN",
                                                                     "(1000,2)-FCN"]
  assert max(config.adv.eps) == pytest.approx(0.62) and config.train.max_epochs == 4000
  config.adv.eps = (0.1, 0.1)
  with pytest.raises(ConfigError, match="adv.eps"):
    adv_training_synthetic.cells(config)
  config = load_config("adv_training_mnist_cifar")
  cells = adversarial_images.cells(config)
  assert [c.config.objective.name for c in cells] == ["erm", "adversarial"]
  assert cells[0].config.train.stop_rule == "loss" and cells[1].config.train.stop_rule == "none"
  o = cells[1].config.objective
  assert (o.norm, o.eps, o.num_steps, o.step_size, tuple(o.box)) == ("linf", 0.3, 7, 0.12,
                                                                      (0.0, 1.0))
  config.adv_cells = ("standard", "robust")
  with pytest.raises(ConfigError, match="adv_cells"):
    adversarial_images.cells(config)
