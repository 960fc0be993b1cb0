/* rl_snprintf against the host's snprintf, and rl_status_str. */
/* cmocka.h needs these first, in this order. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <ringlight/status.h>

#include <lib/fmt.h>

#define BUF 512
#define CANARY 0x5a

static unsigned long checks;

/* Formats with both, into buffers of several sizes, and compares the
 * return value, the text and the bytes past `size` (must be untouched). */
static void vcheck(const char *fmt, va_list ap, bool all_sizes) {
  char want[BUF], got[BUF];
  va_list a1, a2;

  va_copy(a1, ap);
  /* The analyzer loses track of a va_list parameter. */
  // NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized)
  int want_n = vsnprintf(want, sizeof(want), fmt, a1);
  va_end(a1);
  assert_true(want_n >= 0 && want_n < BUF);

  size_t sizes[] = {
      BUF, 0, 1, 2, (size_t)want_n, (size_t)want_n + 1, (size_t)want_n / 2 + 1};
  size_t nsizes = all_sizes ? RL_ARRAY_SIZE(sizes) : 3;
  for (size_t i = 0; i < nsizes; i++) {
    size_t size = sizes[i];
    memset(want, CANARY, sizeof(want));
    memset(got, CANARY, sizeof(got));
    va_copy(a1, ap);
    va_copy(a2, ap);
    int wn = vsnprintf(want, size, fmt, a1);
    int gn = rl_vsnprintf(got, size, fmt, a2);
    va_end(a1);
    va_end(a2);
    if (wn != gn || memcmp(want, got, sizeof(want)) != 0) {
      print_error("format \"%s\" size %zu: want %d \"%.*s\" got %d \"%.*s\"\n",
                  fmt, size, wn, (int)RL_MIN(size, (size_t)wn), want, gn,
                  (int)RL_MIN(size, (size_t)(gn < 0 ? 0 : gn)), got);
      fail();
    }
    checks++;
  }
}

static void check(const char *fmt, ...) RL_PRINTF(1, 2);
static void check(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vcheck(fmt, ap, true);
  va_end(ap);
}

/* Same, for formats built at run time (no compile-time format check). */
static void check_dyn(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vcheck(fmt, ap, false);
  va_end(ap);
}

static void expect(const char *want, const char *fmt, ...) {
  char got[BUF];
  va_list ap;
  va_start(ap, fmt);
  int n = rl_vsnprintf(got, sizeof(got), fmt, ap);
  va_end(ap);
  assert_string_equal(got, want);
  assert_int_equal(n, (int)strlen(want));
}

static void test_plain(void **state) {
  (void)state;
  check("");
  check("hello, world");
  check("100%% sure %%");
  check("%d", 0);
  check("%d%d%d", 1, 2, 3);
  check("a%sb%cc%dd", "xyz", 'Q', -42);
}

static void test_integers(void **state) {
  (void)state;
  static const int ints[] = {0,     1,      -1,      7,       -7,   42,
                             99999, -99999, INT_MAX, INT_MIN, 0x7f, 0x12345678};
  for (size_t i = 0; i < RL_ARRAY_SIZE(ints); i++) {
    int v = ints[i];
    check("%d|%i|%u|%x|%X|%o", v, v, (unsigned)v, (unsigned)v, (unsigned)v,
          (unsigned)v);
    check("[%5d] [%-5d] [%05d] [%+d] [% d] [%+05d] [%-+6d] [% 07d]", v, v, v, v,
          v, v, v, v);
    check("[%.0d] [%.1d] [%.5d] [%8.3d] [%-8.3d] [%08.3d] [%+.4d]", v, v, v, v,
          v, v, v);
    check("[%#x] [%#X] [%#o] [%#10x] [%#-10o] [%#010x] [%#.0x] [%#.0o]",
          (unsigned)v, (unsigned)v, (unsigned)v, (unsigned)v, (unsigned)v,
          (unsigned)v, (unsigned)v, (unsigned)v);
    check("[%*d] [%-*d] [%.*d] [%*.*d]", 9, v, 9, v, 4, v, 12, 6, v);
    check("[%*d] [%.*d]", -9, v, -4, v); /* negative: '-' / no precision */
  }
}

