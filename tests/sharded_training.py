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
  # One epoch of 4 updates: BatchNorm on tiny random batches is chaotic, and rounding
  # differences (~1e-7 after one update) grow ~10x per update at larger learning rates.
  spec = TrainSpec(batch_size=32, max_epochs=1, stop_rule="none", eval_every=2,
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
  states, history = fit(trainer, states, x, y, xv, yv, progress=False)
  return jax.device_get((states.params, states.model_state)), history


def main():
  assert jax.device_count() == 8, jax.devices()
  rng = np.random.default_rng(0)
  x = rng.uniform(size=(128, 32, 32, 3)).astype(np.float32)
  y = (x[:, :16].mean(axis=(1, 2, 3)) > x[:, 16:].mean(axis=(1, 2, 3))).astype(np.int32)
  xv, yv = x[:64], y[:64]
  single, h1 = train(None, x, y, xv, yv)
  sharded, h8 = train(distributed.make_data_mesh(), x, y, xv, yv)
  diffs = [float(np.max(np.abs(np.asarray(a) - np.asarray(b))))
           for a, b in zip(jax.tree_util.tree_leaves(single), jax.tree_util.tree_leaves(sharded))]
  scale = max(float(np.max(np.abs(np.asarray(a)))) for a in jax.tree_util.tree_leaves(single))
  json.dump({"max_abs_diff": max(diffs), "param_scale": scale,
             "train_loss_1": h1[-1]["train_loss"], "train_loss_8": h8[-1]["train_loss"],
             "devices": jax.device_count()}, sys.stdout)


if __name__ == "__main__":
  main()
