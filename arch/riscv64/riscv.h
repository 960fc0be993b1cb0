/* Internal to arch/riscv64. */
#ifndef ARCH_RISCV64_H
#define ARCH_RISCV64_H

#include <arch/msi.h>
#include <devicetree/fdt.h>
#include <ringlight/status.h>
#include <ringlight/types.h>

#define csr_read(csr)                                                          \
  ({                                                                           \
    unsigned long v_;                                                          \
    __asm__ volatile("csrr %0, " #csr : "=r"(v_)::"memory");                   \
    v_;                                                                        \
  })
#define csr_write(csr, val)                                                    \
  __asm__ volatile("csrw " #csr ", %0" ::"r"((unsigned long)(val)) : "memory")
/* clang-format 14 would split "memory" in two here. */
/* clang-format off */
#define csr_set(csr, bits)                                                     \
  __asm__ volatile("csrs " #csr ", %0" ::"r"((unsigned long)(bits)) : "memory")
#define csr_clear(csr, bits)                                                   \
  __asm__ volatile("csrc " #csr ", %0" ::"r"((unsigned long)(bits)) : "memory")
/* clang-format on */

#define SSTATUS_SIE (1ul << 1)
#define SIE_STIE (1ul << 5)
#define SIE_SEIE (1ul << 9)

struct sbi_ret {
  long error;
  long value;
};
/* SBI call (SBI spec v1.0 §3): a7 = extension, a6 = function. */
struct sbi_ret sbi_call(unsigned long ext, unsigned long fid, unsigned long a0,
                        unsigned long a1, unsigned long a2);

/* Interrupt controllers (irq.c picks one; irq_dt.h describes them). */
struct fdt;
struct riscv_irqchip_dt;
rl_status riscv_plic_init(const struct fdt *fdt,
                          const struct riscv_irqchip_dt *dt);
rl_status riscv_plic_from_dt(const uint32_t *cells, size_t ncells,
                             unsigned *irq);
rl_status riscv_plic_set_enable(unsigned irq, bool on);
void riscv_plic_eoi(unsigned irq);
void riscv_plic_dispatch(void);
rl_status riscv_aplic_init(const struct fdt *fdt,
                           const struct riscv_irqchip_dt *dt);
rl_status riscv_aplic_from_dt(const uint32_t *cells, size_t ncells,
                              unsigned *irq);
rl_status riscv_aplic_set_enable(unsigned irq, bool on);
void riscv_aplic_dispatch(void);
/* arch/msi.h on the IMSIC of APLIC MSI mode (msi.c). */
rl_status riscv_aplic_msi_alloc(const struct fdt *fdt, int ctrl, unsigned count,
                                struct arch_msi_vector *out, char *why,
                                size_t why_size);
void riscv_aplic_msi_free(const struct arch_msi_vector *v, unsigned count);
/* Supervisor external interrupt (scause 9): the chosen controller. */
void riscv_external_dispatch(void);
void riscv_timer_interrupt(void);
unsigned long riscv_hart_id(void);

#endif
