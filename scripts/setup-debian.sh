#!/usr/bin/env bash
# Installs the Debian packages the test-suite uses when they are missing (python3-numpy for the
# NPZ round-trip tests). Safe to run repeatedly; does nothing when everything is present.
set -u
if /usr/bin/python3 -c 'import numpy' >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "python3-numpy missing and cannot be installed here" >&2; exit 1
fi
apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-numpy >/dev/null
