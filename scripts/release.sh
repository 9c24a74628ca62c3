#!/usr/bin/env bash
# Release builds of myconet: static (CGO_ENABLED=0), reproducible binaries
# for Linux amd64/arm64, macOS amd64/arm64 and Windows amd64, stamped with
# the version, commit and commit date, plus SHA256SUMS.
#
#   scripts/release.sh [VERSION]          # builds into dist/
#   scripts/release.sh --ldflags VERSION  # prints the -ldflags only
#
# VERSION defaults to `git describe --tags --always --dirty`. The date is the
# commit's (not the clock's), -trimpath drops local paths and -buildid= the
# build ID, so the same commit and Go version give the same bytes
# (SOURCE_DATE_EPOCH overrides the date). The TUN of the overlay exists on
# Linux only; the other platforms run the CLI and the content network.
set -euo pipefail
cd "$(dirname "$0")/.."

print_only=false
if [ "${1:-}" = "--ldflags" ]; then
  print_only=true
  shift
fi

commit=$(git rev-parse HEAD 2>/dev/null || echo unknown)
version=${1:-$(git describe --tags --always --dirty 2>/dev/null || echo 0.0.0-dev)}
if [ -n "${SOURCE_DATE_EPOCH:-}" ]; then
  date=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)
else
  date=$(TZ=UTC git log -1 --format=%cd --date=format-local:%Y-%m-%dT%H:%M:%SZ 2>/dev/null || echo unknown)
fi

pkg=github.com/myconet/myconet/node
ldflags="-s -w -buildid= -X $pkg.Version=$version -X $pkg.BuildCommit=$commit -X $pkg.BuildDate=$date"
if $print_only; then
  printf '%s\n' "$ldflags"
  exit 0
fi

platforms=${PLATFORMS:-"linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64"}
mkdir -p dist
rm -f dist/SHA256SUMS
for p in $platforms; do
  os=${p%/*} arch=${p#*/}
  ext=""
  [ "$os" = windows ] && ext=.exe
  out="dist/myconet_${version}_${os}_${arch}${ext}"
  echo "building $out"
  CGO_ENABLED=0 GOOS=$os GOARCH=$arch GOFLAGS=-buildvcs=false \
    go build -trimpath -ldflags "$ldflags" -o "$out" ./cmd/myconet
done
(cd dist && sha256sum myconet_"${version}"_* > SHA256SUMS)
echo "dist/SHA256SUMS:"
cat dist/SHA256SUMS
