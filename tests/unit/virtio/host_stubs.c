/* What virtio/core needs at link time that a host test does not use:
 * device discovery maps registers (arch/host has no ioremap) and binds
 * the drivers of drivers/registry.c. The core tests build their
 * struct virtio_device by hand. */
#include <arch/vm.h>
#include <virtio/core/virtio.h>

rl_status arch_ioremap(paddr_t pa, uint64_t size, volatile void **out) {
  (void)pa;
  (void)size;
  (void)out;
  return RL_ERR_NOT_SUPPORTED;
}

const struct virtio_driver *const virtio_drivers[] = {NULL};
const size_t virtio_driver_count = 0;
