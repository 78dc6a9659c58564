#!/usr/bin/env bash
# Builds the release assets: static binaries ramp_<os>_<arch>[.exe] for linux,
# darwin and windows × amd64 and arm64, checksums.txt (sha256sum format) and
# checksums.json beside them.
#
#   scripts/build-release.sh v1.2.3 [dist]
#
# checksums.json is what the release workflow commits as action/checksums.json
# into the commit it tags (see .github/workflows/release.yml); the action
# verifies the binary it downloads against that file of the commit the user
# pinned. It holds this release's digests and, so that the action's version
# input may name an older release, those of every earlier release whose tag
# in this clone holds an action/checksums.json:
#
#   {"commit": "<HEAD, the source commit>", "release": "v1.2.3",
#    "releases": {"v1.2.3": {"ramp_linux_amd64": "<sha256>", ...}, "v1.2.2": {...}}}
#
# Needs go, git, jq and sha256sum.
set -euo pipefail
cd "$(dirname "$0")/.."

tag=${1:?usage: scripts/build-release.sh TAG [DIR]}
out=${2:-dist}
if ! [[ $tag =~ ^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]]; then
  echo "build-release.sh: $tag is not a release tag vX.Y.Z or vX.Y.Z-pre" >&2
  exit 2
fi
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

(cd "$out" && sha256sum ramp_* >checksums.txt && cat checksums.txt)

# This release's digests, from checksums.txt.
this=$(jq -R -s 'split("\n") | map(select(length > 0) | capture("^(?<sum>[0-9a-f]{64}) [ *](?<name>.+)$") | {(.name): .sum}) | add' \
  "$out/checksums.txt")

# Every earlier release's digests, from the checksums.json of its tag; a
# release listed twice with different digests stops the build.
merged='{}'
while read -r t; do
  [ -n "$t" ] && [ "$t" != "$tag" ] || continue
  earlier=$(git show "refs/tags/$t:action/checksums.json" 2>/dev/null) || continue
  merged=$(jq -n --argjson a "$merged" --argjson b "$(jq -c '.releases' <<<"$earlier")" --arg t "$t" '
    reduce ($b | to_entries[]) as $e ($a;
      if has($e.key) and .[$e.key] != $e.value
      then error("release \($e.key) has different digests in the checksums.json of two tags (one is \($t))")
      else .[$e.key] = $e.value end)')
done < <(git tag -l 'v*.*.*' 2>/dev/null)

commit=$(git rev-parse -q --verify HEAD 2>/dev/null || true)
jq -n -S --arg release "$tag" --arg commit "$commit" --argjson this "$this" --argjson earlier "$merged" \
  '{release: $release, commit: $commit, releases: ($earlier + {($release): $this})}' >"$out/checksums.json"
echo "checksums.json: $(jq -c '.releases | keys' "$out/checksums.json")"
