"""Attribution-quality evaluators: where a model's input gradients put their weight.

* ``attribution`` (BlockMNIST images) — per test image, the share of the top-k attributed pixels
  that lie in the null block (``null_top{k}``, k = 2.5, 5, 10, 20, 30% of the pixels;
  ``null_topk`` = their mean), the share of attribution mass on the null block (``null_mass``,
  also per digit position: ``null_mass_digit_top`` / ``_bottom``), and the feature-leakage score
  (``leakage``: correlation of the null-block map with the training-set mean digit of the
  predicted class) next to the same score of a random attribution (``leakage_random``, ≈ 0).
  The null block carries no label information, so a random attribution puts half of its top-k
  pixels and half of its mass there; a faithful one puts ~none.
* ``block_attribution`` (simplified BlockMNIST vectors) — ``p_argmax_signal`` = P[the block of
  largest gradient norm is the instance's signal block], ``signal_ratio`` = mean ‖g_signal‖ /
  mean ‖g_other‖ over the other first-half blocks (≈ 1: leakage), ``noise_mass`` = share of
  |g| on the noise half.
* ``accuracy`` — test accuracy only (any number of classes), e.g. of DiffROAR's retrained models.

Options (``config.eval``): ``attribution_method`` (a name of ``attribution.gradients.METHODS``;
default ``grad_logit``, the gradient of the true-class logit), ``topk_fractions``,
``attribution_chunk`` (images per backward pass; memory, not results), ``attribution_examples``
(evaluate the first N test images; 0 = all), ``attribution_show`` (maps kept for figures),
``num_blocks`` / ``block_size`` (simplified BlockMNIST layout). Models are evaluated in eval mode
(BatchNorm running statistics), so examples do not interact and one backward pass of the summed
score gives every per-example gradient.

``extras`` (the data's, optional): ``{"digit_on_top": bool [n], "reference": float
[classes, 28, 28]}`` for BlockMNIST. Without it the null block of each image is found as the
block that equals one of the null patterns (the patch or black), and the reference digits are
the test set's own class means (the experiments always pass the training-set means).
"""

import jax
import jax.numpy as jnp
import numpy as np

from simplicity_bias.attribution import gradients, quality
from simplicity_bias.attribution.gradients import attribute_chunked
from simplicity_bias.data import block_mnist
from simplicity_bias.evaluators import register
from simplicity_bias.members import Purpose, subkey
from simplicity_bias.metrics.classification import accuracy

TOPK_FRACTIONS = (0.025, 0.05, 0.1, 0.2, 0.3)


def fraction_name(fraction: float) -> str:
  """0.025 -> '2p5', 0.05 -> '5': the percentage, '.'-free for metric names."""
  return f"{100 * fraction:g}".replace(".", "p")


def topk_metric_names(fractions=TOPK_FRACTIONS):
  return [f"null_top{fraction_name(f)}" for f in fractions]


def _method(options):
  method = options.get("attribution_method", "grad_logit")
  if method not in gradients.METHODS:
    raise ValueError(f"eval.attribution_method={method!r} is unknown; valid: "
                     f"{', '.join(gradients.METHODS)}.")
  return method


def _keys(key):
  """Attribution noise, the random baseline, tie-breaking of ranks."""
  return jax.random.split(subkey(key, Purpose.ATTRIBUTION), 3)


def null_patterns():
  """The null blocks BlockMNIST can have: the square-and-X patch and black."""
  return jnp.stack([jnp.asarray(block_mnist.null_patch()),
                    jnp.zeros((block_mnist.BLOCK_SIZE,) * 2, jnp.float32)])


def find_digit_on_top(x):
  """bool [n]: True where the digit is the top block, from the images alone: the null block is
  the one that equals a null pattern (the other block holds a digit, which never does)."""
  size = block_mnist.BLOCK_SIZE
  top, bottom = x[:, :size, :, 0], x[:, size:, :, 0]
  patterns = null_patterns()
  distance = lambda block: jnp.min(jnp.max(jnp.abs(block[:, None] - patterns[None]),
                                           axis=(2, 3)), axis=1)
  return distance(bottom) < distance(top)


def split_blocks(maps, digit_on_top):
  """[n, 56, 28] -> (digit block, null block) maps, each [n, 28, 28] (jit-able)."""
  size = block_mnist.BLOCK_SIZE
  top, bottom = maps[:, :size], maps[:, size:]
  on_top = digit_on_top[:, None, None]
  return jnp.where(on_top, top, bottom), jnp.where(on_top, bottom, top)


def class_means(x, y, digit_on_top, num_classes: int):
  """[classes, 28, 28]: the mean digit block of each label."""
  digits, _ = split_blocks(x[..., 0], digit_on_top)
  onehot = jax.nn.one_hot(y, num_classes, dtype=x.dtype)
  sums = jnp.einsum("nc,nhw->chw", onehot, digits)
  return sums / jnp.maximum(onehot.sum(0), 1)[:, None, None]


def _position_mean(values, where):
  count = jnp.sum(where)
  return jnp.where(count > 0, jnp.sum(jnp.where(where, values, 0.0)) / jnp.maximum(count, 1),
                   jnp.nan)


