#!/usr/bin/env bash
# What the test suites need from the machine, in one place: called by `npm test` (test/run-all.mjs)
# and by .ci/run before `npm ci`. Each suite uses real parts (Chromium, a PKCS#11 token, a software
# TPM, an OS keychain, PostgreSQL), never mocks, so they must be installed.
#
# - Everything present: prints nothing, exits 0.
# - Something missing, running as root with apt-get: installs it (Debian/Ubuntu package names).
# - Something missing otherwise: prints the exact command to run and exits 1, before any suite
#   starts, so a missing part never shows up as a stack trace deep inside a test.
#
# --check only reports (exit 1 when something is missing); it never installs.
set -euo pipefail

# command-or-file to look for | Debian package that provides it | what needs it
REQUIREMENTS=(
  "chromium|chromium|renderer end-to-end tests (Playwright drives Debian's Chromium)"
  "softhsm2-util|softhsm2|PKCS#11 hardware-key signing (SoftHSM2 token)"
  "pkcs11-tool|opensc|PKCS#11 module checks"
  "gnome-keyring-daemon|gnome-keyring|OS keychain tests (private Secret Service)"
  "dbus-daemon|dbus|private D-Bus session for the keychain tests"
  "dbus-launch|dbus-x11|D-Bus session launcher"
  "secret-tool|libsecret-tools|keychain inspection in tests"
  "/usr/include/libsecret-1/libsecret/secret.h|libsecret-1-dev|building keytar (the OS keychain binding)"
  "swtpm|swtpm|a real software TPM 2.0 (attested hardware keys)"
  "swtpm_setup|swtpm-tools|provisioning the software TPM"
  "tpm2_startup|tpm2-tools|TPM 2.0 key creation and certification"
  "/usr/lib/x86_64-linux-gnu/pkcs11/libtpm2_pkcs11.so|libtpm2-pkcs11-1|TPM-backed PKCS#11 keys"
  "tpm2_ptool|libtpm2-pkcs11-tools|provisioning TPM-backed PKCS#11 keys"
  "psql|postgresql-client|PostgreSQL backend tests"
  "make|make|native modules (better-sqlite3, keytar, pkcs11js) when no prebuilt binary fits"
  "g++|g++|native modules"
  "python3|python3|node-gyp"
)

check_only=0
[ "${1:-}" = "--check" ] && check_only=1

arch_lib="/usr/lib/$(uname -m)-linux-gnu"
missing_pkgs=()
missing_why=()
for line in "${REQUIREMENTS[@]}"; do
  IFS='|' read -r what pkg why <<<"$line"
  what="${what//\/usr\/lib\/x86_64-linux-gnu/$arch_lib}"
  if [[ "$what" == /* ]]; then
    [ -e "$what" ] && continue
  else
    command -v "$what" >/dev/null 2>&1 && continue
  fi
  missing_pkgs+=("$pkg")
  missing_why+=("  $pkg: $why")
done

if [ ${#missing_pkgs[@]} -gt 0 ]; then
  if [ "$check_only" = 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "test prerequisites: installing ${missing_pkgs[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing_pkgs[@]}" >&2
    # keytar is an optional dependency: if npm installed it before libsecret existed, it was
    # skipped; build it now that the header is there.
    if [[ " ${missing_pkgs[*]} " == *" libsecret-1-dev "* ]] && [ -d node_modules ] && ! node -e "require('keytar')" 2>/dev/null; then
      npm rebuild keytar >&2 || echo "test prerequisites: keytar did not build; keychain tests will say why" >&2
    fi
  else
    echo "The test suites need these Debian packages, which are not installed:" >&2
    printf '%s\n' "${missing_why[@]}" >&2
    echo "Install them with:" >&2
    echo "  sudo apt-get install -y --no-install-recommends ${missing_pkgs[*]}" >&2
    exit 1
  fi
fi

# PostgreSQL: the Postgres backend suites need a server at 127.0.0.1:5432 (trust auth for user
# postgres, database "test"). Say exactly what is wrong rather than let 100 tests time out.
pg_url="${BREAKGLASS_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/test}"
if ! pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1; then
  echo "PostgreSQL is not answering on 127.0.0.1:5432; the Postgres backend suites need it." >&2
  echo "  Debian: sudo apt-get install -y postgresql && sudo pg_ctlcluster \$(ls /etc/postgresql) main start" >&2
  echo "  then allow trust auth for 127.0.0.1 in pg_hba.conf and create the database: psql -h 127.0.0.1 -U postgres -c 'CREATE DATABASE test'" >&2
  exit 1
fi
if ! psql "$pg_url" -tAc 'SELECT 1' >/dev/null 2>&1; then
  echo "PostgreSQL answers on 127.0.0.1:5432 but $pg_url cannot be opened (trust auth for user postgres and a database named test are expected):" >&2
  psql "$pg_url" -tAc 'SELECT 1' 2>&1 | sed 's/^/  /' >&2 || true
  exit 1
fi
