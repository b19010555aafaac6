#!/usr/bin/env bash
# Mutation self-test of the VMM model checker: each known bug below is
# injected into a scratch copy of kernel/mm, the checker is built against
# it, and the corpus replay (then, if that passes, a bounded fuzz run) must
# report a divergence.  A mutant the checker misses fails this test.
#   tests/fuzz/vmm-mutants.sh [NAME...]   (default: every mutant)
set -uo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
cd "$here" || exit 1
runs=${MUTANT_FUZZ_RUNS:-3000}
scratch=$(mktemp -d "${TMPDIR:-/tmp}/zf-mutants.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

# name | file | text to find (exactly once) | replacement ("\n" for newlines)
#   [| corpus inputs that must each fail on their own: a fix's regressions]
mutants=(
"missing-invlpg-protect|region.c|        *entry = n;\n        mmu_invalidate(c->s->pml4, va);|        *entry = n;"
"missing-invlpg-unmap-region|region.c|    *entry = 0;\n    mmu_invalidate(c->s->pml4, va);\n    vmm_leaf_put(e, level);|    *entry = 0;\n    vmm_leaf_put(e, level);"
"missing-invlpg-unmap-page|vmm_map.c|    *w.entry = 0;\n    mmu_invalidate(s->pml4, va);\n    if (pa_out)|    *w.entry = 0;\n    if (pa_out)"
"missing-invlpg-clone-source|region.c|        *entry = e;\n        mmu_invalidate(c->src->pml4, va);|        *entry = e;"
"clone-no-refcount|region.c|    if (owns && pmm_ref_inc(pa) != PMM_OK) {|    if (owns && pmm_refcount(pa) == 0) {"
"clone-source-stays-writable|region.c|        e = (e & ~PTE_W) \| PTE_COW;\n        *entry = e;|        *entry = e;"
"cow-dropped-in-clone|region.c|vmm_install_next(c->dst, &c->cur, va, e & ~(PTE_A \| PTE_D \| PTE_UFFD_WP));|vmm_install_next(c->dst, &c->cur, va, e & ~(PTE_A \| PTE_D \| PTE_UFFD_WP \| PTE_COW));"
"reuse-instead-of-copy|fault.c|if (vmm_leaf_owns(e, 1) && pmm_sole_reference(frame))|if (vmm_leaf_owns(e, 1) \&\& pmm_refcount(frame) >= 1)"
"private-copy-zeroed|fault.c|        if (!frame_fill(src, &fresh, &why))|        if (!frame_fill(vmm_zero_frame, &fresh, &why))"
"zero-frame-writable|fault.c|(r->prot & REGION_W ? PTE_COW : 0);|(r->prot \& REGION_W ? PTE_W : 0);"
"shared-fault-no-ref|fault.c|    res = install(s, f, e, true,\n                  filled|    res = install(s, f, e, false,\n                  filled"
"protect-read-only-keeps-cow|region.c|    uint64_t n = (e & (PTE_ADDR_MASK \| PTE_A \| PTE_D \| PTE_NOREF \| PTE_UFFD_WP)) \||    uint64_t n = (e \& (PTE_ADDR_MASK \| PTE_A \| PTE_D \| PTE_NOREF \| PTE_UFFD_WP \| PTE_COW)) \|"
"protect-keeps-shared-frame-writable|region.c|if ((r->flags & REGION_SHARED \|\| (e & PTE_W)) && !(e & PTE_UFFD_WP))|if ((r->flags \& REGION_SHARED \|\| (e \& PTE_W) \|\| (e \& PTE_COW)) \&\& !(e \& PTE_UFFD_WP))"
"oom-leaves-table|walk.h|                walk_undo_created(s, w);\n                return VMM_ERR_NOMEM;|                return VMM_ERR_NOMEM;"
"kmap-not-popped|fault.c|        mm_copy_page(dst, from);\n        kmap_pop((void *)from);|        mm_copy_page(dst, from);"
"revert-fba2b76|tlb_policy.h|return space_pml4 == live_pml4 \|\| va >= KERNEL_HALF_START;|return space_pml4 == live_pml4;|regress-fba2b76-kernel-half-stale-tlb regress-fba2b76-global-page"
"pager-later-as-failure|vmobj.c|return r == PAGER_LATER ? VMOBJ_LATER : VMOBJ_FAILED;|return VMOBJ_FAILED;"
"uffd-unregister-keeps-waiting|uffd_range.c|    r->uffd = NULL;\n    r->uffd_mode = 0;\n    if (!c->count++|    r->uffd_mode = REGION_UFFD_MISSING;\n    if (!c->count++"
"uffd-copy-wp-dropped|uffd_range.c|    if (wp && writable)\n        e \|= PTE_UFFD_WP;|    (void)wp;"
"uffd-wp-release-keeps-bit|uffd_range.c|        n = e & ~PTE_UFFD_WP;|        n = e;"
"clone-inherits-uffd|region.c|        copy->uffd = NULL;\n        copy->uffd_mode = 0;\n|"
"clone-counts-noref-frame|region.c|    bool owns = vmm_leaf_owns(e, 1);|    bool owns = pa != vmm_zero_frame;"
"protect-huge-over-zero-frame-writable|vmm_map.c|        vmm_zero_frame < frame + size)|        vmm_zero_frame < frame + (size \& PAGE_SIZE))"
"revert-uffd-reregister-wp|uffd_range.c|    if ((r->uffd_mode & REGION_UFFD_WP) && !(c->mode & REGION_UFFD_WP)) {|    if (false) {|found-uffd-reregister-keeps-wp"
"revert-uffd-copy-region-rights|uffd_range.c|    uint64_t e = region_leaf_rights(r);|    uint64_t e = PTE_P \| PTE_U \| (r->prot \& REGION_X ? 0 : PTE_NX);|found-uffd-copy-ignores-region-rights"
"revert-uffd-copy-wp-outside-wp|uffd_range.c|    if (wp && !(r->uffd_mode & REGION_UFFD_WP)) {|    if (false) {|found-uffd-copy-wp-outside-wp-range"
"revert-dfdfa2f|walk.c|    if (create && va >= KERNEL_HALF_START &&|    if (create \&\& va >= KERNEL_HALF_START \&\& false \&\&|regress-dfdfa2f-kernel-half-private-slot"
"protnone-stays-present|region.c|        return (f & ~PTE_P) \| PTE_PROTNONE;|        return f;|regress-protnone-kernel-read regress-protnone-populate"
"visit-skips-protnone|walk.c|        if (vmm_entry_held(t[i]))\n            return i;|        if (t[i] \& PTE_P)\n            return i;"
"walk-cache-kept-after-unlink|walk.h|    walk_cache_drop();\n    mmu_table_unlinked(s->pml4, level, va);|    mmu_table_unlinked(s->pml4, level, va);"
"index-start-not-moved|region.c|            region_index_move_start(&s->index, r->start, b);\n|"
"lookup-past-region-end|region.c|    struct region *r = region_index_find(&s->index, va)->region;\n    if (va >= r->end)|    struct region *r = region_index_find(\&s->index, va)->region;\n    if (r->end == 0)"
)

# Compile sources into @outdir with @mmdir as kernel/mm (for its headers),
# two at a time.
read -r -a cflags <<<"$(make -s --no-print-directory fuzz-vmm-flags MM_DIR=@MM@ | sed -n 1p)"
read -r -a other_src <<<"$(make -s --no-print-directory fuzz-vmm-flags | sed -n 2p)"
read -r -a mm_src <<<"$(make -s --no-print-directory fuzz-vmm-flags | sed -n 3p)"
# Run with output to @log; the shell's "Aborted" note goes there too.
quiet() { local log=$1; shift; ( "$@"; exit $? ) >"$log" 2>&1; }
obj_name() { basename "$1" .c | sed 's/$/.o/'; }
compile() { # mmdir outdir sources...
    local mmdir=$1 out=$2; shift 2
    mkdir -p "$out"
    # shellcheck disable=SC2016 # $(basename) is for the inner sh
    printf '%s\n' "$@" | xargs -P 2 -I{} sh -c 'clang "$@" -c {} -o "'"$out"'/$(basename {} .c).o"' _ \
        "${cflags[@]/@MM@/$mmdir}" -fsanitize=fuzzer-no-link
}
mkdir -p "$scratch/orig" && cp -r kernel/mm "$scratch/orig/mm"
if ! compile "$scratch/orig/mm" "$scratch/orig/obj" "${mm_src[@]/#kernel\/mm\//$scratch/orig/mm/}" \
        "${other_src[@]}"; then
    echo "FAIL vmm mutants: the unmutated checker does not build"; exit 1
fi

want=("$@")
caught=0 missed=0 total=0
for m in "${mutants[@]}"; do
    IFS='|' read -r name file find repl musts <<<"$(printf '%s' "$m" | sed 's/\\|/\x01/g')"
    find=${find//$'\x01'/|}; repl=${repl//$'\x01'/|}
    if [ ${#want[@]} -gt 0 ] && [[ ! " ${want[*]} " == *" $name "* ]]; then continue; fi
    total=$((total + 1))
    dir=$scratch/$name
    mkdir -p "$dir" && cp -r kernel/mm "$dir/mm"
    if ! python3 - "$dir/mm/$file" "$find" "$repl" <<'PY'
import sys
path, find, repl = sys.argv[1], sys.argv[2].replace("\\n", "\n"), sys.argv[3].replace("\\n", "\n").replace("\\&", "&")
s = open(path).read()
if s.count(find) != 1:
    sys.exit(f"mutant text found {s.count(find)} times in {path}")
open(path, "w").write(s.replace(find, repl))
PY
    then
        echo "FAIL mutant $name: cannot inject (kernel/mm/$file changed?)"; missed=$((missed + 1)); continue
    fi
    # Recompile what the mutated file reaches (a header: all of mm and the
    # simulation), reuse the rest.
    if [[ $file == *.h ]]; then redo=("${mm_src[@]}" tests/host/sim.c); else redo=("kernel/mm/$file"); fi
    objs=()
    for src in "${mm_src[@]}" "${other_src[@]}"; do
        if [[ " ${redo[*]} " == *" $src "* ]]; then
            objs+=("$dir/obj/$(obj_name "$src")")
        else
            objs+=("$scratch/orig/obj/$(obj_name "$src")")
        fi
    done
    if ! { compile "$dir/mm" "$dir/obj" "${redo[@]/#kernel\/mm\//$dir/mm/}" &&
           clang -fsanitize=fuzzer -o "$dir/fuzz_vmm" "${objs[@]}"; } >"$dir/build.log" 2>&1; then
        echo "FAIL mutant $name: does not build"; sed -n 1,10p "$dir/build.log"; missed=$((missed + 1)); continue
    fi
    how="" bad=0
    for f in $musts; do
        if quiet "$dir/must.log" "$dir/fuzz_vmm" --replay "tests/fuzz/vmm-corpus/$f"; then
            echo "FAIL mutant $name: regression input $f passes with the bug"; bad=1
        else
            echo "  $f fails with the bug: $(grep -m1 DIVERGENCE "$dir/must.log" | cut -c1-140)"
        fi
    done
    if [ $bad -eq 1 ]; then missed=$((missed + 1)); continue; fi
    if ! quiet "$dir/replay.log" "$dir/fuzz_vmm" --replay tests/fuzz/vmm-corpus; then
        how="corpus replay: $(grep -m1 -E 'DIVERGENCE|ERROR' "$dir/replay.log" | cut -c1-160)"
    else
        mkdir -p "$dir/corpus"
        if ! quiet "$dir/fuzz.log" "$dir/fuzz_vmm" -seed=1 -runs="$runs" -max_len=600 -len_control=0 \
                -artifact_prefix="$dir/" "$dir/corpus" tests/fuzz/vmm-corpus; then
            how="fuzzing: $(grep -m1 -E 'DIVERGENCE|ERROR' "$dir/fuzz.log" | cut -c1-160)"
        fi
    fi
    if [ -n "$how" ]; then
        echo "PASS mutant $name caught by $how"; caught=$((caught + 1))
    else
        echo "FAIL mutant $name survived (corpus replay and $runs fuzz runs)"; missed=$((missed + 1))
    fi
    rm -rf "$dir"
done
echo "vmm mutants: $caught of $total caught"
[ "$missed" -eq 0 ] && [ "$total" -gt 0 ]
