#!/usr/bin/env python
r"""Where XLA:CPU loses to PyTorch on convolutions: one convolution at a time, forward and backward.

  python benchmarks/bench_conv_ops.py                      # ResNet-50 shapes, batch 32, 64x32 input
  python benchmarks/bench_conv_ops.py --batch_size=8 --repeats=2   # quick look

For every convolution shape of the CIFAR ResNet-50 on 64x32x3 MNIST-CIFAR input (after the stem's
max-pool: stages at 32x16, 16x8, 8x4, 4x2), times three jitted JAX programs, float32, NHWC / HWIO:
the forward convolution, the gradient with respect to the input and the gradient with respect
to the kernel (each by ``jax.vjp`` of that convolution alone), once with XLA's convolution
(``jax``) and once with the project's ``models/matmul_conv.py`` (``jax_matmul``, what
``model.conv_impl='matmul'`` runs), and the same three in PyTorch
(``torch.nn.functional.conv2d`` forward, ``torch.autograd.grad`` for each gradient), NCHW and
channels-last, with ``torch.set_num_threads(os.cpu_count())``. Each program: one warm-up call,
then the median of ``--repeats`` calls of ``--inner`` back-to-back executions. Prints one line per
shape with GFLOP/s (2 x MACs / time) of each side and the JAX / PyTorch time ratio, then totals
weighted by how often each shape occurs in one ResNet-50 pass. ``XLA_FLAGS`` is read as usual, so
flag variants are separate runs. Results: ``benchmarks/RESULTS.md``.
"""

import argparse
import json
import os
import platform
import statistics
import time

# (name, H, W, Cin, Cout, kernel, stride, count in one ResNet-50 pass)
SHAPES = [
    ("stem 3x3 3->64", 64, 32, 3, 64, 3, 1, 1),
    ("s1 1x1 64->64", 32, 16, 64, 64, 1, 1, 1),
    ("s1 1x1 256->64", 32, 16, 256, 64, 1, 1, 2),
    ("s1 3x3 64->64", 32, 16, 64, 64, 3, 1, 3),
    ("s1 1x1 64->256", 32, 16, 64, 256, 1, 1, 4),
    ("s2 1x1 256->128", 32, 16, 256, 128, 1, 1, 1),
    ("s2 3x3 128->128 /2", 32, 16, 128, 128, 3, 2, 1),
    ("s2 3x3 128->128", 16, 8, 128, 128, 3, 1, 3),
    ("s2 1x1 512->128", 16, 8, 512, 128, 1, 1, 3),
    ("s2 1x1 128->512", 16, 8, 128, 512, 1, 1, 4),
    ("s3 3x3 256->256", 8, 4, 256, 256, 3, 1, 5),
    ("s3 1x1 1024->256", 8, 4, 1024, 256, 1, 1, 5),
    ("s3 1x1 256->1024", 8, 4, 256, 1024, 1, 1, 7),
    ("s4 3x3 512->512", 4, 2, 512, 512, 3, 1, 2),
    ("s4 1x1 2048->512", 4, 2, 2048, 512, 1, 1, 2),
    ("s4 1x1 512->2048", 4, 2, 512, 2048, 1, 1, 4),
]


def _median_time(fn, repeats, inner):
  fn()
  times = []
  for _ in range(repeats):
    t0 = time.perf_counter()
    for _ in range(inner):
      fn()
    times.append((time.perf_counter() - t0) / inner)
  return statistics.median(times)


def jax_times(shape, batch, repeats, inner, matmul=False):
  import jax
  import jax.numpy as jnp
  from simplicity_bias.models import matmul_conv
  _, h, w, cin, cout, k, stride, _ = shape
  pad = k // 2
  impl = matmul_conv.conv_general_dilated if matmul else jax.lax.conv_general_dilated
  conv = lambda x, kern: impl(x, kern, (stride, stride), ((pad, pad), (pad, pad)),
                              dimension_numbers=("NHWC", "HWIO", "NHWC"))
  kx, kk = jax.random.split(jax.random.key(0))
  x = jax.random.normal(kx, (batch, h, w, cin), jnp.float32)
  kern = jax.random.normal(kk, (k, k, cin, cout), jnp.float32) * 0.05
  g = jnp.ones_like(conv(x, kern))
  fwd = jax.jit(conv)
  dx = jax.jit(lambda x, kern, g: jax.vjp(lambda a: conv(a, kern), x)[1](g)[0])
  dw = jax.jit(lambda x, kern, g: jax.vjp(lambda b: conv(x, b), kern)[1](g)[0])
  run = lambda f, *a: (lambda: jax.block_until_ready(f(*a)))
  return {"fwd": _median_time(run(fwd, x, kern), repeats, inner),
          "dx": _median_time(run(dx, x, kern, g), repeats, inner),
          "dw": _median_time(run(dw, x, kern, g), repeats, inner)}


