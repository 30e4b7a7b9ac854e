#!/usr/bin/env bash
# The statistics of the gateway benchmark (scripts/bench-gateway.jq) and its
# verdicts (scripts/bench-report), on synthetic rounds: comparisons pair rows
# of the same round (a drift common to a round cancels), the interval is the
# sign test's order statistics, and a target is "met" only when the interval
# says so and the calibration row is resolved.
source "$(dirname "$0")/../lib.sh"
cd "$ROOT"
command -v jq >/dev/null || { echo "SKIP bench stats: no jq"; exit 0; }
T=$(mktemp -d); on_exit "rm -rf '$T'"
expect_grep() {   # NAME TEXT REGEX
	if grep -qE -- "$3" <<<"$2"; then pass "$1"; else fail "$1" "no line matches /$3/"; fi
}

# rounds R with a drift factor f (0.6-1.4) shared by every row of the round:
# ROW COST -> raw lines (cost in ns per packet, times f)
raw() {   # NROUNDS ROW:COST...
	local n=$1; shift
	for r in $(seq "$n"); do
		f=$(awk -v r="$r" 'BEGIN { srand(r * 7); printf "%.3f", 0.6 + 0.8 * rand() }')
		for rc in "$@"; do
			echo "{\"size\":\"sv\",\"round\":$r,\"row\":\"${rc%%:*}\",\"traffic\":\"hot\",\"sent\":6400,\"wall_ns\":50000000,\"cpu_ns\":12800000,\"ksoftirqd_ns\":0,\"batches\":100,\"batch_med_ns\":$(awk -v c="${rc#*:}" -v f="$f" 'BEGIN { print c * f }'),\"batch_p25_ns\":1}"
		done
	done
}
setup='{"section":"gw_setup","size":"sv","ruleset":"test","orig_ns":60,"variant_ns":160,"extra_ns":100,"sent":1,"received":1,"rows":[]}'
stats() { jq -sc --slurpfile setup <(echo "$setup") -f scripts/bench-gateway.jq "$1"; }

raw 12 none:2000 empty-tcx:2020 sluice-tcx:2040 sluice-cal:2140 > "$T/a.raw"
stats "$T/a.raw" > "$T/a.json"
r=$(jq -r '.pairs[] | select(.a == "sluice-tcx" and .b == "empty-tcx") | "\(.cpu_ratio.lo * 1000 | round) \(.cpu_ratio.hi * 1000 | round) \(.cpu_ratio.n)"' "$T/a.json")
expect_eq "bench stats: a drift shared by a round cancels in its ratio" "$r" "1010 1010 12"
d=$(jq -sr '[.[] | select(.row == "sluice-tcx") | .batch_med_ns] | max / min > 1.3' "$T/a.raw")
expect_eq "bench stats: (the rounds themselves drift by over 30 %)" "$d" "true"

# the interval: n = 10 -> [x(2), x(9)], coverage 1 - 2 * 11/1024
for r in $(seq 10); do
	v=$(( (r * 7) % 10 + 1 ))
	echo "{\"size\":\"sv\",\"round\":$r,\"row\":\"a\",\"traffic\":\"hot\",\"sent\":1,\"wall_ns\":1,\"cpu_ns\":1,\"ksoftirqd_ns\":0,\"batches\":1,\"batch_med_ns\":$v,\"batch_p25_ns\":1}"
	echo "{\"size\":\"sv\",\"round\":$r,\"row\":\"b\",\"traffic\":\"hot\",\"sent\":1,\"wall_ns\":1,\"cpu_ns\":1,\"ksoftirqd_ns\":0,\"batches\":1,\"batch_med_ns\":1,\"batch_p25_ns\":1}"
done > "$T/b.raw"
ci=$(jq -sc '[.[] | select(.row == "a") | .batch_med_ns] | sort' "$T/b.raw")
expect_eq "bench stats: ten distinct values" "$ci" "[1,2,3,4,5,6,7,8,9,10]"
# (pairs are fixed: compute the interval through a stand-in pair name)
sed -i 's/"row":"a"/"row":"sluice-tcx"/; s/"row":"b"/"row":"empty-tcx"/' "$T/b.raw"
ci=$(stats "$T/b.raw" | jq -r '.pairs[] | select(.a == "sluice-tcx" and .b == "empty-tcx") | .cpu_ratio | "\(.lo) \(.hi) \(.med) \(.conf * 1024 | round)"')
expect_eq "bench stats: sign-test interval of 10 rounds is [x(2), x(9)]" "$ci" "2 9 5.5 1002"

# verdicts: resolved calibration, sluice 1 % over the empty program -> met;
# the same without a resolved calibration -> not resolved
report() {
	jq -n --slurpfile g "$1" '{machine:{cpu:"t",cpus:2,kernel:"k",git:"g",date:"d",runs:1,bench_seconds:1},
		per_packet:[], scale:[], gateway:$g, replace:[], free:[], scrape:[], verify:[], apply:[],
		shared:[], learner:[], inpath:[], events:[]}' > "$T/r.json"
	scripts/bench-report "$T/r.json"
}
out=$(report "$T/a.json")
expect_grep "bench report: calibration resolved" "$out" "gateway calibration.*| resolved |"
expect_grep "bench report: within 3 %: met" "$out" "within 3 % of the empty program at the same hook, test, hot .*| met |"
raw 12 none:2000 empty-tcx:2020 sluice-tcx:2040 sluice-cal:2040 > "$T/c.raw"
stats "$T/c.raw" > "$T/c.json"
out=$(report "$T/c.json")
expect_grep "bench report: calibration not resolved" "$out" "gateway calibration.*not resolved"
expect_grep "bench report: no verdict without calibration" "$out" "within 3 %.*not resolved \\(calibration\\)"
finish
