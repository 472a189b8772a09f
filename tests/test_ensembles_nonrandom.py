"""Ensembles (claim: ensembles help only when members disagree) and non-random initialisation."""

import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from conftest import (expected_verdict, find_row, ledger_claims, load_config, run_launch,
                      set_fields)
from simplicity_bias import members, pipeline
from simplicity_bias.data import synthetic, transforms
from simplicity_bias.data.randomize import strip_block
from simplicity_bias.experiments import ensembles_synthetic, nonrandom_init
from simplicity_bias.members import Purpose
from simplicity_bias.models import build as build_model
from simplicity_bias.report.run import RunWriter
from simplicity_bias.train import inits
from simplicity_bias.train.loop import Trainer, TrainSpec, init_members
from simplicity_bias.train.optimizers import make_optimizer
from simplicity_bias.validation import ConfigError

CONTRACT = ("config.json", "results.json", "results.csv", "metrics.jsonl", "report.md")


def _tree_equal(a, b):
  return all(np.array_equal(np.asarray(x), np.asarray(y)) for x, y in
             zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)))


def _member(tree, m):
  return jax.tree_util.tree_map(lambda a: a[m], tree)


# ----------------------------------------------------------------------------- ensembles


@pytest.mark.slow
def test_ensemble_smoke_run_writes_the_contract_files(smoke_run):
  config, workdir, results = smoke_run("ensembles_synthetic")
  for name in CONTRACT + ("accuracy_vs_ensemble_size.png",):
    assert os.path.getsize(os.path.join(workdir, name)) > 0, name
  with open(os.path.join(workdir, "results.json")) as f:
    saved = json.load(f)
  assert saved["experiment"] == "ensembles_synthetic"
  labels = [f"{d} / K={k}" for d in config.ensemble.datasets for k in config.ensemble.sizes]
  assert [r["label"] for r in saved["rows"]] == labels
  for row in saved["rows"]:
    for metric in ("test_acc", "test_auc", "half_rand_acc", "gain_over_single"):
      assert len(row["per_seed"][metric]) == config.num_seeds
    has_s = row["params"]["dataset"] != "ms5"
    assert ("s_rand_auc" in row["per_seed"]) == has_s
    assert ("sc_rand_auc" in row["per_seed"]) == has_s
  for name in config.ensemble.datasets:
    single = find_row(saved, f"{name} / K=1")
    # The size-1 ensemble is exactly its first member, which was also evaluated alone.
    np.testing.assert_allclose(single["per_seed"]["test_acc"],
                               single["per_seed"]["member_test_acc"], atol=1e-6)
    assert single["per_seed"]["gain_over_single"] == [0.0] * config.num_seeds
  assert "test_acc[ms5 / K=3]" in saved["summary"]
  with open(os.path.join(workdir, "metrics.jsonl")) as f:
    records = [json.loads(line) for line in f]
  members = config.num_seeds * max(config.ensemble.sizes)
  assert {r["cell"] for r in records} == set(config.ensemble.datasets)
  assert all(len(r["train_acc"]) == members for r in records)
  # Claims on standard test accuracy only (no half-randomized claim); K = 5 / 10 gains need
  # those sizes, which the smoke run does not train.
  claims = ledger_claims("ensembles_synthetic", results)
  assert [(c["row"], c["metric"]) for c in claims] == [
      ("ms5 / K=1", "test_acc"), ("noisy_lms7 / K=1", "test_acc"), ("noisy_lms7 / K=3", "test_acc")]
  assert claims[0]["band"] == [0.70, 0.80]
  single = find_row(results, "ms5 / K=1")["per_seed"]["test_acc"]
  assert claims[0]["verdict"] == expected_verdict(single, [0.70, 0.80])
  # L̂MS-7 at this n cannot test SB (no slabs-only control learns there): reported, not tallied.
  assert [c["verdict"] for c in claims[1:]] == ["untestable"] * 2
  # Each dataset trains on its own n (ensemble.settings.<name>.num_train, default data.num_train).
  assert {r["params"]["num_train"] for r in results["rows"]} == {config.data.num_train}
  n_config = set_fields(config, **{"ensemble.settings.ms5.num_train": 777})
  sizes = {c.label: c.config.data.num_train for c in ensembles_synthetic.cells(n_config)}
  assert sizes == {"ms5": 777, "noisy_lms7": config.data.num_train}


