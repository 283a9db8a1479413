/* SPDX-License-Identifier: BSD-2-Clause */
/* Shared by the fuzz targets: the libFuzzer entry point and a private
 * temporary file for parsers that read a path. */
#ifndef PCL_FUZZ_H
#define PCL_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* The libFuzzer entry point every fuzz_*.c defines: consumes size bytes
 * of data, returns 0. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Writes size bytes of data to a fresh 0600 file in $TMPDIR (or /tmp) and
 * copies its path to path (pathlen bytes). Returns 0, or -1 (the target
 * then skips the input). The caller unlinks the file.
 */
int fuzz_tmpfile(const uint8_t *data, size_t size, char *path,
                 size_t pathlen);

#endif /* PCL_FUZZ_H */
