"""Text, Markdown and JSON views of ratings, sessions and comparisons.

Pure functions returning strings or plain dicts; the CLI prints them, the app reuses the
Markdown and JSON exports.
"""

from __future__ import annotations

import datetime as dt
import json

from coach.core.metrics import MITI_NORMS, Debrief, debrief
from coach.core.rubric import BY_KEY, CRITERIA, Rating
from coach.core.scenario import Scenario
from coach.core.session import Comparison, Tree, Turn, shown_delta, user_turns
from coach.core.wording import ending_words, worded

DOTS = {0: "○○", 1: "●○", 2: "●●"}


def when(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M")


# The words of every view (coach.core.wording): a "branch" of a conversation (the CLI's
# --branch), a "reply" of the user's, numbered from 1.


def branch_label(tree: Tree, branch: int) -> str:
    """A branch of the conversation in plain words, e.g. for a select box or a heading."""
    fork = tree.fork_of(branch)
    if fork is None:
        return f"Branch {branch} (the original conversation)"
    return f"Branch {branch} (a different reply {fork[1]}, starting from branch {fork[0]})"


def score_word(overall: float | None) -> str:
    """A score in words, as the app shows it beside the number."""
    if overall is None:
        return "not scored"
    if overall >= 75:
        return "strong listening"
    if overall >= 50:
        return "on the way"
    return "room to grow"


SUGGESTED_NOTE = "You sent the coach's suggested reply unchanged: this score rates its words."
BETTER_REPLY = "A reply that would land better"
FLAGS_WORD = "Watch out"


def metric_rows(m) -> list[dict[str, str]]:
    """The debrief's session measures against the MITI norms, as the app's table shows them."""
    rq, cr = MITI_NORMS["reflection_to_question"], MITI_NORMS["complex_reflection_share"]
    return [
        {
            "Measure": "Reflections per question",
            "You": "–" if m.reflection_to_question is None else f"{m.reflection_to_question:.1f}",
            "Fair": f"{rq['fair']:.0f}",
            "Good": f"{rq['good']:.0f}",
            "You are": _band(m, "reflection_to_question"),
        },
        {
            "Measure": "Reflections that add meaning",
            "You": "–" if m.complex_reflection_share is None else _pct(m.complex_reflection_share),
            "Fair": f"{cr['fair']:.0%}",
            "Good": f"{cr['good']:.0%}",
            "You are": _band(m, "complex_reflection_share"),
        },
        {
            "Measure": "Open questions (of all questions)",
            "You": "–" if m.open_question_share is None else _pct(m.open_question_share),
            "Fair": "–",
            "Good": "more is better",
            "You are": "–",
        },
        {
            "Measure": "Advice before validating",
            "You": str(m.advice_before_validation),
            "Fair": "–",
            "Good": "0",
            "You are": "good" if m.advice_before_validation == 0 else "try fewer",
        },
    ]


def _band(m, name: str) -> str:
    # nothing counted yet: no band, and no "n/a" beside the dash the value shows
    return "–" if getattr(m, name) is None else m.miti_band(name)


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.0%}"


def _q(text: str, width: int = 70) -> str:
    text = " ".join(text.split())
    return f'"{text if len(text) <= width else text[: width - 1] + "…"}"'


