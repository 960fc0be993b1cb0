/* MSI-X for the virtio-pci transport (PCI 3.0 §6.8.2, virtio 1.2
 * §4.1.5.1.2): one vector for configuration changes and one per queue,
 * each with its own handler; INTx (the ISR read to acknowledge) when the
 * machine has no MSI controller we drive, the function no MSI-X
 * capability, or the device refuses a vector. */
#include <arch/irq.h>
#include <arch/mmio.h>
#include <arch/vm.h>
#include <lib/fmt.h>
#include <lib/log.h>
#include <pci/pci_regs.h>

#include "msix.h"
#include "virtio_pci.h"

static volatile uint8_t *entry(const struct virtio_pci_device *p, unsigned i) {
  return p->msix.table + (size_t)i * PCI_MSIX_ENTRY_SIZE;
}

static void set_masked(const struct virtio_pci_device *p, unsigned i,
                       bool masked) {
  arch_mmio_write32(entry(p, i) + PCI_MSIX_ENTRY_CTRL,
                    masked ? PCI_MSIX_ENTRY_MASKED : 0);
}

static void command_intx(const struct virtio_pci_device *p, bool on) {
  uint16_t cmd = pci_cfg_read16(p->fn, PCI_COMMAND);
  cmd = on ? (uint16_t)(cmd & ~PCI_COMMAND_INTX_DISABLE)
           : (uint16_t)(cmd | PCI_COMMAND_INTX_DISABLE);
  pci_cfg_write16(p->fn, PCI_COMMAND, cmd);
}

/* Finds, checks and maps the table; allocates and programs the vectors
 * (masked); enables MSI-X. On an error nothing is left enabled. */
static rl_status setup(struct virtio_pci_device *p, char *why,
                       size_t why_size) {
  const struct pci_function *fn = p->fn;
  struct virtio_pci_msix *m = &p->msix;
  unsigned cap;
  rl_status st = pci_cap_find(fn, PCI_CAP_ID_MSIX, 0, &cap);
  if (st != RL_OK || cap + PCI_MSIX_CAP_SIZE > PCI_CFG_SIZE) {
    (void)rl_snprintf(why, why_size, "no MSI-X capability");
    return RL_ERR_NOT_FOUND;
  }
  uint16_t ctrl = pci_cfg_read16(fn, cap + PCI_MSIX_CTRL);
  uint32_t table = pci_cfg_read32(fn, cap + PCI_MSIX_TABLE);
  unsigned size = (ctrl & PCI_MSIX_CTRL_SIZE) + 1u;
  unsigned queues = p->num_queues;
  if (queues > VIRTIO_MAX_QUEUES) {
    queues = VIRTIO_MAX_QUEUES;
  }
  unsigned want = 1 + queues;
  if (size < want) {
    (void)rl_snprintf(why, why_size, "MSI-X table has %u entries, %u needed",
                      size, want);
    return RL_ERR_NOT_SUPPORTED;
  }
  /* §6.8.2.4: the table in BAR `bir` at an 8-byte aligned offset. */
  unsigned bir = table & PCI_MSIX_BIR;
  uint64_t off = table & ~(uint32_t)PCI_MSIX_BIR;
  uint64_t bytes = (uint64_t)want * PCI_MSIX_ENTRY_SIZE;
  if (bir >= PCI_BARS || fn->bars[bir].size == 0 ||
      fn->bars[bir].space == PCI_SPACE_IO || off + bytes > fn->bars[bir].size) {
    (void)rl_snprintf(why, why_size,
                      "MSI-X table (BAR %u offset %#llx) is outside its BAR",
                      bir, (unsigned long long)off);
    return RL_ERR_BAD_FORMAT;
  }
  int ctrl_node;
  uint32_t devid;
  if ((st = pci_msi_controller(fn, &ctrl_node, &devid)) != RL_OK) {
    (void)rl_snprintf(why, why_size, "the bridge names no MSI controller");
    return st;
  }
  volatile void *va;
  if ((st = arch_ioremap(fn->bars[bir].cpu_addr + off, bytes, &va)) != RL_OK) {
    (void)rl_snprintf(why, why_size, "MSI-X table unmappable: %s",
                      rl_status_str(st));
    return st;
  }
  if ((st = arch_msi_alloc(fn->host->fdt, ctrl_node, devid, want, m->vec, why,
                           why_size)) != RL_OK) {
    return st;
  }
  m->cap = cap;
  m->table = (volatile uint8_t *)va;
  m->count = want;
  /* §6.8.2.3: enabled with the function masked while the entries are
   * written, each entry masked until its handler is registered. */
  pci_cfg_write16(fn, cap + PCI_MSIX_CTRL,
                  PCI_MSIX_CTRL_ENABLE | PCI_MSIX_CTRL_MASKALL);
  for (unsigned i = 0; i < want; i++) {
    m->ctx[i] = (struct virtio_pci_vector){.p = p, .entry = i};
    set_masked(p, i, true);
    arch_mmio_write32(entry(p, i) + PCI_MSIX_ENTRY_ADDR_LO,
                      (uint32_t)m->vec[i].address);
    arch_mmio_write32(entry(p, i) + PCI_MSIX_ENTRY_ADDR_HI,
                      (uint32_t)(m->vec[i].address >> 32));
    arch_mmio_write32(entry(p, i) + PCI_MSIX_ENTRY_DATA, m->vec[i].data);
  }
  pci_cfg_write16(fn, cap + PCI_MSIX_CTRL, PCI_MSIX_CTRL_ENABLE);
  /* §6.8.2: with MSI-X on the function does not use INTx; say so in the
   * command register too. */
  command_intx(p, false);
  m->on = true;
  return RL_OK;
}

