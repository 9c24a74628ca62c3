# syntax=docker/dockerfile:1
# Myconet in a container: a static binary on a distroless base, run as a
# non-root user, its home on a volume.
#
#   docker build -t myconet .
#   docker run -d --name myconet -v myconet:/home/myconet \
#     -p 4809:4809/tcp -p 4809:4809/udp -p 127.0.0.1:5190:5190 -p 127.0.0.1:8190:8190 myconet
#   docker exec myconet myconet status
#
# The API and gateway listen on 0.0.0.0 inside the container so that the
# published ports reach them; publish them on 127.0.0.1 only, as above (the
# API also refuses any request whose Host is not loopback). The overlay TUN
# needs --cap-add=NET_ADMIN --device=/dev/net/tun; without them the daemon
# runs without it (overlay pings still work).

ARG GO_VERSION=1.26
FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=docker
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=false \
      -ldflags "-s -w -buildid= -X github.com/myconet/myconet/node.Version=${VERSION}" \
      -o /out/myconet ./cmd/myconet \
 && mkdir -p /out/home

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/myconet /usr/local/bin/myconet
# The home belongs to the nonroot user, so a new volume does too.
COPY --from=build --chown=65532:65532 /out/home /home/myconet
ENV MYCONET_HOME=/home/myconet
USER 65532:65532
WORKDIR /home/myconet
VOLUME ["/home/myconet"]
EXPOSE 4809/tcp 4809/udp 5190/tcp 8190/tcp
ENTRYPOINT ["/usr/local/bin/myconet"]
CMD ["daemon", "--api", "0.0.0.0:5190", "--gateway", "0.0.0.0:8190", "--log-format", "json"]