def rating_lines(rating: Rating, *, indent: str = "  ") -> list[str]:
    """A rating as terminal lines: levels with evidence, flags, tip, better reply."""
    if rating.status == "withheld":
        return [indent + line for line in rating.tip.splitlines()]
    if rating.status == "unscored":
        return [f"{indent}Not scored: {rating.reason}"]
    head = f"{indent}Rating {rating.overall:.0f}/100" if rating.overall is not None else indent
    made = rating.source
    src = made.backend + (f" {made.model}" if made.model and made.backend != "heuristic" else "")
    if rating.source.fallback:
        src = "built-in rules: the model's answer was unusable"
    out = [f"{head}  ({src})"]
    for c in CRITERIA:
        s = rating.scores.get(c.key)
        if s is None:
            out.append(f"{indent}  {c.name:<20} --  not scored")
            continue
        # a level without a quote may still have a reason worth a word ("not earned ...")
        ev = _q(s.evidence[0], 60) if s.evidence else f"({s.note})" if s.note else ""
        out.append(f"{indent}  {c.name:<20} {DOTS[s.level]}  {s.level}/2  {ev}".rstrip())
    if rating.flags:
        out.append(f"{indent}Red flags (Gottman's four horsemen): {', '.join(rating.flags)}")
    if rating.disagreement:
        out.append(f"{indent}Judges disagree: {rating.disagreement}")
    for note in rating.notes:
        out.append(f"{indent}Note: {note}")
    if rating.suggested:
        out.append(f"{indent}Note: {SUGGESTED_NOTE}")
    if rating.tip:
        out.append(f"{indent}Tip: {rating.tip}")
    if rating.better_reply:
        out.append(f"{indent}Try instead: {_q(rating.better_reply, 400)}")
    return out


def metric_lines(d: Debrief, *, indent: str = "  ") -> list[str]:
    m = d.metrics

    def pct(x: float | None) -> str:
        return "n/a" if x is None else f"{x:.0%}"

    norms_rq = MITI_NORMS["reflection_to_question"]
    norms_cr = MITI_NORMS["complex_reflection_share"]
    rq, cr = m.reflection_to_question, m.complex_reflection_share
    rq_norms = f"MITI fair {norms_rq['fair']:.0f}:1, good {norms_rq['good']:.0f}:1"
    cr_norms = f"MITI fair {norms_cr['fair']:.0%}, good {norms_cr['good']:.0%}"
    # With nothing to count there is no value and no band: say so, not "n/a (... -> n/a)".
    return [
        f"{indent}Reflections : questions   {m.reflections}:{m.questions} "
        + (f"(no questions yet; {rq_norms})" if rq is None
           else f"({rq:.2f}; {rq_norms} -> {m.miti_band('reflection_to_question')})"),
        f"{indent}Complex reflections      "
        + (f"no reflections yet ({cr_norms})" if cr is None
           else f"{cr:.0%} ({cr_norms} -> {m.miti_band('complex_reflection_share')})"),
        f"{indent}Open-question share      "
        + ("no questions yet" if m.open_question_share is None else pct(m.open_question_share)),
        f"{indent}Advice before validation {m.advice_before_validation}",
        f"{indent}Your share of the words  {pct(m.user_word_share)}",
    ]


def debrief_lines(scenario: Scenario, d: Debrief) -> list[str]:
    out = ["", "=== Debrief ==="]
    if d.ended:
        out.append(f"{scenario.partner.name} {ending_words(d.ended)}.")
    if d.overall is not None:
        out.append(f"Mean score: {d.overall:.0f}/100")
    out.append("Scores per criterion (mean level, 0-2):")
    for c in CRITERIA:
        v = d.mean_levels.get(c.key)
        out.append(f"  {c.name:<20} {'n/a' if v is None else f'{v:.1f}'}")
    out.append("What they needed (hidden until now):")
    out.append("  " + " ".join(d.hidden_need.split()))
    out.append("What went well:")
    out += [f"  + {w}" for w in d.went_well] or ["  (nothing rated yet)"]
    if d.best_reply:
        out.append(f"Your best reply: {_q(d.best_reply, 200)}")
    out.append("What to try next:")
    out += [f"  > {t}" for t in d.try_next] or ["  Keep doing what you did."]
    out.append("Session metrics:")
    out += metric_lines(d)
    return out


