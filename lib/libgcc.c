/* The libgcc routines GCC calls in this kernel (CONFIG_COMPILER_GCC on
 * riscv64, where rv64imac has no count-trailing-zeros instruction).
 * Debian's libgcc.a for riscv64 is built for the hard-float lp64d ABI and
 * cannot be linked with the kernel's lp64 objects. */
#include <stdint.h>

// The names are libgcc's, reserved to the implementation on purpose.
// NOLINTBEGIN(bugprone-reserved-identifier, cert-dcl37-c, cert-dcl51-cpp)
int __ctzdi2(uint64_t x);

/* Trailing zero bits of x; x != 0, as for __builtin_ctzll. */
int __ctzdi2(uint64_t x) {
  int n = 0;
  for (int shift = 32; shift > 0; shift /= 2) {
    if ((x & ((UINT64_C(1) << shift) - 1)) == 0) {
      n += shift;
      x >>= shift;
    }
  }
  return n;
}
// NOLINTEND(bugprone-reserved-identifier, cert-dcl37-c, cert-dcl51-cpp)
