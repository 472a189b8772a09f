#!/usr/bin/env python
r"""End-to-end benchmark: a JAX seed sweep of LMS-5 vs a one-model-at-a-time PyTorch CPU loop.

  python benchmarks/bench_lms5_sweep.py                                  # the full default
  python benchmarks/bench_lms5_sweep.py --torch_seeds=4 --json_out=/tmp/bench.json
  python benchmarks/bench_lms5_sweep.py --seeds=2 --epochs=1 --num_train=5000 \
      --num_val=1000 --num_test=1000 --matmul_n=512                      # a seconds-long smoke run

Both sides do the same work per seed: draw an LMS-5 dataset (d=50; 1 linear + 49 five-slab
coordinates, rotated), train the (100,2)-FCN (50->100->100->2, PyTorch default init) with SGD
lr 0.1, weight decay 5e-5, batch 256 (last partial batch dropped, reshuffled every epoch),
cross-entropy, for a FIXED number of epochs, then evaluate on the test set.

* JAX: the project's own code path, ``simplicity_bias.experiments.synthetic_sb.run`` on
  ``configs/lms5.py`` with ``num_seeds=S``, ``train.stop_rule='none'``, ``train.max_epochs=E``,
  ``progress=False``, ``eval.coordinatewise=False`` (``--coordinatewise`` turns it on). All S
  seeds are trained by one vmapped program. That code also runs a check after every epoch (a
  forward pass over the full train and validation sets of every member) and its evaluation
  computes more than the PyTorch side (S/S^c-randomized accuracy and AUC, a decision grid); both
  are counted in its time, as they are part of a real run.
* PyTorch: ``torch.set_num_threads(T)``; for each seed in turn: numpy data generation (same
  distribution), model init, E epochs of SGD, test accuracy. ``--torch_seeds=K < S`` times only K
  seeds and extrapolates linearly to S (reported as such).

Also reported: the JAX per-phase times from ``results['timing']``; the XLA compile share (the
JAX run is repeated with a persistent compilation cache, so the second run skips XLA compiles;
``--no_warm_rerun`` skips this); per-epoch times inside ``fit`` (recorded through the ``on_eval``
hook); a standalone warm timing of the compiled training segment and check; achieved training
GFLOP/s (analytic FLOPs: 3 x forward matmul FLOPs per example, over the examples actually used)
against a warm jitted fp32 matmul measured in the same process.

Timings on a shared machine are noisy: the 1-minute load average is recorded before and after
each phase; re-run if it was high.
"""

import argparse
import datetime
import importlib.util
import json
import os
import platform
import statistics
import sys
import tempfile
import time

from simplicity_bias.report.machine import cpu_model, load1

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def parse_args(argv=None):
  p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                              formatter_class=argparse.RawDescriptionHelpFormatter)
  p.add_argument("--seeds", type=int, default=16, help="S: seeds (members) in the sweep")
  p.add_argument("--epochs", type=int, default=10, help="fixed number of epochs (stop rule off)")
  p.add_argument("--num_train", type=int, default=100_000)
  p.add_argument("--num_val", type=int, default=10_000)
  p.add_argument("--num_test", type=int, default=10_000)
  p.add_argument("--batch_size", type=int, default=256)
  p.add_argument("--torch_seeds", type=int, default=None,
                 help="K seeds actually timed on the PyTorch side (default: all S; 0 = skip); "
                      "K < S extrapolates linearly")
  p.add_argument("--torch_threads", type=int, default=2)
  p.add_argument("--coordinatewise", action="store_true",
                 help="also compute the coordinate-wise randomized accuracy in the JAX eval")
  p.add_argument("--no_warm_rerun", dest="warm_rerun", action="store_false",
                 help="skip the second JAX run that measures the XLA compile share")
  p.add_argument("--no_segment_probe", dest="segment_probe", action="store_false",
                 help="skip the standalone warm timing of the compiled train segment / check")
  p.add_argument("--probe_reps", type=int, default=3)
  p.add_argument("--matmul_n", type=int, default=2048)
  p.add_argument("--matmul_reps", type=int, default=10)
  p.add_argument("--config", default=os.path.join(REPO, "configs", "lms5.py"))
  p.add_argument("--json_out", default="")
  args = p.parse_args(argv)
  if args.torch_seeds is None:
    args.torch_seeds = args.seeds
  if args.seeds < 1 or args.epochs < 1 or not 0 <= args.torch_seeds <= args.seeds:
    p.error("need --seeds >= 1, --epochs >= 1 and 0 <= --torch_seeds <= --seeds")
  if args.batch_size > args.num_train:
    p.error("--batch_size is larger than --num_train")
  return args


