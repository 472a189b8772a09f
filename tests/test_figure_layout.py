"""Every figure of ``simplicity_bias/report/`` renders without warnings and without overlapping
texts, and the defects once found in them stay fixed: integer seed ticks on the UAP heat map, a
colour scale on attribution maps, a chance line under the data and one title in
``robust_accuracy_*.png``, no raw ``S^c``, per-grid-point figures named by their values.

The fast tests call the drawing functions (and the experiments' ``cell_figures``) on small
synthetic inputs; the slow one runs one `:smoke` config per experiment and checks the warnings
emitted while its figures were drawn."""

import os
import re
import warnings
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")
import matplotlib.colors  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.text  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.container import ErrorbarContainer  # noqa: E402

from conftest import smoke_config, smoke_params  # noqa: E402
from simplicity_bias.members import Layout  # noqa: E402
from simplicity_bias.report import attribution, bars, curves, figures, robustness  # noqa: E402
from simplicity_bias.report.run import RunWriter  # noqa: E402

# A raw S^c outside $...$ (matplotlib prints the caret).
_RAW_SC = re.compile(r"S\^c")


def _raw_sc(text: str) -> bool:
  return any(_RAW_SC.search(part) for part in re.split(r"\$[^$]*\$", text))


@pytest.fixture
def drawn(monkeypatch):
  """The figures closed by ``save_figure`` during the test, kept open to be inspected."""
  kept = []
  monkeypatch.setattr(plt, "close", kept.append)
  yield kept
  monkeypatch.undo()
  for fig in kept:
    plt.close(fig)


def draw_quietly(draw, *args, **kwargs):
  """Calls ``draw``; fails on any warning it emits (layout, glyph, ...)."""
  with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    out = draw(*args, **kwargs)
  assert not caught, [f"{w.category.__name__}: {w.message}" for w in caught]
  return out


def _checked_texts(fig):
  """(owner Axes or None, what, Text) of the texts that must not overlap anything: titles,
  axis labels (colour-bar labels included) and visible tick labels."""
  out = []
  suptitle = fig._suptitle
  if suptitle is not None:
    out.append((None, "suptitle", suptitle))
  for ax in fig.axes:
    out += [(ax, "title", ax.title), (ax, "left title", ax._left_title),
            (ax, "right title", ax._right_title), (ax, "xlabel", ax.xaxis.label),
            (ax, "ylabel", ax.yaxis.label)]
    for axis in (ax.xaxis, ax.yaxis):
      lo, hi = sorted(axis.get_view_interval())
      for tick in axis.get_major_ticks():
        if lo - 1e-9 * (hi - lo) <= tick.get_loc() <= hi + 1e-9 * (hi - lo):
          out += [(ax, "tick", tick.label1), (ax, "tick", tick.label2)]
  return [(a, what, t) for a, what, t in out if t.get_visible() and t.get_text().strip()]


def overlaps(fig):
  """Pairs of checked texts that overlap or touch, and checked texts inside another Axes'
  area."""
  fig.canvas.draw()
  renderer = fig.canvas.get_renderer()
  # Each text's box grown by 1 pixel: texts that touch (a tick label "9" run into "noise")
  # count as overlapping too.
  texts = [(a, what, t, t.get_window_extent(renderer).padded(1))
           for a, what, t in _checked_texts(fig)]
  found = []
  # A slanted text's bounding box is much larger than the text: slanted tick labels side by
  # side overlap in boxes only, so they are checked against Axes areas alone.
  upright = [x for x in texts if x[2].get_rotation() % 90 == 0]
  for i, (_, what_a, a, box_a) in enumerate(upright):
    for _, what_b, b, box_b in upright[i + 1:]:
      if box_a.overlaps(box_b):
        found.append(f"{what_a} {a.get_text()!r} overlaps {what_b} {b.get_text()!r}")
  for owner, what, t, box in texts:
    for ax in fig.axes:
      if ax is not owner and box.overlaps(ax.get_window_extent(renderer).padded(-1)):
        found.append(f"{what} {t.get_text()!r} lies in the Axes of {ax.get_title()!r} "
                     f"/ {ax.get_ylabel()!r}")
  return found


