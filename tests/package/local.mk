# tests/package/: the Debian package built with dpkg-buildpackage, checked with lintian,
# installed into a clean Debian 12 root made with mmdebstrap (cached in the build directory
# as pkgtest-bookworm.tar after the first run), mynad started there as the systemd unit
# would, a client logged in, then purged (tests/package/package.py). About 45 s with the
# cached root, 90 s without; needs root and the Debian mirror. make check-package runs it
# alone.
TESTS += tests/package/package.sh
EXTRA_DIST += tests/package/package.sh tests/package/package.py debian
CLEANFILES += pkgtest-bookworm.tar

check-package:
	$(MAKE) $(AM_MAKEFLAGS) check TESTS=tests/package/package.sh
.PHONY: check-package
