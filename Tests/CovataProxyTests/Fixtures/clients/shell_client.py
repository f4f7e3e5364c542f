"""Runs curl or wget as a shell script would, and prints the same JSON summary as client.py.

Usage: shell_client.py curl|wget BASE_URL OPERATION [UPLOAD_FILE]. Both honour http_proxy from the environment.
"""
import json
import os
import subprocess
import sys
import tempfile

tool, base, operation = sys.argv[1], sys.argv[2], sys.argv[3]
upload = sys.argv[4] if len(sys.argv) > 4 else None
body_file = tempfile.mktemp()
POST_BODY = '{"name":"report.pdf","size":3}'


def curl(method, path, extra):
    status = subprocess.run(["curl", "-s", "-m", "60", "-X", method, "-o", body_file, "-w", "%{http_code}"] + extra
                            + [base + path], capture_output=True, text=True, check=True).stdout
    return int(status)


def wget(method, path, extra):
    result = subprocess.run(["wget", "-q", "-S", "--content-on-error", "--method=" + method, "-O", body_file] + extra
                            + [base + path], capture_output=True, text=True)
    statuses = [int(line.split()[1]) for line in result.stderr.splitlines() if line.strip().startswith("HTTP/")]
    return statuses[-1]


def summarise(status, path):
    with open(body_file, "rb") as file:
        body = file.read()
    os.remove(body_file)
    if "download" in path:
        return {"status": status, "bytes": len(body), "pattern": all(b == i % 251 for i, b in enumerate(body))}
    try:
        return {"status": status, "echo": json.loads(body)}
    except ValueError:
        return {"status": status}


call = curl if tool == "curl" else wget
if operation == "keepalive":
    urls = [base + "/api/v1/one", base + "/api/v1/two", base + "/api/v1/three"]
    if tool == "curl":
        out = subprocess.run(["curl", "-s", "-m", "60", "-o", "/dev/null", "-o", "/dev/null", "-o", "/dev/null", "-w", "%{http_code}\n"]
                             + urls, capture_output=True, text=True, check=True).stdout
        statuses = [int(s) for s in out.split()]
    else:
        result = subprocess.run(["wget", "-q", "-S", "-O", "/dev/null"] + urls, capture_output=True, text=True)
        statuses = [int(line.split()[1]) for line in result.stderr.splitlines() if line.strip().startswith("HTTP/")]
    print(json.dumps({"statuses": statuses}))
elif operation == "get":
    print(json.dumps(summarise(call("GET", "/api/v1/users/me?q=a%20b&x=1", []), "get")))
elif operation == "post":
    extra = (["-H", "Content-Type: application/json", "--data-binary", POST_BODY] if tool == "curl"
             else ["--header=Content-Type: application/json", "--body-data=" + POST_BODY])
    print(json.dumps(summarise(call("POST", "/api/v1/objects", extra), "post")))
elif operation == "upload":
    extra = ["-T", upload] if tool == "curl" else ["--body-file=" + upload]
    print(json.dumps(summarise(call("PUT", "/api/v1/upload", extra), "upload")))
elif operation == "download":
    print(json.dumps(summarise(call("GET", "/api/v1/download?size=5000000", []), "download")))
elif operation == "error":
    print(json.dumps(summarise(call("GET", "/api/v1/missing?status=404", []), "error")))
