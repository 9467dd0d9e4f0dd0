# tests/s2s/: federation. Each scenario starts its servers (mynad, later Prosody and
# ejabberd) on its own 127.X.Y.0/24, derived from its name (tests/s2s/fed.py), with the
# standard ports, so scenarios never collide under make -j.
S2S_TESTS = tests/s2s/myna-external.sh tests/s2s/myna-hostile.sh \
	tests/s2s/myna-dialback.sh tests/s2s/myna-refused.sh tests/s2s/peer-prosody.sh \
	tests/s2s/peer-ejabberd.sh
TESTS += $(S2S_TESTS)
EXTRA_DIST += $(S2S_TESTS) tests/s2s/fed.py tests/s2s/myna.py tests/s2s/peers.py

check-s2s:
	$(MAKE) $(AM_MAKEFLAGS) check TESTS="$(S2S_TESTS)"
.PHONY: check-s2s
