/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests of the bounded byte FIFO the relay moves session data with. */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "portcullis/buf.h"
#include "portcullis/err.h"

static void
test_bounds(void **state)
{
    struct pcl_buf *b = NULL;
    uint8_t data[10] = "0123456789";

    (void)state;
    assert_int_equal(pcl_buf_new(0, &b), PCL_ERR_INVAL);
    assert_null(b);
    assert_int_equal(pcl_buf_new(8, &b), PCL_OK);
    assert_int_equal(pcl_buf_room(b), 8);
    assert_int_equal(pcl_buf_put(b, data, 9), PCL_ERR_TOOBIG);
    assert_int_equal(pcl_buf_len(b), 0);
    assert_int_equal(pcl_buf_put(b, data, 6), PCL_OK);
    assert_int_equal(pcl_buf_room(b), 2);
    pcl_buf_consume(b, 4);
    assert_memory_equal(pcl_buf_ptr(b), "45", 2);
    /* Appending past the tail compacts instead of failing. */
    assert_int_equal(pcl_buf_put(b, data, 6), PCL_OK);
    assert_int_equal(pcl_buf_len(b), 8);
    assert_memory_equal(pcl_buf_ptr(b), "45012345", 8);
    assert_int_equal(pcl_buf_put(b, data, 1), PCL_ERR_TOOBIG);
    pcl_buf_consume(b, 100);
    assert_int_equal(pcl_buf_len(b), 0);
    pcl_buf_free(b);
    pcl_buf_free(NULL);
}

/* pcl_buf_tail_room: what fits after the held bytes; the held bytes move
 * to the front only once half the buffer or more was consumed. */
static void
test_tail_room(void **state)
{
    struct pcl_buf *b = NULL;
    uint8_t data[8] = "abcdefgh";
    const uint8_t *first;

    (void)state;
    assert_int_equal(pcl_buf_new(8, &b), PCL_OK);
    assert_int_equal(pcl_buf_tail_room(b), 8);
    assert_int_equal(pcl_buf_put(b, data, 8), PCL_OK);
    assert_int_equal(pcl_buf_tail_room(b), 0);
    first = pcl_buf_ptr(b);
    /* A quarter consumed: room exists, but not after the tail, and
     * nothing moves. */
    pcl_buf_consume(b, 2);
    assert_int_equal(pcl_buf_room(b), 2);
    assert_int_equal(pcl_buf_tail_room(b), 0);
    assert_ptr_equal(pcl_buf_ptr(b), first + 2);
    /* Half consumed: the held bytes move to the front once. */
    pcl_buf_consume(b, 2);
    assert_int_equal(pcl_buf_tail_room(b), 4);
    assert_ptr_equal(pcl_buf_ptr(b), first);
    assert_memory_equal(pcl_buf_ptr(b), "efgh", 4);
    assert_int_equal(pcl_buf_put(b, data, 4), PCL_OK);
    assert_memory_equal(pcl_buf_ptr(b), "efghabcd", 8);
    assert_int_equal(pcl_buf_tail_room(b), 0);
    pcl_buf_free(b);
}

/* Bytes written at the tail but not committed (the relay's read that the
 * recording refused) are never held, read or written out. */
static void
test_uncommitted_tail(void **state)
{
    struct pcl_buf *b = NULL;
    int p[2];
    char out[16];

    (void)state;
    assert_int_equal(pipe(p), 0);
    assert_int_equal(pcl_buf_new(8, &b), PCL_OK);
    assert_int_equal(pcl_buf_put(b, "ab", 2), PCL_OK);
    assert_int_equal(pcl_buf_tail_room(b), 6);
    memcpy(pcl_buf_tail(b), "SECRET", 6);
    assert_int_equal(pcl_buf_len(b), 2);
    assert_int_equal(pcl_buf_write_fd(b, p[1]), 2);
    assert_int_equal(pcl_buf_len(b), 0);
    close(p[1]);
    assert_int_equal(read(p[0], out, sizeof(out)), 2);
    assert_memory_equal(out, "ab", 2);
    close(p[0]);
    /* Committed, they are held like put bytes. */
    memcpy(pcl_buf_tail(b), "xyz", 3);
    pcl_buf_commit(b, 3);
    assert_int_equal(pcl_buf_len(b), 3);
    assert_memory_equal(pcl_buf_ptr(b), "xyz", 3);
    pcl_buf_free(b);
}

static void
test_fd_io(void **state)
{
    struct pcl_buf *b = NULL;
    int p[2];
    char out[16];

    (void)state;
    assert_int_equal(pipe(p), 0);
    assert_int_equal(pcl_buf_new(4, &b), PCL_OK);
    assert_int_equal(write(p[1], "abcdefgh", 8), 8);
    /* One read never takes more than the room left. */
    assert_int_equal(pcl_buf_read_fd(b, p[0]), 4);
    assert_int_equal(pcl_buf_read_fd(b, p[0]), -1);
    assert_int_equal(errno, ENOBUFS);
    assert_int_equal(pcl_buf_write_fd(b, p[1]), 4);
    assert_int_equal(pcl_buf_len(b), 0);
    assert_int_equal(read(p[0], out, sizeof(out)), 8);
    assert_memory_equal(out, "efghabcd", 8);
    close(p[1]);
    assert_int_equal(pcl_buf_read_fd(b, p[0]), 0);
    close(p[0]);
    pcl_buf_free(b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_tail_room),
        cmocka_unit_test(test_uncommitted_tail),
        cmocka_unit_test(test_fd_io),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
