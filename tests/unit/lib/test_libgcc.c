/* lib/libgcc.c (the libgcc routines a GCC kernel build links) against the
 * host compiler's builtins. */
/* cmocka.h needs these first, in this order. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

/* Under its own name, so the host's libgcc or compiler-rt is not replaced. */
#define __ctzdi2 kgcc_ctzdi2
#include "lib/libgcc.c" // NOLINT(bugprone-suspicious-include)

static void test_ctzdi2(void **state) {
  (void)state;
  for (int bit = 0; bit < 64; bit++) {
    uint64_t one = UINT64_C(1) << bit;
    assert_int_equal(kgcc_ctzdi2(one), bit);
    /* Bits above the lowest set one do not count. */
    assert_int_equal(kgcc_ctzdi2(~UINT64_C(0) << bit), bit);
    assert_int_equal(kgcc_ctzdi2(one | (UINT64_C(1) << 63)), bit);
  }
  uint64_t x = 0x9e3779b97f4a7c15u;
  for (int i = 0; i < 100000; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    assert_int_equal(kgcc_ctzdi2(x), __builtin_ctzll(x));
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ctzdi2),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
