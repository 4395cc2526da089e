// HTTP load generator for Parapet's benchmarks: autocannon's client, with every response's
// latency kept so percentiles are exact (autocannon's own histogram has no p95). Prints one
// JSON object on stdout.
//
//   node tests/bench/load.mjs URL [--method POST] [--body FILE] [--header 'name: value']...
//        [--connections N] (--duration SECONDS | --amount REQUESTS) [--pipelining 1]
//        [--timeout SECONDS] [--max-seconds SECONDS] [--mark NAME=SUBSTRING]...
//        [--latencies-out FILE]
//
// --mark counts, per status, the responses whose body contains SUBSTRING (e.g. a Parapet error
// JSON). --latencies-out writes every latency (ms) as little-endian float64, in arrival order,
// for callers that merge runs. --max-seconds bounds an --amount run whose target stopped
// answering (autocannon would reconnect for ever).
import { createRequire } from "node:module";
import { readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";

const require = createRequire(import.meta.url);
const autocannon = require("autocannon");

function usage(msg) {
  process.stderr.write(`load.mjs: ${msg}\n`);
  process.exit(2);
}

let parsed;
try {
  parsed = parseArgs({
    allowPositionals: true,
    options: {
      method: { type: "string" },
      body: { type: "string" },
      header: { type: "string", multiple: true, default: [] },
      connections: { type: "string", default: "1" },
      duration: { type: "string" },
      amount: { type: "string" },
      pipelining: { type: "string", default: "1" },
      timeout: { type: "string", default: "10" },
      "max-seconds": { type: "string" },
      mark: { type: "string", multiple: true, default: [] },
      "latencies-out": { type: "string" },
    },
  });
} catch (e) {
  usage(e.message);
}
const { values: opt, positionals } = parsed;
if (positionals.length !== 1) usage("expected exactly one URL");
const url = positionals[0];

function positive(name, v, { integer = true } = {}) {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) usage(`--${name}: expected a positive ${integer ? "integer" : "number"}, got ${v}`);
  return n;
}
const connections = positive("connections", opt.connections);
const pipelining = positive("pipelining", opt.pipelining);
const timeout = positive("timeout", opt.timeout, { integer: false });
if ((opt.duration === undefined) === (opt.amount === undefined)) usage("give exactly one of --duration and --amount");
const duration = opt.duration === undefined ? undefined : positive("duration", opt.duration, { integer: false });
const amount = opt.amount === undefined ? undefined : positive("amount", opt.amount);
if (amount !== undefined && amount < connections) usage("--amount must be at least --connections");

const headers = {};
for (const h of opt.header) {
  const i = h.indexOf(":");
  if (i <= 0) usage(`--header: expected 'name: value', got ${h}`);
  headers[h.slice(0, i).trim().toLowerCase()] = h.slice(i + 1).trim();
}
const body = opt.body === undefined ? undefined : readFileSync(opt.body);
if (body !== undefined && !headers["content-type"]) headers["content-type"] = "application/json";
const method = (opt.method || (body ? "POST" : "GET")).toUpperCase();

const marks = opt.mark.map((m) => {
  const i = m.indexOf("=");
  if (i <= 0) usage(`--mark: expected NAME=SUBSTRING, got ${m}`);
  return { name: m.slice(0, i), needle: m.slice(i + 1) };
});

// Growable float64 buffer: a long run at thousands of requests per second keeps millions.
let lat = new Float64Array(1 << 16);
let n = 0;
const status = {};
const marked = Object.fromEntries(marks.map((m) => [m.name, {}]));
const samples = []; // a few non-2xx or marked responses, to say what went wrong
const errorKinds = {};
let lastStatus = 0;
let capped = false;
let lastResponse = 0n;
const started = process.hrtime.bigint();

const instance = autocannon(
  {
    url,
    method,
    headers,
    body,
    connections,
    pipelining,
    timeout,
    ...(amount !== undefined ? { amount } : { duration }),
    // autocannon calls verifyBody synchronously right after the 'response' event of the same
    // response, so `lastStatus` is that response's status.
    verifyBody: (text) => {
      let hit = false;
      for (const m of marks) {
        if (text.includes(m.needle)) {
          marked[m.name][lastStatus] = (marked[m.name][lastStatus] || 0) + 1;
          hit = true;
        }
      }
      if ((hit || lastStatus < 200 || lastStatus >= 300) && samples.length < 5) {
        samples.push({ status: lastStatus, body: text.slice(0, 400) });
      }
      return true;
    },
  },
  (err, result) => {
    if (err) {
      process.stderr.write(`load.mjs: ${err.message}\n`);
      process.exit(1);
    }
    finish(result);
  },
);

instance.on("response", (_client, statusCode, _bytes, responseTime) => {
  lastResponse = process.hrtime.bigint();
  lastStatus = statusCode;
  status[statusCode] = (status[statusCode] || 0) + 1;
  if (n === lat.length) {
    const grown = new Float64Array(lat.length * 2);
    grown.set(lat);
    lat = grown;
  }
  lat[n++] = responseTime;
});
instance.on("reqError", (e) => {
  const kind = e.code || e.message;
  errorKinds[kind] = (errorKinds[kind] || 0) + 1;
});

if (opt["max-seconds"] !== undefined) {
  const cap = positive("max-seconds", opt["max-seconds"], { integer: false });
  setTimeout(() => {
    capped = true;
    instance.stop();
  }, cap * 1000).unref();
}

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  // Nearest rank: the smallest value with at least p% of the values at or below it.
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
}

const round = (v) => (v === null ? null : Math.round(v * 1000) / 1000);

function finish(result) {
  const values = lat.subarray(0, n);
  if (opt["latencies-out"]) writeFileSync(opt["latencies-out"], Buffer.from(values.buffer, values.byteOffset, n * 8));
  const sorted = Float64Array.from(values).sort();
  let sum = 0;
  for (const v of values) sum += v;
  // From the first request to the last response: autocannon's own duration is rounded up to
  // its 1 s sampling tick, which skews short --amount runs.
  const elapsed = n > 0 ? Number(lastResponse - started) / 1e9 : 0;
  let non2xx = 0;
  for (const [code, count] of Object.entries(status)) if (code < 200 || code >= 300) non2xx += count;
  const out = {
    url,
    method,
    connections,
    pipelining,
    body_bytes: body ? body.length : 0,
    mode: amount !== undefined ? { amount } : { duration },
    elapsed_s: round(elapsed),
    requests: n,
    rps: elapsed > 0 ? Math.round((n / elapsed) * 10) / 10 : null,
    latency_ms: {
      p50: round(percentile(sorted, 50)),
      p95: round(percentile(sorted, 95)),
      p99: round(percentile(sorted, 99)),
      max: round(n ? sorted[n - 1] : null),
      min: round(n ? sorted[0] : null),
      mean: round(n ? sum / n : null),
    },
    status,
    non2xx,
    errors: result.errors - result.timeouts, // connection errors (reset, refused, ...)
    timeouts: result.timeouts,
    error_kinds: errorKinds,
    marks: marked,
    samples,
    stopped_early: capped,
  };
  process.stdout.write(JSON.stringify(out) + "\n");
}