def all_texts(fig):
  return [t.get_text() for t in fig.findobj(matplotlib.text.Text) if t.get_text()]


# -- every drawing function, on small synthetic inputs ------------------------------------------

_RNG = np.random.default_rng(0)
_D = 50


def _rows():
  return [{"params": {"slab_margin": m, "linear_margin": lm},
           "summary": {k: {"mean": float(_RNG.uniform(.4, 1)), "ci95": .02}
                       for k in ("test_auc", "s_rand_auc", "sc_rand_auc")}}
          for m in (0.05, 0.1) for lm in (0.1, 0.3)]


def _curve(values):
  return {"k": [.1, .3, .5], "mean": values, "ci95": [.01] * 3}


# name -> (function, args after the path, kwargs); labels use raw "S^c" as the experiments do.
CASES = {
    "score_histograms": (figures.score_histograms, (
        {k: _RNG.normal(size=400) for k in ("test", "s_rand", "sc_rand")},
        _RNG.integers(0, 2, 400)), {"title": "lms5 slab_margin=0.1 (seed 0)"}),
    "coordinate_bars": (figures.coordinate_bars, (_RNG.uniform(.5, 1, _D), [0], [1, 2, 3, 4]),
                        {"ci95": np.full(_D, .02), "title": "lms5: one coordinate randomized"}),
    "decision_boundary": (figures.decision_boundary, (
        np.linspace(-1, 1, 32), np.linspace(-1, 1, 32),
        np.add.outer(np.linspace(-1, 1, 32), np.zeros(32)), _RNG.uniform(-1, 1, 300),
        _RNG.uniform(-1, 1, 300), _RNG.integers(0, 2, 300), "latent 0 (S)", "latent 1 (S^c)"),
        {"title": "lms5 slab_margin=0.1: decision boundary"}),
    "metric_over_grid": (figures.metric_over_grid, (
        _rows()[::2], "slab_margin", ["test_auc", "s_rand_auc", "sc_rand_auc"]),
        {"ylabel": "AUC", "title": "lms5: AUC over slab_margin"}),
    "rows_heatmap": (figures.rows_heatmap, (_rows(), "linear_margin", "slab_margin",
                                            "s_rand_auc"),
                     {"title": "Table 7, S-rand AUC: depth2 (dropout x weight decay)"}),
    "image_grid": (figures.image_grid, ({"standard": _RNG.uniform(size=(5, 32, 16, 3)),
                                         "S^c-randomized": _RNG.uniform(size=(5, 32, 16, 3))},
                                        [0, 1, 0, 1, 1]), {"title": "examples"}),
    "accuracy_vs_eps": (robustness.accuracy_vs_eps, (
        [("fcn(100,1)", {"l2 PGD (per example)": ([0, .5, 1], [1, .7, .2], [0, .02, .03])}),
         ("fcn(300,1)", {"l2 PGD (per example)": ([0, .5, 1], [1, .8, .3], [0, .02, .03])})],
        "l2 radius ε"), {"title": "accuracy under attack", "panel_hlines": [
            {"S-randomized 0.50": .5, "S^c-randomized 1.00": 1.},
            {"S-randomized 0.51": .51, "S^c-randomized 0.99": .99}]}),
    "uap_latent": (robustness.uap_latent, ({"SVD-UAP": _RNG.normal(size=(2, _D)) * .01,
                                            "AS-UAP": _RNG.normal(size=(2, _D)) * .01},
                                           [0], [1, 2, 3, 4]), {"title": "universal"}),
    "uap_image": (robustness.uap_image, ({"SVD-UAP": _RNG.normal(size=(32, 16, 3)),
                                          "AS-UAP": _RNG.normal(size=(32, 16, 3))},),
                  {"boundary_row": 16, "title": "UAPs"}),
    "perturbed_examples": (robustness.perturbed_examples, (
        {"clean": _RNG.uniform(size=(4, 32, 16, 3)),
         "PGD vs standard": _RNG.uniform(size=(4, 32, 16, 3)),
         "standard perturbation": _RNG.normal(size=(4, 32, 16, 3))}, [0, 1, 0, 1]),
        {"predictions": {"PGD vs standard": [1, 0, 1, 0]}, "title": "adversarial examples"}),
    "attribution_grid": (attribution.attribution_grid, (
        _RNG.uniform(size=(6, 56, 28, 1)), {"fcn standard": _RNG.normal(size=(6, 56, 28)),
                                            "fcn adversarial": _RNG.normal(size=(6, 56, 28))},
        [0, 1] * 3), {"title": "BlockMNIST"}),
    "block_profiles": (attribution.block_profiles, (
        {"standard": _RNG.uniform(size=20), "adversarial": _RNG.uniform(size=20)}, 10),
        {"title": "simplified BlockMNIST, d = 20"}),
    "diffroar_curves": (attribution.diffroar_curves, (
        {"mnist": {"grad": _curve([.1, .2, .1]), "random": _curve([0., 0., 0.])},
         "cifar10": {"grad": _curve([.05, .1, .1])}},), {"title": "DiffROAR"}),
    "metric_curves": (curves.metric_curves, (
        [("fcn", {"test_auc": ([1, 2, 4], [.9, .95, .97], [.01] * 3),
                  "S^c-rand AUC": ([1, 2, 4], [.9, .95, .97], [.01] * 3)})],
        "ensemble size", "AUC"), {"title": "ensembles", "hlines": {"chance": .5},
                                  "bands": True}),
    "weights_per_step": (curves.weights_per_step, ([
        {"label": "lsn", "params": {"k": 5}, "theory": {"linear": .9},
         "per_step": {k: {"mean": _RNG.uniform(.1, 1, 6), "ci95": np.full(6, .01)}
                      for k in ("w_linear", "w_slab", "w_noise_coord", "w_noise")}}],), {}),
    "grouped_bars": (bars.grouped_bars, (
        ["fcn standard", "fcn adversarial eps=0.3", "resnet standard"],
        {"P[argmax]": ([.5, .6, .4], [.01, .02, .03]), "S^c share": ([.3, .4, .2], [.1] * 3)}),
        {"ylabel": "share", "title": "BlockMNIST", "hlines": (0.5,)}),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_figure_renders_without_warnings_or_overlaps(name, tmp_path, drawn):
  draw, args, kwargs = CASES[name]
  path = str(tmp_path / f"{name}.png")
  draw_quietly(draw, path, *args, **kwargs)
  assert os.path.getsize(path) > 0 and not os.path.exists(path + ".tmp.png")
  (fig,) = drawn
  assert not overlaps(fig)
  raw = [t for t in all_texts(fig) if _raw_sc(t)]
  assert not raw, raw


def test_overlap_check_finds_overlapping_labels(drawn):
  # The check itself: two panels drawn into each other's space are found.
  fig, (a, b) = plt.subplots(1, 2, figsize=(3, 2))
  b.set_ylabel("a long label that reaches into the left panel " * 2)
  a.set_xticks([0, .02], ["signal", "noise"])
  found = overlaps(fig)
  plt.close(fig)
  assert any("reaches" in f for f in found) and any("signal" in f for f in found), found


# -- the fixes, one by one ----------------------------------------------------------------------

def _seed_axes(fig):
  return [ax for ax in fig.axes if ax.get_ylabel() == "seed"]


@pytest.mark.parametrize("seeds", [None, (3, 4, 5, 6, 7, 8, 9)])
def test_uap_heat_map_has_one_integer_tick_per_seed(seeds, tmp_path, drawn):
  n = 2 if seeds is None else len(seeds)
  uaps = {"SVD-UAP": _RNG.normal(size=(n, 12)), "AS-UAP": _RNG.normal(size=(n, 12))}
  draw_quietly(robustness.uap_latent, str(tmp_path / "u.png"), uaps, [0], [1, 2],
               **({} if seeds is None else {"seeds": seeds}))
  (fig,) = drawn
  heat = _seed_axes(fig)
  assert len(heat) == 2
  fig.canvas.draw()
  for ax in heat:
    assert list(ax.get_yticks()) == list(range(n))
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        str(s) for s in (range(n) if seeds is None else seeds)]


