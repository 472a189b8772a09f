#!/usr/bin/env python
r"""The LMS-5 seed sweep, end to end and by part, against a one-model-at-a-time PyTorch loop.

  python benchmarks/bench_lms5_sweep.py --json_out=/tmp/bench_lms5.json   # the full default
  python benchmarks/bench_lms5_sweep.py --seeds=2 --epochs=1 --num_train=5000 --num_val=1000 \
      --num_test=1000 --matmul_n=256 --torch_seeds=1                       # a smoke run
  python benchmarks/bench_lms5_sweep.py --platform=gpu                     # JAX on a GPU

Prints six speed targets measured side by side in one run, each with its measured value, goal
and whether it is met:

1. End to end as a user runs it: a subprocess ``python launch/train.py --config=configs/lms5.py
   --config.num_seeds=S --config.train.stop_rule=none --config.train.max_epochs=E
   --config.data.num_train=N ... --workdir=TMP`` (imports, data generation, compile, training,
   the default evaluation incl. coordinate-wise metrics, figures, results), once on a fresh empty
   persistent compilation cache (cold) and once more on the same cache (warm), against the PyTorch
   loop below run as its own process. Goal: >= 3x faster. Also printed: the ceiling, PyTorch time
   / (training FLOPs at 100% (50%) of the jitted fp32 matmul rate).
2. Training-segment throughput: the pipeline's own ``Trainer`` (captured from an in-process
   ``pipeline.run``), warm ``trainer.segment`` calls covering one epoch; SGD FLOPs (3 x forward
   matmul FLOPs x examples) / time, as a share of the measured jitted fp32 matmul rate. Goal >= 50%.
3. Generation of the S datasets (the pipeline's ``registry.build``): first execution of the
   compiled generator (the run's call minus its compile time) and warm. Goal <= 1 s.
4. Stop-rule checks: their share of the training time of an in-process run under the paper's
   stop rule (``stop_rule='acc'``, the default gated full pass), compile time excluded; plus the
   cost of one full check and one running check, warm. Goal <= 10%.
5. The default evaluation of S members (``config.evals``: sb, coordinatewise, decision_grid) on
   the test set, called a second time with the run's own arguments; compile excluded. Goal <= 1 s.
6. Compile time of the warm end-to-end run: JAX's own log of every trace, lowering and XLA
   compilation or persistent-cache load (``JAX_LOG_COMPILES=1``; the lines land in the work
   directory's ``log.txt``). Goal <= 2 s.

Also: where each second of the two end-to-end runs goes (from the work directory: results.json's
phase timing, metrics.jsonl, the files' times and log.txt's compile lines), machine info and the
CPU time other processes took during each phase (re-run when it is high). In-process compile
times come from ``jax.monitoring`` events. The PyTorch side (``torch_child``) draws each seed's
data with numpy, trains Linear 50-100-100-2 with SGD lr .1, wd 5e-5, batch 256, a fresh
``torch.randperm`` shuffle every epoch, for E epochs, then tests it; ``--torch_seeds=K < S``
times K seeds and extrapolates the per-seed part to S.
"""

import argparse
import datetime
import importlib.metadata
import json
import os
import platform
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:  # runs from a checkout without `pip install -e .`
  sys.path.insert(0, REPO)

from simplicity_bias import compile_cache  # noqa: E402  (no JAX import: safe before JAX_PLATFORMS)
from simplicity_bias.report.machine import cpu_model, load1  # noqa: E402

_TORCH_CHILD = "--torch_child"
GOALS = {"speedup": 3.0, "segment_fraction": 0.5, "generation_s": 1.0, "check_share": 0.10,
         "eval_s": 1.0, "warm_compile_s": 2.0}


def parse_args(argv=None):
  p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                              formatter_class=argparse.RawDescriptionHelpFormatter)
  p.add_argument("--seeds", type=int, default=16, help="S: seeds (members) in the sweep")
  p.add_argument("--epochs", type=int, default=10,
                 help="E: epochs of the end-to-end runs (stop rule off)")
  p.add_argument("--num_train", type=int, default=100_000)
  p.add_argument("--num_val", type=int, default=10_000)
  p.add_argument("--num_test", type=int, default=10_000)
  p.add_argument("--batch_size", type=int, default=256)
  p.add_argument("--stop_max_epochs", type=int, default=0,
                 help="epoch cap of the in-process stop-rule run (0: the config's, 100)")
  p.add_argument("--platform", choices=("cpu", "gpu", "tpu"), default="cpu",
                 help="JAX_PLATFORMS of the end-to-end runs and of this process")
  p.add_argument("--torch_seeds", type=int, default=None,
                 help="K seeds timed on the PyTorch side (default: all S; 0 = skip); K < S "
                      "extrapolates the per-seed part linearly")
  p.add_argument("--torch_threads", type=int, default=2)
  p.add_argument("--torch_device", default=None, help="default: cuda with --platform=gpu, else cpu")
  p.add_argument("--reps", type=int, default=3, help="timed repetitions of each warm measurement")
  p.add_argument("--matmul_n", type=int, default=None, help="default: 2048 on cpu, 8192 otherwise")
  p.add_argument("--matmul_reps", type=int, default=10)
  p.add_argument("--config", default=os.path.join(REPO, "configs", "lms5.py"))
  p.add_argument("--keep_tmp", action="store_true",
                 help="keep the work directories and the compilation cache of the runs")
  p.add_argument("--json_out", default="")
  p.add_argument(_TORCH_CHILD, action="store_true", help=argparse.SUPPRESS)
  args = p.parse_args(argv)
  if args.torch_seeds is None:
    args.torch_seeds = args.seeds
  if args.torch_device is None:
    args.torch_device = "cuda" if args.platform == "gpu" else "cpu"
  if args.matmul_n is None:
    args.matmul_n = 2048 if args.platform == "cpu" else 8192
  if args.seeds < 1 or args.epochs < 1 or not 0 <= args.torch_seeds <= args.seeds:
    p.error("need --seeds >= 1, --epochs >= 1 and 0 <= --torch_seeds <= --seeds")
  if args.batch_size > args.num_train:
    p.error("--batch_size is larger than --num_train")
  return args


