# shellcheck shell=bash
# dockle for tests/image/test_dockle_agreement.py and benchmarks/: built from the Go module
# proxy into $HOME/go/bin. `go install dockle@v0.4.14` is refused (the proxy serves no version
# list for the deprecation check), so: download the module, build it in a copy, without cgo
# (its btrfs/devicemapper graph drivers need C headers dockle never uses for --input).
# container-structure-test: every version is refused by the module proxy here (403).
# Sourced by CI before pytest; idempotent.
if [ ! -x "$HOME/go/bin/dockle" ] && ! command -v dockle >/dev/null 2>&1; then
  (
    set -e
    export PATH="$PATH:/usr/local/go/bin"
    work="$(mktemp -d)"
    cd "$work"
    dir="$(GOFLAGS=-mod=mod go mod download -json github.com/goodwithtech/dockle@v0.4.14 \
      | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')"
    cp -r "$dir" src && chmod -R u+w src && cd src
    mkdir -p "$HOME/go/bin"
    CGO_ENABLED=0 GOFLAGS=-mod=mod go build \
      -tags "exclude_graphdriver_btrfs exclude_graphdriver_devicemapper containers_image_openpgp" \
      -o "$HOME/go/bin/dockle" ./cmd/dockle
    rm -rf "$work"
  ) || echo "contract.sh: dockle build failed; dockle agreement tests will fail under CI" >&2
fi
