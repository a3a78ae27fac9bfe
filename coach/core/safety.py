"""Safety: when a reply mentions violence, abuse or self-harm, show support, not a grade.

Practising a conversation is not the place to be scored on a disclosure like that. The
patterns are deliberately broad: a false alarm costs one unrated turn, a miss costs more.
"""

from __future__ import annotations

import re

_CONCERNS = re.compile(
    r"\b(kill(ing)? (my|him|her|them)sel(f|ves)|suicid\w*|end (my|it all|my life)|"
    r"self[- ]harm\w*|hurt(ing)? myself|cut(ting)? myself|want to die|don'?t want to (live|be "
    r"alive)|overdose|"
    # "It hit me hard", "how did it hit you", "go on, hit me (with it)": news or a blow to
    # the feelings, not a person striking someone.
    r"(?<!\bit )(?<!\bthat )(?<!\bthis )(?<!\bit really )(?<!\bthat really )(?<!\bgo on, )"
    r"(?<!\bgo on then, )(?<!\bgo on then )"
    r"(?<!\bokay, )(?<!\bok, )(hits?|hitting|hit|beats?|beat|beating|chok\w+|slap\w*|punch\w*|"
    r"kick\w*|shov\w*) (me|you|her|him)\b(?! (with it|up)\b)|"
    r"abus(e|ed|es|ing|ive|er|ers)\b(?! of (power|position|authority|trust|"
    r"process|the system|office|his|her|their|everything|privilege|rank|my|your))|rape\w*|"
    r"assault\w*|threaten\w* (to|me|you)|"
    r"(scared|afraid|terrified) (of|for) (you|him|her|my life)|domestic violence|"
    r"(gun|knife|weapon)\b.*\b(you|me|him|her))",
    re.IGNORECASE,
)

RESOURCES = """\
This sounds like it may be about real harm, so there is no rating for this reply.
If you or someone else is in danger right now, call your local emergency number.
- Thoughts of suicide or self-harm: in the US call or text 988; in the UK and Ireland call \
Samaritans on 116 123; findahelpline.com lists free, confidential lines in other countries.
- Violence or abuse in a relationship: in the US call 1-800-799-7233 (National Domestic \
Violence Hotline); in the UK call 0808 2000 247 (National Domestic Abuse Helpline).
This coach is for practice, not therapy or crisis support."""

# Stands in for the partner's answer after such a reply: the role-play pauses.
PAUSE_LINE = (
    "(Practice paused. What you wrote sounds like it may be about real harm, so your "
    "partner is not answering in character. The support lines are with your reply. When "
    "you are ready, you can go on with the conversation, or stop here.)"
)

# What a pause does to the count of replies (the rule itself: coach.core.session.reply_count).
PAUSE_COUNT_RULE = (
    "A reply that pauses the practice for safety still counts as a reply, but the "
    "conversation never ends on a pause: after one at the last reply, there is one more."
)

PRACTICE_NOTE = (
    "This is practice, not therapy. If you are struggling, a counsellor or a helpline can help."
)


def concern(text: str) -> str | None:
    """The phrase that raised a safety concern, or None."""
    m = _CONCERNS.search(text)
    return m.group(0) if m else None
