/* Device names for logs (virtio 1.2 §5 device ids). */
#include <virtio/core/virtio.h>

const char *virtio_device_name(uint32_t device_id) {
  /* virtio 1.2 §5: device ids. */
  switch (device_id) {
  case 0:
    return "empty";
  case 1:
    return "net";
  case 2:
    return "block";
  case 3:
    return "console";
  case 4:
    return "rng";
  case 5:
    return "balloon";
  case 16:
    return "gpu";
  case 18:
    return "input";
  case 19:
    return "vsock";
  default:
    return "other";
  }
}
