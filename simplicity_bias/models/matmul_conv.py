"""Convolutions as matrix products, a drop-in for ``lax.conv_general_dilated`` in ``nn.Conv``.

On XLA:CPU some convolution shapes run far below the machine's matmul rate (measured with
``benchmarks/bench_conv_ops.py``, 2-core CPU, ResNet-50 at batch 32): a 3x3 convolution on a 4x2
feature map at 1.5-1.7 GFLOP/s against 185-280 for PyTorch (forward and input gradient; two
runs), and the kernel gradients of 1x1 convolutions 4-22x slower than PyTorch's. Written as matrix
products, which XLA runs near its matmul rate, a ResNet-50 pass spends 1.10 s instead of 4.63 s
in convolutions (PyTorch 0.58 s):

* a 1x1 convolution (stride s: the input subsampled first) is one ``einsum`` over channels;
* a k x k convolution whose output has at most ``max_positions`` positions is an im2col product:
  the k^2 shifted (strided) windows of the padded input side by side, times the kernel reshaped
  to ``[k^2 C_in, C_out]``;
* anything else (bigger maps, where XLA's own convolution is as fast or faster; dilation, groups,
  other layouts) goes to ``lax.conv_general_dilated`` unchanged.

The parameters are ``nn.Conv``'s own, so a model trains and loads the same way with either
implementation; the results agree to float rounding (summation order), not bit for bit.
"""

import functools
from typing import Optional

import jax.numpy as jnp
from jax import lax

# Output positions (H_out x W_out) up to which a k x k (k > 1) convolution uses im2col.
MAX_POSITIONS = 64


def _is_nhwc(lhs, rhs, dimension_numbers) -> bool:
  want = lax.conv_dimension_numbers(lhs.shape, rhs.shape, ("NHWC", "HWIO", "NHWC"))
  return lax.conv_dimension_numbers(lhs.shape, rhs.shape, dimension_numbers) == want


def conv_general_dilated(lhs, rhs, window_strides, padding, lhs_dilation=None, rhs_dilation=None,
                         dimension_numbers=None, feature_group_count=1, batch_group_count=1,
                         precision=None, preferred_element_type=None,
                         max_positions: Optional[int] = MAX_POSITIONS):
  """``lax.conv_general_dilated`` with the shapes XLA:CPU runs slowly done as matrix products."""
  fallback = functools.partial(
      lax.conv_general_dilated, lhs, rhs, window_strides, padding, lhs_dilation=lhs_dilation,
      rhs_dilation=rhs_dilation, dimension_numbers=dimension_numbers,
      feature_group_count=feature_group_count, batch_group_count=batch_group_count,
      precision=precision, preferred_element_type=preferred_element_type)
  undilated = all(d == 1 for d in tuple(lhs_dilation or ()) + tuple(rhs_dilation or ()))
  if (lhs.ndim != 4 or isinstance(padding, str) or not undilated or feature_group_count != 1
      or batch_group_count != 1 or preferred_element_type is not None
      or not _is_nhwc(lhs, rhs, dimension_numbers)):
    return fallback()
  kh, kw, cin, cout = rhs.shape
  (top, bottom), (left, right) = padding
  sh, sw = window_strides
  _, h, w, _ = lhs.shape
  ho, wo = (h + top + bottom - kh) // sh + 1, (w + left + right - kw) // sw + 1
  if kh == kw == 1 and top == bottom == left == right == 0:
    return jnp.einsum("nhwc,cd->nhwd", lhs[:, ::sh, ::sw, :], rhs[0, 0], precision=precision)
  if max_positions is not None and ho * wo > max_positions:
    return fallback()
  x = jnp.pad(lhs, ((0, 0), (top, bottom), (left, right), (0, 0)))
  windows = [x[:, i:i + sh * (ho - 1) + 1:sh, j:j + sw * (wo - 1) + 1:sw, :]
             for i in range(kh) for j in range(kw)]
  patches = jnp.concatenate(windows, axis=-1)                      # [n, ho, wo, kh kw cin]
  return jnp.einsum("nhwc,cd->nhwd", patches, rhs.reshape(kh * kw * cin, cout),
                    precision=precision)
