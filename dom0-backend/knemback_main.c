// SPDX-License-Identifier: (GPL-2.0 OR BSD-3-Clause)
/*
 * knemback_main.c - dom0's backend in knem.ko: started and stopped with
 * the module in the initial domain, its operations for the native layer
 * (knem_native.h, struct knem_xen_ops) and its statistics lines.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>

#include <xen/xen.h>

#include "knemback.h"
#include "knem_native.h"

static bool knemback_active;

static size_t knemback_stats(char *buf, size_t size)
{
	struct knemback_if *ifc;
	size_t len = 0;

	len += scnprintf(buf + len, size - len,
			 " Xen backend: interfaces %d, mapped rings %d, guest regions %d, dom0 pages %d, mapped guest pages %d\n",
			 atomic_read(&knemback_totals.interfaces),
			 atomic_read(&knemback_totals.rings),
			 atomic_read(&knemback_totals.regions),
			 atomic_read(&knemback_totals.pages),
			 atomic_read(&knemback_totals.mapped_pages));
	len += knemback_budget_stats(buf + len, size - len);
	len += knemback_map_stats(buf + len, size - len);
	mutex_lock(&knemback_all_lock);
	list_for_each_entry(ifc, &knemback_all, all_node) {
		if (!READ_ONCE(ifc->ring_addr))
			continue;
		len += scnprintf(buf + len, size - len,
				 " Xen domain %u: regions %u, granted pages %u, copies %lld (%lld bytes), errors %lld, requests %lld, regions created %lld, unknown cookies %lld, by grant copy %lld, mapped %lld, DMA %lld%s\n",
				 ifc->domid, READ_ONCE(ifc->nr_regions),
				 READ_ONCE(ifc->nr_pages),
				 atomic64_read(&ifc->stats.copies),
				 atomic64_read(&ifc->stats.bytes),
				 atomic64_read(&ifc->stats.errors),
				 atomic64_read(&ifc->stats.requests),
				 atomic64_read(&ifc->stats.regions),
				 atomic64_read(&ifc->stats.unknown_cookies),
				 atomic64_read(&ifc->stats.by_grant_copy),
				 atomic64_read(&ifc->stats.by_mapping),
				 atomic64_read(&ifc->stats.by_dma),
				 ifc->persistent ? ", persistent mappings" : "");
	}
	mutex_unlock(&knemback_all_lock);
	return len;
}

/*
 * dom0's own regions get random cookies, a cookie unknown here is unknown
 * everywhere (the guests' regions are in the same table, where they are
 * also consumed), guests learn of invalidations by the lookups that fail,
 * and dom0's own copies use dom0's DMA channels (knem_dma_available()):
 * the other operations are the defaults.
 */
static const struct knem_xen_ops knemback_ops = {
	.owner = THIS_MODULE,
	.sharing_id = knemback_dom0_sharing,
	.stats = knemback_stats,
	.execute = knemback_work_execute,
};

int knemback_init(void)
{
	int err;

	if (!xen_initial_domain())
		return 0;
	knemback_budget_init();
	err = knemback_policy_init();
	if (err)
		return err;
	err = knem_xen_ops_register(&knemback_ops);
	if (err)
		goto out_policy;
	err = knemback_xenbus_init();
	if (err)
		goto out_ops;
	knemback_active = true;
	pr_info("Xen backend registered (protocol version %u)\n",
		KNEMIF_VERSION);
	return 0;

out_ops:
	knem_xen_ops_unregister(&knemback_ops);
out_policy:
	knemback_policy_exit();
	return err;
}

void knemback_exit(void)
{
	if (!knemback_active)
		return;
	/* removes every device: each one tears its guest's state down */
	knemback_xenbus_exit();
	knem_xen_ops_unregister(&knemback_ops);
	knemback_policy_exit();
	knemback_active = false;
}

/* udev loads knem.ko when the toolstack creates a guest's knem device. */
MODULE_ALIAS("xen-backend:" KNEMIF_DEVICE_TYPE);
