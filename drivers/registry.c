/* The virtio drivers built into this configuration (drivers/Kconfig). */
#include <ringlight/config.h>
#include <virtio/core/virtio.h>

#ifdef CONFIG_DRIVER_VIRTIO_RNG
extern const struct virtio_driver virtio_rng_driver;
#endif
#ifdef CONFIG_DRIVER_VIRTIO_GPU
extern const struct virtio_driver virtio_gpu_driver;
#endif
#ifdef CONFIG_DRIVER_VIRTIO_INPUT
extern const struct virtio_driver virtio_input_driver;
#endif

const struct virtio_driver *const virtio_drivers[] = {
#ifdef CONFIG_DRIVER_VIRTIO_RNG
    &virtio_rng_driver,
#endif
#ifdef CONFIG_DRIVER_VIRTIO_GPU
    &virtio_gpu_driver,
#endif
#ifdef CONFIG_DRIVER_VIRTIO_INPUT
    &virtio_input_driver,
#endif
    NULL,
};
const size_t virtio_driver_count = RL_ARRAY_SIZE(virtio_drivers) - 1;
