#!/usr/bin/env bash
# Pack → install into an empty directory → `npx latchkey start` → a token via curl and the console page.
# Run by .ci/run (issue #17 "Done when"); usable locally: bash scripts/pack-smoke.sh
# Prints the install-to-first-token time (empty directory, tarballs already packed).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=$(mktemp -d "${TMPDIR:-/tmp}/latchkey-pack-smoke.XXXXXX")
SERVER_PID=
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    # setsid made the server its own process group: stop npx, the primary and its workers together.
    kill -TERM -- "-$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 75); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.2; done
    kill -KILL -- "-$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "pack-smoke: FAIL: $*" >&2; [ -f "$WORK/server.log" ] && sed 's/^/  server: /' "$WORK/server.log" >&2; exit 1; }

echo "== pack (each package builds itself on prepack)"
mkdir -p "$WORK/pkgs" "$WORK/app"
npm pack --silent -w packages/server -w packages/client -w packages/resource --pack-destination "$WORK/pkgs" >/dev/null
ls -l "$WORK/pkgs"
SERVER_TGZ=$(ls "$WORK"/pkgs/latchkey-[0-9]*.tgz)
CLIENT_TGZ=$(ls "$WORK"/pkgs/latchkey-client-*.tgz)
RESOURCE_TGZ=$(ls "$WORK"/pkgs/latchkey-resource-*.tgz)

echo "== tarball contents"
check_contents() { # tarball, required..., then -- forbidden regex
  local tgz=$1; shift
  local list; list=$(tar tzf "$tgz")
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do
    grep -qx "package/$1" <<<"$list" || fail "$(basename "$tgz") lacks $1"
    shift
  done
  shift
  if grep -Eq "$1" <<<"$list"; then fail "$(basename "$tgz") contains files that do not run: $(grep -E "$1" <<<"$list" | head -5 | tr '\n' ' ')"; fi
  echo "  $(basename "$tgz"): $(wc -l <<<"$list") files, ok"
}
NOT_RUNTIME='^package/(src|test)/|\.map$|tsbuildinfo|\.test\.|^package/tsconfig'
check_contents "$SERVER_TGZ" bin/latchkey.js dist/cli/main.js dist/index.d.ts console/index.html LICENSE README.md package.json -- "$NOT_RUNTIME"
check_contents "$CLIENT_TGZ" dist/index.js dist/index.d.ts LICENSE README.md node_modules/@latchkey/jose-core/package.json node_modules/@latchkey/jose-core/dist/index.js -- "$NOT_RUNTIME"
check_contents "$RESOURCE_TGZ" dist/index.js dist/index.d.ts LICENSE README.md -- "$NOT_RUNTIME"
for left in packages/server/console packages/*/LICENSE packages/*/node_modules/@latchkey/jose-core; do
  [ ! -e "$left" ] || fail "postpack left $left in the working tree"
done

echo "== install into an empty directory"
cd "$WORK/app"
T0=$(date +%s.%N)
npm install --no-audit --no-fund --loglevel=error "$SERVER_TGZ" "$CLIENT_TGZ" "$RESOURCE_TGZ"
T_INSTALLED=$(date +%s.%N)

echo "== npx latchkey start"
PORT=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
# Default workers (one per CPU): the primary/worker path is what an operator gets.
env -u LATCHKEY_DATA_DIR -u LATCHKEY_DB -u LATCHKEY_CONFIG LATCHKEY_LOG_LEVEL=warn \
  setsid npx --no latchkey start --port "$PORT" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 600); do
  grep -q 'Latchkey listening on' "$WORK/server.log" && break
  kill -0 "$SERVER_PID" 2>/dev/null || fail "server exited"
  sleep 0.1
done
grep -q 'Latchkey listening on' "$WORK/server.log" || fail "server did not start within 60 s"
ID=$(sed -n 's/^ *client_id: *//p' "$WORK/server.log" | head -n1)
SECRET=$(sed -n 's/^ *client_secret: *//p' "$WORK/server.log" | head -n1)
[ -n "$ID" ] && [ -n "$SECRET" ] || fail "no admin client printed"
[ -f "$WORK/app/.latchkey/latchkey.db" ] || fail "store not in ./.latchkey"

echo "== token via curl"
TOKEN_JSON=$(curl -sS --fail-with-body -u "$ID:$SECRET" -d grant_type=client_credentials "http://127.0.0.1:$PORT/oauth2/token") || fail "token request: $TOKEN_JSON"
T_TOKEN=$(date +%s.%N)
grep -q '"access_token":"' <<<"$TOKEN_JSON" || fail "no access_token in $TOKEN_JSON"
echo "  token issued"

echo "== console page"
PAGE=$(curl -sS --fail-with-body "http://127.0.0.1:$PORT/") || fail "console: $PAGE"
grep -qi '<!doctype html' <<<"$PAGE" || fail "console page is not HTML: ${PAGE:0:200}"
ASSET=$(grep -o '/assets/[A-Za-z0-9._-]*\.js' <<<"$PAGE" | head -n1)
[ -n "$ASSET" ] || fail "console page references no script"
curl -sS --fail -o /dev/null "http://127.0.0.1:$PORT$ASSET" || fail "console asset $ASSET not served"
echo "  console served ($ASSET)"

echo "== the image's entry command and checks against the installed package"
(cd "$ROOT" && LATCHKEY_TEST_LATCHKEY_PACKAGE="$WORK/app/node_modules/latchkey" node scripts/test.mjs deploy/assets.test.ts) >"$WORK/assets.log" 2>&1 \
  || { cat "$WORK/assets.log" >&2; fail "deploy assets test against the installed package"; }
echo "  ok"

awk -v t0="$T0" -v ti="$T_INSTALLED" -v tt="$T_TOKEN" 'BEGIN { printf "pack-smoke: OK — npm install %.1f s, install-to-first-token %.1f s (empty directory, packed tarballs)\n", ti - t0, tt - t0 }'
