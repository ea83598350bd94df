# shellcheck shell=bash
# Tools for the workflow tests (tests/unit/test_workflows.py) and the Go toolchain that builds
# them (also what scripts/engine and contract.sh build with). Sourced by scripts/test before
# anything else runs; idempotent: installs only what is missing.

# 1. Go 1.24+ is needed (by scripts/engine, contract.sh and below). This project's machines
# ship it; Debian bookworm's golang (1.19) is too old. Say so once, plainly, if it is missing.
_ci_go_ok() {
  local v
  command -v go >/dev/null 2>&1 || return 1
  v=$(go env GOVERSION 2>/dev/null | sed 's/^go//')
  [ "$(printf '%s\n1.24\n' "$v" | sort -V | head -n1)" = 1.24 ]
}
export PATH="/usr/local/go/bin:$PATH"
_ci_go_ok || echo "ci.sh: Go 1.24 or newer is needed on PATH (the engine, dockle and actionlint are built with it)" >&2
unset -f _ci_go_ok

# 2. actionlint, from the Go module proxy into $HOME/go/bin.
if [ ! -x "$HOME/go/bin/actionlint" ] && ! command -v actionlint >/dev/null 2>&1; then
  (
    set -e
    # A temporary directory: `go install` outside any module, whatever the caller's cwd.
    cd "$(mktemp -d)"
    GOFLAGS=-buildvcs=false go install github.com/rhysd/actionlint/cmd/actionlint@v1.7.7
  ) || echo "ci.sh: actionlint install failed; the workflow tests will fail under CI" >&2
fi

# 3. shellcheck (Debian), which actionlint runs on every `run:` script; python3-venv, without
# which Debian's python3 cannot make the .venv scripts/test creates next.
_ci_missing=""
command -v shellcheck >/dev/null 2>&1 || _ci_missing="shellcheck"
python3 -c 'import ensurepip' 2>/dev/null || _ci_missing="$_ci_missing python3-venv"
if [ -n "$_ci_missing" ]; then
  apt-get update -qq
  # shellcheck disable=SC2086  # a list of package names
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $_ci_missing
fi
unset _ci_missing