void virtio_pci_msix_init(struct virtio_pci_device *p) {
  struct virtio_pci_msix *m = &p->msix;
  if (setup(p, m->why, sizeof(m->why)) != RL_OK) {
    m->on = false;
  }
}

static void intx_handler(void *ctx) { virtio_handle_interrupt(ctx); }

static void vector_handler(void *ctx) {
  const struct virtio_pci_vector *v = ctx;
  if (v->entry == 0) {
    virtio_config_interrupt(&v->p->dev);
  } else {
    virtio_queue_interrupt(&v->p->dev, v->entry - 1);
  }
}

static const char *pin_name(const struct virtio_pci_device *p) {
  static const char *const names[] = {"?", "A", "B", "C", "D"};
  unsigned pin = p->fn->interrupt_pin;
  return names[pin <= 4 ? pin : 0];
}

static rl_status intx_on(struct virtio_pci_device *p) {
  struct virtio_device *dev = &p->dev;
  rl_status st = arch_irq_register(dev->irq, intx_handler, dev);
  if (st == RL_OK && (st = arch_irq_enable(dev->irq)) != RL_OK) {
    (void)arch_irq_unregister(dev->irq, intx_handler, dev);
  }
  if (st == RL_OK) {
    p->msix.intx = true;
    klog(LOG_INFO,
         "%s: interrupts: INTx pin %s, irq %u (MSI-X unavailable: "
         "%s)\n",
         dev->name, pin_name(p), dev->irq, p->msix.why);
  }
  return st;
}

/* The device refused a vector: MSI-X off for the whole function (§6.8.2:
 * then it signals through INTx, and the virtio device through INTx and
 * the ISR whatever its vector fields say, §4.1.5.1.2). */
static void fall_back(struct virtio_pci_device *p) {
  struct virtio_pci_msix *m = &p->msix;
  pci_cfg_write16(p->fn, m->cap + PCI_MSIX_CTRL, 0);
  command_intx(p, true);
  m->on = false;
  klog(LOG_WARN, "%s: MSI-X off: %s\n", p->dev.name, m->why);
  if (m->live && !m->intx) {
    /* The handlers are live already (a re-probe): INTx joins them. */
    rl_status st = intx_on(p);
    if (st != RL_OK) {
      klog(LOG_ERROR, "%s: INTx unusable (%s): polling\n", p->dev.name,
           rl_status_str(st));
    }
  }
}

static bool vector_taken(struct virtio_pci_device *p, unsigned at,
                         uint16_t vector) {
  volatile uint8_t *reg = p->common.base + at;
  arch_mmio_write16(reg, vector);
  return arch_mmio_read16(reg) == vector;
}

