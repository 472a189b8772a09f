#!/usr/bin/env python
r"""Training throughput (images/s) of the CIFAR-style ResNet-50: the project's JAX trainer vs PyTorch.

  # CPU (the default on a CPU-only JAX: batch 64, 5 timed updates after 1 warm-up round):
  python benchmarks/bench_resnet50_images.py --jax_reference --json=/tmp/resnet50_cpu.json
  # smoke run: both sides run, numbers meaningless
  python benchmarks/bench_resnet50_images.py --batch_size=8 --steps=2

  # on a GPU machine (batch 256, more timed updates, a few repeats):
  python benchmarks/bench_resnet50_images.py --batch_size=256 --steps=50 --warmup=2 \
      --repeats=3 --jax_reference --json=/tmp/resnet50_gpu.json

Measured results are in ``benchmarks/RESULTS.md``.

Both sides train the same network on the same data: ``get_model("resnet50", num_classes=2)``
(3x3 stride-1 stem conv + BN + ReLU, 3x3 stride-2 max-pool, Bottleneck stages (3, 4, 6, 3) with
widths 64/128/256/512 and expansion 4, stride 2 on the first block of stages 2-4, 1x1-conv + BN
projection shortcuts where the shape changes, bias-free convs, global average pool, a 2-way
linear head) on random MNIST-CIFAR-shaped images, 64x32x3 float32 in [0, 1], with random binary
labels. SGD with momentum 0.9, lr 0.05, coupled weight decay 5e-5 on every parameter,
cross-entropy, BatchNorm in training mode (batch statistics, running averages updated).

* JAX: the project's own training code. ``Trainer(model, make_optimizer("sgd", 0.05,
  momentum=0.9, weight_decay=5e-5), TrainSpec(batch_size=B, stop_rule="none", select="last",
  scan_length=S), num_train=steps*B, shared_data=True)``, one member from ``init_members``; one
  call of ``trainer.segment`` runs ``steps`` updates (one epoch: a shuffle, then compiled calls
  of ``S`` vmapped updates that gather their batch from the shuffled training set). ``--warmup`` segment
  calls come first (the first one compiles; its time is reported separately), then
  ``--repeats`` timed calls, each ended by ``block_until_ready``.
* PyTorch: the same architecture written below with ``torch.nn`` (same layer order, padding,
  strides, bias choices, BN eps 1e-5 / momentum 0.1 and He fan-out conv init), NCHW
  (``--torch_channels_last`` switches the memory format), ``torch.set_num_threads(os.cpu_count())``;
  each round draws a ``randperm`` of the ``steps*B`` training images and runs ``steps`` updates
  on contiguous slices of it (``zero_grad``, forward, ``cross_entropy``, ``backward``,
  ``SGD.step``). ``--warmup`` untimed rounds, then ``--repeats`` timed rounds; on CUDA each
  round ends with ``torch.cuda.synchronize()``. ``--torch_device`` picks the device (default:
  CUDA when this torch build has it, else CPU). On a GPU ``cudnn.benchmark`` is turned on;
  convolutions run with both libraries' default precision (TF32 on Ampere/Hopper for both).

``--jax_reference`` adds a yardstick: the same JAX update jitted on its own and called once per
step from Python, without the trainer's member ``vmap``. On XLA:CPU convolutions inside a while
loop (a ``lax.scan``) run several times slower than outside one, so the trainer runs image models
one update per compiled call (``--scan_length=1``, as the image configs do); ``--scan_length=0``
measures one scan per round.

images/s = members x batch x updates / seconds, from the median timed round. The parameter
counts of both networks are printed and must agree within 0.1% (they are equal), so the two
sides do the same arithmetic. The 1-minute load average before and after each side is recorded:
on a shared machine re-run if it is well above the benchmark's own thread count.
"""

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import time

from simplicity_bias.report.machine import cpu_model, load1

IMAGE_SHAPE = (64, 32, 3)  # H, W, C of an MNIST-CIFAR image (MNIST digit stacked over CIFAR)
NUM_CLASSES = 2
LR, MOMENTUM, WEIGHT_DECAY = 0.05, 0.9, 5e-5


