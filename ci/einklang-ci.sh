#!/bin/sh
# The steps both CI templates (ci/gitlab-ci.yml, ci/github-actions.yml) share,
# so that GitLab and GitHub run the same logic; only the API calls around it
# differ. POSIX sh + jq. docs/ci.md explains the flow.
#
#   einklang-ci.sh envs ZONE                 environment folders of ZONE under $EINKLANG_ROOT
#   einklang-ci.sh changed ZONE BASE         those that differ from git revision BASE
#                                            (all of them when anything else under $EINKLANG_ROOT,
#                                            e.g. a shared profile, differs)
#   einklang-ci.sh plan ZONE [PLAN OPTIONS] -- ENVDIR...
#                                            plan into $OUT/plan-ZONE.{json,md}; status in $OUT/status-ZONE:
#                                            none (no environment changed), unchanged (plan exit 0),
#                                            changes (2), failed (1: error or mandatory policy); exits 1 on failed
#   einklang-ci.sh comment                   one merge-request comment from every zone's plan
#   einklang-ci.sh approvals ZONE NOTES [SHOW OPTIONS]
#                                            NOTES: JSON lines {"login", "body"}; adds the signatures of the
#                                            logins in $EINKLANG_REVIEWER_LOGINS for this plan's hash to the plan,
#                                            writes $OUT/approved-ZONE.json and checks it (show --require-approvals);
#                                            a zone without changes passes
#
# Environment: EINKLANG_ROOT (folder of environment folders), EINKLANG (the command,
# default "npx --no-install einklang"), OUT (default "einklang").
set -eu

ROOT=${EINKLANG_ROOT:?set EINKLANG_ROOT to the folder that holds the environment folders}
OUT=${OUT:-einklang}
EINKLANG=${EINKLANG:-npx --no-install einklang}
mkdir -p "$OUT"

# Environment folders of a zone: folders under $ROOT with an environment.yaml saying that zone.
envs() {
  for f in "$ROOT"/*/environment.yaml; do
    [ -f "$f" ] || continue
    if grep -Eq "^[[:space:]]*zone:[[:space:]]*[\"']?$1[\"']?[[:space:]]*(#.*)?\$|[{,][[:space:]]*zone:[[:space:]]*[\"']?$1[\"']?[[:space:]]*[,}]" "$f"; then
      dirname "$f"
    fi
  done
}

changed() {
  zone=$1 base=$2
  files=$(git diff --name-only "$base" HEAD -- "$ROOT")
  [ -n "$files" ] || return 0
  all=$(envs "$zone")
  # A change outside every environment folder (a profile, shared files) may touch any of them.
  for f in $files; do
    inside=no
    for e in $(envs school) $(envs administration); do
      case "$f" in "$e"/*) inside=yes ;; esac
    done
    if [ "$inside" = no ]; then echo "$all"; return 0; fi
  done
  for e in $all; do
    if echo "$files" | grep -q "^$e/"; then echo "$e"; fi
  done
}

plan() {
  zone=$1; shift
  opts=""
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do opts="$opts $(quote "$1")"; shift; done
  [ $# -gt 0 ] && shift
  if [ $# -eq 0 ]; then
    echo none > "$OUT/status-$zone"
    printf 'No environment of zone %s changed: nothing to plan.\n' "$zone" > "$OUT/plan-$zone.md"
    return 0
  fi
  set +e
  eval "$EINKLANG plan \"\$@\" --out \"$OUT/plan-$zone.json\" --format markdown $opts" > "$OUT/plan-$zone.md" 2> "$OUT/plan-$zone.err"
  rc=$?
  set -e
  cat "$OUT/plan-$zone.err" >&2
  case $rc in
    0) echo unchanged > "$OUT/status-$zone" ;;
    2) echo changes > "$OUT/status-$zone" ;;
    *)
      echo failed > "$OUT/status-$zone"
      # A refused plan prints its reasons (policy violations, diagnostics) on stderr: they are the comment.
      { printf '**einklang refused to plan zone %s** (exit %s):\n\n```\n' "$zone" "$rc"; cat "$OUT/plan-$zone.err"; printf '```\n'; } >> "$OUT/plan-$zone.md"
      return 1 ;;
  esac
}

comment() {
  printf '<!-- einklang-plan -->\n'
  for s in "$OUT"/status-*; do
    [ -f "$s" ] || continue
    zone=${s##*/status-}
    printf '## Zone %s: %s\n\n' "$zone" "$(cat "$s")"
    cat "$OUT/plan-$zone.md"
    if [ "$(cat "$s")" = changes ]; then
      printf '\nTo approve: download `plan-%s.json` from the pipeline, read it (`einklang show`), sign it (`einklang approve plan-%s.json --key ~/.einklang/NAME.key`) and post the line `jq -c "{hash} + .approvals[-1]" plan-%s.json | sed "s/^/einklang-approval /"` prints as a comment (docs/ci.md).\n' "$zone" "$zone" "$zone"
    fi
    printf '\n'
  done
}

approvals() {
  zone=$1 notes=$2; shift 2
  status=$(cat "$OUT/status-$zone" 2>/dev/null || echo none)
  if [ "$status" != changes ]; then
    echo "zone $zone: $status, no approvals needed"
    return 0
  fi
  hash=$(jq -r .hash "$OUT/plan-$zone.json")
  # Signature comments of the listed reviewers for exactly this plan (a new push makes a new plan).
  jq -c --arg logins "${EINKLANG_REVIEWER_LOGINS:-}" --arg hash "$hash" '
    select(.login as $l | ($logins | split(" ")) | index($l))
    | .body | split("\n")[] | select(startswith("einklang-approval "))
    | ltrimstr("einklang-approval ") | (fromjson? // empty)
    | select(.hash == $hash) | del(.hash)' "$notes" > "$OUT/signatures-$zone.jsonl"
  jq --slurpfile a "$OUT/signatures-$zone.jsonl" '.approvals = ((.approvals + $a) | unique_by(.publicKey))' \
    "$OUT/plan-$zone.json" > "$OUT/approved-$zone.json"
  eval "$EINKLANG show \"$OUT/approved-$zone.json\" --require-approvals $(for a in "$@"; do quote "$a"; done)" > /dev/null
}

# Quote one argument for eval.
quote() {
  printf "'%s' " "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case $cmd in
  envs) envs "$@" ;;
  changed) changed "$@" ;;
  plan) plan "$@" ;;
  comment) comment ;;
  approvals) approvals "$@" ;;
  *) echo "usage: einklang-ci.sh envs|changed|plan|comment|approvals ..." >&2; exit 2 ;;
esac
