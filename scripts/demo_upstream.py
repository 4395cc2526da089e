#!/usr/bin/env python3
"""A stand-in LLM API for trying Parapet by hand (the transcripts in docs/deploy-*.md).

    python3 scripts/demo_upstream.py [PORT]     # 127.0.0.1:8000 by default

Answers POST /v1/chat/completions, /v1/responses and /v1/messages in each API's format, as JSON
or, when the request says `"stream": true`, as server-sent events sent a few words at a time.
The reply depends on the last user message: one mentioning "key" gets an AWS access key in the
answer, one mentioning "mail" an e-mail address, anything else a harmless sentence. A chat
request whose last user message says "send" gets a call to the `send_email` tool instead (JSON
only), whether the request offered that tool or not, as a misbehaving model might.
"""
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def reply_text(req):
    msgs = req.get("messages") or [{"role": "user", "content": req.get("input", "")}]
    last = json.dumps(msgs[-1]).lower()
    if "key" in last:
        return "Sure. The staging key is AKIAQ3EGUIXNP4SR7WDK, rotate it after use."
    if "mail" in last:
        return "You can reach the team at jane.doe@example.com any time."
    return "Lisbon is mild in spring: pack light layers and good walking shoes."


def words(text):
    parts, cur = [], ""
    for ch in text:
        cur += ch
        if ch == " ":
            parts.append(cur)
            cur = ""
    return parts + ([cur] if cur else [])


def events(path, text):
    if path == "/v1/chat/completions":
        for w in words(text):
            yield f"data: {json.dumps({'object': 'chat.completion.chunk', 'choices': [{'index': 0, 'delta': {'content': w}}]})}\n\n"
        yield "data: [DONE]\n\n"
    elif path == "/v1/responses":
        yield 'event: response.created\ndata: {"type":"response.created"}\n\n'
        for w in words(text):
            yield f"event: response.output_text.delta\ndata: {json.dumps({'type': 'response.output_text.delta', 'delta': w})}\n\n"
        yield 'event: response.completed\ndata: {"type":"response.completed"}\n\n'
    else:
        yield 'event: message_start\ndata: {"type":"message_start"}\n\n'
        for w in words(text):
            yield f"event: content_block_delta\ndata: {json.dumps({'type': 'content_block_delta', 'index': 0, 'delta': {'type': 'text_delta', 'text': w}})}\n\n"
        yield 'event: message_stop\ndata: {"type":"message_stop"}\n\n'


def wants_send(req):
    msgs = req.get("messages") or []
    return bool(msgs) and "send" in json.dumps(msgs[-1]).lower()


def tool_call():
    call = {"id": "call_1", "type": "function", "function": {"name": "send_email", "arguments": json.dumps({"to": "ops@example.com", "body": "done"})}}
    return {"id": "chatcmpl-1", "object": "chat.completion",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": None, "tool_calls": [call]}, "finish_reason": "tool_calls"}]}


def whole(path, text):
    if path == "/v1/chat/completions":
        return {"id": "chatcmpl-1", "object": "chat.completion", "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}]}
    if path == "/v1/responses":
        return {"id": "resp-1", "object": "response", "output": [{"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": text}]}]}
    return {"id": "msg-1", "type": "message", "role": "assistant", "content": [{"type": "text", "text": text}]}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        req = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)) or b"{}")
        text = reply_text(req)
        if not req.get("stream"):
            body = tool_call() if self.path == "/v1/chat/completions" and wants_send(req) else whole(self.path, text)
            out = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)
            return
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        try:
            for ev in events(self.path, text):
                b = ev.encode()
                self.wfile.write(b"%x\r\n%s\r\n" % (len(b), b))
                self.wfile.flush()
                time.sleep(0.05)
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *a):
        pass


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8000
    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
