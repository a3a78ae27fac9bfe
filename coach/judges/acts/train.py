"""Train the learned reading (`learned.json`) from the sentences the project labelled itself.

    python -m coach.judges.acts.train          # writes coach/judges/acts/learned.json
    python -m coach.judges.acts.train --check  # exit 1 if learned.json is out of date

What it learns from, and nothing else:
- `labelled/*.jsonl`: sentences of replies written and labelled by the project, each with
  the partner line it answers and every act it performs (format: `labelled/README.md`);
- the rule files' own examples: a rule's examples carry its act, a `not_tagged` reply's
  sentences do not.
The evaluation corpora (EPITOME, ESConv, AnnoMI, Lend an Ear) are never read here: their
licences allow evaluation, not training.

How the thresholds are chosen: each labelled file is held out in turn, the model is
trained on the rest, and the held-out author's sentences are read. For each act, the
threshold is the lowest probability at which the sentences the model would *add* (those
where the phrase rules missed the act) are right at least `PRECISION[act]` of the time. An
act that never gets there is never added. So the model fills the rules' gaps only where an
unseen author's wording shows it can. Needs scikit-learn (`pip install -e '.[train]'`).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from coach.core.rubric import ACT_KINDS
from coach.judges.acts import learned
from coach.judges.acts.ruleset import load_rules
from coach.judges.acts.tagger import content_words, make_context, sentences, tag_reply

HERE = Path(__file__).parent
LABELLED = HERE / "labelled"
OUT = HERE / learned.WEIGHTS_FILE

# The acts the model may add, and how often an addition must be right on an unseen author.
# Harm is held to more: a false flag on a kind reply teaches the wrong lesson.
# (The tagger adds a learned reflection only where the sentence speaks to them and shares a
# word with what they said, or the reading is all but certain (0.99): unchecked, learned
# reflections lowered EPITOME's interpretations F1 from 0.585 to 0.566 and the
# reflection-to-question ratio's agreement with MI coders from 0.557 to 0.516; checked,
# 0.578 and 0.558.)
PRECISION: dict[str, float] = {
    "simple_reflection": 0.8,
    "complex_reflection": 0.8,
    "validation": 0.8,
    "care": 0.8,
    "affirmation": 0.8,
    "apology": 0.85,
    "ownership": 0.85,
    "offer_presence": 0.8,
    "asks_needs": 0.85,
    "advice": 0.8,
    "self_focus": 0.8,
    "minimizing": 0.85,
    "rhetorical_question": 0.9,
    "blame": 0.9,
    "contempt": 0.9,
    "defensiveness": 0.9,
    "withdrawal": 0.9,
}
# A threshold is only trusted on enough additions.
MIN_ADDED = 15
GRID = tuple(round(0.5 + 0.025 * i, 3) for i in range(20))  # 0.5 .. 0.975
# A sentence that does the act counts as the stronger act's sentence too.
STRONGER = {"simple_reflection": "complex_reflection"}
C = 1.0  # inverse regularisation strength of each logistic regression


class LabelError(ValueError):
    """A labelled line that cannot be learned from; the message names its file and line."""


@dataclass(frozen=True)
class Example:
    """One sentence to learn from: its features, the acts known to be in it and not."""

    group: str  # the file it came from: held out together when choosing thresholds
    partner: str
    sentence: str
    feats: tuple[str, ...]
    positive: frozenset[str]
    negative: frozenset[str]  # acts known to be absent (all others, for a labelled line)


def _feats(sentence: str, partner: str) -> tuple[str, ...]:
    ctx = make_context(partner) if partner else None
    low = sentence.lower()
    return tuple(learned.features(low, ctx.line_words if ctx else None, content_words(low)))


def read_labelled(paths: Iterable[Path]) -> list[Example]:
    """The labelled sentences, checked: a bad line names its file and line number."""
    out = []
    for path in paths:
        for n, line in enumerate(path.read_text("utf-8").splitlines(), 1):
            if not line.strip():
                continue
            where = f"{path.name}:{n}"
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise LabelError(f"{where}: not JSON ({e.msg})") from None
            if set(row) != {"partner", "sentence", "acts"}:
                raise LabelError(f"{where}: keys must be partner, sentence, acts")
            acts = frozenset(row["acts"])
            if unknown := acts - set(ACT_KINDS):
                raise LabelError(f"{where}: unknown act {sorted(unknown)[0]!r}")
            text = row["sentence"].strip()
            if len(sentences(text)) != 1:
                # the tagger would read it as several sentences; a label for the whole
                # cannot say which part does what
                continue
            out.append(Example(path.stem, row["partner"], text, _feats(text, row["partner"]),
                               acts, frozenset(ACT_KINDS) - acts))
    return out


def read_rule_examples() -> list[Example]:
    """The rule files' examples: a rule's example does its act; a `not_tagged` reply's
    sentences do not. Nothing is known of the other acts in them."""
    out = []
    for act, spec in load_rules().files.items():
        for rule in spec.rule:
            for ex in rule.examples:
                if len(sentences(ex)) == 1:
                    out.append(Example("rules", "", ex, _feats(ex, ""), frozenset({act}),
                                       frozenset()))
        for reply in spec.not_tagged:
            for s in sentences(reply):
                out.append(Example("rules", "", s.text, _feats(s.text, ""), frozenset(),
                                   frozenset({act})))
    return out


def _samples(data: Sequence[Example], act: str) -> tuple[list[dict], list[int]]:
    xs, ys = [], []
    strong = STRONGER.get(act)
    for ex in data:
        if act in ex.positive or (strong and strong in ex.positive):
            y = 1
        elif act in ex.negative:
            y = 0
        else:
            continue
        xs.append(dict.fromkeys(ex.feats, 1))
        ys.append(y)
    return xs, ys


def _fit(data: Sequence[Example], act: str):
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression

    xs, ys = _samples(data, act)
    if len(set(ys)) < 2:
        return None
    vec = DictVectorizer()
    x = _int32(vec.fit_transform(xs))
    # liblinear: fast on sparse binary features, and with a fixed seed the same weights
    # every run
    clf = LogisticRegression(C=C, solver="liblinear", class_weight="balanced", random_state=0)
    clf.fit(x, ys)
    return vec, clf


def _int32(x):
    """liblinear takes only 32-bit sparse indices; DictVectorizer may give 64-bit ones."""
    import numpy as np

    x = x.tocsr()
    x.indices = x.indices.astype(np.int32)
    x.indptr = x.indptr.astype(np.int32)
    return x


def _rule_acts(ex: Example) -> frozenset[str]:
    acts = tag_reply(ex.sentence, ex.partner, learned=False).kinds
    return acts | {a for a, s in STRONGER.items() if s in acts}


def choose_thresholds(data: Sequence[Example]) -> tuple[dict[str, float], dict[str, dict]]:
    """Per act, the threshold at which additions to the rules are right often enough on a
    held-out author, and what was measured there."""
    groups = sorted({ex.group for ex in data} - {"rules"})
    rule_acts = {id(ex): _rule_acts(ex) for ex in data if ex.group != "rules"}
    thresholds, report = {}, {}
    for act in PRECISION:
        cands: list[tuple[float, bool]] = []  # (probability, right) of each possible addition
        for g in groups:
            fit = _fit([ex for ex in data if ex.group != g], act)
            if fit is None:
                continue
            vec, clf = fit
            held = [ex for ex in data if ex.group == g and act not in rule_acts[id(ex)]]
            if not held:
                continue
            rows = vec.transform([dict.fromkeys(ex.feats, 1) for ex in held])
            probs = clf.predict_proba(_int32(rows))
            for ex, p in zip(held, probs[:, 1], strict=True):
                strong = STRONGER.get(act)
                right = act in ex.positive or bool(strong and strong in ex.positive)
                cands.append((float(p), right))
        missed = sum(1 for _, right in cands if right)
        chosen, seen = 2.0, {"added": 0, "right": 0, "missed_by_rules": missed}
        for t in GRID:
            added = [right for p, right in cands if p >= t]
            if len(added) >= MIN_ADDED and sum(added) / len(added) >= PRECISION[act]:
                chosen = t
                seen = {"added": len(added), "right": sum(added), "missed_by_rules": missed}
                break
        thresholds[act] = chosen
        report[act] = {"threshold": chosen, **seen}
    return thresholds, report


def data_digest(paths: Iterable[Path]) -> str:
    """A hash of the training data and of the rule files it also reads."""
    h = hashlib.sha256()
    for p in sorted(paths):
        h.update(p.name.encode())
        h.update(p.read_bytes())
    h.update(load_rules().version.encode())
    h.update(Path(learned.__file__).read_bytes())  # the features are part of the data
    h.update(Path(__file__).read_bytes())
    return h.hexdigest()[:16]


def train(paths: Sequence[Path]) -> tuple[dict, dict]:
    """The contents of `learned.json`, and the held-out report behind its thresholds."""
    data = read_labelled(paths) + read_rule_examples()
    thresholds, report = choose_thresholds(data)
    weights: dict[str, dict[str, float]] = {}
    bias = {}
    acts = [a for a in PRECISION if thresholds[a] <= 1.0]
    for act in acts:
        vec, clf = _fit(data, act)
        bias[act] = round(float(clf.intercept_[0]), 4)
        for name, w in zip(vec.get_feature_names_out(), clf.coef_[0], strict=True):
            if abs(w) >= 0.01:
                weights.setdefault(str(name), {})[act] = round(float(w), 4)
    model = {
        "about": "Learned reading of sentences; see coach/judges/acts/train.py. Trained only "
                 "on the project's own labelled sentences and rule examples.",
        "data_digest": data_digest(paths),
        "sentences": len(data),
        "acts": acts,
        "bias": bias,
        "threshold": {a: thresholds[a] for a in acts},
        # what the held-out authors showed, per act: the case for each threshold
        "held_out": report,
        "weights": dict(sorted(weights.items())),
    }
    return model, report


def main(argv: Sequence[str] | None = None) -> int:
    """Train and write `learned.json`, or with --check say whether it is current."""
    ap = argparse.ArgumentParser(prog="python -m coach.judges.acts.train", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true",
                    help="exit 1 if learned.json was not trained on the current data")
    args = ap.parse_args(argv)
    paths = sorted(LABELLED.glob("*.jsonl"))
    if args.check:
        current = json.loads(OUT.read_text("utf-8")).get("data_digest")
        if current != data_digest(paths):
            print(f"{OUT.name} is out of date: run python -m coach.judges.acts.train",
                  file=sys.stderr)
            return 1
        return 0
    try:
        import sklearn  # noqa: F401
    except ImportError:
        print("Training needs scikit-learn: .venv/bin/pip install -e '.[train]'", file=sys.stderr)
        return 2
    try:
        model, report = train(paths)
    except LabelError as e:
        print(f"labelled data: {e}", file=sys.stderr)
        return 2
    OUT.write_text(json.dumps(model, ensure_ascii=False, separators=(",", ":")) + "\n", "utf-8")
    for act, r in report.items():
        t = "never" if r["threshold"] > 1 else f"{r['threshold']:.3f}"
        print(f"{act:20} threshold {t:>6}  held-out additions {r['right']}/{r['added']} right"
              f"  (rules missed {r['missed_by_rules']})")
    print(f"wrote {OUT} ({model['sentences']} sentences, {len(model['weights'])} features)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