@pytest.fixture(scope="module")
def ensemble_outcome():
  """A tiny ensemble stack: 2 ensembles x 3 members on MS-5, trained for one epoch (a variant of
  the smoke config: the tests below need the trained members, which results rows do not hold)."""
  config = set_fields(load_config("ensembles_synthetic", "smoke"), **{
      "ensemble.datasets": ("ms5",), "ensemble.sizes": (1, 2, 3),
      "ensemble.settings.ms5.max_epochs": 1})
  [cell] = ensembles_synthetic.cells(config)
  out = pipeline.run_planned(cell, RunWriter("", cell.config), progress=False)
  assert out.layout.num_seeds == 2 and out.layout.num_members == 6 and out.layout.slots == 3
  return cell.config, out


@pytest.mark.slow
def test_ensemble_metrics_equal_mean_of_member_logits(ensemble_outcome):
  config, out = ensemble_outcome
  metrics = ensembles_synthetic.ensemble_metrics(out, [1, 2, 3])
  predict = jax.jit(out.trainer.predict)
  for s in range(2):
    x, y = out.data.x_test[s], np.asarray(out.data.y_test[s])
    member_logits = [np.asarray(predict(_member(out.variables, s * 3 + j), x)) for j in range(3)]
    for k in (1, 2, 3):
      mean_logits = np.mean(member_logits[:k], axis=0)
      # The evaluated ensemble accuracy (computed here with numpy).
      expected = np.mean(np.argmax(mean_logits, -1) == y)
      assert metrics[k]["test_acc"][s] == pytest.approx(expected, abs=1e-6)
      # The other combination rules, by brute force: mean softmax, majority vote (ties -> 0).
      z = np.stack(member_logits[:k])
      p = np.exp(z - z.max(-1, keepdims=True))
      p = (p / p.sum(-1, keepdims=True)).mean(0)
      assert metrics[k]["prob_mean_acc"][s] == pytest.approx(np.mean(p.argmax(-1) == y), abs=1e-6)
      ones = (z.argmax(-1) == 1).sum(0)
      vote = (ones > k - ones).astype(int)
      assert metrics[k]["vote_acc"][s] == pytest.approx(np.mean(vote == y), abs=1e-6)
    # The size-1 ensemble is the first member, as the member evaluation saw it.
    assert metrics[1]["test_acc"][s] == pytest.approx(out.evals["test_acc"][s * 3], abs=1e-6)


def test_own_data_members_each_train_on_their_own_block_of_the_ensembles_sample():
  config = set_fields(load_config("ensembles_synthetic", "smoke"), **{
      "ensemble.datasets": ("ms5",), "ensemble.sizes": (1, 2), "ensemble.own_data": ("ms5",),
      "ensemble.settings.ms5.max_epochs": 1, "data.num_train": 512})
  shared, own = ensembles_synthetic.cells(config)
  assert (shared.label, own.label) == ("ms5", "ms5 (own data)")
  assert own.params["num_train"] == 512 and own.config.data.num_train == 2 * 512
  layout = pipeline.layout_of(own.config, slots=2)
  assert own.transform == ("split_among_members", {"num_train": 512})
  assert shared.transform is None
  hook = lambda b: transforms.split_among_members(b, layout, 512)
  out = pipeline.run_cell(own.config, RunWriter("", own.config), own.label, progress=False,
                          layout=layout, data_hook=hook)
  x = np.asarray(out.data.x_train)
  assert x.shape[:2] == (4, 512) and out.trainer.members_per_dataset == 1
  # Member j of ensemble s: rows [512 j, 512 (j + 1)) of the sample a plain run of that seed draws
  # at 1,024 points; the two members of an ensemble never see the same point.
  spec = synthetic.spec_from_config(own.config.data)
  params = synthetic.params_from_config(spec, own.config.data)
  for s in range(2):
    pool = synthetic.make_dataset(spec, jax.random.fold_in(
        jax.random.key(config.seed + s), int(Purpose.DATA)), params)
    for j in range(2):
      np.testing.assert_allclose(x[2 * s + j], np.asarray(pool.x_train)[512 * j:512 * (j + 1)],
                                 atol=1e-6)
    np.testing.assert_allclose(np.asarray(out.data.x_val)[2 * s + 1], np.asarray(pool.x_val),
                               atol=1e-6)
  # The stacked member equals the same member trained alone on its block (same key, 1 member).
  one = out.data._replace(x_train=out.data.x_train[3:4], y_train=out.data.y_train[3:4],
                          x_val=out.data.x_val[3:4], y_val=out.data.y_val[3:4],
                          x_test=out.data.x_test[1:2], y_test=out.data.y_test[1:2],
                          rotation=out.data.rotation[1:2])
  alone = pipeline.run_cell(own.config, RunWriter("", own.config), own.label, progress=False,
                            layout=members.layout(config.seed + 1, 1, 1, 1), data=one, evals=(),
                            keys=pipeline.model_keys(layout)[3:4])
  for a, b in zip(jax.tree_util.tree_leaves(alone.variables),
                  jax.tree_util.tree_leaves(_member(out.variables, 3))):
    np.testing.assert_allclose(np.asarray(a)[0], np.asarray(b), rtol=1e-5, atol=1e-6)
  # Bad settings are named before anything compiles.
  with pytest.raises(ConfigError, match="own_data"):
    ensembles_synthetic.cells(set_fields(config, **{"ensemble.own_data": ("lms5",)}))
  three = pipeline.layout_of(own.config, slots=3)
  with pytest.raises(ValueError, match="cannot be split evenly"):
    pipeline.run_cell(own.config, RunWriter("", own.config), own.label, progress=False,
                      layout=three, data_hook=hook)
  with pytest.raises(ValueError, match="needs 3 x 512 training points"):
    transforms.split_among_members(out.data._replace(x_train=jnp.zeros((2, 1024, 50))), three,
                                   512)


