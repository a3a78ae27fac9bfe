"""Choosing the partner and judge: offline (scripted + heuristic) or a model server.

`make_backend(resolve_config())` is all the app and CLI need: None gives the offline
backend, which needs no setup; a config gives the model partner and the model judge, with
the heuristic judge as the judge's fallback for unusable answers.
"""

from __future__ import annotations

from dataclasses import dataclass

from coach.adapters.config import ModelConfig
from coach.core import wording
from coach.core.errors import ModelError
from coach.judges.base import Judge
from coach.partners.base import Partner
from coach.partners.scripted import ScriptedPartner

OFFLINE_LABEL = "offline (scripted partner + heuristic judge)"


@dataclass
class Backend:
    """The partner and judge a session uses.

    Attributes:
        judge: rates each reply.
        partner: answers each reply.
        label: how to name this backend to the user.
        offline: True when no model server is involved.
    """

    judge: Judge
    partner: Partner
    label: str
    offline: bool


def _heuristic() -> Judge:
    # Imported late: the heuristic judge lives in its own module and is the only judge
    # that must always work, so a problem there should not break importing this module.
    from coach.judges.builtin import HeuristicJudge

    return HeuristicJudge()


def make_backend(config: ModelConfig | None, *, fallback: Judge | None = None) -> Backend:
    """Build the backend for a configuration.

    Args:
        config: from `resolve_config()`; None means offline.
        fallback: the judge used when the model's rating is unusable (default: the
            heuristic judge).

    Returns:
        The backend. Building it does not contact the server (see `check_connection`).
    """
    if config is None:
        return Backend(judge=_heuristic(), partner=ScriptedPartner(), label=OFFLINE_LABEL,
                       offline=True)
    from coach.adapters.llm import OpenAIChatModel
    from coach.judges.model import LLMJudge
    from coach.partners.model import LLMPartner

    model = OpenAIChatModel.from_config(config)
    judge = LLMJudge(model, config.judge_model, config.structured,
                     fallback=fallback if fallback is not None else _heuristic())
    return Backend(
        judge=judge,
        partner=LLMPartner(model, config.partner_model),
        label=f"model: {config.describe()}",
        offline=False,
    )


def check_connection(config: ModelConfig) -> str:
    """Check that the server answers and serves the configured models (a "test" button).

    Lists the server's models; when the server cannot list them, asks for a 1-token
    completion instead.

    Returns:
        A short success message for the user.

    Raises:
        ModelError: with a message that says what to fix.
    """
    from coach.adapters.config import safe_url
    from coach.adapters.llm import OpenAIChatModel, RetryPolicy

    # One quick try: a person is waiting on the button; retries would only hide the answer.
    model = OpenAIChatModel(
        base_url=config.base_url, api_key=config.api_key, timeout=min(config.timeout, 15),
        policy=RetryPolicy(max_attempts=1, time_budget=min(config.timeout, 15)),
    )
    wanted = list(dict.fromkeys((config.partner_model, config.judge_model)))
    try:
        available = model.list_models()
    except ModelError as e:
        if e.retryable:  # unreachable or timing out: a completion will not fare better
            raise
        available = None
    if available is None or not available:
        for name in wanted:
            model.complete([{"role": "user", "content": "Say OK."}], model=name, max_tokens=1)
        return f"Connected to {safe_url(config.base_url)}; {', '.join(wanted)} answered."
    missing = [m for m in wanted if m not in available]
    for name in list(missing):
        # Some servers answer for names they do not list (aliases); believe a completion.
        try:
            model.complete([{"role": "user", "content": "Say OK."}], model=name, max_tokens=1)
            missing.remove(name)
        except ModelError as e:
            if e.retryable:
                raise
    if missing:
        raise ModelError(
            f"Connected to {safe_url(config.base_url)}, but it does not serve "
            f"{', '.join(missing)}. "
            f"It serves: {', '.join(available[:10])}. Set {wording.MODEL_NAMES} to one "
            "of those."
        )
    return f"Connected to {safe_url(config.base_url)}; serving {', '.join(wanted)}."