def tree_lines(tree: Tree, scenario: Scenario | None) -> list[str]:
    """Every branch of a session, with ratings."""
    name = scenario.partner.name if scenario else "Partner"
    out = [
        f"Session {tree.info.id}: {tree.info.title}",
        f"Started {when(tree.info.created_at)}; {tree.info.backend}",
    ]
    for b in tree.branch_numbers():
        fork = tree.fork_of(b)
        head = f"--- Branch {b}"
        if fork:
            head += f" (replayed from branch {fork[0]}, reply {fork[1]})"
        out += ["", head + " ---"]
        path = tree.path(b)
        start = fork[1] if fork else 0
        for t in path:
            if t.idx < start or (t.role == "partner" and t.idx == start and fork):
                continue
            out += turn_lines(t, name)
    return out


def turn_lines(t: Turn, partner_name: str) -> list[str]:
    if t.role == "partner":
        if t.meta.get("pause"):
            return [t.text]
        tag = f"  [{ending_words(t.ending)}]" if t.ending else ""
        return [f"{partner_name}: {t.text}{tag}"]
    out = [f"You (reply {t.idx}): {t.text}"]
    if t.status != "ok":
        out.append(f"  [{t.status}] {worded(t.error, 'cli')}".rstrip())
    if t.rating is not None:
        out += rating_lines(t.rating, indent="    ")
    return out


def delta_text(a: float | None, b: float | None, digits: int = 0, missing: str = "-") -> str:
    """The change from A to B as shown: "+20", "-0.5", "±0", or `missing` when unrated.

    One function for the CLI and the app, over `session.shown_delta`, so the same comparison
    reads the same number everywhere.
    """
    d = shown_delta(a, b, digits)
    if d is None:
        return missing
    return f"{d:+.{digits}f}" if d else "±0"


def compare_lines(c: Comparison, partner_name: str) -> list[str]:
    """Two branches side by side, reply by reply, with per-criterion deltas (B - A)."""
    w = 48
    out = [f"Compare branch {c.branch_a} (A) with branch {c.branch_b} (B); deltas are B - A", ""]
    for row in c.rows:
        a = row.a.text if row.a else "-"
        b = row.b.text if row.b else "-"
        shared = row.a is not None and row.b is not None and row.a.id == row.b.id
        out.append(f"Reply {row.turn}{'  (shared)' if shared else ''}")
        for la, lb in _zip_wrap(f"A: {a}", f"B: {b}", w):
            out.append(f"  {la:<{w}} | {lb}")
        if row.partner_a or row.partner_b:
            for la, lb in _zip_wrap(
                f"{partner_name}: {row.partner_a or '-'}",
                f"{partner_name}: {row.partner_b or '-'}",
                w,
            ):
                out.append(f"  {la:<{w}} | {lb}")
        if not shared:
            oa = "-" if row.overall_a is None else f"{row.overall_a:.0f}"
            ob = "-" if row.overall_b is None else f"{row.overall_b:.0f}"
            out.append(f"  score A {oa}  B {ob}  delta {delta_text(row.overall_a, row.overall_b)}")
            ds = [f"{BY_KEY[k].name} {v:+d}" for k, v in row.level_deltas.items() if v]
            if ds:
                out.append("  levels: " + ", ".join(ds))
        out.append("")
    out.append(
        f"Per criterion (mean level A -> B, over the {c.turns_compared} replies rated in both):"
    )
    for cr in CRITERIA:
        a, b = c.mean_a.get(cr.key), c.mean_b.get(cr.key)
        fa = "n/a" if a is None else f"{a:.1f}"
        fb = "n/a" if b is None else f"{b:.1f}"
        out.append(f"  {cr.name:<20} {fa:>4} -> {fb:<4} {delta_text(a, b, 1)}")
    oa = "n/a" if c.overall_a is None else f"{c.overall_a:.0f}"
    ob = "n/a" if c.overall_b is None else f"{c.overall_b:.0f}"
    out.append(f"  {'Overall':<20} {oa:>4} -> {ob:<4} {delta_text(c.overall_a, c.overall_b)}")
    out.append(
        f"  Ending: A {ending_words(c.ending_a)}, B {ending_words(c.ending_b)}"
    )
    return out


