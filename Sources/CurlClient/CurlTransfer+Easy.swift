import CCurl
import NIOCore

/// Creating, configuring and tearing down the easy handle. Worker-thread only.
extension CurlTransfer {
    static func from(easy: UnsafeMutableRawPointer) -> CurlTransfer? {
        var raw: UnsafeMutableRawPointer?
        guard cp_getinfo_private(easy, &raw) == CURLE_OK, let raw else { return nil }
        return Unmanaged<CurlTransfer>.fromOpaque(raw).takeUnretainedValue()
    }

    func makeEasyHandle(options: CurlClientOptions) -> UnsafeMutableRawPointer? {
        guard let easy = worker.workerIdleHandles.popLast() ?? curl_easy_init() else { return nil }
        workerEasy = easy
        let me = Unmanaged.passUnretained(self).toOpaque()
        var ok = true
        func set(_ result: CURLcode) { if result != CURLE_OK { ok = false } }

        set(Self.setURL(easy, request.url, request.urlSuffix))
        set(cp_setopt_ptr(easy, CURLOPT_PRIVATE, me))
        set(cp_setopt_long(easy, CURLOPT_NOSIGNAL, 1))
        // Forward the target byte-exact: no dot-segment squashing.
        set(cp_setopt_long(easy, CURLOPT_PATH_AS_IS, 1))
        set(cp_setopt_long(easy, CURLOPT_HTTP_VERSION, cp_http_version_1_1()))
        // Content-Encoding passes through untouched; transfer decoding stays on so chunking is re-framed by us.
        set(cp_setopt_long(easy, CURLOPT_HTTP_CONTENT_DECODING, 0))
        set(cp_setopt_long(easy, CURLOPT_FOLLOWLOCATION, 0))
        set(cp_setopt_long(easy, CURLOPT_CONNECTTIMEOUT_MS, request.connectTimeoutMilliseconds))
        set(cp_setopt_long(easy, CURLOPT_TIMEOUT_MS, request.totalTimeoutMilliseconds))
        set(cp_setopt_long(easy, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1))
        // An empty proxy string turns off libcurl's own http_proxy/https_proxy environment lookup.
        set(Self.setString(easy, CURLOPT_PROXY, options.egressProxy ?? ""))
        // Loopback never goes through the egress proxy: it would see plain-HTTP loopback traffic (the password
        // grant's form, the client secret, bearer tokens) that is allowed without TLS only because it stays here.
        // With no proxy the list is empty: curl walks it (an address parse per entry) on every transfer, and with
        // none set would read `no_proxy` from the environment instead.
        let noProxy = options.egressProxy == nil ? "" : CurlClientOptions.loopbackNoProxy
        set(Self.setString(easy, CURLOPT_NOPROXY, noProxy))
        configureTLS(easy, options: options, set: set)
        configureMethod(easy, set: set)

        set(cp_setopt_write(easy, CURLOPT_WRITEFUNCTION, curlWriteTrampoline))
        set(cp_setopt_ptr(easy, CURLOPT_WRITEDATA, me))
        set(cp_setopt_write(easy, CURLOPT_HEADERFUNCTION, curlHeaderTrampoline))
        set(cp_setopt_ptr(easy, CURLOPT_HEADERDATA, me))

        let list = makeHeaderList()
        workerHeaderList = list
        set(cp_setopt_slist(easy, CURLOPT_HTTPHEADER, list))
        guard ok else {
            releaseEasyHandle()
            return nil
        }
        return easy
    }

    /// A string option, from the string's own NUL-terminated storage: the implicit conversion copied each one into a
    /// new array first (three allocations a request). curl copies the string it is given.
    private static func setString(_ easy: UnsafeMutableRawPointer, _ option: CURLoption, _ value: String) -> CURLcode {
        value.withCString { cp_setopt_str(easy, option, $0) }
    }

