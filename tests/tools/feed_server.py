#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
# tests/tools/feed_server.py - the vendor's list server of tests/e2e/feeds.sh
# and tests/cli/feeds.sh: HTTPS (or HTTP) on 127.0.0.1 only, serving the files
# of DIR as they are at each request (the test edits them between fetches).
#   DIR/NAME            the body of /NAME (200), with an ETag of its content;
#                       If-None-Match with that ETag gets 304
#   DIR/NAME.status     another status code for /NAME (e.g. 500)
#   DIR/NAME.location   a 302 to that URL instead
#   DIR/NAME.stall      answer only after that many seconds (a stalled vendor)
# Listens on $FEED_PORT (default: any free port) and writes the port to PORTFILE; logs one line per request
# ("GET /NAME 200 inm=...") to DIR/requests.log.
# usage: feed_server.py DIR PORTFILE [CERT KEY]
import hashlib, http.server, os, ssl, sys, time

root, portfile = sys.argv[1], sys.argv[2]

class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_GET(self):
        name = os.path.basename(self.path.split('?')[0])
        path = os.path.join(root, name)
        inm = self.headers.get('If-None-Match', '-')
        status, body, hdrs = 404, b'not found\n', {}
        if name and os.path.exists(path + '.stall'):
            with open(os.path.join(root, 'requests.log'), 'a') as f:
                f.write('STALL /%s\n' % name)
            time.sleep(float(open(path + '.stall').read() or '30'))
        if name and os.path.exists(path + '.location'):
            status, body = 302, b''
            hdrs['Location'] = open(path + '.location').read().strip()
        elif name and os.path.isfile(path):
            body = open(path, 'rb').read()
            etag = '"%s"' % hashlib.sha256(body).hexdigest()[:16]
            hdrs['ETag'] = etag
            status = 200
            if os.path.exists(path + '.status'):
                status = int(open(path + '.status').read())
            elif inm == etag:
                status, body = 304, b''
        with open(os.path.join(root, 'requests.log'), 'a') as f:
            f.write('GET /%s %d inm=%s\n' % (name, status, inm))
        self.send_response(status)
        for k, v in hdrs.items():
            self.send_header(k, v)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        if status != 304:
            self.wfile.write(body)

srv = http.server.ThreadingHTTPServer(('127.0.0.1', int(os.environ.get('FEED_PORT', '0'))), H)
if len(sys.argv) > 4:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[3], sys.argv[4])
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
with open(portfile + '.tmp', 'w') as f:
    f.write(str(srv.server_address[1]))
os.rename(portfile + '.tmp', portfile)
srv.serve_forever()
