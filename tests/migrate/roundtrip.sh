#!/bin/sh
# XEP-0227 migration, scenario "roundtrip" (see tests/migrate/migrate.py).
exec /usr/bin/python3 "${srcdir:-.}/tests/migrate/migrate.py" --builddir="$PWD" roundtrip
