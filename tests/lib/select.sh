# shellcheck shell=bash
# Which tests run: one rule for `make check T=...`, tests/check.sh and
# tests/run-guest.sh.  Each pattern is a shell glob matched against the
# names in tests/list (test programs, "tap:mapdirect" for the kernel
# selftests), "powercut" and "harness" (tests/harness.sh), never against
# files; "!GLOB" excludes; with no inclusive pattern, every test.
# Sourced, not run.

# selected NAME PATTERN...: does NAME run?
selected() {
	local name=$1 pat incl=0 hit=0
	shift
	for pat in "$@"; do
		# shellcheck disable=SC2053
		if [[ $pat == '!'* ]]; then
			[[ $name == ${pat#!} ]] && return 1
		else
			incl=1
			[[ $name == $pat ]] && hit=1
		fi
	done
	[ $incl = 0 ] || [ $hit = 1 ]
}
