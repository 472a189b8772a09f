"""The REPRODUCTION.md table: every claim of the ledger (``reproduction/ledger/``) judged on its
config's record, split by kind (the paper's claims / extensions) and setting (paper / reduced),
with the amendments, the runs behind the records and what each paper-size preset costs.

A record from a run under the ledger (``ledger_version``) keeps every claim's spec hash and
per-seed values: the table judges those values under the ledger's current spec, and marks a row
whose spec was amended after the record was made. A record from before the ledger (no spec hash,
no per-seed values: *legacy*) is judged from its stored mean ± CI under the same rule and is
labelled so until its config is rerun.
"""

import datetime
import json
import os
from typing import Dict, List, Optional, Sequence

from simplicity_bias.report import ledger as ledger_lib
from simplicity_bias.validation import ConfigError

RECORD = "reproduction.json"  # one config's claims and run, in WORKDIR/<name>/


def _load_record(workdir: str, name: str, records_dir=None):
  path = os.path.join(workdir, name, RECORD)
  if not os.path.exists(path) and records_dir:
    path = os.path.join(records_dir, f"{name}.json")
  if not os.path.exists(path):
    return None
  with open(path, encoding="utf-8") as f:
    return json.load(f)


def _setting_of_run(name: str, run: Dict, claims_ledger: Optional[Dict]) -> Dict:
  if "setting" in run:
    return {"setting": run["setting"], "differs": run.get("differs", "")}
  if claims_ledger is None:
    return {"setting": "reduced", "differs": "unknown (no ledger)"}
  preset = run.get("preset") or "default"
  try:
    from simplicity_bias.configs import load_config
    return ledger_lib.setting(claims_ledger, load_config(name, "" if preset == "default"
                                                         else preset),
                              load_config(name, ""), preset)
  except (ConfigError, ValueError) as e:  # a legacy preset that no longer exists
    return {"setting": "reduced", "differs": f"unknown ({e})"}


def judge_record(name: str, record: Dict, claims_ledger: Optional[Dict],
                 amendments: Sequence[Dict] = ()) -> List[Dict]:
  """The rows of one config: every claim of ``record`` whose spec is still in the ledger, judged
  under the ledger's current spec (see the module docstring)."""
  run = record["run"]
  preset = run.get("preset") or "default"
  preset = "default" if preset in ("", "default") else preset
  setting = _setting_of_run(name, run, claims_ledger)
  legacy = "ledger_version" not in record
  current = {ledger_lib.claim_id(s): s for s in (claims_ledger or {}).get("claims", [])}
  out = []
  for c in record["claims"]:
    cid = c.get("id") or f"{c.get('row') or c['claim'].split(':')[0]} | {c['metric']}"
    spec = current.get(cid)
    if claims_ledger is not None and spec is None:
      continue  # dropped from the ledger (the amendments list says why)
    if legacy:
      old = {"row": cid.split(" | ")[0], "metric": c["metric"], "band": c["band"],
             "kind": c.get("kind", "paper")}
      spec = spec or {**old, "statement": c["claim"], "published": c["published"]}
      verdict, reason = ledger_lib.verdict(c["mean"], c["ci95"], c["seeds"], spec["band"],
                                           spec.get("bounds"))
      if (c.get("reason") or "").startswith("counts only if"):
        verdict, reason = "fail", c["reason"]
      if spec.get("counts_at") and preset not in spec["counts_at"] and verdict != "fail":
        verdict, reason = "inconclusive", (f"decided only by a run of the "
                                           f"{' or '.join(spec['counts_at'])} preset")
      if spec.get("untestable") or spec.get("testable_if"):
        verdict, reason = "untestable", spec.get("untestable") or (
            f"only if {spec['testable_if']['meaning']}: no control in this legacy record")
      changed = ledger_lib.legacy_view(old) != ledger_lib.legacy_view(spec)
      row = {**ledger_lib.spec_of(spec), "mean": c["mean"], "ci95": c["ci95"],
             "seeds": c["seeds"], "verdict": verdict, "reason": reason}
    else:
      spec = spec or c
      changed = ledger_lib.spec_hash(spec) != c["spec_hash"]
      other = ({spec["metric"]: c["per_seed"].get(f"{spec['metric']}[{spec['below']}]")}
               if spec.get("below") else None)
      row = ledger_lib.judge_one(spec, c["per_seed"], preset, other) if (
          spec["metric"] in c["per_seed"]) else {**c, **ledger_lib.spec_of(spec)}
    why = [a for a in amendments if a["config"] == name and a["id"] == cid]
    row.update({"config": name, "id": cid, "legacy": legacy, "amended": bool(changed),
                "amended_after_result": bool(changed) and any(a.get("result_seen")
                                                              for a in why),
                **setting})
    out.append(row)
  return out