# ------------------------------------------------------------------------------------- helpers

def cpu_seconds():
  """(CPU-seconds the whole machine was busy, CPU-seconds of this process) since boot/start."""
  busy = float("nan")
  try:
    with open("/proc/stat") as f:
      fields = [int(v) for v in f.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    busy = (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")
  except (OSError, ValueError, IndexError):
    pass
  t = os.times()
  return busy, t.user + t.system


class Phase:
  """Wall time of a phase and the CPU time other processes took meanwhile (contention check)."""

  def __init__(self, name, record):
    self.name, self.record = name, record

  def __enter__(self):
    self.t0, (self.busy0, self.own0) = time.perf_counter(), cpu_seconds()
    return self

  def __exit__(self, *exc):
    wall = time.perf_counter() - self.t0
    busy, own = cpu_seconds()
    other = (busy - self.busy0) - (own - self.own0)
    self.record[self.name] = {"wall_s": wall, "own_cpu_s": own - self.own0,
                              "other_cpu_s": max(other, 0.0),
                              "other_cores_avg": max(other, 0.0) / wall if wall else 0.0,
                              "load1_end": load1()}
    return False


def machine_info():
  import jax
  import jaxlib
  info = {
      "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
      "cpu_model": cpu_model(),
      "logical_cpus": os.cpu_count(),
      "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
      "python": platform.python_version(),
      "platform": platform.platform(),
      "jax": jax.__version__,
      "jaxlib": jaxlib.__version__,
      "jax_device": str(jax.devices()[0]),
  }
  for name in ("flax", "optax", "numpy", "torch"):
    try:
      info[name] = __import__(name).__version__
    except ImportError:
      info[name] = None
  return info


def fcn_forward_flops(dim=50, width=100, depth=2, classes=2) -> int:
  """Matmul FLOPs of one forward pass of one example: 2 * (sum of fan_in * fan_out)."""
  sizes = [dim] + [width] * depth + [classes]
  return 2 * sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))


def train_flops(args) -> float:
  steps_per_epoch = args.num_train // args.batch_size
  examples = steps_per_epoch * args.batch_size * args.epochs * args.seeds
  return 3.0 * fcn_forward_flops() * examples


def check_flops(args) -> float:
  """Forward FLOPs of the per-epoch checks of the project's fit (full train + val sets)."""
  return float(fcn_forward_flops()) * (args.num_train + args.num_val) * args.epochs * args.seeds


# ------------------------------------------------------------------------------------- matmul

def jax_matmul_gflops(n: int, reps: int):
  import jax
  import jax.numpy as jnp
  ka, kb = jax.random.split(jax.random.key(0))
  a = jax.random.normal(ka, (n, n), jnp.float32)
  b = jax.random.normal(kb, (n, n), jnp.float32)
  f = jax.jit(lambda x, y: x @ y)
  f(a, b).block_until_ready()
  f(a, b).block_until_ready()
  times = []
  for _ in range(reps):
    t0 = time.perf_counter()
    f(a, b).block_until_ready()
    times.append(time.perf_counter() - t0)
  flops = 2.0 * n ** 3
  return {"n": n, "reps": reps, "best_s": min(times), "median_s": statistics.median(times),
          "gflops_best": flops / min(times) / 1e9,
          "gflops_median": flops / statistics.median(times) / 1e9}


def torch_matmul_gflops(n: int, reps: int, threads: int):
  import torch
  torch.set_num_threads(threads)
  g = torch.Generator().manual_seed(0)
  a = torch.randn(n, n, generator=g)
  b = torch.randn(n, n, generator=g)
  for _ in range(2):
    torch.mm(a, b)
  times = []
  for _ in range(reps):
    t0 = time.perf_counter()
    torch.mm(a, b)
    times.append(time.perf_counter() - t0)
  return {"n": n, "reps": reps, "best_s": min(times),
          "gflops_best": 2.0 * n ** 3 / min(times) / 1e9}


