/* Interrupt controller discovery from the device tree (see irq_dt.h).
 * Bindings: riscv,plic0, riscv,aplic and riscv,imsics as QEMU 7.2's virt
 * machine writes them (interrupts-extended pairs of (hart intc phandle,
 * cause); the M-level APLIC and IMSIC disabled by OpenSBI). */
#include "irq_dt.h"

rl_status riscv_hart_intc_phandle(const struct fdt *fdt, unsigned long hart,
                                  uint32_t *phandle) {
  int cpus, cpu, intc;
  rl_status st = fdt_path(fdt, "/cpus", &cpus);
  for (st = st == RL_OK ? fdt_first_child(fdt, cpus, &cpu) : st; st == RL_OK;
       st = fdt_next_sibling(fdt, cpu, &cpu)) {
    uint64_t reg, size;
    if (fdt_get_reg(fdt, cpu, 0, &reg, &size) != RL_OK || reg != hart) {
      continue;
    }
    if (fdt_first_child(fdt, cpu, &intc) == RL_OK &&
        fdt_get_u32(fdt, intc, "phandle", phandle) == RL_OK) {
      return RL_OK;
    }
  }
  return st;
}

rl_status riscv_s_external_index(const struct fdt *fdt, int node, uint32_t intc,
                                 unsigned *index) {
  struct fdt_prop prop;
  rl_status st = fdt_get_prop(fdt, node, "interrupts-extended", &prop);
  if (st != RL_OK) {
    return st;
  }
  const uint8_t *cells = (const uint8_t *)prop.data;
  for (uint32_t i = 0; i + 8 <= prop.len; i += 8) {
    if (fdt_be32(cells + i) == intc &&
        fdt_be32(cells + i + 4) == RISCV_IRQ_S_EXTERNAL) {
      *index = i / 8;
      return RL_OK;
    }
  }
  return RL_ERR_NOT_FOUND;
}

static rl_status find_plic(const struct fdt *fdt, uint32_t intc,
                           struct riscv_irqchip_dt *out) {
  static const char *const compat[] = {"riscv,plic0", "sifive,plic-1.0.0"};
  rl_status st = RL_ERR_NOT_FOUND;
  int node = -1;
  for (size_t i = 0; i < RL_ARRAY_SIZE(compat) && st != RL_OK; i++) {
    st = fdt_find_compatible(fdt, -1, compat[i], &node);
  }
  if (st != RL_OK ||
      (st = fdt_get_u32(fdt, node, "riscv,ndev", &out->nsources)) != RL_OK ||
      (st = riscv_s_external_index(fdt, node, intc, &out->index)) != RL_OK) {
    return st;
  }
  out->kind = RISCV_IRQCHIP_PLIC;
  out->node = node;
  out->imsic = -1;
  out->nids = 0;
  return RL_OK;
}

/* An APLIC domain in MSI mode: its msi-parent IMSIC must be enabled and
 * take this hart's S-level external interrupt. */
static rl_status aplic_msi(const struct fdt *fdt, int node, uint32_t intc,
                           struct riscv_irqchip_dt *out) {
  uint32_t ph;
  int imsic;
  rl_status st = fdt_get_u32(fdt, node, "msi-parent", &ph);
  if (st != RL_OK) {
    return st;
  }
  if ((st = fdt_find_phandle(fdt, ph, &imsic)) != RL_OK) {
    return st == RL_ERR_NOT_FOUND ? RL_ERR_BAD_FORMAT : st;
  }
  if (!fdt_is_compatible(fdt, imsic, "riscv,imsics") ||
      !fdt_node_enabled(fdt, imsic)) {
    return RL_ERR_NOT_FOUND;
  }
  if ((st = riscv_s_external_index(fdt, imsic, intc, &out->index)) != RL_OK ||
      (st = fdt_get_u32(fdt, imsic, "riscv,num-ids", &out->nids)) != RL_OK) {
    return st;
  }
  out->kind = RISCV_IRQCHIP_APLIC_MSI;
  out->imsic = imsic;
  return RL_OK;
}

rl_status riscv_irqchip_find(const struct fdt *fdt, unsigned long hart,
                             struct riscv_irqchip_dt *out) {
  uint32_t intc;
  if (fdt == NULL || out == NULL) {
    return RL_ERR_INVALID;
  }
  rl_status st = riscv_hart_intc_phandle(fdt, hart, &intc);
  if (st != RL_OK) {
    return st;
  }
  st = find_plic(fdt, intc, out);
  if (st != RL_ERR_NOT_FOUND) {
    return st; /* the PLIC, or its error: unchanged from before */
  }
  int node = -1;
  while (fdt_find_compatible(fdt, node, "riscv,aplic", &node) == RL_OK) {
    if (!fdt_node_enabled(fdt, node)) {
      continue; /* the M-level domain, owned by OpenSBI */
    }
    out->node = node;
    out->imsic = -1;
    out->nids = 0;
    if ((st = fdt_get_u32(fdt, node, "riscv,num-sources", &out->nsources)) !=
        RL_OK) {
      return st;
    }
    if (fdt_has_prop(fdt, node, "msi-parent")) {
      st = aplic_msi(fdt, node, intc, out);
    } else {
      st = riscv_s_external_index(fdt, node, intc, &out->index);
      out->kind = RISCV_IRQCHIP_APLIC_DIRECT;
    }
    if (st != RL_ERR_NOT_FOUND) {
      return st;
    }
  }
  return RL_ERR_NOT_FOUND;
}

rl_status riscv_aplic_spec(const uint32_t *cells, size_t ncells,
                           uint32_t nsources, unsigned *source,
                           uint32_t *mode) {
  if (cells == NULL || source == NULL || mode == NULL) {
    return RL_ERR_INVALID;
  }
  if (ncells != 2) {
    return RL_ERR_BAD_FORMAT;
  }
  if (cells[0] == 0 || cells[0] > nsources) {
    return RL_ERR_OUT_OF_RANGE;
  }
  switch (cells[1]) {
  case 1:
    *mode = APLIC_SM_EDGE_RISE;
    break;
  case 2:
    *mode = APLIC_SM_EDGE_FALL;
    break;
  case 4:
    *mode = APLIC_SM_LEVEL_HIGH;
    break;
  case 8:
    *mode = APLIC_SM_LEVEL_LOW;
    break;
  default:
    return RL_ERR_BAD_FORMAT;
  }
  *source = cells[0];
  return RL_OK;
}
