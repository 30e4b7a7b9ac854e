# tests/tools/feedlib.sh - a vendor's list server for the URL-set tests
# (tests/cli/feeds.sh, tests/e2e/feeds.sh), sourced after tests/lib.sh:
#   feed_pki DIR          a throwaway CA (DIR/ca.pem), a certificate for
#                         127.0.0.1 signed by it (DIR/srv.pem, srv.key), and
#                         another CA that did not sign it (DIR/other-ca.pem)
#   feed_server DIR WWW   serve WWW over HTTPS on 127.0.0.1 (tests/tools/
#                         feed_server.py); sets FEED_PORT, FEED_PID; stopped
#                         at exit (on_exit).  FEED_PORT set before: that port.
#   feed_stop             stop it now (the "server down" case)

feed_pki() {
	local d=$1
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
		-subj /CN=sluice-test-ca -keyout "$d/ca.key" -out "$d/ca.pem" 2>/dev/null &&
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
		-subj /CN=sluice-other-ca -keyout "$d/other-ca.key" -out "$d/other-ca.pem" 2>/dev/null &&
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=127.0.0.1 \
		-keyout "$d/srv.key" -out "$d/srv.csr" 2>/dev/null &&
	printf 'subjectAltName=IP:127.0.0.1\n' > "$d/srv.ext" &&
	openssl x509 -req -in "$d/srv.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
		-days 2 -extfile "$d/srv.ext" -out "$d/srv.pem" 2>/dev/null
}

feed_server() {
	local d=$1 www=$2
	rm -f "$d/port"
	FEED_PORT=${FEED_PORT:-0} python3 "$ROOT/tests/tools/feed_server.py" "$www" "$d/port" \
		"$d/srv.pem" "$d/srv.key" 2>"$d/server.err" &
	FEED_PID=$!
	on_exit "kill $FEED_PID"
	for _ in $(seq 100); do [ -s "$d/port" ] && break; sleep 0.05; done
	[ -s "$d/port" ] || return 1
	FEED_PORT=$(cat "$d/port")
}

feed_stop() {
	kill "$FEED_PID" 2>/dev/null
	wait "$FEED_PID" 2>/dev/null
	return 0
}
