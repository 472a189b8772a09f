"""Run as a script with 8 fake CPU devices: trains the MNIST-CIFAR smoke config (tfds mock data,
scikit-learn digits) once on 1 device and once data-parallel over 8, and prints the largest
difference of their test scores as JSON (used by tests/test_sharding.py; XLA_FLAGS must be set
before jax is imported)."""

import json
import os
import sys

os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=8"
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_mnist_cifar import mock_tfds, smoke_config  # noqa: E402
from simplicity_bias.experiments import mnist_cifar  # noqa: E402


def main(data_dir):
  assert jax.device_count() == 8, jax.devices()
  out = {}
  for devices in (1, 8):
    # 96 training images split evenly over 8 devices; one epoch of 2 updates at a small rate
    # (BatchNorm on tiny batches amplifies rounding differences ~10x per update at lr .01, see
    # sharded_training.py; a wrong batch split would still show through the BN statistics).
    config = smoke_config("mnist_cifar", data_dir, num_devices=devices,
                          **{"data.num_train": 96, "train.max_epochs": 1, "train.batch_size": 48,
                             "optim.learning_rate": 1e-3})
    with mock_tfds():
      dataset = mnist_cifar.load_dataset(config)
    out[devices] = mnist_cifar.train_cell(config, dataset, label="sharded", progress=False)
  scores = {k: float(np.max(np.abs(out[1]["scores"][k] - out[8]["scores"][k])))
            for k in out[1]["scores"]}
  json.dump({"max_score_diff": scores, "devices": [out[1]["devices"], out[8]["devices"]],
             "num_train": [out[1]["num_train"], out[8]["num_train"]],
             "score_scale": float(np.max(np.abs(out[1]["scores"]["test"]))),
             "test_auc": [out[d]["per_seed"]["test_auc"].tolist() for d in (1, 8)]}, sys.stdout)


if __name__ == "__main__":
  main(sys.argv[1])