# ------------------------------------------------------------------------------------- JAX side

def lms5_config(args):
  spec = importlib.util.spec_from_file_location("bench_lms5_config", args.config)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  c = module.get_config()
  c.num_seeds = args.seeds
  c.data.num_train = args.num_train
  c.data.num_val = args.num_val
  c.data.num_test = args.num_test
  c.train.batch_size = args.batch_size
  c.train.stop_rule = "none"
  c.train.max_epochs = args.epochs
  c.progress = False
  c.eval.coordinatewise = bool(args.coordinatewise)
  return c


def run_jax_sweep(config):
  """One call of the project's ``synthetic_sb.run``; wall time, its timing, per-check times."""
  from simplicity_bias.experiments import synthetic_sb
  checks = []
  original_fit = synthetic_sb.fit

  def recording_fit(*a, **kw):  # instrumentation only: records when each per-epoch check ends
    user_hook = kw.get("on_eval")

    def on_eval(record):
      checks.append({"step": record["step"], "elapsed_s": record["elapsed_s"]})
      if user_hook is not None:
        user_hook(record)

    kw["on_eval"] = on_eval
    return original_fit(*a, **kw)

  synthetic_sb.fit = recording_fit
  try:
    t0 = time.perf_counter()
    results = synthetic_sb.run(config, workdir="", progress=False)
    wall = time.perf_counter() - t0
  finally:
    synthetic_sb.fit = original_fit
  timing = {k: v for k, v in results["timing"].items()}
  summary = results["rows"][0]["summary"]
  epochs = [c["elapsed_s"] for c in checks]
  per_epoch = [b - a for a, b in zip([0.0] + epochs[:-1], epochs)]
  steady = statistics.median(per_epoch[1:]) if len(per_epoch) > 1 else None
  return {
      "wall_s": wall,
      "timing": timing,
      "fit_epoch_s": per_epoch,
      "fit_steady_epoch_s": steady,
      "fit_first_epoch_excess_s": (per_epoch[0] - steady) if steady is not None else None,
      "summary": {m: summary[m]["mean"] for m in summary if m in (
          "test_acc", "test_auc", "s_rand_auc", "sc_rand_auc", "train_acc")},
  }


def jax_segment_probe(config, reps: int):
  """Standalone timings of the compiled training segment and per-epoch check, same shapes."""
  import jax
  import jax.numpy as jnp
  from simplicity_bias.data import synthetic
  from simplicity_bias.experiments import synthetic_sb
  from simplicity_bias.train.loop import Trainer, init_members
  from simplicity_bias.train.optimizers import make_optimizer

  spec, points, params, model, tspec = synthetic_sb.validate(config)
  keys, _ = synthetic_sb.member_keys(config, len(points))
  fold = lambda tag: jax.vmap(lambda k: jax.random.fold_in(k, tag))(keys)
  member_params = synthetic.stack_params([p for p in params for _ in range(config.num_seeds)])
  make = jax.jit(jax.vmap(lambda k, p: synthetic.make_dataset(spec, k, p))).lower(
      fold(0), member_params).compile()
  data_times = []
  for _ in range(2):  # first execution, then warm
    t0 = time.perf_counter()
    data = jax.block_until_ready(make(fold(0), member_params))
    data_times.append(time.perf_counter() - t0)
  o = config.optim
  trainer = Trainer(model, make_optimizer(o.name, o.learning_rate, o.momentum, o.weight_decay),
                    tspec, spec.num_train)
  states = init_members(trainer, fold(1), data.x_train)
  jax.block_until_ready((data, states))
  out = {"data": {"first_execution_s": data_times[0], "warm_s": data_times[1]}}
  step0 = jnp.int32(0)
  seg_args = (states, data.x_train, data.y_train, step0)
  chk_args = (states, data.x_train, data.y_train, data.x_val, data.y_val,
              jnp.int32(trainer.eval_every))
  for name, fn, fargs in (("segment", trainer.segment, seg_args),
                          ("check", trainer.check, chk_args)):
    t0 = time.perf_counter()
    lowered = fn.lower(*fargs)
    t1 = time.perf_counter()
    compiled = lowered.compile()
    t2 = time.perf_counter()
    jax.block_until_ready(compiled(*fargs))  # first execution
    times = []
    for _ in range(reps):
      t3 = time.perf_counter()
      jax.block_until_ready(compiled(*fargs))
      times.append(time.perf_counter() - t3)
    out[name] = {"trace_lower_s": t1 - t0, "compile_s": t2 - t1, "warm_best_s": min(times),
                 "warm_median_s": statistics.median(times), "reps": reps}
  # The epoch shuffle alone: every segment draws the permutations of two epochs (the one it starts
  # in and the next), one jax.random.permutation of num_train per member each.
  perms = jax.jit(trainer._epoch_perms)
  jax.block_until_ready(perms(states.key, 0))
  times = []
  for _ in range(reps):
    t0 = time.perf_counter()
    jax.block_until_ready(perms(states.key, 0))
    times.append(time.perf_counter() - t0)
  out["epoch_perms"] = {"warm_best_s": min(times), "per_segment": 2}
  out["updates_per_segment"] = trainer.eval_every
  out["reference_scan"] = reference_sgd_scan(trainer, states.params, data.x_train, data.y_train,
                                             reps)
  return out


