"""Tests for the synthetic slab datasets (SPEC §1): blocks, compositions, rotation, traced params.

Every interval below is recomputed here from the SPEC's closed form (slab centres at
``j (sw + 2g)``), never taken from the library, so a wrong offset in the generator cannot hide
behind the same wrong offset in the test. Statistical checks use fixed keys and binomial / KS
tolerances of several standard errors; the exact checks (noise counts, label balance) are exact.
"""

import os

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest
from scipy import stats

from simplicity_bias.data import synthetic as S
from simplicity_bias.data.synthetic import Block, SyntheticSpec
from simplicity_bias.validation import ConfigError

REF_DIR = os.path.join(os.path.dirname(__file__), "data", "reference_samples")
TOL = 1e-5

# One compile per spec (the spec is a static, hashable dataclass); eager dispatch is much slower.
build = jax.jit(S.make_dataset, static_argnums=0)


# ----------------------------------------------------------------------------- helpers

def closed_form_slabs(k, w, g):
  """|x| intervals of slabs j = 0..(k-1)/2 (slab j belongs to class j % 2), from the SPEC."""
  sw = (2 * w - 2 * (k - 1) * g) / k
  out = [(0.0, sw / 2)]
  for j in range(1, (k + 1) // 2):
    centre = j * (sw + 2 * g)
    out.append((centre - sw / 2, centre + sw / 2))
  return out


def slab_index(values, intervals):
  """Index of the slab holding each |value| (-1 when in no slab)."""
  a = np.abs(np.asarray(values))
  idx = np.full(a.shape, -1)
  for j, (lo, hi) in enumerate(intervals):
    idx[(a >= lo - TOL) & (a <= hi + TOL)] = j
  return idx


def binom_ok(count, n, p, k_se=5.0):
  se = np.sqrt(p * (1 - p) / n)
  return abs(count / n - p) <= k_se * se


def single_block_spec(block, n=(3000, 0, 1000), dim=None, **options):
  dim = block.count if dim is None else dim
  spec = SyntheticSpec(name="t", blocks=(block,), dim=dim, num_train=n[0], num_val=n[1],
                       num_test=n[2], **options)
  S.validate_spec(spec)
  return spec


def all_points(data):
  """Latent x and y over train + val + test (rotation undone)."""
  x = np.concatenate([data.x_train, data.x_val, data.x_test]) @ np.asarray(data.rotation).T
  y = np.concatenate([data.y_train, data.y_val, data.y_test])
  return x, y


def config(**fields):
  base = dict(name="custom", dim=10, num_train=100, num_val=10, num_test=50, rotate=False,
              blocks="linear:1:simple,slab5:9:complex")
  base.update(fields)
  return ml_collections.ConfigDict(base)


# ----------------------------------------------------------------------------- 1-D blocks

def test_closed_form_helper_matches_spec_numbers():
  """The test's own interval formula reproduces the SPEC's worked 5-slab example."""
  iv = closed_form_slabs(5, 1.0, 0.1)
  np.testing.assert_allclose(iv, [(0, .12), (.32, .56), (.76, 1.0)], atol=1e-12)
  assert closed_form_slabs(7, 2.0, 0.15)[-1][1] == pytest.approx(2.0)


@pytest.mark.parametrize("w,m", [(1.0, 0.1), (2.0, 0.5)])
def test_linear_block_intervals(w, m):
  """Linear: class 1 uniform on [m, w], class 0 uniform on [-w, -m]."""
  spec = single_block_spec(Block("linear", 4))
  params = S.set_param(spec, S.default_params(spec, width=w), "linear_margin", m)
  x, y = all_points(build(spec, jax.random.PRNGKey(0), params))
  pos, neg = x[y == 1].ravel(), x[y == 0].ravel()
  assert pos.min() >= m - TOL and pos.max() <= w + TOL
  assert neg.min() >= -w - TOL and neg.max() <= -m + TOL
  # Fills the whole interval uniformly (not a narrower one).
  assert stats.kstest(pos, stats.uniform(m, w - m).cdf).pvalue > 1e-3
  assert stats.kstest(-neg, stats.uniform(m, w - m).cdf).pvalue > 1e-3


SLAB_PROBS = {  # k -> class -> {slab index: probability}
    3: {0: {0: 1.0}, 1: {1: 1.0}},
    5: {0: {0: 0.75, 2: 0.25}, 1: {1: 1.0}},
    7: {0: {0: 0.5, 2: 0.5}, 1: {1: 7 / 8, 3: 1 / 8}},
}


@pytest.mark.parametrize("k", [3, 5, 7])
@pytest.mark.parametrize("w,g", [(1.0, 0.1), (2.0, 0.15)])
def test_slab_block_intervals_and_mixture(k, w, g):
  """k-slab: |x| lies in its class's slabs, with the SPEC mixture weights, uniform inside, ±."""
  spec = single_block_spec(Block("slab", 4, k=k))
  params = S.set_param(spec, S.default_params(spec, width=w), "slab_margin", g)
  x, y = all_points(build(spec, jax.random.PRNGKey(k), params))
  yy = np.broadcast_to(y[:, None], x.shape)
  iv = closed_form_slabs(k, w, g)
  idx = slab_index(x, iv)
  assert np.all(idx >= 0), "points in the gaps"
  assert np.all(idx % 2 == yy), "points in a slab of the other class"
  for cls, probs in SLAB_PROBS[k].items():
    n = int(np.sum(yy == cls))
    for j, p in probs.items():
      count = int(np.sum((idx == j) & (yy == cls)))
      assert count > 0
      if p < 1:
        assert binom_ok(count, n, p), (cls, j, count / n, p)
  # Uniform within each slab and symmetric in sign.
  pos = np.concatenate([(np.abs(x[idx == j]) - lo) / (hi - lo) for j, (lo, hi) in enumerate(iv)])
  assert stats.kstest(pos, "uniform").pvalue > 1e-3
  assert binom_ok(int(np.sum(x > 0)), x.size, 0.5)


@pytest.mark.parametrize("p,m", [(0.1, 0.1), (0.25, 0.2)])
def test_noisy_linear_exact_count_and_accuracy_cap(p, m):
  """Exactly floor(p n) noised points (over all splits) in [-m, m]; x > 0 rule gets 1 - p/2."""
  n = (7000, 1000, 2000)
  spec = single_block_spec(Block("noisy_linear", 2), n=n)  # p is set as a traced param
  params = S.set_param(spec, S.default_params(spec), "linear_margin", m)
  params = S.set_param(spec, params, "noise_frac", p)
  data = build(spec, jax.random.PRNGKey(3), params)
  x, y = all_points(data)
  total = sum(n)
  noised = np.abs(x) < m
  np.testing.assert_array_equal(noised.sum(0), int(np.floor(p * total)))
  # The noised points are spread over the splits, not only the training set.
  assert noised[n[0] + n[1]:].sum() > 0
  # Clean points sit in the linear intervals of their class.
  s = np.broadcast_to((2 * y - 1)[:, None], x.shape)
  clean = ~noised
  assert np.all((s * x)[clean] >= m - TOL) and np.all((s * x)[clean] <= 1 + TOL)
  # Noise is label independent: about half the noised points fall on the wrong side.
  acc = np.mean((x[:, 0] > 0) == (y == 1))
  se = np.sqrt(np.floor(p * total) * 0.25) / total
  assert abs(acc - (1 - p / 2)) < 5 * se, acc
  assert np.all(np.abs(x[noised]) <= m + TOL)
  assert stats.kstest(x[noised], stats.uniform(-m, 2 * m).cdf).pvalue > 1e-3


def test_noisy_slab_moves_exactly_p_into_the_gaps():
  """Noisy 5-slab (App. B): exactly floor(p n) points lie in the gaps between slabs, uniformly
  and independently of the label, so a rule on that coordinate alone is right on at most
  1 - p/2 of the points; the other points keep their class's slabs; S^c stays clean."""
  p, total = 0.1, 2000
  spec = S.ms(5, 7, dim=3, sizes=(1500, 200, 300), noise_frac=p)
  assert [b.kind for b in spec.blocks] == ["noisy_slab", "slab"]
  x, y = all_points(build(spec, jax.random.PRNGKey(4), S.default_params(spec)))
  slabs = closed_form_slabs(5, 1.0, 0.1)
  idx0 = slab_index(x[:, 0], slabs)
  gap = idx0 < 0
  assert int(gap.sum()) == int(np.floor(p * total))
  np.testing.assert_array_equal(idx0[~gap] % 2, y[~gap])  # every other point in its class's slab
  # The gaps: |x| in [lo_j - 2g, lo_j) below slab j = 1, 2, each hit about equally often, with
  # the label independent of where the point lands.
  a = np.abs(x[gap, 0])
  in_gap = [(a >= lo - 0.2 - TOL) & (a < lo + TOL) for lo, _ in slabs[1:]]
  assert np.all(in_gap[0] | in_gap[1])
  assert binom_ok(int(in_gap[0].sum()), int(gap.sum()), 0.5)
  side = (x[gap, 0] > 0) == in_gap[0]
  assert binom_ok(int(np.sum(side == (y[gap] == 1))), int(gap.sum()), 0.5)
  # The best rule on this coordinate: the slab's class, and any fixed label in each gap.
  best_gap = sum(max(np.sum(y[gap][m] == 0), np.sum(y[gap][m] == 1))
                 for m in (in_gap[0], in_gap[1]))
  ceiling = (np.sum(~gap) + best_gap) / total
  se = np.sqrt(np.floor(p * total) * 0.25) / total
  assert abs(ceiling - (1 - p / 2)) < 5 * se, ceiling
  idx_c = slab_index(x[:, 1:], closed_form_slabs(7, 1.0, 0.1))
  np.testing.assert_array_equal(idx_c % 2, np.broadcast_to(y[:, None], idx_c.shape))


def test_lsn_coordinates_and_gaussian_filler():
  """LSN: x1 = s, x2 = y * sigma (fair sign), the rest N(0, 1)."""
  spec = S.lsn(dim=6, sizes=(2000, 0, 500))
  assert spec.filler == "gaussian"
  x, y = all_points(build(spec, jax.random.PRNGKey(5), S.default_params(spec)))
  np.testing.assert_array_equal(x[:, 0], 2.0 * y - 1.0)
  np.testing.assert_array_equal(x[y == 0, 1], 0.0)
  x1 = x[y == 1, 1]
  assert set(np.unique(x1)) == {-1.0, 1.0}
  assert binom_ok(int(np.sum(x1 > 0)), x1.size, 0.5)
  fill = x[:, 2:].ravel()
  assert stats.kstest(fill, "norm").pvalue > 1e-3
  assert abs(fill.std() - 1.0) < 0.05


@pytest.mark.parametrize("centred", [False, True])
def test_uniform_filler(centred):
  """Unused coordinates are Unif[0, w) (or Unif[-w/2, w/2) when centred), independent of y."""
  w = 2.0
  spec = S.lms(5, dim=8, num_slabs=3, sizes=(3000, 0, 1000), centred_noise=centred)
  x, y = all_points(build(spec, jax.random.PRNGKey(6), S.default_params(spec, width=w)))
  fill = x[:, 4:]
  lo = -w / 2 if centred else 0.0
  assert fill.min() >= lo and fill.max() < lo + w
  assert stats.kstest(fill.ravel(), stats.uniform(lo, w).cdf).pvalue > 1e-3
  assert abs(fill[y == 1].mean() - fill[y == 0].mean()) < 0.05


def test_iid_labels_vs_balanced():
  """iid labels: Bernoulli(1/2), not forced to balance; balanced: exactly half, shuffled."""
  n = LABEL_SIZES
  total = sum(n)
  sums = []
  for seed in range(5):
    spec = S.lms(5, dim=4, sizes=n)
    _, y = all_points(build(spec, jax.random.PRNGKey(seed), S.default_params(spec)))
    assert set(np.unique(y)) == {0, 1}
    assert binom_ok(int(y.sum()), total, 0.5)
    sums.append(int(y.sum()))
  assert any(s != total // 2 for s in sums)
  for seed in range(5):
    spec = S.lms(5, dim=4, sizes=n, balanced_labels=True)
    _, y = all_points(build(spec, jax.random.PRNGKey(seed), S.default_params(spec)))
    assert int(y.sum()) == total // 2
    assert not np.array_equal(y, np.arange(total) % 2)


# ----------------------------------------------------------------------------- faithfulness

@pytest.fixture(scope="module")
def ours():
  """20k samples of each reference dataset from our generator (unrotated, d = 50)."""
  specs = {
      "lms5": S.lms(5, sizes=(20_000, 0, 1)),
      "ms57": S.ms(5, 7, sizes=(20_000, 0, 1)),
      "lms7_noisy": S.noisy_lms(7, noise_frac=0.1, sizes=(20_000, 0, 1)),
  }
  out = {}
  for name, spec in specs.items():
    assert not spec.rotate and spec.dim == 50
    d = build(spec, jax.random.PRNGKey(0), S.default_params(spec))
    out[name] = (np.asarray(d.x_train), np.asarray(d.y_train))
  return out


@pytest.mark.parametrize("name", ["lms5", "ms57", "lms7_noisy"])
def test_matches_original_generator(name, ours):
  """Per coordinate and class, our samples match the original implementation's (KS < 0.05)."""
  ref = np.load(os.path.join(REF_DIR, f"{name}.npz"))
  rx, ry = ref["x"], ref["y"].astype(int)
  assert rx.shape == (5000, 50)
  x, y = ours[name]
  worst = 0.0
  for c in (0, 1, 2, 17, 33, 49):
    for cls in (0, 1):
      stat = stats.ks_2samp(rx[ry == cls, c], x[y == cls, c]).statistic
      worst = max(worst, stat)
  assert worst < 0.05, worst


def test_reference_check_has_power(ours):
  """The KS check above would catch a wrong mixture (5-slab data against the 7-slab reference)."""
  ref = np.load(os.path.join(REF_DIR, "ms57.npz"))
  x, y = ours["lms5"]
  stat = stats.ks_2samp(ref["x"][ref["y"] == 1, 1], x[y == 1, 1]).statistic
  assert stat > 0.05


# ----------------------------------------------------------------------------- rotation

# Shared by several tests so that `build` compiles it once.
ROT_SPEC = S.lms(5, dim=12, sizes=(600, 0, 200), rotate=True)
LABEL_SIZES = (1500, 200, 301)


def test_rotation_orthogonal_and_unrotates_into_intervals():
  """W is orthogonal, key dependent, and x W^T recovers latent values in the block intervals."""
  spec = ROT_SPEC
  params = S.default_params(spec)
  d = build(spec, jax.random.PRNGKey(7), params)
  w = np.asarray(d.rotation)
  np.testing.assert_allclose(w @ w.T, np.eye(12), atol=1e-5)
  assert abs(abs(np.linalg.det(w)) - 1) < 1e-4
  assert not np.allclose(w, np.eye(12), atol=0.1)
  d2 = build(spec, jax.random.PRNGKey(8), params)
  assert not np.allclose(w, np.asarray(d2.rotation), atol=0.1)
  z = np.asarray(d.x_train) @ w.T
  y = np.asarray(d.y_train)
  s = 2 * y - 1
  assert np.all(s * z[:, 0] >= 0.1 - TOL) and np.all(s * z[:, 0] <= 1 + TOL)
  idx = slab_index(z[:, 1:], closed_form_slabs(5, 1.0, 0.1))
  np.testing.assert_array_equal(idx % 2, np.broadcast_to(y[:, None], idx.shape))
  # The rotated inputs themselves are not in those intervals (the rotation mixes coordinates).
  assert np.any(slab_index(np.asarray(d.x_train)[:, 1:], closed_form_slabs(5, 1.0, 0.1)) < 0)


def test_no_rotation_is_identity():
  """rotate=False: W = I, so x itself is the latent data (in the block intervals)."""
  spec = S.lms(5, dim=4, sizes=LABEL_SIZES)
  d = build(spec, jax.random.PRNGKey(0), S.default_params(spec))
  np.testing.assert_array_equal(d.rotation, np.eye(4))
  x, y = np.asarray(d.x_train), np.asarray(d.y_train)
  assert np.all((2 * y - 1) * x[:, 0] >= 0.1 - TOL)
  idx = slab_index(x[:, 1:], closed_form_slabs(5, 1.0, 0.1))
  np.testing.assert_array_equal(idx % 2, np.broadcast_to(y[:, None], idx.shape))


def test_haar_orthogonal_sign_fix():
  """QR signs are fixed by diag(R): E[W_ii] = 0 under Haar (raw QR is biased to ±1/2)."""
  keys = jax.random.split(jax.random.PRNGKey(11), 4000)
  w = np.asarray(jax.jit(jax.vmap(lambda k: S.haar_orthogonal(k, 3)))(keys))
  diag = np.diagonal(w, axis1=1, axis2=2)
  assert np.all(np.abs(diag.mean(0)) < 0.05), diag.mean(0)
  np.testing.assert_allclose((diag ** 2).mean(0), 1 / 3, atol=0.03)


# ----------------------------------------------------------------------------- traced params

def test_vmap_over_margins_equals_separate_builds():
  """vmap(make_dataset) over set_param('slab_margin', m) equals each build alone; m moves slabs."""
  spec = ROT_SPEC
  base = S.default_params(spec)
  margins = [0.02, 0.08, 0.15, 0.2]
  plist = [S.set_param(spec, base, "slab_margin", m) for m in margins]
  stacked = S.stack_params(plist)
  traced = jax.vmap(lambda m: S.set_param(spec, base, "slab_margin", m))(jnp.array(margins))
  jax.tree_util.tree_map(np.testing.assert_array_equal, stacked, traced)
  keys = jax.random.split(jax.random.PRNGKey(9), len(margins))
  many = jax.jit(jax.vmap(lambda k, p: S.make_dataset(spec, k, p)))(keys, stacked)
  for i, (m, p) in enumerate(zip(margins, plist)):
    single = build(spec, keys[i], p)
    for a, b in zip(single, many):
      np.testing.assert_allclose(np.asarray(b[i]), np.asarray(a), atol=1e-6)
    z = np.asarray(many.x_train[i]) @ np.asarray(many.rotation[i]).T
    y = np.asarray(many.y_train[i])
    iv = closed_form_slabs(5, 1.0, m)
    idx = slab_index(z[:, 1:], iv)
    np.testing.assert_array_equal(idx % 2, np.broadcast_to(y[:, None], idx.shape))
    # Inner edge of the class-1 slab moves with m (0.5 sw + 2g); the linear margin stays 0.1.
    inner = np.abs(z[:, 1:][np.broadcast_to(y[:, None] == 1, idx.shape)]).min()
    assert inner == pytest.approx(iv[1][0], abs=0.01)
    assert np.abs(z[:, 0]).min() >= 0.1 - TOL


ALIAS_SPEC = SyntheticSpec(
    name="alias", dim=6, num_train=10, num_val=0, num_test=10,
    blocks=(Block("linear", 1, role="simple"), Block("noisy_linear", 1, noise_frac=0.1),
            Block("slab", 2, k=5, role="complex"), Block("noisy_slab", 1, k=3),
            Block("lsn_linear", 1)))


@pytest.mark.parametrize("alias,field,mask", [
    ("linear_margin", "margins", [1, 1, 0, 0, 0]),
    ("slab_margin", "margins", [0, 0, 1, 1, 0]),
    ("simple_margin", "margins", [1, 0, 0, 0, 0]),
    ("complex_margin", "margins", [0, 0, 1, 0, 0]),
    ("margin", "margins", [1, 1, 1, 1, 0]),
    ("noise_frac", "noise_fracs", [0, 1, 0, 1, 0]),
])
def test_set_param_alias_selects_blocks(alias, field, mask):
  """Each alias changes exactly the blocks it names and nothing else."""
  base = S.default_params(ALIAS_SPEC)
  new = S.set_param(ALIAS_SPEC, base, alias, 0.37)
  expect = np.where(np.array(mask, bool), np.float32(0.37), np.asarray(getattr(base, field)))
  np.testing.assert_array_equal(getattr(new, field), expect)
  other = "noise_fracs" if field == "margins" else "margins"
  np.testing.assert_array_equal(getattr(new, other), getattr(base, other))
  assert float(new.width) == float(base.width)


def test_set_param_width_and_unknown_alias():
  """'width' sets the scalar; an unknown alias raises ConfigError listing the valid names."""
  new = S.set_param(ALIAS_SPEC, S.default_params(ALIAS_SPEC), "width", 3.0)
  assert float(new.width) == 3.0
  with pytest.raises(ConfigError) as e:
    S.set_param(ALIAS_SPEC, new, "slab_gap", 0.1)
  for name in ("slab_gap", "width", "linear_margin", "slab_margin", "simple_margin",
               "complex_margin", "noise_frac"):
    assert name in str(e.value)
  with pytest.raises(ConfigError, match="noise_frac"):
    S.set_param(S.lms(5, dim=4, sizes=(10, 0, 10)), S.default_params(S.lms(5, dim=4)),
                "noise_frac", 0.1)


# ----------------------------------------------------------------------------- bad input

def test_valid_custom_config_builds():
  """The baseline config used by the error tests below is itself valid."""
  spec = S.spec_from_config(config())
  assert spec.simple_coords == (0,) and spec.complex_coords == tuple(range(1, 10))
  assert spec.blocks[1].k == 5


@pytest.mark.parametrize("fields,pattern", [
    (dict(blocks="linear:1:simple,wiggle:9"), r"wiggle.*valid kinds"),
    (dict(blocks="linear:1,slab4:9"), r"k=4"),
    (dict(blocks="linear:1,slab5:-2"), r"count -2"),
    (dict(blocks="linear:1,slab5:x"), r"count 'x'"),
    (dict(blocks="linear:1:middle,slab5:9"), r"role 'middle'"),
    (dict(blocks=" , "), r"data.blocks"),
    (dict(num_train=-5), r"data.num_train"),
    (dict(num_test=0), r"data.num_test"),
    (dict(num_val=-1), r"data.num_val"),
    (dict(dim=5), r"data.dim=5"),
    (dict(name="lms9"), r"data.name='lms9'.*lms5"),
    (dict(filler="laplace"), r"data.filler"),
])
def test_bad_config_raises_config_error(fields, pattern):
  """Bad layouts, sizes, dimensions and names raise ConfigError naming the field."""
  with pytest.raises(ConfigError, match=pattern):
    S.spec_from_config(config(**fields))


def test_validate_spec_unknown_kind_via_parse_blocks():
  """parse_blocks accepts any kind name; validate_spec rejects an unknown one."""
  blocks = S.parse_blocks("linear:1:simple, bump3:4:complex")
  assert blocks[1] == Block("bump", 4, k=3, role="complex")
  spec = SyntheticSpec(name="custom", blocks=blocks, dim=5, num_train=10, num_val=0, num_test=10)
  with pytest.raises(ConfigError, match="bump"):
    S.validate_spec(spec)
  with pytest.raises(ConfigError, match="dim"):
    S.lms(5, dim=10, num_slabs=20)


@pytest.mark.parametrize("alias,value,width,pattern", [
    ("linear_margin", 1.0, 1.0, r"data\.linear_margin=1 must be smaller than data\.width=1"),
    ("linear_margin", 2.5, 2.0, r"data\.linear_margin=2\.5 must be smaller than data\.width=2"),
    ("slab_margin", 0.25, 1.0, r"data\.slab_margin=0\.25 leaves no room for the 5 slabs"),
    ("slab_margin", -0.01, 1.0, r"data\.slab_margin=-0\.01 is negative"),
    ("p5_centre", 1.5, 1.0, r"data\.p5_centre=1\.5 must be a probability"),
])
def test_check_params_rejects_out_of_range(alias, value, width, pattern):
  """Margins >= width, slab gaps leaving no room, negatives and bad probabilities are refused."""
  spec = S.lms(5, dim=4, sizes=(10, 0, 10))
  params = S.set_param(spec, S.default_params(spec, width=width), alias, value)
  with pytest.raises(ConfigError, match=pattern):
    S.check_params(spec, params)


def test_check_params_boundaries_accept_valid():
  """Just inside the limits passes: linear m < w, 5-slab g < w/4, 7-slab g < w/6."""
  spec = S.lms(5, dim=4, sizes=(10, 0, 10))
  params = S.set_param(spec, S.default_params(spec), "linear_margin", 0.99)
  S.check_params(spec, S.set_param(spec, params, "slab_margin", 0.249))
  spec7 = S.ms_uniform(7, dim=3, sizes=(10, 0, 10))
  S.check_params(spec7, S.set_param(spec7, S.default_params(spec7), "slab_margin", 0.16))
  with pytest.raises(ConfigError, match="room for the 7 slabs"):
    S.check_params(spec7, S.set_param(spec7, S.default_params(spec7), "slab_margin", 0.17))
  with pytest.raises(ConfigError, match="width"):
    S.check_params(spec, S.default_params(spec, width=0.0))


# ----------------------------------------------------------------------------- named datasets

def test_named_constructors_s_and_sc():
  """Named datasets carry the SPEC's S / S^c coordinates, slab counts and margins."""
  lms5 = S.lms(5)
  assert lms5.simple_coords == (0,) and lms5.complex_coords == tuple(range(1, 50))
  assert [(b.kind, b.k) for b in lms5.blocks] == [("linear", 0), ("slab", 5)]
  ms57 = S.ms(5, 7)
  assert ms57.simple_coords == (0,) and ms57.complex_coords == tuple(range(1, 50))
  assert [(b.kind, b.k) for b in ms57.blocks] == [("slab", 5), ("slab", 7)]
  nl = S.noisy_lms(7)
  assert nl.blocks[0].kind == "noisy_linear" and nl.blocks[0].noise_frac == pytest.approx(0.1)
  assert nl.blocks[1].k == 7 and nl.complex_coords == tuple(range(1, 50))
  adv = S.adv_ms57()
  assert adv.dim == 20
  assert adv.simple_coords == tuple(range(10)) and adv.complex_coords == tuple(range(10, 20))
  assert [(b.k, b.margin) for b in adv.blocks] == [(5, 0.05), (7, 0.15)]
  np.testing.assert_allclose(S.default_params(adv).margins, [0.05, 0.15])
  for k in (5, 7):
    spec = S.ms_uniform(k)
    assert spec.simple_coords == () and spec.complex_coords == ()
    assert spec.num_features == 50 and spec.blocks[0].k == k
  assert S.lsn().simple_coords == (0,) and S.lsn().complex_coords == (1,)


def test_spec_from_config_named():
  """Every registered name builds through the config path, with dim and noise_frac honoured."""
  for name in S.DATASETS:
    spec = S.spec_from_config(config(name=name, dim=20, noise_frac=0.2))
    assert spec.dim == 20 and spec.num_test == 50
  spec = S.spec_from_config(config(name="noisy_lms7", dim=20, noise_frac=0.2))
  assert spec.blocks[0].noise_frac == pytest.approx(0.2)


# ----------------------------------------------------------------------------- determinism

def test_determinism():
  """Same key: identical arrays; different key: different data and rotation."""
  spec = ROT_SPEC
  params = S.default_params(spec)
  a = build(spec, jax.random.PRNGKey(1), params)
  b = build(spec, jax.random.PRNGKey(1), params)
  c = build(spec, jax.random.PRNGKey(2), params)
  for u, v in zip(a, b):
    np.testing.assert_array_equal(u, v)
  for field in ("x_train", "y_train", "x_test", "y_test", "rotation"):
    assert not np.array_equal(getattr(a, field), getattr(c, field)), field
