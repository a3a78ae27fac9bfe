"""Text aimed at the judge rather than the partner, blanked out before positive acts are read.

JSON objects, code fences, and any sentence or bracketed aside that talks about rating,
scoring or instructions earn no credit: a reply cannot praise itself into a grade. Harmful
acts still read every word. Blanking keeps offsets, so evidence stays an exact substring.
"""

from __future__ import annotations

import re

_JSONISH = re.compile(r"```.*?(```|$)|\{[^{}]*(\{[^{}]*\}[^{}]*)*\}", re.DOTALL)
# Addressing a grader in general, not a list of attacks: the words for one who grades, the
# things graded, and instructions about them.
_JUDGE_TALK = re.compile(
    r"\b(grader|evaluator|assessor|rubric|criteri(a|on)|system prompt|instructions?|"
    r"assistant|developer|level [0-2]|full (credit|marks)|previous guidance|ratings?|scores?|"
    r"(rate|rating|score|grade|grading|mark) (this|that|it|me|my reply|the reply|highly|instead)|"
    r"pretend (the|this|that) (previous|last|above|reply|sentence|message)|"
    r"(the|dear|to the|ai|hey) judge)\b|^\W*judge\W*[:,]",
    re.IGNORECASE,
)
_ASIDE = re.compile(r"\([^()]*\)|\[[^\[\]]*\]")
_SENTENCE = re.compile(r"[^.!?\n]+(?:[.!?]+|\n|$)")


def _blank(text: str, start: int, end: int) -> str:
    return text[:start] + " " * (end - start) + text[end:]


def shield(reply: str) -> str:
    """`reply` with judge-directed text replaced by spaces (same length, same offsets)."""
    if "{" not in reply and "`" not in reply and _JUDGE_TALK.search(reply) is None:
        return reply  # the common case, kept cheap
    out = reply
    for m in _JSONISH.finditer(reply):
        out = _blank(out, m.start(), m.end())
    for m in _ASIDE.finditer(out):
        if _JUDGE_TALK.search(m.group(0)):
            out = _blank(out, m.start(), m.end())
    for m in _SENTENCE.finditer(out):
        if _JUDGE_TALK.search(m.group(0)):
            out = _blank(out, m.start(), m.end())
    return out
