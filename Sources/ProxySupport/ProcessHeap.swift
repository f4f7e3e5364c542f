import CMalloc

/// The process's malloc heap, for giving freed memory back after a peak (see `HeapScavenger`). glibc returns
/// memory to the kernel only from the top of each arena, so what a burst of connections or uploads freed in the
/// middle stays resident until trimmed; on systems without glibc both report nothing.
package enum ProcessHeap {
    /// Bytes in free chunks malloc holds, resident or already returned (a trim does not change it: the chunks stay
    /// malloc's, only their pages go back).
    package static var freeBytes: Int { Int(covata_heap_free_bytes()) }

    /// Returns the whole free pages of every arena to the kernel. It walks the heap under each arena's lock, so it
    /// belongs off the event loops and not on every request. - Returns: whether any page was returned.
    @discardableResult
    package static func returnFreePages() -> Bool { covata_heap_trim() == 1 }
}
