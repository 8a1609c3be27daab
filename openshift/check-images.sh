#!/usr/bin/env bash
# Refuses an overlay whose rendered images are not pinned by digest (a tag can be moved under a
# running deployment) or still carry the placeholder digest of zeros.
#   openshift/check-images.sh [overlay dir, default openshift/overlays/ha]
set -euo pipefail
overlay="${1:-$(dirname "$0")/overlays/ha}"
images=$(kubectl kustomize "$overlay" | sed -n 's/^ *image: *//p' | tr -d "\"'" | sort -u)
status=0
while IFS= read -r image; do
  [ -z "$image" ] && continue
  if [[ ! "$image" =~ @sha256:[0-9a-f]{64}$ ]]; then
    echo "refused: $image is not pinned by digest (use NAME@sha256:...)" >&2
    status=1
  elif [[ "$image" =~ @sha256:0{64}$ ]]; then
    echo "refused: $image still has the placeholder digest; set the real one" >&2
    status=1
  fi
done <<< "$images"
[ "$status" -eq 0 ] && echo "all images of $overlay are pinned by digest"
exit "$status"
