r"""Writes a synthetic dataset to ``.npz`` for use outside this project.

  python launch/export_dataset.py --config=configs/lms5.py --output=lms5.npz [--member=0]

Arrays: ``x_train, y_train, x_val, y_val, x_test, y_test`` (x = latent @ rotation),
``rotation`` (identity when rotation is off), ``simple_coords``, ``complex_coords`` (latent
indices). ``--member`` picks one member of the config's seeds x grid (grid-point major), exactly
the dataset that member trains on in ``launch/train.py``.
"""

import io
import os
import sys

import jax
import numpy as np
from absl import app, flags
from ml_collections import config_flags

from simplicity_bias.data import synthetic
from simplicity_bias.experiments import synthetic_sb
from simplicity_bias.validation import ConfigError

_CONFIG = config_flags.DEFINE_config_file("config", None, "Experiment config file.",
                                          lock_config=True)
_OUTPUT = flags.DEFINE_string("output", None, "Output .npz path.")
_MEMBER = flags.DEFINE_integer("member", 0, "Which member (grid point x seed) to export.")
flags.mark_flags_as_required(["config", "output"])


def export(config, member: int):
  """Returns the dict of arrays for one member of the config's sweep."""
  spec, points, params, _, _ = synthetic_sb.validate(config)
  num_members = len(points) * config.num_seeds
  if not 0 <= member < num_members:
    raise ConfigError(f"--member={member} is out of range; this config has {num_members} members "
                      f"({len(points)} grid points x {config.num_seeds} seeds).")
  keys, _ = synthetic_sb.member_keys(config, len(points))
  key = jax.random.fold_in(keys[member], synthetic_sb._DATA)
  data = jax.jit(lambda k, p: synthetic.make_dataset(spec, k, p))(
      key, params[member // config.num_seeds])
  arrays = {k: np.asarray(v) for k, v in data._asdict().items()}
  arrays["y_train"], arrays["y_val"], arrays["y_test"] = (
      arrays[k].astype(np.int8) for k in ("y_train", "y_val", "y_test"))
  arrays["simple_coords"] = np.array(spec.simple_coords, np.int64)
  arrays["complex_coords"] = np.array(spec.complex_coords, np.int64)
  return arrays


def main(argv):
  del argv
  try:
    arrays = export(_CONFIG.value, _MEMBER.value)
  except ConfigError as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  out = os.path.abspath(_OUTPUT.value)
  os.makedirs(os.path.dirname(out), exist_ok=True)
  buffer = io.BytesIO()
  np.savez_compressed(buffer, **arrays)
  tmp = out + ".tmp"
  with open(tmp, "wb") as f:
    f.write(buffer.getvalue())
  os.replace(tmp, out)
  print(f"wrote {out}: " + ", ".join(f"{k} {v.shape}" for k, v in arrays.items()))
  return 0


if __name__ == "__main__":
  app.run(lambda argv: sys.exit(main(argv)))