def test_ensemble_members_share_data_and_differ_in_init(ensemble_outcome):
  config, out = ensemble_outcome
  layout = out.layout
  # One dataset per ensemble (shared by its 3 members), the one a plain run of that seed draws.
  x = np.asarray(out.data.x_train)
  assert x.shape[0] == layout.num_seeds and out.trainer.members_per_dataset == 3
  assert not np.array_equal(x[0], x[1])  # different ensembles, different datasets
  spec = synthetic.spec_from_config(config.data)
  params = synthetic.params_from_config(spec, config.data)
  expected = synthetic.make_dataset(
      spec, jax.random.fold_in(jax.random.key(config.seed + 1), int(Purpose.DATA)), params)
  np.testing.assert_allclose(x[1], np.asarray(expected.x_train), atol=1e-6)
  # Member j of ensemble s starts from fold_in(fold_in(key(seed + s), MODEL), j).
  by_hand = jax.random.wrap_key_data(jnp.stack([jax.random.key_data(jax.random.fold_in(
      jax.random.fold_in(jax.random.key(config.seed + s), int(Purpose.MODEL)), j))
      for s in range(2) for j in range(3)]))
  np.testing.assert_array_equal(jax.random.key_data(pipeline.model_keys(layout)),
                                jax.random.key_data(by_hand))
  # Initialisations differ between members of one ensemble, and so do the trained members.
  init = init_members(out.trainer, by_hand, out.data.x_train).params
  kernels = np.asarray(jax.tree_util.tree_leaves(init)[1])
  for s in range(2):
    for j in range(1, 3):
      assert not np.allclose(kernels[s * 3 + j], kernels[s * 3])
  final = jax.tree_util.tree_leaves(out.variables["params"])[1]
  assert not np.allclose(np.asarray(final[0]), np.asarray(final[1]))


def test_half_randomization_permutes_each_chosen_coordinate():
  from simplicity_bias.data.randomize import randomize_block
  spec = synthetic.ms_uniform(5, dim=8, sizes=(300, 0, 10), rotate=True)
  data = synthetic.make_dataset(spec, jax.random.key(5), synthetic.default_params(spec))
  x, rot = data.x_train, data.rotation
  mask = jnp.arange(8) < 4
  key = jax.random.key(6)
  shared = ensembles_synthetic.randomize_coordinates(x, rot, mask, key, shared=True)
  np.testing.assert_allclose(np.asarray(shared), np.asarray(randomize_block(
      x, rot, mask, jax.random.permutation(key, 300))), atol=1e-6)
  z = np.asarray(x @ rot.T)
  zz = np.asarray(ensembles_synthetic.randomize_coordinates(x, rot, mask, key, shared=False)
                  @ rot.T)
  np.testing.assert_allclose(zz[:, 4:], z[:, 4:], atol=1e-5)       # unchosen coordinates kept
  for j in range(4):                                              # each chosen one permuted
    np.testing.assert_allclose(np.sort(zz[:, j]), np.sort(z[:, j]), atol=1e-5)
  # independent permutations: the chosen coordinates no longer move together row by row
  same_row = [np.argmin(np.abs(z[:, j][None] - zz[:, j][:, None]), axis=1) for j in range(4)]
  assert np.mean(same_row[0] == same_row[1]) < 0.1