def _wrap(text: str, width: int) -> list[str]:
    import textwrap

    return textwrap.wrap(" ".join(text.split()), width) or [""]


def _zip_wrap(a: str, b: str, width: int) -> list[tuple[str, str]]:
    wa, wb = _wrap(a, width), _wrap(b, width)
    n = max(len(wa), len(wb))
    return list(zip(wa + [""] * (n - len(wa)), wb + [""] * (n - len(wb)), strict=True))


# ---------------------------------------------------------------- exports


def export_dict(tree: Tree, scenario: Scenario | None) -> dict:
    """The whole session as plain data (stable keys, for `export --format json`)."""
    branches = []
    for b in tree.branch_numbers():
        path = tree.path(b)
        entry: dict = {
            "branch": b,
            "forked_from": tree.fork_of(b),
            "turn_ids": [t.id for t in path],
        }
        if scenario is not None:
            d = debrief(scenario, path)
            entry["debrief"] = {
                "ended": d.ended,
                "overall": d.overall,
                "mean_levels": d.mean_levels,
                "went_well": d.went_well,
                "try_next": d.try_next,
                "metrics": d.metrics.__dict__,
            }
        branches.append(entry)
    return {
        "session": tree.info.__dict__,
        "scenario": scenario.id if scenario else tree.info.scenario_id,
        "hidden_need": scenario.hidden_need if scenario else None,
        "turns": [
            {
                "id": t.id,
                "parent_id": t.parent_id,
                "branch": t.branch,
                "role": t.role,
                "turn": t.idx,
                "text": t.text,
                "status": t.status,
                "error": worded(t.error, "cli"),
                "reading": str(t.reading) if t.reading else None,
                "openness": t.openness,
                "ending": t.ending,
                "rating": t.rating.model_dump() if t.rating else None,
                "created_at": t.created_at,
            }
            for t in tree.turns
        ],
        "branches": branches,
    }


def export_json(tree: Tree, scenario: Scenario | None) -> str:
    return json.dumps(export_dict(tree, scenario), indent=2, ensure_ascii=False)


def _md_escape(text: str) -> str:
    # User text is shown as text, never as markup or raw HTML. Lighter than the app's
    # escaping (coach/app/text.py), which must also defuse Streamlit's own directives: an
    # exported file is read raw as often as rendered, so it escapes only what starts markup.
    # Line breaks are folded so a multi-line tip cannot break out of its "> " quote.
    # Mid-line, only these can start markup: with [ ] escaped, "!" and "(" cannot form an
    # image or a link; "#", "+", "-" matter only at a line start, which is always ours.
    out = " ".join(text.split()).replace("\\", "\\\\")
    for ch in "`*_[]<>|~":
        out = out.replace(ch, "\\" + ch)
    return out


def _md_rating(r: Rating | None, t: Turn) -> list[str]:
    """A reply's rating as a Markdown quote: one block per part, so none folds into another.

    Blank "> " lines separate the blocks: without them a line after the list is a lazy
    continuation of its last item, and Python-Markdown needs a blank line before a list.
    """
    if r is None:
        return [f"> Not rated yet ({_md_escape(worded(t.error, 'app') or t.status)})"]
    if r.status != "scored":
        return [f"> {_md_escape(r.reason or r.status)}"]
    src = "the built-in rules" if r.source.backend == "heuristic" else _md_escape(r.source.backend)
    blocks = [
        [
            f"> **{r.overall:.0f}/100** · {score_word(r.overall)} (rated by {src}"
            + (", as a fallback" if r.source.fallback else "")
            + ")"
        ]
    ]
    items = []
    for c in CRITERIA:
        s = r.scores.get(c.key)
        if s is None:
            continue
        ev = f" — “{_md_escape(s.evidence[0])}”" if s.evidence else ""
        items.append(f"> - {c.name}: {s.level}/2{ev}")
    blocks.append(items)
    if r.flags:
        blocks.append([f"> {FLAGS_WORD}: {', '.join(r.flags)}"])
    if r.disagreement:
        blocks.append([f"> Judges disagree: {_md_escape(r.disagreement)}"])
    if r.suggested:
        blocks.append([f"> *{SUGGESTED_NOTE}*"])
    if r.tip:
        blocks.append([f"> Tip: {_md_escape(r.tip)}"])
    if r.better_reply:
        blocks.append([f"> {BETTER_REPLY}: “{_md_escape(r.better_reply)}”"])
    out: list[str] = []
    for b in blocks:
        if b:
            out += ([">"] if out else []) + b
    return out


