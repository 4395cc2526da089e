# workerd config for the Parapet edge worker (Cap'n Proto text format).
#
#   PARAPET_CONFIG="$(cat parapet.json)" ORIGIN_URL=http://127.0.0.1:8000 \
#     node_modules/.bin/workerd serve workerd.capnp --socket-addr http=127.0.0.1:8787
#
# or `./run.sh PORT CONFIG_FILE ORIGIN_URL`. Paths below are relative to this file; build
# `pkg/` first with `scripts/build.sh`. Both bindings come from the environment of the workerd
# process, so one config file serves any Parapet config and origin.

using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "main", worker = .parapet),
    # What the worker's fetch() may reach: the public internet (TLS with the usual CAs) and
    # loopback, for an origin on the same host. Private networks stay closed (SSRF).
    (name = "origin-net", network = (
      allow = ["public", "127.0.0.0/8", "::1/128"],
      tlsOptions = (trustBrowserCas = true),
    )),
  ],
  sockets = [
    # Override at run time with `--socket-addr http=HOST:PORT`.
    (name = "http", address = "127.0.0.1:8787", http = (), service = "main"),
  ],
);

const parapet :Workerd.Worker = (
  modules = [
    # Names mirror the source tree so worker.js imports resolve as they do under wrangler.
    (name = "src/worker.js", esModule = embed "src/worker.js"),
    (name = "pkg/parapet_edge.js", esModule = embed "pkg/parapet_edge.js"),
    (name = "pkg/parapet_edge_bg.wasm", wasm = embed "pkg/parapet_edge_bg.wasm"),
  ],
  compatibilityDate = "2025-09-01",
  bindings = [
    # Parapet config JSON text; unset or empty means `{}` (default policy, block, fail closed).
    (name = "PARAPET_CONFIG", fromEnvironment = "PARAPET_CONFIG"),
    # Origin for screened chat requests and every other path; unset: those answer 404.
    (name = "ORIGIN_URL", fromEnvironment = "ORIGIN_URL"),
    # A Parapet scoring service (`parapet serve`) for the config's `offload`; unset: none.
    (name = "SCORING_URL", fromEnvironment = "SCORING_URL"),
  ],
  globalOutbound = "origin-net",
);