# ----------------------------------------------------------------------------- non-random init


def _small_trainer(num_train=64):
  config = load_config("nonrandom_init", "smoke")
  config.model.width = 8
  model = build_model(config.model, "vector")
  opt = make_optimizer("sgd", 0.1, 0.9, 5e-5)  # momentum: the optimizer state must be reset too
  return Trainer(model, opt, TrainSpec(batch_size=16), num_train)


@pytest.mark.slow
def test_init_hook_alpha_0_is_random_init_and_alpha_1_is_slab_exactly():
  trainer = _small_trainer()
  num_seeds, alphas = 2, [0.0, 0.5, 1.0]
  x = jnp.ones((num_seeds * len(alphas), 64, 50))
  rand_keys = jax.random.split(jax.random.key(0), num_seeds * len(alphas))
  states = init_members(trainer, rand_keys, x)
  # a non-zero momentum buffer: the hook must restart the optimizer state from the mixed params
  states = states._replace(opt_state=jax.tree_util.tree_map(lambda a: a + 1.0, states.opt_state))
  slab = init_members(trainer, jax.random.split(jax.random.key(1), num_seeds), x[:num_seeds])
  earlier = pipeline.Outcome(*([None] * 6), {"params": slab.params}, *([None] * 3))
  mixed = inits.apply(("mix", {"from": "slab"}), trainer, states,
                      layout=members.layout(0, num_seeds, num_points=len(alphas)),
                      points=[{"alpha": a} for a in alphas], earlier={"slab": earlier})
  for s in range(num_seeds):
    assert _tree_equal(_member(mixed.params, 0 * num_seeds + s), _member(states.params, s))
    assert _tree_equal(_member(mixed.params, 2 * num_seeds + s), _member(slab.params, s))
    mid = jax.tree_util.tree_map(lambda a, b: 0.5 * a + 0.5 * b, _member(slab.params, s),
                                 _member(states.params, num_seeds + s))
    for a, b in zip(jax.tree_util.tree_leaves(_member(mixed.params, num_seeds + s)),
                    jax.tree_util.tree_leaves(mid)):
      np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6, atol=1e-7)
  assert _tree_equal(mixed.best_params, mixed.params)
  with pytest.raises(ConfigError, match="has not run before it"):
    inits.apply(("mix", {"from": "stage0"}), trainer, states, layout=None, points=[],
                earlier={"slab": earlier})
  assert _tree_equal(mixed.opt_state, jax.vmap(trainer.optimizer.init)(mixed.params))
  # everything else (keys, counters) is untouched
  assert _tree_equal(jax.random.key_data(mixed.key), jax.random.key_data(states.key))
  assert _tree_equal(mixed.num_updates, states.num_updates)


def test_strip_simple_breaks_only_the_simple_coordinate():
  key = jax.random.key(3)
  spec = synthetic.lms(7, dim=10, sizes=(200, 0, 50), rotate=True)
  data = synthetic.make_dataset(spec, key, synthetic.default_params(spec))
  mask = jnp.arange(10) == 0
  z = np.asarray(data.x_train @ data.rotation.T)
  for mode in ("permute", "zero"):
    out = strip_block(data.x_train, data.rotation, mask, jax.random.key(4), mode)
    zz = np.asarray(out @ data.rotation.T)
    np.testing.assert_allclose(zz[:, 1:], z[:, 1:], atol=1e-5)
    if mode == "zero":
      np.testing.assert_allclose(zz[:, 0], 0.0, atol=1e-5)
    else:
      np.testing.assert_allclose(np.sort(zz[:, 0]), np.sort(z[:, 0]), atol=1e-5)
      # the linear coordinate no longer predicts the label
      assert abs(np.mean((zz[:, 0] > 0) == np.asarray(data.y_train)) - 0.5) < 0.15