def parse_args(argv=None):
  p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                              formatter_class=argparse.RawDescriptionHelpFormatter)
  p.add_argument("--batch_size", type=int, default=None,
                 help="images per update (default: 64 when JAX runs on CPU, else 256)")
  p.add_argument("--steps", type=int, default=5,
                 help="updates per timed round (= one JAX segment call)")
  p.add_argument("--warmup", type=int, default=1,
                 help="untimed rounds of --steps updates before timing (>= 1; the first JAX "
                      "one compiles)")
  p.add_argument("--repeats", type=int, default=1,
                 help="timed rounds; images/s comes from the median round")
  p.add_argument("--backend", choices=("jax", "torch", "both"), default="both")
  p.add_argument("--torch_device", default=None,
                 help="torch device (default: 'cuda' when available, else 'cpu')")
  p.add_argument("--torch_channels_last", action="store_true",
                 help="run the PyTorch model in channels_last memory format")
  p.add_argument("--jax_reference", action="store_true",
                 help="also time a yardstick: the same JAX update jitted alone, called once per "
                      "step from Python (no lax.scan, no member vmap)")
  p.add_argument("--scan_length", type=int, default=1,
                 help="updates per compiled call of the trainer (train.scan_length; the image "
                      "configs use 1; 0 = all --steps updates in one lax.scan)")
  p.add_argument("--conv_impl", choices=("xla", "matmul"), default="xla",
                 help="the JAX model's convolutions (model.conv_impl): XLA's, or the slow "
                      "shapes as matrix products")
  p.add_argument("--seed", type=int, default=0)
  p.add_argument("--json", default="", metavar="OUT", help="write the results to this JSON file")
  args = p.parse_args(argv)
  if args.steps < 1 or args.warmup < 1 or args.repeats < 1:
    p.error("need --steps >= 1, --warmup >= 1 and --repeats >= 1")
  if args.batch_size is not None and args.batch_size < 1:
    p.error("need --batch_size >= 1")
  return args


# ------------------------------------------------------------------------------------- helpers

def machine_info():
  import jax
  info = {
      "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
      "processor": platform.processor(),
      "cpu_model": cpu_model(),
      "cpu_count": os.cpu_count(),
      "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
      "platform": platform.platform(),
      "python": platform.python_version(),
      "jax": jax.__version__,
      "jax_backend": jax.default_backend(),
      "jax_device": str(jax.devices()[0]),
      "jax_device_kind": jax.devices()[0].device_kind,
  }
  for name in ("jaxlib", "flax", "optax", "numpy", "torch"):
    try:
      info[name] = __import__(name).__version__
    except ImportError:
      info[name] = None
  return info


def make_data(num_images: int, seed: int):
  """Random images in [0, 1] (NHWC float32) and random binary labels (int32), as numpy arrays."""
  import numpy as np
  rng = np.random.default_rng(seed)
  x = rng.random((num_images,) + IMAGE_SHAPE, dtype=np.float32)
  y = rng.integers(0, NUM_CLASSES, size=num_images).astype(np.int32)
  return x, y


# ------------------------------------------------------------------------------------- JAX side

def flax_param_count() -> int:
  """Trainable parameters of the Flax ResNet-50 (the 'params' collection; no BN statistics)."""
  import jax
  import jax.numpy as jnp
  from simplicity_bias.models import get_model
  model = get_model("resnet50", num_classes=NUM_CLASSES)
  shapes = jax.eval_shape(lambda k: model.init(k, jnp.zeros((1,) + IMAGE_SHAPE), train=False),
                          jax.random.key(0))
  return sum(int(l.size) for l in jax.tree_util.tree_leaves(shapes["params"]))


