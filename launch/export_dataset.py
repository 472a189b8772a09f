r"""Writes a synthetic dataset to ``.npz`` for use outside this project.

  python launch/export_dataset.py --config=configs/lms5.py --output=lms5.npz [--member=0]

Arrays: ``x_train, y_train, x_val, y_val, x_test, y_test`` (x = latent @ rotation),
``rotation`` (identity when rotation is off), ``simple_coords``, ``complex_coords`` (latent
indices). ``--member`` picks one member of the config's grid points x seeds (grid-point major),
exactly the dataset that member trains on in ``launch/train.py``.
"""

import io
import os
import sys

from absl import app, flags

from simplicity_bias.configs import absl_parser, data_dir_flag_help
from simplicity_bias.validation import ConfigError

_OUTPUT = flags.DEFINE_string("output", None, "Output .npz path.")
_MEMBER = flags.DEFINE_integer("member", 0, "Which member (grid point x seed) to export.")
flags.DEFINE_string("config", None, "Config file, configs/<claim>.py[:preset].")
_DATA_DIR = flags.DEFINE_string("data_dir", None, data_dir_flag_help() + " (This script "
                                "exports synthetic datasets only, which ignore it.)")
_ARGS = {}


def export(config, member: int):
  """Returns the dict of arrays for one member of the config's sweep."""
  import jax
  import numpy as np
  from simplicity_bias.data import synthetic
  from simplicity_bias.data.registry import source_name
  from simplicity_bias.data.synthetic_source import spec_and_params
  from simplicity_bias.members import Layout, Purpose
  from simplicity_bias.pipeline import layout_of
  if source_name(config) != "synthetic":
    raise ConfigError(f"data.source={source_name(config)!r}: only synthetic datasets are "
                      "exported (image datasets are read from their own files).")
  spec, points, params = spec_and_params(config)
  layout = layout_of(config, len(points))
  if not 0 <= member < layout.num_members:
    raise ConfigError(f"--member={member} is out of range; this config has {layout.num_members} "
                      f"members ({len(points)} grid points x {config.num_seeds} seeds).")
  key = Layout(layout.seeds, layout.num_points).keys(Purpose.DATA)[member]
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
  import numpy as np
  from simplicity_bias.configs import resolve
  from simplicity_bias.report.console import quiet_console
  from simplicity_bias.report.results import readable_mode
  quiet_console()
  try:
    if not _OUTPUT.value:
      raise ConfigError("--output is required: the .npz file to write.")
    config = resolve(_ARGS, data_dir=_DATA_DIR.value)
    arrays = export(config, _MEMBER.value)
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
  os.chmod(tmp, readable_mode())
  os.replace(tmp, out)
  print(f"wrote {out}: " + ", ".join(f"{k} {v.shape}" for k, v in arrays.items()))
  return 0


if __name__ == "__main__":
  app.run(lambda argv: sys.exit(main(argv)), flags_parser=absl_parser(_ARGS))