def test_uap_heat_map_refuses_seeds_of_another_length(tmp_path):
  with pytest.raises(ValueError, match="2 rows but 3 seeds"):
    robustness.uap_latent(str(tmp_path / "u.png"), {"SVD-UAP": np.ones((2, 5))}, [0], [1],
                          seeds=[0, 1, 2])
  plt.close("all")


def test_uap_colour_scale_label_stays_clear_of_the_next_panel(tmp_path, drawn):
  # Small UAP coordinates give long colour-bar tick labels (0.025), which pushed the label
  # into the next panel's "seed" label.
  uaps = {n: _RNG.normal(size=(2, _D)) * .01 for n in ("SVD-UAP", "AS-UAP", "third")}
  draw_quietly(robustness.uap_latent, str(tmp_path / "u.png"), uaps, [0], [1, 2, 3, 4])
  (fig,) = drawn
  assert not overlaps(fig)
  bars_ = [ax for ax in fig.axes if ax.get_ylabel().startswith("u (")]
  heat = _seed_axes(fig)
  # Bars and heat map of a panel cover the same x range (the colour scale has its own column).
  renderer = fig.canvas.get_renderer()
  for top, bottom in zip(bars_, heat):
    t, b = top.get_window_extent(renderer), bottom.get_window_extent(renderer)
    assert abs(t.x0 - b.x0) < 1 and abs(t.x1 - b.x1) < 1


