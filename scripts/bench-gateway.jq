# scripts/bench-gateway.jq - the statistics of the gateway benchmark
# (scripts/bench-gateway): input the raw floods (one object per row, traffic
# and round), $setup the setup lines; output one "gateway" object per
# ruleset and traffic.  Every comparison is a pair of rows in the same
# round: the per-round ratio, its median over the rounds and a
# distribution-free interval of >= 95 % (order statistics of the sign test:
# [x(j), x(n+1-j)] with 2 P(Binom(n, 1/2) < j) <= 0.05), or the range when
# there are fewer than 6 rounds.
def med: sort | if length == 0 then null elif length % 2 == 1 then .[length / 2 | floor]
	else (.[length / 2 - 1] + .[length / 2]) / 2 end;
def ci: sort as $v | ($v | length) as $n |
	(reduce range(0; $n) as $i ({c: 1, s: 0, j: 0};
		if 2 * (.s + .c) / pow(2; $n) <= 0.05 then {c: (.c * ($n - $i) / ($i + 1)), s: (.s + .c), j: ($i + 1)}
		else . end)) as $st |
	if $n == 0 then null
	elif $st.j == 0 then {med: ($v | med), lo: $v[0], hi: $v[$n - 1], n: $n, conf: null}
	else {med: ($v | med), lo: $v[$st.j - 1], hi: $v[$n - $st.j], n: $n,
	      conf: (1 - 2 * $st.s / pow(2; $n))} end;
[["sluice-tcx", "empty-tcx"], ["sluice-clsact", "empty-clsact"], ["sluice-xdp", "empty-xdp"],
 ["sluice-cal", "sluice-tcx"], ["sluice-tcx", "ipset"], ["sluice-tcx", "nft"],
 ["sluice-clsact", "ipset"], ["sluice-clsact", "nft"],
 ["empty-tcx", "none"], ["empty-clsact", "none"], ["sluice-tcx", "none"], ["sluice-clsact", "none"],
 ["sluice-cal", "none"], ["empty-xdp", "none"], ["sluice-xdp", "none"], ["nft", "none"], ["ipset", "none"]] as $pairs |
map(select(.sent > 0 and .batches > 0) | . + {pps: (.sent / .wall_ns * 1e9), cpp: .batch_med_ns, cpt: (.cpu_ns / .sent)}) |
group_by([.size, .traffic])[] | . as $g | $g[0].size as $size |
($setup | map(select(.size == $size)) | first) as $st |
{section: "gateway", size: $size, ruleset: $st.ruleset, traffic: $g[0].traffic,
 sent: $st.sent, received: $st.received,
 not_measured: [($st.rows // [])[] | select(.verdicts != "ok")],
 calibration_test_run: {sluice_ns: $st.orig_ns, cal_ns: $st.variant_ns, extra_ns: $st.extra_ns},
 rows: [$g | group_by(.row)[] | .[0].row as $r |
	{row: $r, rounds: length, pps: (map(.pps) | med), cpu_ns_per_pkt: (map(.cpp) | med),
	 cpu_total_ns_per_pkt: (map(.cpt) | med), ksoftirqd_share: ((map(.ksoftirqd_ns) | add) / (map(.cpu_ns) | add))} +
	(($st.rows // []) | map(select(.row == $r)) | first // {} | {setup_ms, elements, verdicts})],
 pairs: [$pairs[] as [$a, $b] |
	[$g[] | select(.row == $a)] as $A | [$g[] | select(.row == $b)] as $B |
	[$A[] as $x | $B[] | select(.round == $x.round) |
	 {p: ($x.pps / .pps), c: ($x.cpp / .cpp), d: ($x.cpp - .cpp), t: ($x.cpt / .cpt)}] as $v |
	select($v | length > 0) |
	{a: $a, b: $b, pps_ratio: ($v | map(.p) | ci), cpu_ratio: ($v | map(.c) | ci),
	 cpu_diff_ns: ($v | map(.d) | ci), cpu_total_ratio: ($v | map(.t) | ci)}]}
