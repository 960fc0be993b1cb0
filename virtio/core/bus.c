/* Binds drivers (drivers/registry.c) to the devices transports find, and
 * runs their poll hooks from the kernel's main loop. */
#include <lib/log.h>
#include <ringlight/config.h>
#include <virtio/core/virtio.h>

#define MAX_BOUND 32

static struct virtio_device *bound_devices[MAX_BOUND];
static unsigned bound_count;

void virtio_poll_all(void) {
  for (unsigned i = 0; i < bound_count; i++) {
    struct virtio_device *dev = bound_devices[i];
#if !VIRTIO_IRQS
    /* No configuration interrupt: DEVICE_NEEDS_RESET (§2.1.2) is read
     * here, from the main loop. */
    if (virtio_device_status(dev) & VIRTIO_STATUS_DEVICE_NEEDS_RESET) {
      dev->needs_reset = true;
    }
#endif
    if (dev->needs_reset && !dev->failed) {
      (void)virtio_device_recover(dev);
    }
#ifdef CONFIG_VIRTIO_RING_RESET
    if (!dev->failed) {
      virtio_reset_broken_queues(dev); /* §2.6.1, RING_RESET only */
    }
#endif
    if (!dev->failed && dev->driver->poll != NULL) {
      dev->driver->poll(dev);
    }
  }
}

#if VIRTIO_IRQS
void virtio_irqs_attach(void) {
  virtio_irqs_hold(false);
  for (unsigned i = 0; i < bound_count; i++) {
    if (bound_devices[i]->irq_later && !bound_devices[i]->failed) {
      virtio_irq_attach(bound_devices[i]);
    }
  }
}
#endif

const struct virtio_driver *virtio_driver_for(uint32_t device_id) {
  for (size_t i = 0; i < virtio_driver_count; i++) {
    if (virtio_drivers[i]->device_id == device_id) {
      return virtio_drivers[i];
    }
  }
  return NULL;
}

/* The device's first info line (klog_later). */
static void log_bound(const void *ctx) {
  const struct virtio_device *dev = ctx;
  char what[48];
  dev->transport->describe(dev, what, sizeof(what));
  klog(LOG_INFO, "%s: %s, irq %u, driver %s\n", dev->name, what, dev->irq,
       dev->driver->name);
}

rl_status virtio_bind(struct virtio_device *dev) {
  const struct virtio_driver *drv = virtio_driver_for(dev->device_id);
  if (drv == NULL) {
    return RL_ERR_NOT_FOUND;
  }
  dev->driver = drv;
  if (CONFIG_LOG_LEVEL >= LOG_INFO) {
    klog_later(log_bound, dev);
  }
  rl_status st = drv->probe(dev);
  if (st != RL_OK) {
    klog(LOG_ERROR, "%s: probe failed: %s; boot continues without it\n",
         dev->name, rl_status_str(st));
    if (!dev->failed) {
      virtio_device_fail(dev, st, "probe");
    }
    return st; /* the record stays: the device may still hold our rings */
  }
  if (bound_count < MAX_BOUND) {
    bound_devices[bound_count++] = dev;
  }
  return RL_OK;
}
