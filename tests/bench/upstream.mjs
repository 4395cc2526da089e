// A fast stand-in LLM API for the benchmarks, on 127.0.0.1 only.
//
//   node tests/bench/upstream.mjs [PORT]        (0 or none: a free port; the port is printed)
//
// POST /v1/chat/completions answers a small OpenAI chat completion, or, when the request body
// has "stream": true, an SSE stream of 20 `chat.completion.chunk` events ending with
// `data: [DONE]`, each event its own HTTP chunk. Anything else: 200 `{}`. Answers are built
// once at start-up so the upstream stays cheap next to what it is measuring.
import http from "node:http";

const CREATED = 1700000000;
const COMPLETION = Buffer.from(
  JSON.stringify({
    id: "chatcmpl-bench",
    object: "chat.completion",
    created: CREATED,
    model: "bench-model",
    choices: [
      {
        index: 0,
        message: { role: "assistant", content: "Here is a short summary of the main points you asked about." },
        finish_reason: "stop",
      },
    ],
    usage: { prompt_tokens: 250, completion_tokens: 12, total_tokens: 262 },
  }),
);

const STREAM_TEXT =
  "Thanks for the question. The release went out on Tuesday, the migration finished " +
  "without downtime, and the team will share the retrospective notes next week.";
const STREAM_EVENTS = (() => {
  const words = STREAM_TEXT.split(" ");
  const n = 18; // content deltas; with the role and finish chunks, 20 chunk events
  const parts = [];
  for (let k = 0; k < n; k++) {
    const from = Math.floor((k * words.length) / n);
    parts.push((k ? " " : "") + words.slice(from, Math.floor(((k + 1) * words.length) / n)).join(" "));
  }
  const chunk = (delta, finish) =>
    "data: " +
    JSON.stringify({
      id: "chatcmpl-bench",
      object: "chat.completion.chunk",
      created: CREATED,
      model: "bench-model",
      choices: [{ index: 0, delta, finish_reason: finish }],
    }) +
    "\n\n";
  const events = [chunk({ role: "assistant", content: "" }, null)];
  for (const p of parts) events.push(chunk({ content: p }, null));
  events.push(chunk({}, "stop"));
  events.push("data: [DONE]\n\n");
  return events.map((e) => Buffer.from(e));
})();
const EMPTY = Buffer.from("{}");

// Streams ask for `"stream": true`; a substring test would misread a prompt that quotes it.
function wantsStream(body) {
  if (!body.includes('"stream"')) return false;
  try {
    return JSON.parse(body).stream === true;
  } catch {
    return false;
  }
}

function send(res, status, body) {
  res.writeHead(status, { "content-type": "application/json", "content-length": body.length });
  res.end(body);
}

function stream(res) {
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  let i = 0;
  // One event per turn of the event loop, so each leaves as its own write (and HTTP chunk).
  const next = () => {
    if (res.destroyed) return;
    if (i === STREAM_EVENTS.length) return res.end();
    res.write(STREAM_EVENTS[i++]);
    setImmediate(next);
  };
  next();
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const path = req.url.split("?")[0];
    if (req.method === "POST" && path === "/v1/chat/completions") {
      if (wantsStream(Buffer.concat(chunks).toString())) return stream(res);
      return send(res, 200, COMPLETION);
    }
    send(res, 200, EMPTY);
  });
});
// Proxies keep upstream connections open for long; Node's default 5 s keep-alive timeout
// would close idle ones under them and turn the race into spurious 503s.
server.keepAliveTimeout = 0;
server.headersTimeout = 0;
server.requestTimeout = 0;

const port = Number(process.argv[2] || 0);
server.listen(port, "127.0.0.1", () => {
  process.stdout.write(`${server.address().port}\n`);
});
for (const sig of ["SIGTERM", "SIGINT"]) {
  process.on(sig, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
}
