# Workflow tests (tests/unit/test_workflows.py): actionlint, built from the Go module proxy into
# $HOME/go/bin, and shellcheck (Debian), which actionlint runs on every `run:` script.
# Sourced by CI before pytest; idempotent: installs only what is missing.
if [ ! -x "$HOME/go/bin/actionlint" ] && ! command -v actionlint >/dev/null 2>&1; then
  (
    set -e
    export PATH="$PATH:/usr/local/go/bin"
    # A temporary directory: `go install` outside any module, whatever the caller's cwd.
    cd "$(mktemp -d)"
    GOFLAGS=-buildvcs=false go install github.com/rhysd/actionlint/cmd/actionlint@v1.7.7
  ) || echo "ci.sh: actionlint install failed; the workflow tests will fail under CI" >&2
fi
if ! command -v shellcheck >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends shellcheck
fi