# ------------------------------------------------------------------------------------- helpers

def cpu_seconds():
  """(CPU-seconds the whole machine was busy, CPU-seconds of this process and its waited-for
  children) since boot / start."""
  busy = float("nan")
  try:
    with open("/proc/stat") as f:
      fields = [int(v) for v in f.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    busy = (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")
  except (OSError, ValueError, IndexError):
    pass
  t = os.times()
  return busy, t.user + t.system + t.children_user + t.children_system


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
    other = max((busy - self.busy0) - (own - self.own0), 0.0)
    self.record[self.name] = {"wall_s": wall, "own_cpu_s": own - self.own0, "other_cpu_s": other,
                              "other_cores_avg": other / wall if wall else 0.0,
                              "load1_end": load1()}
    return False


def version(name):
  try:
    return importlib.metadata.version(name)
  except importlib.metadata.PackageNotFoundError:
    return None


def machine_info():
  import jax
  device = jax.devices()[0]
  info = {
      "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
      "cpu_model": cpu_model(),
      "logical_cpus": os.cpu_count(),
      "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
      "python": platform.python_version(),
      "platform": platform.platform(),
      "jax_device": f"{jax.device_count()}x {device.device_kind} ({device.platform})",
  }
  for name in ("jax", "jaxlib", "flax", "optax", "numpy", "torch"):
    info[name] = version(name)
  return info


def fcn_forward_flops(dim=50, width=100, depth=2, classes=2) -> int:
  """Matmul FLOPs of one forward pass of one example: 2 * (sum of fan_in * fan_out)."""
  sizes = [dim] + [width] * depth + [classes]
  return 2 * sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))


def sgd_flops(forward_flops: int, examples: int) -> float:
  return 3.0 * forward_flops * examples  # forward + backward (2x forward)


def size_overrides(args):
  return {"num_seeds": args.seeds, "data.num_train": args.num_train,
          "data.num_val": args.num_val, "data.num_test": args.num_test,
          "train.batch_size": args.batch_size}


def user_overrides(args):
  """The ``--config.FIELD=VALUE`` flags of the end-to-end command."""
  return {**size_overrides(args), "train.stop_rule": "none", "train.max_epochs": args.epochs}


def child_env(args, **extra):
  env = dict(os.environ, JAX_PLATFORMS=args.platform, **extra)
  env["PYTHONPATH"] = os.pathsep.join(p for p in (REPO, os.environ.get("PYTHONPATH")) if p)
  return env


# ------------------------------------------------------------------------ 1, 6: end-to-end runs

_COMPILE_LINE = re.compile(
    r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3}) .*?Finished (tracing|jaxpr to MLIR module "
    r"conversion|XLA compilation of) (.+?) in ([0-9.eE+-]+) sec")
_KINDS = {"tracing": "trace", "jaxpr to MLIR module conversion": "lower",
          "XLA compilation of": "compile"}


def compile_log(path):
  """JAX's compile lines in a run's log.txt: [{t, kind, name, s}] and the persistent-cache hits.
  ``compile`` includes loading an executable from the persistent cache."""
  lines, hits = [], 0
  with open(path, encoding="utf-8", errors="replace") as f:
    for line in f:
      hits += "Persistent compilation cache hit" in line
      m = _COMPILE_LINE.match(line)
      if m:
        name = m.group(4)
        name = name[:-len(" for jit")] if name.endswith(" for jit") else name
        name = name[4:-1] if name.startswith("jit(") and name.endswith(")") else name
        t = time.mktime(time.strptime(m.group(1), "%Y-%m-%d %H:%M:%S")) + int(m.group(2)) / 1e3
        lines.append({"t": t, "kind": _KINDS[m.group(3)], "name": name,
                      "s": float(m.group(5))})
  return lines, hits


