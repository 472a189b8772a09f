"""Extreme SB is robust to training choices (Pitfalls of SB, Tables 6-9), each table in its own
setting.

  python launch/train.py --config=configs/sb_training_choices.py --workdir=/tmp/choices
  python launch/train.py --config=configs/sb_training_choices.py:cpu --workdir=/tmp/choices_cpu
  python launch/train.py --config=configs/sb_training_choices.py:smoke --workdir=/tmp/smoke

Grids (one heat-map each, cells = S-randomized AUC), data and model as the appendix gives them:
Table 6 activation x optimizer on LMS-7 and MS-(5,7) with the (100,2)-FCN; Table 7 dropout x
weight decay on LMS-7 with the (100,1)- and (100,2)-FCN; Table 8 (d, |S^c|) ∈ {(2,1), (5,1),
(5,3), (10,1), (10,3), (10,6)} on LMS-7 with the (100,1)-FCN, unused coordinates uniform noise
(the original's filler); Table 9 Kaiming / Xavier init x scale on LMS-7 with the (100,1)-FCN.
Should show S-rand AUC ≈ 0.5 and S^c-rand AUC ≈ 1 in every cell: no common training choice
removes SB. MS-(5,7) at d = 2 (not in the paper) is an extension: reported, not counted.
One grid only: --config.sweep.grids='("init_scale",)'.

Our choices (the appendix is silent): Adam / RMSProp at lr 1e-3 (SGD the paper's .1); the
paper's LMS recipe otherwise (wd 5e-5, batch 256, stop at train acc ≥ .9999, best-validation
checkpoint); MS-(5,7) cells keep 100k training points and 100 epochs (FCNs leave its plateau after
12-16k updates). The default has the paper sizes and 8 seeds; `cpu` is the
reduced variant used for REPRODUCTION.md (4 seeds, LMS-7 at 20k training points).

Tanh on MS-(5,7) (Table 6) does not leave the plateau here: in the grid (100 epochs = 39k updates)
with SGD, Adam and RMSProp, and with SGD lr .1 for 400 epochs (156k updates, 2 seeds; train acc
.510 / .511 at the end), 10x the 12-16k updates the ReLU FCN needs. Those rows fail.
What else was tried (4 seeds, 40k training points, SGD lr .1, 31k updates): ReLU in
that setting leaves the plateau after 7.6-9.5k updates (test AUC 1.00); tanh stays at train acc
.51-.52 with PyTorch's init, with zero biases, and with biases Unif(±1) (train acc .53-.56,
test AUC .49-.52: memorising, not learning the slabs). The MS-(5,7) label is an even function of
every coordinate and a tanh net with small biases nearly odd, but larger biases do not help.
"""

from simplicity_bias.config_base import Whole, sb_training_choices_sweep, synthetic_base


def get_config():
  c = sb_training_choices_sweep(synthetic_base("sb_training_choices"))
  c.data.name = "lms7"          # each grid sets its own dataset (sweep.*_dataset(s))
  c.evals = ("sb",)
  c.train.max_epochs = 60
  c.sweep.per_dataset.ms57 = {"data": {"num_train": 100_000}, "train": {"max_epochs": 100}}
  return c


PRESETS = {
    "cpu": {"num_seeds": 4, "data": {"num_train": 20_000, "num_val": 2_000, "num_test": 5_000},
            "train": {"stop_eps": 1e-3}},
    "smoke": {"num_seeds": 2, "data": {"num_train": 3_000, "num_val": 500, "num_test": 1_000},
              "train": {"stop_eps": 5e-3, "max_epochs": 30},
              "sweep": {"activations": ("relu", "tanh"), "optimizers": ("sgd", "adam"),
                        "dropouts": (0.0, 0.1), "weight_decays": (1e-4,),
                        "init_scales": (0.5, 2.0), "ao_datasets": ("lms7",), "dw_depths": (1,),
                        "dim_slabs": ((2, 1), (10, 3)), "dim_extensions": (),
                        "per_dataset": Whole({})},
              "progress": False},
}
