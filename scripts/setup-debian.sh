#!/usr/bin/env bash
# Installs the Debian packages the test-suite uses when they are missing: python3-numpy (the NPZ
# round-trip tests) and chromium (the web console's end-to-end tests, driven by playwright-core;
# Playwright's own browser download does not work here), and time (/usr/bin/time: `npm run bench --
# ingest --prefill` reads each import process's peak RSS from it). Safe to run repeatedly; does nothing
# when everything is present.
set -u
missing=()
/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1 || missing+=(python3-numpy)
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/bin/time ] || missing+=(time)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "${missing[*]} missing and cannot be installed here" >&2; exit 1
fi
apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
