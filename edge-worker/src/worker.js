// Parapet edge worker: an ES module for workerd / Cloudflare Workers.
//
// Thin by design. The Parapet core (Rust, compiled to wasm, `../pkg/parapet_edge*`) decides
// every answer: parsing, screening, modes, fail modes and error bodies. This file only routes,
// reads request bodies with a size cap, forwards to the origin, copies headers and pipes the
// origin's response through the core's response screen.
//
// Bindings:
//   PARAPET_CONFIG  Parapet config as JSON text (or, from wrangler [vars], an object).
//                   Missing or empty means `{}`: built-in default policy, block, fail closed.
//   ORIGIN_URL      Where screened API requests and all other paths are forwarded, e.g.
//                   `https://api.openai.com` or `http://127.0.0.1:8000`. A path in it is a
//                   prefix: `http://gw/openai` + `/v1/chat/completions` -> `/openai/v1/chat/completions`.
//   SCORING         Optional service binding to a Parapet scoring service (`parapet serve`), or
//   SCORING_URL     its base URL, e.g. `http://127.0.0.1:8090`: with the config's `offload`
//                   section, long bodies' model windows are scored there.

import { initSync, Parapet } from "../pkg/parapet_edge.js";
import wasmModule from "../pkg/parapet_edge_bg.wasm";

const JSON_HEADERS = { "content-type": "application/json" };

// Hop-by-hop headers (RFC 9110 section 7.6.1) are not forwarded; nor are `host` and
// `content-length` (fetch sets them for the new request) or Cloudflare's own `cf-*` headers.
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "host",
  "content-length",
]);

// One compiled config per isolate (keyed by the config text, which is fixed per deployment).
let loaded = null; // { key, parapet } or { key, error }
let wasmReady = false;

function configText(env) {
  const v = env.PARAPET_CONFIG;
  if (v === undefined || v === null) return "";
  return typeof v === "string" ? v : JSON.stringify(v);
}

function load(env) {
  const key = configText(env);
  if (loaded !== null && loaded.key === key) return loaded;
  try {
    if (!wasmReady) {
      initSync({ module: wasmModule });
      wasmReady = true;
    }
    const parapet = new Parapet(key);
    loaded = { key, parapet, failOpen: parapet.failOpen };
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    console.error(`parapet: ${message}`);
    // A config error is final for this config; a trap is not cached (the next request retries).
    if (e instanceof WebAssembly.RuntimeError) return { key, error: message, code: "internal" };
    loaded = { key, error: message, code: "invalid_config" };
  }
  return loaded;
}

// An error in the core's shape, for the few answers the worker makes itself.
function errorResponse(status, code, message, extraHeaders = {}) {
  const type = status >= 400 && status < 500 ? "invalid_request_error" : "parapet_error";
  const body = JSON.stringify({ error: { message, type, code, param: null } });
  return new Response(body, { status, headers: { ...JSON_HEADERS, ...extraHeaders } });
}

// `extra`: a flat [name, value, ...] list from the core (a `content-type` in it replaces JSON's).
function coreResponse(status, body, extra = []) {
  const headers = new Headers(JSON_HEADERS);
  for (let i = 0; i + 1 < extra.length; i += 2) headers.set(extra[i], extra[i + 1]);
  return new Response(body, { status, headers });
}

// Reads the body, keeping at most `max + 1` bytes. Returns `{ bytes }`, or `{ tooLarge, size,
// body }` where `body` is a stream that still yields every byte (for fail-open forwarding).
async function readCapped(request, max) {
  const cl = request.headers.get("content-length");
  if (cl !== null && /^\s*\d+\s*$/.test(cl) && Number(cl) > max) {
    return { tooLarge: true, size: Number(cl), body: request.body };
  }
  if (request.body === null) return { bytes: new Uint8Array(0) };
  const reader = request.body.getReader();
  const chunks = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    const chunk = value instanceof Uint8Array ? value : new Uint8Array(value);
    chunks.push(chunk);
    total += chunk.byteLength;
    if (total > max) {
      return { tooLarge: true, size: total, body: resumeStream(chunks, reader) };
    }
  }
  if (chunks.length === 1) return { bytes: chunks[0] };
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.byteLength;
  }
  return { bytes };
}

