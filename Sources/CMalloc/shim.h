#ifndef COVATA_CMALLOC_SHIM_H
#define COVATA_CMALLOC_SHIM_H

// glibc's heap statistics and trim, which its Swift module map leaves out. Swift cannot call `mallinfo2()` by name
// (it imports the struct of the same name in its place), hence the two small functions. Elsewhere (Darwin, musl)
// they report nothing to return and return nothing.

#include <stddef.h>
#include <stdlib.h>

#if defined(__GLIBC__)
#include <malloc.h>

/// Bytes in free chunks malloc holds in all arenas, resident or not.
static inline size_t covata_heap_free_bytes(void) {
    struct mallinfo2 info = mallinfo2();
    return info.fordblks;
}

/// Returns every whole free page of every arena to the kernel; 1 if any was returned.
static inline int covata_heap_trim(void) { return malloc_trim(0); }
#else
static inline size_t covata_heap_free_bytes(void) { return 0; }
static inline int covata_heap_trim(void) { return 0; }
#endif

#endif