static void test_lengths(void **state) {
  (void)state;
  check("%hhd %hhu %hhx", (signed char)-128, (unsigned char)255,
        (unsigned char)0xab);
  check("%hd %hu %hx", (short)-32768, (unsigned short)65535,
        (unsigned short)0xbeef);
  check("%ld %lu %lx", LONG_MIN, ULONG_MAX, 0xfeedfacecafebeefUL);
  check("%lld %llu %llo", LLONG_MIN, ULLONG_MAX, 01777777777777777777777ULL);
  check("%zu %zx %zd", SIZE_MAX, (size_t)0x1000, (ptrdiff_t)-5);
  check("%td %tx %tu", (ptrdiff_t)PTRDIFF_MIN, (ptrdiff_t)0x7fff,
        (ptrdiff_t)12);
  check("%jd %ju %jX", INTMAX_MIN, UINTMAX_MAX, (uintmax_t)0xABCDEF);
  check("%-20lld|%020llu|%+.25lld", -1LL, 12345ULL, 987654321LL);
  check("%#llo %#llx %#.30llx", 0ULL, ~0ULL, 1ULL);
}

/* hh and h with int arguments that do not fit: both truncate. */
static void test_narrowing(void **state) {
  (void)state;
  static const int vals[] = {300, -300, 65537, -65537, 0x1ff, 0x12345};
  for (size_t i = 0; i < RL_ARRAY_SIZE(vals); i++) {
    check_dyn("%hhd %hhu %hhx %hd %hu %ho", vals[i], vals[i], vals[i], vals[i],
              vals[i], vals[i]);
  }
}

/* Every flag set, several widths and precisions, each conversion and each
 * length modifier, generated. */
static void test_flag_matrix(void **state) {
  (void)state;
  static const char flag_chars[] = "-0#+ ";
  static const char *widths[] = {"", "1", "6", "21"};
  static const char *precs[] = {"", ".", ".0", ".1", ".4", ".23"};
  static const char *lens[] = {"", "hh", "h", "l", "ll", "z", "t", "j"};
  static const char convs[] = "diuxXo";
  static const long long vals[] = {
      0, 1, -1, 8, -255, 4096, 0x7fffffffLL, LLONG_MIN, LLONG_MAX};

  for (unsigned fl = 0; fl < 32; fl++) {
    char flags[8];
    size_t nf = 0;
    for (unsigned b = 0; b < 5; b++) {
      if (fl & (1u << b)) {
        flags[nf++] = flag_chars[b];
      }
    }
    flags[nf] = '\0';
    for (size_t w = 0; w < RL_ARRAY_SIZE(widths); w++) {
      for (size_t p = 0; p < RL_ARRAY_SIZE(precs); p++) {
        for (size_t l = 0; l < RL_ARRAY_SIZE(lens); l++) {
          for (size_t c = 0; c < sizeof(convs) - 1; c++) {
            for (size_t v = 0; v < RL_ARRAY_SIZE(vals); v++) {
              char fmt[64];
              (void)snprintf(fmt, sizeof(fmt), "<%%%s%s%s%s%c>", flags,
                             widths[w], precs[p], lens[l], convs[c]);
              long long x = vals[v];
              /* Pass the argument as the type the modifier reads. */
              if (l == 0 || l == 1 || l == 2) {
                check_dyn(fmt, (int)x);
              } else if (l == 3) {
                check_dyn(fmt, (long)x);
              } else if (l == 4) {
                check_dyn(fmt, x);
              } else if (l == 5) {
                check_dyn(fmt, (size_t)x);
              } else if (l == 6) {
                check_dyn(fmt, (ptrdiff_t)x);
              } else {
                check_dyn(fmt, (intmax_t)x);
              }
            }
          }
        }
      }
    }
  }
  print_message("flag matrix: %lu comparisons\n", checks);
}

