# Like nginx:1.22 (Debian-based official image), from Debian's packages:
# /usr/sbin/nginx, user nginx (101), /usr/share/nginx/html, /etc/nginx/conf.d, logs to stdout.
ARG BASE=127.0.0.1:5000/pipeline/debian:bookworm
FROM ${BASE}
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nginx-light \
 && rm -rf /var/lib/apt/lists/* /etc/nginx/sites-enabled/* \
 && groupadd --system --gid 101 nginx \
 && useradd --system --uid 101 --gid nginx --no-create-home --home /nonexistent --shell /bin/false nginx \
 && sed -i 's/^user www-data;/user nginx;/' /etc/nginx/nginx.conf \
 && mkdir -p /usr/share/nginx/html \
 && ln -sf /dev/stdout /var/log/nginx/access.log && ln -sf /dev/stderr /var/log/nginx/error.log
EXPOSE 80
STOPSIGNAL SIGQUIT
CMD ["nginx", "-g", "daemon off;"]
