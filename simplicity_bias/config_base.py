"""The base configs every ``configs/<claim>.py`` starts from (one for vectors, one for images).

Fields every run has: ``experiment``, ``seed``, ``num_seeds``, ``progress``, ``resume`` /
``overwrite`` (what to do with a non-empty work directory), ``checkpoint_every_s``, ``data``,
``model``, ``objective``, ``optim``, ``train``, ``evals`` (evaluator names) and ``eval``
(their options). A config file sets the paper's values for its claim and its presets.
"""

import ml_collections
from ml_collections import config_dict

from simplicity_bias.data import synthetic

# Every vector model's fields at their defaults, so any of them can be picked on the command line
# (--config.model.name=cnn1d --config.model.filters=16); a model ignores the others, which must
# then stay at these defaults (models.build checks).
VECTOR_MODEL_FIELDS = {
    "width": 100, "depth": 2, "activation": "relu", "dropout": 0.0, "init": "pytorch",
    "init_scale": 1.0,                                     # fcn
    "filters": 32, "kernel_size": 7, "layers": 1, "fc_width": -1,  # cnn1d (+ activation, init)
    "hidden": 100, "step_size": 10,                        # gru (+ layers, init)
}


def common(c: ml_collections.ConfigDict, experiment: str) -> ml_collections.ConfigDict:
  c.experiment = experiment
  c.seed = 0
  c.num_seeds = 8
  c.progress = True
  c.resume = False              # continue the interrupted run in the work directory
  c.overwrite = False           # replace an earlier run's files in the work directory
  # Call jax.distributed.initialize() first (multi-process jobs). Image runs split every batch
  # over all processes' devices; a synthetic sweep trains every member in every process (the
  # members are not split) and only process 0 writes.
  c.distributed = False
  c.checkpoint_every_s = 120.0  # seconds between checkpoints (plus one per finished cell);
                                # negative: never (a killed run then cannot resume)
  c.objective = ml_collections.ConfigDict({"name": "erm"})
  # Members per group: the models of one ensemble, one D-BAT sequence, the heads of DivDis.
  # Each seed then trains a group; `evals` entries such as 'sb@mean_logits' read it out as one
  # model, and group objectives (objective.name) train its members together.
  c.members = ml_collections.ConfigDict({"group_size": 1})
  return c


def synthetic_base(experiment: str = "synthetic_sb") -> ml_collections.ConfigDict:
  """LMS-5 with the paper's (100,2)-FCN and SGD (lr .1, wd 5e-5, batch 256, stop at train acc
  >= .9999, best-validation checkpoint)."""
  c = common(ml_collections.ConfigDict(), experiment)

  c.data = ml_collections.ConfigDict()
  c.data.source = "synthetic"
  c.data.name = "lms5"
  c.data.dim = 50
  c.data.num_train = 100_000
  c.data.num_val = 10_000
  c.data.num_test = 10_000
  c.data.rotate = True
  c.data.centred_noise = False
  c.data.balanced_labels = False
  c.data.width = 1.0
  c.data.blocks = ""  # only for name='custom', e.g. 'linear:1:simple,slab5:49:complex'
  c.data.filler = "uniform"
  c.data.pool = ""        # unlabelled pool: '' (none), 'decorrelated' or 'in_distribution'
  c.data.pool_size = 0    # its points per dataset
  c.data.num_slabs = config_dict.placeholder(int)
  for alias in synthetic.PARAM_ALIASES:
    if alias != "width":
      c.data[alias] = config_dict.placeholder(float)

  c.model = ml_collections.ConfigDict({"name": "fcn", **VECTOR_MODEL_FIELDS})

  c.optim = ml_collections.ConfigDict()
  c.optim.name = "sgd"
  c.optim.learning_rate = 0.1
  c.optim.momentum = 0.0
  c.optim.weight_decay = 5e-5

  c.train = ml_collections.ConfigDict()
  c.train.batch_size = 256
  c.train.max_epochs = 100
  c.train.stop_rule = "acc"
  c.train.stop_eps = 1e-4
  c.train.eval_every = 0
  c.train.patience = 0
  c.train.select = "best_val"
  c.train.eval_batch_size = 8192
  # The stop rule's pass over the whole training set runs when the training batches' running
  # accuracy (or loss) says a member may have converged ('gated'), or at every check ('always').
  c.train.full_check = "gated"
  c.train.check_slack = 0.005

  c.evals = ("sb", "coordinatewise", "decision_grid")
  c.eval = ml_collections.ConfigDict()
  c.eval.boundary_resolution = 80

  # Dataset parameters swept in the same compiled program: {alias: (values, ...)}; the rows of
  # the results table are the cartesian product, in the order the keys are given. Every alias
  # is here (empty = not swept) so that a sweep can be asked for on the command line:
  # --config.grid.slab_margin='(0.05,0.1,0.15)'.
  c.grid = ml_collections.ConfigDict()
  for alias in synthetic.PARAM_ALIASES:
    c.grid[alias] = ()
  return c


