#!/usr/bin/env bash
# Builds the release assets the action downloads: static binaries
# ramp_<os>_<arch>[.exe] for linux, darwin and windows × amd64 and arm64, and
# checksums.txt (sha256sum format) beside them.
#
#   scripts/build-release.sh v1.2.3 [dist]
set -euo pipefail
cd "$(dirname "$0")/.."

tag=${1:?usage: scripts/build-release.sh TAG [DIR]}
out=${2:-dist}
rm -rf "$out"
mkdir -p "$out"

for os in linux darwin windows; do
  for arch in amd64 arm64; do
    ext=""
    [ "$os" = windows ] && ext=".exe"
    name="ramp_${os}_${arch}${ext}"
    echo "building $name"
    CGO_ENABLED=0 GOOS=$os GOARCH=$arch go build -trimpath \
      -ldflags "-s -w -X github.com/ramp-deploy/ramp/internal/cli.Version=${tag}" \
      -o "$out/$name" .
  done
done

(cd "$out" && sha256sum ramp_* > checksums.txt && cat checksums.txt)
