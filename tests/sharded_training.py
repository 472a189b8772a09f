"""Run as a script with 8 fake CPU devices: trains the same small BatchNorm CNN on 1 device and
data-parallel over 8, and prints the largest parameter difference as JSON (used by
tests/test_sharding.py; XLA_FLAGS must be set before jax is imported)."""

import json
import os
import sys

os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=8"
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
import numpy as np  # noqa: E402

from simplicity_bias.models import get_model  # noqa: E402
from simplicity_bias.train import distributed  # noqa: E402
from simplicity_bias.train.loop import Trainer, TrainSpec, fit, init_members  # noqa: E402
from simplicity_bias.train.optimizers import make_optimizer  # noqa: E402


def train(mesh, x, y, xv, yv):
  model = get_model("resnet18", base_width=4)
  # One epoch of 2 updates, a check after each: BatchNorm on tiny random batches is chaotic,
  # and rounding differences (~1e-7 after one update) grow ~10x per update (4 updates of 32
  # reached 6e-4, the size of a real error, with jax 0.10).
  spec = TrainSpec(batch_size=64, max_epochs=1, stop_rule="none", eval_every=1,
                   eval_batch_size=64, select="last")
  trainer = Trainer(model, make_optimizer("sgd", 0.01, momentum=0.9, weight_decay=5e-4), spec,
                    x.shape[0], shared_data=True, mesh=mesh)
  keys = jax.random.split(jax.random.key(0), 2)  # two seeds, each data-parallel
  if mesh is not None:
    x, y = distributed.place_examples(mesh, x), distributed.place_examples(mesh, y)
    xv, yv = distributed.place_examples(mesh, xv), distributed.place_examples(mesh, yv)
  states = init_members(trainer, keys, x)
  if mesh is not None:
    states = distributed.replicate(mesh, states)
  init = jax.device_get(states.params)
  states, history = fit(trainer, states, x, y, xv, yv, progress=False)
  return jax.device_get((states.params, states.model_state)), init, history


def main():
  assert jax.device_count() == 8, jax.devices()
  rng = np.random.default_rng(0)
  x = rng.uniform(size=(128, 32, 32, 3)).astype(np.float32)
  y = (x[:, :16].mean(axis=(1, 2, 3)) > x[:, 16:].mean(axis=(1, 2, 3))).astype(np.int32)
  xv, yv = x[:64], y[:64]
  single, init, h1 = train(None, x, y, xv, yv)
  sharded, _, h8 = train(distributed.make_data_mesh(), x, y, xv, yv)
  leaves = jax.tree_util.tree_leaves
  diffs = [float(np.max(np.abs(np.asarray(a) - np.asarray(b))))
           for a, b in zip(leaves(single), leaves(sharded))]
  scale = max(float(np.max(np.abs(np.asarray(a)))) for a in leaves(single))
  # How far training moved the parameters: a wrong batch split (or per-device BatchNorm
  # statistics) would move them differently by a fraction of this.
  update = max(float(np.max(np.abs(np.asarray(a) - np.asarray(b))))
               for a, b in zip(leaves(single[0]), leaves(init)))
  json.dump({"max_abs_diff": max(diffs), "param_scale": scale, "max_update": update,
             "checks": [len(h1), len(h8)],
             "train_loss_1": h1[-1]["train_loss"], "train_loss_8": h8[-1]["train_loss"],
             "devices": jax.device_count()}, sys.stdout)


if __name__ == "__main__":
  main()
