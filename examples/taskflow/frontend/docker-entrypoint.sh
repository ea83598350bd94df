#!/bin/sh
# Render nginx.conf from the environment, then run nginx in the foreground (PID 1 via exec).
#   BACKEND_URL  where /api/ goes, e.g. http://backend:8000 (required)
#   LISTEN_PORT  default 8080; HTML_ROOT default /usr/share/nginx/html; RUN_DIR default /tmp/nginx
# sed, not envsubst: not every nginx base image ships gettext-base.
set -eu

fail() { echo "taskflow-frontend: $*" >&2; exit 2; }

BACKEND_URL=${BACKEND_URL:-}
LISTEN_PORT=${LISTEN_PORT:-8080}
HTML_ROOT=${HTML_ROOT:-/usr/share/nginx/html}
RUN_DIR=${RUN_DIR:-/tmp/nginx}
TEMPLATE=${NGINX_TEMPLATE:-/etc/nginx/taskflow/nginx.conf.template}

[ -n "$BACKEND_URL" ] || fail "BACKEND_URL is required (e.g. http://backend:8000)"
# Only URL characters that cannot break out of the nginx directive or the sed expression.
case "$BACKEND_URL" in
  http://*|https://*) ;;
  *) fail "BACKEND_URL must start with http:// or https://" ;;
esac
case "$BACKEND_URL" in
  *[!A-Za-z0-9.:/_-]*) fail "BACKEND_URL may hold only letters, digits and . : / _ -" ;;
esac
case "$LISTEN_PORT" in ''|*[!0-9]*) fail "LISTEN_PORT must be a port number" ;; esac

backend=${BACKEND_URL%/}
hostport=${backend#*://}
hostport=${hostport%%/*}
host=${hostport%:*}

# nginx resolves a literal upstream once, at start, with the system resolver (search
# domains and /etc/hosts included): the right thing when the backend exists already.
# When it does not resolve yet, resolve per request instead, so the SPA still serves.
if getent hosts "$host" >/dev/null 2>&1; then
  proxy="proxy_pass $backend;"
else
  nameserver=$(awk '/^nameserver/ { print $2; exit }' /etc/resolv.conf 2>/dev/null || true)
  [ -n "$nameserver" ] || fail "BACKEND_URL host $host does not resolve and no nameserver is configured"
  case "$nameserver" in *:*) nameserver="[$nameserver]" ;; esac
  echo "taskflow-frontend: $host does not resolve yet; resolving it per request" >&2
  proxy="resolver $nameserver valid=10s; set \$taskflow_backend $backend; proxy_pass \$taskflow_backend;"
fi

mkdir -p "$RUN_DIR"
sed -e "s|__BACKEND_PROXY__|$proxy|" \
    -e "s|__LISTEN_PORT__|$LISTEN_PORT|" \
    -e "s|__HTML_ROOT__|$HTML_ROOT|" \
    -e "s|__RUN_DIR__|$RUN_DIR|g" \
    "$TEMPLATE" >"$RUN_DIR/nginx.conf"

# -e: the compiled-in error log path is not writable by a non-root user.
exec nginx -e stderr -c "$RUN_DIR/nginx.conf" -g "daemon off;"
