#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Install, build and run dpct's full test suite, as CI does.
#
#   bash scripts/test.sh            everything: setup, main build + all suites,
#                                   sanitizer build, bounded libFuzzer runs
#   FUZZ_SECONDS=30 (default)       time per libFuzzer target
#   JOBS=2 (default)                ninja and meson test parallelism
#   SKIP_SETUP=1                    do not run scripts/setup.sh
#   STAGES="main asan fuzz"         run a subset
#
# Every stage runs even when an earlier one failed, so one run reports all
# failures; the exit status is non-zero if anything failed. Nothing needs
# hugepages: DPDK tests run with --no-huge, unit tests need no EAL.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
JOBS=${JOBS:-2}
FUZZ_SECONDS=${FUZZ_SECONDS:-30}
STAGES=${STAGES:-"main asan fuzz"}

passed=0
failed=0
skipped=0
failures=()

log() { echo "=== ci: $*"; }

# meson setup that also works when the directory exists from an earlier run.
setup_dir() {
	local dir=$1
	shift
	if [ -f "$dir/build.ninja" ]; then
		meson setup --reconfigure "$dir" "$@"
	else
		rm -rf "$dir"
		meson setup "$dir" "$@"
	fi
}

# Add one meson test run's results (from its testlog.json) to the totals.
count_tests() {
	local dir=$1 counts
	counts=$(/usr/bin/python3 - "$dir/meson-logs/testlog.json" <<'PY'
import json, sys
ok = bad = skip = 0
names = []
try:
    for line in open(sys.argv[1]):
        t = json.loads(line)
        r = t.get("result", "")
        if r in ("OK", "EXPECTEDFAIL"):
            ok += 1
        elif r == "SKIP":
            skip += 1
        else:
            bad += 1
            names.append(t.get("name", "?").replace(" ", "_"))
except FileNotFoundError:
    pass
print(ok, bad, skip, " ".join(names))
PY
)
	read -r p f s names <<<"$counts"
	passed=$((passed + p))
	failed=$((failed + f))
	skipped=$((skipped + s))
	for n in $names; do
		failures+=("$dir:$n")
	done
}

fail_stage() {
	failed=$((failed + 1))
	failures+=("$1")
	log "FAILED: $1"
}

# meson test in a build dir; its results go into the totals. A non-zero exit
# that no test result explains (meson itself failed) counts as a failure too.
run_meson_test() {
	local dir=$1 rc=0 before=$failed
	shift
	rm -f "$dir/meson-logs/testlog.json"
	meson test -C "$dir" --print-errorlogs --num-processes "$JOBS" "$@" || rc=$?
	count_tests "$dir"
	if [ "$rc" -ne 0 ] && [ "$failed" -eq "$before" ]; then
		fail_stage "$dir: meson test exited $rc"
	fi
}

# (a) main build, warnings are errors, all suites.
stage_main() {
	log "main build (build-ci, -Dwerror_strict=true)"
	setup_dir build-ci -Dwerror_strict=true || { fail_stage "build-ci: meson setup"; return; }
	ninja -C build-ci -j"$JOBS" || { fail_stage "build-ci: build"; return; }
	log "meson test (unit, integration, fuzz)"
	run_meson_test build-ci
}

# (b) libraries and unit/fuzz-corpus tests under ASan + UBSan.
stage_asan() {
	log "sanitizer build (build-asan, address,undefined)"
	setup_dir build-asan -Dwerror_strict=true -Dlibs_only=true \
		-Db_sanitize=address,undefined -Db_lundef=false ||
		{ fail_stage "build-asan: meson setup"; return; }
	ninja -C build-asan -j"$JOBS" || { fail_stage "build-asan: build"; return; }
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 run_meson_test build-asan \
		--suite unit --suite fuzz
}

# The fuzz targets as "name corpus-dir" lines: the tests of suite "fuzz" that
# meson registered in the sanitizer build (same libs_only configuration; their
# argument is the corpus). Without that build: every fuzz_* executable, no corpus.
fuzz_targets() {
	if meson introspect --tests build-asan >/dev/null 2>&1; then
		meson introspect --tests build-asan | /usr/bin/python3 -c '
import json, sys
for t in json.load(sys.stdin):
    if "fuzz" in t.get("suite", []) or any(s.endswith(":fuzz") for s in t.get("suite", [])):
        print(t["name"], t["cmd"][-1] if len(t["cmd"]) > 1 else "-")
'
	else
		find build-fuzz/tests/fuzz -type f -executable -name 'fuzz_*' -not -path '*.p/*' \
			-printf '%f -\n' | sort
	fi
}

# (c) libFuzzer (clang), each target for FUZZ_SECONDS on a copy of its corpus.
stage_fuzz() {
	local exe name corpus work rc n=0
	log "libFuzzer build (build-fuzz, clang, address,undefined)"
	CC=clang setup_dir build-fuzz -Dfuzz=true -Dlibs_only=true \
		-Db_sanitize=address,undefined -Db_lundef=false ||
		{ fail_stage "build-fuzz: meson setup"; return; }
	ninja -C build-fuzz -j"$JOBS" || { fail_stage "build-fuzz: build"; return; }
	work=$(mktemp -d /tmp/dpct-fuzz.XXXXXX)
	while read -r name corpus; do
		exe=$(find build-fuzz/tests/fuzz -type f -executable -name "$name" \
			-not -path '*.p/*' | head -n 1)
		if [ -z "$exe" ]; then
			fail_stage "fuzz:$name: not built by build-fuzz"
			continue
		fi
		n=$((n + 1))
		mkdir -p "$work/$name"
		if [ "$corpus" != "-" ] && [ -d "$corpus" ]; then
			cp -r "$corpus"/. "$work/$name/"
		else
			corpus=
		fi
		log "fuzz $name for ${FUZZ_SECONDS}s (corpus: ${corpus:-none}, $(ls "$work/$name" | wc -l) inputs)"
		rc=0
		(cd "$work" && ASAN_OPTIONS=abort_on_error=1 \
			UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
			timeout -k 10 $((FUZZ_SECONDS + 120)) "$ROOT/$exe" \
			-max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 \
			-print_final_stats=1 "$work/$name" </dev/null >"$work/$name.log" 2>&1) || rc=$?
		if [ "$rc" -eq 0 ]; then
			passed=$((passed + 1))
			grep -E '^stat::number_of_executed_units' "$work/$name.log" || true
		else
			tail -n 60 "$work/$name.log"
			fail_stage "fuzz:$name (exit $rc; crash inputs in $work)"
		fi
	done < <(fuzz_targets)
	if [ "$n" -eq 0 ]; then
		log "no fuzz targets found in build-fuzz/tests/fuzz"
		skipped=$((skipped + 1))
	fi
	if [ "$failed" -eq 0 ]; then
		rm -rf "$work"
	fi
}

if [ -z "${SKIP_SETUP:-}" ]; then
	bash scripts/setup.sh
fi

start=$(date +%s)
for s in $STAGES; do
	case $s in
	main) stage_main ;;
	asan) stage_asan ;;
	fuzz) stage_fuzz ;;
	*) echo "unknown stage $s" >&2; exit 2 ;;
	esac
done

for f in "${failures[@]}"; do
	echo "ci: failed: $f"
done
echo "ci: $passed passed, $failed failed, $skipped skipped ($(( $(date +%s) - start ))s)"
[ "$failed" -eq 0 ]
