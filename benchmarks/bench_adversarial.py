#!/usr/bin/env python
r"""Seconds per training epoch of the `:cpu` MNIST-CIFAR model, adversarial vs standard, JAX vs
PyTorch, in one run on one machine.

  # the measured run (one epoch of the `:cpu` presets: 2,000 images, batch 128 -> 15 updates):
  python benchmarks/bench_adversarial.py --json=/tmp/bench_adversarial.json
  # smoke run (seconds; numbers meaningless)
  python benchmarks/bench_adversarial.py --steps=1 --batch_size=8 --base_width=4
  # seeds trained together, as the `:cpu` presets do (3 members), per convolution implementation
  python benchmarks/bench_adversarial.py --members=3 --conv_impl=im2col --only=jax_erm,torch_erm

Measured results are in ``benchmarks/RESULTS.md``.

The model is the adversarial `:cpu` preset's network (``configs/adv_training_mnist_cifar.py:cpu``,
also ``configs/mnist_cifar.py:cpu``): ``get_model("resnet18", base_width=8, stem_pool=True)`` — a
CIFAR ResNet-18 (3x3 stride-1 stem conv + BN + ReLU, a 3x3 stride-2 max-pool, BasicBlock stages
(2, 2, 2, 2) of widths 8/16/32/64 (``--base_width=16``: the 16-wide one of
``configs/uap_mnist_cifar.py:cpu``), stride 2 on the first block of stages 2-4, 1x1-conv + BN
projection shortcuts where the shape changes, bias-free convs, global average pool, a 2-way
linear head) on MNIST-CIFAR-shaped input (64x32x3 float32 in [0, 1], random images and labels).
SGD lr .05, momentum .9, coupled weight decay 5e-5, cross-entropy, BatchNorm in training mode for
the update.

Adversarial training is the `:cpu` preset's: every batch replaced by its l∞ PGD perturbation
(ε = .3, 7 steps of .12 from a uniform random start, inputs clipped to [0, 1]), the model in eval
mode (BatchNorm running statistics) during the attack; per example the highest-loss iterate
among the start and the 7 steps (the last one scored by an 8th gradient evaluation) is kept if it
beats the clean loss. That is 8 input-gradient passes + 1 clean forward + 1 training step per
update on both sides.

* JAX: the project's trainer. ``Trainer(model, make_optimizer("sgd", .05, .9, 5e-5),
  TrainSpec(batch_size=B, stop_rule="none", select="last", scan_length=1), num_train=steps*B,
  shared_data=True, objective=...)`` with objective ``erm`` or ``adversarial``
  (``attacks/training.py``, ``unroll=True`` as the `:cpu` preset: the attack's 7 steps compiled as
  straight-line code; ``--jax_scan_attack`` also times ``unroll=False``, the steps in a
  ``lax.scan``), one member; one ``trainer.segment`` call = one epoch of ``steps`` updates (each
  update one compiled call). ``--members=M``: M seeds vmapped in that one trainer, as the configs
  train their seeds; ``--conv_impl``: the ResNet's convolution implementation (``xla``,
  ``matmul`` or ``im2col``, ``model.conv_impl``). ``--warmup`` epochs first (the first
  compiles; reported apart), then ``--repeats`` timed epochs.
* PyTorch: the same network in ``torch.nn`` (same layers, padding, strides, bias choices, BN eps
  1e-5 / momentum .1, He fan-out init) and the same PGD written with ``torch.autograd.grad``;
  ``torch.set_num_threads(os.cpu_count())``; a ``randperm`` per epoch, ``steps`` updates on
  contiguous slices of it. ``model.eval()`` during the attack, ``model.train()`` for the update.
  ``--members=M``: M models, each with its optimizer, trained one after another in every epoch.

Seconds per epoch come from the median timed epoch; parameter counts of both networks are
printed and must agree. The 1-minute load average (``simplicity_bias.report.machine.load1``) is
recorded before and after every side: the machine may be shared, and its other work slows every
side by an unknown amount.
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

IMAGE_SHAPE = (64, 32, 3)
NUM_CLASSES = 2
LR, MOMENTUM, WEIGHT_DECAY = 0.05, 0.9, 5e-5
EPS, STEP, NUM_STEPS = 0.3, 0.12, 7


def parse_args(argv=None):
  p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                              formatter_class=argparse.RawDescriptionHelpFormatter)
  p.add_argument("--batch_size", type=int, default=128)
  p.add_argument("--steps", type=int, default=15, help="updates per epoch (15 = 2,000 images at "
                 "batch 128, the `:cpu` presets)")
  p.add_argument("--base_width", type=int, default=8)
  p.add_argument("--members", type=int, default=1, help="seeds trained together (JAX: vmapped "
                 "members of one trainer; PyTorch: one model after another)")
  p.add_argument("--conv_impl", choices=("xla", "matmul", "im2col"), default="xla",
                 help="the JAX ResNet's convolutions (model.conv_impl)")
  p.add_argument("--warmup", type=int, default=1, help="untimed epochs first (>= 1)")
  p.add_argument("--repeats", type=int, default=1, help="timed epochs (median reported)")
  p.add_argument("--jax_scan_attack", action="store_true",
                 help="also time JAX adversarial training with the attack steps in a lax.scan")
  p.add_argument("--only", default="", help="comma-separated subset of jax_erm, jax_adv, "
                 "jax_adv_scan, torch_erm, torch_adv")
  p.add_argument("--seed", type=int, default=0)
  p.add_argument("--json", default="", metavar="OUT")
  args = p.parse_args(argv)
  if min(args.steps, args.warmup, args.repeats, args.batch_size, args.base_width,
         args.members) < 1:
    p.error("--steps, --warmup, --repeats, --batch_size, --base_width and --members must be "
            ">= 1")
  return args


def make_data(num_images: int, seed: int):
  import numpy as np
  rng = np.random.default_rng(seed)
  x = rng.random((num_images,) + IMAGE_SHAPE, dtype=np.float32)
  y = rng.integers(0, NUM_CLASSES, size=num_images).astype(np.int32)
  return x, y


def _timed(rounds, warmup, one_round):
  warm, timed = [], []
  for r in range(rounds):
    t0 = time.perf_counter()
    one_round()
    (warm if r < warmup else timed).append(time.perf_counter() - t0)
  return warm, timed


# ------------------------------------------------------------------------------------- JAX

def jax_model(args):
  from simplicity_bias.models import get_model
  return get_model("resnet18", num_classes=NUM_CLASSES, base_width=args.base_width,
                   stem_pool=True, conv_impl=args.conv_impl)


def flax_param_count(args) -> int:
  import jax
  import jax.numpy as jnp
  shapes = jax.eval_shape(lambda k: jax_model(args).init(k, jnp.zeros((1,) + IMAGE_SHAPE),
                                                         train=False), jax.random.key(0))
  return sum(int(l.size) for l in jax.tree_util.tree_leaves(shapes["params"]))


def run_jax(args, x_np, y_np, adversarial: bool, unroll: bool = True):
  import jax
  import jax.numpy as jnp
  import numpy as np
  from simplicity_bias.attacks.training import objective_config
  from simplicity_bias.train import objectives
  from simplicity_bias.train.loop import Trainer, TrainSpec, init_members
  from simplicity_bias.train.optimizers import make_optimizer

  objective = objectives.build(objective_config(
      norm="linf", eps=EPS, step_size=STEP, num_steps=NUM_STEPS, random_start=True,
      box=(0.0, 1.0), bn_mode="eval", unroll=unroll) if adversarial else "erm")
  rounds = args.warmup + args.repeats
  spec = TrainSpec(batch_size=args.batch_size, max_epochs=rounds, stop_rule="none",
                   select="last", scan_length=1)
  trainer = Trainer(jax_model(args), make_optimizer("sgd", LR, MOMENTUM, WEIGHT_DECAY), spec,
                    x_np.shape[0], shared_data=True, objective=objective)
  x, y = jnp.asarray(x_np), jnp.asarray(y_np)
  box = {"states": init_members(trainer, jax.random.split(jax.random.key(args.seed),
                                                          args.members), x),
         "step": 0}

  def epoch():
    box["states"], loss = trainer.segment(box["states"], x, y, jnp.int32(box["step"]))
    jax.block_until_ready((box["states"], loss))
    box["step"] += args.steps

  warm, timed = _timed(rounds, args.warmup, epoch)
  assert (np.asarray(box["states"].num_updates) == rounds * args.steps).all()
  return {"first_epoch_incl_compile_s": warm[0], "warmup_s": warm, "timed_s": timed,
          "s_per_epoch": statistics.median(timed)}


# ------------------------------------------------------------------------------------- PyTorch

def build_torch_resnet18(base_width: int):
  """A torch.nn mirror of ``resnet18(num_classes=2, base_width, stem_pool=True)``."""
  import torch
  from torch import nn

  class BasicBlock(nn.Module):

    def __init__(self, in_channels: int, features: int, stride: int):
      super().__init__()
      self.conv1 = nn.Conv2d(in_channels, features, 3, stride=stride, padding=1, bias=False)
      self.bn1 = nn.BatchNorm2d(features)
      self.conv2 = nn.Conv2d(features, features, 3, padding=1, bias=False)
      self.bn2 = nn.BatchNorm2d(features)
      self.shortcut = None
      if stride != 1 or in_channels != features:
        self.shortcut = nn.Sequential(nn.Conv2d(in_channels, features, 1, stride=stride,
                                                bias=False), nn.BatchNorm2d(features))

    def forward(self, x):
      y = torch.relu(self.bn1(self.conv1(x)))
      y = self.bn2(self.conv2(y))
      return torch.relu(y + (x if self.shortcut is None else self.shortcut(x)))

  class ResNet(nn.Module):

    def __init__(self):
      super().__init__()
      self.stem_conv = nn.Conv2d(3, base_width, 3, padding=1, bias=False)
      self.stem_bn = nn.BatchNorm2d(base_width)
      blocks, channels = [], base_width
      for stage in range(4):
        for index in range(2):
          stride = 2 if stage > 0 and index == 0 else 1
          blocks.append(BasicBlock(channels, base_width * 2**stage, stride))
          channels = base_width * 2**stage
      self.blocks = nn.Sequential(*blocks)
      self.head = nn.Linear(channels, NUM_CLASSES)
      for m in self.modules():
        if isinstance(m, nn.Conv2d):
          nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
      nn.init.normal_(self.head.weight, std=channels ** -0.5)
      nn.init.zeros_(self.head.bias)

    def forward(self, x):
      x = torch.relu(self.stem_bn(self.stem_conv(x)))
      x = nn.functional.max_pool2d(x, 3, stride=2, padding=1)
      return self.head(self.blocks(x).mean(dim=(2, 3)))

  return ResNet()


def torch_pgd(model, x, y, generator):
  """The JAX attack's algorithm (see the module docstring) in PyTorch, model in eval mode."""
  import torch
  import torch.nn.functional as F
  model.eval()
  with torch.no_grad():
    clean = F.cross_entropy(model(x), y, reduction="none")
  delta = (torch.rand(x.shape, generator=generator) * 2 - 1) * EPS
  delta = (x + delta).clamp(0, 1) - x
  best, best_loss = delta.clone(), torch.full_like(clean, -float("inf"))
  for t in range(NUM_STEPS + 1):
    delta.requires_grad_(True)
    loss = F.cross_entropy(model(x + delta), y, reduction="none")
    (grad,) = torch.autograd.grad(loss.sum(), delta)
    with torch.no_grad():
      better = loss > best_loss
      best[better] = delta[better]
      best_loss = torch.where(better, loss, best_loss)
      if t == NUM_STEPS:
        break
      delta = (delta + STEP * grad.sign()).clamp(-EPS, EPS)
      delta = ((x + delta).clamp(0, 1) - x).clamp(-EPS, EPS)
  keep = (best_loss > clean).view(-1, 1, 1, 1)
  model.train()
  return (x + torch.where(keep, best, torch.zeros_like(best))).detach()