def test_attribution_maps_have_a_colour_scale(tmp_path, drawn):
  images = _RNG.uniform(size=(4, 28, 14, 1))
  maps = {"fcn": _RNG.normal(size=(4, 28, 14)), "resnet": _RNG.normal(size=(4, 28, 14))}
  draw_quietly(attribution.attribution_grid, str(tmp_path / "a.png"), images, maps)
  (fig,) = drawn
  assert len(fig.axes) == 3 * 4 + 1
  (scale,) = [ax for ax in fig.axes if getattr(ax, "_colorbar", None) is not None]
  assert scale.get_ylim() == (0.0, 1.0) and "gradient" in scale.get_ylabel()
  # The scale is the maps': the colour map of the map rows, not of the image row.
  map_images = [im for ax in fig.axes if ax is not scale for im in ax.get_images()]
  assert {im.get_cmap().name for im in map_images[4:]} == {scale._colorbar.cmap.name}


def _attack_cell(tmp_path, seeds=(3, 4)):
  """attacks_synthetic.cell_figures on a fake lms5 cell; the writer's figures, kept open."""
  from simplicity_bias.experiments import attacks_synthetic
  eps = (0.0, 0.5, 1.0, 1.5)
  n = len(seeds)
  cell = SimpleNamespace(label="lms5", params={"uap_eps": 1.5}, config=SimpleNamespace(
      eval=SimpleNamespace(robust_eps=eps), model=SimpleNamespace(name="fcn", width=100,
                                                                  depth=1)))
  outcome = SimpleNamespace(
      data=SimpleNamespace(info=SimpleNamespace(simple=[0], complex=[1, 2, 3, 4])),
      layout=Layout(seeds=tuple(seeds)),
      evals={"svd_uap_latent": _RNG.normal(size=(n, _D)) * .05,
             "as_uap_latent": _RNG.normal(size=(n, _D)) * .05,
             "robust_acc": np.tile([1.0, .8, .5, .2], (n, 1)) + _RNG.normal(size=(n, 4)) * .01})
  rows = [{"summary": {"s_rand_acc": {"mean": 0.5}, "sc_rand_acc": {"mean": 1.0}}}]
  writer = RunWriter(str(tmp_path), config=None)
  draw_quietly(attacks_synthetic.cell_figures, cell, outcome, rows, writer)
  return writer


