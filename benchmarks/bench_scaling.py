r"""How the cost of an LMS-5 sweep grows with the number of members and the training-set size.

  python benchmarks/bench_scaling.py --out=benchmarks/scaling.json --plot=benchmarks/scaling.png
  python benchmarks/bench_scaling.py --members=1,4 --num_train=10000 --epochs=1   # quick look

Each point runs in a fresh process (so its peak memory is its own): LMS-5 (d = 50, 10% val and
test sizes of the training set, capped at 10k), (100,2)-FCN, SGD, batch 256, ``--epochs`` fixed
epochs through ``simplicity_bias.pipeline.run`` with the default evaluation off except S/S^c
(``evals=('sb',)``). Reported per point: the wall time of data generation, training (excluding
the first epoch, which includes compilation: time per epoch after it) and evaluation, and the
process's peak resident memory (``ru_maxrss``). The fit of memory against members gives the
per-member memory and the member count at which this machine's memory would be full.
"""

import argparse
import json
import os
import subprocess
import sys
import time

_CHILD = "--child"


def child(members: int, num_train: int, epochs: int):
  import resource
  from simplicity_bias import pipeline
  from simplicity_bias.configs import load_config
  config = load_config("lms5")
  config.unlock()
  held_out = min(10_000, max(1_000, num_train // 10))
  config.num_seeds = members
  config.data.num_train, config.data.num_val, config.data.num_test = num_train, held_out, held_out
  config.train.stop_rule = "none"
  config.train.max_epochs = epochs
  config.evals = ("sb",)
  config.progress = False
  times = []
  real_fit = pipeline.fit

  def timed_fit(*args, on_eval=None, **kwargs):
    def record(r):
      times.append(time.perf_counter())
      if on_eval is not None:
        on_eval(r)
    times.append(time.perf_counter())
    return real_fit(*args, on_eval=record, **kwargs)

  pipeline.fit = timed_fit
  start = time.perf_counter()
  results = pipeline.run(config, "", progress=False)
  wall = time.perf_counter() - start
  timing = results["rows"][0]["timing"]
  epochs_after_first = [b - a for a, b in zip(times[1:], times[2:])]
  print(json.dumps({
      "members": members, "num_train": num_train, "epochs": epochs, "wall_s": wall,
      "data_s": timing["data_s"], "train_s": timing["train_s"], "eval_s": timing["eval_s"],
      "first_epoch_s": times[1] - times[0] if len(times) > 1 else None,
      "epoch_s": (sum(epochs_after_first) / len(epochs_after_first)
                  if epochs_after_first else None),
      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def main():
  p = argparse.ArgumentParser()
  p.add_argument("--members", default="1,4,16,64,256")
  p.add_argument("--num_train", default="10000,100000,1000000")
  p.add_argument("--fixed_members", type=int, default=16, help="members of the n sweep")
  p.add_argument("--fixed_train", type=int, default=100_000, help="n of the members sweep")
  p.add_argument("--epochs", type=int, default=3)
  p.add_argument("--out", default="")
  p.add_argument("--plot", default="")
  p.add_argument(_CHILD, nargs=3, type=int)
  args = p.parse_args()
  if args.child:
    child(*args.child)
    return
  points = [(int(m), args.fixed_train) for m in args.members.split(",")]
  points += [(args.fixed_members, int(n)) for n in args.num_train.split(",")
             if (args.fixed_members, int(n)) not in points]
  rows = []
  env = {**os.environ, "JAX_PLATFORMS": os.environ.get("JAX_PLATFORMS", "cpu")}
  for members, num_train in points:
    proc = subprocess.run([sys.executable, __file__, _CHILD, str(members), str(num_train),
                           str(args.epochs)], capture_output=True, text=True, env=env)
    if proc.returncode:
      print(f"members={members} n={num_train}: failed: {proc.stderr[-500:]}", flush=True)
      rows.append({"members": members, "num_train": num_train, "failed": proc.stderr[-300:]})
      continue
    row = json.loads(proc.stdout.strip().splitlines()[-1])
    rows.append(row)
    print(json.dumps(row), flush=True)
  from simplicity_bias.report.machine import describe, load1
  out = {"machine": describe(), "load1_end": load1(), "rows": rows}
  ok = [r for r in rows if "failed" not in r and r["num_train"] == args.fixed_train]
  if len(ok) >= 2:
    import numpy as np
    m = np.array([r["members"] for r in ok], float)
    mem = np.array([r["peak_rss_mb"] for r in ok])
    slope, intercept = np.polyfit(m, mem, 1)
    total_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2 ** 20
    out["per_member_mb"] = slope
    out["base_mb"] = intercept
    out["members_to_fill_memory"] = int((total_mb - intercept) / slope)
    ep = np.array([r["epoch_s"] for r in ok])
    out["epoch_s_per_member"] = float(np.polyfit(m, ep, 1)[0])
    print(f"memory: {intercept:.0f} MB + {slope:.1f} MB per member; {total_mb / 1024:.0f} GB "
          f"full at ~{out['members_to_fill_memory']} members")
  if args.out:
    with open(args.out, "w") as f:
      json.dump(out, f, indent=1)
  if args.plot:
    plot(rows, args, args.plot)


def plot(rows, args, path):
  import matplotlib
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt
  ok = [r for r in rows if "failed" not in r]
  fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
  for ax, key, fixed, label in ((axes[0], "members", ("num_train", args.fixed_train), "members"),
                                (axes[1], "num_train", ("members", args.fixed_members),
                                 "training examples")):
    sel = sorted((r for r in ok if r[fixed[0]] == fixed[1]), key=lambda r: r[key])
    x = [r[key] for r in sel]
    ax.loglog(x, [r["epoch_s"] for r in sel], "o-", label="s per epoch (after compile)")
    ax.loglog(x, [r["peak_rss_mb"] / 1024 for r in sel], "s--", label="peak memory (GB)")
    ax.set_xlabel(label)
    ax.set_title(f"{fixed[0]} = {fixed[1]}")
    ax.grid(alpha=0.3, which="both")
  axes[0].legend(fontsize=8)
  fig.suptitle("LMS-5 sweep: cost vs members and training-set size")
  fig.savefig(path, dpi=110, bbox_inches="tight")


if __name__ == "__main__":
  main()