def image_base(experiment: str = "mnist_cifar") -> ml_collections.ConfigDict:
  """MNIST-CIFAR A with the CIFAR ResNet-50 and the paper's SGD settings."""
  c = common(ml_collections.ConfigDict(), experiment)
  c.num_seeds = 3          # independent runs (ensembles when members.group_size > 1)
  c.num_devices = 0        # data-parallel devices (0 = every device; 1 = no sharding)

  c.data = ml_collections.ConfigDict()
  c.data.source = "mnist_cifar"   # or 'cifar_only'
  c.data.variant = "A"            # A: 0/1 + automobile/truck, B: 1/4 + same, C: 0/1 + plane/ship
  c.data.digit_source = "mnist"   # 'sklearn_digits' runs offline (real digits, not MNIST)
  c.data.data_dir = ""            # '' = $TFDS_DATA_DIR or ~/tensorflow_datasets
  c.data.num_train = 0            # cap on training images (0 = all: 10,000 for variant A)
  c.data.num_test = 0             # cap on test images (0 = all: 1,960 for variant A)

  # Every image model's fields (None: the chosen model's own default, e.g. stem_pool).
  c.model = ml_collections.ConfigDict({"name": "resnet50", "base_width": 64, "growth_rate": 32})
  c.model.stem_pool = config_dict.placeholder(bool)
  # ResNets: 'matmul' runs the convolutions XLA:CPU is slow at as matrix products (about 3x
  # faster ResNet-50 training on a 2-core CPU; same parameters, results equal to float rounding).
  c.model.conv_impl = "xla"

  c.optim = ml_collections.ConfigDict()
  c.optim.name = "sgd"
  c.optim.learning_rate = 0.05
  c.optim.momentum = 0.9
  c.optim.weight_decay = 5e-5
  c.optim.decay_epochs = 30       # learning rate x decay_factor after this many epochs (0 = never)
  c.optim.decay_factor = 0.2

  c.train = ml_collections.ConfigDict()
  c.train.batch_size = 256
  c.train.max_epochs = 40
  c.train.stop_rule = "loss"      # stop once the full training loss is below stop_eps
  c.train.stop_eps = 0.01
  c.train.eval_every = 0
  c.train.patience = 0
  c.train.select = "last"         # no validation split: evaluate the final parameters
  c.train.eval_batch_size = 500
  c.train.check_size = 0
  c.train.full_check = "gated"
  c.train.check_slack = 0.005
  # Updates per compiled call. XLA:CPU runs convolutions inside a lax.scan loop ~7x slower than
  # outside one (benchmarks/RESULTS.md), so each update is its own call; 0 = one scan per check.
  c.train.scan_length = 1

  c.evals = ("sb",)
  c.eval = ml_collections.ConfigDict()

  # One cell per (model, variant): comma-separated, '' = just model.name / data.variant.
  c.sweep = ml_collections.ConfigDict()
  c.sweep.models = ""
  c.sweep.variants = ""
  return c


# Sizes of the LMS-5 presets every group method config shares (paper sizes without a preset).
_LMS5_PRESETS = {
    "cpu": {"num_seeds": 8, "num_train": 20_000, "num_val": 2_000, "num_test": 5_000,
            "pool_size": 20_000, "stop_eps": 1e-3, "max_epochs": 100},
    "smoke": {"num_seeds": 2, "num_train": 2_000, "num_val": 500, "num_test": 1_000,
              "pool_size": 2_000, "stop_eps": 2e-3, "max_epochs": 10},
}


def group_method(objective: ml_collections.ConfigDict, preset: str, config_file: str,
                 pool: str = "decorrelated") -> ml_collections.ConfigDict:
  """LMS-5 (the paper's sizes, model and optimizer) with groups of two members trained by
  ``objective``, read out member by member and as their mean logits. ``pool``: the unlabelled
  pool ('' for a method that needs none; 100,000 points at paper size)."""
  c = synthetic_base()
  c.data.name = "lms5"
  c.objective = objective
  c.members.group_size = 2
  c.data.pool = pool
  c.data.pool_size = 100_000 if pool else 0
  c.evals = ("sb", "sb@member:0", "sb@member:1", "sb@mean_logits", "disagreement")
  if preset:
    if preset not in _LMS5_PRESETS:
      raise ValueError(f"unknown preset {preset!r} for {config_file}; valid: "
                       f"{', '.join(_LMS5_PRESETS)}")
    p = _LMS5_PRESETS[preset]
    c.num_seeds = p["num_seeds"]
    for field in ("num_train", "num_val", "num_test"):
      c.data[field] = p[field]
    c.data.pool_size = p["pool_size"] if pool else 0
    c.train.stop_eps, c.train.max_epochs = p["stop_eps"], p["max_epochs"]
    c.progress = preset != "smoke"
  return c
