"""Tests for the classification metrics, S / S^c randomization and the SB evaluators (SPEC §3).

References are independent: brute-force pairwise AUC, scipy's rankdata, a numpy simulation of the
null AUC, numpy / log_softmax losses. The SB evaluators (``sb``, ``coordinatewise``,
``decision_grid``) are checked on hand-made models whose reliance on latent coordinates is known,
so the published pattern (S-rand AUC 0.5, S^c-rand AUC 1 for a model that uses only S) must come
out exactly where it should.
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from scipy import stats

from simplicity_bias import evaluators
from simplicity_bias.data import synthetic as S
from simplicity_bias.data.randomize import (coordinate_shifts, permutation, randomize_block,
                                            sum_each_coordinate)
from simplicity_bias.data.registry import DataInfo
from simplicity_bias.evaluators.sb import SB_METRICS, decision_grid
from simplicity_bias.metrics.classification import (accuracy, auc_null_std, average_ranks,
                                                    cross_entropy, margin_scores, roc_auc)
from simplicity_bias.models import get_model
from simplicity_bias.train.loop import Trainer, TrainSpec


auc_jit = jax.jit(roc_auc)


def brute_auc(scores, labels):
  """P(s_pos > s_neg) + P(tie) / 2 over all positive-negative pairs."""
  scores, labels = np.asarray(scores, float), np.asarray(labels).astype(bool)
  d = scores[labels][:, None] - scores[~labels][None, :]
  return np.mean(d > 0) + 0.5 * np.mean(d == 0)


# ----------------------------------------------------------------------------- AUC and ranks

@pytest.mark.parametrize("n", [7, 50, 301])
def test_roc_auc_matches_pairwise_count_with_ties(n):
  """Rank-form AUC equals the pairwise definition, ties counted as 1/2."""
  rng = np.random.default_rng(n)
  for _ in range(5):
    labels = rng.integers(0, 2, n)
    labels[:2] = [0, 1]
    scores = rng.integers(0, 5, n)  # few distinct values: many ties
    got = float(auc_jit(jnp.asarray(scores), jnp.asarray(labels)))  # integer scores
    assert got == pytest.approx(brute_auc(scores, labels), abs=1e-6)


def test_roc_auc_under_vmap():
  """vmap over a batch of score vectors (and of label vectors) matches the pairwise count."""
  rng = np.random.default_rng(0)
  scores = rng.integers(-3, 4, (16, 90)).astype(np.float32)
  labels = rng.integers(0, 2, (16, 90))
  got = jax.jit(jax.vmap(roc_auc, in_axes=(0, None)))(scores, labels[0])
  np.testing.assert_allclose(got, [brute_auc(s, labels[0]) for s in scores], atol=1e-6)
  got = jax.jit(jax.vmap(roc_auc))(scores, labels)
  np.testing.assert_allclose(got, [brute_auc(s, l) for s, l in zip(scores, labels)], atol=1e-6)


def test_roc_auc_edge_cases():
  """Perfect scores give 1, inverted 0, constant 0.5; a missing class gives NaN."""
  y = jnp.array([0, 1, 0, 1, 1, 0])
  s = jnp.array([0.1, 0.9, 0.2, 0.8, 0.7, 0.3])
  assert float(auc_jit(s, y)) == 1.0
  assert float(auc_jit(-s, y)) == 0.0
  assert float(auc_jit(jnp.zeros(6), y)) == 0.5
  assert np.isnan(float(auc_jit(s, jnp.zeros(6, int))))
  assert np.isnan(float(auc_jit(s, jnp.ones(6, int))))


def test_roc_auc_large_test_set():
  """At 100k balanced points the AUC of perfect / inverted scores is still 1 / 0."""
  y = jnp.arange(100_000) % 2
  s = y.astype(jnp.float32)
  assert float(roc_auc(s, y)) == pytest.approx(1.0, abs=1e-4)
  assert float(roc_auc(-s, y)) == pytest.approx(0.0, abs=1e-4)


def test_average_ranks_match_scipy():
  """Average ranks (ties share the mean rank) equal scipy.stats.rankdata(method='average')."""
  rng = np.random.default_rng(1)
  for scores in (rng.integers(0, 6, 200), rng.normal(size=57), np.array([3, 3, 3, 3]),
                 np.array([2.0, -1.0, 2.0, 0.5, -1.0, 2.0])):
    got = np.asarray(jax.jit(average_ranks)(jnp.asarray(scores, jnp.float32)))
    np.testing.assert_allclose(got, stats.rankdata(scores, method="average"), atol=1e-6)


def test_auc_null_std_closed_form_and_simulation():
  """sqrt((n+1)/(12 n0 n1)) in closed form and vs the spread of AUCs of random scores."""
  assert float(auc_null_std(jnp.array([0, 0, 0, 1, 1, 1, 1, 1]))) == pytest.approx(
      np.sqrt(9 / (12 * 3 * 5)), rel=1e-6)
  n, n1, draws = 200, 70, 2000
  labels = np.zeros(n, int)
  labels[:n1] = 1
  rng = np.random.default_rng(2)
  scores = rng.normal(size=(draws, n))
  ranks = np.argsort(np.argsort(scores, axis=1), axis=1) + 1
  aucs = (ranks[:, :n1].sum(1) - n1 * (n1 + 1) / 2) / (n1 * (n - n1))
  # Cross-check the library's AUC on the same draws, then the null std.
  lib = jax.jit(jax.vmap(roc_auc, in_axes=(0, None)))(scores.astype(np.float32), labels)
  np.testing.assert_allclose(lib, aucs, atol=1e-5)
  assert float(auc_null_std(jnp.asarray(labels))) == pytest.approx(aucs.std(), rel=0.1)
  assert abs(aucs.mean() - 0.5) < 4 * aucs.std() / np.sqrt(draws)


def test_accuracy_and_cross_entropy():
  """accuracy = mean(argmax == y); cross_entropy = -mean log_softmax[y] (numpy and jax refs)."""
  rng = np.random.default_rng(3)
  logits = rng.normal(size=(64, 3)).astype(np.float32) * 3
  labels = rng.integers(0, 3, 64)
  assert float(accuracy(logits, labels)) == pytest.approx(np.mean(logits.argmax(1) == labels))
  lse = np.log(np.exp(logits - logits.max(1, keepdims=True)).sum(1)) + logits.max(1)
  ref = np.mean(lse - logits[np.arange(64), labels])
  assert float(cross_entropy(logits, labels)) == pytest.approx(ref, rel=1e-5)
  ref_jax = -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), labels[:, None], 1))
  assert float(cross_entropy(logits, labels)) == pytest.approx(float(ref_jax), rel=1e-5)
  np.testing.assert_array_equal(margin_scores(logits[:, :2]), logits[:, 1] - logits[:, 0])


# ----------------------------------------------------------------------------- randomization

def _rotation(dim, seed=0):
  """A random orthogonal matrix from numpy (independent of the library's generator)."""
  q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(dim, dim)))
  return jnp.asarray(q, jnp.float32)


