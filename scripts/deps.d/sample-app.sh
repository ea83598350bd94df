# shellcheck shell=bash
# System packages the taskflow example's tests need (tests/examples): a throwaway
# PostgreSQL, nginx to serve the built frontend, Chromium for the E2E suite, Node for npm.
# Sourced by CI before pytest; idempotent: installs only what is missing.
_sample_app_missing=""
for _pkg in postgresql nginx-light chromium fonts-liberation; do
  dpkg -s "$_pkg" >/dev/null 2>&1 || _sample_app_missing="$_sample_app_missing $_pkg"
done
command -v npm >/dev/null 2>&1 || _sample_app_missing="$_sample_app_missing nodejs npm"
if [ -n "$_sample_app_missing" ]; then
  apt-get update -qq
  # shellcheck disable=SC2086  # a list of package names
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $_sample_app_missing
fi
unset _sample_app_missing _pkg