def collect(workdir: str, names, records_dir=None, ledger_dir=None, amendments=None):
  """Judged claims and runs of every record in ``workdir`` (else in ``records_dir``), in
  registry order; configs with neither are 'not run yet'."""
  amendments = ledger_lib.load_amendments() if amendments is None else amendments
  claims, runs = [], []
  for name in names:
    record = _load_record(workdir, name, records_dir)
    path = ledger_lib.ledger_path(name, ledger_dir)
    claims_ledger = ledger_lib.load(name, ledger_dir) if os.path.exists(path) else None
    if record is None:
      runs.append({"name": name, "status": "not run yet"})
      continue
    claims += judge_record(name, record, claims_ledger, amendments)
    runs.append({**record["run"], "legacy": "ledger_version" not in record})
  return claims, runs


def training_time_so_far(run_dir: str) -> float:
  """Seconds of training an interrupted run in ``run_dir`` already did: the last ``elapsed_s`` of
  each cell in its ``metrics.jsonl`` (cells train one after another), 0 without one. A resumed
  run's wall time adds this to its own, so a record counts every segment."""
  path = os.path.join(run_dir, "metrics.jsonl")
  if not os.path.exists(path):
    return 0.0
  last = {}
  with open(path, encoding="utf-8") as f:
    for line in f:
      if line.strip():
        r = json.loads(line)
        if "elapsed_s" in r:
          last[r.get("cell", "")] = max(last.get(r.get("cell", ""), 0.0), float(r["elapsed_s"]))
  return float(sum(last.values()))


def _cell(c) -> str:
  if c["seeds"] == 1:
    return f"{c['mean']:.3f} (n = 1)"
  return f"{c['mean']:.3f} ± {c['ci95']:.3f}"


def _verdict(c) -> str:
  v = c["verdict"]
  text = {"pass": "pass", "fail": "**fail**", "inconclusive": "inconclusive",
          "untestable": "not testable"}.get(v, v)
  if c.get("reason"):
    text += f": {c['reason']}"
  marks = []
  if c.get("amended"):
    marks.append("amended after its result" if c.get("amended_after_result") else "amended")
  if c.get("legacy"):
    marks.append("legacy record")
  return text + (f" ({'; '.join(marks)})" if marks else "")


def _claim_line(c) -> str:
  if c.get("below"):
    band = f"below `{c['below']}`"
  else:
    band = f"[{c['band'][0]:.2f}, {c['band'][1]:.2f}]"
  published = c["published"] + (f" ({c['source']})" if c.get("source") else "")
  return (f"| {c['statement']} (`{c['metric']}`) | {published} | {_cell(c)} | {c['seeds']} | "
          f"{band} | {c.get('setting', '—')} | {_verdict(c)} |")


def tally(claims) -> Dict[str, int]:
  return {v: sum(c["verdict"] == v for c in claims) for v in ledger_lib.VERDICTS}


def _tally_text(claims) -> str:
  t = tally(claims)
  counted = len(claims) - t["untestable"]
  return (f"{t['pass']} pass, {t['fail']} fail, {t['inconclusive']} inconclusive of "
          f"{counted}")


