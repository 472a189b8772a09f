"""Theorem 1 on LSN: the smoke run end to end, vmap = per-seed loop, hinge gradient, bad configs."""

import json
import math

import jax
import jax.flatten_util
import jax.numpy as jnp
import numpy as np
import pytest

from conftest import load_config
from simplicity_bias.data.randomize import randomize_block
from simplicity_bias.experiments import theorem1_lsn
from simplicity_bias.validation import ConfigError


def test_smoke_run_linear_weight_grows_while_slab_and_noise_stay(tmp_path):
  config = load_config("theorem1_lsn", "smoke")
  results = theorem1_lsn.run(config, str(tmp_path), progress=False)

  for name in ("config.json", "results.json", "results.csv", "report.md", "metrics.jsonl",
               "weights_per_step.png"):
    assert (tmp_path / name).stat().st_size > 0, name
  on_disk = json.loads((tmp_path / "results.json").read_text())
  assert on_disk["experiment"] == "theorem1_lsn"
  assert [r["label"] for r in on_disk["rows"]] == ["d=20", "d=40"]
  assert "linear_growth[d=20]" in on_disk["summary"]
  lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
  assert len(lines) == 2 * (config.train.steps + 1)

  small = results["rows"][0]
  s = small["summary"]
  for metric in ("linear_growth", "slab_growth", "noise_growth", "linear_over_slab", "train_acc",
                 "s_rand_acc", "sc_rand_acc"):
    assert len(small["per_seed"][metric]) == config.num_seeds
  # The claims' band: half the growth the theorem implies (2/√k over E|w_init|), ≈ 11 at d = 20.
  assert s["linear_growth"]["mean"] >= 0.5 * small["theory"]["linear_growth"] > 3
  assert s["slab_growth"]["mean"] <= 1.5
  assert s["noise_growth"]["mean"] <= 1.5
  assert abs(s["linear_over_theory"]["mean"] - 1) < 0.25
  assert s["train_acc"]["mean"] == 1.0
  assert abs(s["s_rand_acc"]["mean"] - 0.5) < 0.06 and s["sc_rand_acc"]["mean"] > 0.95
  # The per-step curves start at the initialisation and the linear weight rises monotonically.
  curve = small["per_step"]["w_linear"]["mean"]
  assert len(curve) == config.train.steps + 1 and np.all(np.diff(curve) >= -1e-7)

  claims = theorem1_lsn.claims(results)
  assert claims and all({"claim", "metric", "mean", "band", "pass"} <= set(c) for c in claims)
  assert all(c["pass"] for c in claims), [c for c in claims if not c["pass"]]


def test_vmapped_seeds_equal_a_per_seed_loop():
  # The smoke preset's d = 20: the stacked program is cached from the smoke run above.
  config = load_config("theorem1_lsn", "smoke")
  setting = theorem1_lsn.setting_for(config, 20)
  keys = theorem1_lsn.seed_keys(config)
  stacked = theorem1_lsn.train_stack(setting, keys)
  one = jax.jit(lambda k: theorem1_lsn.train_member(setting, k))
  for i in range(config.num_seeds):
    alone = one(keys[i])
    jax.tree_util.tree_map(
        lambda v, a: np.testing.assert_allclose(np.asarray(v)[i], np.asarray(a), atol=1e-5),
        stacked, alone)


def test_hinge_gradient_matches_finite_differences_and_the_closed_form():
  k, d, n, eps = 4, 5, 9, 1e-6
  with jax.enable_x64(True):
    rng = np.random.default_rng(3)
    params = {"w": jnp.asarray(rng.normal(size=(k, d))), "b": jnp.asarray(0.3 * rng.normal(size=k))}
    x = jnp.asarray(rng.normal(size=(n, d)))
    s = jnp.asarray(rng.choice([-1.0, 1.0], size=n))
    a = theorem1_lsn.output_weights(k).astype(jnp.float64)
    for p in (params, {"w": params["w"]}):   # with and without the (optional) bias
      loss = lambda q: theorem1_lsn.hinge_loss(q, a, x, s)
      margins = 1 - s * theorem1_lsn.forward(p, a, x)
      assert float(loss(p)) > 0 and float(jnp.min(jnp.abs(margins))) > 1e-3  # off the kink
      grads = jax.jit(jax.grad(loss))(p)
      flat, unravel = jax.flatten_util.ravel_pytree(p)
      steps = eps * jnp.eye(flat.size)
      at = jax.jit(jax.vmap(lambda v: loss(unravel(v))))
      numeric = (at(flat + steps) - at(flat - steps)) / (2 * eps)
      np.testing.assert_allclose(jax.flatten_util.ravel_pytree(grads)[0], numeric, atol=1e-8)
      # Closed form: dL/dw_j = −(1/n) Σ_i s_i a_j 1[w_j·x_i + b_j > 0] 1[s_i f(x_i) < 1] x_i.
      pre = x @ p["w"].T + p.get("b", 0.0)
      coef = -(s * (margins > 0))[:, None] * (pre > 0) * a[None, :] / n     # [n, k]
      np.testing.assert_allclose(grads["w"], coef.T @ x, atol=1e-12)


def test_randomize_equals_randomize_block_without_rotation():
  rng = np.random.default_rng(0)
  x, perm = jnp.asarray(rng.normal(size=(50, 6)), jnp.float32), rng.permutation(50)
  expected = randomize_block(x, jnp.eye(6), jnp.arange(6) == 1, perm)
  np.testing.assert_allclose(theorem1_lsn._randomize(x, 1, perm), expected, atol=1e-6)


def test_theory_scales():
  th = theorem1_lsn.theory(400, 100, theorem1_lsn.init_std(400, 100))
  assert th["linear"] == pytest.approx(0.2)
  assert th["linear_growth"] == pytest.approx(math.sqrt(2 * math.pi * 400))
  assert theorem1_lsn.init_std(400, 100, "theorem") == pytest.approx(
      0.005 / math.log(400) ** 2)


@pytest.mark.parametrize("field, value", [
    ("sweep.dims", (100, 2)),
    ("sweep.dims", ()),
    ("model.hidden", 7),
    ("model.hidden", 0),
    ("train.steps", 0),
    ("optim.learning_rate", 0.0),
    ("optim.learning_rate", -0.1),
    ("data.num_train", 0),
    ("data.num_test", -5),
    ("num_seeds", 0),
    ("model.init", "xavier"),
    ("model.init_scale", 0.0),
])
def test_bad_config_values_raise_config_error_naming_the_field(field, value):
  config = load_config("theorem1_lsn", "smoke")
  *parents, leaf = field.split(".")
  node = config
  for p in parents:
    node = node[p]
  node[leaf] = value
  with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
    theorem1_lsn.validate(config)
