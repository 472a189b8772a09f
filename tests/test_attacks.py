"""Tests for PGD, the perturbation share and the label-signed universal perturbations.

One model family serves every test: a tanh MLP plus a linear 2-class head, ``logits = MLP(x) +
[0, w.x + b]``. Random MLPs with the linear head at zero are the non-linear models on which the
invariants every attack must respect are checked; the member with the MLP weights at zero is
exactly linear, and its worst-case perturbations are known in closed form: over the l2 ball
``-s eps w / ||w||`` (signed margin down by ``eps ||w||_2``), over the linf ball ``-s eps
sign(w)`` (down by ``eps ||w||_1``), with ``s = 2y - 1``; the same directions, unsigned by
example, are the optimal universal perturbations.

XLA:CPU compile time, not run time, is what these tests cost, so all models share one parameter
structure and input shape, test-side arithmetic is numpy, ``eps`` is a grid traced through
``jax.vmap``, and each norm's attacks are compiled together once and cached (``attack_grids``,
``member_eval``); the tests then check different properties of the same outputs. Keys are
``unsafe_rbg``: threefry is the slowest thing to compile here.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from simplicity_bias.attacks.pgd import (per_example_loss, perturbation_share, pgd, pgd_run,
                                         random_in_ball, robust_accuracy)
from simplicity_bias.attacks.uap import apply_uap, as_uap, svd_uap, uap_accuracy

SHAPE = (3, 2, 2)  # per-example shape: norms must run over every non-batch axis
DIM = 12
N = 64
HIDDEN = 16
STEPS = 5
RESTARTS = 2
BOX = (0.0, 1.0)
# The eps grid every attack runs on, with its step sizes: 2.5 eps / STEPS, except a non-zero
# step at eps = 0 (the projection alone must give exactly 0), a step of 2 eps (PGD overshoots)
# and a tiny step at the largest eps (the attack stays next to its random start).
EPS = np.array([0.0, 0.05, 0.4, 2.0, 2.0], np.float32)
STEP = np.array([0.1, 2.5 * 0.05 / STEPS, 2.5 * 0.4 / STEPS, 4.0, 1e-4], np.float32)
MAIN, BIG_STEP, NEAR_START = 2, 3, 4  # grid indices
ACC_EPS = MAIN + 1  # robust accuracy is computed at EPS[:ACC_EPS]
MEMBER_EPS = 0.4  # eps of the as_uap fits from 0
UAP_EPS = 0.3  # eps of the boxed, random-start as_uap
NUM_STARTS, START_EPS = 4000, 1.5  # random_in_ball draws
NORMS = ["linf", "l2"]
LINEAR = 3  # index of the linear model among MEMBERS


# Compile time dominates: LLVM optimisation buys nothing at these sizes and only adds to it.
jit = functools.partial(jax.jit, compiler_options={"xla_backend_optimization_level": 0})


def key():
  return jax.random.key(0, impl="unsafe_rbg")


def model(params, x):
  flat = x.reshape(x.shape[0], -1)
  h = jnp.tanh(flat @ params["w1"] + params["b1"])
  f = flat @ params["w"] + params["b"]
  return h @ params["w2"] + params["b2"] + jnp.stack([jnp.zeros_like(f), f], axis=-1)


def init_mlp(seed, classes=2):
  rng = np.random.default_rng(seed)
  return {"w1": (rng.normal(size=(DIM, HIDDEN)) * 2.0 / np.sqrt(DIM)).astype(np.float32),
          "b1": (0.1 * rng.normal(size=HIDDEN)).astype(np.float32),
          "w2": (rng.normal(size=(HIDDEN, classes)) / np.sqrt(HIDDEN)).astype(np.float32),
          "b2": np.zeros(classes, np.float32), "w": np.zeros(DIM, np.float32),
          "b": np.zeros((), np.float32)}


def init_linear(seed=100):
  rng = np.random.default_rng(seed)
  params = {k: np.zeros_like(v) for k, v in init_mlp(0).items()}
  return dict(params, w=rng.normal(size=DIM).astype(np.float32), b=np.float32(0.3))


def data(seed, uniform=False):
  rng = np.random.default_rng(seed)
  x = rng.uniform(size=(N,) + SHAPE) if uniform else rng.normal(size=(N,) + SHAPE)
  return x.astype(np.float32), rng.integers(0, 2, N).astype(np.int32)


X, Y = data(0)
XU = data(1, uniform=True)[0]  # inside BOX, with labels Y
MLP = init_mlp(1)
MEMBERS = [MLP, init_mlp(2), init_mlp(3), init_linear()]


def logits_np(params, x):
  """``model`` in numpy (float64): the reference the tests score attacks with."""
  p = {k: np.asarray(v, np.float64) for k, v in params.items()}
  flat = x.reshape(len(x), -1).astype(np.float64)
  f = flat @ p["w"] + p["b"]
  logits = np.tanh(flat @ p["w1"] + p["b1"]) @ p["w2"] + p["b2"]
  return logits + np.stack([np.zeros_like(f), f], axis=-1)


def loss(params, x, y):
  """Per-example cross-entropy of ``model``, in numpy (float64)."""
  logits = logits_np(params, x)
  top = logits.max(axis=1)
  log_norm = top + np.log(np.sum(np.exp(logits - top[:, None]), axis=1))
  return log_norm - logits[np.arange(len(y)), y]


def sign(y):
  return (2.0 * y - 1.0).reshape((-1,) + (1,) * len(SHAPE))


def norms(delta, norm):
  flat = np.asarray(delta).reshape(delta.shape[0], -1)
  return np.linalg.norm(flat, axis=1) if norm == "l2" else np.max(np.abs(flat), axis=1)


def signed_margin(params, x, y):
  return (2.0 * y - 1.0) * (x.reshape(len(x), -1) @ params["w"] + params["b"])


def dual_norm(w, norm):
  """How much the signed margin of a linear model drops per unit of ``eps``."""
  return float(np.linalg.norm(w)) if norm == "l2" else float(np.sum(np.abs(w)))


def worst_direction(w, norm):
  return (w / np.linalg.norm(w) if norm == "l2" else np.sign(w)).reshape(SHAPE)


@functools.lru_cache(maxsize=None)
def compiled_grids(norm):
  """Every attack the norm's tests check, from one compiled function.

  PGD over the eps grid from 0 (det), from random starts with restarts (rs) and in a box (box);
  each restart of rs alone (runs); a single run from 0 returning its last iterate, as det would
  without keep_best (last); robust accuracy over the first ACC_EPS grid radii (acc);
  as_uap from 0 at MEMBER_EPS (uap) and, for linf, from a random start, boxed, at eps 0 and
  UAP_EPS (uap_box); draws from random_in_ball (starts).
  """
  @jit
  def run(params, k):
    def grid(x, random_start, restarts, box=None):
      return jax.vmap(lambda eps, step: pgd(
          model, params, x, Y, k, norm=norm, eps=eps, step_size=step, num_steps=STEPS,
          restarts=restarts, random_start=random_start, box=box))(EPS, STEP)

    # One after another, unbatched, as pgd runs them (batching unsafe_rbg draws changes them).
    def restarts_alone(eps, step):
      return jax.lax.map(lambda kk: pgd_run(model, params, X, Y, kk, norm=norm, eps=eps,
                                            step_size=step, num_steps=STEPS),
                         jax.random.split(k, RESTARTS))

    out = {"det": grid(X, False, 1), "rs": grid(X, True, RESTARTS),
           "box": grid(XU, True, RESTARTS, BOX),
           "clean_loss_jax": per_example_loss(model, params, X, Y)}
    out["runs"], out["runs_loss"] = jax.vmap(restarts_alone)(EPS, STEP)
    out["last"], out["last_loss"] = jax.vmap(lambda eps, step: pgd_run(
        model, params, X, Y, k, norm=norm, eps=eps, step_size=step, num_steps=STEPS,
        random_start=False, keep_best=False))(EPS, STEP)
    out["acc"] = robust_accuracy(model, params, X, Y, k, eps_list=EPS[:ACC_EPS], norm=norm,
                                 num_steps=STEPS, random_start=False)
    out["uap"] = as_uap(model, params, X, Y, k, eps=MEMBER_EPS, num_steps=STEPS, norm=norm)
    if norm == "linf":  # l2 random starts are checked in pgd; one norm is enough here
      out["uap_box"] = jax.vmap(lambda eps: as_uap(
          model, params, XU, Y, k, eps=eps, num_steps=STEPS, norm=norm, box=BOX,
          random_start=True))(jnp.array([0.0, UAP_EPS]))
    out["starts"] = random_in_ball(k, (NUM_STARTS,) + SHAPE, START_EPS, norm)
    return out
  return run


@functools.lru_cache(maxsize=None)
def attack_grids(norm, linear=False):
  """Outputs of :func:`compiled_grids` (numpy) for the MLP or the linear model."""
  params = init_linear() if linear else MLP
  out = {name: np.asarray(v) for name, v in compiled_grids(norm)(params, key()).items()}
  out["clean_loss"] = loss(params, X, Y)
  for config in ("det", "rs"):
    out[f"{config}_loss"] = np.stack([loss(params, X + d, Y) for d in out[config]])
  return out


@functools.lru_cache(maxsize=None)
def member_eval(norm):
  """pgd (as in ``rs`` at ``EPS[MAIN]``), robust accuracy and as_uap (as in ``acc`` and ``uap``)
  vmapped over the stacked ``MEMBERS``; numpy. Members 0 and LINEAR are the models
  :func:`attack_grids` attacks one at a time, so the two can be compared."""
  @jit
  def run(stacked, k):
    def f(params):
      delta = pgd(model, params, X, Y, k, norm=norm, eps=EPS[MAIN], step_size=STEP[MAIN],
                  num_steps=STEPS, restarts=RESTARTS)
      acc = robust_accuracy(model, params, X, Y, k, eps_list=EPS[:ACC_EPS], norm=norm,
                            num_steps=STEPS, random_start=False)
      u = as_uap(model, params, X, Y, k, eps=MEMBER_EPS, num_steps=STEPS, norm=norm)
      return delta, acc, u
    return jax.vmap(f)(stacked)

  stacked = jax.tree.map(lambda *a: np.stack(a), *MEMBERS)
  return tuple(np.asarray(v) for v in run(stacked, key()))


@jit
def uap_eval(params, x, y, u):
  """Accuracy under ``u`` and the perturbed inputs without and with the box."""
  return uap_accuracy(model, params, x, y, u), apply_uap(x, y, u), apply_uap(x, y, u, box=BOX)


# ----------------------------------------------------------------------------- PGD invariants

@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("config", ["det", "rs"])
def test_pgd_stays_in_norm_ball(norm, config):
  """||delta|| <= eps for every example and every eps of a traced (vmapped, jitted) grid, from 0
  (det) and from random starts with restarts (rs); the ball binds, so a missing projection would
  be caught."""
  deltas = attack_grids(norm)[config]
  assert deltas.shape == (len(EPS), N) + SHAPE and deltas.dtype == np.float32
  for eps, delta in zip(EPS, deltas):
    assert np.all(norms(delta, norm) <= eps + 1e-6), (eps, norms(delta, norm).max())
  assert norms(deltas[MAIN], norm).max() > 0.99 * EPS[MAIN]


@pytest.mark.parametrize("norm", NORMS)
def test_pgd_stays_in_box(norm):
  """x + delta stays in [0, 1] (the box binds somewhere), delta stays in the ball."""
  deltas = attack_grids(norm)["box"]
  for eps, delta in zip(EPS, deltas):
    x_adv = XU + delta
    assert x_adv.min() >= -1e-6 and x_adv.max() <= 1.0 + 1e-6, eps
    assert np.all(norms(delta, norm) <= eps + 1e-6), eps
  x_adv = XU + deltas[NEAR_START]
  assert np.mean((x_adv < 1e-6) | (x_adv > 1.0 - 1e-6)) > 0.05  # the box was active


@pytest.mark.parametrize("norm", NORMS)
def test_attacked_loss_never_below_clean_loss(norm):
  """delta = 0 is a candidate, so the per-example attacked loss is >= the clean loss.

  At the near-random-start grid point a bare restart does lower the loss of some examples, so
  the property rests on the zero candidate, not on luck.
  """
  out = attack_grids(norm)
  clean = out["clean_loss"]
  np.testing.assert_allclose(clean, out["clean_loss_jax"], atol=1e-5)  # the numpy reference
  for config in ("det", "rs"):
    assert np.all(out[f"{config}_loss"] >= clean - 1e-6), config
    assert np.mean(out[f"{config}_loss"][MAIN] > clean + 1e-3) > 0.9  # it does attack
  assert np.any(out["runs_loss"][NEAR_START] < clean - 1e-3)


@pytest.mark.parametrize("norm", NORMS)
def test_restarts_keep_per_example_worst(norm):
  """Per example, the kept delta is the candidate (0 or a restart, each run separately with the
  same key) with the highest loss; different examples are won by different restarts."""
  out = attack_grids(norm)
  for i, eps in enumerate(EPS):
    for d in out["runs"][i]:
      assert np.all(norms(d, norm) <= eps + 1e-6)
    losses = np.concatenate([out["clean_loss"][None], out["runs_loss"][i]])
    candidates = np.concatenate([np.zeros((1, N) + SHAPE, np.float32), out["runs"][i]])
    best = np.argmax(losses, axis=0)
    np.testing.assert_allclose(out["rs_loss"][i], losses.max(axis=0), atol=1e-5)
    np.testing.assert_allclose(out["rs"][i], candidates[best, np.arange(N)], atol=1e-6)
    if i == MAIN:
      assert set(best) == set(range(1, RESTARTS + 1))  # every restart wins some example


@pytest.mark.parametrize("norm", NORMS)
def test_keep_best_is_never_below_the_last_iterate(norm):
  """From the same start, the best iterate's loss is >= the last iterate's, and strictly above
  it where PGD overshoots; each run reports the loss of the delta it returns."""
  out = attack_grids(norm)
  for i, eps in enumerate(EPS):
    assert np.all(norms(out["last"][i], norm) <= eps + 1e-6)
    np.testing.assert_allclose(out["last_loss"][i], loss(MLP, X + out["last"][i], Y), atol=1e-5)
    for r in range(RESTARTS):
      np.testing.assert_allclose(out["runs_loss"][i, r], loss(MLP, X + out["runs"][i, r], Y),
                                 atol=1e-5)
  assert np.all(out["det_loss"] >= out["last_loss"] - 1e-5)
  assert np.any(out["det_loss"][BIG_STEP] > out["last_loss"][BIG_STEP] + 1e-3)


@pytest.mark.parametrize("norm", NORMS)
def test_pgd_reaches_linear_closed_form(norm):
  """On a linear model PGD finds -s eps w/||w|| (l2) or -s eps sign(w) (linf), and the signed
  margin drops by exactly eps times the dual norm of w. A random l2 start is only forgotten
  asymptotically (each projection rescales it), so l2 is checked from 0 only."""
  params, out = init_linear(), attack_grids(norm, linear=True)
  margin, w = signed_margin(params, X, Y), params["w"]
  for config in ["det", "last"] + (["rs"] if norm == "linf" else []):
    for i in range(NEAR_START):
      delta = out[config][i]
      np.testing.assert_allclose(delta, -sign(Y) * EPS[i] * worst_direction(w, norm), atol=1e-5)
      np.testing.assert_allclose(signed_margin(params, X + delta, Y),
                                 margin - EPS[i] * dual_norm(w, norm), atol=1e-4)


@pytest.mark.parametrize("norm", NORMS)
def test_robust_accuracy_linear_closed_form(norm):
  """Accuracy under attack = fraction of signed margins above eps times the dual norm of w."""
  params = init_linear()
  margin = signed_margin(params, X, Y)
  acc = attack_grids(norm, linear=True)["acc"]
  expected = [np.mean(margin > e * dual_norm(params["w"], norm)) for e in EPS[:ACC_EPS]]
  np.testing.assert_allclose(acc, expected, atol=1e-6)
  assert expected[-1] < expected[0]


@pytest.mark.parametrize("norm", NORMS)
def test_eps_zero_is_no_attack(norm):
  """eps = 0 gives delta == 0 exactly (from 0 or random starts, with restarts, a non-zero step
  size and a box), hence exactly the clean accuracy; as_uap gives u == 0."""
  out = attack_grids(norm)
  for config in ("det", "rs", "box"):
    assert np.all(out[config][0] == 0.0), config
  clean = np.mean(np.argmax(logits_np(MLP, X), -1) == Y)
  assert float(out["acc"][0]) == clean and float(out["acc"][-1]) < clean
  if norm == "linf":
    assert np.all(out["uap_box"][0] == 0.0)


@pytest.mark.parametrize("norm", NORMS)
def test_vmap_over_members_matches_loop(norm):
  """pgd, robust_accuracy and as_uap vmapped over stacked member params equal the same attacks
  run on one member at a time."""
  delta, acc, u = member_eval(norm)
  for i, linear in ((0, False), (LINEAR, True)):
    alone = attack_grids(norm, linear)
    np.testing.assert_allclose(delta[i], alone["rs"][MAIN], atol=1e-5)
    np.testing.assert_allclose(acc[i], alone["acc"], atol=1e-6)
    np.testing.assert_allclose(u[i], alone["uap"], atol=1e-5)
  for a, b in ((0, 1), (1, 2)):  # members differ, so a batching mix-up would show
    assert not np.allclose(delta[a], delta[b]) and not np.allclose(u[a], u[b])


@pytest.mark.parametrize("norm", NORMS)
def test_random_start_is_uniform_in_ball(norm):
  """Random starts are uniform in the ball: for l2, (r / eps)^D is U(0, 1) and directions are
  symmetric; for linf, every coordinate is U(-eps, eps)."""
  draws = attack_grids(norm)["starts"].reshape(NUM_STARTS, -1)
  n = NUM_STARTS
  ks_grid = (np.arange(n) + 0.5) / n
  if norm == "l2":
    r = norms(draws, "l2")
    assert r.max() <= START_EPS + 1e-6
    u = np.sort((r / START_EPS) ** DIM)
    assert np.max(np.abs(u - ks_grid)) < 0.03  # Kolmogorov-Smirnov distance
    assert np.max(np.abs((draws / r[:, None]).mean(0))) < 0.03
  else:
    for j in range(DIM):
      u = np.sort(draws[:, j] / (2 * START_EPS) + 0.5)
      assert np.max(np.abs(u - ks_grid)) < 0.03, j


# ----------------------------------------------------------------------------- perturbation share

def test_perturbation_share_of_latent_coordinates():
  """A delta living on the S latent coordinates has share 1, one living off them share 0, a
  mixed one its exact share; a zero delta has none (NaN) and is left out of the mean."""
  d, n, coords = 8, 10, np.array([0, 3, 5])
  rng = np.random.default_rng(4)
  rotation = np.linalg.qr(rng.normal(size=(d, d)))[0].astype(np.float32)
  z = rng.normal(size=(n, d)).astype(np.float32)
  on = np.isin(np.arange(d), coords)
  latent = np.concatenate([np.where(on, z, 0.0), np.where(on, 0.0, z), z, np.zeros((1, d))])
  deltas = (latent @ rotation).astype(np.float32)  # data are x = z @ rotation
  expected = np.concatenate([np.ones(n), np.zeros(n), np.sum(latent[:n] ** 2, 1)
                             / np.sum(z ** 2, 1), [np.nan]])

  @jit
  def shares(deltas):
    return (perturbation_share(deltas, rotation, coords=coords),
            perturbation_share(deltas, rotation, coords=on),  # a bool mask
            perturbation_share(deltas, coords=coords))  # not un-rotated

  (mean, share), (mean_mask, share_mask), (_, unrotated) = shares(deltas)
  np.testing.assert_allclose(share, expected, atol=1e-5)
  np.testing.assert_allclose(share_mask, expected, atol=1e-5)
  assert float(mean) == pytest.approx(np.nanmean(expected), abs=1e-5)
  assert float(mean_mask) == pytest.approx(np.nanmean(expected), abs=1e-5)
  assert np.all(np.asarray(unrotated)[:n] < 0.99)  # the rotation matters


def test_perturbation_share_of_image_rows():
  """On 64x32x3 images, rows 0..32 (the top block) carry all or none of the budget."""
  delta = np.random.default_rng(5).normal(size=(4, 64, 32, 3)).astype(np.float32)
  top = delta.copy()
  top[:, 32:] = 0.0

  @jit
  def shares(top, delta):
    return (perturbation_share(top, rows=(0, 32))[0], perturbation_share(top, rows=(32, 64))[0],
            perturbation_share(delta, rows=(0, 32))[0])

  top_on, top_off, full = shares(top, delta)
  assert float(top_on) == pytest.approx(1.0) and float(top_off) == pytest.approx(0.0)
  assert 0.4 < float(full) < 0.6
  with pytest.raises(ValueError):
    perturbation_share(delta)
  with pytest.raises(ValueError):
    perturbation_share(delta, coords=[0], rows=(0, 32))


# ----------------------------------------------------------------------- universal perturbations

def test_svd_uap_recovers_shared_direction():
  """Deltas s_i c_i v0 + noise (c_i > 0) give u = eps v0: parallel, positive sign, norm eps.

  Both signs of v0 are tried: an SVD fixes a singular vector only up to sign, so one of them
  would fail without the sign fix. eps = 0 gives exactly 0.
  """
  n, eps = 40, 0.7
  rng = np.random.default_rng(6)
  y = rng.integers(0, 2, n).astype(np.int32)
  c = rng.uniform(0.5, 2.0, n).reshape(n, 1, 1, 1)
  noise = 0.01 * rng.normal(size=(n,) + SHAPE)
  v0 = rng.normal(size=SHAPE)
  fit = jit(svd_uap)
  for flip in (1.0, -1.0):
    v = flip * v0 / np.linalg.norm(v0)
    u = np.asarray(fit((sign(y) * c * v + noise).astype(np.float32), y, eps))
    assert u.shape == SHAPE
    assert np.linalg.norm(u) == pytest.approx(eps, rel=1e-5)
    assert np.sum(u * v) / eps > 0.999
  assert np.all(np.asarray(fit(noise.astype(np.float32), y, 0.0)) == 0.0)


@pytest.mark.parametrize("norm", NORMS)
def test_as_uap_reaches_linear_closed_form(norm):
  """On a linear model the UAP is -eps w/||w|| (l2) or -eps sign(w) (linf), and accuracy on a
  held-out split drops to the fraction of signed margins above eps times the dual norm of w."""
  params = init_linear()
  u = attack_grids(norm, linear=True)["uap"]  # fitted on X, Y
  np.testing.assert_allclose(u, -MEMBER_EPS * worst_direction(params["w"], norm), atol=1e-5)
  x, y = data(7)
  margin = signed_margin(params, x, y)
  expected = np.mean(margin > MEMBER_EPS * dual_norm(params["w"], norm))
  acc, x_adv, _ = uap_eval(params, x, y, u)
  assert float(acc) == pytest.approx(expected)
  assert expected < np.mean(margin > 0)
  np.testing.assert_allclose(np.asarray(x_adv) - x, sign(y) * u, atol=1e-6)


def test_as_uap_random_start_and_box():
  """A random start stays in the ball (0 at eps = 0) and the box clips the perturbed inputs."""
  u0, u = attack_grids("linf")["uap_box"]
  assert np.all(u0 == 0.0)
  size = norms(u[None], "linf")[0]
  assert 0.99 * UAP_EPS < size <= UAP_EPS + 1e-6
  x_adv = np.asarray(uap_eval(MLP, XU, Y, u)[2])
  assert x_adv.min() == 0.0 and x_adv.max() == 1.0  # clipped, and the clip binds


def test_uap_rejects_multiclass_models():
  """Label signs exist only for two classes: a 3-class model is refused at trace time."""
  params = init_mlp(1, classes=3)

  def mlp3(params, x):
    return jnp.tanh(x.reshape(len(x), -1) @ params["w1"] + params["b1"]) @ params["w2"]

  with pytest.raises(ValueError, match="2 classes"):
    jax.eval_shape(lambda: as_uap(mlp3, params, X, Y, key(), eps=0.1, num_steps=2))
  with pytest.raises(ValueError, match="2 classes"):
    jax.eval_shape(lambda: uap_accuracy(mlp3, params, X, Y, np.zeros(SHAPE, np.float32)))
