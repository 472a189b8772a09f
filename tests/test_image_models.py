"""Tests for the CIFAR image model zoo (VGG, ResNet, DenseNet, MobileNetV2, GoogLeNet).

Shapes and parameter counts of every model are checked with ``jax.eval_shape`` (tracing only, no
FLOPs), so the full zoo is covered in seconds on a CPU. Real forward passes run only for two small
configurations, which is enough to pin down the BatchNorm train/eval contract every model shares.
"""

import functools

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from simplicity_bias.models import get_model, model_names

IMAGE_MODELS = ("vgg11", "vgg13", "vgg16", "vgg19", "resnet18", "resnet34", "resnet50",
                "densenet121", "mobilenetv2", "googlenet")

# Parameter counts with a 10-class head of the standard CIFAR variants of these networks, as
# reported for the widely used PyTorch CIFAR model zoo (BatchNorm scale and shift count as
# parameters there and here; running statistics do not). A mismatch means a layer width, bias or
# block was changed.
REFERENCE_PARAM_COUNTS = {
    "vgg11": 9_231_114,
    "vgg13": 9_416_010,
    "vgg16": 14_728_266,
    "vgg19": 20_040_522,
    "resnet18": 11_173_962,
    "resnet34": 21_282_122,
    "resnet50": 23_520_842,
    "densenet121": 6_956_298,
    "mobilenetv2": 2_296_922,
    "googlenet": 6_166_250,
}

# Total downsampling before global average pooling, read off the last 4-D activation any submodule
# returns. Parameter counts cannot see strides, so this is what catches an ImageNet-style stem or a
# misplaced stride. VGG's last activation is its final conv stage, before the fifth max-pool.
DOWNSAMPLING = {
    "vgg11": 16, "vgg13": 16, "vgg16": 16, "vgg19": 16,
    "resnet18": 8, "resnet34": 8, "resnet50": 16,  # ResNet-50: max-pool after the stem
    "densenet121": 8,
    "mobilenetv2": 8,
    "googlenet": 4,
}

INPUT_SHAPES = ((2, 32, 32, 3), (2, 64, 32, 3))  # CIFAR-10 and stacked MNIST-CIFAR, NHWC.


def count_params(params) -> int:
  return sum(int(np.prod(leaf.shape)) for leaf in jax.tree_util.tree_leaves(params))


def test_registry_lists_every_image_model():
  assert set(IMAGE_MODELS) <= set(model_names())


def test_unknown_model_raises_value_error_listing_valid_names():
  with pytest.raises(ValueError, match="resnet19") as error:
    get_model("resnet19")
  for name in IMAGE_MODELS:
    assert name in str(error.value)