def run_jax(args, x_np, y_np):
  import jax
  import jax.numpy as jnp
  import numpy as np
  from simplicity_bias.models import get_model
  from simplicity_bias.train.loop import Trainer, TrainSpec, init_members
  from simplicity_bias.train.optimizers import make_optimizer

  batch, steps = args.batch_size, args.steps
  num_train = x_np.shape[0]  # = steps * batch: one segment is exactly one epoch
  rounds = args.warmup + args.repeats
  spec = TrainSpec(batch_size=batch, max_epochs=rounds, stop_rule="none", select="last",
                   scan_length=args.scan_length)
  trainer = Trainer(get_model("resnet50", num_classes=NUM_CLASSES, conv_impl=args.conv_impl),
                    make_optimizer("sgd", LR, momentum=MOMENTUM, weight_decay=WEIGHT_DECAY),
                    spec, num_train, shared_data=True)
  assert trainer.eval_every == steps and trainer.total_steps == rounds * steps
  x, y = jnp.asarray(x_np), jnp.asarray(y_np)
  states = init_members(trainer, jax.random.split(jax.random.key(args.seed), 1), x)
  jax.block_until_ready((x, y, states))
  members = int(states.num_updates.shape[0])

  step, warm_times, times, loss = 0, [], [], None
  for r in range(rounds):
    t0 = time.perf_counter()
    states, sums = trainer.segment(states, x, y, jnp.int32(step))
    loss = sums.mean_loss()
    jax.block_until_ready((states, loss))
    (warm_times if r < args.warmup else times).append(time.perf_counter() - t0)
    step += steps
  updates = int(np.asarray(states.num_updates)[0])
  assert updates == rounds * steps, f"only {updates} of {rounds * steps} updates were active"
  median = statistics.median(times)
  return {
      "members": members,
      "first_call_incl_compile_s": warm_times[0],
      "warmup_s": warm_times,
      "timed_s": times,
      "median_s": median,
      "images_per_s": members * batch * steps / median,
      "final_loss": float(np.asarray(loss)[0]),
  }


def run_jax_reference(args, x_np, y_np):
  """Yardstick, not the project's path: the same update as one jitted call per step (no scan).

  Same model, optimizer, loss and BatchNorm handling as ``Trainer._member_update``, for a single
  model without the member axis; each step gathers its batch from a per-round permutation inside
  the jitted call. Separates what the segment's ``lax.scan``/``vmap`` packaging costs from what
  XLA's update itself costs on this machine (on CPU, convolutions inside an XLA while loop can be
  much slower than the same convolutions outside one).
  """
  import jax
  import jax.numpy as jnp
  import numpy as np
  import optax
  from simplicity_bias.metrics.classification import cross_entropy
  from simplicity_bias.models import get_model
  from simplicity_bias.train.optimizers import make_optimizer

  model = get_model("resnet50", num_classes=NUM_CLASSES, conv_impl=args.conv_impl)
  optimizer = make_optimizer("sgd", LR, momentum=MOMENTUM, weight_decay=WEIGHT_DECAY)
  x, y = jnp.asarray(x_np), jnp.asarray(y_np)
  variables = dict(model.init(jax.random.key(args.seed), x[:1], train=False))
  params = variables.pop("params")
  model_state, opt_state = variables, optimizer.init(params)

  @jax.jit
  def update(params, model_state, opt_state, idx):
    xb, yb = x[idx], y[idx]

    def loss_fn(p):
      logits, new_state = model.apply({"params": p, **model_state}, xb, train=True,
                                      mutable=list(model_state))
      return cross_entropy(logits, yb), dict(new_state)

    (loss, new_state), grads = jax.value_and_grad(loss_fn, has_aux=True)(params)
    updates, opt_state = optimizer.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), new_state, opt_state, loss

  batch, steps = args.batch_size, args.steps
  rng = np.random.default_rng(args.seed)
  warm_times, times, loss = [], [], None
  for r in range(args.warmup + args.repeats):
    t0 = time.perf_counter()
    perm = jnp.asarray(rng.permutation(x_np.shape[0]).astype(np.int32))
    for t in range(steps):
      params, model_state, opt_state, loss = update(params, model_state, opt_state,
                                                    perm[t * batch:(t + 1) * batch])
    jax.block_until_ready((params, model_state, opt_state, loss))
    (warm_times if r < args.warmup else times).append(time.perf_counter() - t0)
  median = statistics.median(times)
  return {
      "first_call_incl_compile_s": warm_times[0],
      "warmup_s": warm_times,
      "timed_s": times,
      "median_s": median,
      "images_per_s": batch * steps / median,
      "final_loss": float(loss),
  }


