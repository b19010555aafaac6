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
exit $status