    /// `base` and `suffix` as one C string, on the stack for the usual lengths: curl copies the URL it is given.
    private static func setURL(_ easy: UnsafeMutableRawPointer, _ base: String, _ suffix: String) -> CURLcode {
        guard !suffix.isEmpty else { return setString(easy, CURLOPT_URL, base) }
        let baseCount = base.utf8.count
        let count = baseCount + suffix.utf8.count
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: count + 1) { joined in
            _ = UnsafeMutableBufferPointer(rebasing: joined[..<baseCount]).initialize(from: base.utf8)
            _ = UnsafeMutableBufferPointer(rebasing: joined[baseCount..<count]).initialize(from: suffix.utf8)
            joined[count] = 0
            return joined.withMemoryRebound(to: CChar.self) { cp_setopt_str(easy, CURLOPT_URL, $0.baseAddress) }
        }
    }

    private func configureTLS(_ easy: UnsafeMutableRawPointer, options: CurlClientOptions, set: (CURLcode) -> Void) {
        if let caFile = options.caFile { set(Self.setString(easy, CURLOPT_CAINFO, caFile)) }
        if let cert = options.clientCertFile { set(Self.setString(easy, CURLOPT_SSLCERT, cert)) }
        if let key = options.clientKeyFile { set(Self.setString(easy, CURLOPT_SSLKEY, key)) }
        if options.insecureSkipVerify {
            set(cp_setopt_long(easy, CURLOPT_SSL_VERIFYPEER, 0))
            set(cp_setopt_long(easy, CURLOPT_SSL_VERIFYHOST, 0))
        }
    }

    private func configureMethod(_ easy: UnsafeMutableRawPointer, set: (CURLcode) -> Void) {
        let method = request.method
        if method == "HEAD" {
            // NOBODY, not CUSTOMREQUEST: curl must not wait for a body a HEAD answer never has.
            set(cp_setopt_long(easy, CURLOPT_NOBODY, 1))
            return
        }
        // UPLOAD alone would turn any method into PUT, so a body always names its method explicitly.
        if method != "GET" || !isBodyless { set(Self.setString(easy, CURLOPT_CUSTOMREQUEST, method)) }
        switch request.body {
        case .none:
            return
        case .bytes(let bytes):
            set(cp_setopt_long(easy, CURLOPT_UPLOAD, 1))
            set(cp_setopt_off(easy, CURLOPT_INFILESIZE_LARGE, curl_off_t(bytes.count)))
        case .stream(let length):
            set(cp_setopt_long(easy, CURLOPT_UPLOAD, 1))
            set(cp_setopt_off(easy, CURLOPT_INFILESIZE_LARGE, curl_off_t(length ?? -1)))
            set(cp_setopt_long(easy, CURLOPT_UPLOAD_BUFFERSIZE, uploadDepth))
        }
        set(cp_setopt_read(easy, CURLOPT_READFUNCTION, curlReadTrampoline))
        set(cp_setopt_ptr(easy, CURLOPT_READDATA, Unmanaged.passUnretained(self).toOpaque()))
    }

    private var isBodyless: Bool {
        if case .none = request.body { return true }
        return false
    }

    /// Gives the easy handle back to the worker, reset, for the next transfer (its connection stays in the multi
    /// handle's cache either way).
    func releaseEasyHandle() {
        if let easy = workerEasy {
            if worker.workerIdleHandles.count < CurlWorker.maxIdleHandles {
                curl_easy_reset(easy)
                worker.workerIdleHandles.append(easy)
            } else {
                curl_easy_cleanup(easy)
            }
        }
        workerEasy = nil
        if let list = workerHeaderList { Self.freeHeaderList(list) }
        workerHeaderList = nil
    }

    /// curl_easy_pause sets both directions at once, so always pass the full mirror.
    func applyPauseState() {
        guard let easy = workerEasy else { return }
        var mask: Int32 = 0
        if workerRecvPaused { mask |= CURLPAUSE_RECV }
        if workerSendPaused { mask |= CURLPAUSE_SEND }
        curl_easy_pause(easy, mask)
    }
}
