"""Present results: a terminal table, the JSON report, and a PNG chart beside the published
reference figures (from `../shared/data/README.md`)."""

from __future__ import annotations

import json
from pathlib import Path

from coach.core.errors import CoachError

# Published figures (see the data README). EPITOME: the authors' fine-tuned RoBERTa, macro-F1.
EPITOME_REFERENCE = {
    "emotional_reactions": 0.764,
    "interpretations": 0.657,
    "explorations": 0.717,
}
# The acceptance targets for EPITOME macro-F1 (issue 9); ESConv's and AnnoMI's are
# with their codes in coach/evaluation/codes.py.
EPITOME_GOAL = {"emotional_reactions": 0.72, "interpretations": 0.62, "explorations": 0.68}
# Lend an Ear, quadratic-weighted kappa against the experts' mean on the real set.
LAE_REFERENCE = {
    "validating_emotions": {"llm": 0.63, "crowd": 0.32, "experts": (0.25, 0.58)},
    "encouraging_elaboration": {"llm": 0.86, "crowd": 0.43, "experts": (0.62, 0.73)},
    "demonstrating_understanding": {"llm": 0.59, "crowd": 0.14, "experts": (0.37, 0.47)},
    "advice_giving": {"llm": 0.66, "crowd": 0.33, "experts": (0.54, 0.70)},
    "self_oriented": {"llm": 0.69, "crowd": 0.37, "experts": (0.52, 0.82)},
    "dismissing_emotions": {"llm": 0.17, "crowd": 0.12, "experts": (0.35, 0.51)},
}


def _ci(m: dict, key: str) -> str:
    ci = m.get(key)
    return f"[{ci[0]:.2f}, {ci[1]:.2f}]" if ci else ""


def table_lines(report: dict) -> list[str]:
    """Human-readable lines: one per dimension, with the reference where there is one."""
    lines = [f"judge: {report['judge']}   model: {report['model']}"]
    ds = report["datasets"]
    if "epitome" in ds:
        lines += [
            "",
            "EPITOME (levels 0-2)    macro-F1  95% CI        acc     n   ref F1  goal",
        ]
        for mech, ref in EPITOME_REFERENCE.items():
            m = ds["epitome"].get(mech)
            if not m:
                continue
            lines.append(
                f"  {mech:<21} {m['macro_f1']:.3f}    {_ci(m, 'macro_f1_ci95'):<13} "
                f"{m['accuracy']:.3f} {m['n']:>5}   {ref:.3f}   >= {EPITOME_GOAL[mech]:.2f}"
            )
            halves = [f"{h}: {m[f'half_{h}']['macro_f1']:.3f}" for h in "AB" if f"half_{h}" in m]
            if halves:
                lines.append(f"  {'':<21} halves {'  '.join(halves)}")
            if "rubric_only" in m:
                lines.append(
                    f"  {'':<21} rubric criterion alone: F1 {m['rubric_only']['macro_f1']:.3f}"
                )
    if "lend_an_ear" in ds:
        lines += [
            "",
            "Lend an Ear (1-5)               QWK    Spearman  n   QWK mean-rule  ref QWK (LLM)",
        ]
        for dim, ref in LAE_REFERENCE.items():
            m = ds["lend_an_ear"].get(dim)
            if m:
                mean = f"{m['mean']['qwk']:>9.3f}" if "mean" in m else f"{'':>9}"
                lines.append(
                    f"  {dim:<28} {m['qwk']:>6.3f} {m['spearman']:>8.3f} {m['n']:>4}   "
                    f"{mean}      {ref['llm']:.2f}"
                )
        if ds["lend_an_ear"].get("rule"):
            lines.append(
                f"  conversation score: {ds['lend_an_ear']['rule']} "
                "(1 + peak + 2 x share of turns; see coach/evaluation/scoring.py)"
            )
    for key, title in (("esconv", "ESConv strategies"), ("annomi", "AnnoMI MI codes")):
        if key in ds:
            lines += ["", *_detection_lines(title, ds[key])]
    if "gold" in ds:
        lines += ["", "Gold set (scenario examples)   accuracy  macro-F1  n"]
        for key, m in ds["gold"].items():
            if isinstance(m, dict) and "accuracy" in m:
                lines.append(
                    f"  {key:<28} {m['accuracy']:.3f}     {m['macro_f1']:.3f}  {m['n']:>4}"
                )
    for name, d in ds.items():
        left_out = [f"{d[k]} {k}" for k in ("fallback", "unscored") if d.get(k)]
        if left_out:
            # Fallback ratings are the rules' grades, not the model's: shown, never counted.
            lines.append(
                f"{name}: {d.get('n_items', 0)} items rated by the judge; left out of the "
                f"figures: {', '.join(left_out)}"
            )
    rob = report.get("robustness")
    if rob:
        lines += ["", "Robustness suites              held / cases"]
        for name, s in rob.items():
            if isinstance(s, dict) and "held" in s:
                lines.append(f"  {name:<28} {s['held']} / {s['cases']}")
    adv = report.get("adversarial")
    if adv:
        lines += ["", f"Adversarial suites ({adv['directory']})   passed / cases"]
        for name, s in adv["suites"].items():
            lines.append(f"  {name:<28} {s['passed']} / {s['cases']}")
        lines.append(f"  {'all':<28} {adv['passed']} / {adv['cases']}")
    for name, why in report.get("skipped", {}).items():
        lines.append(f"skipped {name}: {why}")
    for name, c in report.get("crosscheck", {}).items():
        lines += [
            "",
            f"Built-in rules vs the model judge on {name}: sharp disagreement on "
            f"{c['disagree']} of {c['compared']} replies"
            + (
                f"; nearer the human label: model {c['model_nearer']}, "
                f"built-in {c['builtin_nearer']}, tied {c['ties']}"
                if c["model_nearer"] + c["builtin_nearer"] + c["ties"]
                else ""
            ),
        ]
    return lines


