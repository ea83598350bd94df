# Tools for the workflow tests (tests/unit/test_workflows.py) and the Go toolchain that builds
# them (also what scripts/engine and contract.sh build with). Sourced by scripts/test before
# anything else runs; idempotent: installs only what is missing.

# 1. Go 1.24+. Debian bookworm's golang is 1.19, too old; the Go module proxy serves every Go
# release as the module golang.org/toolchain (how `GOTOOLCHAIN` downloads Go), so a fresh
# machine needs nothing but the proxy. Installed into /usr/local/go unless one is there.
_ci_go_ok() {
  local go_bin v
  go_bin=$(command -v go || echo /usr/local/go/bin/go)
  [ -x "$go_bin" ] || return 1
  v=$("$go_bin" env GOVERSION 2>/dev/null | sed 's/^go//')
  [ "$(printf '%s\n1.24\n' "$v" | sort -V | head -n1)" = 1.24 ]
}
export PATH="${PIPELINE_GO_ROOT:-/usr/local/go}/bin:$PATH"
if ! _ci_go_ok; then
  (
    set -e
    root=${PIPELINE_GO_ROOT:-/usr/local/go}
    version=v0.0.1-go1.25.0.linux-$(dpkg --print-architecture)
    work=$(mktemp -d)
    echo "ci.sh: installing Go ($version) into $root from the Go module proxy" >&2
    curl -fsSL -o "$work/go.zip" "https://proxy.golang.org/golang.org/toolchain/@v/$version.zip"
    python3 -m zipfile -e "$work/go.zip" "$work/x"
    src="$work/x/golang.org/toolchain@$version"
    # Module zips keep no file modes (cmd/go sets them the same way when it switches toolchains).
    chmod -R u+w "$src"
    find "$src/bin" "$src/pkg/tool" -type f -exec chmod 0755 {} +
    rm -rf "$root" && mkdir -p "$(dirname "$root")" && mv "$src" "$root"
    rm -rf "$work"
  ) || echo "ci.sh: Go install failed; the engine and tool builds will fail" >&2
fi
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