def run_timeline(workdir, t_launch, t_end):
  """Where the seconds of one ``launch/train.py`` process went, from its work directory.

  ``config.json`` is written when the run starts (just before ``pipeline.run`` starts its clock),
  results.json / results.csv / report.md at the end; results.json holds the run's total and the
  cell's data / train / eval times; metrics.jsonl the fit loop's time at every check; log.txt
  (with ``JAX_LOG_COMPILES=1``) one line per trace, lowering and compile, each attributed to the
  part it ended in.
  """
  path = lambda name: os.path.join(workdir, name)
  with open(path("results.json"), encoding="utf-8") as f:
    results = json.load(f)
  with open(path("metrics.jsonl"), encoding="utf-8") as f:
    checks = [json.loads(line) for line in f if line.strip()]
  cell = results["rows"][0]["timing"]
  t_run = os.stat(path("config.json")).st_mtime
  t_written = max(os.stat(path(n)).st_mtime for n in ("results.json", "results.csv", "report.md"))
  edges = [("startup", t_launch), ("data", t_run), ("train", t_run + cell["data_s"]),
           ("eval", t_run + cell["data_s"] + cell["train_s"]),
           ("figures", t_run + cell["data_s"] + cell["train_s"] + cell["eval_s"]),
           ("write", t_run + results["timing"]["total_s"]), ("exit", t_written)]
  ends = [t for _, t in edges[1:]] + [t_end]
  parts = {name: {"s": end - start, "compile_s": 0.0}
           for (name, start), end in zip(edges, ends)}
  lines, hits = compile_log(path("log.txt"))
  kinds, programs = {"trace": 0.0, "lower": 0.0, "compile": 0.0}, {}
  for line in lines:
    part = next((name for (name, _), end in zip(edges, ends) if line["t"] < end), "exit")
    parts[part]["compile_s"] += line["s"]
    kinds[line["kind"]] += line["s"]
    programs[line["name"]] = programs.get(line["name"], 0.0) + line["s"]
  first, last = checks[0]["elapsed_s"], checks[-1]["elapsed_s"]
  summary = results["rows"][0]["summary"]
  return {
      "parts": parts,
      "train_split": {"first_epoch_s": first, "later_epochs_s": last - first,
                      "init_and_checkpoint_s": cell["train_s"] - last, "checks": len(checks)},
      "compile": {**kinds, "total_s": sum(kinds.values()),
                  "programs": sum(1 for line in lines if line["kind"] == "compile"),
                  "cache_hits": hits,
                  "largest": sorted(programs.items(), key=lambda kv: -kv[1])[:5]},
      "summary": {m: summary[m]["mean"] for m in ("test_auc", "s_rand_auc", "sc_rand_auc",
                                                  "test_acc") if m in summary},
  }


def run_end_to_end(args, workdir, cache_dir):
  """One ``launch/train.py`` process as a user runs it (compilation cache on, in ``cache_dir``)."""
  cmd = [sys.executable, "launch/train.py", f"--config={args.config}",
         *[f"--config.{k}={v}" for k, v in user_overrides(args).items()], f"--workdir={workdir}"]
  env = child_env(args, JAX_LOG_COMPILES="1", **{compile_cache.ENV_SWITCH: "1",
                                                 compile_cache.ENV_DIR: cache_dir})
  t_launch, t0 = time.time(), time.perf_counter()
  proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
  wall, t_end = time.perf_counter() - t0, time.time()
  if proc.returncode:
    raise RuntimeError(f"{shlex.join(cmd)} exited with {proc.returncode}:\n{proc.stderr[-3000:]}")
  return {"command": shlex.join(cmd), "wall_s": wall, **run_timeline(workdir, t_launch, t_end)}


# ------------------------------------------------------------------- 2-5: in-process, JAX side

class CompileMeter:
  """Seconds JAX spends tracing, lowering and compiling (or loading from the persistent cache),
  summed from ``jax.monitoring`` events."""
  EVENTS = {"/jax/core/compile/jaxpr_trace_duration": "trace",
            "/jax/core/compile/jaxpr_to_mlir_module_duration": "lower",
            "/jax/core/compile/backend_compile_duration": "compile"}

  def __init__(self):
    import jax
    self.kinds = dict.fromkeys(self.EVENTS.values(), 0.0)
    jax.monitoring.register_event_duration_secs_listener(self._record)

  def _record(self, event, duration, **_):
    if event in self.EVENTS:
      self.kinds[self.EVENTS[event]] += duration

  def seconds(self):
    return sum(self.kinds.values())

  def measure(self, fn, *a, **kw):
    """``(fn(*a, **kw) blocked until ready, wall seconds, compile seconds inside)``."""
    import jax
    c0, t0 = self.seconds(), time.perf_counter()
    out = jax.block_until_ready(fn(*a, **kw))
    return out, time.perf_counter() - t0, self.seconds() - c0


def best_of(fn, reps):
  """Best and median wall time of ``reps`` calls of ``fn`` (after one untimed call)."""
  import jax
  jax.block_until_ready(fn())
  times = []
  for _ in range(reps):
    t0 = time.perf_counter()
    jax.block_until_ready(fn())
    times.append(time.perf_counter() - t0)
  return {"best_s": min(times), "median_s": statistics.median(times), "reps": reps}


def jax_matmul_gflops(n: int, reps: int):
  import jax
  import jax.numpy as jnp
  ka, kb = jax.random.split(jax.random.key(0))
  a = jax.random.normal(ka, (n, n), jnp.float32)
  b = jax.random.normal(kb, (n, n), jnp.float32)
  f = jax.jit(lambda x, y: x @ y)
  t = best_of(lambda: f(a, b), reps)
  return {"n": n, **t, "gflops": 2.0 * n ** 3 / t["best_s"] / 1e9}


