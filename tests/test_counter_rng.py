"""The counter-based random numbers and permutations used for data generation and shuffles."""

import jax
import numpy as np
import pytest
from scipy import stats

from simplicity_bias.data import counter_rng


def test_uniform_moments_and_independence():
  u = np.asarray(counter_rng.uniform(jax.random.key(0), (400_000,)))
  assert 0.0 <= u.min() and u.max() < 1.0
  np.testing.assert_allclose(u.mean(), 0.5, atol=3e-3)
  np.testing.assert_allclose(u.var(), 1 / 12, atol=1e-3)
  assert stats.kstest(u[:50_000], "uniform").pvalue > 1e-3
  for lag in (1, 2, 49, 50, 1024):  # neighbouring counters, and a 50-column layout
    assert abs(np.corrcoef(u[:-lag], u[lag:])[0, 1]) < 0.01, lag


def test_streams_and_keys_give_different_draws():
  key = jax.random.key(1)
  a = np.asarray(counter_rng.bits(key, (1000,), stream=0))
  b = np.asarray(counter_rng.bits(key, (1000,), stream=1))
  c = np.asarray(counter_rng.bits(jax.random.fold_in(key, 1), (1000,)))
  assert np.mean(a == b) < 0.01 and np.mean(a == c) < 0.01
  np.testing.assert_array_equal(a, np.asarray(counter_rng.bits(key, (1000,))))  # pure
  u = np.asarray(counter_rng.uniform(key, (20_000,), stream=0))
  v = np.asarray(counter_rng.uniform(key, (20_000,), stream=1))
  assert abs(np.corrcoef(u, v)[0, 1]) < 0.03


@pytest.mark.parametrize("n", [1, 2, 3, 7, 64, 65, 1000, 4096, 100_003])
def test_permutation_is_a_permutation(n):
  perm = np.asarray(counter_rng.permutation(jax.random.key(n), n))
  np.testing.assert_array_equal(np.sort(perm), np.arange(n))


def test_permutation_positions_are_uniform_and_unrelated():
  keys = jax.random.split(jax.random.key(2), 4000)
  perms = np.asarray(jax.jit(jax.vmap(lambda k: counter_rng.permutation(k, 100)))(keys))
  # Where element 0 and element 99 land, and what lands at position 0: uniform over 100 slots.
  for column in (np.argmax(perms == 0, axis=1), np.argmax(perms == 99, axis=1), perms[:, 0]):
    assert stats.chisquare(np.bincount(column // 10, minlength=10)).pvalue > 1e-3
  assert abs(np.corrcoef(perms[:, 0], perms[:, 1])[0, 1]) < 0.06
  # A long permutation is not close to the identity or to any shifted copy of it.
  p = np.asarray(counter_rng.permutation(jax.random.key(3), 100_000))
  assert abs(np.corrcoef(np.arange(100_000), p)[0, 1]) < 0.01
  assert abs(np.corrcoef(p[:-1], p[1:])[0, 1]) < 0.01
  epochs = [np.asarray(counter_rng.permutation(jax.random.fold_in(jax.random.key(4), e), 1000))
            for e in range(3)]
  assert np.mean(epochs[0] == epochs[1]) < 0.02 and np.mean(epochs[1] == epochs[2]) < 0.02
