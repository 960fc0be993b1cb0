/* Binds drivers to the devices found in the device tree. */
#include <kernel/panic.h>
#include <mm/heap.h>
#include <virtio/core/virtio.h>

#define MAX_BOUND 32

static struct virtio_device *bound_devices[MAX_BOUND];
static unsigned bound_count;

void virtio_poll_all(void) {
  for (unsigned i = 0; i < bound_count; i++) {
    struct virtio_device *dev = bound_devices[i];
    if (dev->needs_reset && !dev->failed) {
      (void)virtio_device_recover(dev);
    }
    if (!dev->failed && dev->driver->poll != NULL) {
      dev->driver->poll(dev);
    }
  }
}

unsigned virtio_probe_all(const struct fdt *fdt) {
  unsigned bound = 0;
  for (unsigned index = 0;; index++) {
    struct virtio_mmio_slot slot;
    rl_status st = virtio_mmio_slot_at(fdt, index, &slot);
    if (st == RL_ERR_NOT_FOUND) {
      break;
    }
    if (st != RL_OK || slot.device_id == 0) {
      continue;
    }
    const struct virtio_driver *drv = NULL;
    for (size_t i = 0; i < virtio_driver_count; i++) {
      if (virtio_drivers[i]->device_id == slot.device_id) {
        drv = virtio_drivers[i];
        break;
      }
    }
    if (drv == NULL) {
      klog(LOG_INFO, "virtio: no driver for device %u (%s) at %#llx\n",
           slot.device_id, virtio_device_name(slot.device_id),
           (unsigned long long)slot.pa);
      continue;
    }
    struct virtio_device *dev = rl_zalloc(sizeof(*dev));
    if (dev == NULL) {
      klog(LOG_ERROR, "virtio: out of memory for %s\n", drv->name);
      break;
    }
    st = virtio_device_init(dev, &slot);
    if (st == RL_OK) {
      dev->driver = drv;
      klog(LOG_INFO, "%s: %s transport, irq %u, driver %s\n", dev->name,
           dev->version == 1 ? "legacy" : "modern", slot.irq, drv->name);
      st = drv->probe(dev);
    }
    if (st != RL_OK) {
      klog(LOG_ERROR, "%s: probe failed: %s; boot continues without it\n",
           dev->name, rl_status_str(st));
      if (!dev->failed && dev->regs != NULL) {
        virtio_device_fail(dev, st, "probe");
      }
      continue; /* the record stays: the device may still hold our rings */
    }
    bound++;
    if (bound_count < MAX_BOUND) {
      bound_devices[bound_count++] = dev;
    }
  }
  return bound;
}
