"""The vector-data CNN and GRU: shapes, parameter counts, init bounds, what they compute."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from simplicity_bias.models import get_model, model_names
from simplicity_bias.models.vector import ConvStack, check_input_dim
from simplicity_bias.validation import ConfigError

D = 50


def _init(model, batch=4, dim=D, seed=0):
  x = jax.random.uniform(jax.random.key(seed + 100), (batch, dim), minval=-1.0, maxval=1.0)
  params = model.init(jax.random.key(seed), x, train=False)["params"]
  return params, x


def _count(params):
  return sum(int(np.prod(a.shape)) for a in jax.tree_util.tree_leaves(params))


def test_registered():
  assert {"cnn1d", "gru", "fcn"} <= set(model_names())


@pytest.mark.parametrize("name,fields", [("cnn1d", {"layers": 1}), ("cnn1d", {"layers": 2}),
                                         ("gru", {"layers": 1}), ("gru", {"layers": 2})])
def test_logit_shapes_and_train_flag(name, fields):
  model = get_model(name, **fields)
  params, x = _init(model, batch=5)
  variables = model.init(jax.random.key(0), x, train=False)
  assert set(variables) == {"params"}  # params only: no batch statistics
  out_eval = model.apply({"params": params}, x, train=False)
  out_train = model.apply({"params": params}, x, train=True, rngs={"dropout": jax.random.key(1)})
  assert out_eval.shape == (5, 2) and out_eval.dtype == jnp.float32
  np.testing.assert_allclose(out_train, out_eval, rtol=1e-6, atol=1e-6)  # no dropout


@pytest.mark.parametrize("f,k,layers,fc", [(32, 7, 1, -1), (32, 7, 2, -1), (8, 3, 3, 0),
                                           (8, 5, 1, 20)])
def test_cnn_parameter_count(f, k, layers, fc):
  """conv 1: k*1*f + f; conv j > 1: k*f*f + f; hidden dense (width d when fc_width=-1, as the
  original): d*f*w + w; head: w*2 + 2 (d*f*2 + 2 without the hidden layer)."""
  params, _ = _init(get_model("cnn1d", filters=f, kernel_size=k, layers=layers, fc_width=fc))
  conv = (k * f + f) + (layers - 1) * (k * f * f + f)
  w = D if fc == -1 else fc
  dense = D * f * w + w + w * 2 + 2 if w else D * f * 2 + 2
  assert _count(params) == conv + dense


@pytest.mark.parametrize("h,l,layers", [(100, 10, 1), (100, 10, 2), (16, 5, 3)])
def test_gru_parameter_count(h, l, layers):
  """PyTorch's GRU: 3 * (h * (in + h) + 2h) per layer (two bias vectors), in = l then h."""
  params, _ = _init(get_model("gru", hidden=h, step_size=l, layers=layers))
  per_layer = lambda fan: 3 * (h * (fan + h) + 2 * h)
  expected = per_layer(l) + (layers - 1) * per_layer(h) + h * 2 + 2
  assert _count(params) == expected


def test_cnn_is_batch_equivariant():
  model = get_model("cnn1d", filters=8, layers=2)
  params, x = _init(model, batch=6)
  perm = np.array([3, 0, 5, 1, 4, 2])
  out = model.apply({"params": params}, x)
  np.testing.assert_allclose(model.apply({"params": params}, x[perm]), out[perm], atol=1e-6)
  np.testing.assert_allclose(model.apply({"params": params}, x[:1]), out[:1], atol=1e-6)


@pytest.mark.parametrize("layers,activation", [(1, "relu"), (2, "tanh")])
def test_cnn_trunk_is_translation_equivariant(layers, activation):
  """Shifting the input by s shifts the conv feature maps by s away from the borders."""
  f, k, s = 8, 7, 3
  model = get_model("cnn1d", filters=f, kernel_size=k, layers=layers, activation=activation)
  params, x = _init(model, batch=3)
  trunk = ConvStack(f, k, layers, activation)
  shifted = jnp.concatenate([jnp.zeros((3, s)), x[:, :D - s]], axis=1)
  y = trunk.apply({"params": params["trunk"]}, x)
  y_shift = trunk.apply({"params": params["trunk"]}, shifted)
  reach = layers * (k - 1) // 2  # receptive-field half-width
  q = np.arange(s + reach, D - reach)
  np.testing.assert_allclose(y_shift[:, q], y[:, q - s], atol=1e-5)
  assert y.shape == (3, D, f)