static void test_chars_strings(void **state) {
  (void)state;
  check("%c%c%c", 'a', 'B', '~');
  check("[%5c] [%-5c] [%1c]", 'x', 'y', 'z');
  check("[%s] [%10s] [%-10s] [%.2s] [%10.3s] [%-10.0s] [%.20s]", "abcdef",
        "abcdef", "abcdef", "abcdef", "abcdef", "abcdef", "abcdef");
  check("[%*s] [%-*s] [%.*s] [%.*s]", 7, "ab", 7, "ab", 1, "ab", -1, "ab");
  check("[%s] [%5s]", "", "");
  /* Precision may leave the string unterminated. */
  char raw[3] = {'x', 'y', 'z'};
  check("%.3s|%.2s", raw, raw);
  /* NULL strings: not defined by C, so compared with fixed text. */
  expect("(null)", "%s", (char *)NULL);
  expect("[    (null)]", "[%10s]", (char *)NULL);
  expect("[(nu]", "[%.3s]", (char *)NULL);
  /* A zero char is output and counted. */
  char buf[8];
  memset(buf, CANARY, sizeof(buf));
  assert_int_equal(rl_snprintf(buf, sizeof(buf), "a%cb", 0), 3);
  assert_memory_equal(buf, "a\0b\0", 4);
}

static void test_pointers(void **state) {
  (void)state;
  int x;
  void *ptrs[] = {&x, (void *)1, (void *)0xffffffffffffffffULL,
                  (void *)0xdeadbeef};
  for (size_t i = 0; i < RL_ARRAY_SIZE(ptrs); i++) {
    /* glibc prints non-NULL %p as %#lx. */
    check("%p [%30p] [%-30p]", ptrs[i], ptrs[i], ptrs[i]);
    char want[64];
    (void)snprintf(want, sizeof(want), "%#lx",
                   (unsigned long)(uintptr_t)ptrs[i]);
    expect(want, "%p", ptrs[i]);
  }
  expect("0x0", "%p", NULL);
  expect("[       0x0]", "[%10p]", NULL);
}

static void test_truncation(void **state) {
  (void)state;
  static const char *want = "value=-12345 name=ringlight";
  size_t len = strlen(want);
  for (size_t size = 0; size <= len + 2; size++) {
    char buf[64];
    memset(buf, CANARY, sizeof(buf));
    int n = rl_snprintf(buf, size, "value=%d name=%s", -12345, "ringlight");
    assert_int_equal(n, (int)len);
    if (size > 0) {
      size_t copied = RL_MIN(size - 1, len);
      assert_memory_equal(buf, want, copied);
      assert_int_equal(buf[copied], '\0');
    }
    for (size_t i = size; i < sizeof(buf); i++) {
      assert_int_equal((unsigned char)buf[i], CANARY);
    }
  }
  /* Size 0 with a NULL buffer only measures. */
  assert_int_equal(rl_snprintf(NULL, 0, "%s-%d", "abc", 123), 7);
  check("%40d|%-40s|%040x", 1, "x", 0xabcu);
}

/* Widths near INT_MAX: the return value, and -1 once it passes INT_MAX. */
static void test_huge(void **state) {
  (void)state;
  char buf[8];
  memset(buf, CANARY, sizeof(buf));
  assert_int_equal(rl_snprintf(buf, sizeof(buf), "%*d", INT_MAX, 7), INT_MAX);
  assert_string_equal(buf, "       ");
  assert_int_equal(
      rl_snprintf(buf, sizeof(buf), "%*d%*d", INT_MAX, 1, INT_MAX, 2), -1);
  assert_int_equal(buf[7], '\0');
  assert_int_equal(rl_snprintf(buf, sizeof(buf), "%-*s|", INT_MAX - 1, "ab"),
                   INT_MAX);
  assert_string_equal(buf, "ab     ");
  /* A width written in digits saturates instead of overflowing. */
  assert_int_equal(rl_snprintf(NULL, 0, "%99999999999999999999d", 1), INT_MAX);
  assert_int_equal(rl_snprintf(NULL, 0, "%.99999999999999999999d", 1), INT_MAX);
}

