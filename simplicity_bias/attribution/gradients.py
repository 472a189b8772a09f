"""Input-gradient attributions as pure functions ``(predict, params, x, y, **opts) -> scores``.

A method maps inputs ``x`` [n, ...] with integer labels ``y`` [n] to scores of x's shape: how
strongly each input coordinate moves a per-example score of the model's logits.
``predict(params, x) -> logits [n, classes]`` must treat examples independently (BatchNorm in
eval mode, no batch statistics). Then d(sum_j s_j)/dx_i = ds_i/dx_i, so every per-example
gradient comes from ONE ``jax.grad`` of the batch-summed score: one backward pass per batch, not
one per example.

Nothing branches on traced values, so every method can be jitted and vmapped over stacked
ensemble members, ``jax.vmap(lambda p: input_gradient(predict, p, x, y))(stacked_params)``, and
over traced options such as ``sigma`` or ``baseline``. String options, sample counts and step
counts fix the program, so they are static Python values.

The paper ranks pixels by gradient magnitude; :func:`pixel_scores` turns signed attributions into
those magnitudes (summed over channels for images).
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax

SCORES = ("logit", "loss", "margin")
NOISE_SCALES = ("relative", "absolute")
IG_RULES = ("midpoint", "trapezoid")
PIXEL_REDUCTIONS = ("abs_sum", "abs_max")


def _check_choice(name, value, choices):
  if value not in choices:
    raise ValueError(f"Unknown {name} {value!r}; choose one of {choices}.")


def example_scores(logits, y, score="logit"):
  """The per-example scalar whose input gradient is the attribution: [n, classes] -> [n].

  'logit' is the true-class logit z_y (the paper's main variant: it does not depend on how
  confident the model already is). 'loss' is the softmax cross-entropy, whose gradient points
  away from the true class and vanishes on confidently classified examples. 'margin' is
  z_y - max_{y' != y} z_{y'}; it needs at least two classes and, at a tie for the runner-up,
  follows the tied class that `jnp.max` differentiates through.
  """
  _check_choice("score", score, SCORES)
  y = jnp.asarray(y).astype(jnp.int32)
  true_logit = jnp.take_along_axis(logits, y[:, None], axis=-1)[:, 0]
  if score == "logit":
    return true_logit
  if score == "loss":
    return optax.softmax_cross_entropy_with_integer_labels(logits, y)
  is_true = jax.nn.one_hot(y, logits.shape[-1], dtype=bool)
  runner_up = jnp.max(jnp.where(is_true, -jnp.inf, logits), axis=-1)
  return true_logit - runner_up


def input_gradient(predict, params, x, y, score="logit"):
  """d score_i / d x_i for every example i, from one backward pass (see the module docstring).

  Args:
    predict: ``predict(params, x) -> logits [n, classes]``, examples independent.
    params: the model's parameters (one member; vmap for an ensemble).
    x: float inputs [n, ...].
    y: integer labels [n].
    score: 'logit', 'loss' or 'margin' (see :func:`example_scores`).

  Returns:
    Gradients of x's shape and dtype.
  """
  _check_choice("score", score, SCORES)

  def total(inputs):
    return jnp.sum(example_scores(predict(params, inputs), y, score))

  return jax.grad(total)(x)


def gradient_times_input(predict, params, x, y, score="logit"):
  """Gradient times input: for a linear score, each coordinate's share of score(x) - score(0)."""
  return input_gradient(predict, params, x, y, score) * x


def smoothgrad(predict, params, x, y, key, num_samples=50, sigma=0.15, noise="relative",
               score="logit"):
  """SmoothGrad (Smilkov et al., 2017): the input gradient averaged over Gaussian-noised inputs.

  Gradients of piecewise-linear networks jump between linear regions; averaging them over a
  small neighbourhood shows the trend rather than the local noise.

  Args:
    predict, params, x, y, score: as in :func:`input_gradient`.
    key: PRNG key for the noise; the same key gives the same attribution.
    num_samples: noisy copies per example (static, >= 1).
    sigma: noise standard deviation. With ``noise='relative'`` (the default, as in Smilkov et
      al.) it is a fraction of each example's own value range max(x_i) - min(x_i), so 0.15 means
      15% of that range; a constant example then gets no noise. With ``noise='absolute'`` it is
      the standard deviation in input units. ``sigma=0`` gives :func:`input_gradient` (up to
      the rounding of the average).
    noise: 'relative' or 'absolute'.

  Returns:
    The averaged gradient, of x's shape. Samples are accumulated with ``lax.scan``, so memory
    stays that of one gradient however many samples are drawn.
  """
  _check_choice("noise", noise, NOISE_SCALES)
  if num_samples < 1:
    raise ValueError(f"num_samples must be >= 1, got {num_samples}.")
  sigma = jnp.asarray(sigma, x.dtype)
  if noise == "relative":
    axes = tuple(range(1, x.ndim))
    value_range = jnp.max(x, axis=axes, keepdims=True) - jnp.min(x, axis=axes, keepdims=True)
    scale = sigma * value_range
  else:
    scale = sigma

  def add_sample(total, sample_key):
    noisy = x + scale * jax.random.normal(sample_key, x.shape, x.dtype)
    return total + input_gradient(predict, params, noisy, y, score), None

  total, _ = jax.lax.scan(add_sample, jnp.zeros_like(x), jax.random.split(key, num_samples))
  return total / num_samples


def _path_nodes(num_steps, rule):
  """Points alpha in [0, 1] on the straight path and their quadrature weights (summing to 1)."""
  _check_choice("rule", rule, IG_RULES)
  if num_steps < 1:
    raise ValueError(f"num_steps must be >= 1, got {num_steps}.")
  if rule == "midpoint":
    alphas = (np.arange(num_steps) + 0.5) / num_steps
    weights = np.full(num_steps, 1.0 / num_steps)
  else:
    alphas = np.arange(num_steps + 1) / num_steps
    weights = np.full(num_steps + 1, 1.0 / num_steps)
    weights[[0, -1]] /= 2
  return alphas, weights