void virtio_pci_msix_config_vector(struct virtio_pci_device *p) {
  struct virtio_pci_msix *m = &p->msix;
  if (!m->on) {
    arch_mmio_write16(p->common.base + VIRTIO_PCI_COMMON_MSIX,
                      VIRTIO_PCI_NO_VECTOR);
    return;
  }
  if (!vector_taken(p, VIRTIO_PCI_COMMON_MSIX, 0)) {
    (void)rl_snprintf(m->why, sizeof(m->why),
                      "the device refused vector 0 for configuration changes");
    arch_mmio_write16(p->common.base + VIRTIO_PCI_COMMON_MSIX,
                      VIRTIO_PCI_NO_VECTOR);
    fall_back(p);
  }
}

void virtio_pci_msix_queue_vector(struct virtio_pci_device *p, unsigned index) {
  struct virtio_pci_msix *m = &p->msix;
  uint16_t vector = (uint16_t)(1 + index);
  if (m->on && (index >= VIRTIO_MAX_QUEUES || vector >= m->count)) {
    (void)rl_snprintf(m->why, sizeof(m->why), "no vector for queue %u", index);
    fall_back(p);
  }
  if (!m->on) {
    arch_mmio_write16(p->common.base + VIRTIO_PCI_COMMON_Q_MSIX,
                      VIRTIO_PCI_NO_VECTOR);
    return;
  }
  if (!vector_taken(p, VIRTIO_PCI_COMMON_Q_MSIX, vector)) {
    (void)rl_snprintf(m->why, sizeof(m->why),
                      "the device refused vector %u for queue %u", vector,
                      index);
    arch_mmio_write16(p->common.base + VIRTIO_PCI_COMMON_Q_MSIX,
                      VIRTIO_PCI_NO_VECTOR);
    fall_back(p);
  }
}

static void vectors_off(struct virtio_pci_device *p, unsigned registered) {
  struct virtio_pci_msix *m = &p->msix;
  for (unsigned i = 0; i < registered; i++) {
    if (m->table != NULL) {
      set_masked(p, i, true);
    }
    (void)arch_irq_unregister(m->vec[i].irq, vector_handler, &m->ctx[i]);
  }
}

rl_status virtio_pci_interrupts_enable(struct virtio_device *dev) {
  struct virtio_pci_device *p = (struct virtio_pci_device *)(uintptr_t)dev;
  struct virtio_pci_msix *m = &p->msix;
  if (!m->on) {
    return intx_on(p);
  }
  rl_status st = RL_OK;
  unsigned i = 0;
  for (; i < m->count && st == RL_OK; i++) {
    st = arch_irq_register(m->vec[i].irq, vector_handler, &m->ctx[i]);
    if (st == RL_OK && (st = arch_irq_enable(m->vec[i].irq)) != RL_OK) {
      (void)arch_irq_unregister(m->vec[i].irq, vector_handler, &m->ctx[i]);
    }
  }
  if (st != RL_OK) {
    vectors_off(p, i - 1);
    (void)rl_snprintf(m->why, sizeof(m->why), "vector irq %u unusable: %s",
                      m->vec[i - 1].irq, rl_status_str(st));
    fall_back(p);
    return intx_on(p);
  }
  /* Unmasked last: a message the device sent before is pending in the
   * PBA and is delivered now (§6.8.2.9). */
  for (i = 0; i < m->count; i++) {
    set_masked(p, i, false);
  }
  m->live = true;
  klog(LOG_INFO,
       "%s: interrupts: MSI-X (%u vectors: config + %u queue%s, irqs %u-%u)\n",
       dev->name, m->count, m->count - 1, m->count == 2 ? "" : "s",
       m->vec[0].irq, m->vec[m->count - 1].irq);
  return RL_OK;
}

void virtio_pci_interrupts_release(struct virtio_device *dev) {
  struct virtio_pci_device *p = (struct virtio_pci_device *)(uintptr_t)dev;
  struct virtio_pci_msix *m = &p->msix;
  if (m->live) {
    vectors_off(p, m->count);
    m->live = false;
  }
  if (m->intx) {
    (void)arch_irq_unregister(dev->irq, intx_handler, dev);
    m->intx = false;
  }
  if (m->count != 0) {
    if (m->on) {
      pci_cfg_write16(p->fn, m->cap + PCI_MSIX_CTRL, 0);
      command_intx(p, true);
      m->on = false;
    }
    arch_msi_free(m->vec, m->count);
    m->count = 0;
  }
}
