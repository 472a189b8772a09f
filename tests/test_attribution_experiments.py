"""The attribution experiments: BlockMNIST feature leakage, simplified BlockMNIST (the theorem)
and DiffROAR — their data sources, evaluators, DiffROAR's masks, and the `:smoke` runs (checks
that hold by construction: k = 1 gives DiffROAR 0, a random attribution ≈ 0, the null block is
found where the data put it)."""

import csv
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from conftest import ledger_claims, load_config, set_fields
from simplicity_bias import evaluators
from simplicity_bias.attribution import diffroar, masking
from simplicity_bias.data import attribution_source, block_mnist, mock, registry
from simplicity_bias.data.registry import DataInfo
from simplicity_bias.evaluators import attribution as attribution_evals
from simplicity_bias.experiments.diffroar import TIDY_COLUMNS
from simplicity_bias.members import layout
from simplicity_bias.validation import ConfigError


def _block_config(**overrides):
  c = load_config("block_mnist", "smoke")
  return set_fields(c, **overrides)


# ----------------------------------------------------------------------------- data sources

def test_block_mnist_source_gives_balanced_56x28_images_shared_by_every_member():
  config = _block_config()
  bundle = registry.build(config, layout(0, 2))
  assert bundle.shared and bundle.info.kind == "image" and bundle.info.num_classes == 2
  assert bundle.x_train.shape[1:] == (56, 28, 1) and bundle.x_val.shape[0] == 0
  counts = np.bincount(bundle.y_train)
  # Balanced: every training image of both classes of the mock MNIST.
  assert counts.tolist() == [mock.SPLIT_SIZES["train"] // 10] * 2
  assert "not MNIST" in bundle.info.source_note and "mock" in bundle.info.source_note
  ds = attribution_source.load_block_mnist(config)
  # The evaluator finds each image's null block from the pixels alone.
  found = attribution_evals.find_digit_on_top(jnp.asarray(ds.x_test))
  np.testing.assert_array_equal(np.asarray(found), ds.digit_on_top_test)


@pytest.mark.parametrize("field, value", [("data.placement", "middle"), ("data.classes", "3"),
                                          ("data.classes", "0,x"), ("data.null", "noise"),
                                          ("data.num_train", -1)])
def test_block_mnist_source_rejects_bad_fields_before_loading(field, value):
  with pytest.raises(ConfigError, match=field.split(".")[1]):
    registry.info(_block_config(**{field: value}))


def test_simplified_source_is_one_dataset_per_member_with_common_random_numbers():
  config = load_config("block_mnist_theory", "smoke")
  set_fields(config, **{"data.num_blocks": 6, "data.block_size": 3})
  lay = layout(5, 2, num_points=2)
  a = attribution_source.simplified_build(config, lay, [0.5, 2.0])
  b = attribution_source.simplified_build(config, lay, [0.5, 2.0])
  np.testing.assert_array_equal(a.x_train, b.x_train)            # a pure function of the keys
  assert a.x_train.shape == (4, 400, 18) and not a.shared
  x, y = np.asarray(a.x_train), np.asarray(a.y_train)
  # Points of one seed share labels, signal positions and noise draws; sigma scales the noise.
  np.testing.assert_array_equal(y[0], y[2])
  np.testing.assert_allclose(x[2][:, :9], x[0][:, :9])
  np.testing.assert_allclose(x[2][:, 9:], 4.0 * x[0][:, 9:], rtol=1e-5)
  assert not np.array_equal(y[0], y[1])                           # seeds differ
  # The signal y·mu sits in exactly one first-half block.
  blocks = np.abs(x[0][:, :9]).reshape(-1, 3, 3).sum(-1)
  assert np.all((blocks > 0).sum(1) == 1)
  np.testing.assert_array_equal(np.sign(x[0][:, :9].sum(1)), 2 * y[0] - 1)


@pytest.mark.parametrize("field, value", [("data.num_blocks", 5), ("data.sigmas", ()),
                                          ("data.mu", 0.0), ("data.sigmas", (1.0, 1.0))])
def test_simplified_source_rejects_bad_fields(field, value):
  config = set_fields(load_config("block_mnist_theory", "smoke"), **{field: value})
  with pytest.raises(ConfigError, match=field.split(".")[1]):
    registry.info(config)


def test_classification_source_caps_are_seeded_subsets():
  config = load_config("diffroar_mnist", "smoke")
  set_fields(config, **{"data.num_train": 300, "data.num_test": 50})
  bundle = registry.build(config, layout(0, 1))
  assert bundle.x_train.shape == (300, 28, 28, 1) and bundle.info.num_classes == 10
  assert 0.0 <= float(bundle.x_train.min()) and float(bundle.x_train.max()) <= 1.0
  again = registry.build(config, layout(0, 1))
  np.testing.assert_array_equal(bundle.x_train, again.x_train)


# ----------------------------------------------------------------------------- evaluators

def _block_images(n=64, seed=0):
  """BlockMNIST-shaped images from random 'digits' (never equal to a null pattern)."""
  rng = np.random.default_rng(seed)
  digits = rng.integers(1, 256, size=(n, 28, 28, 1), dtype=np.uint8)
  on_top = rng.random(n) < 0.5
  return block_mnist.stack_blocks(digits, on_top, block_mnist.null_patch()), on_top


def test_attribution_evaluator_finds_null_block_share_exactly():
  """A model that reads only the top block: its gradient lies on the null block exactly for the
  images whose digit is at the bottom."""
  x, on_top = _block_images()
  y = np.ones(len(x), np.int32)
  w = jax.random.normal(jax.random.key(0), (28, 28)) + 3.0   # never zero

  def logits_fn(z):
    f = jnp.sum(z[:, :28, :, 0] * w, axis=(1, 2))
    return jnp.stack([-f, f], axis=-1)

  info = DataInfo("block_mnist", "image", num_classes=2)
  options = {"topk_fractions": (0.05, 0.3)}
  out = jax.jit(lambda xx, yy: attribution_evals.attribution(evaluators.Inputs(
      logits_fn, xx, yy, None, jax.random.key(1), info, options, None)))(x, y)
  bottom = 1.0 - on_top.mean()
  for name in ("null_top5", "null_top30", "null_topk", "null_mass"):
    np.testing.assert_allclose(out[name], bottom, atol=1e-6, err_msg=name)
  np.testing.assert_allclose(out["null_mass_digit_top"], 0.0, atol=1e-6)
  np.testing.assert_allclose(out["null_mass_digit_bottom"], 1.0, atol=1e-6)
  assert abs(float(out["leakage_random"])) < 0.05
  assert out["maps"].shape == (8, 56, 28)


def test_block_attribution_evaluator_on_uniform_and_signal_only_gradients():
  config = load_config("block_mnist_theory", "smoke")
  set_fields(config, **{"data.num_blocks": 8, "data.block_size": 2})
  data = attribution_source.simplified_build(config, layout(0, 1), [0.5])
  x, y = jnp.asarray(data.x_test[0]), jnp.asarray(data.y_test[0])
  info = registry.info(config)
  options = {"num_blocks": 8, "block_size": 2}

  def run(f):
    logits_fn = lambda z: jnp.stack([-f(z), f(z)], axis=-1)
    return jax.jit(lambda xx, yy: attribution_evals.block_attribution(evaluators.Inputs(
        logits_fn, xx, yy, None, jax.random.key(0), info, options, None)))(x, y)

  uniform = run(lambda z: jnp.sum(z[:, :8], axis=1))            # the same weight everywhere
  np.testing.assert_allclose(uniform["signal_ratio"], 1.0, rtol=1e-6)
  np.testing.assert_allclose(uniform["noise_mass"], 0.0, atol=1e-7)
  blocks = lambda z: z[:, :8].reshape(-1, 4, 2).mean(-1)
  # Threshold units: only the instance's own signal block is active.
  local = run(lambda z: jnp.sum(jax.nn.relu(blocks(z) - 0.5) - jax.nn.relu(-blocks(z) - 0.5), 1))
  np.testing.assert_allclose(local["p_argmax_signal"], 1.0)
  assert float(local["signal_ratio"]) > 1e6
  assert float(uniform["test_acc"]) == float(local["test_acc"]) == 1.0


# ----------------------------------------------------------------------------- DiffROAR masks

def test_keep_masks_are_exact_complements_and_the_stack_is_member_ordered():
  key = jax.random.key(3)
  scores = jax.random.uniform(key, (5, 4, 6)).round(1)             # many ties
  ranks = jax.jit(diffroar.pixel_ranks)(scores, jax.random.key(4))

  @jax.jit
  def check(k):
    top = diffroar.keep_mask(ranks, k, 0)
    bottom_rest = diffroar.keep_mask(ranks, 1.0 - k, 1)
    # Top keeps the highest scores: no kept pixel scores below a removed one.
    kept_min = jnp.min(jnp.where(top, scores, jnp.inf).reshape(5, -1), 1)
    removed_max = jnp.max(jnp.where(top, -jnp.inf, scores).reshape(5, -1), 1)
    return top.reshape(5, -1).sum(1), jnp.all(top == ~bottom_rest), jnp.all(kept_min >= removed_max)

  for k in (0.125, 0.25, 0.5, 1.0):   # exact in float32, so 1 - k rounds like k
    counts, complement, ordered = check(jnp.float32(k))
    assert np.all(np.asarray(counts) == masking.num_kept(k, 24))
    assert bool(complement) and bool(ordered)
  x = jax.random.uniform(jax.random.key(5), (5, 4, 6, 2))
  seed_ranks = jnp.stack([ranks, diffroar.pixel_ranks(-scores, jax.random.key(6))])
  fractions, sides = diffroar.grid((0.25, 1.0))
  stack = diffroar.masked_stack(x, seed_ranks, fractions, sides, fill=0.5)
  assert stack.shape == (8, 5, 4, 6, 2)
  for p in range(4):
    for s in range(2):
      expected = masking.apply_mask(x, diffroar.keep_mask(seed_ranks[s], fractions[p], sides[p]),
                                    0.5)
      np.testing.assert_array_equal(stack[p * 2 + s], expected)
  np.testing.assert_array_equal(stack[4], x)                       # k = 1 keeps everything
  np.testing.assert_array_equal(stack[6], x)


# ----------------------------------------------------------------------------- bad configs

@pytest.mark.parametrize("name, field, value, match", [
    ("block_mnist", "sweep.models", "mlp,nope", "nope"),
    ("block_mnist", "evals", ("accuracy",), "attribution"),
    ("block_mnist", "sweep.linf_eps", (0.0,), "linf_eps"),
    ("block_mnist", "eval.topk_fractions", (0.0, 0.5), "topk_fractions"),
    ("block_mnist_theory", "sweep.widths", (), "widths"),
    ("diffroar_mnist", "diffroar.k_grid", (0.0, 0.5), "k_grid"),
    ("diffroar_mnist", "diffroar.fill", "grey", "fill"),
])
def test_bad_experiment_fields_are_config_errors(name, field, value, match):
  from simplicity_bias.experiments import get_experiment
  config = set_fields(load_config(name, "smoke"), **{field: value})
  with pytest.raises((ConfigError, ValueError), match=match):
    get_experiment(config.experiment).cells(config)


# ----------------------------------------------------------------------------- smoke runs

def _claims_are_well_formed(results, name):
  from simplicity_bias.report import ledger
  claims = ledger_claims(name, results)
  assert claims
  for c in claims:
    assert c["band"][0] <= c["band"][1] and c["kind"] in ledger.KINDS
    assert c["verdict"] in ledger.VERDICTS and c["published"]
  return claims


@pytest.mark.slow
def test_block_mnist_smoke_rows_figures_and_claims(smoke_run):
  config, workdir, results = smoke_run("block_mnist")
  rows = {r["label"]: r for r in results["rows"]}
  assert sorted(rows) == ["mlp linf 0.1", "mlp standard"]
  for row in rows.values():
    for metric in ("null_top2p5", "null_top30", "null_topk", "null_mass"):
      assert 0.0 <= row["summary"][metric]["mean"] <= 1.0
    assert abs(row["summary"]["leakage_random"]["mean"]) < 0.05
  # Even three epochs on 400 stand-in images leak: the standard MLP's null block lights up.
  assert rows["mlp standard"]["summary"]["null_topk"]["mean"] > 0.3
  for figure in ("attribution_maps.png", "null_block_share.png"):
    assert os.path.getsize(os.path.join(workdir, figure)) > 0
  claims = {c["id"]: c for c in _claims_are_well_formed(results, "block_mnist")}
  # Counted: the robust model below the standard one; its own share is reported only.
  below = claims["mlp linf 0.1 | null_topk < mlp standard"]
  assert below["kind"] == "paper" and claims["mlp linf 0.1 | null_topk"]["kind"] == "extension"
  assert below["per_seed"]["null_topk[mlp standard]"] == rows["mlp standard"]["per_seed"][
      "null_topk"]


@pytest.mark.slow
def test_block_mnist_top_smoke_has_standard_models_only(smoke_run):
  config, _, results = smoke_run("block_mnist_top")
  assert [r["label"] for r in results["rows"]] == ["mlp standard"]
  assert results["placement"] == "top"
  # The digit is always on top: no image has its digit at the bottom.
  assert "null_mass_digit_bottom" not in results["rows"][0]["summary"]
  claims = _claims_are_well_formed(results, "block_mnist_top")
  assert [c["metric"] for c in claims] == ["null_topk"]


@pytest.mark.slow
def test_block_mnist_theory_smoke(smoke_run):
  _, workdir, results = smoke_run("block_mnist_theory")
  rows = {r["label"]: r for r in results["rows"]}
  assert sorted(rows) == ["d=4 width=64 linf 0.3 sigma=0.5", "d=4 width=64 standard sigma=0.5"]
  for row in rows.values():
    assert 0.0 <= row["summary"]["p_argmax_signal"]["mean"] <= 1.0
    assert row["summary"]["signal_ratio"]["mean"] > 0
    assert len(row["block_profile"]) == 4 and row["chance_p_argmax"] == 0.5
  assert os.path.getsize(os.path.join(workdir, "gradient_blocks_d4.png")) > 0
  # The smoke run's rows (d = 4, width 64) are not the ledger's (the reduced and paper presets'):
  # it judges no claim.
  assert ledger_claims("block_mnist_theory", results) == []


@pytest.mark.slow
@pytest.mark.parametrize("name", ["diffroar_fashion_mnist", "diffroar_mnist"])
def test_diffroar_smoke_checks_by_construction(name, smoke_run):
  """k = 1 gives exactly 0 (both sides are the unmasked image, trained from the same
  initialisation); a random attribution gives ≈ 0 at every k; the tidy CSV has one line per
  (source, k, side, seed)."""
  config, workdir, results = smoke_run(name)
  rows = [r for r in results["rows"] if "k" in r["params"]]
  sources = list(dict.fromkeys(r["params"]["source"] for r in rows))
  assert "standard" in sources and "random" in sources
  for r in rows:
    if r["params"]["k"] == 1.0:
      assert r["per_seed"]["diffroar"] == [0.0] * config.num_seeds, r["label"]
    if r["params"]["source"] == "random":
      assert abs(r["summary"]["diffroar"]["mean"]) < 0.05, r["label"]
  with open(os.path.join(workdir, "diffroar.csv"), encoding="utf-8") as f:
    lines = list(csv.DictReader(f))
  assert len(lines) == len(sources) * len(config.diffroar.k_grid) * 2 * config.num_seeds
  assert list(lines[0]) == list(TIDY_COLUMNS)
  assert {l["side"] for l in lines} == {"top", "bottom"}
  assert os.path.getsize(os.path.join(workdir, "diffroar.png")) > 0
  # These checks are tests, not claims: no ledger counts them.
  from simplicity_bias.report import ledger
  assert not [s for s in ledger.load(name)["claims"]
              if s["row"].startswith(("random", "standard k=1"))]



def test_radius_names_read_like_the_papers():
  from simplicity_bias.experiments.trainings import eps_name
  assert eps_name("linf", 8 / 255) == "8/255" and eps_name("linf", 16 / 255) == "16/255"
  assert eps_name("linf", 0.2) == "0.2" and eps_name("l2", 0.5) == "0.5"


def test_diffroar_claims_of_a_smaller_model_than_the_panels_are_counted_as_reduced():
  """One rule for reduced settings: the CIFAR-10 panel run with a smaller ResNet than the
  poster's ResNet-50 counts its claims in the reduced-setting tally (not as extensions); panels
  the poster never ran are extensions throughout."""
  from simplicity_bias.report import ledger
  cifar = ledger.load("diffroar_cifar10")
  assert {s["kind"] for s in cifar["claims"]} == {"paper"}
  setting = ledger.setting(cifar, load_config("diffroar_cifar10", "cpu"),
                           load_config("diffroar_cifar10", ""), "cpu")
  assert setting["setting"] == "reduced" and "model.name resnet18 (default resnet50)" in \
      setting["differs"]
  for name in ("diffroar_mnist", "diffroar_block_mnist"):
    assert {s["kind"] for s in ledger.load(name)["claims"]} == {"extension"}, name


def test_diffroar_retrains_with_the_configured_objective_whatever_the_first_source():
  """The retrained models (class M) take the experiment's objective, not the first source
  cell's: without the standard source the first cell is a robust one, whose adversarial
  objective they must not inherit. The plan: source cells, then retraining cells that read
  them."""
  from simplicity_bias.experiments import diffroar as experiment
  config = load_config("diffroar_fashion_mnist", "smoke")
  cells = experiment.cells(config)
  assert [c.label for c in cells] == ["source standard", "source linf",
                                      "retrain on standard, linf 16/255, random masks"]
  retrain = cells[-1]
  assert retrain.config.to_dict() == cells[0].config.to_dict()
  assert retrain.key_purpose == "RETRAIN" and retrain.transform[0] == "mask_by_ranks"
  assert retrain.transform[1]["from"] == ["source linf", "source standard"]
  assert retrain.transform[1]["attributions"] == [["source standard", 0], ["source linf", 0],
                                                  ["random"]]
  assert len(retrain.points) == 3 * 2 * len(config.diffroar.k_grid)
  robust_first = set_fields(config, **{"sweep.standard": False, "sweep.linf_eps": (),
                                       "sweep.l2_eps": (0.5, 1.0)})
  cells = experiment.cells(robust_first)
  assert cells[0].params["source"] != "standard"
  assert cells[0].config.objective.name == "adversarial"
  assert cells[0].points == [{"eps": 0.5}, {"eps": 1.0}]
  retrain = cells[-1].config
  assert retrain.objective.to_dict() == config.objective.to_dict()
  assert retrain.objective.name != "adversarial"
  # diffroar.retrain_group: one retraining program per that many attributions.
  grouped = experiment.cells(set_fields(robust_first, **{"diffroar.retrain_group": 1}))
  assert [c.label for c in grouped if c.params.get("stage") == "retrain"] == [
      "retrain on l2 0.5 masks", "retrain on l2 1 masks", "retrain on random masks"]
