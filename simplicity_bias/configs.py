"""Config files and command-line overrides, with one-sentence errors.

``configs/<name>.py`` defines ``get_config()`` (the paper's setting) and ``PRESETS``, a table
``{name: settings}``; ``path[:preset]`` applies one preset's settings (nested sections, field by
field; a section wrapped in :class:`Whole` replaces the config's section whole) to the config.
``--config.FIELD=VALUE`` overrides a field of the (locked) config: the value is parsed by the
field's type (bool, int, float, str, tuples / lists as Python literals), so a misspelled field or
a value of the wrong type is reported with the field's name, not a traceback.
"""

import ast
import difflib
import importlib.util
import os
from typing import Any, Dict, List, Mapping, Sequence, Tuple

import ml_collections

from simplicity_bias.validation import ConfigError

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG_DIR = os.path.join(REPO, "configs")


_LOADED = {}


class Whole(dict):
  """A preset section that replaces the config's section whole (not field by field)."""


def merge(*tables: Mapping) -> Dict[str, Any]:
  """The nested settings of ``tables`` combined, a later table's field winning (a shared
  fragment first, then what one preset changes of it)."""
  out: Dict[str, Any] = {}
  for table in tables:
    for key, value in table.items():
      if (isinstance(value, Mapping) and not isinstance(value, Whole)
          and isinstance(out.get(key), Mapping) and not isinstance(out[key], Whole)):
        out[key] = merge(out[key], value)
      else:
        out[key] = value
  return out


def apply_preset(config: ml_collections.ConfigDict, settings: Mapping, where: str,
                 prefix: str = "") -> None:
  """Sets ``settings`` (nested sections) on ``config``; a field the config lacks raises
  (``where`` names the preset in the error)."""
  for key, value in settings.items():
    if key not in config:
      raise ConfigError(f"{where} sets {prefix}{key}, which the config lacks; "
                        f"{prefix.rstrip('.') or 'the config'} has {', '.join(sorted(config))}.")
    if (isinstance(value, Mapping) and not isinstance(value, Whole)
        and isinstance(config[key], ml_collections.ConfigDict)):
      apply_preset(config[key], value, where, f"{prefix}{key}.")
    else:
      config[key] = dict(value) if isinstance(value, Whole) else value


def config_path(name: str) -> str:
  """``configs/<name>.py`` of this checkout."""
  return os.path.join(CONFIG_DIR, f"{name}.py")


