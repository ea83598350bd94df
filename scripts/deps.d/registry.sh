# shellcheck shell=bash
# Registry tests (tests/registry/): Debian's docker-registry (distribution 2.8); the tests start
# their own servers on free ports. Idempotent; sourced by CI before pytest.
if ! command -v docker-registry >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends docker-registry
fi
# Under systemd the package starts a registry on 127.0.0.1:5000, the port scripts/engine uses
# for its own registry: keep the packaged service off.
if [ -d /run/systemd/system ] && systemctl is-active --quiet docker-registry 2>/dev/null; then
    systemctl disable --now docker-registry >/dev/null 2>&1 || true
fi
