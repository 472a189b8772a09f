"""The base configs every ``configs/<claim>.py`` starts from (one for vectors, one for images).

Fields every run has: ``experiment``, ``seed``, ``num_seeds``, ``progress``, ``resume`` /
``overwrite`` (what to do with a non-empty work directory), ``checkpoint_every_s``, ``data``,
``model``, ``objective``, ``optim``, ``train``, ``evals`` (evaluator names) and ``eval``
(their options). A config file sets the paper's values for its claim and its presets.
"""

import ml_collections
from ml_collections import config_dict

from simplicity_bias.attacks.training import objective_config as adversarial_objective
from simplicity_bias.attribution.diffroar import K_GRID
from simplicity_bias.configs import Whole, merge  # config files take them from here
from simplicity_bias.data import synthetic

# The grids of the training-choice tables (sb_training_choices).
TRAINING_CHOICE_GRIDS = ("activation_optimizer", "dropout_weight_decay", "init_scale",
                         "input_dim")

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
  c.num_devices = 1             # data-parallel devices (0 = every device; 1 = no sharding)
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
  c.optim.decay_epochs = ()       # epochs after which the learning rate is multiplied by
  c.optim.decay_factor = 0.2      # decay_factor (() = no decay)

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
  c.train.fresh_batches = False   # a fresh sample for every batch (theorem1_lsn)

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
  c.num_devices = 0

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


# The `cpu` presets' common part: a 16-wide ResNet-18 on one device, batch 128, every convolution
# as a matrix product (conv_impl='im2col': the seeds are vmapped members, whose XLA:CPU
# convolutions run as slower grouped convolutions; measured in benchmarks/RESULTS.md).
CPU_IMAGES = {"model": {"name": "resnet18", "base_width": 16, "conv_impl": "im2col"},
              "train": {"batch_size": 128}, "num_devices": 1}

# The `smoke` presets' common part: two tiny runs of a 4-wide ResNet-18 with the stem max-pool on
# 64 training and 32 test images of generated mock MNIST and CIFAR-10 (data_dir='mock',
# simplicity_bias/data/mock.py).
SMOKE_IMAGES = {"num_seeds": 2,
                "model": {"name": "resnet18", "base_width": 4, "stem_pool": True},
                "data": {"data_dir": "mock", "num_train": 64, "num_test": 32},
                "train": {"batch_size": 32, "eval_batch_size": 64}, "num_devices": 1,
                "progress": False}


# Sizes of the LMS-5 presets every group method config shares (paper sizes without a preset).
_LMS5_PRESETS = {
    "cpu": {"num_seeds": 8, "data": {"num_train": 20_000, "num_val": 2_000, "num_test": 5_000,
                                     "pool_size": 20_000},
            "train": {"stop_eps": 1e-3, "max_epochs": 100}, "progress": True},
    "smoke": {"num_seeds": 2, "data": {"num_train": 2_000, "num_val": 500, "num_test": 1_000,
                                       "pool_size": 2_000},
              "train": {"stop_eps": 2e-3, "max_epochs": 10}, "progress": False},
}