def _handle_line(handle):
  return handle.lines[0] if isinstance(handle, ErrorbarContainer) else handle


def test_robust_accuracy_chance_line_lies_under_the_data_and_the_title_is_shown_once(
    tmp_path, drawn):
  writer = _attack_cell(tmp_path)
  names = [name for name, _ in writer.figures]
  assert names == ["uap_latent_lms5.png", "robust_accuracy_lms5.png"]
  fig = drawn[names.index("robust_accuracy_lms5.png")]
  (ax,) = fig.axes
  lines = {label: _handle_line(h) for h, label in zip(*ax.get_legend_handles_labels())}
  chance = lines.pop("chance")
  s_rand = lines["S-randomized 0.50"]
  assert s_rand.get_ydata()[0] == chance.get_ydata()[0] == 0.5
  for label, line in lines.items():
    assert chance.get_zorder() < line.get_zorder(), label
    assert chance.get_linewidth() < line.get_linewidth(), label
    assert matplotlib.colors.to_rgba(chance.get_color()) != matplotlib.colors.to_rgba(
        line.get_color()), label
  assert chance.get_linestyle() != s_rand.get_linestyle()
  titles = [ax.get_title(loc) for loc in ("left", "center", "right") if ax.get_title(loc)]
  titles += [fig.get_suptitle()] if fig.get_suptitle() else []
  assert len(titles) == 1 and titles[0].count("lms5") == 1, titles
  # ... and the UAP heat map's seed axis: the seeds themselves, one tick each.
  uap = drawn[names.index("uap_latent_lms5.png")]
  for heat in _seed_axes(uap):
    assert [t.get_text() for t in heat.get_yticklabels()] == ["3", "4"]
    assert list(heat.get_yticks()) == [0, 1]


def test_multi_panel_curves_keep_one_suptitle_and_panel_titles(tmp_path, drawn):
  draw, args, kwargs = CASES["accuracy_vs_eps"]
  draw_quietly(draw, str(tmp_path / "a.png"), *args, **kwargs)
  (fig,) = drawn
  assert fig.get_suptitle() == "accuracy under attack"
  assert [ax.get_title() for ax in fig.axes] == ["fcn(100,1)", "fcn(300,1)"]
  # The same key gets the same colour in every panel.
  colours = [{label: _handle_line(h).get_color()
              for h, label in zip(*ax.get_legend_handles_labels())} for ax in fig.axes]
  assert colours[0]["S-randomized 0.50"] == colours[1]["S-randomized 0.51"]


def test_mathtext_writes_raw_s_c_only():
  assert figures.mathtext("latent 1 (S^c)") == "latent 1 (S$^c$)"
  assert figures.mathtext("S^c-randomized, S^c-rand") == "S$^c$-randomized, S$^c$-rand"
  for text in ("S$^c$-randomized", "$S^c$", "logit$_1$ − logit$_0$ S", "no caret"):
    assert figures.mathtext(text) == text
  assert figures.mathtext("$x$ and S^c") == "$x$ and S$^c$"


def _boundary_outcome(points, seeds=(0, 1)):
  """A fake synthetic_sb outcome: ``points`` x ``seeds`` members, decision grids only."""
  layout = Layout(seeds=tuple(seeds), num_points=len(points))
  m, n, dim, res = layout.num_members, 60, 5, 16
  grid = np.linspace(-1, 1, res)
  info = SimpleNamespace(name="lms5", simple=[0], complex=[1, 2, 3, 4], dim=dim)
  data = SimpleNamespace(info=info, y_test=_RNG.integers(0, 2, (m, n)),
                         x_test=_RNG.uniform(-1, 1, (m, n, dim)),
                         rotation=np.broadcast_to(np.eye(dim), (m, dim, dim)))
  boundary = (np.tile(grid, (m, 1)), np.tile(grid, (m, 1)),
              np.broadcast_to(np.add.outer(grid, grid), (m, res, res)))
  return SimpleNamespace(data=data, layout=layout, points=points, evals={"boundary": boundary})


