"""An HTTPS token endpoint for TLS tests: answers every POST with a Covata-shaped token.

Usage: tls_token_server.py CERT KEY [CLIENT_CA]. Prints the port it listens on (127.0.0.1, port 0), then serves.
With CLIENT_CA, a client certificate signed by it is required (mutual TLS).
"""
import http.server
import json
import signal
import ssl
import sys

# The test runner may start us with signals blocked; SIGTERM must stop us.
signal.pthread_sigmask(signal.SIG_UNBLOCK, range(1, signal.NSIG))


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        body = json.dumps({"access_token": "tls-token", "token_type": "bearer", "expires_in": 600,
                           "scope": "read", "jti": "tls-jti"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(sys.argv[1], sys.argv[2])
if len(sys.argv) > 3:
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_verify_locations(sys.argv[3])
server.socket = context.wrap_socket(server.socket, server_side=True)
print(server.server_address[1], flush=True)
server.serve_forever()
