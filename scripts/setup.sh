#!/usr/bin/env bash
# Installs what wgprune needs on a fresh machine, and nothing twice (run it again at will):
#  - npm dependencies (from package-lock.json);
#  - where no Vulkan driver is present (no GPU), Mesa's lavapipe new enough for Dawn
#    (Mesa 24+; Dawn rejects Mesa 22's lavapipe) and the Vulkan loader;
#  - Debian's chromium, for the browser test suite (skip with --no-browser or WGPRUNE_NO_BROWSER=1).
# System packages are installed only on Debian/Ubuntu as root; elsewhere the script
# says what is missing and goes on.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { echo "setup: $*" >&2; }

want_browser=1
for arg in "$@"; do
  case "$arg" in
    --no-browser) want_browser=0 ;;
    *) log "unknown option $arg (known: --no-browser)"; exit 2 ;;
  esac
done
[ "${WGPRUNE_NO_BROWSER:-0}" = 1 ] && want_browser=0

# --- npm ---------------------------------------------------------------------
if [ ! -d node_modules/webgpu ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "installing npm dependencies"
  npm ci --no-audit --no-fund --loglevel=error
fi

# --- system packages -----------------------------------------------------------
can_apt() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; }
apt_updated=0
apt_update() { [ $apt_updated = 1 ] || { apt-get update -qq >/dev/null; apt_updated=1; }; }
# apt and dpkg are chatty: keep their output in a log and show it only on failure.
apt_install() {
  local out; out=$(mktemp)
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >"$out" 2>&1 ||
    { cat "$out" >&2; rm -f "$out"; log "apt-get install $* failed"; exit 1; }
  rm -f "$out"
}

codename() { . /etc/os-release 2>/dev/null; echo "${VERSION_CODENAME:-}"; }

# Mirror of the main Debian suite, read from the sources apt already has (deb822 or
# one-line form), so that no host name is written here.
debian_mirror() {
  local c f; c=$(codename)
  {
    for f in /etc/apt/sources.list.d/*.sources; do
      [ -f "$f" ] || continue
      awk -v c="$c" '
        /^[[:space:]]*$/ { if (uri != "" && ok) { print uri; done=1; exit } uri=""; ok=0; next }
        /^URIs:/ { uri=$2 }
        /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == c) ok=1 }
        END { if (!done && uri != "" && ok) print uri }' "$f"
    done
    grep -hsE "^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?[a-z]+://[^[:space:]]+[[:space:]]+$c[[:space:]]" \
      /etc/apt/sources.list /etc/apt/sources.list.d/*.list |
      sed -E 's/^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?//' | awk '{print $1}'
  } | head -n 1 || true
}

# A Vulkan ICD that is not Mesa's software one means a GPU driver is installed.
has_gpu_icd() {
  ls /usr/share/vulkan/icd.d/*.json /etc/vulkan/icd.d/*.json 2>/dev/null | grep -vq lvp_icd
}
mesa_major() {
  dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null | sed -E 's/^([0-9]+:)?([0-9]+).*/\2/'
}
has_lavapipe() {
  local m; m=$(mesa_major)
  [ -n "$m" ] && [ "$m" -ge 24 ] && ls /usr/share/vulkan/icd.d/lvp_icd*.json >/dev/null 2>&1 &&
    ldconfig -p | grep -q 'libvulkan\.so\.1'
}

if [ "$(uname -s)" = Linux ] && ! has_gpu_icd && ! has_lavapipe; then
  if can_apt; then
    c=$(codename)
    target=()
    if [ "$c" = bookworm ]; then
      mirror=$(debian_mirror)
      [ -n "$mirror" ] || { log "no Debian mirror found in apt sources for $c"; exit 1; }
      list=/etc/apt/sources.list.d/wgprune-bookworm-backports.list
      if ! grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
        log "adding bookworm-backports from $mirror (Mesa 24+ for lavapipe)"
        echo "deb $mirror bookworm-backports main" > "$list"
      fi
      target=(-t bookworm-backports)
    fi
    log "installing the software Vulkan driver (Mesa lavapipe) and the Vulkan loader"
    apt_update
    apt_install "${target[@]}" mesa-vulkan-drivers libvulkan1
    has_lavapipe || { log "lavapipe is still older than Mesa 24 (have $(mesa_major)); Dawn will reject it"; exit 1; }
  else
    log "no Vulkan driver found: install your GPU's Vulkan driver, or Mesa 24+ lavapipe (mesa-vulkan-drivers) and libvulkan1"
  fi
fi

if [ $want_browser = 1 ] && ! command -v chromium >/dev/null 2>&1; then
  if can_apt; then
    log "installing Debian's chromium for the browser tests"
    apt_update
    apt_install chromium
  else
    log "chromium not found: the browser suite will be skipped"
  fi
fi
log "ready"
