#!/bin/sh
# Operations, scenario "check" (see tests/ops/ops.py).
exec /usr/bin/python3 "${srcdir:-.}/tests/ops/ops.py" --builddir="$PWD" check