def _md_debrief(scenario: Scenario, d: Debrief) -> list[str]:
    """The debrief as Markdown, with the app's headings and words."""
    name = _md_escape(scenario.partner.name)
    out = ["### Debrief", ""]
    if d.ended:
        out += [f"**{name} {ending_words(d.ended)}.**", ""]
    score = "–" if d.overall is None else f"{d.overall:.0f}/100"
    out += [f"Average score: {score} · replies: {d.metrics.replies}", ""]
    out += ["**Scores per skill** (average level, 0 to 2)", ""]
    for c in CRITERIA:
        v = d.mean_levels.get(c.key)
        out.append(f"- {c.name}: {'n/a' if v is None else f'{v:.1f}'}")
    out += ["", "**What they needed** (hidden until now)", ""]
    out += [_md_escape(d.hidden_need), ""]
    out += ["**What went well**", ""]
    out += [f"- {_md_escape(w)}" for w in d.went_well or ["Nothing rated yet."]]
    if d.best_reply:
        out += ["", f"**Your best reply:** “{_md_escape(d.best_reply)}”"]
    out += ["", "**What to try next**", ""]
    out += [f"- {_md_escape(t)}" for t in d.try_next or ["Keep doing what you did."]]
    out += ["", "**How you talked**, compared with what counsellors aim for (MITI 4.2)", ""]
    for row in metric_rows(d.metrics):
        aim = "" if row["Good"] == "–" else f" (good: {_md_escape(row['Good'])})"
        band = "" if row["You are"] == "–" else f", {row['You are']}"
        out.append(f"- {row['Measure']}: {_md_escape(row['You'])}{aim}{band}")
    out.append(f"- Your share of the words: {_pct(d.metrics.user_word_share)}")
    return out


def export_markdown(tree: Tree, scenario: Scenario | None) -> str:
    """A readable report in the app's words: each branch's conversation with its ratings,
    then its debrief."""
    name = scenario.partner.name if scenario else "Partner"
    lines = [f"# {_md_escape(tree.info.title)}", ""]
    lines.append(
        f"Conversation `{tree.info.id}`, started {when(tree.info.created_at)}, "
        f"{_md_escape(tree.info.backend)}."
    )
    for b in tree.branch_numbers():
        lines += ["", f"## {branch_label(tree, b)}", ""]
        path = tree.path(b)
        for t in path:
            if t.role == "partner" and t.meta.get("pause"):
                lines += [f"*{_md_escape(t.text)}*", ""]
                continue
            if t.role == "partner":
                end = f" *(end of the conversation: {ending_words(t.ending)})*" if t.ending else ""
                lines.append(f"**{_md_escape(name)}:** {_md_escape(t.text)}{end}")
                lines.append("")
                continue
            lines.append(f"**You (reply {t.idx}):** {_md_escape(t.text)}")
            lines.append("")
            lines += _md_rating(t.rating, t) + [""]
        if scenario is not None and user_turns(path):
            lines += _md_debrief(scenario, debrief(scenario, path))
    return "\n".join(lines).rstrip() + "\n"
