# The Go SDK's builtin content for the local engine (scripts/engine): what the engine runs
# Go module code (codegen, then `go build`) in. Upstream makes it from a golang alpine image;
# this is Debian with the same tools. The build context holds go/ (the toolchain from the Go
# module proxy) and codegen (built from the dagger module at the engine's version).
ARG BASE=127.0.0.1:5000/pipeline/debian:bookworm
FROM ${BASE}
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates git openssh-client openssl \
 && rm -rf /var/lib/apt/lists/*
COPY go /usr/local/go
COPY codegen /usr/local/bin/codegen
RUN mkdir -p /go/pkg/mod /go/bin /root/.cache/go-build
ENV GOPATH=/go PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    GOTOOLCHAIN=local
