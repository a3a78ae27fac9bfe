"""A learned reading of each sentence: the second opinion behind the phrase rules.

The phrase rules are precise, but they know only the wordings someone wrote down: "That's
grim." or a reflection that borrows none of the stock lead-ins slips past them. This is a
linear model (one logistic regression per act) over the words of a sentence and how it
stands to what the partner just said. It was trained by `coach.judges.acts.train` only on
sentences the project labelled itself (`labelled/*.jsonl` and the rule files' examples);
the corpora used to evaluate the judge are never trained on, their licences forbid it.

The model only adds an act the rules missed, and only above a per-act threshold chosen on
sentences by an author it was not trained on, so that what it adds is usually right (see
`train.py`). Its weights are data (`learned.json`), part of the judge's version. Pure.
"""

from __future__ import annotations

import functools
import json
import math
import re
from dataclasses import dataclass
from importlib import resources

WEIGHTS_FILE = "learned.json"
_WORD = re.compile(r"[a-z']+")
_SECOND = frozenset({"you", "your", "you're", "youre", "you've", "you'd", "yourself", "ur", "u"})
_FIRST = frozenset({"i", "i'm", "im", "i've", "ive", "i'd", "i'll", "my", "me", "myself"})


def _bucket(n: int, edges: tuple[int, ...]) -> str:
    for e in edges:
        if n <= e:
            return str(e)
    return f"{edges[-1]}+"


def features(seg: str, line_words: frozenset[str] | None, mine: frozenset[str]) -> list[str]:
    """The features of one lower-cased sentence: its words and word pairs, how it ends and
    opens, its length, and how many content words (`mine`) it shares with the partner's
    last line (`line_words`; None when there is no partner line)."""
    words = _WORD.findall(seg)
    toks = ["<s>", *words, "</s>"]
    out = [f"w:{w}" for w in words]
    out += [f"b:{a} {b}" for a, b in zip(toks, toks[1:], strict=False)]
    end = seg.rstrip()[-1:] if seg.rstrip() else ""
    out.append("end:" + (end if end in "?!." and end else "none"))
    out.append("len:" + _bucket(len(words), (1, 2, 4, 7, 12, 20)))
    you = any(w in _SECOND for w in words)
    me = any(w in _FIRST for w in words)
    out.append(f"person:{'you' if you else '-'}{'me' if me else '-'}")
    if line_words is not None:
        shared = len(mine & line_words)
        ov = _bucket(shared, (0, 1, 2))
        out.append(f"ov:{ov}")
        out.append(f"ov:{ov}|{'you' if you else '-'}")
        if mine and mine <= line_words:
            out.append("echo")
    return out


@dataclass(frozen=True)
class Model:
    """Weights per feature and act, a bias and a threshold per act."""

    acts: tuple[str, ...]
    bias: dict[str, float]
    threshold: dict[str, float]
    weights: dict[str, dict[str, float]]
    digest: str

    def scores(self, feats: list[str]) -> dict[str, float]:
        """The probability of each act, from the features of one sentence."""
        z = dict(self.bias)
        for f in set(feats):
            for act, w in self.weights.get(f, {}).items():
                z[act] += w
        return {a: 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, v)))) for a, v in z.items()}

    def confident(self, feats: list[str]) -> dict[str, float]:
        """The acts whose probability reaches their threshold, with that probability."""
        return {
            a: p for a, p in self.scores(feats).items() if p >= self.threshold.get(a, 2.0)
        }


def parse(data: dict) -> Model:
    """A model from the contents of `learned.json`."""
    return Model(
        acts=tuple(data["acts"]),
        bias={a: float(b) for a, b in data["bias"].items()},
        threshold={a: float(t) for a, t in data["threshold"].items()},
        weights={f: {a: float(w) for a, w in ws.items()} for f, ws in data["weights"].items()},
        digest=str(data.get("data_digest", "")),
    )


@functools.cache
def model() -> Model:
    """The shipped model (package data beside this module)."""
    text = resources.files("coach.judges.acts").joinpath(WEIGHTS_FILE).read_text("utf-8")
    return parse(json.loads(text))


# What an act the model added is said to do, in the rating's notes and tips.
WHY: dict[str, str] = {
    "simple_reflection": "says back what they told you",
    "complex_reflection": "names what lies beneath what they said",
    "validation": "says their feeling is fair",
    "care": "shows you care",
    "affirmation": "reassures them",
    "apology": "says sorry for your part",
    "ownership": "owns your part",
    "offer_presence": "offers to be there on their terms",
    "asks_needs": "asks what they need",
    "advice": "steers them to a fix",
    "self_focus": "turns to yourself",
    "minimizing": "shrinks what they feel",
    "rhetorical_question": "a question that is not really asking",
    "blame": "puts it on them",
    "contempt": "speaks down to them",
    "defensiveness": "defends yourself instead of hearing them",
    "withdrawal": "shuts the conversation down",
}
