# tests/s2s/: federation. Each scenario starts its servers (mynad, later Prosody and
# ejabberd) on its own 127.X.Y.0/24, derived from its name (tests/s2s/fed.py), with the
# standard ports, so scenarios never collide under make -j.
S2S_TESTS = tests/s2s/myna-external.sh tests/s2s/myna-hostile.sh \
	tests/s2s/myna-dialback.sh tests/s2s/myna-refused.sh tests/s2s/myna-piggyback.sh \
	tests/s2s/myna-flood.sh tests/s2s/myna-limits.sh tests/s2s/myna-dns.sh \
	tests/s2s/peer-prosody.sh tests/s2s/peer-ejabberd.sh tests/s2s/myna-metrics.sh
TESTS += $(S2S_TESTS)
EXTRA_DIST += $(S2S_TESTS) tests/s2s/fed.py tests/s2s/myna.py tests/s2s/peers.py

check-s2s:
	$(MAKE) $(AM_MAKEFLAGS) check TESTS="$(S2S_TESTS)"
.PHONY: check-s2s

# The closing scenario with Pidgin's libpurple on Myna and a Prosody user (peers.py purple).
if HAVE_PURPLE
check_PROGRAMS += tests/s2s/purple_fed
tests_s2s_purple_fed_SOURCES = tests/s2s/purple_fed.c tests/e2e/e2e_purple.c \
	tests/e2e/e2e_purple.h $(E2E_COMMON)
tests_s2s_purple_fed_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests/e2e
tests_s2s_purple_fed_CFLAGS = $(E2E_STROPHE_CFLAGS) $(PURPLE_CFLAGS)
tests_s2s_purple_fed_LDADD = $(STROPHE_LIBS) $(PURPLE_LIBS)
TESTS += tests/s2s/peer-purple.sh
endif
EXTRA_DIST += tests/s2s/peer-purple.sh tests/s2s/gajim_peer.py
