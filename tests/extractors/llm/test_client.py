"""The chat-completions client against the server double: retries, timeouts, limits, concurrency."""

from __future__ import annotations

import pytest

from extractors.llm.client import EndpointSettings, LlmCallError, OpenAIChatClient, RateLimiter
from schemas.errors import ConfigError
from tests.doubles.openai_server import OpenAIServerDouble
from tests.extractors.llm.conftest import fast_client


def answer(body: dict) -> dict:
    return {"echo": body["messages"][-1]["content"]}


def body(client: OpenAIChatClient, text: str = "hi") -> dict:
    return client.body([{"role": "user", "content": text}], None, temperature=0)


def test_ok_answer_and_request_shape() -> None:
    with OpenAIServerDouble(answer) as srv:
        client = fast_client(srv.base_url)
        fmt = {"type": "json_schema", "json_schema": {"name": "x", "strict": True, "schema": {}}}
        content = client.complete(client.body([{"role": "user", "content": "hello"}], fmt, temperature=0))
        assert content == '{"echo": "hello"}'
        assert srv.requests == 1 and srv.bodies[0]["response_format"] == fmt
        assert srv.bodies[0]["model"] == "double-llm" and srv.bodies[0]["temperature"] == 0


@pytest.mark.parametrize("status", ["429", "500", "503"])
def test_transient_errors_are_retried_then_succeed(status: str) -> None:
    with OpenAIServerDouble(answer, default=[status, status, "ok"]) as srv:
        client = fast_client(srv.base_url, max_retries=2)
        assert client.complete(body(client)) == '{"echo": "hi"}'
        assert srv.requests == 3 and client.calls == 3


def test_retries_are_bounded() -> None:
    with OpenAIServerDouble(answer, default=["500"]) as srv:
        client = fast_client(srv.base_url, max_retries=3)
        with pytest.raises(LlmCallError) as err:
            client.complete(body(client))
        assert err.value.kind == "http_5xx" and err.value.attempts == 4 and srv.requests == 4


def test_timeout_is_retried_then_reported() -> None:
    with OpenAIServerDouble(answer, default=["slow"], slow_s=1.0) as srv:
        client = fast_client(srv.base_url, timeout_s=0.2, max_retries=1)
        with pytest.raises(LlmCallError) as err:
            client.complete(body(client))
        assert err.value.kind == "timeout" and srv.requests == 2


def test_other_4xx_is_not_retried() -> None:
    with OpenAIServerDouble(answer) as srv:
        client = fast_client(srv.base_url, max_retries=3)
        client.url = client.url.replace("/chat/completions", "/other")
        with pytest.raises(LlmCallError) as err:
            client.complete(body(client))
        assert err.value.kind == "http_4xx" and srv.requests == 0 and client.calls == 1


def test_connection_refused_is_a_connection_error() -> None:
    with OpenAIServerDouble(answer) as srv:
        url = srv.base_url
    client = fast_client(url, max_retries=1)  # the double is stopped: nothing listens on that port
    with pytest.raises(LlmCallError) as err:
        client.complete(body(client))
    assert err.value.kind == "connection" and client.calls == 2


def test_complete_many_keeps_order_and_returns_failures() -> None:
    with OpenAIServerDouble(answer, plan={"bad": ["500"]}) as srv:
        client = fast_client(srv.base_url, max_retries=0, max_concurrency=3)
        out = client.complete_many([body(client, t) for t in ("a", "bad", "c", "d")])
        assert out[0] == '{"echo": "a"}' and out[2] == '{"echo": "c"}' and out[3] == '{"echo": "d"}'
        assert isinstance(out[1], LlmCallError) and out[1].kind == "http_5xx"
        assert srv.requests == 4


def test_rate_limiter_spaces_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr("extractors.llm.client.time.sleep", slept.append)
    limiter = RateLimiter(qps=4.0, clock=lambda: 10.0)  # a frozen clock: every call must wait its slot
    for _ in range(3):
        limiter.wait()
    assert slept == [0.25, 0.5]
    unlimited = RateLimiter(qps=0)
    unlimited.wait()
    assert unlimited.interval == 0.0 and len(slept) == 2


def test_rate_limiter_really_waits() -> None:
    import time

    limiter = RateLimiter(qps=20.0)
    t0 = time.monotonic()
    for _ in range(4):
        limiter.wait()
    assert time.monotonic() - t0 >= 0.14  # 3 gaps of 50 ms


KEY = "MEDGROUND_TEST_KEY"


def test_config_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="base_url"):
        OpenAIChatClient(EndpointSettings(base_url="localhost:8000", model="m"))
    monkeypatch.delenv("MEDGROUND_TEST_KEY", raising=False)
    with pytest.raises(ConfigError, match="MEDGROUND_TEST_KEY"):
        OpenAIChatClient(EndpointSettings(base_url="http://127.0.0.1:9/v1", model="m", api_key_env=KEY))
    monkeypatch.setenv("MEDGROUND_TEST_KEY", "sk-test")
    with OpenAIServerDouble(answer) as srv:
        client = OpenAIChatClient(EndpointSettings(base_url=srv.base_url, model="m", api_key_env=KEY))
        assert client.complete(body(client)) == '{"echo": "hi"}'