def load_module(path: str):
  """The module of a config file (a path, or a bare name in ``configs/``)."""
  if not path.endswith(".py") and os.sep not in path:
    path = config_path(path)
  if not os.path.isfile(path):
    available = sorted(f[:-3] for f in os.listdir(CONFIG_DIR) if f.endswith(".py"))
    raise ConfigError(f"config file {path} does not exist; the configs are "
                      f"{', '.join(available)} in {CONFIG_DIR}.")
  # One module per file version and process: a one-file experiment is loaded as its config and
  # again as its experiment, and what it registers (an objective, an evaluator) must run once.
  stat = os.stat(path)
  key = (os.path.abspath(path), stat.st_mtime_ns, stat.st_size)
  if key not in _LOADED:
    name = os.path.splitext(os.path.basename(path))[0]
    module_spec = importlib.util.spec_from_file_location(f"configs_{name}", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    _LOADED[key] = module
  return _LOADED[key]


def presets(module) -> Dict[str, Mapping]:
  """A config module's preset table (``{}`` when it defines none)."""
  return dict(getattr(module, "PRESETS", {}))


def load_config(spec: str, preset: str = None) -> ml_collections.ConfigDict:
  """Loads ``path/to/file.py[:preset]`` (or a bare config name): ``get_config()`` with the
  preset's settings applied."""
  path, _, inline = spec.partition(":")
  preset = inline if preset is None else preset
  module = load_module(path)
  full = os.path.abspath(path if path.endswith(".py") or os.sep in path else config_path(path))
  name = os.path.relpath(full, REPO) if full.startswith(REPO + os.sep) else full
  table = presets(module)
  if preset and preset not in table:
    raise ConfigError(f"unknown preset {preset!r} for {name}; valid: "
                      f"{', '.join(table) or 'none (the file defines no PRESETS)'}.")
  try:
    config = module.get_config()
  except ConfigError:
    raise
  except ValueError as e:
    raise ConfigError(f"{name}: {e}") from None
  if preset:
    apply_preset(config, table[preset], f"preset {preset!r} of {name}")
  config.lock()
  return config


def _field_type(node: ml_collections.ConfigDict, leaf: str):
  value = node[leaf]
  if value is None:
    try:
      return node.get_ref(leaf).get_type()
    except (AttributeError, KeyError):
      return None
  return type(value)


def parse_value(text: str, kind, path: str):
  """``text`` as a value for a field of type ``kind``."""
  try:
    if kind is bool:
      lowered = text.strip().lower()
      if lowered not in ("true", "false", "1", "0"):
        raise ValueError
      return lowered in ("true", "1")
    if kind is int:
      return int(text)
    if kind is float:
      return float(text)
    if kind is str:
      return text
    if kind in (tuple, list):
      value = ast.literal_eval(text)
      if isinstance(value, (int, float, str)):
        value = (value,)
      return kind(value)
    try:
      return ast.literal_eval(text)
    except (ValueError, SyntaxError):
      return text
  except (ValueError, SyntaxError):
    expected = {bool: "True or False", int: "an integer", float: "a number",
                tuple: "a tuple such as (1, 2)", list: "a list such as [1, 2]"}.get(kind, kind)
    raise ConfigError(f"--config.{path}={text}: expected {expected}.") from None


def apply_override(config: ml_collections.ConfigDict, path: str, text: str) -> None:
  """Sets ``config.<path>`` from its command-line text; ConfigError names the field."""
  *parents, leaf = path.split(".")
  node, where = config, "config"
  for p in parents + [leaf]:
    if not isinstance(node, ml_collections.ConfigDict) or p not in node:
      keys = list(node.keys()) if isinstance(node, ml_collections.ConfigDict) else []
      close = difflib.get_close_matches(p, keys, n=1)
      hint = (f"; did you mean {close[0]!r}?" if close else
              f"; its fields are {', '.join(sorted(keys))}." if keys else ".")
      raise ConfigError(f"--config.{path}: {where} has no field {p!r}{hint}")
    if p != leaf:
      node, where = node[p], f"{where}.{p}"
  kind = _field_type(node, leaf)
  value = parse_value(text, kind, path)
  try:
    node[leaf] = value
  except (TypeError, ValueError) as e:
    raise ConfigError(f"--config.{path}={text}: {e}") from None


def split_config_args(argv: Sequence[str]) -> Tuple[str, List[Tuple[str, str]], List[str]]:
  """(``--config`` value, ``[(field path, text)]`` overrides, the remaining arguments)."""
  spec, overrides, rest = None, [], []
  args = list(argv)
  i = 0
  while i < len(args):
    arg = args[i]
    if arg.startswith("--config=") or arg == "--config":
      if arg == "--config":
        i += 1
        spec = args[i] if i < len(args) else ""
      else:
        spec = arg.split("=", 1)[1]
    elif arg.startswith("--config."):
      body = arg[len("--config."):]
      if "=" in body:
        path, text = body.split("=", 1)
      else:
        i += 1
        path, text = body, args[i] if i < len(args) else ""
      overrides.append((path, text))
    else:
      rest.append(arg)
    i += 1
  return spec, overrides, rest


def config_from_argv(argv: Sequence[str]) -> Tuple[ml_collections.ConfigDict, List[str]]:
  """The config named by ``--config=`` with every ``--config.FIELD=VALUE`` applied."""
  spec, overrides, rest = split_config_args(argv)
  if not spec:
    raise ConfigError("--config is required: --config=configs/<claim>.py[:preset].")
  config = load_config(spec)
  for path, text in overrides:
    apply_override(config, path, text)
  return config, rest


def absl_parser(store: dict = None):
  """``flags_parser`` for ``absl.app.run``, shared by every launcher: absl parses its own flags
  (a bad one exits 2 with one line; ``--help`` / ``--helpfull`` print the usage and exit 0),
  and, given a ``store``, ``--config`` plus its ``--config.FIELD=VALUE`` overrides go into it
  (``spec``, ``overrides``) for :func:`resolve`."""

  def parse(argv):
    import sys
    from absl import flags
    rest = argv[1:]
    if store is not None:
      spec, overrides, rest = split_config_args(rest)
      store.update(spec=spec, overrides=overrides)
    try:
      return flags.FLAGS([argv[0]] + rest)
    except flags.Error as e:
      print(f"error: {e}", file=sys.stderr)
      sys.exit(2)
    except SystemExit as e:
      # absl's help flags print the usage and exit 1 (its parse errors are flags.Error, above):
      # asking for help is not a failure.
      sys.exit(0 if e.code == 1 else e.code)

  return parse


def data_dir_flag_help() -> str:
  """The ``--data_dir`` help of a launcher that takes a config."""
  from simplicity_bias.data.store import data_dir_order
  return ("Directory of the prepared image datasets (launch/build_datasets.py writes it), for "
          "the configs that read data from files (data.data_dir); a config that generates its "
          f"data ignores it. First set wins: {data_dir_order()}.")


def apply_data_dir(config: ml_collections.ConfigDict, data_dir: str) -> bool:
  """Sets ``config.data.data_dir`` to ``--data_dir`` (made absolute; ``mock``, the generated
  data, stays as it is); False, changing nothing, for a config that generates its data (no
  ``data.data_dir`` field) or an empty ``data_dir``."""
  from simplicity_bias.data.mock import is_mock
  data = config.get("data")
  if not data_dir or not isinstance(data, ml_collections.ConfigDict) or "data_dir" not in data:
    return False
  data.data_dir = data_dir if is_mock(data_dir) else os.path.abspath(os.path.expanduser(data_dir))
  return True


def resolve(store: dict, data_dir: str = None) -> ml_collections.ConfigDict:
  """The config of a command line parsed by :func:`absl_parser`. ``data_dir`` (``--data_dir``)
  is applied before the overrides, so an explicit ``--config.data.data_dir`` wins over it; an
  empty ``data.data_dir`` is resolved when the data is read (``simplicity_bias.data.store.resolve_data_dir``)."""
  if not store.get("spec"):
    raise ConfigError("--config is required: --config=configs/<claim>.py[:preset].")
  config = load_config(store["spec"])
  if data_dir and not apply_data_dir(config, data_dir):
    import sys
    print(f"note: --data_dir is ignored: {store['spec']} generates its data.", file=sys.stderr)
  for path, text in store["overrides"]:
    apply_override(config, path, text)
  return config
