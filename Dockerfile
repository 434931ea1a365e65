# syntax=docker/dockerfile:1
# The server's image: a static binary on distroless (no shell, no package
# manager, no CA files; the binary carries its own fallback CA roots), run as
# a non-root user. Build: docker build --build-arg VERSION=$(git describe --always) -t ordergraph .
# CI builds the same binary with the same flags (.ci/run, "the image's binary").

FROM golang:1.26 AS src
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .

FROM src AS build
ARG VERSION=dev
# Static (no cgo, so no libc to find at run time), with no paths of this
# machine in it, and the version that "ordergraph -version" prints.
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -buildvcs=false \
      -ldflags "-s -w -X github.com/ordergraph/ordergraph/internal/app.version=${VERSION}" \
      -o /out/ordergraph .

# The fake WeChat API on its own, for compose.yaml's replicas to share
# (docker build --target sandbox); not part of the server's image.
FROM src AS sandbox-build
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags "-s -w" -o /out/sandbox ./cmd/sandbox

FROM gcr.io/distroless/static-debian12:nonroot AS sandbox
COPY --from=sandbox-build /out/sandbox /sandbox
USER 65532:65532
EXPOSE 9000
ENTRYPOINT ["/sandbox", "-addr", ":9000"]

# Last, so that a plain docker build makes the server's image.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/ordergraph /ordergraph
# Numeric, so that Kubernetes' runAsNonRoot can verify it.
USER 65532:65532
ENV ADDR=:8080
EXPOSE 8080
# No shell or curl in the image: the binary checks GET /healthz on ADDR itself.
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 CMD ["/ordergraph", "healthcheck"]
ENTRYPOINT ["/ordergraph"]
