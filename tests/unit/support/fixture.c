/* Test fixtures and log capture (fixture.h). */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include "fixture.h"

#include <stdio.h>
#include <stdlib.h>

#ifndef FIXTURES_DIR
#error "FIXTURES_DIR must name tests/fixtures (set by BUILD.gn)"
#endif

uint8_t *fixture_load(const char *name, size_t extra, size_t *size) {
  char path[512];
  (void)snprintf(path, sizeof(path), "%s/%s", FIXTURES_DIR, name);
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    fail_msg("cannot open %s", path);
  }
  assert_int_equal(fseek(f, 0, SEEK_END), 0);
  long n = ftell(f);
  assert_true(n > 0);
  rewind(f);
  uint8_t *data = calloc(1, (size_t)n + extra);
  assert_non_null(data);
  assert_int_equal(fread(data, 1, (size_t)n, f), (size_t)n);
  (void)fclose(f);
  *size = (size_t)n;
  return data;
}