def reference_sgd_scan(trainer, params, x_train, y_train, reps: int):
  """The SGD arithmetic alone, for comparison with the library's segment (same shapes).

  One ``lax.scan`` of ``steps_per_epoch`` vmapped updates (same model.apply, softmax
  cross-entropy, plain SGD with coupled weight decay), reading contiguous batches of the
  already-random training set: no shuffle, no active-mask, no loss bookkeeping. A yardstick for
  what the update itself costs on this machine, not a replacement for the library's loop.
  """
  import jax
  import jax.numpy as jnp
  import optax
  batch, steps = trainer.spec.batch_size, trainer.steps_per_epoch

  def member_step(p, xb, yb):
    def loss_fn(q):
      logits = trainer.model.apply({"params": q}, xb, train=False)
      return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits, yb))
    g = jax.grad(loss_fn)(p)
    return jax.tree_util.tree_map(lambda a, b: a - 0.1 * (b + 5e-5 * a), p, g)

  def epoch(p, x, y):
    def body(p, t):
      xb = jax.lax.dynamic_slice_in_dim(x, t * batch, batch, axis=1)
      yb = jax.lax.dynamic_slice_in_dim(y, t * batch, batch, axis=1)
      return jax.vmap(member_step)(p, xb, yb), None
    return jax.lax.scan(body, p, jnp.arange(steps))[0]

  f = jax.jit(epoch)
  jax.block_until_ready(f(params, x_train, y_train))
  times = []
  for _ in range(reps):
    t0 = time.perf_counter()
    jax.block_until_ready(f(params, x_train, y_train))
    times.append(time.perf_counter() - t0)
  return {"warm_best_s": min(times), "updates": steps}


# ------------------------------------------------------------------------------------- PyTorch side

def lms5_numpy(rng, n: int, dim: int = 50, width: float = 1.0, margin: float = 0.1,
               p_centre: float = 0.75):
  """LMS-5 as in ``simplicity_bias.data.synthetic`` (same distribution, numpy RNG).

  Labels iid Bernoulli(1/2); latent 0 linear (class 1 in [m, w], class 0 in [-w, -m]); latents
  1..dim-1 five-slab (class 1: the two inner slabs; class 0: the centre slab with prob 3/4, else
  the two outer slabs); then a Haar-random rotation ``x = z @ W``.
  """
  import numpy as np
  y = (rng.random(n) < 0.5).astype(np.int64)
  z = np.empty((n, dim), np.float32)
  s = 2.0 * y - 1.0
  z[:, 0] = s * (margin + (width - margin) * rng.random(n))
  k, count = 5, dim - 1
  yy = np.broadcast_to(y[:, None], (n, count))
  u = rng.random((n, count))
  j = np.where(yy == 1, 1, np.where(u < p_centre, 0, 2))
  sw = (2 * width - 2 * (k - 1) * margin) / k
  lo = np.where(j == 0, 0.0, (j - 0.5) * sw + 2 * j * margin)
  length = np.where(j == 0, 0.5 * sw, sw)
  sign = np.where(rng.random((n, count)) < 0.5, -1.0, 1.0)
  z[:, 1:] = sign * (lo + length * rng.random((n, count)))
  q, r = np.linalg.qr(rng.standard_normal((dim, dim)))
  w = q * np.sign(np.diag(r))[None, :]
  return (z @ w).astype(np.float32), y


