"""Which acts stand for which human code: ESConv's support strategies and AnnoMI's MI codes.

This module is the one place the mapping lives; `coach eval`, the floors and the README read
it from here. Every judge's `Rating` carries `acts` (`coach.core.rubric.ACT_KINDS`: the built-in
judge from its tagger, a model judge from its own reading), and a code is *detected* in a
reply when the rating holds at least one act of the code's kinds.

Detection rule (both datasets): one-vs-rest, per code. Gold is positive when the human label
is the code; the judge is positive when any act of the code's kinds is present. A reply may
hold several acts, so it may be predicted positive for several codes at once.

- ESConv gives one *main* strategy per utterance ("an utterance labelled Affirmation may also
  hold a question", data README), so a reply the judge reads as a question and a reassurance
  counts as a false positive for whichever of the two is not the main label. Precision is
  therefore a lower bound of what a multi-label coder would give; recall is not affected.
  We keep this rule rather than picking one "main act" per reply because the coach uses
  every act (the debrief counts them all), and a priority order over acts would be a second,
  untested judgement of its own.
- AnnoMI codes each field separately (an utterance can be both a complex reflection and an
  open question), so one-vs-rest per field is exactly the experts' own coding.

Choices, and why:

- Questions = open_question | closed_question. Rhetorical and off-topic questions are not
  ESConv's "Questions" (asking about the seeker's problem) nor MITI questions, so they do not
  count.
- "Reflection or restatement" merges ESConv's Restatement or Paraphrasing and Reflection of
  feelings (the issue asks for them together): simple_reflection | complex_reflection. The
  act vocabulary does not separate "says back the content" from "names the feeling" the way
  ESConv does, so scoring them apart would measure the merge, not the judge.
- Affirmation and Reassurance = affirmation | validation. ESConv's definition (Liu et al.
  2021) is affirming the seeker's strengths and capabilities and reassuring them; normalising
  a feeling ("It is natural to feel stressed when...") is one of its own examples, which is
  our validation. `care` (sorrow, concern: "I'm so sorry") is left out: ESConv has no
  sympathy strategy, and sorry-lines are spread over every strategy (on the dev split only a
  quarter of the utterances saying "sorry" are labelled Affirmation). The report carries the
  variant with care added (`affirmation_with_care`) so the choice can be checked.
- Suggestions = advice; Self-disclosure = self_focus. ESConv's Information strategy and
  AnnoMI's information input map to `information`, which is not scored here (no goal).
- AnnoMI advice is `therapist_input == advice` only; negotiation and options are MI's
  "collaborative" inputs, not advice.

The goals are the issue's acceptance targets (issue 9): the report prints them beside the
figures; the floors that gate the suite are in `evals/floors.toml`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from coach.core.rubric import Rating

QUESTION_ACTS = ("open_question", "closed_question")
REFLECTION_ACTS = ("simple_reflection", "complex_reflection")

ESCONV_STRATEGIES = (
    "Questions",
    "Restatement or Paraphrasing",
    "Reflection of feelings",
    "Self-disclosure",
    "Affirmation and Reassurance",
    "Providing Suggestions",
    "Information",
    "Other",
)
ANNOMI_VALUES = {
    "reflection": ("none", "simple", "complex"),
    "question": ("none", "open", "closed"),
    "therapist_input": ("none", "information", "advice", "negotiation", "options"),
}


@dataclass(frozen=True)
class Code:
    """One human code and the acts that detect it.

    Attributes:
        key: the name in the report.
        acts: act kinds; the code is detected when any of them is present.
        gold: which gold values are positive: ESConv strategy names, or for AnnoMI
            `(field, value)` pairs.
        goal: the issue's F1 target (None: reported, no target).
    """

    key: str
    acts: tuple[str, ...]
    gold: tuple
    goal: float | None = None


ESCONV_CODES: tuple[Code, ...] = (
    Code("question", QUESTION_ACTS, ("Questions",), 0.75),
    Code(
        "reflection_or_restatement",
        REFLECTION_ACTS,
        ("Restatement or Paraphrasing", "Reflection of feelings"),
        0.55,
    ),
    Code("suggestion", ("advice",), ("Providing Suggestions",), 0.60),
    Code("self_disclosure", ("self_focus",), ("Self-disclosure",), 0.50),
    Code("affirmation", ("affirmation", "validation"), ("Affirmation and Reassurance",), 0.50),
    # The variant that shows what counting `care` as reassurance would do (see above).
    Code("affirmation_with_care", ("affirmation", "validation", "care"),
         ("Affirmation and Reassurance",)),
)
ANNOMI_CODES: tuple[Code, ...] = (
    Code("reflection", REFLECTION_ACTS, (("reflection", "simple"), ("reflection", "complex")),
         0.60),
    Code("complex_reflection", ("complex_reflection",), (("reflection", "complex"),)),
    Code("open_question", ("open_question",), (("question", "open"),), 0.78),
    Code("closed_question", ("closed_question",), (("question", "closed"),)),
    Code("advice", ("advice",), (("therapist_input", "advice"),), 0.55),
)


def detects(code: Code, rating: Rating) -> bool:
    """True when the rating holds at least one act of the code's kinds."""
    return any(rating.count(kind) for kind in code.acts)


def esconv_gold(code: Code, strategy: str) -> bool:
    """True when ESConv's main strategy is one of the code's strategies."""
    return strategy in code.gold


def annomi_gold(code: Code, labels: Mapping[str, str]) -> bool:
    """True when one of the code's (field, value) pairs holds in the experts' labels."""
    return any(labels.get(f) == v for f, v in code.gold)


def reflections(rating: Rating) -> bool:
    """The reply holds a reflection (simple or complex): the MITI ratio's numerator."""
    return any(rating.count(k) for k in REFLECTION_ACTS)


def questions(rating: Rating) -> bool:
    """The reply holds a real question (open or closed): the MITI ratio's denominator."""
    return any(rating.count(k) for k in QUESTION_ACTS)
