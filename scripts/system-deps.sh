#!/usr/bin/env bash
# Install the Debian packages the project needs when they are missing: scripts/system-deps.sh ffmpeg chromium
set -euo pipefail
missing=()
for want in "$@"; do
  case "$want" in
    ffmpeg) { command -v ffmpeg && command -v ffprobe; } >/dev/null || missing+=(ffmpeg) ;;
    chromium) command -v chromium >/dev/null || missing+=(chromium fonts-dejavu-core) ;;
    *) echo "unknown system dependency: $want" >&2; exit 2 ;;
  esac
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "Installing ${missing[*]} from Debian's packages..."
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