def run_torch_seed(seed: int, args):
  import numpy as np
  import torch
  import torch.nn.functional as F
  from torch import nn

  t0 = time.perf_counter()
  rng = np.random.default_rng(seed)
  n_total = args.num_train + args.num_val + args.num_test
  x, y = lms5_numpy(rng, n_total)
  x_train = torch.from_numpy(x[:args.num_train])
  y_train = torch.from_numpy(y[:args.num_train])
  x_test = torch.from_numpy(x[args.num_train + args.num_val:])
  y_test = torch.from_numpy(y[args.num_train + args.num_val:])
  t1 = time.perf_counter()

  torch.manual_seed(seed)
  model = nn.Sequential(nn.Linear(50, 100), nn.ReLU(), nn.Linear(100, 100), nn.ReLU(),
                        nn.Linear(100, 2))
  opt = torch.optim.SGD(model.parameters(), lr=0.1, weight_decay=5e-5)
  b = args.batch_size
  steps = args.num_train // b
  model.train()
  for _ in range(args.epochs):
    perm = torch.randperm(args.num_train)
    for i in range(steps):
      idx = perm[i * b:(i + 1) * b]
      xb, yb = x_train[idx], y_train[idx]
      opt.zero_grad(set_to_none=True)
      loss = F.cross_entropy(model(xb), yb)
      loss.backward()
      opt.step()
  loss = loss.detach()
  t2 = time.perf_counter()

  model.eval()
  with torch.no_grad():
    test_acc = (model(x_test).argmax(1) == y_test).float().mean().item()
  t3 = time.perf_counter()
  return {"seed": seed, "data_s": t1 - t0, "train_s": t2 - t1, "eval_s": t3 - t2,
          "total_s": t3 - t0, "test_acc": test_acc, "final_loss": loss.item()}


def torch_startup(args, steps: int = 20):
  """One-time PyTorch costs (thread pool, first autograd / optimizer calls) on a throwaway model.

  Timed and counted once in the PyTorch total, so extrapolating from K seeds does not multiply
  them by S / K (the JAX side likewise pays its compiles once).
  """
  import torch
  import torch.nn.functional as F
  from torch import nn
  t0 = time.perf_counter()
  model = nn.Sequential(nn.Linear(50, 100), nn.ReLU(), nn.Linear(100, 100), nn.ReLU(),
                        nn.Linear(100, 2))
  opt = torch.optim.SGD(model.parameters(), lr=0.1, weight_decay=5e-5)
  x, y = torch.randn(args.batch_size, 50), torch.randint(0, 2, (args.batch_size,))
  for _ in range(steps):
    opt.zero_grad(set_to_none=True)
    F.cross_entropy(model(x), y).backward()
    opt.step()
  with torch.no_grad():
    model(x).argmax(1)
  return time.perf_counter() - t0


def run_torch_loop(args):
  import torch
  torch.set_num_threads(args.torch_threads)
  startup = torch_startup(args)
  per_seed = []
  t0 = time.perf_counter()
  for s in range(args.torch_seeds):
    per_seed.append(run_torch_seed(s, args))
  measured = time.perf_counter() - t0
  k, s_total = args.torch_seeds, args.seeds
  phase = lambda key: sum(r[key] for r in per_seed)
  return {
      "threads": args.torch_threads,
      "seeds_timed": k,
      "extrapolated": k < s_total,
      "startup_s": startup,
      "measured_s": startup + measured,
      "total_s": startup + measured * s_total / k,
      "phases_s": {"startup_s": startup,
                   **{p: phase(p) * s_total / k for p in ("data_s", "train_s", "eval_s")}},
      "per_seed": per_seed,
      "test_acc_mean": statistics.mean(r["test_acc"] for r in per_seed),
  }


# ------------------------------------------------------------------------------------- report

def fmt(x, spec=".2f"):
  return "n/a" if x is None else format(x, spec)