@register("attribution", kinds=("image",))
def attribution(inputs):
  """BlockMNIST attribution quality of one model (see the module docstring)."""
  options, info = inputs.options, inputs.info
  fractions = tuple(options.get("topk_fractions", TOPK_FRACTIONS))
  limit = int(options.get("attribution_examples", 0) or 0)
  x, y = inputs.x, inputs.y
  test_acc = accuracy(inputs.logits_fn(x), y)                      # on every test image
  extras = inputs.extras or {}
  digit_on_top = extras.get("digit_on_top")
  if limit:
    x, y = x[:limit], y[:limit]
    digit_on_top = None if digit_on_top is None else digit_on_top[:limit]
  if digit_on_top is None:
    digit_on_top = find_digit_on_top(x)
  reference = extras.get("reference")
  if reference is None:
    reference = class_means(x, y, digit_on_top, info.num_classes)
  k_attr, k_random, k_tie = _keys(inputs.key)
  method = _method(options)
  attr = attribute_chunked(method, inputs.logits_fn, x, y, k_attr,
                           int(options.get("attribution_chunk", 256)))
  pixels = gradients.pixel_scores(attr)                            # [n, 56, 28]
  in_top = jnp.arange(2 * block_mnist.BLOCK_SIZE) < block_mnist.BLOCK_SIZE
  null_rows = in_top[None, :] != digit_on_top[:, None]             # [n, 56]
  null_region = jnp.broadcast_to(null_rows[:, :, None], pixels.shape)
  shares = quality.topk_share_in_region(pixels, null_region, fractions, key=k_tie)
  mass = quality.mass_share(pixels, null_region)
  logits = inputs.logits_fn(x)
  predicted = jnp.argmax(logits, axis=-1)
  _, null_maps = split_blocks(pixels, digit_on_top)
  leakage = quality.leakage_score(null_maps, reference[predicted])
  random_pixels = gradients.pixel_scores(gradients.random_attribution(k_random, x))
  _, random_null = split_blocks(random_pixels, digit_on_top)
  leakage_random = quality.leakage_score(random_null, reference[predicted])
  out = {name: jnp.nanmean(shares[:, j]) for j, name in enumerate(topk_metric_names(fractions))}
  out["null_topk"] = jnp.nanmean(shares)
  out["null_mass"] = jnp.nanmean(mass)
  out["null_mass_digit_top"] = _position_mean(mass, digit_on_top & ~jnp.isnan(mass))
  out["null_mass_digit_bottom"] = _position_mean(mass, ~digit_on_top & ~jnp.isnan(mass))
  out["leakage"] = jnp.mean(leakage)
  out["leakage_random"] = jnp.mean(leakage_random)
  out["test_acc"] = test_acc
  show = int(options.get("attribution_show", 8))
  out["maps"] = pixels[:show]
  return out


def block_norms(values, num_blocks: int, block_size: int):
  """[n, d * b] -> [n, d]: the l2 norm of each block."""
  blocks = values.reshape(values.shape[0], num_blocks, block_size)
  return jnp.sqrt(jnp.sum(blocks * blocks, axis=-1))


def signal_blocks(x, num_blocks: int, block_size: int):
  """[n]: each instance's signal block, the one first-half block that is not zero."""
  return jnp.argmax(block_norms(x, num_blocks, block_size)[:, :num_blocks // 2], axis=-1)


@register("block_attribution", kinds=("vector",))
def block_attribution(inputs):
  """Simplified BlockMNIST: does the gradient single out each instance's signal block?"""
  options = inputs.options
  num_blocks, block_size = int(options["num_blocks"]), int(options["block_size"])
  half = num_blocks // 2
  x, y = inputs.x, inputs.y
  k_attr, _, _ = _keys(inputs.key)
  attr = attribute_chunked(_method(options), inputs.logits_fn, x, y, k_attr,
                           int(options.get("attribution_chunk", 4096)))
  norms = block_norms(attr, num_blocks, block_size)                 # [n, d]
  signal = signal_blocks(x, num_blocks, block_size)
  is_signal = jax.nn.one_hot(signal, num_blocks, dtype=bool)
  first_half = jnp.arange(num_blocks) < half
  others = first_half[None, :] & ~is_signal
  signal_norm = jnp.sum(jnp.where(is_signal, norms, 0.0), axis=1)
  other_norm = jnp.sum(jnp.where(others, norms, 0.0), axis=1) / max(half - 1, 1)
  magnitude = jnp.abs(attr).reshape(x.shape[0], num_blocks, block_size).sum(-1)
  total = magnitude.sum(-1)
  noise = jnp.where(total > 0, magnitude[:, half:].sum(-1) / jnp.where(total > 0, total, 1), 0.0)
  return {"p_argmax_signal": jnp.mean(jnp.argmax(norms, axis=1) == signal),
          "signal_ratio": jnp.mean(signal_norm) / jnp.maximum(jnp.mean(other_norm), 1e-30),
          "noise_mass": jnp.mean(noise),
          "test_acc": accuracy(inputs.logits_fn(x), y),
          "block_profile": block_profile(norms, signal, half)}


def block_profile(norms, signal, half: int):
  """[d]: mean block norm with the first half re-indexed so that position 0 is the signal block
  (then the other first-half blocks in order, then the noise half): the figure's bars."""
  n, d = norms.shape
  others = [jnp.where(j < signal, j, j + 1) for j in range(half - 1)]
  order = jnp.stack([signal, *others, *[jnp.full((n,), j, signal.dtype) for j in range(half, d)]],
                    axis=1)
  return jnp.mean(jnp.take_along_axis(norms, order, axis=1), axis=0)


@register("accuracy")
def accuracy_only(inputs):
  """Test accuracy of any number of classes."""
  return {"test_acc": accuracy(inputs.logits_fn(inputs.x), inputs.y)}


def check_fractions(fractions) -> None:
  """ConfigError unless ``eval.topk_fractions`` is a non-empty list of fractions in (0, 1]."""
  from simplicity_bias.validation import ConfigError
  values = np.asarray(fractions, float)
  if values.ndim != 1 or not len(values) or np.any((values <= 0) | (values > 1)):
    raise ConfigError(f"eval.topk_fractions={tuple(fractions)!r} must be fractions of the "
                      "pixels in (0, 1], e.g. (0.025, 0.05, 0.1, 0.2, 0.3).")
