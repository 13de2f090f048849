"""An OpenAI-compatible chat-completions client: bounded concurrency and QPS, bounded retries.

Standard library only (`urllib` + a thread pool), so it runs wherever the pipeline runs. Timeouts,
connection errors, HTTP 429 and 5xx are retried with exponential backoff (a `Retry-After` header is
honoured, capped); after `max_retries` the call fails with `LlmCallError(kind)`, which callers turn
into a flagged fallback. Other 4xx answers are not retried (a bad request stays bad).
"""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from schemas.errors import ConfigError, RetryableError

ERROR_KINDS = ("timeout", "connection", "http_429", "http_5xx", "http_4xx", "bad_response")
RETRYABLE = frozenset({"timeout", "connection", "http_429", "http_5xx"})


class LlmCallError(RetryableError):
    """A chat completion that did not come back. `kind` is one of ERROR_KINDS; `attempts` were made."""

    def __init__(self, kind: str, message: str, attempts: int = 1, retry_after: float | None = None) -> None:
        self.kind = kind
        self.attempts = attempts
        self.retry_after = retry_after  # seconds the server asked us to wait (429/503)
        super().__init__(f"{kind}: {message}")


@dataclass(frozen=True)
class EndpointSettings:
    """Where and how fast to call. `api_key_env` names an environment variable (never the key itself)."""

    base_url: str
    model: str
    api_key_env: str | None = None
    max_concurrency: int = 4
    qps: float = 0.0  # requests per second over all threads; 0 = unlimited
    timeout_s: float = 60.0
    max_retries: int = 3
    backoff_s: float = 0.5  # first backoff; doubles per attempt
    max_backoff_s: float = 8.0

    def api_key(self) -> str | None:
        if not self.api_key_env:
            return None
        key = os.environ.get(self.api_key_env)
        if not key:
            raise ConfigError("endpoint.api_key_env", f"environment variable {self.api_key_env} is not set")
        return key


class RateLimiter:
    """Spaces calls at least 1/qps seconds apart across threads (qps <= 0: no limit)."""

    def __init__(self, qps: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = 1.0 / qps if qps > 0 else 0.0
        self.clock = clock
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        if self.interval <= 0:
            return
        with self._lock:
            now = self.clock()
            slot = max(now, self._next)
            self._next = slot + self.interval
        if slot > now:
            time.sleep(slot - now)


class OpenAIChatClient:
    """POSTs to `{base_url}/chat/completions`; returns the first choice's message content."""

    def __init__(self, settings: EndpointSettings) -> None:
        if not settings.base_url.startswith(("http://", "https://")):
            raise ConfigError("endpoint.base_url", "must be an http(s) URL")
        if settings.max_concurrency < 1 or settings.max_retries < 0:
            raise ConfigError("endpoint", "max_concurrency must be >= 1 and max_retries >= 0")
        self.settings = settings
        self.url = settings.base_url.rstrip("/") + "/chat/completions"
        self.limiter = RateLimiter(settings.qps)
        self._key = settings.api_key()
        self.calls = 0  # HTTP requests sent (retries included)
        self._count_lock = threading.Lock()

    def body(self, messages: list[dict[str, str]], response_format: dict[str, Any] | None,
             **sampling: Any) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.settings.model, "messages": messages, **sampling}
        if response_format is not None:
            body["response_format"] = response_format
        return body

    def complete(self, body: dict[str, Any]) -> str:
        """The answer's content, after bounded retries; raises LlmCallError."""
        s = self.settings
        for attempt in range(s.max_retries + 1):
            try:
                return self._post_once(body)
            except LlmCallError as err:
                err.attempts = attempt + 1
                if err.kind not in RETRYABLE or attempt == s.max_retries:
                    raise
                time.sleep(min(s.max_backoff_s, err.retry_after or s.backoff_s * 2**attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    def complete_many(self, bodies: Sequence[dict[str, Any]]) -> list[str | LlmCallError]:
        """Answers in input order; failures come back as LlmCallError values, not raised."""

        def one(body: dict[str, Any]) -> str | LlmCallError:
            try:
                return self.complete(body)
            except LlmCallError as err:
                return err

        if len(bodies) <= 1 or self.settings.max_concurrency == 1:
            return [one(b) for b in bodies]
        with ThreadPoolExecutor(max_workers=min(self.settings.max_concurrency, len(bodies))) as pool:
            return list(pool.map(one, bodies))

    def _post_once(self, body: dict[str, Any]) -> str:
        self.limiter.wait()
        headers = {"Content-Type": "application/json"}
        if self._key:
            headers["Authorization"] = f"Bearer {self._key}"
        req = urllib.request.Request(self.url, data=json.dumps(body).encode(), headers=headers, method="POST")
        with self._count_lock:
            self.calls += 1
        try:
            with urllib.request.urlopen(req, timeout=self.settings.timeout_s) as resp:
                payload = resp.read()
        except urllib.error.HTTPError as err:
            raise http_error(err) from None
        except TimeoutError as err:
            raise LlmCallError("timeout", f"no answer within {self.settings.timeout_s}s") from err
        except urllib.error.URLError as err:
            kind = "timeout" if isinstance(err.reason, TimeoutError) else "connection"
            raise LlmCallError(kind, type(err.reason).__name__) from err
        except (ConnectionError, OSError) as err:
            raise LlmCallError("connection", type(err).__name__) from err
        return content_of(payload)


def http_error(err: urllib.error.HTTPError) -> LlmCallError:
    code = err.code
    kind = "http_429" if code == 429 else "http_5xx" if code >= 500 else "http_4xx"
    header = err.headers.get("Retry-After") if err.headers else None
    try:
        retry_after = float(header) if header else None
    except ValueError:
        retry_after = None
    return LlmCallError(kind, f"HTTP {code}", retry_after=retry_after)


def content_of(payload: bytes) -> str:
    """The first choice's message content of a chat-completions response body."""
    try:
        data = json.loads(payload)
        content = data["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError) as err:
        raise LlmCallError("bad_response", "not a chat-completions response") from err
    if not isinstance(content, str):
        raise LlmCallError("bad_response", "message content is not a string")
    return content
