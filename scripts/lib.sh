# Shared helpers for scripts/*. Source it; it sets ROOT and loads tools.env.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=tools.env
. "$ROOT/scripts/tools.env"
export PATH="$HOME/.cargo/bin:$ROOT/node_modules/.bin:$PATH"
# Keep wrangler and workerd on loopback: no metrics, no banner checks, no cf lookups.
export WRANGLER_SEND_METRICS=false WRANGLER_HIDE_BANNER=true CLOUDFLARE_CF_FETCH_ENABLED=false
# worker-build would download these; point it at the local ones (see scripts/setup).
export WASM_BINDGEN_BIN="$HOME/.cargo/bin/wasm-bindgen"
export ESBUILD_BIN="$ROOT/node_modules/@esbuild/linux-x64/bin/esbuild"
export WASM_OPT_BIN="$ROOT/node_modules/.bin/wasm-opt"

step() { printf '\n==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
