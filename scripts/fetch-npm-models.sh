#!/usr/bin/env bash
# Real models shipped in npm packages, for test/npm-models.test.ts: fetched with a pinned `npm pack`,
# each tarball checked against its SHA-256 below, and only the model files unpacked into
# .cache/npm-models/ (git-ignored). Idempotent: a package already unpacked is not fetched again.
#   handtrackjs 0.1.5: TF.js graph-models converted by tfjs-converter 3.5.0 from one model, float32
#     (base), float16 (fp16) and uint8 (int8), and an older bare weights manifest (ssdlitemobilenetv2).
#   @mediapipe/face_detection 0.4.1657300184: three .tflite models (FLOAT16 and INT32 constants).
# Usage: scripts/fetch-npm-models.sh [DEST]   (needs npm and network access to the npm registry)
set -euo pipefail
cd "$(dirname "$0")/.."
DEST="${1:-.cache/npm-models}"

# name@version  sha256 of the tarball  folder  members to unpack (paths inside the tarball)
fetch() {
  local spec="$1" sha="$2" folder="$3"
  shift 3
  if [ -f "$DEST/$folder/.sha256" ] && [ "$(cat "$DEST/$folder/.sha256")" = "$sha" ]; then
    echo "$spec: present in $DEST/$folder"
    return
  fi
  local tmp
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' RETURN
  (cd "$tmp" && npm pack "$spec" --silent >/dev/null)
  local tgz
  tgz="$(ls "$tmp"/*.tgz)"
  local got
  got="$(sha256sum "$tgz" | cut -d' ' -f1)"
  if [ "$got" != "$sha" ]; then
    echo "$spec: the tarball's SHA-256 is $got, not the pinned $sha: not unpacked" >&2
    return 1
  fi
  rm -rf "${DEST:?}/$folder"
  mkdir -p "$DEST/$folder"
  # Only the named members; GNU tar refuses members with '..' and strips leading '/' anyway.
  tar -xzf "$tgz" -C "$DEST/$folder" --strip-components=1 --no-same-owner --no-same-permissions "$@"
  echo "$sha" > "$DEST/$folder/.sha256"
  echo "$spec: unpacked into $DEST/$folder"
}

fetch handtrackjs@0.1.5 e79982ff90a15279625080114504768911f624fad9d056adfa869c8d92b62a45 handtrackjs \
  package/models/webmodel/ssd320fpnlite package/models/web/ssdlitemobilenetv2
fetch @mediapipe/face_detection@0.4.1657300184 a118cde74923dc4435257fbfbb613464a0f58d115dff6314d4ff96c8aebf6419 mediapipe-face_detection \
  package/face_detection_short_range.tflite package/face_detection_full_range.tflite package/face_detection_full_range_sparse.tflite