@pytest.mark.slow
def test_nonrandom_init_smoke_run_writes_the_contract_files(smoke_run):
  config, workdir, results = smoke_run("nonrandom_init")
  for name in CONTRACT + ("auc_vs_alpha.png",):
    assert os.path.getsize(os.path.join(workdir, name)) > 0, name
  with open(os.path.join(workdir, "results.json")) as f:
    saved = json.load(f)
  assert saved["experiment"] == "nonrandom_init"
  assert [r["label"] for r in saved["rows"]] == \
      ["M_slab"] + [f"alpha={a:g}" for a in config.init.alphas]
  for row in saved["rows"]:
    for metric in ("test_acc", "test_auc", "s_rand_acc", "s_rand_auc", "sc_rand_acc",
                   "sc_rand_auc"):
      assert len(row["per_seed"][metric]) == config.num_seeds
  # The α = 1 members start exactly at θ_slab, evaluated with the same EVAL keys on the same
  # test sets: their initial metrics are M_slab's.
  one, slab = find_row(saved, "alpha=1"), find_row(saved, "M_slab")
  for metric in ("test_acc", "test_auc", "s_rand_auc", "sc_rand_auc"):
    assert one["per_seed"][f"init_{metric}"] == slab["per_seed"][metric], metric
  # α = 0 starts from the random init, not from θ_slab.
  zero = find_row(saved, "alpha=0")
  assert zero["per_seed"]["init_test_acc"] != slab["per_seed"]["test_acc"]
  with open(os.path.join(workdir, "metrics.jsonl")) as f:
    records = [json.loads(line) for line in f]
  assert {r["cell"] for r in records} == {"slab", "alpha"}
  members = {r["cell"]: len(r["train_acc"]) for r in records}
  assert members == {"slab": config.num_seeds, "alpha": config.num_seeds * len(config.init.alphas)}
  # One claim per statement of App. C.7, on the α rows it is about (smoke α: 0, .5, 1).
  claims = ledger_claims("nonrandom_init", results)
  chance = [0.47, 0.53]
  assert [(c["row"], c["metric"], c["band"]) for c in claims] == [
      ("alpha=0", "s_rand_auc", chance), ("alpha=0.5", "s_rand_auc", chance),
      ("alpha=1", "s_rand_auc", [0.6, 1.0]), ("alpha=1", "sc_rand_auc", [0.6, 1.0])]
  for c in claims:
    row = find_row(results, c["row"])
    learned = row["summary"]["test_auc"]["mean"] >= 0.99 or c["band"] != chance
    assert c["verdict"] == expected_verdict(row["per_seed"][c["metric"]], c["band"], learned)
    assert c["kind"] == "paper", c


# ----------------------------------------------------------------------------- bad config


@pytest.mark.parametrize("name,path,value,message", [
    ("ensembles_synthetic", "ensemble.sizes", (0, 3), "ensemble.sizes"),
    ("ensembles_synthetic", "ensemble.sizes", (3, 3), "repeats a size"),
    ("ensembles_synthetic", "ensemble.datasets", ("ms5", "lms7"), "ensemble.settings has no entry"),
    ("ensembles_synthetic", "ensemble.settings.ms5.noise_frac", 0.3, "noise_frac"),
    ("ensembles_synthetic", "eval.num_subsets", 0, "eval.num_subsets"),
    ("ensembles_synthetic", "num_seeds", 0, "num_seeds"),
    ("ensembles_synthetic", "train.batch_size", 10 ** 6, "larger than the training set"),
    ("nonrandom_init", "init.alphas", (0.0, 1.5), "init.alphas"),
    ("nonrandom_init", "init.slab_data", "shuffle", "init.slab_data"),
    ("nonrandom_init", "data.name", "ms7", "no simple/complex"),
    ("nonrandom_init", "slab.max_epochs", 0, "slab.max_epochs"),
    ("nonrandom_init", "model.name", "transformer", "model.name"),
])
def test_bad_config_raises_config_error(name, path, value, message):
  config = set_fields(load_config(name, "smoke"), **{path: value})
  module = ensembles_synthetic if name == "ensembles_synthetic" else nonrandom_init
  with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
    module.cells(config)


def test_bad_config_exits_2_on_the_command_line(tmp_path):
  proc = run_launch("train.py", "--config=configs/nonrandom_init.py:smoke",
                    f"--workdir={tmp_path}", "--config.init.alphas=(0.0,2.0)", timeout=120)
  assert proc.returncode == 2, proc.stderr[-2000:]
  errors = [l for l in proc.stderr.splitlines() if l.startswith("error:")]
  assert len(errors) == 1 and "init.alphas" in errors[0]
  assert not (tmp_path / "results.json").exists()