def test_randomize_block_permutes_selected_latent_coords():
  """Un-rotated result: selected coordinates are the permuted rows, the others untouched."""
  n, dim = 30, 5
  x = jax.random.normal(jax.random.PRNGKey(1), (n, dim))
  w = _rotation(dim)
  mask = np.array([False, True, False, True, False])
  perm = jax.random.permutation(jax.random.PRNGKey(2), n)
  rand = jax.jit(randomize_block)
  out = rand(x, w, jnp.asarray(mask), perm)
  z, z_out = np.asarray(x @ w.T), np.asarray(out @ w.T)
  np.testing.assert_allclose(z_out[:, mask], z[np.asarray(perm)][:, mask], atol=1e-5)
  np.testing.assert_allclose(z_out[:, ~mask], z[:, ~mask], atol=1e-5)
  assert not np.allclose(out, x, atol=1e-3)
  np.testing.assert_allclose(rand(x, w, jnp.asarray(mask), jnp.arange(n)), x, atol=1e-5)


def test_coordinate_shifts_are_single_coordinate_randomizations():
  """``x + shifts[j] R[j]`` = ``randomize_block`` of coordinate j alone, permuted by
  ``permutation(split(key, dim)[j])``: every coordinate really changes, the others stay."""
  n, dim = 20, 6
  x = jax.random.normal(jax.random.PRNGKey(3), (n, dim))
  w = _rotation(dim, 1)
  key = jax.random.PRNGKey(4)
  shifts = jax.jit(coordinate_shifts)(x, w, key)
  assert shifts.shape == (dim, n)
  single = jax.jit(lambda j, k: randomize_block(x, w, jnp.arange(dim) == j, permutation(k, n)))
  for j, k in enumerate(jax.random.split(key, dim)):
    np.testing.assert_allclose(x + shifts[j][:, None] * w[j][None, :], single(j, k), atol=1e-5)
    assert np.abs(np.asarray(shifts[j])).max() > 1e-2


