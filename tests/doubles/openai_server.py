"""TEST DOUBLE: a local OpenAI chat-completions server (127.0.0.1, random free port, threaded).

It stands in for an LLM endpoint (vLLM server, Ollama, a hosted API) that cannot run here. Each
request gets a behaviour: the first `plan` marker found in the request's report (the user message
between <<< and >>>, or all of it) picks the
next behaviour from that marker's list (the last one repeats), else the `default` list does the same.

Behaviours: `ok` (the responder's answer as JSON content), `fenced` (same, inside ```json fences),
`invalid_json`, `bad_schema` (JSON that is not the answer schema), `unknown_codes` (the responder's
answer with every code replaced by a made-up one), `slow` (waits `slow_s`, then `ok`), `429`
(with Retry-After: 0), `500`, `503`. It counts requests (total and per behaviour), keeps their
bodies, and shuts itself down after `max_lifetime_s` if the test forgets to.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Responder = Callable[[dict[str, Any]], dict[str, Any]]
BEHAVIOURS = ("ok", "fenced", "invalid_json", "bad_schema", "unknown_codes", "slow", "429", "500", "503")


def user_text(body: dict[str, Any]) -> str:
    return "\n".join(m["content"] for m in body.get("messages", []) if m.get("role") == "user")


def report_of(body: dict[str, Any]) -> str:
    """The report text between the findings prompt's <<< >>> markers."""
    text = user_text(body)
    return text.split("<<<\n", 1)[-1].rsplit("\n>>>", 1)[0]


class OpenAIServerDouble:
    def __init__(
        self,
        responder: Responder,
        default: list[str] | None = None,
        plan: dict[str, list[str]] | None = None,
        slow_s: float = 1.0,
        max_lifetime_s: float = 60.0,
    ) -> None:
        for b in [*(default or []), *(x for v in (plan or {}).values() for x in v)]:
            assert b in BEHAVIOURS, b
        self.responder = responder
        self.default = list(default or ["ok"])
        self.plan = {k: list(v) for k, v in (plan or {}).items()}
        self.slow_s = slow_s
        self.requests = 0
        self.by_behaviour: Counter[str] = Counter()
        self.bodies: list[dict[str, Any]] = []
        self._hits: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._timer = threading.Timer(max_lifetime_s, self.stop)
        self._timer.daemon = True

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def __enter__(self) -> OpenAIServerDouble:
        self._thread.start()
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._timer.cancel()
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()

    def behaviour(self, body: dict[str, Any]) -> str:
        text = report_of(body)
        with self._lock:
            self.requests += 1
            self.bodies.append(body)
            marker = next((m for m in sorted(self.plan) if m in text), None)
            seq = self.plan[marker] if marker is not None else self.default
            key = marker if marker is not None else "\0default"
            choice = seq[min(self._hits[key], len(seq) - 1)]
            self._hits[key] += 1
            self.by_behaviour[choice] += 1
        return choice

    def content(self, behaviour: str, body: dict[str, Any]) -> str:
        if behaviour == "invalid_json":
            return '{"findings": [{"phrase": "unterminated'
        if behaviour == "bad_schema":
            return json.dumps({"findings": [{"phrase": 3, "certainty": "maybe"}]})
        answer = self.responder(body)
        if behaviour == "unknown_codes":
            for f in answer.get("findings", []):
                f["code"] = f"zz_made_up_{len(f['code'])}"
        text = json.dumps(answer)
        return f"```json\n{text}\n```" if behaviour == "fenced" else text

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        double = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # keep test output quiet
                pass

            def do_POST(self) -> None:
                if not self.path.endswith("/chat/completions"):
                    return self.reply(404, {"error": {"message": "not found"}})
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                behaviour = double.behaviour(body)
                if behaviour in ("429", "500", "503"):
                    return self.reply(int(behaviour), {"error": {"message": behaviour}}, {"Retry-After": "0"})
                if behaviour == "slow":
                    time.sleep(double.slow_s)
                content = double.content(behaviour, body)
                self.reply(200, {
                    "id": f"chatcmpl-{double.requests}", "object": "chat.completion", "model": body.get("model"),
                    "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": content}}],
                })

            def reply(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for k, v in (headers or {}).items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client timed out and left: that is the point of `slow`

        return Handler


def phrase_responder(table: dict[str, dict[str, Any]], start_shift: int = 0) -> Responder:
    """A findings responder: every phrase of `table` found in the report becomes a finding with the
    given fields (code, certainty, laterality, ...); `start_shift` mis-states offsets, as models do."""

    def respond(body: dict[str, Any]) -> dict[str, Any]:
        report = report_of(body)
        out = []
        for phrase, fields in sorted(table.items()):
            at = report.lower().find(phrase.lower())
            if at < 0:
                continue
            out.append({
                "phrase": report[at : at + len(phrase)], "start": at + start_shift, "sentence": None,
                "code": fields["code"], "certainty": fields.get("certainty", "present"),
                "laterality": fields.get("laterality", "none"), "location_codes": fields.get("location_codes", []),
                "size_mm": fields.get("size_mm", []), "severity": fields.get("severity"),
                "change": fields.get("change"),
            })
        return {"findings": sorted(out, key=lambda f: f["start"])}

    return respond