/* Conversions outside the supported set are copied out as text. */
static void test_unsupported(void **state) {
  (void)state;
  const char *f1 = "a%qb";
  const char *f2 = "tail %";
  const char *f3 = "tail %-08l";
  expect("a%qb", f1);
  expect("tail %", f2);
  expect("tail %-08l", f3);
  expect("x%Ly 5", "x%Ly %d", 5);
}

static void test_status_str(void **state) {
  (void)state;
  static const struct {
    rl_status s;
    const char *name;
  } names[] = {
      {RL_OK, "RL_OK"},
      {RL_ERR_INVALID, "RL_ERR_INVALID"},
      {RL_ERR_NO_MEMORY, "RL_ERR_NO_MEMORY"},
      {RL_ERR_TIMEOUT, "RL_ERR_TIMEOUT"},
      {RL_ERR_IO, "RL_ERR_IO"},
      {RL_ERR_NOT_FOUND, "RL_ERR_NOT_FOUND"},
      {RL_ERR_OUT_OF_RANGE, "RL_ERR_OUT_OF_RANGE"},
      {RL_ERR_BAD_FORMAT, "RL_ERR_BAD_FORMAT"},
      {RL_ERR_NOT_SUPPORTED, "RL_ERR_NOT_SUPPORTED"},
      {RL_ERR_BUSY, "RL_ERR_BUSY"},
      {RL_ERR_BROKEN, "RL_ERR_BROKEN"},
      {RL_ERR_NO_SPACE, "RL_ERR_NO_SPACE"},
  };
  for (size_t i = 0; i < RL_ARRAY_SIZE(names); i++) {
    assert_string_equal(rl_status_str(names[i].s), names[i].name);
  }
  assert_string_equal(rl_status_str(1), "RL_ERR_UNKNOWN");
  assert_string_equal(rl_status_str(-12), "RL_ERR_UNKNOWN");
  assert_string_equal(rl_status_str(INT_MIN), "RL_ERR_UNKNOWN");
  assert_string_equal(rl_status_str(INT_MAX), "RL_ERR_UNKNOWN");
}

/* rl_append, rl_append_hex, rl_append_dec: as rl_snprintf's "%s",
 * "%#llx" and "%llu" would write, cut to the buffer the same way. */
static void test_append(void **state) {
  (void)state;
  static const uint64_t values[] = {
      0,          1,          0x9,
      0xa,        0x10,       0xa003e00,
      0x10008000, 0xffffffff, 0x123456789abcdefull,
      UINT64_MAX, 10,         99,
      100,        1000000007};
  for (size_t size = 1; size < 24; size++) {
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
      char got[24], want[24];
      memset(got, '#', sizeof(got));
      size_t at = rl_append(got, size, 0, "dev@");
      at = rl_append_hex(got, size, at, values[i]);
      int w =
          rl_snprintf(want, size, "dev@%#llx", (unsigned long long)values[i]);
      assert_true(w > 0);
      assert_string_equal(got, want);
      assert_int_equal(at, strlen(want));
      assert_int_equal(got[size], '#'); /* nothing past the buffer */
      at = rl_append_dec(got, size, rl_append(got, size, 0, "n="), values[i]);
      w = rl_snprintf(want, size, "n=%llu", (unsigned long long)values[i]);
      assert_true(w > 0);
      assert_string_equal(got, want);
      assert_int_equal(at, strlen(want));
      assert_int_equal(got[size], '#');
    }
  }
  char buf[8] = "ab";
  assert_int_equal(rl_append(buf, sizeof(buf), 2, ""), 2);
  assert_int_equal(rl_append(buf, sizeof(buf), 2, "cdefghij"), 7);
  assert_string_equal(buf, "abcdefg");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_plain),       cmocka_unit_test(test_integers),
      cmocka_unit_test(test_lengths),     cmocka_unit_test(test_narrowing),
      cmocka_unit_test(test_flag_matrix), cmocka_unit_test(test_chars_strings),
      cmocka_unit_test(test_pointers),    cmocka_unit_test(test_truncation),
      cmocka_unit_test(test_huge),        cmocka_unit_test(test_unsupported),
      cmocka_unit_test(test_status_str),  cmocka_unit_test(test_append),
  };
  return cmocka_run_group_tests_name("fmt", tests, NULL, NULL);
}
