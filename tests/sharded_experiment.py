"""Run as a script with 8 fake CPU devices: trains the MNIST-CIFAR smoke config (generated mock
data) through ``pipeline.run_cell`` once on 1 device and once data-parallel over 8, and prints
the largest difference of their test scores as JSON (used by tests/test_sharding.py; XLA_FLAGS
must be set before jax is imported)."""

import json
import os
import sys

os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=8"
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from conftest import smoke_config  # noqa: E402
from simplicity_bias import pipeline  # noqa: E402
from simplicity_bias.experiments import mnist_cifar  # noqa: E402
from simplicity_bias.report.run import RunWriter  # noqa: E402


def main():
  assert jax.device_count() == 8, jax.devices()
  out = {}
  for devices in (1, 8):
    # 96 training images split evenly over 8 devices; one epoch of 2 updates at a small rate
    # (BatchNorm on tiny batches amplifies rounding differences ~10x per update at lr .01, see
    # sharded_training.py; a wrong batch split would still show through the BN statistics).
    config = smoke_config("mnist_cifar", num_devices=devices,
                          **{"data.num_train": 96, "train.max_epochs": 1, "train.batch_size": 48,
                             "optim.learning_rate": 1e-3})
    [cell] = mnist_cifar.cells(config)
    outcome = pipeline.run_cell(cell.config, RunWriter("", cell.config), cell.label,
                                progress=False)
    mesh = outcome.trainer.mesh
    out[devices] = {"scores": {k: np.asarray(v) for k, v in outcome.evals["scores"].items()},
                    "devices": 1 if mesh is None else mesh.size,
                    "num_train": outcome.trainer.num_train,
                    "updates": np.asarray(outcome.history[-1]["num_updates"]).tolist(),
                    "test_auc": np.asarray(outcome.evals["test_auc"]).tolist()}
  scores = {k: float(np.max(np.abs(out[1]["scores"][k] - out[8]["scores"][k])))
            for k in out[1]["scores"]}
  json.dump({"max_score_diff": scores, "devices": [out[d]["devices"] for d in (1, 8)],
             "num_train": [out[d]["num_train"] for d in (1, 8)],
             "updates": [out[d]["updates"] for d in (1, 8)],
             "score_scale": float(np.max(np.abs(out[1]["scores"]["test"]))),
             "test_auc": [out[d]["test_auc"] for d in (1, 8)]}, sys.stdout)


if __name__ == "__main__":
  main()