def test_per_grid_point_figures_are_named_by_their_values(tmp_path, drawn):
  from simplicity_bias.experiments import synthetic_sb
  points = [{"slab_margin": 0.05}, {"slab_margin": 0.1}, {"slab_margin": 0.15}]
  writer = RunWriter(str(tmp_path), config=None)
  draw_quietly(synthetic_sb.cell_figures, None, _boundary_outcome(points), [{}] * 3, writer)
  names = [name for name, _ in writer.figures]
  assert names == [f"decision_boundary_slab_margin_{v}.png" for v in (0.05, 0.1, 0.15)]
  for (name, caption), point in zip(writer.figures, points):
    assert os.path.getsize(tmp_path / name) > 0
    assert f"slab_margin={point['slab_margin']:g}" in caption
  for fig in drawn:
    (ax, _) = fig.axes  # the boundary and its colour bar
    assert ax.get_ylabel() == "latent 1 (S$^c$)" and not _raw_sc(ax.get_xlabel())
    assert not overlaps(fig)


def test_a_run_without_grid_keeps_plain_figure_names(tmp_path, drawn):
  from simplicity_bias.experiments import synthetic_sb
  writer = RunWriter(str(tmp_path), config=None)
  draw_quietly(synthetic_sb.cell_figures, None, _boundary_outcome([{}]), [{}], writer)
  assert [name for name, _ in writer.figures] == ["decision_boundary.png"]


def test_point_suffix_is_unique_and_file_safe():
  assert figures.point_suffix({}) == ""
  assert figures.point_suffix({"slab_margin": 0.1}) == "_slab_margin_0.1"
  assert figures.point_suffix({"linear_margin": 0.1, "slab_margin": 1e-05}) == \
      "_linear_margin_0.1_slab_margin_1e-05"
  # Values that print alike at 6 digits (point_label's :g) still get distinct names.
  assert figures.point_suffix({"m": 0.1}) != figures.point_suffix({"m": 0.1000001})
  assert re.fullmatch(r"[A-Za-z0-9._\-]+", figures.point_suffix({"a b/c": "x:y"}))


# -- the experiments' own figures, drawn by their `:smoke` runs ----------------------------------

def _one_config_per_experiment():
  """The first claim config of each experiment: every figure an experiment draws, drawn once
  (its other configs draw the same figures of other data)."""
  from simplicity_bias.experiments import claim_configs
  seen = {}
  for config, experiment in claim_configs():
    seen.setdefault(experiment, config)
  return list(seen.values())


# Warnings of figure drawing: matplotlib's own (layout, glyphs, ...) or a layout message.
_LAYOUT = re.compile(r"tight_layout|constrained_layout|constrained layout|overlap|[Gg]lyph")


@pytest.mark.slow
@pytest.mark.parametrize("name", smoke_params(_one_config_per_experiment()))
def test_smoke_run_draws_its_figures_without_layout_warnings(name, tmp_path):
  from simplicity_bias import pipeline
  config = smoke_config(name)
  workdir = tmp_path / "run"
  with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    pipeline.run(config, str(workdir), progress=False)
  drawing = [f"{w.category.__name__}: {w.message} ({w.filename}:{w.lineno})" for w in caught
             if "matplotlib" in w.filename or _LAYOUT.search(str(w.message))]
  assert not drawing, drawing
  report = (workdir / "report.md").read_text(encoding="utf-8")
  listed = re.findall(r"\]\(([^)]+\.png)\)", report)
  assert listed, "the report shows no figure"
  for figure in listed:
    assert (workdir / figure).stat().st_size > 0, figure
  assert sorted(listed) == sorted(p.name for p in workdir.glob("*.png"))