// The chunks already read followed by the rest of the reader.
function resumeStream(chunks, reader) {
  let i = 0;
  return new ReadableStream({
    async pull(controller) {
      if (i < chunks.length) {
        controller.enqueue(chunks[i++]);
        return;
      }
      const { done, value } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}

function forwardHeaders(request) {
  const drop = new Set(HOP_BY_HOP);
  for (const name of (request.headers.get("connection") || "").split(",")) {
    if (name.trim()) drop.add(name.trim().toLowerCase());
  }
  const headers = new Headers();
  for (const [name, value] of request.headers) {
    if (!drop.has(name) && !name.startsWith("cf-")) headers.append(name, value);
  }
  return headers;
}

function originTarget(originUrl, url) {
  const origin = new URL(originUrl);
  const prefix = origin.pathname.replace(/\/+$/, "");
  origin.pathname = prefix + url.pathname;
  origin.search = url.search;
  return origin;
}

// Forwards to the origin; `extra` is a flat [name, value, ...] list added to its response.
async function forward(env, request, url, body, extra = []) {
  if (!env.ORIGIN_URL) {
    // Without an origin the worker is a guard endpoint only: a screened chat request that
    // passed has nowhere to go (502); any other path does not exist (404).
    return extra.length
      ? errorResponse(502, "no_origin", `${url.pathname} passed screening but ORIGIN_URL is not set`)
      : errorResponse(404, "not_found", `no route for ${url.pathname} (ORIGIN_URL is not set)`);
  }
  let target;
  try {
    target = originTarget(env.ORIGIN_URL, url);
  } catch {
    console.error(`parapet: ORIGIN_URL ${JSON.stringify(env.ORIGIN_URL)} is not a URL`);
    return errorResponse(502, "bad_origin", "ORIGIN_URL is not a valid URL");
  }
  const init = { method: request.method, headers: forwardHeaders(request), redirect: "manual" };
  if (body !== null && body !== undefined && request.method !== "GET" && request.method !== "HEAD") {
    init.body = body;
  }
  let upstream;
  try {
    upstream = await fetch(target.toString(), init);
  } catch (e) {
    console.error(`parapet: origin ${target.origin} unreachable: ${e}`);
    return errorResponse(502, "origin_unreachable", "the origin could not be reached");
  }
  if (extra.length === 0) return upstream;
  const response = new Response(upstream.body, upstream);
  for (let i = 0; i + 1 < extra.length; i += 2) response.headers.set(extra[i], extra[i + 1]);
  return response;
}

// The caller's project (route by path prefix, API key, project header), decided by the core.
// The key headers go to the core only; they are never logged.
function identify(parapet, request, path) {
  const h = (name) => request.headers.get(name) ?? undefined;
  return parapet.identify(path, h("authorization"), h("x-api-key"), h("api-key"), h(parapet.projectHeader));
}

function requestId(request) {
  return request.headers.get("x-request-id") ?? request.headers.get("cf-ray") ?? undefined;
}

// One screening log record per line on the console (config `logging`; Workers Logpush and
// `wrangler tail` collect it). Content in it is already masked by the core.
function emit(x) {
  const rec = x.logRecord;
  if (rec !== undefined) console.log(rec);
  // A posture transition is always recorded.
  const transition = x.postureRecord;
  if (transition !== undefined) console.log(transition);
}

// The scoring service's fetch, by service binding or URL; null when neither is bound.
function scoringFetch(env, path) {
  if (env.SCORING && typeof env.SCORING.fetch === "function") {
    return (init) => env.SCORING.fetch(new Request(new URL(path, "https://scoring.internal"), init));
  }
  if (env.SCORING_URL) {
    return (init) => fetch(new URL(path, env.SCORING_URL), init);
  }
  return null;
}

// A long body's guard-model windows, ready for the core to decide with (the same verdict as in
// one go). With an `offload` section and a scoring service bound they are scored there; if it
// fails, the fallback applies (`local`, or `fail_mode`: `{ failed: why }`). Otherwise they run
// one per turn of the event loop, so the isolate's other requests go on while a document is
// screened. Short bodies are decided at once: `{}`.
async function modelWork(parapet, env, work) {
  const score = parapet.offloadPath === undefined ? null : scoringFetch(env, parapet.offloadPath);
  if (score && parapet.offloads(work)) {
    let why;
    try {
      const resp = await score({ method: "POST", headers: JSON_HEADERS, body: work.offloadRequest(), signal: AbortSignal.timeout(parapet.offloadTimeoutMs) });
      const answer = new Uint8Array(await resp.arrayBuffer());
      why = resp.ok ? work.acceptOffload(answer) : `the scoring service answered ${resp.status}`;
    } catch (e) {
      why = `no answer from the scoring service (${e && e.name === "TimeoutError" ? "timeout" : e})`;
    }
    if (why === undefined) return { work };
    const failMode = parapet.offloadFallback === "fail_mode";
    console.warn(`parapet: offload failed: ${why}; ${failMode ? "following fail_mode" : "screening in-process"}`);
    if (failMode) {
      work.free();
      return { failed: why };
    }
  }
  if (!work.sliced) {
    work.free();
    return {};
  }
  while (work.step()) await new Promise((resolve) => setTimeout(resolve, 0));
  return { work };
}

// The guard endpoint and its tuning endpoint (`results`): read capped, identify, ask the core.
async function handleGuard(parapet, env, request, results) {
  const read = await readCapped(request, parapet.maxBodyBytes);
  if (read.tooLarge) {
    if (read.body) read.body.cancel().catch(() => {});
    const r = parapet.guardTooLarge(read.size);
    try {
      return coreResponse(r.status, r.body);
    } finally {
      r.free();
    }
  }
  const who = identify(parapet, request, new URL(request.url).pathname);
  let r;
  try {
    // Tuning answers are never logged.
    const encoding = request.headers.get("content-encoding") ?? undefined;
    if (results) {
      r = parapet.resultsAs(read.bytes, who, requestId(request), encoding);
    } else {
      const m = await modelWork(parapet, env, parapet.guardWork(read.bytes, who));
      r = m.failed !== undefined
        ? parapet.guardOffloadFailedAs(who, m.failed)
        : parapet.guardAs(read.bytes, who, requestId(request), encoding, m.work);
    }
  } finally {
    who.free();
  }
  try {
    if (!results) emit(r);
    return coreResponse(r.status, r.body, r.headers);
  } finally {
    r.free();
  }
}

async function handleApi(state, env, request, url) {
  const parapet = state.parapet;
  const read = await readCapped(request, parapet.maxBodyBytes);
  let forwardNow, status, body, headers, outcome, detected, forwardBody, project, replyHeaders, forbiddenTools;
  try {
    const who = identify(parapet, request, url.pathname);
    let d;
    try {
      project = who.project;
      if (read.tooLarge) {
        d = parapet.screenRequestTooLargeAs(read.size, who, url.pathname);
      } else {
        const m = await modelWork(parapet, env, parapet.requestWork(url.pathname, read.bytes, who));
        d = m.failed !== undefined
          ? parapet.screenRequestOffloadFailedAs(url.pathname, who, m.failed, requestId(request))
          : parapet.screenRequestAs(url.pathname, read.bytes, who, requestId(request), request.headers.get("content-encoding") ?? undefined, m.work);
      }
    } finally {
      who.free();
    }
    try {
      ({ forward: forwardNow, status, body, headers, outcome, detected, forwardBody, replyHeaders, forbiddenTools } = d);
      emit(d);
    } finally {
      d.free();
    }
  } catch (e) {
    // A trap in the module (a bug): the core cannot answer, so apply its fail mode as it
    // stated it when the config was loaded, and rebuild the guard on the next request.
    console.error(`parapet: screening ${url.pathname} failed: ${e && e.stack ? e.stack : e}`);
    loaded = null;
    if (!state.failOpen) {
      if (read.tooLarge && read.body) read.body.cancel().catch(() => {});
      return errorResponse(500, "internal", "Parapet failed to screen the request");
    }
    forwardNow = true;
    headers = ["x-parapet-failed-open", "internal"];
    outcome = "failed_open";
    detected = [];
    forbiddenTools = [];
  }
  if (outcome !== "clean") {
    // One line per request that was not simply clean; never the body (it may hold the secret).
    const parts = [`outcome=${outcome}`, `path=${url.pathname}`];
    if (!forwardNow) parts.push(`status=${status}`);
    if (detected.length) parts.push(`detectors=${detected.join(",")}`);
    if (outcome === "failed_open") parts.push(`cause=${headers[headers.indexOf("x-parapet-failed-open") + 1]}`);
    console.log(`parapet: ${parts.join(" ")}`);
  }
  if (!forwardNow) {
    if (read.tooLarge && read.body) read.body.cancel().catch(() => {});
    return coreResponse(status, body, replyHeaders);
  }
  // Mask mode (or tools the posture removed): the rewritten body (fetch sets its content-length).
  const response = await forward(env, request, url, read.tooLarge ? read.body : (forwardBody ?? read.bytes), headers);
  return screenResponse(state, url, project, response, forbiddenTools);
}

function logResponse(screen, url) {
  const rec = screen.takeLogRecord();
  if (rec !== undefined) console.log(rec);
  const transition = screen.takePostureRecord();
  if (transition !== undefined) console.log(transition);
  const outcome = screen.takeOutcome();
  if (outcome === undefined || outcome === "clean") return;
  const parts = [`response outcome=${outcome}`, `path=${url.pathname}`];
  const detected = screen.detected;
  if (detected.length) parts.push(`detectors=${detected.join(",")}`);
  if (screen.cause !== undefined) parts.push(`cause=${screen.cause}`);
  console.log(`parapet: ${parts.join(" ")}`);
}

function concat(parts) {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

// Screens the origin's answer to a screened API request. The core decides what is sent; this
// only applies its header edits and pipes the body through it.
async function screenResponse(state, url, project, response, forbiddenTools) {
  const parapet = state.parapet;
  let screen;
  try {
    screen = parapet.startResponse(url.pathname, response.status, response.headers.get("content-type") ?? undefined, project, response.body !== null);
    // Before the header edits are read: a forbidden call needs the body held.
    if (screen !== undefined && forbiddenTools.length) screen.forbidTools(forbiddenTools);
  } catch (e) {
    console.error(`parapet: screening the response to ${url.pathname} failed: ${e && e.stack ? e.stack : e}`);
    loaded = null;
    if (state.failOpen) return response;
    if (response.body) response.body.cancel().catch(() => {});
    return errorResponse(500, "internal", "Parapet failed to screen the response");
  }
  if (screen === undefined) return response;
  logResponse(screen, url);
  const headers = new Headers(response.headers);
  for (const name of screen.removeHeaders) headers.delete(name);
  const set = screen.setHeaders;
  for (let i = 0; i + 1 < set.length; i += 2) headers.set(set[i], set[i + 1]);
  const init = { status: response.status, statusText: response.statusText, headers };

  if (screen.holdsBody) {
    // A JSON body in block mode: nothing is sent until it is screened, so a blocked one gets
    // the core's status (403, or 502 when it cannot be screened) as well as its error body.
    const reader = response.body.getReader();
    const parts = [];
    for (;;) {
      let chunk;
      try {
        chunk = await reader.read();
      } catch (e) {
        // The origin broke off mid-body: its failure, not Parapet's, so the guard stays loaded
        // and the client learns that the answer is incomplete (nothing of it was sent yet).
        console.error(`parapet: the origin's response to ${url.pathname} broke off: ${e}`);
        screen.free();
        return errorResponse(502, "origin_incomplete", "the origin's response ended before it was complete");
      }
      const { done, value } = chunk;
      const out = screen.feed(done ? new Uint8Array(0) : value, done);
      logResponse(screen, url);
      if (screen.blocked) {
        const status = screen.status;
        screen.free();
        if (!done) reader.cancel().catch(() => {});
        headers.set("content-type", "application/json");
        return new Response(out, { status, headers });
      }
      if (out.byteLength) parts.push(out);
      if (done) {
        screen.free();
        return new Response(concat(parts), init);
      }
      if (out.byteLength) {
        // Released before its end: over the size limit under fail-open; the rest passes.
        return new Response(resumeStream(parts, reader), init);
      }
    }
  }

  // A stream (or any body in monitor mode): bytes go on as soon as the core releases them.
  let passAll = false; // the module trapped under fail-open: the rest passes unscreened
  let finished = false;
  const finish = () => {
    if (!finished) {
      finished = true;
      logResponse(screen, url);
      screen.free();
    }
  };
  const transform = new TransformStream({
    transform(chunk, controller) {
      if (passAll) {
        controller.enqueue(chunk);
        return;
      }
      if (finished) return;
      let out;
      try {
        out = screen.feed(chunk, false);
      } catch (e) {
        console.error(`parapet: screening the response to ${url.pathname} failed: ${e && e.stack ? e.stack : e}`);
        loaded = null;
        finished = true;
        if (state.failOpen) {
          passAll = true;
          controller.enqueue(chunk);
        } else {
          controller.terminate();
        }
        return;
      }
      if (out.byteLength) controller.enqueue(out);
      if (screen.blocked) {
        // The error event ends the stream; the origin's stream is cancelled.
        finish();
        controller.terminate();
      }
    },
    flush(controller) {
      if (finished) return;
      const out = screen.feed(new Uint8Array(0), true);
      if (out.byteLength) controller.enqueue(out);
      finish();
    },
  });
  return new Response(response.body.pipeThrough(transform), init);
}

export default {
  async fetch(request, env, ctx) {
    const state = load(env);
    if (state.error !== undefined) {
      return errorResponse(500, state.code, state.error);
    }
    const parapet = state.parapet;
    const url = new URL(request.url);
    const path = url.pathname;
    if (parapet.isPosturePath(path)) {
      if (request.method !== "GET" && request.method !== "HEAD") {
        return errorResponse(405, "method_not_allowed", `${path} accepts GET only`, { allow: "GET, HEAD" });
      }
      const r = parapet.posture();
      try {
        return coreResponse(r.status, r.body);
      } finally {
        r.free();
      }
    }
    const isResults = parapet.isResultsPath(path);
    const isGuard = isResults || parapet.isGuardPath(path);
    // Only POST bodies are screened; other methods on an API path (no body) pass, as in Envoy.
    const isApi = !isGuard && request.method === "POST" && parapet.isApiPath(path);
    if (!isGuard && !isApi) {
      return forward(env, request, url, request.body);
    }
    if (request.method !== "POST") {
      return errorResponse(405, "method_not_allowed", `${path} accepts POST only`, { allow: "POST" });
    }
    try {
      return isApi ? await handleApi(state, env, request, url) : await handleGuard(parapet, env, request, isResults);
    } catch (e) {
      // A client stream that broke while being read, or a trap in the guard endpoint.
      console.error(`parapet: ${path} failed: ${e && e.stack ? e.stack : e}`);
      loaded = null;
      return errorResponse(500, "internal", "Parapet failed to screen the request");
    }
  },
};