def _detection_lines(title: str, d: dict) -> list[str]:
    """One line per code: precision, recall, F1 with its interval, and the issue's goal."""
    lines = [f"{title + ' (one-vs-rest)':<33} P      R      F1     95% CI         n+   goal"]
    for key, m in d.items():
        if not (isinstance(m, dict) and "f1" in m):
            continue
        goal = f">= {m['goal']:.2f}" if m.get("goal") is not None else ""
        lines.append(
            f"  {key:<30} {m['precision']:.3f}  {m['recall']:.3f}  {m['f1']:.3f}  "
            f"{_ci(m, 'f1_ci95'):<13} {m['gold_positive']:>4}   {goal}".rstrip()
        )
    ratio = d.get("ratio")
    if ratio:
        lines.append(
            f"  reflection-to-question ratio, per transcript: Spearman {ratio['spearman']:.3f} "
            f"{_ci(ratio, 'spearman_ci95')} over {ratio['n']} transcripts"
        )
        if ratio["left_out"]:
            lines.append(
                f"  ({ratio['left_out']} transcripts left out: no reflection or question "
                "counted by the judge or the experts)"
            )
    if d.get("note"):
        lines.append(f"  note: {d['note']}")
    return lines


def _detection_panel(ax, d: dict, judge: str) -> list[str]:
    """F1 per code with its 95% interval, and the issue's goal as a tick; returns the codes."""
    dims = [k for k, m in d.items() if isinstance(m, dict) and "f1" in m]
    ours = [d[k]["f1"] for k in dims]
    cis = [d[k].get("f1_ci95", [o, o]) for o, k in zip(ours, dims, strict=True)]
    err = [
        [o - c[0] for o, c in zip(ours, cis, strict=True)],
        [c[1] - o for o, c in zip(ours, cis, strict=True)],
    ]
    ax.bar(range(len(dims)), ours, 0.6, yerr=err, capsize=3, label=judge)
    goals = [(i, d[k]["goal"]) for i, k in enumerate(dims) if d[k].get("goal") is not None]
    if goals:
        ax.scatter([i for i, _ in goals], [g for _, g in goals], marker="_", s=400,
                   color="k", label="goal (issue 9)", zorder=3)
    return dims