def instrumented_run(config, meter):
  """``pipeline.run(config)`` in this process, recording the pipeline's own objects and times:
  the ``registry.build`` call (data), ``fit``'s arguments and every ``trainer.segment`` /
  ``trainer.check`` call inside it, and the ``evaluators.evaluate`` call."""
  from simplicity_bias import evaluators, pipeline
  from simplicity_bias.data import registry
  real = {"build": registry.build, "fit": pipeline.fit, "evaluate": evaluators.evaluate}
  seen = {"segment": [], "check": []}

  def recorded(name, fn):
    def call(*a, **kw):
      out, wall, comp = meter.measure(fn, *a, **kw)
      seen[name] = {"args": a, "kwargs": kw, "wall_s": wall, "compile_s": comp}
      return out
    return call

  def timed(fn, calls):
    def call(*a, **kw):
      out, wall, comp = meter.measure(fn, *a, **kw)
      calls.append({"wall_s": wall, "compile_s": comp, "full": kw.get("full")})
      return out
    return call

  def fit(trainer, *a, **kw):
    check = trainer.check
    trainer.segment = timed(trainer.segment, seen["segment"])
    trainer.check = timed(check, seen["check"])
    try:
      return recorded("fit", real["fit"])(trainer, *a, **kw)
    finally:
      del trainer.segment
      trainer.check = check

  registry.build, pipeline.fit = recorded("build", real["build"]), fit
  evaluators.evaluate = recorded("evaluate", real["evaluate"])
  try:
    results, wall, comp = meter.measure(pipeline.run, config, "", progress=False)
  finally:
    registry.build, pipeline.fit, evaluators.evaluate = (real["build"], real["fit"],
                                                         real["evaluate"])
  return results, seen, {"wall_s": wall, "compile_s": comp}, real


