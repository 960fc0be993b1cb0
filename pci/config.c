/* Configuration space through ECAM (PCIe 4.0 §7.2.2) and the capability
 * list (PCI Local Bus 3.0 §6.7). */
#include <arch/mmio.h>
#include <lib/fmt.h>
#include <pci/pci.h>

#include "pci_regs.h"

static volatile uint8_t *cfg(const struct pci_function *f, unsigned offset) {
  size_t at = ((size_t)(f->bus - f->host->bus_start) << PCI_ECAM_BUS_SHIFT) |
              ((size_t)f->dev << PCI_ECAM_DEV_SHIFT) |
              ((size_t)f->fn << PCI_ECAM_FN_SHIFT) |
              (offset & (PCI_ECAM_FN_SIZE - 1));
  return f->host->ecam + at;
}

uint8_t pci_cfg_read8(const struct pci_function *f, unsigned offset) {
  return arch_mmio_read8(cfg(f, offset));
}

uint16_t pci_cfg_read16(const struct pci_function *f, unsigned offset) {
  return arch_mmio_read16(cfg(f, offset & ~1u));
}

uint32_t pci_cfg_read32(const struct pci_function *f, unsigned offset) {
  return arch_mmio_read32(cfg(f, offset & ~3u));
}

void pci_cfg_write16(const struct pci_function *f, unsigned offset,
                     uint16_t value) {
  arch_mmio_write16(cfg(f, offset & ~1u), value);
}

void pci_cfg_write32(const struct pci_function *f, unsigned offset,
                     uint32_t value) {
  arch_mmio_write32(cfg(f, offset & ~3u), value);
}

/* The capability after `at` (0: the first); RL_ERR_BAD_FORMAT for a
 * pointer outside [0x40, 0x100). */
static rl_status cap_next(const struct pci_function *f, unsigned at,
                          unsigned *next) {
  unsigned n =
      pci_cfg_read8(f, at == 0 ? PCI_CAP_PTR : at + PCI_CAP_NEXT) & ~3u;
  if (n != 0 && (n < PCI_CAP_FIRST || n > PCI_CFG_SIZE - 4)) {
    return RL_ERR_BAD_FORMAT;
  }
  *next = n;
  return RL_OK;
}

rl_status pci_cap_find(const struct pci_function *f, uint8_t id, unsigned from,
                       unsigned *offset) {
  if ((pci_cfg_read16(f, PCI_STATUS) & PCI_STATUS_CAP_LIST) == 0) {
    return RL_ERR_NOT_FOUND;
  }
  /* First the whole list: each entry takes at least a dword of
   * [0x40, 0x100), so a longer walk has met a loop. Only an acyclic list
   * gives "after `from`" a meaning, and the caller's walk an end. */
  unsigned budget = (PCI_CFG_SIZE - PCI_CAP_FIRST) / 4;
  unsigned at = 0;
  rl_status st;
  do {
    if ((st = cap_next(f, at, &at)) != RL_OK) {
      return st;
    }
    if (budget-- == 0) {
      return RL_ERR_BAD_FORMAT;
    }
  } while (at != 0);
  bool after = from == 0;
  at = 0;
  while ((st = cap_next(f, at, &at)) == RL_OK && at != 0) {
    if (after && pci_cfg_read8(f, at + PCI_CAP_ID) == id) {
      *offset = at;
      return RL_OK;
    }
    if (at == from) {
      after = true;
    }
  }
  return st == RL_OK ? RL_ERR_NOT_FOUND : st;
}

void pci_function_name(const struct pci_function *f, char *buf, size_t size) {
  (void)rl_snprintf(buf, size, "%02x:%02x.%x", f->bus, f->dev, f->fn);
}