# ------------------------------------------------------------------------------------- PyTorch side

def build_torch_resnet50():
  """A torch.nn mirror of ``simplicity_bias.models.resnet.resnet50(num_classes=2)``."""
  import torch
  from torch import nn

  class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, in_channels: int, features: int, stride: int):
      super().__init__()
      out = features * self.expansion
      self.conv1 = nn.Conv2d(in_channels, features, 1, bias=False)
      self.bn1 = nn.BatchNorm2d(features)
      self.conv2 = nn.Conv2d(features, features, 3, stride=stride, padding=1, bias=False)
      self.bn2 = nn.BatchNorm2d(features)
      self.conv3 = nn.Conv2d(features, out, 1, bias=False)
      self.bn3 = nn.BatchNorm2d(out)
      self.shortcut = None  # identity when the shape is unchanged, as in the Flax block
      if stride != 1 or in_channels != out:
        self.shortcut = nn.Sequential(nn.Conv2d(in_channels, out, 1, stride=stride, bias=False),
                                      nn.BatchNorm2d(out))

    def forward(self, x):
      y = torch.relu(self.bn1(self.conv1(x)))
      y = torch.relu(self.bn2(self.conv2(y)))
      y = self.bn3(self.conv3(y))
      return torch.relu(y + (x if self.shortcut is None else self.shortcut(x)))

  class ResNet(nn.Module):

    def __init__(self, stage_sizes=(3, 4, 6, 3), base_width=64, num_classes=NUM_CLASSES):
      super().__init__()
      self.stem_conv = nn.Conv2d(3, base_width, 3, padding=1, bias=False)
      self.stem_bn = nn.BatchNorm2d(base_width)
      blocks, channels = [], base_width
      for stage, num_blocks in enumerate(stage_sizes):
        for index in range(num_blocks):
          stride = 2 if stage > 0 and index == 0 else 1
          blocks.append(Bottleneck(channels, base_width * 2**stage, stride))
          channels = base_width * 2**stage * Bottleneck.expansion
      self.blocks = nn.Sequential(*blocks)
      self.head = nn.Linear(channels, num_classes)
      # Init as the Flax model: He-normal fan-out convs, BN (1, 0), LeCun-normal head (Flax
      # truncates it at 2 std; irrelevant for timing), zero head bias.
      for m in self.modules():
        if isinstance(m, nn.Conv2d):
          nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
      nn.init.normal_(self.head.weight, std=channels ** -0.5)
      nn.init.zeros_(self.head.bias)

    def forward(self, x):
      x = torch.relu(self.stem_bn(self.stem_conv(x)))
      x = nn.functional.max_pool2d(x, 3, stride=2, padding=1)  # as resnet50's stem_pool
      x = self.blocks(x)
      return self.head(x.mean(dim=(2, 3)))

  return ResNet()


def torch_param_count() -> int:
  return sum(p.numel() for p in build_torch_resnet50().parameters())


def run_torch(args, x_np, y_np):
  import torch
  import torch.nn.functional as F

  torch.set_num_threads(os.cpu_count())
  device = torch.device(args.torch_device or ("cuda" if torch.cuda.is_available() else "cpu"))
  cuda = device.type == "cuda"
  if cuda:
    torch.backends.cudnn.benchmark = True
  sync = torch.cuda.synchronize if cuda else (lambda: None)
  torch.manual_seed(args.seed)
  memory_format = torch.channels_last if args.torch_channels_last else torch.contiguous_format
  model = build_torch_resnet50().to(device=device, memory_format=memory_format).train()
  opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM, weight_decay=WEIGHT_DECAY)
  x = torch.from_numpy(x_np).permute(0, 3, 1, 2).to(device).contiguous(
      memory_format=memory_format)  # NHWC -> NCHW
  y = torch.from_numpy(y_np).long().to(device)
  batch, steps, n = args.batch_size, args.steps, x.shape[0]
  gen = torch.Generator(device=device).manual_seed(args.seed)

  def one_round():
    perm = torch.randperm(n, generator=gen, device=device)
    loss = None
    for t in range(steps):
      idx = perm[t * batch:(t + 1) * batch]
      opt.zero_grad(set_to_none=True)
      loss = F.cross_entropy(model(x[idx]), y[idx])
      loss.backward()
      opt.step()
    sync()
    return loss

  warm_times, times, loss = [], [], None
  for r in range(args.warmup + args.repeats):
    t0 = time.perf_counter()
    loss = one_round()
    (warm_times if r < args.warmup else times).append(time.perf_counter() - t0)
  median = statistics.median(times)
  return {
      "device": str(device),
      "threads": torch.get_num_threads(),
      "channels_last": bool(args.torch_channels_last),
      "warmup_s": warm_times,
      "timed_s": times,
      "median_s": median,
      "images_per_s": batch * steps / median,
      "final_loss": float(loss.item()),
  }


