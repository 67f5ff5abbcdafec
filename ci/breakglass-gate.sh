#!/bin/sh
# Breakglass gate for any CI (docs/integrations.md "Any other CI"): asks the grant store whether
# an active bypass covers this job and turns the answer into the job's exit code.
#
#   BREAKGLASS_STORE=https://breakglass.acme.example BREAKGLASS_TOKEN=<gate token> \
#     sh ci/breakglass-gate.sh deploy-freeze "repo=payments-api,branch=main"
#
# Exit codes, as `breakglass check` gives them: 0 the gate passes (an active bypass covers the
# subject; the store recorded the evaluation), 1 blocked (no bypass, or the store could not
# answer: fail closed), 2 misconfigured (bad flag or input; the JSON error is on stderr).
set -u
gate="${1:?usage: breakglass-gate.sh <gate> <key=value,...> [rule]}"
subject="${2:?usage: breakglass-gate.sh <gate> <key=value,...> [rule]}"
rule="${3:-}"

verdict="$(mktemp)"
trap 'rm -f "$verdict"' EXIT
if [ -n "$rule" ]; then
  breakglass check --gate "$gate" --subject "$subject" --rule "$rule" --json --timeout 10s >"$verdict"
else
  breakglass check --gate "$gate" --subject "$subject" --json --timeout 10s >"$verdict"
fi
code=$?

# One field of the JSON answer (the CLI needs Node, so Node is here to read it).
field() { node -e 'const v = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); const x = process.argv[2].split(".").reduce((o, k) => (o == null ? o : o[k]), v); process.stdout.write(x == null ? "" : String(x));' "$verdict" "$1"; }

case "$code" in
  0)
    echo "breakglass: gate $gate passes under bypass $(field bypass.id) until $(field bypass.expiresAt) (ledger entry $(field bypass.evaluationSeq))"
    ;;
  1)
    echo "breakglass: $(field message)" >&2
    url="$(field requestUrl)"
    if [ -n "$url" ]; then echo "breakglass: request a bypass: $url" >&2; fi
    ;;
  *)
    echo "breakglass: the gate is misconfigured (exit $code); see the error above" >&2
    ;;
esac
exit "$code"