def run_torch(args, x_np, y_np, adversarial: bool):
  import torch
  import torch.nn.functional as F
  torch.set_num_threads(os.cpu_count())
  torch.manual_seed(args.seed)
  models = [build_torch_resnet18(args.base_width).train() for _ in range(args.members)]
  opts = [torch.optim.SGD(m.parameters(), lr=LR, momentum=MOMENTUM, weight_decay=WEIGHT_DECAY)
          for m in models]
  x = torch.from_numpy(x_np).permute(0, 3, 1, 2).contiguous()
  y = torch.from_numpy(y_np).long()
  gen = torch.Generator().manual_seed(args.seed)
  batch, n = args.batch_size, x.shape[0]

  def epoch():
    for model, opt in zip(models, opts):
      perm = torch.randperm(n, generator=gen)
      for t in range(args.steps):
        idx = perm[t * batch:(t + 1) * batch]
        xb, yb = x[idx], y[idx]
        if adversarial:
          xb = torch_pgd(model, xb, yb, gen)
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(xb), yb).backward()
        opt.step()

  warm, timed = _timed(args.warmup + args.repeats, args.warmup, epoch)
  return {"threads": torch.get_num_threads(), "warmup_s": warm, "timed_s": timed,
          "s_per_epoch": statistics.median(timed)}


