#!/usr/bin/env bash
# The house rules of docs/architecture.md, checked on the tree: no source file
# in user/ or bpf/ over 800 lines and no function over 150 (scripts/sizes);
# only user/kernel/ calls libbpf or includes kernel/internal.h; the CLI, the
# daemon and the tests reach the engine through kernel/kernel.h and sl.h only.
source "$(dirname "$0")/../lib.sh"
cd "$ROOT"

if out=$(scripts/sizes); then pass "sizes: no file over 800 lines, no function over 150"
else fail "sizes" "$(echo "$out" | tr '\n' ';')"; fi

outside=$(grep -rlE '#include [<"]bpf/(bpf|libbpf)\.h' user --include='*.c' --include='*.h' |
	grep -v '^user/kernel/' || true)
expect_eq "libbpf only inside user/kernel" "$outside" ""
# (program tests drive skeletons with libbpf themselves, but never the internals)
outside=$(grep -rlE '#include "kernel/internal\.h"' user tests --include='*.c' --include='*.h' |
	grep -v '^user/kernel/' || true)
expect_eq "kernel/internal.h only inside user/kernel" "$outside" ""

calls=$(grep -rnE '\b(bpf_map_(lookup|update|delete|get_next)_[a-z_]*|bpf_obj_get(_info_by_fd)?|bpf_prog_test_run_opts|bpf_link_[a-z_]*)\(' \
	user --include='*.c' | grep -v '^user/kernel/' || true)
expect_eq "no bpf() calls outside user/kernel" "$calls" ""

# the front end's includes form a DAG: no header of user/front includes a
# header that includes it back (parse <-> resolve was the circle)
cyc=""
for h in user/front/*.h; do
	for inc in $(sed -n 's/^#include "front\/\(.*\)"/\1/p; s/^#include "\([a-z_]*\.h\)"/\1/p' "$h"); do
		[ -f "user/front/$inc" ] || continue
		grep -qE "#include \"(front/)?$(basename "$h")\"" "user/front/$inc" && cyc="$cyc $h<->$inc"
	done
done
expect_eq "front end headers: no include circle" "$cyc" ""
finish
