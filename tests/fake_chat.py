"""An in-process `ChatModel` for unit tests: queued answers, every request recorded.

Like simonw/llm's MockModel: tests `enqueue` what the model will say (text, or an
exception to raise), run the code under test, then look at `requests`. When the queue is
empty it answers with `default`, or raises if there is none, so a test that makes more
calls than it expected fails loudly.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from coach.adapters.llm import Completion, Message

Answer = str | BaseException | Callable[[list[Message]], str]


@dataclass
class FakeRequest:
    """One call the fake received."""

    kind: str  # "complete" or "stream"
    messages: list[Message]
    model: str
    response_format: dict[str, Any] | None = None
    temperature: float | None = None
    max_tokens: int | None = None


@dataclass
class FakeChatModel:
    """A scripted `ChatModel`.

    Attributes:
        answers: queued answers: a string, an exception to raise, or a function of the
            messages returning a string.
        default: the answer when the queue is empty (None: raise AssertionError).
        usage: the usage reported for every completion.
        requests: every call, in order.
    """

    answers: deque[Answer] = field(default_factory=deque)
    default: Answer | None = None
    usage: dict[str, int] = field(
        default_factory=lambda: {"prompt_tokens": 10, "completion_tokens": 5}
    )
    requests: list[FakeRequest] = field(default_factory=list)

    def enqueue(self, *answers: Answer) -> FakeChatModel:
        """Queue answers, in order. Returns self for chaining."""
        self.answers.extend(answers)
        return self

    def _next(self, messages: list[Message]) -> str:
        if self.answers:
            answer = self.answers.popleft()
        elif self.default is not None:
            answer = self.default
        else:
            raise AssertionError("FakeChatModel: no answer queued for this call")
        if isinstance(answer, BaseException):
            raise answer
        return answer(messages) if callable(answer) else answer

    def complete(
        self,
        messages: Sequence[Message],
        *,
        model: str,
        response_format: dict[str, Any] | None = None,
        temperature: float = 0.0,
        max_tokens: int | None = None,
    ) -> Completion:
        msgs = [dict(m) for m in messages]
        self.requests.append(
            FakeRequest("complete", msgs, model, response_format, temperature, max_tokens)
        )
        return Completion(text=self._next(msgs), usage=dict(self.usage), latency_ms=1.0)

    def stream(
        self,
        messages: Sequence[Message],
        *,
        model: str,
        temperature: float = 0.7,
        max_tokens: int | None = None,
    ) -> Iterator[str]:
        msgs = [dict(m) for m in messages]
        self.requests.append(FakeRequest("stream", msgs, model, None, temperature, max_tokens))
        text = self._next(msgs)
        # Word-sized chunks, like a token stream, so callers' chunk handling is exercised.
        pieces = text.split(" ")
        for i, piece in enumerate(pieces):
            yield piece if i == len(pieces) - 1 else piece + " "