@pytest.mark.parametrize("block_rows", [8, 37, 1000])
def test_sum_each_coordinate_matches_a_loop(block_rows):
  """Per coordinate, the sum over row blocks of ``fn(base + shifts[j] directions[j], valid, *rows)``
  equals one pass over all rows; the padding rows of the last block are masked out."""
  n, k, dim = 37, 5, 4
  keys = jax.random.split(jax.random.PRNGKey(9), 4)
  base = jax.random.normal(keys[0], (n, k))
  directions = jax.random.normal(keys[1], (dim, k))
  shifts = jax.random.normal(keys[2], (dim, n))
  weights = jax.random.uniform(keys[3], (n,))

  def fn(v, valid, wt):
    return {"sum": jnp.sum(jnp.where(valid[:, None], jnp.tanh(v) * wt[:, None], 0.0), 0),
            "count": jnp.sum(valid & (v[:, 0] > 0))}

  out = jax.jit(lambda *a: sum_each_coordinate(fn, *a, per_row=(weights,),
                                               block_rows=block_rows))(base, directions, shifts)
  v = np.asarray(base)[None] + np.asarray(shifts)[:, :, None] * np.asarray(directions)[:, None]
  np.testing.assert_allclose(out["sum"], (np.tanh(v) * np.asarray(weights)[None, :, None]).sum(1),
                             rtol=1e-5, atol=1e-5)
  np.testing.assert_array_equal(out["count"], (v[:, :, 0] > 0).sum(1))


# ----------------------------------------------------------------------------- SB evaluators

SLAB_LO, SLAB_HI = 0.22, 0.66  # gap midpoints around the class-1 5-slab ±[.32, .56] (w=1, g=.1)
# Hand-made "models": logits = a[0] * linear_model + a[1] * slab_model, ``a`` is the parameter.
LINEAR, SLAB = (1.0, 0.0), (0.0, 1.0)
ONE = pytest.approx(1.0, abs=1e-6)  # rank sums in float32 under vmap: 1 up to one ulp


@pytest.fixture(scope="module")
def lms5_test():
  spec = S.lms(5, dim=10, sizes=(10, 0, 2000), rotate=True)
  d = jax.jit(S.make_dataset, static_argnums=0)(spec, jax.random.PRNGKey(0),
                                                 S.default_params(spec))
  info = DataInfo(name=spec.name, kind="vector", simple=spec.simple_coords,
                  complex=spec.complex_coords, dim=spec.dim)
  return info, d.x_test, d.y_test, d.rotation


def linear_model(rotation):
  """Uses only latent coordinate 0 (S of LMS-5)."""
  def logits_fn(x):
    z0 = (x @ rotation.T)[:, 0]
    return jnp.stack([-z0, z0], -1)
  return logits_fn


def slab_model(rotation):
  """Uses only latent coordinate 1 (a 5-slab of S^c): positive inside ±[.22, .66]."""
  def logits_fn(x):
    a = jnp.abs((x @ rotation.T)[:, 1])
    s = jnp.minimum(a - SLAB_LO, SLAB_HI - a)
    return jnp.stack([-s, s], -1)
  return logits_fn


