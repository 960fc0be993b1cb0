/* Device names for logs (virtio 1.2 §5 device ids). */
#include <virtio/core/virtio.h>

#ifdef CONFIG_LOG_TEXT
/* One string of the names and each id's offset in it: smaller than a
 * switch's table of pointers. */
static const char names[] = "other\0empty\0net\0block\0console\0rng\0"
                            "balloon\0gpu\0input\0vsock";
enum {
  OTHER = 0,
  EMPTY = 6,
  NET = 12,
  BLOCK = 16,
  CONSOLE = 22,
  RNG = 30,
  BALLOON = 34,
  GPU = 42,
  INPUT = 46,
  VSOCK = 52
};
static const uint8_t offsets[] = {
    [0] = EMPTY,   [1] = NET,  [2] = BLOCK,  [3] = CONSOLE, [4] = RNG,
    [5] = BALLOON, [16] = GPU, [18] = INPUT, [19] = VSOCK,
};

const char *virtio_device_name(uint32_t device_id) {
  /* virtio 1.2 §5: device ids; the others (and gaps) are "other". */
  uint8_t at = device_id < sizeof(offsets) ? offsets[device_id] : OTHER;
  return names + at;
}
#else
/* Without message text no table: a device this build drives is named by
 * its driver ("virtio-gpu" -> "gpu"), any other is "other". */
const char *virtio_device_name(uint32_t device_id) {
  const struct virtio_driver *drv = virtio_driver_for(device_id);
  return drv != NULL ? drv->name + sizeof("virtio-") - 1 : "other";
}
#endif
