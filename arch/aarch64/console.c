/* PL011 UART output (PrimeCell UART TRM §3.3): DR at 0x000, FR at 0x018
 * with TXFF in bit 5. The early console is QEMU virt's fixed UART; once
 * the device tree is read, the arm,pl011 node gives the address. */
#include <arch/common/arch_common.h>
#include <arch/console.h>
#include <arch/mmio.h>
#include <arch/vm.h>

#define EARLY_UART 0x09000000ull
#define UART_DR 0x000
#define UART_FR 0x018
#define FR_TXFF (1u << 5)

static volatile uint8_t *uart =
    (volatile uint8_t *)(uintptr_t)(ARCH_DEVICE_BASE + EARLY_UART);

paddr_t arch_early_console_pa(void) { return EARLY_UART; }

const char *arch_name(void) { return "aarch64"; }

rl_status arch_console_init(const struct fdt *fdt) {
  static const char *const compat[] = {"arm,pl011"};
  int node;
  uint64_t pa, size;
  volatile void *va;
  rl_status st = dt_map_compatible(fdt, compat, 1, 0, &node, &pa, &size, &va);
  if (st == RL_OK) {
    uart = (volatile uint8_t *)va;
  }
  return st;
}

void arch_console_putc(char c) {
  for (unsigned spins = 0; spins < 1000000; spins++) {
    if ((arch_mmio_read32(uart + UART_FR) & FR_TXFF) == 0) {
      break;
    }
  }
  arch_mmio_write32(uart + UART_DR, (uint8_t)c);
}

void arch_console_write(const char *s, size_t len) {
  for (size_t i = 0; i < len; i++) {
    if (s[i] == '\n') {
      arch_console_putc('\r');
    }
    arch_console_putc(s[i]);
  }
}