def evaluate(names, models, x, y, w, info, seed=5, options=None):
  """``evaluators.evaluate`` of the hand-made models (one row of ``a`` each) on one test set."""
  def logits_fn(a, xx):
    return a[0] * linear_model(w)(xx) + a[1] * slab_model(w)(xx)
  models = jnp.asarray(models, jnp.float32)
  keys = jax.random.split(jax.random.PRNGKey(seed), len(models))
  return evaluators.evaluate(names, logits_fn, models, x, y, w, keys, info, options or {},
                             shared_data=True)


@pytest.fixture(scope="module")
def sb_out(lms5_test):
  """``sb`` + ``coordinatewise`` of the linear-only and the slab-only model (one compile)."""
  info, x, y, w = lms5_test
  return evaluate(["sb", "coordinatewise"], [LINEAR, SLAB], x, y, w, info)


def test_sb_evaluator_linear_only_model(lms5_test, sb_out):
  """A model using only S: AUC 1, S-rand AUC ~ 0.5, S^c-rand AUC 1, coord 0 acc ~ 0.5, others 1."""
  _, x, y, w = lms5_test
  m = {k: v[0] if not isinstance(v, dict) else {s: a[0] for s, a in v.items()}
       for k, v in sb_out.items()}
  assert set(SB_METRICS) | {"coord_rand_acc", "scores", "auc_null_std"} == set(m)
  null = float(auc_null_std(y))
  assert float(m["auc_null_std"]) == pytest.approx(null)
  n = y.shape[0]
  assert float(m["test_auc"]) == ONE and float(m["test_acc"]) == ONE
  assert abs(float(m["s_rand_auc"]) - 0.5) < 4 * null
  assert abs(float(m["s_rand_acc"]) - 0.5) < 4 * 0.5 / np.sqrt(n)
  assert float(m["sc_rand_auc"]) == ONE and float(m["sc_rand_acc"]) == ONE
  acc = np.asarray(m["coord_rand_acc"])
  assert acc.shape == (10,)
  assert abs(acc[0] - 0.5) < 4 * 0.5 / np.sqrt(n)
  np.testing.assert_allclose(acc[1:], 1.0, atol=1e-6)
  z0 = np.asarray(x @ w.T)[:, 0]
  np.testing.assert_allclose(m["scores"]["test"], 2 * z0, atol=1e-5)
  # S-randomized scores are the same values in another row order: one permutation of S.
  s_rand = np.asarray(m["scores"]["s_rand"])
  np.testing.assert_allclose(np.sort(s_rand), np.sort(2 * z0), atol=1e-5)
  assert np.mean(np.abs(s_rand - 2 * z0) < 1e-5) < 0.05
  np.testing.assert_allclose(m["scores"]["sc_rand"], 2 * z0, atol=1e-5)  # S kept in place


def test_sb_evaluator_slab_only_model(lms5_test, sb_out):
  """A model using only a slab of S^c gives the opposite pattern."""
  _, _, y, _ = lms5_test
  m = {k: v[1] for k, v in sb_out.items() if not isinstance(v, dict)}
  null = float(auc_null_std(y))
  n = y.shape[0]
  assert float(m["test_auc"]) == ONE and float(m["test_acc"]) == ONE
  assert float(m["s_rand_auc"]) == ONE and float(m["s_rand_acc"]) == ONE
  assert abs(float(m["sc_rand_auc"]) - 0.5) < 4 * null
  acc = np.asarray(m["coord_rand_acc"])
  assert abs(acc[1] - 0.5) < 4 * 0.5 / np.sqrt(n)
  np.testing.assert_allclose(np.delete(acc, 1), 1.0, atol=1e-6)


def test_coordinate_scan_leaves_the_block_metrics_unchanged(lms5_test, sb_out):
  """``sb`` alone gives the numbers ``sb`` + ``coordinatewise`` gave (the key is split alike)."""
  info, x, y, w = lms5_test
  alone = evaluate(["sb"], [LINEAR, SLAB], x, y, w, info)
  assert "coord_rand_acc" not in alone
  for metric in SB_METRICS:
    np.testing.assert_array_equal(alone[metric], sb_out[metric])
  # A model's EVAL key decides its permutations: another key, other S-randomized scores.
  other = evaluate(["sb"], [LINEAR], x, y, w, info, seed=6)
  assert not np.allclose(other["scores"]["s_rand"][0], sb_out["scores"]["s_rand"][0])