def integrated_gradients(predict, params, x, y, baseline=0.0, num_steps=50, rule="midpoint",
                         score="logit"):
  """Integrated Gradients (Sundararajan et al., 2017) along the straight path baseline -> x.

  IG_j = (x_j - b_j) * integral_0^1 d score / d x_j (b + a (x - b)) da. By completeness the
  attributions of an example sum to score(x) - score(b), up to the quadrature error.

  Args:
    predict, params, x, y, score: as in :func:`input_gradient`.
    baseline: a scalar (0.0, the black image, by default) or an array broadcastable to x, such
      as a per-feature training mean; may be traced.
    num_steps: number of intervals on [0, 1] (static).
    rule: 'midpoint' (the default) evaluates the gradient at the centres (k + 1/2) / num_steps of
      the intervals, num_steps gradients in all; 'trapezoid' evaluates it at k / num_steps,
      k = 0..num_steps, num_steps + 1 gradients with half weight at both ends. Both have error
      O(1 / num_steps^2) for a smooth score; midpoint never evaluates the baseline itself.

  Returns:
    Attributions of x's shape. Steps are accumulated with ``lax.scan``, so memory stays that of
    one gradient.
  """
  alphas, weights = _path_nodes(num_steps, rule)
  baseline = jnp.broadcast_to(jnp.asarray(baseline, x.dtype), x.shape)
  delta = x - baseline

  def add_step(total, node):
    alpha, weight = node
    grad = input_gradient(predict, params, baseline + alpha * delta, y, score)
    return total + weight * grad, None

  nodes = (jnp.asarray(alphas, x.dtype), jnp.asarray(weights, x.dtype))
  path_mean, _ = jax.lax.scan(add_step, jnp.zeros_like(x), nodes)
  return delta * path_mean


def random_attribution(key, x):
  """Uniform [0, 1) scores of x's shape: the chance baseline that any attribution should beat."""
  dtype = x.dtype if jnp.issubdtype(x.dtype, jnp.floating) else jnp.float32
  return jax.random.uniform(key, x.shape, dtype)


# name -> (function, options the name fixes, whether it needs a PRNG key)
METHODS = {
    "grad_logit": (input_gradient, {"score": "logit"}, False),
    "grad_loss": (input_gradient, {"score": "loss"}, False),
    "grad_margin": (input_gradient, {"score": "margin"}, False),
    "grad_x_input": (gradient_times_input, {}, False),
    "smoothgrad": (smoothgrad, {}, True),
    "integrated_gradients": (integrated_gradients, {}, False),
    "random": (random_attribution, {}, True),
}


def attribute(method, predict, params, x, y, key=None, **opts):
  """Runs the attribution method named `method` (a key of METHODS) with options `opts`.

  One entry point lets experiments sweep methods by name. 'random' ignores predict, params and
  y; 'smoothgrad' and 'random' need `key`. The grad_* names fix `score`, so passing it again is
  an error; the other gradient methods take `score` as an option ('logit' by default).
  """
  if method not in METHODS:
    raise ValueError(f"Unknown attribution method {method!r}; choose one of {tuple(METHODS)}.")
  function, fixed, needs_key = METHODS[method]
  clash = sorted(set(fixed) & set(opts))
  if clash:
    raise ValueError(f"{method!r} fixes {clash}; use another method name to change it.")
  if needs_key and key is None:
    raise ValueError(f"{method!r} is random: pass a PRNG key.")
  if method == "random":
    return function(key, x, **opts)
  if needs_key:
    opts = dict(opts, key=key)
  return function(predict, params, x, y, **fixed, **opts)


def pixel_scores(attr, reduce="abs_sum"):
  """Signed attributions -> the magnitudes pixels are ranked by.

  Images [n, H, W, C] become [n, H, W]: |attr| summed over channels ('abs_sum', the paper's
  choice) or its channel maximum ('abs_max'). Vectors [n, d] and channel-less images [n, H, W]
  keep their shape and become |attr|.
  """
  _check_choice("reduce", reduce, PIXEL_REDUCTIONS)
  if attr.ndim not in (2, 3, 4):
    raise ValueError(f"Expected [n, d], [n, H, W] or [n, H, W, C] attributions, got {attr.shape}.")
  magnitude = jnp.abs(attr)
  if attr.ndim < 4:
    return magnitude
  if reduce == "abs_sum":
    return jnp.sum(magnitude, axis=-1)
  return jnp.max(magnitude, axis=-1)


def attribute_chunked(method, logits_fn, x, y, key, chunk: int = 256, **opts):
  """:func:`attribute` over ``x`` in chunks of ``chunk`` examples (``lax.map``), so the
  backward pass of a large model never holds the activations of the whole test set."""
  predict = lambda params, z: logits_fn(z)
  n = x.shape[0]
  if n <= chunk:
    return attribute(method, predict, None, x, y, key=key, **opts)
  num = -(-n // chunk)
  pad = num * chunk - n
  xs = jnp.pad(x, [(0, pad)] + [(0, 0)] * (x.ndim - 1)).reshape((num, chunk) + x.shape[1:])
  ys = jnp.pad(y, (0, pad)).reshape(num, chunk)
  keys = jax.random.split(key, num)
  out = jax.lax.map(lambda a: attribute(method, predict, None, a[0], a[1], key=a[2], **opts),
                    (xs, ys, keys))
  return out.reshape((num * chunk,) + x.shape[1:])[:n]
