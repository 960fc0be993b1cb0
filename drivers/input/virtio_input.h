/* virtio-input's layouts (virtio 1.2 §5.8). */
#ifndef DRIVERS_INPUT_VIRTIO_INPUT_H
#define DRIVERS_INPUT_VIRTIO_INPUT_H

#include <ringlight/types.h>

/* §5.8.4 struct virtio_input_config: select and subsel written by the
 * driver, size read back, then `size` bytes of the union at offset 8. */
#define VIRTIO_INPUT_CFG_SELECT 0
#define VIRTIO_INPUT_CFG_SUBSEL 1
#define VIRTIO_INPUT_CFG_SIZE 2
#define VIRTIO_INPUT_CFG_DATA 8
#define VIRTIO_INPUT_CFG_DATA_MAX 128

/* §5.8.4 enum virtio_input_config_select. */
#define VIRTIO_INPUT_CFG_UNSET 0x00
#define VIRTIO_INPUT_CFG_ID_NAME 0x01
#define VIRTIO_INPUT_CFG_ID_SERIAL 0x02
#define VIRTIO_INPUT_CFG_ID_DEVIDS 0x03
#define VIRTIO_INPUT_CFG_PROP_BITS 0x10
#define VIRTIO_INPUT_CFG_EV_BITS 0x11
#define VIRTIO_INPUT_CFG_ABS_INFO 0x12

/* §5.8.4: struct virtio_input_absinfo is five le32 (min, max, fuzz, flat,
 * res); struct virtio_input_devids four le16 (bustype, vendor, product,
 * version). */
#define VIRTIO_INPUT_ABSINFO_SIZE 20
#define VIRTIO_INPUT_DEVIDS_SIZE 8

/* §5.8.6 struct virtio_input_event: le16 type, le16 code, le32 value. */
#define VIRTIO_INPUT_EVENT_SIZE 8

/* §5.8.2 queues. */
#define VIRTIO_INPUT_EVENTQ 0
#define VIRTIO_INPUT_STATUSQ 1

#endif