def torch_times(shape, batch, repeats, inner, channels_last):
  import torch
  _, h, w, cin, cout, k, stride, _ = shape
  pad = k // 2
  fmt = torch.channels_last if channels_last else torch.contiguous_format
  x = torch.randn(batch, cin, h, w).contiguous(memory_format=fmt)
  kern = (torch.randn(cout, cin, k, k) * 0.05).contiguous(memory_format=fmt)
  conv = lambda a, b: torch.nn.functional.conv2d(a, b, stride=stride, padding=pad)
  with torch.no_grad():
    y = conv(x, kern)
  g = torch.ones_like(y)

  def fwd():
    with torch.no_grad():
      conv(x, kern)

  def dx():
    a = x.detach().requires_grad_(True)
    torch.autograd.grad(conv(a, kern), a, g)

  def dw():
    b = kern.detach().requires_grad_(True)
    torch.autograd.grad(conv(x, b), b, g)

  # dx / dw include their forward pass: subtract the forward time to compare gradients alone.
  t_fwd = _median_time(fwd, repeats, inner)
  return {"fwd": t_fwd, "dx": max(_median_time(dx, repeats, inner) - t_fwd, 1e-9),
          "dw": max(_median_time(dw, repeats, inner) - t_fwd, 1e-9)}


def main(argv=None):
  p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  p.add_argument("--batch_size", type=int, default=32)
  p.add_argument("--repeats", type=int, default=3)
  p.add_argument("--inner", type=int, default=3, help="executions per timed repeat")
  p.add_argument("--backend", choices=("jax", "torch", "both"), default="both")
  p.add_argument("--json", default="", metavar="OUT")
  args = p.parse_args(argv)
  import jax
  threads = os.cpu_count()
  if args.backend != "jax":
    import torch
    torch.set_num_threads(threads)
  print(f"machine: {platform.processor() or platform.machine()}, {threads} CPUs; jax "
        f"{jax.__version__} on {jax.default_backend()}; XLA_FLAGS={os.environ.get('XLA_FLAGS', '')!r}"
        f"; batch {args.batch_size}")
  rows = []
  sides = ("jax", "jax_matmul", "torch_nchw", "torch_nhwc")
  print(f"{'shape':22s} {'count':>5s} | " + " | ".join(f"{s + ' fwd/dx/dw':>24s}" for s in sides)
        + " | jax/torch time (GFLOP/s per side)")
  for shape in SHAPES:
    name, h, w, cin, cout, k, stride, count = shape
    ho, wo = (h + stride - 1) // stride, (w + stride - 1) // stride
    flops = 2.0 * args.batch_size * ho * wo * cin * cout * k * k
    row = {"shape": name, "count": count, "gflop": flops / 1e9}
    if args.backend != "torch":
      row["jax"] = jax_times(shape, args.batch_size, args.repeats, args.inner)
      row["jax_matmul"] = jax_times(shape, args.batch_size, args.repeats, args.inner, True)
    if args.backend != "jax":
      row["torch_nchw"] = torch_times(shape, args.batch_size, args.repeats, args.inner, False)
      row["torch_nhwc"] = torch_times(shape, args.batch_size, args.repeats, args.inner, True)
    rate = lambda t: "/".join(f"{flops / t[op] / 1e9:6.1f}" for op in ("fwd", "dx", "dw"))
    cols = [rate(row[s]) if s in row else "-" for s in sides]
    ratio = ""
    if "jax" in row and "torch_nchw" in row:
      best = {op: min(row["torch_nchw"][op], row["torch_nhwc"][op]) for op in ("fwd", "dx", "dw")}
      row["ratio"] = {op: row["jax"][op] / best[op] for op in best}
      ratio = "/".join(f"{row['ratio'][op]:.1f}" for op in ("fwd", "dx", "dw"))
    print(f"{name:22s} {count:5d} | " + " | ".join(f"{c:>24s}" for c in cols) + f" | {ratio}",
          flush=True)
    rows.append(row)
  totals = {}
  for side in sides:
    if side in rows[0]:
      totals[side] = {op: sum(r["count"] * r[side][op] for r in rows) for op in ("fwd", "dx", "dw")}
  for side, t in totals.items():
    print(f"one ResNet-50 pass, convolutions only, {side}: fwd {t['fwd']:.3f} s, dx {t['dx']:.3f} s, "
          f"dw {t['dw']:.3f} s, total {sum(t.values()):.3f} s")
  if args.json:
    with open(args.json, "w") as f:
      json.dump({"batch_size": args.batch_size, "xla_flags": os.environ.get("XLA_FLAGS", ""),
                 "rows": rows, "totals": totals}, f, indent=1)


if __name__ == "__main__":
  main()
