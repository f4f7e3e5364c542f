import CCurl
import ProxySupport

/// The request's header list for `CURLOPT_HTTPHEADER`, built in one allocation: curl_slist_append makes two per
/// line (node and copy), and a small request has half a dozen lines. curl only reads the list, and it must outlive
/// the transfer, so it is freed with the easy handle. Worker-thread only.
extension CurlTransfer {
    func makeHeaderList() -> UnsafeMutablePointer<curl_slist> {
        // A nil value suppresses a header curl would add by itself ("Name:"). We answer a client's 100-continue
        // ourselves, so curl must not wait for one from the upstream; and it must not invent an Accept. Both come
        // after the request's own lines, without copying those into a new list (it cost two array allocations).
        let headers = request.headers
        let suppressed = headers.contains(where: { $0.name.equalsIgnoringASCIICase("accept") }) ? 1 : 2
        let count = headers.count + suppressed
        func line(_ index: Int) -> (name: String, value: String?) {
            if index < headers.count { return (headers[index].name, headers[index].value) }
            return (index == headers.count ? "Expect" : "Accept", nil)
        }

        // "Name: value", "Name;" for an empty value ("Name:" would suppress it), or "Name:"; each ends in NUL.
        var textBytes = 0
        for index in 0..<count {
            let (name, value) = line(index)
            textBytes += name.utf8.count + 1 + (value.map { $0.isEmpty ? 0 : 1 + $0.utf8.count } ?? 0) + 1
        }
        let nodeBytes = MemoryLayout<curl_slist>.stride * count
        let block = UnsafeMutableRawPointer.allocate(
            byteCount: nodeBytes + textBytes, alignment: MemoryLayout<curl_slist>.alignment)
        let nodes = block.bindMemory(to: curl_slist.self, capacity: count)
        let text = (block + nodeBytes).bindMemory(to: CChar.self, capacity: textBytes)
        var cursor = UnsafeMutableRawPointer(text)
        func put(_ byte: UInt8) {
            cursor.storeBytes(of: byte, as: UInt8.self)
            cursor += 1
        }
        func put(_ string: String) {
            // No closure here: one that captured `cursor` made every call check exclusive access at run time.
            let count = string.utf8.count
            UnsafeMutableRawBufferPointer(start: cursor, count: count).copyBytes(from: string.utf8)
            cursor += count
        }
        for index in 0..<count {
            let (name, value) = line(index)
            let start = cursor.assumingMemoryBound(to: CChar.self)
            put(name)
            switch value {
            case nil: put(UInt8(ascii: ":"))
            case let value? where value.isEmpty: put(UInt8(ascii: ";"))
            case let value?:
                put(UInt8(ascii: ":"))
                put(UInt8(ascii: " "))
                put(value)
            }
            put(0)
            let next = index + 1 < count ? nodes + index + 1 : nil
            (nodes + index).initialize(to: curl_slist(data: start, next: next))
        }
        return nodes
    }

    static func freeHeaderList(_ list: UnsafeMutablePointer<curl_slist>) {
        UnsafeMutableRawPointer(list).deallocate()
    }
}
