#ifndef JOBRULES_CSYSTEM_H
#define JOBRULES_CSYSTEM_H

#include <stddef.h>

/// Turns a bus error on a byte of [base, base + length) — a mapped file cut
/// short in place by another program — into `message` on standard error and
/// exit status `status`, instead of a crash. Other bus errors keep their
/// previous handling. One region at a time: a new call replaces the last.
/// Returns 0, or -1 when the handler could not be installed.
int jr_guard_mapping(const void *base, size_t length, const char *message, int status);

/// Stops guarding the region that starts at `base` (before it is unmapped).
void jr_unguard_mapping(const void *base);

/// Asks the kernel to start writing [offset, offset + length) of `fd` back to
/// disk without waiting (sync_file_range, which Swift's Glibc module leaves out).
/// Returns 0 or -1 with errno set.
int jr_start_writeback(int fd, long long offset, long long length);

/// glibc's memmem (linear), which Swift's Glibc module leaves out: the first
/// occurrence of [needle, needle + needle_length) in [haystack, haystack +
/// length), or NULL.
const void *jr_memmem(const void *haystack, size_t length, const void *needle, size_t needle_length);

#endif