# ------------------------------------------------------------------------------------- main

def main(argv=None):
  args = parse_args(argv)
  import jax
  if args.batch_size is None:
    args.batch_size = 64 if jax.default_backend() == "cpu" else 256
  machine = machine_info()
  print(f"ResNet-50 (CIFAR-style, {NUM_CLASSES} classes) training throughput; input "
        f"{'x'.join(map(str, IMAGE_SHAPE))} float32; batch {args.batch_size}, {args.steps} "
        f"updates per round, {args.warmup} warm-up + {args.repeats} timed round(s)")
  print(f"machine: {machine['cpu_model'] or machine['processor'] or '?'} "
        f"(platform.processor()={machine['processor']!r}), {machine['cpu_count']} CPUs; "
        f"jax {machine['jax']} on {machine['jax_device_kind']}; torch {machine['torch']}",
        flush=True)

  params = {"flax": flax_param_count()}
  try:
    params["torch"] = torch_param_count()
  except ImportError:
    params["torch"] = None
  print(f"parameters: flax {params['flax']:,}  torch "
        f"{'n/a' if params['torch'] is None else format(params['torch'], ',')}", flush=True)
  if params["torch"] is not None:
    rel = abs(params["flax"] - params["torch"]) / params["flax"]
    assert rel <= 1e-3, f"parameter counts differ by {100 * rel:.3f}%: {params}"

  x_np, y_np = make_data(args.steps * args.batch_size, args.seed)
  results = {"args": vars(args), "machine": machine, "params": params, "load1": {"start": load1()}}
  runs = (("jax", "jax", run_jax), ("jax_reference", "jax", run_jax_reference),
          ("torch", "torch", run_torch))
  for name, backend, runner in runs:
    if name == "jax_reference" and not args.jax_reference:
      continue
    if args.backend in (backend, "both"):
      print(f"running {name} ...", flush=True)
      results[name] = runner(args, x_np, y_np)
      results["load1"][f"after_{name}"] = load1()
      r = results[name]
      extra = (f"; first call incl. compile {r['first_call_incl_compile_s']:.2f} s"
               if name != "torch" else f"; {r['device']}, {r['threads']} threads")
      print(f"  {name}: {r['images_per_s']:.1f} images/s (median round {r['median_s']:.3f} s "
            f"for {args.steps} updates; rounds {', '.join(f'{t:.3f}' for t in r['timed_s'])} s"
            f"{extra}; final loss {r['final_loss']:.4f})", flush=True)
  if "jax" in results and "torch" in results:
    results["ratio_jax_over_torch"] = (results["jax"]["images_per_s"]
                                       / results["torch"]["images_per_s"])
    print(f"ratio JAX (project trainer) / PyTorch images/s: "
          f"{results['ratio_jax_over_torch']:.2f}x")
  if "jax_reference" in results and "torch" in results:
    results["ratio_jax_reference_over_torch"] = (results["jax_reference"]["images_per_s"]
                                                 / results["torch"]["images_per_s"])
    print(f"ratio JAX reference step / PyTorch images/s: "
          f"{results['ratio_jax_reference_over_torch']:.2f}x")
  print("1-min load average: " + ", ".join(f"{k} {v:.2f}" for k, v in results["load1"].items()))
  if args.json:
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, "w") as f:
      json.dump(results, f, indent=2)
    print(f"wrote {args.json}")
  return results


if __name__ == "__main__":
  sys.exit(0 if main() else 1)
