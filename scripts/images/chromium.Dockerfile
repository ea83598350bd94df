# A browser-test runner base, from Debian's packages: chromium at /usr/bin/chromium,
# python3 with pip and venv (Playwright for Python drives this browser, never a download;
# its bundled driver needs libatomic1).
ARG BASE=127.0.0.1:5000/pipeline/debian:bookworm
FROM ${BASE}
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      chromium fonts-liberation libatomic1 python3 python3-venv python3-pip \
 && rm -rf /var/lib/apt/lists/* \
 && ln -s /usr/bin/python3 /usr/local/bin/python \
 && rm -f /usr/lib/python3*/EXTERNALLY-MANAGED
ENV LANG=C.UTF-8 CHROMIUM_PATH=/usr/bin/chromium PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
CMD ["python3"]
