/* The kernel's string functions (lib/string) against the host libc. */
/* cmocka.h needs these first, in this order. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <string.h>

#include <ringlight/types.h>

#include "kstring.h"

#define N 96

static int sign(int v) { return (v > 0) - (v < 0); }

static void fill(uint8_t *p, size_t n, unsigned seed) {
  for (size_t i = 0; i < n; i++) {
    p[i] = (uint8_t)(seed + i * 37u);
  }
}

static void test_memset(void **state) {
  (void)state;
  uint8_t a[N], b[N];
  for (size_t off = 0; off < 8; off++) {
    for (size_t len = 0; off + len <= N; len += 1 + len / 4) {
      fill(a, N, 1);
      fill(b, N, 1);
      /* Only the low byte of the value counts. */
      memset(a + off, 0x1c3, len); // NOLINT(bugprone-suspicious-memset-usage)
      assert_ptr_equal(kstr_memset(b + off, 0x1c3, len), b + off);
      assert_memory_equal(a, b, N);
    }
  }
}

static void test_memcpy(void **state) {
  (void)state;
  uint8_t src[N], a[N], b[N];
  fill(src, N, 7);
  for (size_t off = 0; off < 8; off++) {
    for (size_t len = 0; off + len <= N; len++) {
      memset(a, 0, N);
      memset(b, 0, N);
      memcpy(a + off, src, len);
      assert_ptr_equal(kstr_memcpy(b + off, src, len), b + off);
      assert_memory_equal(a, b, N);
    }
  }
}

/* Every overlap: source and destination offsets within one buffer. */
static void test_memmove(void **state) {
  (void)state;
  uint8_t a[N], b[N];
  for (size_t d = 0; d < 24; d++) {
    for (size_t s = 0; s < 24; s++) {
      for (size_t len = 0; len + RL_MAX(d, s) <= 48; len++) {
        fill(a, N, 3);
        fill(b, N, 3);
        memmove(a + d, a + s, len);
        assert_ptr_equal(kstr_memmove(b + d, b + s, len), b + d);
        assert_memory_equal(a, b, N);
      }
    }
  }
}

static void test_memcmp(void **state) {
  (void)state;
  uint8_t a[16], b[16];
  fill(a, 16, 0);
  fill(b, 16, 0);
  assert_int_equal(kstr_memcmp(a, b, 16), 0);
  assert_int_equal(kstr_memcmp(a, b, 0), 0);
  for (size_t i = 0; i < 16; i++) {
    static const uint8_t vals[] = {0x00, 0x01, 0x7f, 0x80, 0xff};
    for (size_t v = 0; v < sizeof(vals); v++) {
      fill(b, 16, 0);
      b[i] = vals[v];
      /* Bytes compare as unsigned char. */
      assert_int_equal(sign(kstr_memcmp(a, b, 16)), sign(memcmp(a, b, 16)));
      assert_int_equal(sign(kstr_memcmp(b, a, 16)), sign(memcmp(b, a, 16)));
      assert_int_equal(kstr_memcmp(a, b, i), 0);
    }
  }
}

static void test_strlen(void **state) {
  (void)state;
  static const char *strs[] = {"", "a", "hello", "with\xff high"};
  for (size_t i = 0; i < RL_ARRAY_SIZE(strs); i++) {
    assert_int_equal(kstr_strlen(strs[i]), strlen(strs[i]));
    for (size_t max = 0; max < 14; max++) {
      assert_int_equal(kstr_strnlen(strs[i], max), strnlen(strs[i], max));
    }
  }
  /* strnlen reads no further than max: not terminated. */
  char raw[4] = {'a', 'b', 'c', 'd'};
  assert_int_equal(kstr_strnlen(raw, 4), 4);
  assert_int_equal(kstr_strnlen(raw, 2), 2);
}

static void test_strcmp(void **state) {
  (void)state;
  static const char *strs[] = {"",    "a",       "b",       "ab",   "abc",
                               "abd", "abc\xff", "abc\x01", "\x80", "A"};
  for (size_t i = 0; i < RL_ARRAY_SIZE(strs); i++) {
    for (size_t j = 0; j < RL_ARRAY_SIZE(strs); j++) {
      assert_int_equal(sign(kstr_strcmp(strs[i], strs[j])),
                       sign(strcmp(strs[i], strs[j])));
      for (size_t n = 0; n < 6; n++) {
        assert_int_equal(sign(kstr_strncmp(strs[i], strs[j], n)),
                         sign(strncmp(strs[i], strs[j], n)));
      }
    }
  }
  /* strncmp stops at n: unterminated arrays are fine. */
  char x[3] = {'a', 'b', 'c'};
  char y[3] = {'a', 'b', 'd'};
  assert_int_equal(kstr_strncmp(x, y, 2), 0);
  assert_true(kstr_strncmp(x, y, 3) < 0);
}

static void test_strchr(void **state) {
  (void)state;
  const char *s = "path/to\xe9/file";
  assert_ptr_equal(kstr_strchr(s, '/'), strchr(s, '/'));
  assert_ptr_equal(kstr_strchr(s, 'e'), s + 12);
  assert_ptr_equal(kstr_strchr(s, 'z'), NULL);
  /* The terminator can be found; c is converted to char. */
  assert_ptr_equal(kstr_strchr(s, '\0'), s + strlen(s));
  assert_ptr_equal(kstr_strchr(s, 0xe9), strchr(s, 0xe9));
  assert_ptr_equal(kstr_strchr(s, 0x100 + '/'), strchr(s, 0x100 + '/'));
  assert_ptr_equal(kstr_strchr("", 'a'), NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_memset),  cmocka_unit_test(test_memcpy),
      cmocka_unit_test(test_memmove), cmocka_unit_test(test_memcmp),
      cmocka_unit_test(test_strlen),  cmocka_unit_test(test_strcmp),
      cmocka_unit_test(test_strchr),
  };
  return cmocka_run_group_tests_name("string", tests, NULL, NULL);
}
