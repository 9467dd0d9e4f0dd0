#!/bin/sh
# Federation Myna <-> Myna, scenario "metrics" (see tests/s2s/myna.py).
exec /usr/bin/python3 "${srcdir:-.}/tests/s2s/myna.py" --builddir="$PWD" metrics