def table(claims, runs, costs, amendments: Optional[Sequence[Dict]] = None) -> str:
  """The markdown of REPRODUCTION.md; ``costs``: {config name: (its default preset's cost, its
  reduced variant)}, as ``simplicity_bias.report.costs.table_cells`` gives them."""
  amendments = ledger_lib.load_amendments() if amendments is None else amendments
  paper = [c for c in claims if c.get("kind", "paper") == "paper"
           and c["verdict"] != "untestable"]
  in_paper_setting = [c for c in paper if c.get("setting") == "paper"]
  reduced = [c for c in paper if c.get("setting") != "paper"]
  untestable = [c for c in claims if c["verdict"] == "untestable"]
  extensions = [c for c in claims if c.get("kind") == "extension"
                and c["verdict"] != "untestable"]
  amended_passes = sum(c["verdict"] == "pass" and bool(c.get("amended_after_result"))
                       for c in paper)
  legacy = sum(bool(c.get("legacy")) for c in paper)
  header = ["| claim | published (source) | ours | seeds | band | setting | verdict |",
            "|---|---|---|---|---|---|---|"]
  lines = [
      "# Reproduction of the papers' claims",
      "",
      f"Generated by `python launch/reproduce.py` (rendered {datetime.date.today().isoformat()}; "
      "each run's preset, machine, commit and date are in the Runs table). Every claim is "
      "specified before its run in the claim ledger (`reproduction/ledger/<config>.json`: "
      "statement, published value and source, band, kind, conditions). Every value is the mean "
      "± 95% CI (Student t) over the seeds trained together. A claim **passes** when the whole "
      "interval lies in its band, **fails** when it lies wholly outside, and is "
      f"**inconclusive** otherwise or with fewer than {ledger_lib.MIN_SEEDS} seeds; a claim that "
      "requires a condition (the model learned the task) fails when the condition fails. A "
      "claim run with a smaller model, fewer points, a shorter budget or weaker attacks than "
      "the paper's row is in the **reduced** setting and tallied apart; extensions are cells "
      "the paper never ran. Wall times include whatever else the machine ran at the time.",
      "",
      f"**Paper setting: {_tally_text(in_paper_setting)}. Reduced setting: "
      f"{_tally_text(reduced)}.** Of the passes, {amended_passes} rest on a spec amended after "
      f"its result was seen (see Amendments). {len(untestable)} claims are not testable as run "
      "(listed below). "
      + (f"{legacy} counted claims come from records made before the ledger (no spec hash, no "
         "per-seed values: judged from their stored mean ± CI, marked \"legacy record\") and "
         "await a rerun." if legacy else ""),
      "",
      "## The paper's claims, in the paper's setting",
      "",
  ]
  lines += (header + [_claim_line(c) for c in in_paper_setting]) if in_paper_setting else [
      "None yet: every counted claim so far ran in a reduced setting (the default presets run "
      "the paper's; most need a GPU)."]
  lines += ["", "## The paper's claims, in a reduced setting", "",
            "What differs from the paper's setting is listed per config in the Runs table.", ""]
  lines += header + [_claim_line(c) for c in reduced]
  if untestable:
    lines += ["", "## Not testable as run (reported, not tallied)", ""] + header + [
        _claim_line(c) for c in untestable]
  if extensions:
    lines += ["", "## Extensions (reported, not counted)", ""] + header + [
        _claim_line(c) for c in extensions]
  lines += ["", "## Amendments", "",
            "Changes of a claim's spec after a record existed (`reproduction/amendments.json`); "
            "\"seen\": whether a result of the claim had been seen when it was changed.", "",
            "| config | claim | date | change | seen | why |", "|---|---|---|---|---|---|"]
  for a in amendments:
    lines.append(f"| `{a['config']}` | {a['id']} | {a['date']} | {_change(a)} | "
                 f"{'yes' if a.get('result_seen') else 'no'} | {a['why']} |")
  notes = [(r["name"], _notes(r["name"])) for r in runs]
  if any(n for _, n in notes):
    lines += ["", "## Notes per config", "",
              "Evidence, what was tried when a claim did not reproduce, and our readings "
              "(the ledger's `notes`).", ""]
    for name, text in notes:
      if text:
        lines += [f"### `configs/{name}.py`", ""] + [f"- {t}" for t in text] + [""]
    lines.pop()
  lines += ["", "## Published claims with no row yet", "",
            "(`reproduction/not_run.json`)", "", "| claim | source | why |", "|---|---|---|"]
  lines += [f"| {n['claim']} | {n['source']} | {n['reason']} |"
            for n in ledger_lib.load_not_run()]
  not_run = [r for r in runs if not r["status"].startswith("ok")]
  lines += ["", "## Not run", ""]
  if not_run:
    lines += [f"- `configs/{r['name']}.py`: {r['status']}" for r in not_run]
  else:
    lines.append("Every config ran.")
  lines += ["", "## Runs", "",
            "| config | preset | setting (what differs from the paper's) | seeds | machine | "
            "commit | load (1 min, start → end) | date | wall time | result |",
            "|---|---|---|---|---|---|---|---|---|---|"]
  for r in runs:
    wall = f"{r['wall_s'] / 60:.1f} min" if r.get("wall_s") is not None else "—"
    if r.get("resumed_after_s"):
      wall += " (resumed)"
    setting = r.get("setting", "—")
    if r.get("differs"):
      setting += f": {r['differs']}"
    if r.get("legacy"):
      setting += " (legacy record: setting computed from today's presets)"
    load = (f"{r['load_start']:.2f} → {r['load_end']:.2f}" if "load_start" in r else "—")
    commit = f"`{r['commit'][:10]}`" if r.get("commit") else "—"
    lines.append(f"| `configs/{r['name']}.py` | {r.get('preset', '—')} | {setting} | "
                 f"{r.get('num_seeds', '—')} | {r.get('machine', '—')} | {commit} | {load} | "
                 f"{r.get('date', '—')} | {wall} | {r['status']} |")
  lines += ["", "## The paper-size (default) presets", "",
            "A cost is the wall time of a recorded run of that preset (or of a preset with the "
            "same config); otherwise \"not measured\", with what the benchmarks "
            "(`benchmarks/*.json`) support and the constraint the config states "
            "(`simplicity_bias/report/costs.py` reads them).", "",
            "| config | default preset's cost | reduced variant |", "|---|---|---|"]
  for name, (cost, reduced_cost) in costs.items():
    lines.append(f"| `configs/{name}.py` | {cost} | {reduced_cost} |")
  lines.append("")
  return "\n".join(lines)


def _notes(name: str) -> List[str]:
  path = ledger_lib.ledger_path(name)
  return ledger_lib.load(name).get("notes", []) if os.path.exists(path) else []


def _change(a: Dict) -> str:
  old, new = a.get("old"), a.get("new")
  if old is None:
    return "added"
  if new is None:
    return "removed"
  keys = [k for k in ledger_lib.SPEC_FIELDS if old.get(k) != new.get(k)]
  return "; ".join(f"{k}: {_short(old.get(k))} → {_short(new.get(k))}" for k in keys)


def _short(value) -> str:
  text = "—" if value is None else json.dumps(value, ensure_ascii=False)
  return text if len(text) <= 60 else text[:57] + "..."