@pytest.mark.parametrize("input_shape", INPUT_SHAPES, ids=lambda shape: f"{shape[1]}x{shape[2]}")
@pytest.mark.parametrize("name", IMAGE_MODELS)
def test_output_shape_and_downsampling(name, input_shape):
  model = get_model(name)  # Default head: 2 classes.
  images = jax.ShapeDtypeStruct(input_shape, jnp.float32)
  feature_map_shapes = []

  def record_feature_maps(next_fun, args, kwargs, context):
    output = next_fun(*args, **kwargs)
    if isinstance(output, jax.Array) and output.ndim == 4:
      feature_map_shapes.append(output.shape)
    return output

  def init(images):
    with nn.intercept_methods(record_feature_maps):
      return model.init_with_output(jax.random.key(0), images, train=False)

  logits, variables = jax.eval_shape(init, images)
  assert logits.shape == (input_shape[0], 2)
  assert logits.dtype == jnp.float32
  factor = DOWNSAMPLING[name]
  assert feature_map_shapes[-1][1:3] == (input_shape[1] // factor, input_shape[2] // factor)

  # Train mode must run with batch_stats mutable and hand back stats of the same structure.
  train_logits, updates = jax.eval_shape(
      lambda variables, images: model.apply(
          variables, images, train=True, mutable=["batch_stats"]),
      variables, images)
  assert train_logits.shape == (input_shape[0], 2)
  assert (jax.tree_util.tree_structure(updates["batch_stats"])
          == jax.tree_util.tree_structure(variables["batch_stats"]))


@pytest.mark.parametrize("name", IMAGE_MODELS)
def test_parameter_count_matches_reference_cifar_model(name):
  model = get_model(name, num_classes=10)
  images = jax.ShapeDtypeStruct(INPUT_SHAPES[0], jnp.float32)
  variables = jax.eval_shape(
      lambda images: model.init(jax.random.key(0), images, train=False), images)
  assert variables["params"]["head"]["bias"].shape == (10,)
  assert count_params(variables["params"]) == REFERENCE_PARAM_COUNTS[name]


def test_base_width_shrinks_resnet():
  images = jax.ShapeDtypeStruct(INPUT_SHAPES[0], jnp.float32)

  def num_params(base_width):
    model = get_model("resnet18", num_classes=10, base_width=base_width)
    variables = jax.eval_shape(
        lambda images: model.init(jax.random.key(0), images, train=False), images)
    return count_params(variables["params"])

  # Conv weights scale with width squared, so a quarter of the width is roughly 1/16 the size.
  assert num_params(16) < num_params(64) / 12


def jitted_functions(model):
  """Jitted init, train-mode apply and eval-mode apply; compiling beats eager op-by-op on CPU.

  Both applies keep ``batch_stats`` mutable so a test can see whether the stats moved.
  """
  init = jax.jit(lambda rng, images: model.init(rng, images, train=False))
  train_apply = jax.jit(
      lambda variables, images: model.apply(variables, images, train=True, mutable=["batch_stats"]))
  eval_apply = jax.jit(
      lambda variables, images: model.apply(variables, images, train=False, mutable=["batch_stats"]))
  return init, train_apply, eval_apply


# The two real-compute configurations: a small ResNet on CIFAR-sized input and VGG-11 on the taller
# MNIST-CIFAR input, so both BatchNorm placements (residual and plain stacks) run for real.
SMALL_CONFIGS = (
    ("resnet18", {"base_width": 16}, INPUT_SHAPES[0]),
    ("vgg11", {}, INPUT_SHAPES[1]),
)


@pytest.mark.slow
@pytest.mark.parametrize("name, kwargs, input_shape", SMALL_CONFIGS, ids=["resnet18_w16", "vgg11"])
def test_batch_norm_train_and_eval_modes(name, kwargs, input_shape):
  model = get_model(name, **kwargs)
  init, train_apply, eval_apply = jitted_functions(model)
  images = jax.random.uniform(jax.random.key(1), input_shape)  # In [0, 1] like the datasets.
  variables = init(jax.random.key(0), images)
  initial_stats = variables["batch_stats"]

  train_logits, updates = train_apply(variables, images)
  assert train_logits.shape == (input_shape[0], 2)
  assert bool(jnp.all(jnp.isfinite(train_logits)))
  # Every BatchNorm layer, not just some, must have folded this batch into its running stats.
  changed = jax.tree_util.tree_map(
      lambda old, new: bool(jnp.any(old != new)), initial_stats, updates["batch_stats"])
  assert all(jax.tree_util.tree_leaves(changed))

  variables = {**variables, "batch_stats": updates["batch_stats"]}
  eval_logits, eval_updates = eval_apply(variables, images)
  again_logits, _ = eval_apply(variables, images)
  np.testing.assert_array_equal(eval_logits, again_logits)
  jax.tree_util.tree_map(np.testing.assert_array_equal,
                         eval_updates["batch_stats"], variables["batch_stats"])
  # Eval mode normalizes with running stats, so it must differ from train mode on the same batch
  # and treat each example independently of the rest of the batch.
  assert not np.allclose(eval_logits, train_logits)
  single_logits, _ = eval_apply(variables, images[:1])
  np.testing.assert_allclose(single_logits, eval_logits[:1], rtol=1e-5, atol=1e-5)


def test_small_resnet_gradients_reach_parameters_and_input():
  model = get_model("resnet18", base_width=16)
  images = jax.random.uniform(jax.random.key(1), INPUT_SHAPES[0])
  labels = jnp.array([0, 1])
  init, _, _ = jitted_functions(model)
  variables = init(jax.random.key(0), images)

  def loss_fn(params, images):
    logits, _ = model.apply({"params": params, "batch_stats": variables["batch_stats"]}, images,
                            train=True, mutable=["batch_stats"])
    return optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()

  param_grads, input_grads = jax.jit(jax.grad(loss_fn, argnums=(0, 1)))(
      variables["params"], images)
  assert input_grads.shape == images.shape
  assert bool(jnp.all(jnp.isfinite(input_grads))) and bool(jnp.any(input_grads != 0))
  # The stem conv is the farthest from the loss; a nonzero gradient there means the whole
  # residual path is differentiable.
  assert bool(jnp.any(param_grads["stem_conv"]["kernel"] != 0))
  assert all(bool(jnp.all(jnp.isfinite(leaf))) for leaf in jax.tree_util.tree_leaves(param_grads))


# ----------------------------------------------------------------------------- matmul convolutions


@pytest.mark.parametrize("kernel,stride,hw,padding", [
    (1, 1, (8, 4), ((0, 0), (0, 0))),     # 1x1: one einsum
    (1, 2, (8, 4), ((0, 0), (0, 0))),     # strided 1x1 (projection shortcut)
    (3, 1, (4, 2), ((1, 1), (1, 1))),     # small map: im2col
    (3, 2, (8, 4), ((1, 1), (1, 1))),     # strided, 4x2 output: im2col
    (3, 1, (5, 3), ((2, 0), (1, 1))),     # asymmetric padding
    (3, 1, (16, 8), ((1, 1), (1, 1))),    # 128 output positions: XLA's convolution
])
@pytest.mark.parametrize("max_positions", ["default", None])  # None: im2col at every size
def test_matmul_conv_matches_xla_values_and_both_gradients(kernel, stride, hw, padding,
                                                           max_positions):
  from simplicity_bias.models import matmul_conv
  kx, kk, kg = jax.random.split(jax.random.key(0), 3)
  x = jax.random.normal(kx, (3,) + hw + (5,))
  w = jax.random.normal(kk, (kernel, kernel, 5, 7))
  dn = ("NHWC", "HWIO", "NHWC")
  ref = lambda a, b: jax.lax.conv_general_dilated(a, b, (stride, stride), padding,
                                                  dimension_numbers=dn)
  limit = {} if max_positions == "default" else {"max_positions": max_positions}
  ours = lambda a, b: matmul_conv.conv_general_dilated(a, b, (stride, stride), padding,
                                                       dimension_numbers=dn, **limit)
  y_ref, vjp_ref = jax.vjp(ref, x, w)
  y, vjp = jax.vjp(ours, x, w)
  np.testing.assert_allclose(y, y_ref, rtol=1e-5, atol=1e-5)
  g = jax.random.normal(kg, y.shape)
  for got, want in zip(vjp(g), vjp_ref(g)):
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-4)
  # By default the im2col path is taken for small maps only (otherwise the jaxpr holds the
  # convolution); without a limit, always.
  jaxpr = str(jax.make_jaxpr(ours)(x, w))
  expect_conv = (kernel > 1 and max_positions == "default"
                 and y.shape[1] * y.shape[2] > matmul_conv.MAX_POSITIONS)
  assert ("conv_general_dilated" in jaxpr) == expect_conv


def test_resnet_conv_impls_share_parameters_and_agree():
  x = jax.random.uniform(jax.random.key(0), (2, 32, 16, 3))
  xla = get_model("resnet50", base_width=4)
  variables = xla.init(jax.random.key(1), x, train=False)
  expected = xla.apply(variables, x, train=False)
  for impl in ("matmul", "im2col"):
    mm = get_model("resnet50", base_width=4, conv_impl=impl)
    init = functools.partial(mm.init, train=False)
    assert (jax.tree_util.tree_structure(jax.eval_shape(init, jax.random.key(1), x))
            == jax.tree_util.tree_structure(variables))
    np.testing.assert_allclose(mm.apply(variables, x, train=False), expected,
                               rtol=1e-4, atol=1e-4)
  with pytest.raises(ValueError, match="conv_impl"):
    get_model("resnet18", conv_impl="fft").init(jax.random.key(1), x, train=False)
