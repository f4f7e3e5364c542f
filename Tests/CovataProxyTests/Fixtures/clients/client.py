"""A legacy tool written against Python's standard library, as its users would configure it.

Usage: client.py urllib|httpclient BASE_URL OPERATION [UPLOAD_FILE]
urllib honours http_proxy from the environment; http.client only talks to BASE_URL directly.
Prints one JSON object: the status and what came back.
"""
import http.client
import json
import sys
import urllib.error
import urllib.parse
import urllib.request

library, base, operation = sys.argv[1], sys.argv[2], sys.argv[3]
upload = sys.argv[4] if len(sys.argv) > 4 else None
REQUESTS = {
    "get": ("GET", "/api/v1/users/me?q=a%20b&x=1", None, {}),
    "post": ("POST", "/api/v1/objects", json.dumps({"name": "report.pdf", "size": 3}).encode(),
             {"Content-Type": "application/json"}),
    "upload": ("PUT", "/api/v1/upload", None, {"Content-Type": "application/octet-stream"}),
    "download": ("GET", "/api/v1/download?size=5000000", None, {}),
    "error": ("GET", "/api/v1/missing?status=404", None, {}),
}


def summarise(status, body, path):
    if "download" in path:
        ok = all(b == i % 251 for i, b in enumerate(body))
        return {"status": status, "bytes": len(body), "pattern": ok}
    try:
        return {"status": status, "echo": json.loads(body)}
    except ValueError:
        return {"status": status, "text": body.decode("latin-1")}


def with_urllib(method, path, body, headers):
    request = urllib.request.Request(base + path, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return summarise(response.status, response.read(), path)
    except urllib.error.HTTPError as error:
        return summarise(error.code, error.read(), path)


def with_httpclient(connection, method, path, body, headers):
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    return summarise(response.status, response.read(), path)


def connection():
    parsed = urllib.parse.urlsplit(base)
    return http.client.HTTPConnection(parsed.hostname, parsed.port or 80, timeout=60)


if operation == "keepalive":
    if library == "urllib":
        results = [with_urllib("GET", "/api/v1/" + n, None, {}) for n in ("one", "two", "three")]
    else:
        shared = connection()
        results = [with_httpclient(shared, "GET", "/api/v1/" + n, None, {}) for n in ("one", "two", "three")]
    print(json.dumps({"statuses": [r["status"] for r in results]}))
else:
    method, path, body, headers = REQUESTS[operation]
    if operation == "upload":
        with open(upload, "rb") as file:
            body = file.read()
    if library == "urllib":
        print(json.dumps(with_urllib(method, path, body, headers)))
    else:
        print(json.dumps(with_httpclient(connection(), method, path, body, headers)))
