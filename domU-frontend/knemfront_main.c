// SPDX-License-Identifier: (GPL-2.0 OR BSD-3-Clause)
/*
 * knemfront_main.c - knem-front.ko: registers the guest's Xen operations
 * with knem.ko, whose /dev/knem the guest's processes open.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>

#include <xen/xen.h>

#include "knem_native.h"
#include "knemfront.h"

static const struct knem_xen_ops knemfront_ops = {
	.owner = THIS_MODULE,
	.dma_available = knemfront_dma_offered,
	.sharing_id = knemfront_sharing,
	.stats = knemfront_stats,
	.region_publish = knemfront_region_publish,
	.region_release = knemfront_region_release,
	.region_release_is_local = knemfront_region_release_is_local,
	.region_claim = knemfront_region_claim,
	.region_stale = knemfront_region_stale,
	.remote_prepare = knemfront_remote_prepare,
	.execute = knemfront_execute,
};

static int __init knemfront_init(void)
{
	int err;

	if (!xen_domain() || xen_initial_domain())
		return -ENODEV;
	err = knemfront_xenbus_init();
	if (err)
		return err;
	/* files opened from now on reach dom0 */
	err = knem_xen_ops_register(&knemfront_ops);
	if (err) {
		knemfront_xenbus_exit();
		return err;
	}
	pr_info("Xen frontend registered (protocol version %u)\n",
		KNEMIF_VERSION);
	return 0;
}

static void __exit knemfront_exit(void)
{
	knem_xen_ops_unregister(&knemfront_ops);
	knemfront_xenbus_exit();
}

module_init(knemfront_init);
module_exit(knemfront_exit);

MODULE_AUTHOR("knem-xen developers");
MODULE_DESCRIPTION("Xen frontend of knem: single-copy transfers between co-located guests through dom0");
MODULE_VERSION(KNEM_VERSION_STRING);
MODULE_LICENSE("Dual BSD/GPL");
/* udev loads knem-front.ko when the toolstack gives the guest a knem device. */
MODULE_ALIAS("xen:" KNEMIF_DEVICE_TYPE);
MODULE_IMPORT_NS(KNEM_NS);
