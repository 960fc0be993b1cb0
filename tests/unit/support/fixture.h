/* Test fixtures (tests/fixtures) as host tests read them. */
#ifndef TESTS_UNIT_SUPPORT_FIXTURE_H
#define TESTS_UNIT_SUPPORT_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

/* tests/fixtures/NAME read whole into the heap, followed by `extra`
 * zeroed bytes (room for libfdt's edits: fdt_open_into(b, b, size +
 * extra)); *size gets the file's size. Fails the running cmocka test when
 * the file cannot be read. free() it. */
uint8_t *fixture_load(const char *name, size_t extra, size_t *size);

#endif
