# Sourced by bench/cpu and bench/instructions, which measure covata-proxy alone against the same loopback setup:
# an nginx upstream answering with the Authorization header it got, covata-mock, and a proxy.json for one route.
# Everything started is stopped at exit, by process id.

# The folder of the shipped-style build (release, Swift runtime linked in), made if missing.
shipped_build() {
    local build=(-c release --static-swift-stdlib --experimental-lto-mode=full --build-path .build-static)
    # The two products only: the fuzz harnesses (Tests/Fuzz) build in debug or with -enable-testing.
    swift build "${build[@]}" --product covata-proxy >/dev/null
    swift build "${build[@]}" --product covata-mock >/dev/null
    swift build "${build[@]}" --show-bin-path
}

# Starts the upstream on port $1 (and over TLS on $1 + 4, with a self-signed certificate for localhost in
# $work/ca.pem) and covata-mock (from folder $2) on $1 + 1, and writes $work/proxy.json for a covata-proxy on $1 + 2:
# the defaults users run (access log on), or with $PROXY_LOG as its `log` object when set (PROXY_LOG='{"accessLog":
# false}' shows the log's own cost); with UPSTREAM_TLS_ROUTE=1 its route goes to the TLS upstream, verified against
# that CA file as users configure it. Sets work, pids, UPSTREAM, UPSTREAM_TLS, MOCK and PROXY.
bench_setup() {
    UPSTREAM=$1 MOCK=$(($1 + 1)) PROXY=$(($1 + 2)) UPSTREAM_TLS=$(($1 + 4))
    work="$(mktemp -d)"
    chmod 755 "$work"   # nginx workers run as an unprivileged user
    pids=()
    trap bench_cleanup EXIT
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost -keyout "$work/tls.key" \
        -out "$work/ca.pem" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null
    chmod 644 "$work/tls.key"
    cat >"$work/upstream.conf" <<CONF
worker_processes 1; daemon off; pid $work/upstream.pid; error_log $work/upstream.err;
events { worker_connections 4096; }
http { access_log off; server { listen 127.0.0.1:$UPSTREAM; keepalive_requests 100000;
    location / { default_type text/plain; return 200 "\$http_authorization\n"; } }
  server { listen 127.0.0.1:$UPSTREAM_TLS ssl; keepalive_requests 100000;
    ssl_certificate $work/ca.pem; ssl_certificate_key $work/tls.key; ssl_session_cache shared:TLS:1m;
    location / { default_type text/plain; return 200 "\$http_authorization\n"; } } }
CONF
    nginx -c "$work/upstream.conf" -p "$work" & pids+=($!)
    printf 'correct horse battery staple\n' >"$work/password"
    local upstream="http://127.0.0.1:$UPSTREAM" tls=""
    if [[ -n "${UPSTREAM_TLS_ROUTE:-}" ]]; then
        upstream="https://localhost:$UPSTREAM_TLS" tls=",
  \"tls\": { \"caFile\": \"$work/ca.pem\" }"
    fi
    cat >"$work/proxy.json" <<CONF
{ "routes": [{ "listen": "127.0.0.1:$PROXY", "upstream": "$upstream" }],
  "oauth": { "tokenURL": "http://127.0.0.1:$MOCK/api/oauth/token", "clientID": "exampleClientApplication",
    "clientSecret": "exampleClientApplicationSecret", "username": "svc-legacy@example.com",
    "password": { "file": "password" } }${tls}${PROXY_LOG:+,
  \"log\": $PROXY_LOG} }
CONF
    "$2/covata-mock" --port "$MOCK" --password-file "$work/password" >/dev/null & pids+=($!)
}

bench_cleanup() {
    # Processes started inside $(...) are listed in a file: a subshell's pids+=() does not reach here.
    [[ -f "$work/pids" ]] && while read -r pid; do pids+=("$pid"); done <"$work/pids"
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
