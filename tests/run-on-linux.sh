#!/usr/bin/env bash
# run-on-linux.sh: the user test programs, the same static binaries the ISO
# carries, run on the host's Linux kernel.  They look for /bin/echoargs and
# the like, so each runs in a private mount namespace where /bin is
# build/user (unshare: an unprivileged user namespace).  Left out, and
# covered on Linux by `make test-linux` (128 MiB, as root): test_oom and
# test_cowtest, which size their memory by what is free, so that on a host
# they would really fill gigabytes.  The userfaultfd tests need no /bin:
# as root they run directly; in the user namespace Linux refuses a
# userfaultfd that kernel accesses may wait on (vm.unprivileged_userfaultfd
# = 0, the default), so without root they are skipped, saying why.
# Exit status 0 only when every program exited 0; where user namespaces are
# not allowed, says so (SKIP) and exits 0.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bin=$here/build/user
if ! unshare -rm true 2>/dev/null; then
    echo "SKIP run-on-linux: unprivileged user namespaces are not allowed here (unshare -rm)"
    exit 0
fi
failed=0 ran=0
for t in "$bin"/test_*; do
    name=$(basename "$t")
    case $name in test_oom | test_cowtest) continue ;; esac
    log=$here/build/linux-$name.log
    # shellcheck disable=SC2016
    run=(unshare -rm sh -c 'mount --bind "$1" /bin && exec "/bin/$2"' _ "$bin" "$name")
    if [[ $name == test_uffd_* ]]; then
        if ((EUID == 0)); then
            run=("$t")
        elif [[ $(cat /proc/sys/vm/unprivileged_userfaultfd 2>/dev/null) != 1 ]]; then
            echo "SKIP linux $name: not root and vm.unprivileged_userfaultfd is not 1"
            continue
        fi
    fi
    if timeout 60 "${run[@]}" >"$log" 2>&1 </dev/null; then
        echo "PASS linux $name: $(tail -n 1 "$log")"
    else
        echo "FAIL linux $name (exit $?):"
        grep -a -v ': ok: ' "$log" | tail -n 20
        failed=$((failed + 1))
    fi
    ran=$((ran + 1))
done
((ran > 0)) || { echo "FAIL run-on-linux: no test programs in $bin"; exit 1; }
((failed == 0))