def _cannot_write(path: Path, e: OSError) -> CoachError:
    return CoachError(f"{path}: cannot write ({e.strerror or e})")


def write_json(report: dict, path: Path) -> None:
    """Write the report, creating the folder.

    Raises:
        CoachError: the file or its folder cannot be written.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    except OSError as e:
        raise _cannot_write(path, e) from None


def write_chart(report: dict, path: Path) -> str | None:
    """Draw per-dimension agreement beside the references; returns why it was skipped, if so.

    Raises:
        CoachError: the file or its folder cannot be written.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ModuleNotFoundError:
        return "matplotlib is not installed"
    ds = report["datasets"]
    panels = [k for k in ("epitome", "lend_an_ear", "esconv", "annomi") if k in ds]
    if not panels:
        return "no EPITOME, Lend an Ear, ESConv or AnnoMI results to chart"
    cols = 2 if len(panels) == 4 else min(3, len(panels))  # more panels wrap onto rows
    rows = -(-len(panels) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(7 * cols, 4.5 * rows), squeeze=False)
    for extra in axes.flat[len(panels):]:
        extra.set_visible(False)
    for ax, name in zip(axes.flat, panels, strict=False):
        if name == "epitome":
            dims = [d for d in EPITOME_REFERENCE if d in ds[name]]
            ours = [ds[name][d]["macro_f1"] for d in dims]
            cis = [
                ds[name][d].get("macro_f1_ci95", [o, o]) for o, d in zip(ours, dims, strict=True)
            ]
            err = [
                [o - c[0] for o, c in zip(ours, cis, strict=True)],
                [c[1] - o for o, c in zip(ours, cis, strict=True)],
            ]
            x = range(len(dims))
            ax.bar([i - 0.2 for i in x], ours, 0.4, yerr=err, capsize=3, label=report["judge"])
            ax.bar(
                [i + 0.2 for i in x],
                [EPITOME_REFERENCE[d] for d in dims],
                0.4,
                label="RoBERTa (authors)",
                color="#bbb",
            )
            ax.set_title("EPITOME: macro-F1")
        elif name in ("esconv", "annomi"):
            dims = _detection_panel(ax, ds[name], report["judge"])
            ax.set_title(f"{'ESConv strategies' if name == 'esconv' else 'AnnoMI codes'}: F1")
        else:
            dims = [d for d in LAE_REFERENCE if d in ds[name]]
            x = range(len(dims))
            ax.bar(
                [i - 0.27 for i in x],
                [ds[name][d]["qwk"] for d in dims],
                0.27,
                label=report["judge"],
            )
            ax.bar(
                list(x),
                [LAE_REFERENCE[d]["llm"] for d in dims],
                0.27,
                label="LLM judges (published)",
                color="#999",
            )
            ax.bar(
                [i + 0.27 for i in x],
                [LAE_REFERENCE[d]["crowd"] for d in dims],
                0.27,
                label="crowd workers",
                color="#ddd",
            )
            for i, d in enumerate(dims):
                lo, hi = LAE_REFERENCE[d]["experts"]
                ax.plot([i, i], [lo, hi], color="k", lw=3, alpha=0.5)
            ax.plot([], [], color="k", lw=3, alpha=0.5, label="expert vs expert range")
            ax.set_title("Lend an Ear: quadratic-weighted kappa")
        ax.set_xticks(list(range(len(dims))))
        ax.set_xticklabels([d.replace("_", "\n") for d in dims], fontsize=8)
        ax.set_ylim(min(0, *(b.get_height() for b in ax.patches)) - 0.05, 1)
        ax.axhline(0, color="k", lw=0.5)
        ax.legend(fontsize=7)
    fig.tight_layout()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=110)
    except OSError as e:
        raise _cannot_write(path, e) from None
    finally:
        plt.close(fig)
    return None
