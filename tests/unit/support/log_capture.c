/* The log as host tests read it back (log_capture.h). */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include "log_capture.h"

#include <lib/log.h>
#include <ringlight/types.h>
#include <stdbool.h>
#include <string.h>

static char captured[16384];
static size_t captured_len;
static bool capturing;

static void capture(const char *text, size_t len, void *ctx) {
  (void)ctx;
  size_t n = RL_MIN(len, sizeof(captured) - 1 - captured_len);
  memcpy(captured + captured_len, text, n);
  captured_len += n;
  captured[captured_len] = '\0';
}

void log_capture_clear(void) {
  captured_len = 0;
  captured[0] = '\0';
}

void log_capture_start(void) {
  if (!capturing) {
    assert_int_equal(klog_add_sink(capture, NULL), RL_OK);
    capturing = true;
  }
  log_capture_clear();
}

const char *log_capture_text(void) { return captured; }

const char *log_capture_replay(void) {
  log_capture_clear();
  if (capturing) {
    klog_remove_sink(capture, NULL);
  }
  assert_int_equal(klog_add_sink(capture, NULL), RL_OK);
  if (!capturing) {
    klog_remove_sink(capture, NULL);
  }
  return captured;
}
