/* NS16550A UART output: THR at 0, LSR at 5 (THRE bit 5), registers
 * spaced by 1 << reg-shift. The early console is QEMU virt's fixed UART;
 * once the device tree is read, the ns16550a node gives the address. */
#include <arch/common/arch_common.h>
#include <arch/console.h>
#include <arch/mmio.h>
#include <arch/vm.h>

#define EARLY_UART 0x10000000ull
#define UART_THR 0
#define UART_LSR 5
#define LSR_THRE (1u << 5)

static volatile uint8_t *uart =
    (volatile uint8_t *)(uintptr_t)(ARCH_DEVICE_BASE + EARLY_UART);
static unsigned reg_shift;

paddr_t arch_early_console_pa(void) { return EARLY_UART; }

const char *arch_name(void) { return "riscv64"; }

rl_status arch_console_init(const struct fdt *fdt) {
  static const char *const compat[] = {"ns16550a"};
  int node;
  uint64_t pa, size;
  volatile void *va;
  rl_status st = dt_map_compatible(fdt, compat, 1, 0, &node, &pa, &size, &va);
  uint32_t shift = 0;
  if (st == RL_OK && fdt_has_prop(fdt, node, "reg-shift")) {
    st = fdt_get_u32(fdt, node, "reg-shift", &shift);
    if (st == RL_OK && shift > 2) {
      st = RL_ERR_BAD_FORMAT;
    }
  }
  if (st == RL_OK) {
    uart = (volatile uint8_t *)va;
    reg_shift = shift;
  }
  return st;
}

void arch_console_putc(char c) {
  for (unsigned spins = 0; spins < 1000000; spins++) {
    if (arch_mmio_read8(uart + (UART_LSR << reg_shift)) & LSR_THRE) {
      break;
    }
  }
  arch_mmio_write8(uart + (UART_THR << reg_shift), (uint8_t)c);
}

void arch_console_write(const char *s, size_t len) {
  for (size_t i = 0; i < len; i++) {
    if (s[i] == '\n') {
      arch_console_putc('\r');
    }
    arch_console_putc(s[i]);
  }
}