def report(out) -> str:
  a = out["args"]
  j, jw, mm, tr = out["jax"], out.get("jax_warm"), out["matmul_jax"], out.get("torch")
  gf, pr = out["gflops"], out.get("segment_probe")
  phases = ("data_s", "train_s", "eval_s")
  L = []
  L.append(f"LMS-5 sweep: {a['seeds']} seeds x {a['num_train']} train ({a['num_val']} val, "
           f"{a['num_test']} test), (100,2)-FCN, batch {a['batch_size']}, {a['epochs']} epochs "
           f"fixed (stop_rule='none'); eval.coordinatewise={a['coordinatewise']}")
  m = out["machine"]
  L.append(f"machine: {m['cpu_model']}, {m['usable_cpus']} usable CPUs; jax {m['jax']}, "
           f"flax {m['flax']}, optax {m['optax']}, torch {m['torch']}, numpy {m['numpy']}; "
           f"{m['date']}")
  L.append("")
  L.append("| quantity | value |")
  L.append("|---|---|")
  L.append(f"| JAX sweep, end to end, first run (incl. compile) | {j['wall_s']:.2f} s |")
  if jw:
    L.append(f"| JAX sweep, end to end, re-run (XLA executables from cache) | {jw['wall_s']:.2f} s |")
  if tr:
    how = (f"extrapolated from {tr['seeds_timed']} of {a['seeds']} seeds, measured "
           f"{tr['measured_s']:.2f} s" if tr["extrapolated"] else
           f"measured, all {tr['seeds_timed']} seeds")
    L.append(f"| PyTorch loop ({tr['threads']} threads), end to end | {tr['total_s']:.2f} s ({how}) |")
    L.append(f"| speed-up PyTorch time / JAX time, first run | {tr['total_s'] / j['wall_s']:.2f}x |")
    if jw:
      L.append(f"| speed-up PyTorch time / JAX time, re-run | {tr['total_s'] / jw['wall_s']:.2f}x |")
  L.append(f"| training FLOPs (3 x fwd matmul FLOPs x examples used) | "
           f"{gf['train_flops'] / 1e9:.1f} GFLOP |")
  L.append(f"| JAX train GFLOP/s = FLOPs / train_s, first run | {gf['jax_train_gflops']:.1f} "
           f"({gf['fraction']:.1%} of matmul) |")
  if jw:
    L.append(f"| JAX train GFLOP/s = FLOPs / train_s, re-run | {gf['jax_train_gflops_warm']:.1f} "
             f"({gf['fraction_warm']:.1%}) |")
  if pr:
    L.append(f"| JAX train GFLOP/s, warm compiled segment alone (no checks) | "
             f"{gf['segment_gflops']:.1f} ({gf['fraction_segment']:.1%}) |")
    L.append(f"| reference: hand-written vmapped SGD scan, no shuffle/mask | "
             f"{gf['reference_gflops']:.1f} ({gf['fraction_reference']:.1%}) |")
  L.append(f"| jitted fp32 matmul {mm['n']}x{mm['n']} @ {mm['n']}x{mm['n']} (best of {mm['reps']}) | "
           f"{mm['gflops_best']:.1f} GFLOP/s |")
  if "matmul_torch" in out:
    L.append(f"| torch.mm, same size, {a['torch_threads']} threads (for reference) | "
             f"{out['matmul_torch']['gflops_best']:.1f} GFLOP/s |")
  if tr:
    floor = gf["train_flops"] / (mm["gflops_best"] * 1e9)
    L.append(f"| bound: PyTorch time / (train FLOPs at 100% / 50% of matmul rate) | "
             f"{tr['total_s'] / floor:.1f}x / {tr['total_s'] / (2 * floor):.1f}x |")
  L.append("")
  L.append("Where the time goes (seconds):")
  L.append("")
  L.append("| phase | JAX first run | JAX re-run | difference (XLA compile + first-execution effects) | PyTorch |")
  L.append("|---|---|---|---|---|")
  for p in phases:
    first = j["timing"][p]
    warm = jw["timing"][p] if jw else None
    L.append(f"| {p[:-2]} | {first:.2f} | {fmt(warm)} | {fmt(first - warm if jw else None)} | "
             f"{fmt(tr['phases_s'][p] if tr else None)} |")
  if tr:
    L.append(f"| PyTorch one-time startup | | | | {tr['startup_s']:.2f} |")
  rest = lambda r: r["wall_s"] - sum(r["timing"][p] for p in phases)
  L.append(f"| other (config validation, results) | {rest(j):.2f} | {fmt(rest(jw) if jw else None)} | | |")
  L.append(f"| total | {j['wall_s']:.2f} | {fmt(jw['wall_s'] if jw else None)} | "
           f"{fmt(j['wall_s'] - jw['wall_s'] if jw else None)} | {fmt(tr['total_s'] if tr else None)} |")
  L.append("")
  L.append(f"- JAX fit per epoch (segment + check, host loop), first run: "
           f"{', '.join(f'{t:.2f}' for t in j['fit_epoch_s'])} s; median of epochs 2+ "
           f"{fmt(j['fit_steady_epoch_s'])} s; first-epoch excess (segment/check compile) "
           f"{fmt(j['fit_first_epoch_excess_s'])} s.")
  if pr:
    s, c, pe, ref = pr["segment"], pr["check"], pr["epoch_perms"], pr["reference_scan"]
    shuffle = pe["per_segment"] * pe["warm_best_s"]
    L.append(f"- Standalone, warm: one epoch segment ({pr['updates_per_segment']} updates x "
             f"{a['seeds']} members) {s['warm_best_s']:.2f} s best / {s['warm_median_s']:.2f} s "
             f"median ({s['warm_best_s'] / pr['updates_per_segment'] * 1e3:.2f} ms per update); "
             f"inside it the epoch shuffle (Trainer._epoch_perms, jax.random.permutation of "
             f"{a['num_train']} per member) is drawn {pe['per_segment']}x per segment, "
             f"{pe['warm_best_s']:.2f} s per draw alone (the draws can partly overlap on "
             f"several cores, so together {pe['warm_best_s']:.2f}-{shuffle:.2f} s of the "
             f"segment); the same SGD arithmetic "
             f"without shuffle/mask takes {ref['warm_best_s']:.2f} s. Per-epoch check "
             f"{c['warm_best_s']:.2f} s.")
    L.append(f"- Data generation (compiled, {a['seeds']} datasets): first execution "
             f"{pr['data']['first_execution_s']:.2f} s, second {pr['data']['warm_s']:.2f} s.")
    L.append(f"- Compile, from AOT lower/compile in the probe: segment {s['compile_s']:.2f} s "
             f"(+{s['trace_lower_s']:.2f} s trace/lower), check {c['compile_s']:.2f} s "
             f"(+{c['trace_lower_s']:.2f} s)" + (" -- with the re-run on, these are loads from "
             "the persistent cache; the 'difference' column is the compile estimate."
             if a["warm_rerun"] else "."))
  L.append(f"- The per-epoch check (forward over train + val sets of every member) adds "
           f"{gf['check_flops'] / gf['train_flops']:.0%} to the training FLOPs; it is inside "
           "train_s but not counted in the GFLOP/s. The PyTorch loop has no such check.")
  L.append(f"- Sanity: JAX mean test AUC {j['summary'].get('test_auc', float('nan')):.3f}, "
           f"S-rand AUC {j['summary'].get('s_rand_auc', float('nan')):.3f}, S^c-rand AUC "
           f"{j['summary'].get('sc_rand_auc', float('nan')):.3f}, test acc "
           f"{j['summary'].get('test_acc', float('nan')):.4f}"
           + (f"; PyTorch mean test acc {tr['test_acc_mean']:.4f}." if tr else "."))
  cpu = out.get("cpu_by_phase", {})
  if cpu:
    L.append("- Contention (CPU time of other processes during each phase, in cores on average; "
             "2 = the whole machine): " + ", ".join(
                 f"{k} {v['other_cores_avg']:.2f}" for k, v in cpu.items())
             + "; 1-min load average at phase ends: " + ", ".join(
                 f"{k} {v['load1_end']:.2f}" for k, v in cpu.items()) + ".")
  return "\n".join(L)