def test_sb_evaluator_without_blocks(lms5_test):
  """Datasets without S / S^c (like MS-7) report no randomized block metrics."""
  info, x, y, w = lms5_test
  no_blocks = DataInfo(name="ms", kind="vector", dim=info.dim)
  m = evaluate(["sb"], [SLAB], x, y, w, no_blocks)
  assert set(m) == {"test_acc", "test_auc", "scores", "auc_null_std"}
  assert set(m["scores"]) == {"test"}
  assert float(m["test_auc"][0]) == ONE


def test_evaluators_reject_unknown_names_and_data_kinds(lms5_test):
  from simplicity_bias.validation import ConfigError
  info = lms5_test[0]
  with pytest.raises(ConfigError, match="unknown evaluator 'sbb'"):
    evaluators.check(["sb", "sbb"], info)
  image = DataInfo(name="mnist_cifar_A", kind="image", simple=(0, 32), complex=(32, 64))
  with pytest.raises(ConfigError, match="'coordinatewise' does not apply to image data"):
    evaluators.check(["sb", "coordinatewise"], image)
  evaluators.check(["sb"], image)


def test_decision_grid_shapes_and_axis(lms5_test):
  """Shapes (R,), (R,), (R, R); the S model varies along u only, the slab model along v only."""
  _, _, _, w = lms5_test
  r, limit = 16, 1.1
  base = jnp.full((10,), 0.4)
  u, v, g = decision_grid(linear_model(w), base, w, 0, 1, limit, resolution=r)
  assert u.shape == (r,) and v.shape == (r,) and g.shape == (r, r)
  np.testing.assert_allclose([u[0], u[-1], v[0], v[-1]], [-limit, limit, -limit, limit], atol=1e-6)
  np.testing.assert_allclose(g, np.broadcast_to(2 * np.asarray(u)[None, :], (r, r)), atol=1e-4)
  _, _, g2 = decision_grid(slab_model(w), base, w, 0, 1, limit, resolution=r)
  assert np.allclose(g2, g2[:, :1], atol=1e-4)  # constant along u
  assert np.ptp(np.asarray(g2[:, 0])) > 0.3      # varies along v


def test_decision_grid_evaluator_spans_the_first_s_and_sc_coordinates(lms5_test):
  """The evaluator's grid: first S coordinate along u, first S^c coordinate along v, over
  ±1.1 x the data width, at ``boundary_resolution`` points."""
  info, x, y, w = lms5_test
  r = 12
  out = evaluate(["decision_grid"], [LINEAR, SLAB], x, y, w, info,
                 options={"boundary_resolution": r})
  u, v, grid = (np.asarray(a) for a in out["boundary"])
  assert u.shape == (2, r) and grid.shape == (2, r, r)
  np.testing.assert_allclose(u[0], np.linspace(-1.1, 1.1, r), atol=1e-6)
  np.testing.assert_allclose(v[0], np.linspace(-1.1, 1.1, r), atol=1e-6)
  # Linear model: 2 * u (latent 0) whatever v is; slab model: its slab rule in latent 1 = v.
  np.testing.assert_allclose(grid[0], np.broadcast_to(2 * u[0][None, :], (r, r)), atol=1e-4)
  a = np.abs(v[1])
  slab = 2 * np.minimum(a - SLAB_LO, SLAB_HI - a)
  np.testing.assert_allclose(grid[1], np.broadcast_to(slab[:, None], (r, r)), atol=1e-4)


# ----------------------------------------------------------------------------- coordinate scan

def _coordinatewise_reference(logits_fn, variables, x, y, rotation, keys):
  """The coordinate scan done the straightforward way, for every model (leading axis of
  ``variables`` and ``keys``): for every latent coordinate j, the test set with coordinate j
  alone permuted (``randomize_block``: un-rotate, permute, rotate back) and a full forward pass.
  The permutations are the evaluator's: coordinate j's key is ``split(split(key, 3)[2], dim)[j]``."""
  n, dim = x.shape

  def one_model(v, key):
    def one_coordinate(j, k):
      xj = randomize_block(x, rotation, jnp.arange(dim) == j, permutation(k, n))
      return accuracy(logits_fn(v, xj), y)
    return jax.vmap(one_coordinate)(jnp.arange(dim),
                                    jax.random.split(jax.random.split(key, 3)[2], dim))

  return np.asarray(jax.jit(jax.vmap(one_model))(variables, keys))