# ------------------------------------------------------------------------------------- main

def main(argv=None):
  args = parse_args(argv)
  import jax
  info = {"date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
          "cpu_model": cpu_model(), "cpu_count": os.cpu_count(),
          "python": platform.python_version(), "jax": jax.__version__,
          "jax_backend": jax.default_backend()}
  try:
    import torch
    info["torch"] = torch.__version__
  except ImportError:
    info["torch"] = None
  print(f"ResNet-18 (base width {args.base_width}, stem max-pool) on {'x'.join(map(str, IMAGE_SHAPE))}"
        f" images, batch {args.batch_size}, {args.steps} updates per epoch, {args.members} "
        f"member(s), JAX conv_impl {args.conv_impl}; adversarial: l∞ "
        f"ε={EPS}, {NUM_STEPS} steps of {STEP}; {info['cpu_model']}, {info['cpu_count']} CPUs, "
        f"jax {info['jax']} ({info['jax_backend']}), torch {info['torch']}", flush=True)
  params = {"flax": flax_param_count(args)}
  if info["torch"]:
    params["torch"] = sum(p.numel() for p in build_torch_resnet18(args.base_width).parameters())
    assert params["flax"] == params["torch"], params
  print(f"parameters: {params}", flush=True)
  x_np, y_np = make_data(args.steps * args.batch_size, args.seed)
  runs = {"jax_erm": lambda: run_jax(args, x_np, y_np, adversarial=False),
          "jax_adv": lambda: run_jax(args, x_np, y_np, adversarial=True, unroll=True),
          "jax_adv_scan": lambda: run_jax(args, x_np, y_np, adversarial=True, unroll=False),
          "torch_erm": lambda: run_torch(args, x_np, y_np, adversarial=False),
          "torch_adv": lambda: run_torch(args, x_np, y_np, adversarial=True)}
  chosen = [n for n in args.only.split(",") if n] or [
      n for n in runs if (n != "jax_adv_scan" or args.jax_scan_attack)
      and (not n.startswith("torch") or info["torch"])]
  results = {"args": vars(args), "machine": info, "params": params, "load1": {"start": load1()}}
  for name in chosen:
    print(f"running {name} ...", flush=True)
    results[name] = runs[name]()
    results["load1"][f"after_{name}"] = load1()
    r = results[name]
    extra = (f"; first epoch incl. compile {r['first_epoch_incl_compile_s']:.1f} s"
             if "first_epoch_incl_compile_s" in r else f"; {r['threads']} threads")
    print(f"  {name}: {r['s_per_epoch']:.1f} s per epoch ({r['s_per_epoch'] / args.steps:.2f} s "
          f"per update{extra}); load1 {results['load1'][f'after_{name}']:.2f}", flush=True)
  for side in ("jax", "torch"):
    if f"{side}_erm" in results and f"{side}_adv" in results:
      results[f"{side}_adv_over_erm"] = (results[f"{side}_adv"]["s_per_epoch"]
                                         / results[f"{side}_erm"]["s_per_epoch"])
      print(f"{side}: adversarial / standard epoch time {results[f'{side}_adv_over_erm']:.1f}x")
  for kind in ("erm", "adv"):
    if f"jax_{kind}" in results and f"torch_{kind}" in results:
      results[f"{kind}_jax_over_torch"] = (results[f"jax_{kind}"]["s_per_epoch"]
                                           / results[f"torch_{kind}"]["s_per_epoch"])
      print(f"{kind}: JAX / PyTorch epoch time {results[f'{kind}_jax_over_torch']:.2f}x")
  print("1-min load average: " + ", ".join(f"{k} {v:.2f}" for k, v in results["load1"].items()))
  if args.json:
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, "w") as f:
      json.dump(results, f, indent=2)
    print(f"wrote {args.json}")
  return results


if __name__ == "__main__":
  sys.exit(0 if main() else 1)
