"""The model partner: plays the scenario's partner, streaming their next line.

The engine decides how the partner took the reply (reading, openness, ending); this module
only turns that into words. The scripted line for the same state is given to the model as
a hint, so the model partner and the offline partner react the same way.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from coach.adapters.llm import ChatModel, Message
from coach.adapters.prompts import prompt_version, render
from coach.core.errors import ModelError
from coach.core.reading import Reading
from coach.core.response import Response
from coach.partners.base import PartnerContext
from coach.partners.scripted import scripted_line

MAX_TOKENS = 100  # 1-3 short sentences are ~60 tokens; SmolLM2 rambles to any limit (issue 14)
# The token limit is only a request: a server may ignore it and send megabytes, which would
# be stored, printed and rendered. The client stops reading here (about 10x a long line).
MAX_LINE_CHARS = 2000
CUT_NOTE = f"… (cut: the answer went on past {MAX_LINE_CHARS:,} characters)"

HOW_TAKEN: dict[Reading, str] = {
    Reading.HEARD: "their last reply made you feel heard, so you let a little more out.",
    Reading.FIXING: "their last reply jumped to fixing or advice; you feel managed, "
    "not listened to.",
    Reading.DISMISSING: "their last reply brushed your feelings aside; you feel dismissed "
    "and pull back.",
    Reading.SELF_FOCUSED: "their last reply turned the focus to themselves; you feel unheard.",
    Reading.NEUTRAL: "their last reply was neither here nor there; you stay guarded.",
}

# What the reply did (coach/core/response.py), for the model partner to answer; the reading
# above says how it felt. Kinds without a note leave the reading to speak for itself.
WHAT_IT_DID: dict[Response, str] = {
    Response.PUT_DOWN: "They put you down: you are hurt, and it shows.",
    Response.DEFENSIVE: "They defended themselves: this is not about them, say so in your way.",
    Response.DISMISSED: "They brushed it off: you pull back.",
    Response.ADVICE: "They told you what to do: push back on that advice, you need to be "
    "heard first.",
    Response.ABOUT_YOU: "They talked about themselves: this is not about them, say so in "
    "your way.",
    Response.APOLOGY: "They apologised or owned their part: respond to the apology.",
    Response.ANSWER: "They asked you an open question: answer it, and let the next layer "
    "of the story out if you feel open enough.",
    Response.MORE: "They put into words what you feel, and it landed: say a little more.",
    Response.BARE: "They only acknowledged you, nothing more: prod them, or retreat if you "
    "are guarded.",
}

_QUOTES = "\"'“”‘’"
# Decide about a role label / stage direction only once this much text has arrived.
_PREFIX_WINDOW = 40


class _LineCleaner:
    """Cleans a streamed line without ever taking back text already shown.

    Strips a leading role label ("Maya:", "**Maya**:", "Assistant:"), a leading stage
    direction ("*sighs*"), surrounding quotes, and stops at a line where the model starts
    writing the other speaker's part. Text that might still change is held back.
    """

    def __init__(self, name: str) -> None:
        labels = "|".join(re.escape(n) for n in (name, "assistant", "partner", "me"))
        self._label = re.compile(
            rf"^[*_]{{0,3}}(?:{labels})[*_]{{0,3}}\s*(?:\([^)]{{0,30}}\))?\s*[:：][*_]{{0,2}}\s*",
            re.I,
        )
        self._direction = re.compile(r"^(?:\*[^*\n]{1,40}\*|\([^)\n]{1,40}\)|\[[^\]\n]{1,40}\])\s*")
        self._speaker = re.compile(r"\n\s*\W{0,3}[A-Za-z][\w ]{0,20}\W{0,3}[:：]")
        self.raw = ""
        self.sent = ""
        self.stopped = False

    def _clean(self, final: bool) -> str:
        text = self.raw.lstrip()
        if not final and len(text) < _PREFIX_WINDOW and "\n" not in text:
            return ""
        quoted = False
        for _ in range(2):
            if text[:1] and text[0] in _QUOTES:
                text, quoted = text[1:], True
            text = self._label.sub("", text, count=1)
            text = self._direction.sub("", text, count=1)
        cut = self._speaker.search(text)
        if cut:
            text, self.stopped, final = text[: cut.start()], True, True
        if final:
            text = text.strip()
            if quoted:
                text = text.rstrip(_QUOTES).strip()
            return text
        # Hold back what may still change: an unfinished last line (maybe a speaker label)
        # and trailing quotes/spaces (maybe the closing quote).
        if "\n" in text:
            text = text[: text.rindex("\n")]
        return text.rstrip(_QUOTES + " \n")

    def _emit(self, final: bool) -> str:
        clean = self._clean(final)
        if not clean.startswith(self.sent):  # never rewrite shown text; show only what follows
            return ""
        delta, self.sent = clean[len(self.sent) :], clean
        return delta

    def feed(self, chunk: str) -> str:
        """Add a chunk; return the text that is now safe to show."""
        self.raw += chunk
        return self._emit(final=False)

    def finish(self) -> str:
        """The stream ended; return the rest."""
        return self._emit(final=True)


class LLMPartner:
    """A `Partner` backed by a chat model.

    Args:
        model: the chat model.
        model_name: the model id on the server.
        temperature: sampling temperature (some variety keeps rehearsal realistic).
    """

    name = "llm"

    def __init__(self, model: ChatModel, model_name: str, temperature: float = 0.8) -> None:
        self.model = model
        self.model_name = model_name
        self.temperature = temperature
        self.prompt_version = prompt_version("partner")

    def messages(self, ctx: PartnerContext) -> list[Message]:
        """The request messages for `ctx`."""
        sc = ctx.scenario
        history = list(ctx.history)
        opening = sc.opening
        # The opening line goes into the system prompt so the chat starts with a user turn:
        # some chat templates (Mistral, Gemma) reject an assistant turn first.
        if history and history[0].role == "partner":
            opening = history.pop(0).text
        hint = scripted_line(ctx)
        system = render(
            "partner",
            sc=sc,
            opening=opening,
            openness=ctx.openness,
            how_taken=HOW_TAKEN[ctx.reading][:1].upper() + HOW_TAKEN[ctx.reading][1:],
            hint=hint,
            did=WHAT_IT_DID.get(ctx.response, "") if ctx.response else "",
            ending=ctx.ending,
        )
        out: list[Message] = [{"role": "system", "content": system}]
        for line in history:
            out.append({"role": "user" if line.role == "user" else "assistant",
                        "content": line.text})
        return out

    def respond(self, ctx: PartnerContext) -> Iterator[str]:
        """Stream the partner's next line.

        A line longer than MAX_LINE_CHARS is cut there (the stream is closed) and ends with
        CUT_NOTE, so the person sees that it was cut.

        Raises:
            ModelError: the server failed, the stream was cut off, or the line was empty
                (all retryable).
        """
        cleaner = _LineCleaner(ctx.scenario.partner.name)
        shown = cut = False
        stream = self.model.stream(
            self.messages(ctx), model=self.model_name, temperature=self.temperature,
            max_tokens=MAX_TOKENS,
        )
        try:
            for chunk in stream:
                room = MAX_LINE_CHARS - len(cleaner.raw)
                if len(chunk) > room:
                    chunk, cut = chunk[:room], True
                piece = cleaner.feed(chunk)
                if piece:
                    shown = True
                    yield piece
                if cleaner.stopped or cut:  # the model wrote the user's part, or too much
                    break
        finally:
            close = getattr(stream, "close", None)
            if close is not None:  # stopping early closes the HTTP response too
                close()
        rest = cleaner.finish()
        if rest:
            shown = True
            yield rest
        if cut and shown and not cleaner.stopped:
            yield CUT_NOTE
        if not shown:
            raise ModelError(
                f"The partner model '{self.model_name}' answered with an empty line. Try again.",
                retryable=True,
            )