COORD_MODELS = {
    "fcn_rotated": ("fcn", dict(width=16, depth=2), True),
    "fcn_unrotated": ("fcn", dict(width=16, depth=2), False),
    "fcn_depth1_prelu": ("fcn", dict(width=16, depth=1, activation="prelu"), True),
    "cnn1d": ("cnn1d", dict(filters=4, kernel_size=3), True),
    "gru": ("gru", dict(hidden=8, step_size=5), True),
}


@pytest.mark.parametrize("name", sorted(COORD_MODELS))
def test_coordinatewise_equals_the_per_coordinate_forward_passes(name):
  """``coord_rand_acc`` of the pipeline's evaluation (FCN: through its first layer, the others:
  the whole model per randomized set) equals a full forward pass per coordinate, to float
  rounding, for every member."""
  model_name, fields, rotate = COORD_MODELS[name]
  n, dim = 301, 10
  model = get_model(model_name, **fields)
  trainer = Trainer(model, optax.sgd(0.1), TrainSpec(batch_size=8, eval_batch_size=128), 64)
  keys = jax.random.split(jax.random.PRNGKey(11), 5)
  # Wide inputs: the untrained models' predictions then vary from point to point.
  rotation = _rotation(dim, 2) if rotate else jnp.eye(dim)
  x = jax.random.uniform(keys[0], (n, dim), minval=-10, maxval=10) @ rotation
  y = jax.random.bernoulli(keys[1], 0.5, (n,)).astype(jnp.int32)
  one = model.init(keys[2], x[:2])
  variables = jax.tree_util.tree_map(lambda a: jnp.stack([a, -1.5 * a]), one)  # two members
  assert (trainer.first_layer(one) is not None) == (model_name == "fcn")
  eval_keys = jax.random.split(keys[3], 2)
  info = DataInfo(name="lms5", kind="vector", simple=(0,), complex=tuple(range(1, dim)), dim=dim)
  out = evaluators.evaluate(["coordinatewise"], trainer.predict, variables, x, y, rotation,
                            eval_keys, info, {}, shared_data=True,
                            first_layer=trainer.first_layer)
  acc = np.asarray(out["coord_rand_acc"])
  assert acc.shape == (2, dim)
  np.testing.assert_array_equal(
      acc, _coordinatewise_reference(trainer.predict, variables, x, y, rotation, eval_keys))
  assert np.ptp(acc, axis=1).min() > 0  # the coordinates' permutations change predictions


def test_coordinatewise_uses_the_first_layer_when_given(lms5_test):
  """The first-layer path really is taken: a ``head`` that negates the logits turns every
  accuracy a into 1 - a (no ties), while the generic path runs ``logits_fn``."""
  info, x, y, w = lms5_test
  x, y = x[:200], y[:200]

  def logits_fn(a, xx):
    return a[0] * linear_model(w)(xx) + a[1] * slab_model(w)(xx)

  def first_layer(a):  # kernel = identity: the "first layer" is the input itself
    return jnp.eye(x.shape[1]), jnp.zeros(x.shape[1]), lambda h: -logits_fn(a, h)

  models = jnp.asarray([LINEAR], jnp.float32)
  keys = jax.random.split(jax.random.PRNGKey(5), 1)
  run = lambda fl: evaluators.evaluate(["coordinatewise"], logits_fn, models, x, y, w, keys,
                                       info, {}, shared_data=True,
                                       first_layer=fl)["coord_rand_acc"]
  plain, negated = np.asarray(run(None)), np.asarray(run(first_layer))
  np.testing.assert_allclose(negated, 1.0 - plain, atol=1e-6)
  assert abs(plain[0][0] - 0.5) < 0.2 and plain[0][1:].min() == 1.0
