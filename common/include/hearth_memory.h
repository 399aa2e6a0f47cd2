/*  hearth_memory.h — the process's heap policy, and handing freed heap
    back to the OS after a big wave.

    A node that joins a big community allocates and frees in waves (a
    window of fetched events, their decoded copies on the verify threads,
    RocksDB's memtable arenas, a session's id lists of MiBs). Two glibc
    behaviours keep freed memory resident:
      - the mmap threshold adapts: after the first free of a mapped block
        (128 KiB default) it rises to that block's size (up to 32 MiB), so
        later blocks up to that size come from the heap and their pages
        stay resident after the free, between live chunks;
      - freed chunks in the middle of an arena stay resident until asked
        back (malloc_trim).
    hearth_memory_setup pins the threshold (large blocks always mapped, so
    a free returns them at once); hearth_memory_release trims after a
    wave. Together they take tens of MiB off the peak of an empty node
    joining a large community: docs/performance.md, "Join memory: the heap
    policy and the working set" (gossip_bench join, with and without
    BENCH_NO_MEMORY_SETUP).

    On a libc other than glibc (or under a sanitizer's allocator) both are
    no-ops.
*/
#ifndef HEARTH_MEMORY_H
#define HEARTH_MEMORY_H
#ifdef __cplusplus
extern "C" {
#endif

/*  Blocks of at least this many bytes that no free heap chunk fits are
    mmapped, and unmapped on free (glibc's default is 128 KiB, adapting
    upward to 32 MiB after frees; setting it pins it). The gossip hold
    blocks (1 MiB), Negentropy id lists and frame buffers and RocksDB's
    larger arena blocks are above it; events, store leaves and cached SST
    blocks (4 KiB) far below. */
#define HEARTH_MEMORY_MMAP_THRESHOLD  (256 * 1024)

/*  Set the heap policy for the process. Call once at the start of main,
    before any thread. Returns 0, or -1 if the C library refused it. */
int hearth_memory_setup (void);

/*  Give freed heap pages back to the OS (all arenas). Costs a walk of the
    free lists (milliseconds for a big heap): call after a wave, e.g. a
    stored window of fetched events, not per event. */
void hearth_memory_release (void);

#ifdef __cplusplus
}
#endif
#endif