def reference_sgd_scan(trainer, params, x_train, y_train, lr, wd, reps):
  """The SGD arithmetic alone, for comparison with the pipeline's segment (same shapes).

  One ``lax.scan`` of ``steps_per_epoch`` vmapped updates (same model.apply, softmax
  cross-entropy, plain SGD with coupled weight decay), reading contiguous batches of the
  already-random training set: no shuffle, no active-mask, no running statistics. A yardstick for
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
    return jax.tree_util.tree_map(lambda a, b: a - lr * (b + wd * a), p, g)

  def epoch(p, x, y):
    def body(p, t):
      xb = jax.lax.dynamic_slice_in_dim(x, t * batch, batch, axis=1)
      yb = jax.lax.dynamic_slice_in_dim(y, t * batch, batch, axis=1)
      return jax.vmap(member_step)(p, xb, yb), None
    return jax.lax.scan(body, p, jnp.arange(steps))[0]

  f = jax.jit(epoch)
  return {**best_of(lambda: f(params, x_train, y_train), reps), "updates": steps}


def jax_in_process(args, meter):
  """Targets 2-5 from one in-process run of the pipeline under the paper's stop rule."""
  import jax
  import jax.numpy as jnp
  from simplicity_bias.configs import load_config
  from simplicity_bias.pipeline import apply_overrides

  overrides = {**size_overrides(args), "train.stop_rule": "acc", "progress": False}
  if args.stop_max_epochs:
    overrides["train.max_epochs"] = args.stop_max_epochs
  config = apply_overrides(load_config(args.config), overrides)
  if config.model.name != "fcn":
    raise SystemExit(f"{args.config}: the FLOP count assumes model.name='fcn'")
  results, seen, run, real = instrumented_run(config, meter)
  out = {"run": {**run, "max_epochs": config.train.max_epochs,
                 "full_check": config.train.full_check, "stop_eps": config.train.stop_eps,
                 "evals": list(config.evals)}}
  summary = results["rows"][0]["summary"]
  out["run"]["converged_mean"] = summary["converged"]["mean"]
  out["run"]["updates_mean"] = summary["updates"]["mean"]

  # 3. Data generation: the run's call less its compile time, then warm calls.
  build = seen["build"]
  out["generation"] = {"call_s": build["wall_s"], "compile_s": build["compile_s"],
                       "first_execution_s": build["wall_s"] - build["compile_s"],
                       "warm": best_of(lambda: real["build"](*build["args"]), args.reps)}

  # 2. Warm segments covering one epoch, from the members' initial states.
  trainer, states0, x_train, y_train, x_val, y_val = seen["fit"]["args"][:6]
  kw = seen["fit"]["kwargs"]
  aux, sample_params = kw.get("aux"), kw.get("sample_params")
  calls = -(-trainer.steps_per_epoch // trainer.eval_every)

  def epoch():
    states, sums = states0, None
    for k in range(calls):
      states, sums = trainer.segment(states, x_train, y_train, jnp.int32(k * trainer.eval_every),
                                     aux, sample_params)
    return states, sums

  members = states0.num_updates.shape[0]
  forward = fcn_forward_flops(config.data.dim, config.model.width, config.model.depth)
  updates = calls * trainer.eval_every
  out["segment"] = {**best_of(epoch, args.reps), "calls": calls, "updates": updates,
                    "members": members,
                    "flops": sgd_flops(forward, updates * trainer.spec.batch_size * members)}
  shuffle = jax.jit(trainer._epoch_perms)
  out["epoch_shuffle"] = best_of(lambda: shuffle(states0.key, 0), args.reps)
  o = config.optim
  ref = reference_sgd_scan(trainer, states0.params, x_train, y_train, o.learning_rate,
                           o.weight_decay, args.reps)
  out["reference_scan"] = {**ref, "flops": sgd_flops(forward, ref["updates"] *
                                                     trainer.spec.batch_size * members)}

  # 4. Checks during the run (compile excluded) and one warm check of each kind.
  checks, segments = seen["check"], seen["segment"]
  exec_s = lambda rs: sum(r["wall_s"] - r["compile_s"] for r in rs)
  fit = seen["fit"]
  states, sums = epoch()
  acc, loss = sums.correct / jnp.maximum(sums.seen, 1), sums.mean_loss()
  gate = jnp.ones(members, bool)
  one = lambda full: trainer.check(states, x_train, y_train, x_val, y_val,
                                   jnp.int32(trainer.eval_every), aux, acc, loss, gate, full=full)
  out["checks"] = {
      "calls": len(checks), "full": sum(bool(c["full"]) for c in checks),
      "check_s": exec_s(checks), "segment_s": exec_s(segments),
      "training_s": fit["wall_s"] - fit["compile_s"], "compile_in_fit_s": fit["compile_s"],
      "epochs": len(segments) * trainer.eval_every / trainer.steps_per_epoch,
      "one_full": best_of(lambda: one(True), args.reps),
      "one_running": best_of(lambda: one(False), args.reps)}
  out["checks"]["share"] = out["checks"]["check_s"] / out["checks"]["training_s"]

  # 5. The default evaluation, called again with the run's arguments.
  ev = seen["evaluate"]
  _, wall, comp = meter.measure(real["evaluate"], *ev["args"], **ev["kwargs"])
  out["evaluation"] = {"first_call_s": ev["wall_s"], "first_compile_s": ev["compile_s"],
                       "second_call_s": wall, "second_compile_s": comp,
                       "second_execution_s": wall - comp, "members": members}
  out["compile_in_run"] = dict(meter.kinds)
  return out


# ------------------------------------------------------------------------------- PyTorch side

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


def _sync(device):
  import torch
  if device.type == "cuda":
    torch.cuda.synchronize()


def _torch_fcn(device):
  from torch import nn
  return nn.Sequential(nn.Linear(50, 100), nn.ReLU(), nn.Linear(100, 100), nn.ReLU(),
                       nn.Linear(100, 2)).to(device)


def run_torch_seed(seed: int, args, device):
  import numpy as np
  import torch
  import torch.nn.functional as F

  t0 = time.perf_counter()
  rng = np.random.default_rng(seed)
  x, y = lms5_numpy(rng, args.num_train + args.num_val + args.num_test)
  x_train = torch.from_numpy(x[:args.num_train]).to(device)
  y_train = torch.from_numpy(y[:args.num_train]).to(device)
  x_test = torch.from_numpy(x[args.num_train + args.num_val:]).to(device)
  y_test = torch.from_numpy(y[args.num_train + args.num_val:]).to(device)
  _sync(device)
  t1 = time.perf_counter()

  torch.manual_seed(seed)
  model = _torch_fcn(device)
  opt = torch.optim.SGD(model.parameters(), lr=0.1, weight_decay=5e-5)
  b = args.batch_size
  steps = args.num_train // b
  model.train()
  for _ in range(args.epochs):
    perm = torch.randperm(args.num_train, device=device)
    for i in range(steps):
      idx = perm[i * b:(i + 1) * b]
      xb, yb = x_train[idx], y_train[idx]
      opt.zero_grad(set_to_none=True)
      loss = F.cross_entropy(model(xb), yb)
      loss.backward()
      opt.step()
  final_loss = loss.item()
  t2 = time.perf_counter()

  model.eval()
  with torch.no_grad():
    test_acc = (model(x_test).argmax(1) == y_test).float().mean().item()
  t3 = time.perf_counter()
  return {"seed": seed, "data_s": t1 - t0, "train_s": t2 - t1, "eval_s": t3 - t2,
          "total_s": t3 - t0, "test_acc": test_acc, "final_loss": final_loss}


def torch_startup(args, device, steps: int = 20):
  """One-time PyTorch costs (thread pool, first autograd / optimizer calls) on a throwaway model,
  counted once (extrapolating from K seeds does not multiply them by S / K)."""
  import torch
  import torch.nn.functional as F
  t0 = time.perf_counter()
  model = _torch_fcn(device)
  opt = torch.optim.SGD(model.parameters(), lr=0.1, weight_decay=5e-5)
  x = torch.randn(args.batch_size, 50, device=device)
  y = torch.randint(0, 2, (args.batch_size,), device=device)
  for _ in range(steps):
    opt.zero_grad(set_to_none=True)
    F.cross_entropy(model(x), y).backward()
    opt.step()
  with torch.no_grad():
    model(x).argmax(1).sum().item()
  return time.perf_counter() - t0


def torch_matmul_gflops(n: int, reps: int, device):
  import torch
  g = torch.Generator().manual_seed(0)
  a, b = torch.randn(n, n, generator=g).to(device), torch.randn(n, n, generator=g).to(device)
  times = []
  for i in range(reps + 2):
    t0 = time.perf_counter()
    torch.mm(a, b)
    _sync(device)
    if i >= 2:
      times.append(time.perf_counter() - t0)
  return {"n": n, "best_s": min(times), "gflops": 2.0 * n ** 3 / min(times) / 1e9}


def torch_child(args):
  """The PyTorch process: import, warm-up, K seeds one after another, then a reference matmul
  (timed, so the parent can leave it out). Prints one JSON line."""
  t0 = time.perf_counter()
  import torch
  import_s = time.perf_counter() - t0
  torch.set_num_threads(args.torch_threads)
  device = torch.device(args.torch_device)
  startup = torch_startup(args, device)
  t0 = time.perf_counter()
  per_seed = [run_torch_seed(s, args, device) for s in range(args.torch_seeds)]
  seeds_s = time.perf_counter() - t0
  t0 = time.perf_counter()
  matmul = torch_matmul_gflops(args.matmul_n, args.matmul_reps, device)
  print(json.dumps({"import_s": import_s, "startup_s": startup, "seeds_s": seeds_s,
                    "per_seed": per_seed, "matmul": matmul,
                    "matmul_s": time.perf_counter() - t0, "torch": torch.__version__}))


def run_torch_process(args):
  """The PyTorch loop as its own process; the per-seed part is extrapolated from K to S seeds."""
  flags = ("seeds", "epochs", "num_train", "num_val", "num_test", "batch_size", "torch_seeds",
           "torch_threads", "torch_device", "matmul_n", "matmul_reps")
  cmd = [sys.executable, os.path.abspath(__file__), _TORCH_CHILD,
         *[f"--{f}={getattr(args, f)}" for f in flags]]
  t0 = time.perf_counter()
  proc = subprocess.run(cmd, env=child_env(args), capture_output=True, text=True)
  wall = time.perf_counter() - t0
  if proc.returncode:
    raise RuntimeError(f"the PyTorch process failed:\n{proc.stderr[-3000:]}")
  out = json.loads(proc.stdout.strip().splitlines()[-1])
  scale = args.seeds / args.torch_seeds
  out.update({
      "threads": args.torch_threads, "device": args.torch_device, "process_wall_s": wall,
      "seeds_timed": args.torch_seeds, "extrapolated": args.torch_seeds < args.seeds,
      "end_to_end_s": wall - out["matmul_s"] + out["seeds_s"] * (scale - 1),
      "phases_s": {p: scale * sum(r[p] for r in out["per_seed"])
                   for p in ("data_s", "train_s", "eval_s")},
      "test_acc_mean": statistics.mean(r["test_acc"] for r in out["per_seed"])})
  return out


# ------------------------------------------------------------------------------------- report

def fmt(x, spec=".2f", unit=""):
  return "n/a" if x is None else format(x, spec) + unit


def targets(out):
  """[(number, target, measured value, value text, goal text, met)] from the measurements."""
  a, j, tr = out["args"], out["jax_in_process"], out.get("torch")
  mm = out["matmul_jax"]["gflops"]
  rows = []
  for key, label in (("cold", "cold (empty)"), ("warm", "warm")):
    run = out["end_to_end"][key]
    ratio = tr["end_to_end_s"] / run["wall_s"] if tr else None
    rows.append(("1", f"end to end (`launch/train.py`), {label} compilation cache: PyTorch time / "
                 "JAX time", ratio, f"{fmt(ratio)}x (JAX {run['wall_s']:.2f} s, PyTorch "
                 f"{fmt(tr and tr['end_to_end_s'])} s)", f">= {GOALS['speedup']:g}x",
                 None if ratio is None else ratio >= GOALS["speedup"]))
  seg = j["segment"]
  frac = seg["flops"] / seg["best_s"] / 1e9 / mm
  rows.append(("2", "training segments, warm, one epoch: SGD FLOPs / time, share of jitted fp32 "
               "matmul rate", frac, f"{frac:.1%} ({seg['flops'] / seg['best_s'] / 1e9:.1f} of "
               f"{mm:.1f} GFLOP/s)", f">= {GOALS['segment_fraction']:.0%}",
               frac >= GOALS["segment_fraction"]))
  g = j["generation"]
  first = g["first_execution_s"]
  rows.append(("3", f"generation of the {a['seeds']} datasets, compiled: first execution "
               "(warm)", first, f"{first:.3f} s ({g['warm']['best_s']:.3f} s)",
               f"<= {GOALS['generation_s']:g} s", first <= GOALS["generation_s"]))
  c = j["checks"]
  rows.append(("4", "stop-rule checks (stop_rule='acc', full_check="
               f"'{j['run']['full_check']}'), share of training time", c["share"],
               f"{c['share']:.1%} ({c['calls']} checks, {c['full']} full; one full check "
               f"{c['one_full']['best_s']:.3f} s)", f"<= {GOALS['check_share']:.0%}",
               c["share"] <= GOALS["check_share"]))
  e = j["evaluation"]
  rows.append(("5", f"default evaluation of {a['seeds']} members ({', '.join(j['run']['evals'])})"
               ", second call, after compile", e["second_execution_s"],
               f"{e['second_execution_s']:.3f} s", f"<= {GOALS['eval_s']:g} s",
               e["second_execution_s"] <= GOALS["eval_s"]))
  comp = out["end_to_end"]["warm"]["compile"]["total_s"]
  rows.append(("6", "compile time of the warm end-to-end run (trace + lower + compile / cache "
               "load)", comp, f"{comp:.2f} s", f"<= {GOALS['warm_compile_s']:g} s",
               comp <= GOALS["warm_compile_s"]))
  return rows


def report(out) -> str:
  a, m = out["args"], out["machine"]
  cold, warm = out["end_to_end"]["cold"], out["end_to_end"]["warm"]
  j, tr, mm = out["jax_in_process"], out.get("torch"), out["matmul_jax"]
  L = [f"LMS-5 sweep: {a['seeds']} seeds x {a['num_train']} train ({a['num_val']} val, "
       f"{a['num_test']} test), (100,2)-FCN, batch {a['batch_size']}; JAX on {a['platform']}",
       f"machine: {m['cpu_model']}, {m['usable_cpus']} usable CPUs, {m['jax_device']}; "
       f"jax {m['jax']}, flax {m['flax']}, optax {m['optax']}, torch {m['torch']}, numpy "
       f"{m['numpy']}; {m['date']}", "", "| # | target | measured | goal | met |",
       "|---|---|---|---|---|"]
  for num, name, _, text, goal, met in out["targets"]:
    L.append(f"| {num} | {name} | {text} | {goal} | "
             f"{'n/a' if met is None else 'yes' if met else 'no'} |")

  L += ["", "Details:", ""]
  L.append(f"1. `{warm['command']}` ({a['epochs']} epoch(s), stop rule off; the cold run used a "
           "fresh cache directory, the warm run the same one again; JAX_LOG_COMPILES=1 is the "
           "only addition to a user's environment).")
  if tr:
    how = (f"{tr['seeds_timed']} of {a['seeds']} seeds timed, the per-seed part extrapolated; "
           f"process {tr['process_wall_s']:.2f} s" if tr["extrapolated"] else
           f"all {a['seeds']} seeds timed")
    floor = out["train_flops"] / (mm["gflops"] * 1e9)
    L.append(f"   PyTorch process ({tr['threads']} threads, {tr['device']}): "
             f"{tr['end_to_end_s']:.2f} s ({how}; import torch {tr['import_s']:.2f} s, warm-up "
             f"{tr['startup_s']:.2f} s, per {a['seeds']} seeds: data "
             f"{tr['phases_s']['data_s']:.2f} s, train {tr['phases_s']['train_s']:.2f} s, eval "
             f"{tr['phases_s']['eval_s']:.2f} s). Ceiling: PyTorch time / (training FLOPs "
             f"{out['train_flops'] / 1e9:.1f} GFLOP at 100% / 50% of the matmul rate) = "
             f"{tr['end_to_end_s'] / floor:.1f}x / {tr['end_to_end_s'] / (2 * floor):.1f}x.")
  seg, ref, sh = j["segment"], j["reference_scan"], j["epoch_shuffle"]
  L.append(f"2. One epoch = {seg['updates']} updates x {seg['members']} members in "
           f"{seg['calls']} segment call(s): {seg['best_s']:.3f} s best / {seg['median_s']:.3f} "
           f"s median ({seg['best_s'] / seg['updates'] * 1e3:.2f} ms per update); its epoch "
           f"shuffle alone {sh['best_s']:.3f} s. A hand-written vmapped SGD scan (same model "
           f"and shapes, no shuffle / mask / statistics): {ref['best_s']:.3f} s = "
           f"{ref['flops'] / ref['best_s'] / 1e9 / mm['gflops']:.1%} of the rate. Jitted fp32 "
           f"matmul {mm['n']}^2: {mm['gflops']:.1f} GFLOP/s (best of {mm['reps']})"
           + (f"; torch.mm, same size: {tr['matmul']['gflops']:.1f} GFLOP/s." if tr else "."))
  g = j["generation"]
  L.append(f"3. registry.build in the run: {g['call_s']:.3f} s, of which compile / cache load "
           f"{g['compile_s']:.3f} s; warm {g['warm']['best_s']:.3f} s best / "
           f"{g['warm']['median_s']:.3f} s median. End-to-end data phase: cold "
           f"{cold['parts']['data']['s']:.2f} s, warm {warm['parts']['data']['s']:.2f} s.")
  c, r = j["checks"], j["run"]
  L.append(f"4. In-process run, stop_rule='acc' (eps {r['stop_eps']:g}), full_check="
           f"'{r['full_check']}', max_epochs {r['max_epochs']}: {c['epochs']:.0f} epochs, "
           f"{r['converged_mean']:.0%} of members converged (mean {r['updates_mean']:.0f} "
           f"updates). Checks {c['check_s']:.3f} s of {c['training_s']:.3f} s training "
           f"(segments {c['segment_s']:.3f} s; compile {c['compile_in_fit_s']:.2f} s left "
           f"out). Warm: one full check {c['one_full']['best_s']:.3f} s "
           f"({c['one_full']['best_s'] / seg['best_s']:.0%} of an epoch's segments), one "
           f"running check {c['one_running']['best_s']:.3f} s.")
  e = j["evaluation"]
  L.append(f"5. First call (in the run) {e['first_call_s']:.2f} s, of which compile "
           f"{e['first_compile_s']:.2f} s; second call {e['second_call_s']:.2f} s, of which "
           f"{e['second_compile_s']:.2f} s trace / lower / compile (`evaluators.evaluate` builds "
           f"a new jit per call) and {e['second_execution_s']:.3f} s execution.")
  kinds = lambda run: (f"trace {run['compile']['trace']:.2f} s, lower "
                       f"{run['compile']['lower']:.2f} s, compile / load "
                       f"{run['compile']['compile']:.2f} s over {run['compile']['programs']} "
                       f"programs ({run['compile']['cache_hits']} persistent-cache hits)")
  L.append(f"6. Warm run: {kinds(warm)}. Cold run: {kinds(cold)}; total "
           f"{cold['compile']['total_s']:.2f} s. Largest in the warm run: " + ", ".join(
               f"{name} {s:.2f} s" for name, s in warm["compile"]["largest"])
           + f". In-process (items 2-5, same cache): {sum(j['compile_in_run'].values()):.2f} s.")

  L += ["", "Where the seconds of the end-to-end runs go (work directory: results.json timing, "
        "metrics.jsonl, file times, log.txt compile lines):", "",
        "| part | cold cache (s) | of which compile | warm cache (s) | of which compile |",
        "|---|---|---|---|---|"]
  names = {"startup": "start-up: interpreter, imports, config (launch to config.json)",
           "data": "data generation", "train": "training (member init, fit loop, checkpoint)",
           "eval": "evaluation", "figures": "figures and bookkeeping of the cell (matplotlib)",
           "write": "results.json / .csv, report.md", "exit": "summary, interpreter exit"}
  for key, name in names.items():
    pc, pw = cold["parts"][key], warm["parts"][key]
    L.append(f"| {name} | {pc['s']:.2f} | {pc['compile_s']:.2f} | {pw['s']:.2f} | "
             f"{pw['compile_s']:.2f} |")
    if key == "train":
      for sub, label in (("first_epoch_s", "first epoch (segment + check, incl. compile)"),
                         ("later_epochs_s", "later epochs"),
                         ("init_and_checkpoint_s", "member init + final checkpoint")):
        L.append(f"| &nbsp;&nbsp;{label} | {cold['train_split'][sub]:.2f} | | "
                 f"{warm['train_split'][sub]:.2f} | |")
  L.append(f"| total (process wall) | {cold['wall_s']:.2f} | {cold['compile']['total_s']:.2f} "
           f"| {warm['wall_s']:.2f} | {warm['compile']['total_s']:.2f} |")
  L.append("")
  s = warm["summary"]
  L.append(f"- Sanity (warm run): test AUC {s.get('test_auc', float('nan')):.3f}, S-rand AUC "
           f"{s.get('s_rand_auc', float('nan')):.3f}, S^c-rand AUC "
           f"{s.get('sc_rand_auc', float('nan')):.3f}, test acc "
           f"{s.get('test_acc', float('nan')):.4f}"
           + (f"; PyTorch mean test acc {tr['test_acc_mean']:.4f}." if tr else "."))
  cpu = out["cpu_by_phase"]
  L.append(f"- Contention (CPU time of other processes during each phase, in cores on average; "
           f"{os.cpu_count()} = the whole machine): " + ", ".join(
               f"{k} {v['other_cores_avg']:.2f}" for k, v in cpu.items())
           + "; 1-min load average at phase ends: " + ", ".join(
               f"{k} {v['load1_end']:.2f}" for k, v in cpu.items()) + ".")
  return "\n".join(L)


def main(argv=None):
  args = parse_args(argv)
  if args.torch_child:
    torch_child(args)
    return 0
  # Before JAX is imported here; the subprocesses run before this process takes a device.
  os.environ["JAX_PLATFORMS"] = args.platform
  tmp = tempfile.mkdtemp(prefix="bench_lms5_")
  cache_dir = os.path.join(tmp, "compilation_cache")
  out = {"args": vars(args), "tmp": tmp, "end_to_end": {}}
  cpu = out["cpu_by_phase"] = {}
  try:
    for key in ("cold", "warm"):
      with Phase(f"jax_{key}", cpu):
        out["end_to_end"][key] = run_end_to_end(args, os.path.join(tmp, key), cache_dir)
      print(f"[bench] launch/train.py, {key} cache: {out['end_to_end'][key]['wall_s']:.2f} s",
            flush=True)
    if args.torch_seeds:
      with Phase("torch", cpu):
        out["torch"] = run_torch_process(args)
      print(f"[bench] PyTorch process: {out['torch']['end_to_end_s']:.2f} s", flush=True)
    with Phase("jax_in_process", cpu):
      compile_cache.enable(cache_dir)  # the end-to-end runs' cache: most programs load from it
      meter = CompileMeter()
      out["matmul_jax"] = jax_matmul_gflops(args.matmul_n, args.matmul_reps)
      out["jax_in_process"] = jax_in_process(args, meter)
    print("[bench] in-process measurements done", flush=True)
  finally:
    if not args.keep_tmp:
      shutil.rmtree(tmp, ignore_errors=True)
  out["machine"] = machine_info()
  steps = args.num_train // args.batch_size
  out["train_flops"] = sgd_flops(fcn_forward_flops(),
                                 steps * args.batch_size * args.epochs * args.seeds)
  out["targets"] = targets(out)
  out["report"] = report(out)
  print()
  print(out["report"])
  if args.keep_tmp:
    print(f"\n[bench] work directories and cache kept in {tmp}")
  if args.json_out:
    os.makedirs(os.path.dirname(os.path.abspath(args.json_out)), exist_ok=True)
    with open(args.json_out, "w") as f:
      json.dump(out, f, indent=1)
    print(f"\n[bench] wrote {args.json_out}")
  return 0


if __name__ == "__main__":
  sys.exit(main())
