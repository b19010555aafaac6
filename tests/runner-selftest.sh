#!/usr/bin/env bash
# The runner's own tests: boots that must make run-boot.sh FAIL, each for the
# right reason.  Exits non-zero if the runner passes any of them or gives the
# wrong reason.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
status=0

expect_runner_failure() { # name reason-regex run-boot args...
    local name=$1 reason=$2; shift 2
    local out
    out=$("$here/tests/run-boot.sh" --name "$name" "$@" 2>&1)
    local rc=$?
    if (( rc == 0 )); then
        echo "FAIL runner-selftest $name: the runner passed a boot it must fail"
        status=1
    elif ! grep -Eq "^FAIL $name: $reason" <<<"$out"; then
        echo "FAIL runner-selftest $name: wrong reason; runner said:"
        head -n 5 <<<"$out"
        status=1
    else
        echo "PASS runner-selftest $name: runner reported '$(grep -m1 "^FAIL $name: " <<<"$out" | sed "s/^FAIL $name: //")'"
    fi
}

expect_runner_failure runner-failing-test 'failed tests: 1 of 1' --cmdline 'test=runner.deliberate_failure'
expect_runner_failure runner-hang 'timeout' --cmdline 'test=runner.hang' --timeout 5
expect_runner_failure runner-triple-fault 'triple fault' --cmdline 'test=runner.triple_fault'
expect_runner_failure runner-panic 'kernel panic: PANIC: deliberate panic' --cmdline 'test=runner.explicit_panic'
# Test selection: nothing selected, a manual test through a wildcard, an
# empty or over-long selection are each refused.
expect_runner_failure runner-select-nothing 'test selection refused: the selection matches no test' \
    --cmdline 'test=no_such_suite.*'
expect_runner_failure runner-select-manual-by-wildcard 'test selection refused: the selection matches no test' \
    --cmdline 'test=runner.*'
expect_runner_failure runner-select-bare 'test selection refused: empty test selection' \
    --cmdline 'test'
# 256 characters: one too many, refused whole (never cut).
long="$(printf 'x%.0s' {1..246}),kprintf.*"
expect_runner_failure runner-select-too-long 'test selection refused: the test= selection is longer than 255' \
    --cmdline "test=$long"

# 255 characters: accepted whole.  Only its last item selects anything, so a
# selection cut short (the old limit was 95) would select nothing and fail.
long="$(printf 'x%.0s' {1..245}),kprintf.*"
out=$("$here/tests/run-boot.sh" --name runner-select-long --cmdline "test=$long" \
      --match "^# Zeroframe self-tests, selection: $long\$" --match '^ok 1 kprintf\.' 2>&1)
if [[ $? -ne 0 || ${#long} -ne 255 ]]; then
    echo "FAIL runner-selftest runner-select-long: a 255-character selection (${#long}) was not run whole:"
    head -n 5 <<<"$out"
    status=1
else
    echo "PASS runner-selftest runner-select-long: a 255-character selection ran whole ($(head -n1 <<<"$out"))"
fi

# test=* runs every automatic test and no manual one: it passes (any manual
# test would fail, hang or panic it) with the same plan as the default run.
out=$("$here/tests/run-boot.sh" --name runner-select-star --cmdline 'test=*' 2>&1)
if [[ $? -ne 0 ]]; then
    echo "FAIL runner-selftest runner-select-star: test=* did not pass:"
    head -n 5 <<<"$out"
    status=1
else
    out2=$("$here/tests/run-boot.sh" --name runner-select-default 2>&1)
    # The plan and every test name, in order; the default run is every
    # automatic test (tests/ktest.c: selected() with no selection).
    results() { tr -d '\r' < "$here/build/boots/$1.serial" |
                grep -E '^1\.\.[0-9]+$|^(not )?ok [0-9]+ ' | sed -E 's/ # SKIP .*//'; }
    star=$(results runner-select-star) all=$(results runner-select-default)
    manual=$(grep -ho 'TEST_MANUAL([a-z_0-9]*, *[a-z_0-9]*)' "$here"/tests/kernel/*.c |
             sed -E 's/TEST_MANUAL\(([a-z_0-9]*), *([a-z_0-9]*)\)/\1.\2/')
    leaked=$(grep -oE '[a-z_0-9]+\.[a-z_0-9]+$' <<<"$star" | grep -xF -f <(echo "$manual") | head -n1)
    if [[ -z $star || $star != "$all" || -z $manual || -n $leaked ]]; then
        echo "FAIL runner-selftest runner-select-star: test=* is not the default run's tests" \
             "(manual test run: ${leaked:-none}; $(diff <(echo "$star") <(echo "$all") | head -n 3 | paste -sd' '); $out2)"
        status=1
    else
        echo "PASS runner-selftest runner-select-star: test=* ran the default run's $(head -n1 <<<"$star") tests, in order, none of the $(wc -l <<<"$manual") manual ones"
    fi
fi

# A failed ASSERT that leaks: charged to that test only, its mappings undone,
# every later test passes.
expect_runner_failure runner-assert-leak 'failed tests: 1 of [0-9]+: runner.leak_after_failed_assert$' \
    --cmdline 'test=runner.leak_after_failed_assert,pmm.*,vmm.*'
for m in '^# guard pmm_free_frames changed by -[0-9]+ in this test' \
         '^# cleanup kernel_arena_mappings: undid 1 thing this test left behind$' \
         '^# cleanup temporary_mappings: undid 1 thing this test left behind$'; do
    if ! tr -d '\r' < "$here/build/boots/runner-assert-leak.serial" | grep -Eq -- "$m"; then
        echo "FAIL runner-selftest runner-assert-leak: the log lacks /$m/"
        status=1
    fi
done
# A leaked memory object: charged by the kmem object guard.
expect_runner_failure runner-object-leak 'failed tests: 1 of 1' \
    --cmdline 'test=runner.leaked_memory_object'
if ! tr -d '\r' < "$here/build/boots/runner-object-leak.serial" |
        grep -Eq '^# guard kmem_objects changed by 1 in this test'; then
    echo "FAIL runner-selftest runner-object-leak: the kmem object guard did not charge the test"
    status=1
fi
exit $status
