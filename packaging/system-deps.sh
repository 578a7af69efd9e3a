#!/bin/sh
# The system libraries the desk's window needs that a fresh Debian/Ubuntu desktop may lack
# (Qt's X11 plugin: libxcb-cursor0, libxcb-icccm4, libxcb-keysyms1, ...), found by asking the
# dynamic linker about the installed PySide6 (python -m app.platform_check --packages).
# Installs only what is missing; nothing when all is there. Run after `pip install -e .`.
set -e
packages=$(python -m app.platform_check --packages)
if [ -z "$packages" ]; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "SignalDesk's window needs these system libraries: $packages (install them with your package manager)" >&2
    exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "+ $sudo apt-get install -y $packages"
$sudo apt-get update -qq
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $packages