def group_method(objective: ml_collections.ConfigDict,
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
  return c


def group_presets(pool: bool) -> dict:
  """The ``PRESETS`` of a :func:`group_method` config (``pool``: whether it has an unlabelled
  pool; without one the pool stays empty in every preset)."""
  no_pool = {} if pool else {"data": {"pool_size": 0}}
  return {name: merge(settings, no_pool) for name, settings in _LMS5_PRESETS.items()}


# ----------------------------------------------------------------------------- claim sections
# The sections of the claim configs, with their defaults (each config file sets its presets).

def attack_settings(stop_rule="loss", stop_eps=0.01, uap_eps=1.0, num_train=100_000, num_val=10_000,
                    num_test=10_000, patience=0) -> ml_collections.ConfigDict:
  """Per-dataset settings of the attack experiment (stop rule, updates of training kept up after
  it is met, UAP / PGD radius, sizes)."""
  return ml_collections.ConfigDict({
      "stop_rule": stop_rule, "stop_eps": float(stop_eps), "patience": int(patience),
      "uap_eps": float(uap_eps), "num_train": int(num_train), "num_val": int(num_val),
      "num_test": int(num_test)})


def _attribution_training(c, max_epochs: int, eval_batch_size: int) -> None:
  """The model and training the attribution configs share (our choices; their config files
  list them): an MLP of width 256 with two hidden layers (or a ResNet-18 by name), SGD lr .05
  with momentum .9 and weight decay 5e-4, batch 128, a fixed number of epochs, the last
  parameters."""
  c.model = ml_collections.ConfigDict({
      "name": "mlp", "width": 256, "depth": 2, "init": "pytorch",   # the MLP (our width)
      "base_width": 64, "growth_rate": 32,                          # ResNet-18
      "conv_impl": "xla"})   # 'im2col', 'matmul': faster ResNets on a CPU (benchmarks/RESULTS.md)
  c.model.stem_pool = ml_collections.config_dict.placeholder(bool)
  c.optim.learning_rate = 0.05
  c.optim.momentum = 0.9
  c.optim.weight_decay = 5e-4
  c.optim.decay_epochs = 0
  c.train.batch_size = 128
  c.train.max_epochs = max_epochs
  c.train.stop_rule = "none"
  c.train.select = "last"
  c.train.eval_batch_size = eval_batch_size
  c.train.check_size = 2000


def diffroar_base(dataset: str = "fashion_mnist") -> ml_collections.ConfigDict:
  """The common part of the DiffROAR configs: an MLP on ``dataset``, standard and robust sources,
  the linear model and a random attribution, the poster's k grid (our choices are named in each
  config file's docstring)."""
  c = image_base("diffroar")
  c.num_seeds = 4
  c.data = ml_collections.ConfigDict()
  c.data.source = "image_classification"
  c.data.dataset = dataset
  c.data.data_dir = ""
  c.data.num_train = 0            # 0 = the whole split
  c.data.num_test = 0
  _attribution_training(c, max_epochs=20, eval_batch_size=1000)
  c.train.scan_length = 0         # MLPs: one scan per epoch (convolutional configs set 1)
  c.sweep = ml_collections.ConfigDict()
  c.sweep.standard = True
  c.sweep.linf_eps = ()
  c.sweep.l2_eps = ()
  c.sweep.linear = True           # a linear model (the MLP with no hidden layer) as a source
  c.sweep.random = True           # a random attribution
  c.adversarial = adversarial_objective(num_steps=10, box=(0.0, 1.0))
  c.diffroar = ml_collections.ConfigDict()
  c.diffroar.k_grid = K_GRID
  c.diffroar.fill = "black"       # 'mean': the per-pixel training mean
  c.diffroar.attribution_method = "grad_logit"
  c.diffroar.attribution_chunk = 1000
  # Attributions whose retrained models share one program (0 = all of them): all of them is
  # the fewest compilations, but holds every member's masked copy of the training set at once
  # (one attribution of the whole Fashion-MNIST: 66 members x 60k images, 12 GB).
  c.diffroar.retrain_group = 1
  # The poster's values at k ≈ .05 for this panel (empty: a panel it does not show), and its
  # model class M: a run with another model (a reduced CPU variant) reports extensions.
  c.diffroar.published = ml_collections.ConfigDict({"standard": ml_collections.config_dict
                                                    .placeholder(float),
                                                    "robust": ml_collections.config_dict
                                                    .placeholder(float),
                                                    "robust_source": "", "model_class": ""})
  c.evals = ("accuracy",)
  c.eval = ml_collections.ConfigDict()
  return c


def block_mnist_base(experiment: str = "block_mnist") -> ml_collections.ConfigDict:
  """BlockMNIST (configs/block_mnist.py lists its choices): an MLP and a ResNet-18, standard and
  adversarially trained, input-gradient attributions."""
  c = image_base(experiment)
  c.num_seeds = 4
  c.data = ml_collections.ConfigDict()
  c.data.source = "block_mnist"
  c.data.digit_source = "mnist"   # 'sklearn_digits': offline stand-in, not MNIST
  c.data.data_dir = ""
  c.data.classes = "0,1"          # our choice; 'all' = the ten digits
  c.data.placement = "random"     # 'top': BlockMNIST-Top
  c.data.null = "patch"           # 'zero': a black null block
  c.data.num_train = 0            # 0 = every training digit of the classes (balanced)
  c.data.num_test = 0
  _attribution_training(c, max_epochs=15, eval_batch_size=512)
  c.sweep = ml_collections.ConfigDict()
  c.sweep.models = "mlp,resnet18"
  c.sweep.standard = True
  c.sweep.robust_models = ""      # models that are also trained adversarially ('' = all)
  c.sweep.linf_eps = (0.05, 0.1)   # an MLP trained at l-inf .2 or .3 collapses to chance
  c.sweep.l2_eps = (1.0, 2.0)
  c.adversarial = adversarial_objective(num_steps=10, box=(0.0, 1.0))
  c.evals = ("attribution",)
  c.eval = ml_collections.ConfigDict()
  c.eval.attribution_method = "grad_logit"   # gradient of the true-class logit
  c.eval.topk_fractions = (0.025, 0.05, 0.1, 0.2, 0.3)
  c.eval.attribution_chunk = 256
  c.eval.attribution_examples = 0            # 0 = every test image
  c.eval.attribution_show = 8
  return c


# BlockMNIST on a CPU: the MLP with every training, a 4-wide ResNet-18 standard only: XLA:CPU
# runs the members' vmapped convolutions slowly, so adversarial training of a ResNet is
# impractical on a CPU (the measurements: benchmarks/RESULTS.md). Every convolution as a matrix
# product (conv_impl='im2col', faster for vmapped members on a CPU, equal to 'xla' up to float
# rounding).
BLOCK_MNIST_CPU = {"model": {"conv_impl": "im2col", "base_width": 4},
                   "data": {"num_train": 3_000}, "train": {"max_epochs": 4},
                   "eval": {"attribution_examples": 1_000}, "sweep": {"robust_models": "mlp"}}

# BlockMNIST in seconds, offline: the MLP alone (a ResNet's compilation alone is slow on a CPU),
# on generated mock MNIST (simplicity_bias/data/mock.py).
BLOCK_MNIST_SMOKE = {
    "num_seeds": 2, "sweep": {"models": "mlp"},
    "data": {"data_dir": "mock", "num_train": 400, "num_test": 100},
    "model": {"width": 32, "base_width": 4},
    "train": {"batch_size": 50, "max_epochs": 3, "eval_batch_size": 128},
    "adversarial": {"num_steps": 2}, "eval": {"attribution_chunk": 64, "attribution_show": 4},
    "progress": False, "num_devices": 1}


def diffroar_cpu(num_train: int = 4_000) -> dict:
  """DiffROAR on a CPU: a subset, fewer epochs, 4 seeds, 5 values of k, every attribution's
  retrained models in one program."""
  return {"num_seeds": 4, "data": {"num_train": num_train, "num_test": 2_000},
          "train": {"max_epochs": 6},
          "diffroar": {"k_grid": (0.05, 0.1, 0.2, 0.5, 1.0), "retrain_group": 0}}


# DiffROAR in seconds, offline: a tiny MLP on a generated mock of the config's dataset
# (simplicity_bias/data/mock.py).
DIFFROAR_SMOKE = {
    "num_seeds": 2, "data": {"data_dir": "mock"}, "model": {"name": "mlp", "width": 32},
    "train": {"batch_size": 64, "max_epochs": 4, "check_size": 0},
    "diffroar": {"k_grid": (0.05, 1.0), "retrain_group": 0}, "adversarial": {"num_steps": 2},
    "progress": False, "num_devices": 1}


def ensemble_dataset_settings(noise_frac=None, learning_rate=0.1, momentum=0.0, weight_decay=5e-5,
                              stop_eps=1e-4, max_epochs=100, num_train=None) -> ml_collections.ConfigDict:
  """Per-dataset training settings of the ensemble sweep (``noise_frac``: noisy datasets only;
  ``num_train``: this dataset's training-set size, None = ``data.num_train``)."""
  s = ml_collections.ConfigDict()
  s.noise_frac = config_dict.placeholder(float)
  if noise_frac is not None:
    s.noise_frac = float(noise_frac)
  s.num_train = config_dict.placeholder(int)
  if num_train is not None:
    s.num_train = int(num_train)
  s.learning_rate = float(learning_rate)
  s.momentum = float(momentum)
  s.weight_decay = float(weight_decay)
  s.stop_eps = float(stop_eps)
  s.max_epochs = int(max_epochs)
  return s


def add_ensemble_config(c: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """Adds the ``ensemble`` section and the half-randomization eval fields to a base config."""
  e = ml_collections.ConfigDict()
  e.sizes = (1, 3, 5, 10)
  e.datasets = ("ms5", "noisy_lms7", "lms5")
  e.settings = ml_collections.ConfigDict({
      "ms5": ensemble_dataset_settings(max_epochs=200),
      "noisy_lms7": ensemble_dataset_settings(noise_frac=0.5, stop_eps=5e-3, max_epochs=40),
      "lms5": ensemble_dataset_settings(),
  })
  # A member "uses" latent coordinate j when randomizing j alone costs it more than this much
  # test accuracy (needs eval.coordinatewise).
  e.used_coord_drop = 0.05
  # Datasets that also get an "own data" cell: every member draws its own training sample of the
  # same size from its ensemble's distribution (same rotation, validation and test sets), where
  # the main cells' members share one training sample and differ only in initialisation.
  e.own_data = ()
  c.ensemble = e
  c.eval.num_subsets = 32      # random coordinate halves averaged in half_rand_acc
  c.eval.subset_fraction = 0.5  # fraction of latent coordinates randomized per subset
  return c


def add_init_config(c):
  """Adds the ``init`` (α grid, slab data) and ``slab`` (stage-1 training) sections."""
  c.init = ml_collections.ConfigDict()
  c.init.alphas = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
  c.init.slab_data = "permute"
  c.init.sc_drop_threshold = 0.9  # report the smallest α whose S^c-rand AUC falls below this
  # Stage 1 (M_slab) uses the paper's MS-7 recipe (SGD lr .3, momentum .9, wd 5e-4, stop at train
  # acc >= .995): with the LMS recipe (lr .1, no momentum) the slabs-only task plateaus at chance
  # or is memorised. The model (architecture) is shared with stage 2.
  c.slab = ml_collections.ConfigDict()
  c.slab.learning_rate = 0.3
  c.slab.momentum = 0.9
  c.slab.weight_decay = 5e-4
  c.slab.stop_rule = "acc"      # independent of train.stop_rule (which applies to stage 2)
  c.slab.stop_eps = 5e-3
  c.slab.max_epochs = 150       # slabs alone plateau near chance for a while before they are learned
  return c


def sb_models_sweep(c):
  """Adds the ``sweep`` section (datasets, model specs, wide-FCN dims) to a base config."""
  s = ml_collections.ConfigDict()
  s.datasets = ("lms5", "ms57")
  s.models = ("fcn:100:1", "fcn:100:2", "cnn1d:32:7:1", "cnn1d:32:7:2", "gru:100:10:1",
              "gru:100:10:2")
  s.wide_model = "fcn:2000:1"
  # Fig. 3(b): the wide FCN on MS-(5,7) at d = 50 and 250 (|S^c| = 49, 249); the same on LMS-5
  # is our extension (reported, not counted).
  s.wide_datasets = ("ms57", "lms5")
  s.wide_extensions = ("lms5",)
  s.wide_dims = (50, 250)  # empty: no wide-FCN cells
  s.skip = ()  # row labels to leave out, e.g. ("ms57 / gru(100,10,2)",)
  # Optimizer settings "<name>:<lr>", each cell once per setting; empty: optim.* alone.
  s.optimizers = ()
  # Overrides applied to every cell of a dataset, as nested sections: {dataset: {data: {...},
  # train: {...}}}; e.g. MS-(5,7) is evaluated on 50k test points in the paper. A dataset's
  # section may hold its own per_model: {kind: {...}} for the cells of that dataset only.
  s.per_dataset = ml_collections.ConfigDict()
  # The same per model kind (fcn / cnn1d / gru), e.g. a smaller eval batch for the CNN.
  # Precedence: per_dataset.<d> < per_model.<kind> < per_dataset.<d>.per_model.<kind>.
  s.per_model = ml_collections.ConfigDict()
  c.sweep = s
  return c


def sb_training_choices_sweep(c):
  """Adds the ``sweep`` section (each table's grid, data and model) to a synthetic base config."""
  s = ml_collections.ConfigDict()
  s.grids = TRAINING_CHOICE_GRIDS
  # Table 6
  s.activations = ("relu", "leaky_relu", "prelu", "tanh")
  s.optimizers = ("sgd", "adam", "rmsprop")
  # Learning rate per optimizer: SGD the paper's .1; adaptive methods their usual 1e-3 (ours).
  s.learning_rates = ml_collections.ConfigDict({"sgd": 0.1, "adam": 1e-3, "rmsprop": 1e-3})
  s.ao_datasets = ("lms7", "ms57")
  s.ao_depth = 2
  # Table 7
  s.dropouts = (0.0, 0.05, 0.1)
  s.weight_decays = (1e-2, 1e-4)
  s.dw_dataset = "lms7"
  s.dw_depths = (1, 2)
  # Table 9
  s.inits = ("kaiming", "xavier")
  s.init_scales = (0.1, 0.5, 2.0, 10.0)
  s.init_dataset = "lms7"
  s.init_depth = 1
  # Table 8: (d, |S^c|) pairs; the extensions are (dataset, d) cells with every other coordinate
  # a slab, which the paper did not run.
  s.dim_slabs = ((2, 1), (5, 1), (5, 3), (10, 1), (10, 3), (10, 6))
  s.dim_dataset = "lms7"
  s.dim_depth = 1
  s.dim_extensions = (("ms57", 2),)
  # Per-dataset overrides (e.g. MS-(5,7) needs more samples and updates to leave its plateau).
  s.per_dataset = ml_collections.ConfigDict()
  c.sweep = s
  return c
