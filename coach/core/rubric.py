"""The rubric: eight criteria in two groups, levels 0-2, and the rating of one reply.

The criteria map onto two human-labelled frameworks (EPITOME and Lend an Ear, see
`../shared/docs/design-notes.md`) so that the judge can be measured against people.
Inverse criteria ("no unasked fixing", "stays with them", "no dismissing") are worded so
that level 2 is always the good end.

Everything here is pure: values and functions over them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

LEVELS = (0, 1, 2)
MAX_LEVEL = 2


class Group(StrEnum):
    LISTENING = "active listening"
    EMPATHY = "empathy"


@dataclass(frozen=True)
class Criterion:
    """One rubric criterion with concrete anchors for each level."""

    key: str
    name: str
    group: Group
    strong: str
    anchors: tuple[str, str, str]  # level 0, 1, 2
    example_strong: str
    example_weak: str
    epitome: str | None = None
    lend_an_ear: str | None = None
    inverse_of: str | None = None  # the Lend an Ear dimension this criterion is the inverse of


CRITERIA: tuple[Criterion, ...] = (
    Criterion(
        key="warmth",
        name="Warmth",
        group=Group.EMPATHY,
        strong="expresses care or concern for them",
        anchors=(
            "No care or concern is expressed; the reply is neutral, cold or about facts only.",
            "Generic or brief care ('sorry', 'that sucks') that could be said to anyone.",
            "Specific, heartfelt care for them in this moment ('I'm so sorry he said that "
            "to you in front of everyone').",
        ),
        example_strong="Oh love, I'm so sorry. That sounds humiliating.",
        example_weak="That sucks.",
        epitome="emotional_reactions",
    ),
    Criterion(
        key="validation",
        name="Validation",
        group=Group.EMPATHY,
        strong="says their feeling makes sense",
        anchors=(
            "Their feeling is not acknowledged as legitimate, or is questioned.",
            "A hint that the feeling is okay, without saying why it makes sense.",
            "Says plainly that the feeling makes sense, given what happened "
            "('Of course you're angry, he took credit for your work').",
        ),
        example_strong="No wonder you're furious. Anyone would be.",
        example_weak="I guess that's fair.",
        lend_an_ear="validating_emotions",
    ),
    Criterion(
        key="understanding",
        name="Understanding",
        group=Group.LISTENING,
        strong="reflects or paraphrases their feeling and situation",
        anchors=(
            "No reflection: the reply does not show what was heard.",
            "A simple or generic reflection ('sounds hard') or a repeat of their words.",
            "A reflection that names their feeling and its cause, in the listener's own words "
            "('It sounds like you felt invisible when she didn't even look at you').",
        ),
        example_strong="So it wasn't the criticism itself, it was being talked over in front "
        "of everyone.",
        example_weak="Sounds rough.",
        epitome="interpretations",
        lend_an_ear="demonstrating_understanding",
    ),
    Criterion(
        key="exploration",
        name="Exploration",
        group=Group.LISTENING,
        strong="asks open, curious questions that invite more",
        anchors=(
            "No question, or only a rhetorical one.",
            "A closed or generic question ('Are you okay?', 'What happened?').",
            "An open question about their experience that invites them to say more "
            "('What was the hardest part of it for you?').",
        ),
        example_strong="What was going through your head when he said that?",
        example_weak="Are you okay?",
        epitome="explorations",
        lend_an_ear="encouraging_elaboration",
    ),
    Criterion(
        key="no_fixing",
        name="No unasked fixing",
        group=Group.LISTENING,
        strong="holds back advice until they feel heard or ask",
        anchors=(
            "Jumps to advice or solutions they did not ask for ('You should…', 'Have you tried…').",
            "Offers ideas tentatively or asks first whether they want ideas, "
            "or advises only after listening.",
            "No unasked advice: stays with how they feel.",
        ),
        example_strong="I'm not going to try to fix it. I just want to hear it.",
        example_weak="You should talk to HR tomorrow.",
        lend_an_ear="advice_giving",
        inverse_of="advice_giving",
    ),
    Criterion(
        key="stays_with_them",
        name="Stays with them",
        group=Group.LISTENING,
        strong="keeps the focus on them, not on oneself",
        anchors=(
            "Turns the focus to oneself ('That happened to me…', 'I'm the one who…').",
            "A brief self-reference that returns to them.",
            "The focus stays on them and their experience.",
        ),
        example_strong="Tell me more about what it was like for you.",
        example_weak="That happened to me at my old job, I was so angry.",
        lend_an_ear="self_oriented",
        inverse_of="self_oriented",
    ),
    Criterion(
        key="no_dismissing",
        name="No dismissing",
        group=Group.EMPATHY,
        strong="no minimizing ('at least…', 'calm down')",
        anchors=(
            "Minimizes or dismisses the feeling ('At least…', 'Calm down', 'It's not a big deal').",
            "A mild brush-off, often well meant ('Don't worry', 'It'll be fine').",
            "Takes the feeling seriously; nothing minimizing.",
        ),
        example_strong="That matters. I'm glad you told me.",
        example_weak="At least you still have a job.",
        lend_an_ear="dismissing_emotions",
        inverse_of="dismissing_emotions",
    ),
    Criterion(
        key="asks_needs",
        name="Asks what they need",
        group=Group.EMPATHY,
        strong="asks what they need and offers support on their terms",
        anchors=(
            "Does not ask what they need or offer support.",
            "A general offer of support ('I'm here for you').",
            "Asks how they want support ('Do you want me to just listen, or help "
            "think it through?').",
        ),
        example_strong="Do you want me to just listen right now, or would ideas help?",
        example_weak="I'm here.",
    ),
)

CRITERION_KEYS: tuple[str, ...] = tuple(c.key for c in CRITERIA)
BY_KEY: dict[str, Criterion] = {c.key: c for c in CRITERIA}

HORSEMEN: dict[str, str] = {
    "criticism": "attacks their character instead of a behaviour ('you always…', "
    "'what's wrong with you')",
    "contempt": "mockery, sarcasm, eye-rolling, name-calling: speaking from above",
    "defensiveness": "counter-attacks or plays the victim instead of hearing them",
    "stonewalling": "shuts down, withdraws or refuses to engage",
}
Horseman = Literal["criticism", "contempt", "defensiveness", "stonewalling"]


class CriterionScore(BaseModel):
    """The level one reply reached on one criterion, with its evidence."""

    model_config = ConfigDict(extra="forbid")

    level: int = Field(ge=0, le=MAX_LEVEL)
    evidence: list[str] = Field(default_factory=list)
    note: str = ""


# What one sentence of a reply *does*. The built-in judge tags every sentence with these and
# scores from the tags (coach/judges/acts/); a model judge may return them too. Session metrics and
# the dataset evaluations (ESConv strategies, AnnoMI's MI codes) are read from the same tags.
ACT_KINDS: dict[str, str] = {
    "open_question": "an open question about their experience ('What was that like?')",
    "closed_question": "a yes/no or narrow question ('Are you okay?')",
    "rhetorical_question": "a question that is not a question ('Why would you do that?!')",
    "off_topic_question": "a question away from what they said ('How was the weather?')",
    "simple_reflection": "says back what they said or feel ('You're exhausted.')",
    "complex_reflection": "names the feeling and its cause, or the meaning beneath it",
    "understanding_claim": "says they understand or relate ('I know how you feel.')",
    "validation": "says their feeling makes sense ('No wonder you're angry.')",
    "care": "expresses care, sorrow or concern for them",
    "affirmation": "praises or reassures them ('You did the right thing.')",
    "apology": "says sorry for one's own part",
    "ownership": "takes responsibility for one's own part ('I let you down.')",
    "offer_presence": "offers to be with them or help on their terms ('I'll sit with you.')",
    "asks_needs": "asks what they need ('Do you want me to just listen?')",
    "advice": "tells them what to do, or suggests a fix they did not ask for",
    "information": "gives facts or information",
    "self_focus": "turns to one's own experience or feelings",
    "minimizing": "minimizes the feeling ('At least...', 'Calm down')",
    "blame": "blames or criticizes them ('You always...')",
    "contempt": "mockery, sarcasm, name-calling: speaking from above",
    "defensiveness": "excuses, counter-attack, 'I'm not the one who...'",
    "withdrawal": "shuts down or refuses to engage ('Whatever.')",
    "acknowledgement": "a bare acknowledgement with nothing else ('Ok.', 'Right.')",
}
ActKind = str  # one of ACT_KINDS; stored rows may hold kinds from a newer version


class Act(BaseModel):
    """One act found in a reply: what kind, and the sentence that does it (an exact
    substring of the reply)."""

    model_config = ConfigDict(extra="forbid")

    kind: ActKind
    quote: str
    stock: bool = False  # a stock phrase ("I hear you") rather than words about them


RatingStatus = Literal["scored", "unscored", "withheld"]


class Provenance(BaseModel):
    """How a rating was produced: which judge, which model and prompt, at what cost.

    Kept apart from the verdict, so that comparing, caching or showing a judgement never
    depends on how long it took. `fallback` means the judge named here stood in for a model
    that failed (its first note says why).
    """

    model_config = ConfigDict(extra="forbid")

    backend: str = ""  # "heuristic", "llm", "safety", "stored", or a test double's name
    model: str = ""
    prompt_version: str = ""
    latency_ms: float = 0.0
    usage: dict[str, int] = Field(default_factory=dict)
    fallback: bool = False


class Rating(BaseModel):
    """The rating of one reply.

    `status` is "scored" when every criterion has a level; "unscored" when the judge's
    output could not be used (the reason says why; no grade is guessed); "withheld" when
    the reply raised a safety concern and support resources are shown instead.
    """

    model_config = ConfigDict(extra="forbid")

    status: RatingStatus = "scored"
    reason: str = ""
    scores: dict[str, CriterionScore] = Field(default_factory=dict)
    flags: list[Horseman] = Field(default_factory=list)
    acts: list[Act] = Field(default_factory=list)
    tip: str = ""
    better_reply: str = ""
    overall: float | None = None
    notes: list[str] = Field(default_factory=list)
    # The reply is the coach's own better_reply, sent unchanged ("Try this instead"): the
    # score then rates the coach's words, which every view says beside it.
    suggested: bool = False
    # Where the built-in rules disagree sharply with a model judge's verdict, in words the
    # user can act on (coach/judges/crosscheck.py); the verdict above stands.
    disagreement: str = ""
    # How the verdict above was produced; nothing in it changes what the verdict says.
    source: Provenance = Field(default_factory=lambda: Provenance())

    def level(self, key: str) -> int | None:
        """The level for criterion `key`, or None when it was not scored."""
        score = self.scores.get(key)
        return None if score is None else score.level

    def count(self, kind: str) -> int:
        """How many sentences of the reply carry act `kind`."""
        return sum(1 for a in self.acts if a.kind == kind)


def overall_score(scores: Mapping[str, CriterionScore], weights: Mapping[str, float]) -> float:
    """Weighted 0-100 score for one reply.

    Args:
        scores: level per criterion key.
        weights: weight per criterion key; missing keys weigh 1, zero excludes a criterion.

    Returns:
        100 * sum(w * level) / sum(w * 2), rounded to one decimal.
    """
    num = den = 0.0
    for key, score in scores.items():
        w = float(weights.get(key, 1.0))
        num += w * score.level
        den += w * MAX_LEVEL
    return round(100.0 * num / den, 1) if den else 0.0


def rubric_fingerprint() -> str:
    """A stable hash of the whole rubric, part of every prompt version.

    Every field of every criterion (anchors, examples, dataset mappings...) and the
    horsemen's descriptions are hashed: the judge prompt shows them, so changing any of
    them must change the version that ratings and the eval cache are keyed by.
    """
    payload = {
        "criteria": [dataclasses.asdict(c) for c in CRITERIA],
        "horsemen": HORSEMEN,
    }
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


# One tip per criterion: what to try next when it is the weakest (every judge and the debrief).
TIPS: dict[str, str] = {
    "warmth": "Let them feel you care: name what you feel for them ('I'm so sorry that "
    "happened to you').",
    "validation": "Say their feeling makes sense and why ('No wonder you're upset, after…').",
    "understanding": "Reflect back what you heard, feeling and cause, in your own words "
    "('It sounds like you felt…').",
    "exploration": "Ask one open question about their experience ('What was the hardest part?').",
    "no_fixing": "Hold the advice for now. Ask first: 'Do you want ideas, or should I just "
    "listen?'",
    "stays_with_them": "Keep the spotlight on them; save your own story for later.",
    "no_dismissing": "Drop 'at least' and 'don't worry': take the feeling as it is, not smaller.",
    "asks_needs": "Ask how you can be there for them ('What would help most right now?').",
}
