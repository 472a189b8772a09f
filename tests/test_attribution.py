"""Tests for the attributions (gradients.py), rank masks (masking.py) and quality metrics.

References are independent of the code under test: gradients are checked against central finite
differences of a numpy float64 copy of a tiny tanh MLP, IG against its completeness property and
a linear model's closed form, SmoothGrad against the closed-form expectation of a cubic's
gradient under Gaussian noise, masks and metrics against numpy brute force on small arrays.

Compiling a program that draws random numbers costs seconds on a small CPU, so attributions run
through one jitted `attribute` with one calling convention, every SmoothGrad and random run
is one program, and keyed masks use one score shape.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import special

from simplicity_bias.attribution import gradients as G
from simplicity_bias.attribution import masking as M
from simplicity_bias.attribution import quality as Q

IMAGE_SHAPE = (2, 3, 2)  # tiny H, W, C
NUM_CLASSES = 3
NUM_EXAMPLES = 4
# Options that fix the compiled program; everything else (sigma, baseline, ...) is traced.
STATIC_OPTIONS = ("method", "predict", "score", "num_samples", "noise", "num_steps", "rule")
SMOOTHGRAD = {"num_samples": 3}
IG = {"num_steps": 4}

attribute = jax.jit(G.attribute, static_argnames=STATIC_OPTIONS)


def init_mlp(seed, in_dim=int(np.prod(IMAGE_SHAPE)), hidden=5, classes=NUM_CLASSES):
  """numpy float64 parameters of a one-hidden-layer tanh MLP."""
  rng = np.random.default_rng(seed)
  return {
      "w1": rng.normal(size=(in_dim, hidden)) / np.sqrt(in_dim),
      "b1": 0.1 * rng.normal(size=hidden),
      "w2": rng.normal(size=(hidden, classes)) / np.sqrt(hidden),
      "b2": 0.1 * rng.normal(size=classes),
  }


def mlp(params, x):
  """The MLP in jax.numpy; images are flattened per example."""
  h = jnp.tanh(x.reshape(x.shape[0], -1) @ params["w1"] + params["b1"])
  return h @ params["w2"] + params["b2"]


def numpy_scores(params, x, y, score):
  """The per-example scores in numpy float64, written independently of `example_scores`."""
  h = np.tanh(x.reshape(len(x), -1) @ params["w1"] + params["b1"])
  logits = h @ params["w2"] + params["b2"]
  rows = np.arange(len(x))
  true_logit = logits[rows, y]
  if score == "logit":
    return true_logit
  if score == "loss":
    return special.logsumexp(logits, axis=1) - true_logit
  others = logits.copy()
  others[rows, y] = -np.inf
  return true_logit - others.max(axis=1)


def central_differences(params, x, y, score, eps=1e-5):
  """d score_i / d x_i by central differences, one input coordinate at a time."""
  grad = np.zeros_like(x)
  flat_grad = grad.reshape(len(x), -1)
  for j in range(flat_grad.shape[1]):
    step = np.zeros(flat_grad.shape[1])
    step[j] = eps
    step = step.reshape(x.shape[1:])
    up = numpy_scores(params, x + step, y, score)
    down = numpy_scores(params, x - step, y, score)
    flat_grad[:, j] = (up - down) / (2 * eps)
  return grad


def batch(seed):
  """numpy float64 images in [-1, 1] and labels."""
  rng = np.random.default_rng(seed)
  x = rng.uniform(-1, 1, size=(NUM_EXAMPLES,) + IMAGE_SHAPE)
  y = rng.integers(0, NUM_CLASSES, size=NUM_EXAMPLES)
  return x, y


def float32_problem(seed):
  """(params, x, y) as float32 JAX arrays, and the float64 numpy originals."""
  params = init_mlp(seed)
  x, y = batch(seed + 1)
  jparams = jax.tree.map(lambda a: jnp.asarray(a, jnp.float32), params)
  return (jparams, jnp.asarray(x, jnp.float32), jnp.asarray(y, jnp.int32)), (params, x, y)


# ------------------------------------------------------------------------------ gradients


def test_input_gradient_matches_central_finite_differences_in_float64():
  params = init_mlp(0)
  x, y = batch(1)
  every_score = lambda *args: {score: G.input_gradient(mlp, *args, score) for score in G.SCORES}
  with jax.enable_x64(True):
    got = jax.jit(every_score)(jax.tree.map(jnp.asarray, params), jnp.asarray(x),
                               jnp.asarray(y))
  for score in G.SCORES:
    assert got[score].dtype == np.float64
    np.testing.assert_allclose(np.asarray(got[score]), central_differences(params, x, y, score),
                               rtol=1e-6, atol=1e-8, err_msg=score)


@pytest.mark.parametrize("method,score", [("grad_logit", "logit"), ("grad_loss", "loss"),
                                          ("grad_margin", "margin")])
def test_named_gradients_match_finite_differences_in_float32(method, score):
  (params, x, y), (params64, x64, y64) = float32_problem(2)
  got = attribute(method, mlp, params, x, y)
  assert got.shape == x.shape and got.dtype == jnp.float32
  np.testing.assert_allclose(np.asarray(got), central_differences(params64, x64, y64, score),
                             rtol=1e-3, atol=1e-5)


def test_gradient_of_an_example_does_not_depend_on_its_batch():
  # One backward pass for the whole batch must give each example its own gradient: changing
  # the last two examples leaves the gradients of the first two as they were.
  (params, x, y), _ = float32_problem(2)
  together = attribute("grad_logit", mlp, params, x, y)
  changed = attribute("grad_logit", mlp, params, x.at[2:].set(-x[2:]), y)
  np.testing.assert_allclose(changed[:2], together[:2], rtol=1e-6, atol=1e-7)
  assert not np.allclose(changed[2:], together[2:])


def test_gradient_times_input_is_gradient_times_x():
  (params, x, y), _ = float32_problem(4)
  for grad_method, score in (("grad_logit", "logit"), ("grad_loss", "loss")):
    grad = np.asarray(attribute(grad_method, mlp, params, x, y))
    got = attribute("grad_x_input", mlp, params, x, y, score=score)
    np.testing.assert_allclose(got, grad * np.asarray(x), rtol=1e-6, atol=1e-8)
    assert not np.allclose(got, grad)


def images_of_range_two():
  """float32 images whose every example spans exactly [-1, 1]."""
  (params, x, y), _ = float32_problem(6)
  x = x.at[:, 0, 0, 0].set(-1.0).at[:, 0, 0, 1].set(1.0)
  return params, x, y


def stacked_members(seeds):
  members = [float32_problem(seed)[0][0] for seed in seeds]
  return members, jax.tree.map(lambda *leaves: jnp.stack(leaves), *members)


def cubic(params, x):
  """Class 0 logit sum_j x_j^3 (gradient 3 x^2), class 1 logit 0."""
  del params
  z = jnp.sum(x.reshape(len(x), -1) ** 3, axis=1)
  return jnp.stack([z, jnp.zeros_like(z)], axis=1)


# The same shape as the MLP's inputs, so that the noise of both is one compiled draw.
CUBIC_X = np.asarray(batch(40)[0], np.float32)
CUBIC_SIGMA = 0.7
MEMBER_SIGMAS = (0.0, 0.1, 0.2)


@jax.jit
def random_runs(params, stacked, x, y, key, other_key):
  """Every SmoothGrad and random-attribution run that the tests below check, in ONE program.

  Compiling the threefry PRNG takes seconds on a small CPU, while a program that draws in
  several places costs little more than one that draws once; runs that differ only in sigma
  share one call (vmapped over sigma) for the same reason.
  """
  def sg(sigma, noise, member=params, draw_key=key):
    return G.smoothgrad(mlp, member, x, y, draw_key, SMOOTHGRAD["num_samples"], sigma, noise)

  relative = jax.vmap(lambda s: sg(s, "relative"))(jnp.array([0.0, 0.1]))
  absolute = jax.vmap(lambda s: sg(s, "absolute"))(jnp.array([0.0, 0.1, 0.2]))
  sigmas = jnp.asarray(MEMBER_SIGMAS)
  # lax.map is a sequential loop: the reference for the vmap over members.
  looped = jax.lax.map(lambda args: sg(args[1], "relative", member=args[0]), (stacked, sigmas))
  return {
      "grad": G.input_gradient(mlp, params, x, y),
      "relative_0": relative[0],
      "relative_0.1": relative[1],
      "absolute_0": absolute[0],
      "absolute_0.1": absolute[1],
      "absolute_0.2": absolute[2],
      "relative_0.1_other_key": sg(0.1, "relative", draw_key=other_key),
      "dispatched_smoothgrad": G.attribute("smoothgrad", mlp, params, x, y, key=key,
                                           sigma=0.1, **SMOOTHGRAD),
      "cubic": G.smoothgrad(cubic, None, jnp.asarray(CUBIC_X), jnp.zeros_like(y), key,
                            num_samples=4000, sigma=CUBIC_SIGMA, noise="absolute"),
      "members_vmapped": jax.vmap(lambda p, s: sg(s, "relative", member=p))(stacked, sigmas),
      "members_looped": looped,
      "member_0_grad": G.input_gradient(mlp, jax.tree.map(lambda a: a[0], stacked), x, y),
      "random": G.random_attribution(key, x),
      "random_other_key": G.random_attribution(other_key, x),
      "dispatched_random": G.attribute("random", None, None, x, None, key=key),
  }


@pytest.fixture(scope="module")
def runs():
  params, x, y = images_of_range_two()
  _, stacked = stacked_members((20, 21, 22))
  out = random_runs(params, stacked, x, y, jax.random.key(0), jax.random.key(1))
  return {name: np.asarray(value) for name, value in out.items()}


def test_smoothgrad_with_zero_sigma_is_the_gradient(runs):
  for noise in G.NOISE_SCALES:
    np.testing.assert_allclose(runs[f"{noise}_0"], runs["grad"], rtol=1e-5, atol=1e-7)


def test_smoothgrad_relative_sigma_scales_with_the_input_range(runs):
  # Every example spans 2, so a relative sigma of 0.1 is an absolute one of 0.2, draw by draw.
  np.testing.assert_allclose(runs["relative_0.1"], runs["absolute_0.2"], rtol=1e-5, atol=1e-7)
  assert not np.allclose(runs["relative_0.1"], runs["absolute_0.1"])
  assert not np.allclose(runs["relative_0.1"], runs["grad"])


def test_smoothgrad_noise_comes_from_the_key(runs):
  assert not np.allclose(runs["relative_0.1"], runs["relative_0.1_other_key"])
  # The same key draws the same noise, batched over sigma (relative_0.1) or not (dispatched): equal
  # up to the rounding of batched vs unbatched arithmetic (a different key moves values by ~1e-2).
  np.testing.assert_allclose(runs["dispatched_smoothgrad"], runs["relative_0.1"], rtol=1e-6,
                             atol=1e-7)


def test_smoothgrad_matches_the_expected_gradient_under_gaussian_noise(runs):
  # E[3 (x + s e)^2] = 3 x^2 + 3 s^2: the average must include the noise's 3 s^2 (1.47).
  # Monte Carlo standard error <= sqrt(9 (4 x^2 s^2 + 2 s^4) / 4000) ~ 0.074 (|x| <= 1).
  np.testing.assert_allclose(runs["cubic"], 3 * CUBIC_X ** 2 + 3 * CUBIC_SIGMA ** 2, atol=0.4)


def test_smoothgrad_vmaps_over_members_and_traced_sigma(runs):
  assert runs["members_vmapped"].shape == (3, NUM_EXAMPLES) + IMAGE_SHAPE
  np.testing.assert_allclose(runs["members_vmapped"], runs["members_looped"], rtol=1e-5,
                             atol=1e-7)
  np.testing.assert_allclose(runs["members_vmapped"][0], runs["member_0_grad"], rtol=1e-5,
                             atol=1e-7)


def test_random_attribution_shape_range_and_keys(runs):
  a, b = runs["random"], runs["random_other_key"]
  assert a.shape == (NUM_EXAMPLES,) + IMAGE_SHAPE and a.dtype == np.float32
  assert a.min() >= 0 and a.max() < 1
  assert not np.allclose(a, b)


def test_attribute_dispatches_the_random_methods(runs):
  np.testing.assert_array_equal(runs["dispatched_random"], runs["random"])
  np.testing.assert_allclose(runs["dispatched_smoothgrad"], runs["relative_0.1"], rtol=1e-6,
                             atol=1e-7)
  assert not np.allclose(runs["dispatched_smoothgrad"], runs["absolute_0.1"])


# (score, rule, num_steps) of every completeness check; all run in one float64 program.
IG_RUNS = tuple((score, rule, steps) for rule in G.IG_RULES for steps in (4, 64)
                for score in (G.SCORES if (rule, steps) == ("midpoint", 64) else ("logit",)))


@pytest.fixture(scope="module")
def ig_completeness_errors():
  """(score, rule, num_steps) -> |sum of IG - (score(x) - score(baseline))| per example, |gap|."""
  params = init_mlp(12)
  x, y = batch(13)
  baseline = np.random.default_rng(14).uniform(-0.5, 0.5, size=IMAGE_SHAPE)

  def every_run(p, inputs, labels, base):
    return {run: G.integrated_gradients(mlp, p, inputs, labels, base, num_steps=run[2],
                                        rule=run[1], score=run[0]) for run in IG_RUNS}

  with jax.enable_x64(True):
    igs = jax.jit(every_run)(jax.tree.map(jnp.asarray, params), jnp.asarray(x),
                             jnp.asarray(y), jnp.asarray(baseline))
    igs = {run: np.asarray(ig) for run, ig in igs.items()}
  errors = {}
  for (score, rule, steps), ig in igs.items():
    assert ig.shape == x.shape and ig.dtype == np.float64
    gap = (numpy_scores(params, x, y, score)
           - numpy_scores(params, np.broadcast_to(baseline, x.shape), y, score))
    errors[score, rule, steps] = np.abs(ig.reshape(len(x), -1).sum(1) - gap), np.abs(gap)
  return errors


@pytest.mark.parametrize("rule", G.IG_RULES)
def test_integrated_gradients_completeness_error_shrinks_with_steps(ig_completeness_errors, rule):
  coarse, gap = ig_completeness_errors["logit", rule, 4]
  fine, _ = ig_completeness_errors["logit", rule, 64]
  assert np.all(coarse > 0)
  # O(1 / num_steps^2) for a smooth score: 16x more steps cut the error ~256x; ask for 30x.
  assert np.all(fine <= coarse / 30)
  assert np.all(fine < 1e-3 * (1 + gap))


@pytest.mark.parametrize("score", ["loss", "margin"])
def test_integrated_gradients_completeness_for_other_scores(ig_completeness_errors, score):
  # The margin has kinks where the runner-up class changes, so no rate is asked for.
  error, gap = ig_completeness_errors[score, "midpoint", 64]
  assert np.all(error < 2e-3 * (1 + gap))


@pytest.mark.parametrize("rule", G.IG_RULES)
def test_integrated_gradients_of_a_linear_model_is_exact(rule):
  w = jnp.array([[1.0, -2.0], [0.5, 3.0], [-1.5, 0.0]])
  linear = lambda p, x: x @ p
  x = jnp.array([[1.0, 2.0, 3.0], [-1.0, 0.0, 0.5]])
  y = jnp.array([0, 1])
  for baseline in (jnp.array([0.5, -0.5, 1.0]), jnp.zeros(3)):
    got = attribute("integrated_gradients", linear, w, x, y, baseline=baseline, num_steps=3,
                    rule=rule)
    np.testing.assert_allclose(got, (x - baseline) * w[:, y].T, rtol=1e-6)


OPTIONS = {"smoothgrad": SMOOTHGRAD, "integrated_gradients": IG}


@jax.jit
def direct_and_dispatched(params, x, y):
  """The deterministic methods, called directly and through `attribute` (random ones: above)."""
  direct = {
      "grad_logit": G.input_gradient(mlp, params, x, y, "logit"),
      "grad_loss": G.input_gradient(mlp, params, x, y, "loss"),
      "grad_margin": G.input_gradient(mlp, params, x, y, "margin"),
      "grad_x_input": G.gradient_times_input(mlp, params, x, y),
      "integrated_gradients": G.integrated_gradients(mlp, params, x, y, **IG),
  }
  dispatched = {method: G.attribute(method, mlp, params, x, y, **OPTIONS.get(method, {}))
                for method in direct}
  return direct, dispatched


def test_attribute_dispatches_the_deterministic_methods():
  (params, x, y), _ = float32_problem(6)
  direct, dispatched = direct_and_dispatched(params, x, y)
  assert set(direct) | {"smoothgrad", "random"} == set(G.METHODS)
  for method, want in direct.items():
    np.testing.assert_allclose(dispatched[method], want, rtol=1e-6, atol=1e-8, err_msg=method)
  # The methods differ from one another, so a wrong mapping would show.
  values = [np.asarray(v) for v in direct.values()]
  assert all(not np.allclose(a, b) for i, a in enumerate(values) for b in values[i + 1:])


def test_attribute_rejects_bad_requests():
  (params, x, y), _ = float32_problem(6)
  with pytest.raises(ValueError, match="grad_logit.*integrated_gradients.*random"):
    G.attribute("saliency", mlp, params, x, y)
  with pytest.raises(ValueError, match="PRNG key"):
    G.attribute("smoothgrad", mlp, params, x, y)
  with pytest.raises(ValueError, match="fixes"):
    G.attribute("grad_logit", mlp, params, x, y, score="loss")
  with pytest.raises(ValueError, match="score"):
    G.input_gradient(mlp, params, x, y, score="probability")
  with pytest.raises(ValueError, match="rule"):
    G.integrated_gradients(mlp, params, x, y, rule="simpson")
  with pytest.raises(ValueError, match="noise"):
    G.smoothgrad(mlp, params, x, y, jax.random.key(0), noise="gaussian")


@pytest.mark.parametrize("method", ["grad_margin", "integrated_gradients"])
def test_vmap_over_members_equals_a_loop(method):
  (_, x, y), _ = float32_problem(6)
  members, stacked = stacked_members((20, 21, 22))
  opts = OPTIONS.get(method, {})
  if method == "integrated_gradients":
    opts = dict(opts, baseline=0.0)
  one = lambda p: G.attribute(method, mlp, p, x, y, **opts)
  got = jax.jit(jax.vmap(one))(stacked)
  looped = np.stack([attribute(method, mlp, p, x, y, **opts) for p in members])
  assert got.shape == (3,) + x.shape
  np.testing.assert_allclose(got, looped, rtol=1e-5, atol=1e-7)
  assert not np.allclose(got[0], got[1])


def test_integrated_gradients_vmaps_over_traced_baselines():
  params, x, y = images_of_range_two()
  levels = (0.0, 0.5)
  baselines = jnp.stack([jnp.full(IMAGE_SHAPE, level) for level in levels])
  ig = lambda b: G.integrated_gradients(mlp, params, x, y, b, **IG)
  got = jax.jit(jax.vmap(ig))(baselines)
  for i, level in enumerate(levels):
    np.testing.assert_allclose(
        got[i], attribute("integrated_gradients", mlp, params, x, y, baseline=level, **IG),
        rtol=1e-5, atol=1e-7)
  assert not np.allclose(got[0], got[1])


def test_pixel_scores_against_numpy():
  attr = np.random.default_rng(25).normal(size=(3, 4, 5, 3)).astype(np.float32)
  np.testing.assert_allclose(G.pixel_scores(attr), np.abs(attr).sum(-1), rtol=1e-6)
  np.testing.assert_allclose(G.pixel_scores(attr, "abs_max"), np.abs(attr).max(-1))
  for maps in (attr.reshape(3, -1), attr[..., 0]):
    np.testing.assert_array_equal(G.pixel_scores(maps), np.abs(maps))
  with pytest.raises(ValueError):
    G.pixel_scores(attr, "sum")


# -------------------------------------------------------------------------------- masking

SCORES_SHAPE = (5, 6, 7)  # every keyed mask uses this shape: one compile of the shuffle
NUM_FEATURES = 42


def distinct_scores(seed=26):
  rng = np.random.default_rng(seed)
  return rng.permutation(np.prod(SCORES_SHAPE)).reshape(SCORES_SHAPE).astype(np.float32)


def tied_scores(seed=27):
  return np.random.default_rng(seed).integers(0, 3, size=SCORES_SHAPE).astype(np.float32)


@pytest.mark.parametrize("side", M.SIDES)
def test_rank_mask_keeps_the_brute_force_top_or_bottom(side):
  scores = distinct_scores()
  for fraction in (0.0, 0.025, 0.1, 0.3, 0.5, 1.0):
    k = round(fraction * NUM_FEATURES)
    for key in (None, jax.random.key(0)):
      mask = np.asarray(M.rank_mask(scores, fraction, side=side, key=key))
      assert mask.shape == SCORES_SHAPE and mask.dtype == bool
      for i in range(len(scores)):
        flat = scores[i].ravel()
        order = np.argsort(-flat if side == "top" else flat)
        expected = np.zeros(NUM_FEATURES, bool)
        expected[order[:k]] = True
        np.testing.assert_array_equal(mask[i].ravel(), expected)


def test_num_kept_rounds_like_python():
  for fraction in (0.0, 0.025, 0.05, 0.1, 0.25, 0.3, 0.5, 0.7, 1.0):
    for num in (1, 7, 10, 784, 1568):
      assert M.num_kept(fraction, num) == round(fraction * num)
  np.testing.assert_array_equal(M.num_kept([0.1, 0.25], 10), [1, 2])
  assert int(M.num_kept(jnp.float32(0.3), 10)) == 3
  with pytest.raises(ValueError):
    M.num_kept(1.5, 10)


def test_ties_are_broken_at_random_with_exact_counts():
  scores = np.ones(SCORES_SHAPE, np.float32)
  first = np.asarray(M.rank_mask(scores, 0.25, key=jax.random.key(0)))
  second = np.asarray(M.rank_mask(scores, 0.25, key=jax.random.key(1)))
  k = round(0.25 * NUM_FEATURES)
  assert (first.sum((1, 2)) == k).all() and (second.sum((1, 2)) == k).all()
  assert not np.array_equal(first, second)
  # Different instances get different tie orders too.
  assert not np.array_equal(first[0], first[1])
  # Without a key, ties go to the lower index on top and the higher one at the bottom.
  index = np.arange(NUM_FEATURES).reshape(SCORES_SHAPE[1:])
  np.testing.assert_array_equal(M.rank_mask(scores, 0.25)[0], index < k)
  np.testing.assert_array_equal(M.rank_mask(scores, 0.25, "bottom")[0], index >= 42 - k)


def test_random_tie_breaking_is_uniform_and_only_among_ties():
  # Per instance: one 5, six 3s, thirty-two 1s and three zeros, one of them -0.0.
  row = np.array([5.0] + [3.0] * 6 + [1.0] * 32 + [0.0, -0.0, 0.0], np.float32)
  scores = np.broadcast_to(row.reshape(SCORES_SHAPE[1:]), SCORES_SHAPE)
  top, bottom = [], []
  for seed in range(60):
    key = jax.random.key(seed)
    top.append(np.asarray(M.rank_mask(scores, 3 / 42, key=key)).reshape(-1, 42))
    bottom.append(np.asarray(M.rank_mask(scores, 1 / 42, "bottom", key)).reshape(-1, 42))
  top, bottom = np.concatenate(top), np.concatenate(bottom)  # 300 draws each
  assert (top.sum(1) == 3).all() and (bottom.sum(1) == 1).all()
  # The 5 is always kept; the two other places go to the six tied 3s, 1/3 each.
  assert top[:, 0].all() and not top[:, 7:].any()
  np.testing.assert_allclose(top[:, 1:7].mean(0), 1 / 3, atol=0.1)
  # -0.0 and 0.0 tie: each of the three zeros is the lowest with probability 1/3.
  assert not bottom[:, :39].any()
  np.testing.assert_allclose(bottom[:, 39:].mean(0), 1 / 3, atol=0.1)


@pytest.mark.parametrize("seed", [None, 3])
def test_top_and_bottom_are_complementary(seed):
  key = None if seed is None else jax.random.key(seed)
  scores = tied_scores()
  for k in (0, 5, 21, 42):
    top = np.asarray(M.rank_mask(scores, k / 42, "top", key))
    bottom = np.asarray(M.rank_mask(scores, (42 - k) / 42, "bottom", key))
    np.testing.assert_array_equal(top, ~bottom)


def test_feature_ranks_are_permutations_that_order_the_scores():
  scores = tied_scores()
  flat = scores.reshape(len(scores), -1)
  for side in M.SIDES:
    ranks = np.asarray(M.feature_ranks(scores, side, jax.random.key(4))).reshape(flat.shape)
    for i in range(len(flat)):
      np.testing.assert_array_equal(np.sort(ranks[i]), np.arange(NUM_FEATURES))
      in_order = flat[i][np.argsort(ranks[i])]
      steps = np.diff(in_order) if side == "bottom" else -np.diff(in_order)
      assert np.all(steps >= 0)


def test_traced_fraction_under_jit_and_vmap():
  scores = distinct_scores()
  fractions = [0.0, 0.05, 0.25, 1.0]
  masks = jax.jit(jax.vmap(lambda f: M.rank_mask(scores, f)))(jnp.asarray(fractions))
  np.testing.assert_array_equal(masks.sum((2, 3)), np.repeat([[0], [2], [10], [42]], 5, axis=1))
  for fraction, mask in zip(fractions, masks):
    np.testing.assert_array_equal(mask, M.rank_mask(scores, fraction))


def test_apply_mask_broadcasts_pixel_masks_and_fills():
  rng = np.random.default_rng(29)
  x = rng.uniform(size=(2, 3, 4, 3)).astype(np.float32)
  mask = rng.uniform(size=(2, 3, 4)) < 0.5
  np.testing.assert_array_equal(M.apply_mask(x, mask, 0.0), np.where(mask[..., None], x, 0.0))
  mean = x.mean(0)
  np.testing.assert_array_equal(M.apply_mask(x, mask, mean), np.where(mask[..., None], x, mean))
  # Channel-wise masks and vectors use the mask as it is.
  full_mask = rng.uniform(size=x.shape) < 0.5
  np.testing.assert_array_equal(M.apply_mask(x, full_mask, -1.0), np.where(full_mask, x, -1.0))
  v = x.reshape(2, -1)
  vmask = rng.uniform(size=v.shape) < 0.5
  np.testing.assert_array_equal(M.apply_mask(v, vmask, v.mean(0)),
                                np.where(vmask, v, v.mean(0)))


# -------------------------------------------------------------------------------- quality


# Fractions static: computed with Python's rounding, as callers passing a tuple get.
topk_share_in_region = jax.jit(Q.topk_share_in_region, static_argnames="fractions")


def brute_topk_share(scores, region, fractions):
  n = len(scores)
  flat = scores.reshape(n, -1)
  region = np.broadcast_to(region, scores.shape).reshape(n, -1)
  out = np.zeros((n, len(fractions)))
  for i in range(n):
    order = np.argsort(-flat[i], kind="stable")
    for j, f in enumerate(fractions):
      k = round(f * flat.shape[1])
      out[i, j] = region[i, order[:k]].mean() if k else np.nan
  return out


def test_topk_share_in_region_against_brute_force():
  rng = np.random.default_rng(30)
  scores = distinct_scores(31)
  fractions = (0.0, 0.025, 0.05, 0.1, 0.2, 0.3, 1.0)
  per_image = rng.uniform(size=SCORES_SHAPE) < 0.4
  shared = np.arange(6)[:, None].repeat(7, 1) < 3
  for region in (per_image, shared):
    got = np.asarray(topk_share_in_region(scores, region, fractions))
    assert got.shape == (len(scores), len(fractions))
    np.testing.assert_allclose(got, brute_topk_share(scores, region, fractions), rtol=1e-6)
  # Traced fractions give the same shares.
  got = jax.jit(Q.topk_share_in_region)(scores, per_image, jnp.asarray(fractions))
  np.testing.assert_allclose(got, brute_topk_share(scores, per_image, fractions), rtol=1e-6)


def test_topk_share_breaks_ties_with_the_key():
  scores = np.zeros(SCORES_SHAPE, np.float32)
  region = np.arange(42).reshape(6, 7) < 21
  # Without a key the tied top half is the first 21 pixels, all in the region.
  np.testing.assert_array_equal(Q.topk_share_in_region(scores, region, [0.5]), 1.0)
  # Eager: the keyed shuffle of this shape is compiled already (by the masking tests).
  shares = np.concatenate([Q.topk_share_in_region(scores, region, [0.5], jax.random.key(s))
                           for s in range(10)])
  assert shares.min() < 1.0 and 0.4 < shares.mean() < 0.6


def test_mass_share_against_numpy():
  rng = np.random.default_rng(32)
  scores = rng.normal(size=(3, 6, 4)).astype(np.float32)
  scores[2] = 0.0
  per_image = rng.uniform(size=(3, 6, 4)) < 0.5
  for region in (per_image, per_image[0]):
    got = np.asarray(jax.jit(Q.mass_share)(scores, region))
    magnitude = np.abs(scores[:2]).reshape(2, -1)
    inside = (magnitude * np.broadcast_to(region, scores.shape)[:2].reshape(2, -1)).sum(1)
    np.testing.assert_allclose(got[:2], inside / magnitude.sum(1), rtol=1e-5)
    # No mass, no share.
    assert np.isnan(got[2])


def test_leakage_score_is_pearson_and_nan_safe():
  rng = np.random.default_rng(33)
  maps = rng.uniform(size=(5, 7, 6)).astype(np.float32)
  reference = rng.uniform(size=(5, 7, 6)).astype(np.float32)
  maps[1] = 2.0 * reference[1] + 1.0         # perfect match
  maps[2] = -reference[2]                    # anti-correlated
  maps[3] = 0.1                              # constant: correlation undefined
  leakage_score = jax.jit(Q.leakage_score)
  got = np.asarray(leakage_score(maps, reference))
  for i in (0, 4):
    np.testing.assert_allclose(got[i], np.corrcoef(maps[i].ravel(), reference[i].ravel())[0, 1],
                               atol=1e-5)
  np.testing.assert_allclose(got[[1, 2]], [1.0, -1.0], atol=1e-5)
  assert got[3] == 0.0
  # A shared reference map, and a constant reference.
  shared = np.asarray(leakage_score(maps, reference[0]))
  np.testing.assert_allclose(shared[0], np.corrcoef(maps[0].ravel(), reference[0].ravel())[0, 1],
                             atol=1e-5)
  assert shared[3] == 0.0
  assert np.all(np.asarray(leakage_score(maps, np.zeros((7, 6)))) == 0.0)