def test_cnn_first_layer_is_torch_style_cross_correlation():
  """Conv1d(1, f, k, padding=(k-1)/2) semantics: y[p, c] = sum_j w[j, c] x[p + j - r] + b[c]."""
  f, k = 4, 5
  model = get_model("cnn1d", filters=f, kernel_size=k, layers=1, activation="tanh")
  params, x = _init(model, batch=2)
  w = np.asarray(params["trunk"]["conv_0"]["kernel"])[:, 0, :]  # [k, f]
  b = np.asarray(params["trunk"]["conv_0"]["bias"])
  r = (k - 1) // 2
  xp = np.pad(np.asarray(x), ((0, 0), (r, r)))
  manual = np.tanh(np.stack([xp[:, p:p + k] @ w for p in range(D)], axis=1) + b)
  got = ConvStack(f, k, 1, "tanh").apply({"params": params["trunk"]}, x)
  np.testing.assert_allclose(got, manual, atol=1e-5)
  # ... then flatten position-major, hidden dense layer + activation, head.
  fc, head = params["fc"], params["head"]
  hidden = np.tanh(manual.reshape(2, -1) @ np.asarray(fc["kernel"]) + np.asarray(fc["bias"]))
  assert fc["kernel"].shape == (D * f, D)
  logits = hidden @ np.asarray(head["kernel"]) + np.asarray(head["bias"])
  np.testing.assert_allclose(model.apply({"params": params}, x), logits, atol=1e-4)
  # fc_width=0: the flattened map goes straight to the head.
  bare = get_model("cnn1d", filters=f, kernel_size=k, layers=1, activation="tanh", fc_width=0)
  p0, _ = _init(bare, batch=2)
  logits0 = (np.asarray(ConvStack(f, k, 1, "tanh").apply({"params": p0["trunk"]}, x))
             .reshape(2, -1) @ np.asarray(p0["head"]["kernel"]) + np.asarray(p0["head"]["bias"]))
  np.testing.assert_allclose(bare.apply({"params": p0}, x), logits0, atol=1e-4)


@pytest.mark.parametrize("k", [7, 4])
def test_conv_layers_match_lax_convolution(k):
  """Every layer (multi-channel too) equals XLA's SAME convolution, odd and even kernels."""
  f = 6
  params, x = _init(get_model("cnn1d", filters=f, kernel_size=k, layers=2, activation="tanh"))
  got = ConvStack(f, k, 2, "tanh").apply({"params": params["trunk"]}, x)
  h = x[:, :, None]
  for i in range(2):
    p = params["trunk"][f"conv_{i}"]
    h = jnp.tanh(jax.lax.conv_general_dilated(h, p["kernel"], (1,), "SAME",
                                              dimension_numbers=("NWC", "WIO", "NWC"))
                 + p["bias"])
  np.testing.assert_allclose(got, h, atol=1e-5)


def _within(a, bound):
  a = np.asarray(a)
  return np.all(np.abs(a) <= bound + 1e-7)


def test_pytorch_init_bounds_cnn():
  f, k = 32, 7
  params, _ = _init(get_model("cnn1d", filters=f, kernel_size=k, layers=2))
  c0, c1 = params["trunk"]["conv_0"], params["trunk"]["conv_1"]
  fc, head = params["fc"], params["head"]
  for leaf, bound in ((c0["kernel"], k ** -0.5), (c0["bias"], k ** -0.5),
                      (c1["kernel"], (k * f) ** -0.5), (c1["bias"], (k * f) ** -0.5),
                      (fc["kernel"], (D * f) ** -0.5), (fc["bias"], (D * f) ** -0.5),
                      (head["kernel"], D ** -0.5), (head["bias"], D ** -0.5)):
    assert _within(leaf, bound)
  # Uniform, not a narrower distribution: the large tensors reach their bounds.
  for leaf, bound in ((c1["kernel"], (k * f) ** -0.5), (fc["kernel"], (D * f) ** -0.5)):
    a = np.asarray(leaf)
    assert np.abs(a).max() > 0.98 * bound
    assert np.std(a) == pytest.approx(bound / np.sqrt(3), rel=0.05)


def test_pytorch_init_bounds_gru():
  h = 100
  params, _ = _init(get_model("gru", hidden=h, layers=2))
  bound = h ** -0.5
  for name in ("gru_0", "gru_1"):
    for key, a in params[name].items():
      assert _within(a, bound), (name, key)
      a = np.asarray(a)
      assert np.abs(a).max() > 0.95 * bound, (name, key)
      assert np.std(a) == pytest.approx(bound / np.sqrt(3), rel=0.1), (name, key)
  assert _within(params["head"]["kernel"], bound) and _within(params["head"]["bias"], bound)