def main(argv=None):
  args = parse_args(argv)
  import jax
  cache_dir = None
  if args.warm_rerun:
    # Needed before the first compile: the first JAX run fills this cache, the second run then
    # loads every XLA executable from it instead of compiling (tracing/lowering still happen).
    cache_dir = tempfile.mkdtemp(prefix="bench_lms5_xla_cache_")
    jax.config.update("jax_compilation_cache_dir", cache_dir)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)

  out = {"args": vars(args), "machine": machine_info(), "load": {}}
  out["load"]["start"] = load1()
  print(f"[bench] machine: {out['machine']}", flush=True)

  cpu = out["cpu_by_phase"] = {}
  with Phase("matmul", cpu):
    out["matmul_jax"] = jax_matmul_gflops(args.matmul_n, args.matmul_reps)
  print(f"[bench] jitted matmul {args.matmul_n}^2: {out['matmul_jax']['gflops_best']:.1f} "
        f"GFLOP/s (best)", flush=True)
  out["load"]["after_matmul"] = load1()

  config = lms5_config(args)
  with Phase("jax_first_run", cpu):
    out["jax"] = run_jax_sweep(config)
  out["load"]["after_jax"] = load1()
  print(f"[bench] JAX first run: {out['jax']['wall_s']:.2f} s {out['jax']['timing']}", flush=True)
  if args.warm_rerun:
    with Phase("jax_rerun", cpu):
      out["jax_warm"] = run_jax_sweep(lms5_config(args))
    out["load"]["after_jax_rerun"] = load1()
    print(f"[bench] JAX re-run (XLA cache): {out['jax_warm']['wall_s']:.2f} s "
          f"{out['jax_warm']['timing']}", flush=True)
  if args.segment_probe:
    with Phase("jax_probe", cpu):
      out["segment_probe"] = jax_segment_probe(lms5_config(args), args.probe_reps)
    out["load"]["after_probe"] = load1()
    print(f"[bench] segment probe: {out['segment_probe']}", flush=True)

  if args.torch_seeds:
    out["matmul_torch"] = torch_matmul_gflops(args.matmul_n, args.matmul_reps, args.torch_threads)
    with Phase("torch_loop", cpu):
      out["torch"] = run_torch_loop(args)
    out["load"]["after_torch"] = load1()
    print(f"[bench] PyTorch loop: {out['torch']['total_s']:.2f} s "
          f"({'extrapolated' if out['torch']['extrapolated'] else 'measured'})", flush=True)

  flops = train_flops(args)
  mm = out["matmul_jax"]["gflops_best"]
  gf = {"forward_flops_per_example": fcn_forward_flops(), "train_flops": flops,
        "check_flops": check_flops(args),
        "jax_train_gflops": flops / out["jax"]["timing"]["train_s"] / 1e9}
  gf["fraction"] = gf["jax_train_gflops"] / mm
  if "jax_warm" in out:
    gf["jax_train_gflops_warm"] = flops / out["jax_warm"]["timing"]["train_s"] / 1e9
    gf["fraction_warm"] = gf["jax_train_gflops_warm"] / mm
  if "segment_probe" in out:
    seg = out["segment_probe"]["segment"]["warm_best_s"]
    per_epoch = 3.0 * fcn_forward_flops() * (args.num_train // args.batch_size) * \
        args.batch_size * args.seeds
    gf["segment_gflops"] = per_epoch / seg / 1e9
    gf["fraction_segment"] = gf["segment_gflops"] / mm
    ref = out["segment_probe"]["reference_scan"]["warm_best_s"]
    gf["reference_gflops"] = per_epoch / ref / 1e9
    gf["fraction_reference"] = gf["reference_gflops"] / mm
  out["gflops"] = gf
  if "torch" in out:
    out["ratio_torch_over_jax"] = out["torch"]["total_s"] / out["jax"]["wall_s"]
    if "jax_warm" in out:
      out["ratio_torch_over_jax_warm"] = out["torch"]["total_s"] / out["jax_warm"]["wall_s"]
  out["load"]["end"] = load1()

  text = report(out)
  out["report"] = text
  print()
  print(text)
  if args.json_out:
    os.makedirs(os.path.dirname(os.path.abspath(args.json_out)), exist_ok=True)
    with open(args.json_out, "w") as f:
      json.dump(out, f, indent=1)
    print(f"\n[bench] wrote {args.json_out}")
  if cache_dir:
    import shutil
    shutil.rmtree(cache_dir, ignore_errors=True)
  return 0


if __name__ == "__main__":
  sys.exit(main())
