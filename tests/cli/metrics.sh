#!/usr/bin/env bash
# Metrics without root (README "Monitoring"): the shipped alerting rules pass
# promtool check rules and their unit tests (promtool test rules), the
# scrape config passes promtool check config, the Grafana dashboard is JSON
# whose queries name only families sluice exports, and the options'
# usage errors.  tests/e2e/metrics.sh runs the endpoint against Prometheus.
source "$(dirname "$0")/../lib.sh"
need_cmd jq promtool
S=${SLUICE_SAN:-$ROOT/build/sluice-san}
[ -x "$S" ] || S=$SLUICE
TMP=$(mktemp -d)
T_FINAL='rm -rf "$TMP"'
P=$ROOT/contrib/prometheus

check "promtool check rules contrib/prometheus/alerts.yml" \
	bash -c "promtool check rules '$P/alerts.yml' > '$TMP/out' 2>&1"
check "promtool test rules: every alert fires on its case and not on the others" \
	bash -c "cd '$P' && promtool test rules alerts_test.yml > '$TMP/out' 2>&1" || cat "$TMP/out"
sed "s|/etc/prometheus/sluice-alerts.yml|$P/alerts.yml|" "$P/prometheus.yml" > "$TMP/prometheus.yml"
check "promtool check config contrib/prometheus/prometheus.yml (alerts.yml in place)" \
	bash -c "promtool check config '$TMP/prometheus.yml' > '$TMP/out' 2>&1"

# the fleet: alerts per gateway, a scrape config with file service discovery
check "promtool check rules contrib/prometheus/fleet-alerts.yml" \
	bash -c "promtool check rules '$P/fleet-alerts.yml' > '$TMP/out' 2>&1"
check "promtool test rules: each fleet alert fires on its gateway only" \
	bash -c "cd '$P' && promtool test rules fleet-alerts_test.yml > '$TMP/out' 2>&1" || cat "$TMP/out"
sed -e "s|/etc/prometheus/sluice-alerts.yml|$P/alerts.yml|" \
	-e "s|/etc/prometheus/sluice-fleet-alerts.yml|$P/fleet-alerts.yml|" \
	-e "s|/etc/prometheus/sluice-gateways/\*.yml|$P/targets/*.yml|" "$P/fleet.yml" > "$TMP/fleet.yml"
check "promtool check config contrib/prometheus/fleet.yml (both alert files in place)" \
	bash -c "promtool check config '$TMP/fleet.yml' > '$TMP/out' 2>&1"
timeout 30 promtool check service-discovery --timeout=2s "$TMP/fleet.yml" sluice-gateways > "$TMP/sd.json" 2>/dev/null
expect_eq "file service discovery: the example targets are gateways with their site" \
	"$(jq -r '[.[].labels | .instance + " " + .site + " " + .job] | sort | join(",")' "$TMP/sd.json" 2>/dev/null)" \
	"gw-north-a.example.org:9731 north sluice-gateways,gw-north-b.example.org:9731 north sluice-gateways,gw-south-a.example.org:9731 south sluice-gateways,gw-south-b.example.org:9731 south sluice-gateways"
check "the Grafana dashboard is JSON with panels" bash -c "jq -e '.panels | length > 10' '$ROOT/contrib/grafana/sluice.json' > /dev/null"

# every sluice_* name the alerts and the dashboard use is a family prom.c (or, for URL sets,
# daemon/feeds.c) writes
grep -oh '"sluice_[a-z_]*"' "$ROOT/user/util/prom.c" "$ROOT/user/daemon/feeds.c" | tr -d '"' | sort -u > "$TMP/families"
{ jq -r '.panels[].targets[]?.expr' "$ROOT/contrib/grafana/sluice.json"; cat "$P/alerts.yml" "$P/fleet-alerts.yml"; } |
	grep -o 'sluice_[a-z_]*' | grep -v '^sluice_instance$' | sort -u > "$TMP/used"
# names agreed with the URL-set (issue 21) and hook-ownership (issue 20)
# work for fleet-alerts.yml: skipped, not failed, until sluice exports them
for f in sluice_feed_last_success_timestamp_seconds sluice_attachment_state; do
	if ! grep -qx "$f" "$TMP/families"; then
		skip "fleet-alerts.yml uses $f" "not exported yet (the name agreed with issues 20/21)"
		grep -vx "$f" "$TMP/used" > "$TMP/used2"; mv "$TMP/used2" "$TMP/used"
	fi
done
check "alerts and dashboard use only exported families ($(wc -l < "$TMP/used") names)" \
	bash -c "comm -23 '$TMP/used' '$TMP/families' | tee '$TMP/unknown' | grep -q . && { cat '$TMP/unknown'; exit 1; } || exit 0"

"$S" stats --format bogus > /dev/null 2> "$TMP/err"
expect_eq "stats --format bogus: exit 2" "$?" 2
check "stats --format bogus: says which formats there are" grep -q 'text, json or prometheus' "$TMP/err"
"$S" stats --format prometheus --json > /dev/null 2> "$TMP/err"
expect_eq "stats --format prometheus --json: exit 2" "$?" 2
"$S" apply "$ROOT/rules/examples/lab.rules" --metrics 9731 > /dev/null 2> "$TMP/err"
expect_eq "apply --metrics: exit 2 (an option of run)" "$?" 2
check "apply --metrics: says it is an option of run" grep -q 'option of sluice run' "$TMP/err"
for bad in nope 127.0.0.1: 127.0.0.1:0 127.0.0.1:65536 '[::1]' 300.1.1.1:80 host.example:80; do
	"$S" run "$ROOT/rules/examples/lab.rules" --dev lo --metrics "$bad" > /dev/null 2> "$TMP/err"
	expect_eq "run --metrics '$bad': exit 2" "$?" 2
done
check "run --help shows --metrics" bash -c "'$S' run --help 2>&1 | grep -q -- '--metrics ADDR:PORT'"
check "stats --help shows --format prometheus" bash -c "'$S' stats --help 2>&1 | grep -q -- 'prometheus'"
finish
