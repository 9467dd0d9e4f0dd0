#!/bin/sh
# Operations, scenario "unit" (see tests/ops/ops.py).
exec /usr/bin/python3 "${srcdir:-.}/tests/ops/ops.py" --builddir="$PWD" unit
