"""The scripted (offline) partner: the scenario's own lines for what each reply did."""

from __future__ import annotations

from collections.abc import Iterator

from coach.partners.base import PartnerContext


def scripted_line(ctx: PartnerContext) -> str:
    """The scenario's own line for this moment: the ending, or the beat's line for what the
    reply did (its response kind) at this openness, else for the reading.

    The scripted partner says it; the model partner is shown it as the gist to follow.
    """
    sc = ctx.scenario
    if ctx.ending is not None:
        return getattr(sc.endings, ctx.ending)
    beat = sc.beats[min(max(ctx.turn, 1), len(sc.beats)) - 1]
    if ctx.response is None:
        return beat.line(ctx.reading, ctx.openness)
    return beat.says(ctx.response, ctx.reading, ctx.openness)


class ScriptedPartner:
    """The offline partner: each beat has a line per thing a reply can do (and per reading);
    the last reply gets an ending.

    Deterministic: the same replies give the same conversation.
    """

    name = "scripted"

    def respond(self, ctx: PartnerContext) -> Iterator[str]:
        yield scripted_line(ctx)
