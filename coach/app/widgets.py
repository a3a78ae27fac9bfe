"""Streamlit pieces shared by the pages: a conversation, a rating card, a debrief.

All user and model text goes through `text.escape_md` or `text.highlight`.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from coach.app.logic import evidence_of, evidence_rows, level_badges, score_word, skill_bar
from coach.app.text import escape_md, highlight
from coach.application.render import BETTER_REPLY, SUGGESTED_NOTE, ending_words, metric_rows
from coach.core.metrics import debrief
from coach.core.rubric import CRITERIA, Rating
from coach.core.safety import PRACTICE_NOTE
from coach.core.scenario import Scenario
from coach.core.session import Turn

PARTNER_AVATAR = ":material/person:"
USER_AVATAR = ":material/record_voice_over:"


def practice_note() -> None:
    st.caption(PRACTICE_NOTE)


def partner_line(name: str, turn: Turn) -> None:
    if turn.meta.get("pause"):  # the role-play paused after a safety concern
        st.info(escape_md(turn.text), icon=":material/pause_circle:")
        return
    with st.chat_message("assistant", avatar=PARTNER_AVATAR):
        st.markdown(f"**{escape_md(name)}:** {escape_md(turn.text)}")
        if turn.ending:
            ended = escape_md(ending_words(turn.ending))
            st.caption(f"End of the conversation: {escape_md(name)} {ended}.")


def rating_card(rating: Rating) -> None:
    """The rating beside a reply: score, eight levels, tip, notes, and who rated it."""
    if rating.status == "withheld":
        st.info(rating.tip, icon=":material/support:")
        return
    if rating.status == "unscored":
        st.warning(f"Not scored: {escape_md(rating.reason)}")
        return
    score = rating.overall or 0
    st.markdown(f"**{score:.0f}/100** · {score_word(rating.overall)}")
    if rating.source.fallback:
        # Say so up front: this grade is not the rating model's, whatever the user chose.
        backend = rating.source.backend
        by = "the built-in rules" if backend == "heuristic" else escape_md(backend)
        st.caption(
            f":material/info: Fallback rating by {by}: the rating model's answer could not be used."
        )
    if rating.suggested:
        st.caption(f":material/content_copy: {SUGGESTED_NOTE}")
    st.markdown(level_badges(rating))
    if rating.disagreement:
        st.warning(f"Judges disagree: {escape_md(rating.disagreement)}", icon=":material/rule:")
    if rating.flags:
        st.markdown(":red[Watch out:] " + ", ".join(rating.flags))
    if rating.tip:
        st.markdown(f":material/lightbulb: {escape_md(rating.tip)}")
    with st.expander("Why these levels"):
        for name, level, quotes in evidence_rows(rating):
            q = "; ".join(f"“{escape_md(x)}”" for x in quotes) if quotes else "nothing in the reply"
            st.markdown(f"**{name}** {level}/2 — {q}")
        for note in rating.notes:
            st.caption(escape_md(note))
        who = (
            f"the built-in rules ({escape_md(rating.source.model)})"
            if rating.source.backend == "heuristic"
            else f"the model {escape_md(rating.source.model)}"
        )
        st.caption(f"Rated by {who}" + (", as a fallback" if rating.source.fallback else "") + ".")


def user_reply(
    turn: Turn,
    *,
    on_try: Callable[[Turn], None] | None = None,
    key: str = "",
) -> None:
    """A reply with its rating beside it; `on_try` adds the 'Try this instead' button."""
    with st.chat_message("user", avatar=USER_AVATAR):
        left, right = st.columns([3, 2], gap="medium")
        with left:
            st.markdown(
                f"**You (reply {turn.idx}):** " + highlight(turn.text, evidence_of(turn.rating))
            )
            if evidence_of(turn.rating):
                st.caption("Highlighted: the words the rating is based on.")
            better = turn.rating.better_reply if turn.rating else ""
            if better and turn.rating.status == "scored":
                st.markdown(f"*{BETTER_REPLY}:* {escape_md(better)}")
                if on_try is not None and st.button(
                    "Try this instead",
                    key=f"try-{key}-{turn.id}",
                    icon=":material/alt_route:",
                    help="Start a new branch of the conversation from here with this reply. "
                    "The original stays as it is.",
                ):
                    on_try(turn)
        with right:
            if turn.rating is not None:
                rating_card(turn.rating)
            elif turn.status == "failed":
                # the full message is shown once, with the Retry button below
                st.caption(":material/error: Not rated yet: the model did not answer.")
            else:
                st.caption("Not rated yet.")


def conversation(
    scenario: Scenario,
    path: list[Turn],
    *,
    on_try: Callable[[Turn], None] | None = None,
    after_reply: Callable[[Turn], None] | None = None,
    key: str = "",
) -> None:
    """The conversation, line by line; `after_reply(turn)` may add something under a reply
    (the "try this instead" editor opens there, next to the reply it belongs to)."""
    for t in path:
        if t.role == "partner":
            partner_line(scenario.partner.name, t)
        else:
            user_reply(t, on_try=on_try, key=key)
            if after_reply is not None:
                after_reply(t)


def debrief_view(scenario: Scenario, path: list[Turn]) -> None:
    """Scores, the hidden need, session metrics against MITI norms, what to try next."""
    d = debrief(scenario, path)
    name = escape_md(scenario.partner.name)
    if d.ended:
        st.markdown(f"#### {name} {escape_md(ending_words(d.ended))}.")
    c1, c2, c3 = st.columns(3)
    c1.metric("Average score", "–" if d.overall is None else f"{d.overall:.0f}/100")
    c2.metric("Replies", d.metrics.replies)
    c3.metric(
        "Your share of the words",
        _pct(d.metrics.user_word_share),
        help="How much of the conversation's words were yours. When someone needs to be "
        "heard, listening usually means saying less than they do.",
    )
    st.markdown("**What they needed** (hidden until now)")
    st.info(escape_md(" ".join(d.hidden_need.split())), icon=":material/favorite:")
    left, right = st.columns(2)
    with left:
        st.markdown("**Scores per skill** (average level, 0 to 2)")
        # Coloured by level, as the badges beside each reply are: a progress column has
        # one colour for the whole column.
        st.markdown("  \n".join(skill_bar(c.name, d.mean_levels.get(c.key)) for c in CRITERIA))
    with right:
        st.markdown("**What went well**")
        for w in d.went_well or ["Nothing rated yet."]:
            st.markdown(f"- {escape_md(w)}")
        st.markdown("**What to try next**")
        for t in d.try_next or ["Keep doing what you did."]:
            st.markdown(f"- {escape_md(t)}")
    st.markdown("**How you talked**, compared with what counsellors aim for")
    st.caption(
        "The 'fair' and 'good' marks come from the norms counsellors are trained against "
        "(the MITI 4.2 coding manual for motivational interviewing)."
    )
    st.dataframe(
        metric_rows(d.metrics),
        hide_index=True,
    )
    st.caption(
        "A reflection says back what you heard; one that adds meaning names a feeling or "
        "a reason they did not say. 'n/a' means there was nothing to count."
    )


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.0%}"
