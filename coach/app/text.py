"""Showing user and model text safely: everything is escaped before Streamlit sees it.

No user or model text ever reaches `unsafe_allow_html`; instead every ASCII punctuation
character is backslash-escaped (CommonMark allows that for all of them), so `<script>`,
`[link](http://x)`, `**bold**`, `:red[...]` and `$math$` are all shown literally. Evidence
highlighting escapes the whole reply and wraps only the escaped evidence spans in markup.
"""

from __future__ import annotations

import string

_PUNCT = frozenset(string.punctuation)


def escape_md(text: str) -> str:
    """`text` as Streamlit markdown that displays exactly the characters typed."""
    out = []
    for ch in text:
        if ch in _PUNCT:
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("  \n")  # keep line breaks the person typed
        elif ch == "\r":
            continue
        else:
            out.append(ch)
    return "".join(out)


def evidence_spans(text: str, evidence: list[str]) -> list[tuple[int, int]]:
    """Merged (start, end) spans where the evidence quotes occur in `text`.

    Quotes are exact substrings of the reply; a case-insensitive match is accepted too, and
    a quote that is not found is ignored (never invented).
    """
    spans = []
    low = text.lower()
    for quote in evidence:
        q = quote.strip()
        if not q:
            continue
        i = text.find(q)
        if i < 0:
            i = low.find(q.lower())
        if i >= 0:
            spans.append((i, i + len(q)))
    spans.sort()
    merged: list[tuple[int, int]] = []
    for s, e in spans:
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(e, merged[-1][1]))
        else:
            merged.append((s, e))
    return merged


def highlight(text: str, evidence: list[str], color: str = "orange") -> str:
    """Escaped `text` with each evidence span wrapped in a colored background."""
    out, pos = [], 0
    for s, e in evidence_spans(text, evidence):
        out.append(escape_md(text[pos:s]))
        inner = escape_md(text[s:e])
        out.append(f":{color}-background[{inner}]")
        pos = e
    out.append(escape_md(text[pos:]))
    return "".join(out)