def test_flax_init_gru():
  """init='flax': zero biases, orthogonal recurrent blocks per gate (as nn.GRUCell)."""
  h = 16
  params, _ = _init(get_model("gru", hidden=h, init="flax"))
  layer = params["gru_0"]
  assert not np.any(np.asarray(layer["b_input"])) and not np.any(np.asarray(layer["b_hidden"]))
  w = np.asarray(layer["w_hidden"])
  for g in range(3):
    block = w[:, g * h:(g + 1) * h]
    np.testing.assert_allclose(block.T @ block, np.eye(h), atol=1e-5)


def _sigmoid(a):
  return 1.0 / (1.0 + np.exp(-a))


def _torch_gru_reference(params, x, h, l, layers):
  """PyTorch's GRU equations, one step at a time, step t = x[:, t*l:(t+1)*l]."""
  x = np.asarray(x, np.float64)
  steps = [x[:, t * l:(t + 1) * l] for t in range(x.shape[1] // l)]
  for i in range(layers):
    p = {k: np.asarray(v, np.float64) for k, v in params[f"gru_{i}"].items()}
    w_ir, w_iz, w_in = np.split(p["w_input"], 3, axis=1)
    w_hr, w_hz, w_hn = np.split(p["w_hidden"], 3, axis=1)
    b_ir, b_iz, b_in = np.split(p["b_input"], 3)
    b_hr, b_hz, b_hn = np.split(p["b_hidden"], 3)
    state, outputs = np.zeros((x.shape[0], h)), []
    for xt in steps:
      r = _sigmoid(xt @ w_ir + b_ir + state @ w_hr + b_hr)
      z = _sigmoid(xt @ w_iz + b_iz + state @ w_hz + b_hz)
      n = np.tanh(xt @ w_in + b_in + r * (state @ w_hn + b_hn))
      state = (1 - z) * n + z * state
      outputs.append(state)
    steps = outputs
  head = params["head"]
  return steps[-1] @ np.asarray(head["kernel"], np.float64) + np.asarray(head["bias"], np.float64)


@pytest.mark.parametrize("layers", [1, 2])
def test_gru_reads_consecutive_blocks_as_steps(layers):
  h, l = 12, 10
  model = get_model("gru", hidden=h, step_size=l, layers=layers)
  params, x = _init(model, batch=3)
  # Larger weights so every gate matters (the check is on the computation, not the init).
  params = jax.tree_util.tree_map(lambda a: 3.0 * a, params)
  got = np.asarray(model.apply({"params": params}, x))
  np.testing.assert_allclose(got, _torch_gru_reference(params, x, h, l, layers), atol=1e-5)
  # Reading strided features (x[:, t::T]) as steps would give different logits.
  T = D // l
  strided = np.asarray(x).reshape(3, l, T).transpose(0, 2, 1).reshape(3, D)
  assert not np.allclose(_torch_gru_reference(params, strided, h, l, layers), got, atol=1e-3)
  # The step order matters: reversing the steps changes the output.
  reversed_steps = np.asarray(x).reshape(3, T, l)[:, ::-1].reshape(3, D)
  assert not np.allclose(np.asarray(model.apply({"params": params}, reversed_steps)), got,
                         atol=1e-3)


@pytest.mark.parametrize("name,fields,message", [
    ("cnn1d", {"filters": 0}, "model.filters=0"),
    ("cnn1d", {"kernel_size": -1}, "model.kernel_size=-1"),
    ("cnn1d", {"activation": "swish"}, "model.activation='swish'"),
    ("cnn1d", {"init": "normal"}, "model.init='normal'"),
    ("cnn1d", {"fc_width": -2}, "model.fc_width=-2"),
    ("gru", {"hidden": 0}, "model.hidden=0"),
    ("gru", {"step_size": 0}, "model.step_size=0"),
    ("gru", {"layers": 1.5}, "model.layers=1.5"),
    ("gru", {"init": "kaiming"}, "model.init='kaiming'"),
])
def test_builders_reject_bad_fields(name, fields, message):
  with pytest.raises(ConfigError, match=message.replace(".", r"\.").replace("(", r"\(")):
    get_model(name, **fields)


def test_gru_input_dim_check():
  import ml_collections
  check_input_dim(ml_collections.ConfigDict({"name": "gru", "step_size": 10}), 50)
  check_input_dim(ml_collections.ConfigDict({"name": "cnn1d"}), 7)
  with pytest.raises(ConfigError, match=r"data\.dim=50 is not divisible by model\.step_size=7"):
    check_input_dim(ml_collections.ConfigDict({"name": "gru", "step_size": 7}), 50)
