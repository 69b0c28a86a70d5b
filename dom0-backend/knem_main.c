// SPDX-License-Identifier: (GPL-2.0 OR BSD-3-Clause)
/*
 * knem_main.c - the /dev/knem misc device: module parameters, file
 * operations and the ioctl dispatch of the native driver.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/poll.h>

#include "knem_native.h"
#include "knem_xen_io.h"

unsigned int knem_param_debug;
module_param_named(debug, knem_param_debug, uint, 0644);
MODULE_PARM_DESC(debug, "Log why requests fail (default 0)");

static unsigned int knem_param_thread = 1;
module_param_named(thread, knem_param_thread, uint, 0444);
MODULE_PARM_DESC(thread, "Allow offloading copies to a kernel worker (default 1)");

int knem_param_binding = 1;
module_param_named(binding, knem_param_binding, int, 0644);
MODULE_PARM_DESC(binding,
		 "CPUs of the offload worker: 1 those of the process, -1 the others, 0 all (default 1)");

unsigned int knem_param_dma = 1;
module_param_named(dma, knem_param_dma, uint, 0444);
MODULE_PARM_DESC(dma, "Allow DMA-engine copies; 0 ignores KNEM_FLAG_DMA (default 1)");

unsigned int knem_param_dmamin = 1024;
module_param_named(dmamin, knem_param_dmamin, uint, 0644);
MODULE_PARM_DESC(dmamin, "Chunks up to this many bytes are copied by the CPU in DMA requests (default 1024)");

static unsigned int knem_param_pinlocal;
module_param_named(pinlocal, knem_param_pinlocal, uint, 0444);
MODULE_PARM_DESC(pinlocal, "Force KNEM_FLAG_PINLOCAL on every copy (default 0)");

unsigned int knem_param_pinlocalread = 1;
module_param_named(pinlocalread, knem_param_pinlocalread, uint, 0444);
MODULE_PARM_DESC(pinlocalread,
		 "Pin the local pages of inline copies that write into a region instead of using copy_from_user (default 1)");

static unsigned int knem_param_sync;
module_param_named(sync, knem_param_sync, uint, 0444);
MODULE_PARM_DESC(sync, "Ignore all asynchronous flags (default 0)");

static unsigned int knem_param_forceflags;
module_param_named(forceflags, knem_param_forceflags, uint, 0444);
MODULE_PARM_DESC(forceflags, "Flags added to every command (default 0)");

static unsigned int knem_param_ignoreflags;
module_param_named(ignoreflags, knem_param_ignoreflags, uint, 0444);
MODULE_PARM_DESC(ignoreflags, "Flags removed from every command (default 0)");

unsigned long knem_param_statslen = PAGE_SIZE;
module_param_named(statslen, knem_param_statslen, ulong, 0644);
MODULE_PARM_DESC(statslen, "Size of the statistics text buffer (default PAGE_SIZE)");

unsigned int knem_param_statsverbose;
module_param_named(statsverbose, knem_param_statsverbose, uint, 0644);
MODULE_PARM_DESC(statsverbose, "List contexts and regions in the statistics (default 0)");

unsigned long knem_param_maxregionlen;
module_param_named(maxregionlen, knem_param_maxregionlen, ulong, 0644);
MODULE_PARM_DESC(maxregionlen,
		 "Largest region in bytes; larger ones fail with EINVAL (default 0: the size of RAM)");

unsigned long knem_param_maxslots = 1UL << 16;
module_param_named(maxslots, knem_param_maxslots, ulong, 0644);
MODULE_PARM_DESC(maxslots,
		 "Largest status array in slots (bytes); a larger mmap fails with EINVAL (default 65536)");

unsigned int knem_param_memlocklimit = 1;
module_param_named(memlocklimit, knem_param_memlocklimit, uint, 0644);
MODULE_PARM_DESC(memlocklimit,
		 "Limit the pages pinned by regions to RLIMIT_MEMLOCK (ENOMEM beyond; CAP_IPC_LOCK exempt); 0: the classic unlimited pinning (default 1)");

unsigned int knem_param_maxregions = 1U << 17;
module_param_named(maxregions, knem_param_maxregions, uint, 0644);
MODULE_PARM_DESC(maxregions,
		 "Regions a file may hold; more fail with ENOSPC; 0: no limit (default 131072)");

unsigned int knem_param_maxworkers;
module_param_named(maxworkers, knem_param_maxworkers, uint, 0644);
MODULE_PARM_DESC(maxworkers,
		 "Offload workers (files with a status array) per user; more fail with EAGAIN (default 0: 4 per possible CPU)");

unsigned int knem_param_singleusereuse = 16;
module_param_named(singleusereuse, knem_param_singleusereuse, uint, 0644);
MODULE_PARM_DESC(singleusereuse,
		 "Pins of consumed single-use regions a file keeps for the next region over the same range of the same process; 0: none (default 16)");

/* knem-front.ko uses the table, the counters and the workqueue too. */
struct knem_cookie_table knem_cookies;
EXPORT_SYMBOL_NS_GPL(knem_cookies, KNEM_NS);
struct knem_counters knem_counters;
EXPORT_SYMBOL_NS_GPL(knem_counters, KNEM_NS);
struct knem_flag_policy knem_global_policy;
struct workqueue_struct *knem_wq;
EXPORT_SYMBOL_NS_GPL(knem_wq, KNEM_NS);

#define KNEM_COOKIE_TABLE_ORDER 14

static int knem_setup_flags(void)
{
	struct knem_flag_policy *policy = &knem_global_policy;

	if ((knem_param_forceflags | knem_param_ignoreflags) &
	    ~KNEM_FLAG_CLASSIC_MASK) {
		pr_err("forceflags/ignoreflags name unknown flags\n");
		return -EINVAL;
	}
	policy->forced = knem_param_forceflags;
	policy->ignored = knem_param_ignoreflags;
	if (!knem_param_dma)
		policy->ignored |= KNEM_FLAG_DMA;
	if (knem_param_pinlocal)
		policy->forced |= KNEM_FLAG_PINLOCAL;
	if (knem_param_sync)
		policy->ignored |= KNEM_FLAG_ANY_ASYNC_MASK;
	if (!knem_param_thread)
		policy->ignored |= KNEM_FLAG_ANY_THREAD_MASK;
	if (policy->forced & policy->ignored) {
		pr_err("cannot both force and ignore flags 0x%x\n",
		       policy->forced & policy->ignored);
		return -EINVAL;
	}
	return 0;
}

static int knem_open(struct inode *inode, struct file *file)
{
	struct knem_context *ctx;

	/*
	 * misc_open() left our miscdevice here; private_data is ours: the
	 * context, or NULL for a read-only file, which only reads the
	 * statistics.
	 */
	file->private_data = NULL;
	if (!(file->f_mode & FMODE_WRITE))
		return 0;
	ctx = knem_context_create();
	if (IS_ERR(ctx))
		return PTR_ERR(ctx);
	file->private_data = ctx;
	return 0;
}

static int knem_release(struct inode *inode, struct file *file)
{
	struct knem_context *ctx = file->private_data;

	if (ctx)
		knem_context_close(ctx);
	return 0;
}

static ssize_t knem_read(struct file *file, char __user *buf, size_t count,
			 loff_t *ppos)
{
	struct knem_context *ctx = file->private_data;

	/* A context reads its notify-fd completions, others the statistics. */
	if (ctx)
		return knem_async_read_notify(&ctx->async, buf, count,
					      file->f_flags & O_NONBLOCK);
	return knem_stats_read(buf, count, ppos);
}

static ssize_t knem_write(struct file *file, const char __user *buf,
			  size_t count, loff_t *ppos)
{
	return knem_stats_reset(count);
}

static __poll_t knem_poll(struct file *file, struct poll_table_struct *wait)
{
	struct knem_context *ctx = file->private_data;

	/* The statistics are always there to read. */
	if (!ctx)
		return EPOLLIN | EPOLLRDNORM;
	return knem_async_poll(&ctx->async, file, wait);
}

static int knem_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct knem_context *ctx = file->private_data;

	if (!ctx)
		return -EBADF;
	return knem_async_mmap(ctx, vma);
}

static long knem_get_info(const struct knem_context *ctx, void __user *arg)
{
	struct knem_cmd_info info = {
		.abi = KNEM_ABI_VERSION,
		.features = knem_dma_available() || knem_xen_dma_available(ctx) ?
			    KNEM_FEATURE_DMA : 0,
		.ignored_flags = knem_global_policy.ignored,
		.forced_flags = knem_global_policy.forced,
	};

	if (copy_to_user(arg, &info, sizeof(info)))
		return -EFAULT;
	return 0;
}

/* CREATE_REGION and INIT_SEND: a region over the iovec array at @uarray. */
static int knem_create_from_user(struct knem_context *ctx, u64 uarray,
				 u32 nr_iov, u32 flags, u32 protection,
				 knem_cookie_t *cookie)
{
	struct knem_cmd_param_iovec few[4], *iov;
	int err;

	if (nr_iov <= ARRAY_SIZE(few)) {
		/* the common case, one or a few iovecs: no allocation */
		if (copy_from_user(few, u64_to_user_ptr(uarray),
				   nr_iov * sizeof(*few)))
			return -EFAULT;
		return knem_user_region_create(ctx, few, nr_iov, flags,
					       protection, cookie);
	}
	err = knem_iovec_array_copy(uarray, nr_iov, &iov);
	if (err)
		return err;
	err = knem_user_region_create(ctx, iov, nr_iov, flags, protection,
				      cookie);
	kvfree(iov);
	return err;
}

/*
 * Writes the command's structure, cookie included, back; a region whose
 * cookie cannot be returned is destroyed at once.
 */
static long knem_return_region(struct knem_context *ctx, void __user *arg,
			       const void *param, size_t size,
			       knem_cookie_t cookie)
{
	if (copy_to_user(arg, param, size)) {
		knem_cookie_table_remove(&knem_cookies, cookie, ctx);
		return -EFAULT;
	}
	return 0;
}

static long knem_create_region_ioctl(struct knem_context *ctx,
				     void __user *arg)
{
	struct knem_cmd_create_region param;
	int err;

	if (copy_from_user(&param, arg, sizeof(param)))
		return -EFAULT;
	err = knem_create_from_user(ctx, param.iovec_array, param.iovec_nr,
				    param.flags, param.protection,
				    &param.cookie);
	if (err)
		return err;
	return knem_return_region(ctx, arg, &param, sizeof(param),
				  param.cookie);
}

static long knem_init_send_ioctl(struct knem_context *ctx, void __user *arg)
{
	struct knem_cmd_init_send_param param;
	int err;

	if (copy_from_user(&param, arg, sizeof(param)))
		return -EFAULT;
	err = knem_create_from_user(ctx, param.send_iovec_array,
				    param.send_iovec_nr,
				    param.flags | KNEM_FLAG_SINGLEUSE,
				    KNEM_PROT_READ, &param.send_cookie);
	if (err)
		return err;
	return knem_return_region(ctx, arg, &param, sizeof(param),
				  param.send_cookie);
}

static long knem_destroy_region_ioctl(struct knem_context *ctx,
				      void __user *arg)
{
	knem_cookie_t cookie;

	if (copy_from_user(&cookie, arg, sizeof(cookie)))
		return -EFAULT;
	return knem_cookie_table_remove(&knem_cookies, cookie, ctx);
}

static long knem_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct knem_context *ctx = file->private_data;
	void __user *uarg = (void __user *)arg;

	if (!ctx)
		return -EBADF;

	switch (cmd) {
	case KNEM_CMD_GET_INFO:
		return knem_get_info(ctx, uarg);
	case KNEM_CMD_CREATE_REGION:
		return knem_create_region_ioctl(ctx, uarg);
	case KNEM_CMD_DESTROY_REGION:
		return knem_destroy_region_ioctl(ctx, uarg);
	case KNEM_CMD_INIT_SEND:
		return knem_init_send_ioctl(ctx, uarg);
	case KNEM_CMD_COPY:
	case KNEM_CMD_COPY_BOUNDED:
	case KNEM_CMD_INLINE_COPY:
	case KNEM_CMD_INLINE_COPY_BOUNDED:
	case KNEM_CMD_SYNC_RECV:
	case KNEM_CMD_INIT_ASYNC_RECV:
		return knem_copy_ioctl(ctx, cmd, uarg);
	case KNEM_CMD_BIND_OFFLOAD:
		return knem_bind_offload_ioctl(ctx, uarg);
	default:
		knem_debug("unknown ioctl 0x%x\n", cmd);
		/* The ABI's answer to unknown commands since KNEM 0.x. */
		return -ENOSYS;
	}
}

static const struct file_operations knem_fops = {
	.owner = THIS_MODULE,
	.open = knem_open,
	.release = knem_release,
	.read = knem_read,
	.write = knem_write,
	.poll = knem_poll,
	.mmap = knem_mmap,
	.unlocked_ioctl = knem_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

/*
 * /sys/class/misc/knem/sharing_id: two processes, in different domains of
 * a Xen host, compare their values to learn without privilege whether a
 * copy between them may be allowed (doc/xen-setup.md).  It grants
 * nothing: the sharing policy in dom0 still decides every copy.
 */
static ssize_t sharing_id_show(struct device *dev,
			       struct device_attribute *attr, char *buf)
{
	u64 id = knem_xen_sharing_id();

	if (!id)
		return sysfs_emit(buf, KNEMIF_SHARING_ID_NONE "\n");
	return sysfs_emit(buf, "%016llx\n", id);
}
static DEVICE_ATTR_RO(sharing_id);

static struct attribute *knem_attrs[] = {
	&dev_attr_sharing_id.attr,
	NULL
};
ATTRIBUTE_GROUPS(knem);

static struct miscdevice knem_miscdev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = KNEM_DEVICE_NAME,
	.fops = &knem_fops,
	.groups = knem_groups,
	.mode = 0600,
};

static int __init knem_init(void)
{
	int err;

	err = knem_setup_flags();
	if (err)
		return err;
	if (!knem_param_maxregionlen)
		knem_param_maxregionlen = totalram_pages() << PAGE_SHIFT;
	if (!knem_param_maxworkers)
		knem_param_maxworkers = 4 * num_possible_cpus();

	err = knem_counters_init(&knem_counters);
	if (err)
		return err;
	err = knem_cookie_table_init(&knem_cookies, KNEM_COOKIE_TABLE_ORDER);
	if (err)
		goto out_counters;
	knem_wq = alloc_workqueue("knem", WQ_UNBOUND, 0);
	if (!knem_wq) {
		err = -ENOMEM;
		goto out_cookies;
	}
	knem_dma_init();
	/* before any file: every context of dom0 takes the backend's table */
	err = knemback_init();
	if (err)
		goto out_dma;
	err = misc_register(&knem_miscdev);
	if (err)
		goto out_backend;
	pr_info("ABI 0x%x ready, device %s\n", KNEM_ABI_VERSION,
		KNEM_DEVICE_FILENAME);
	return 0;

out_backend:
	knemback_exit();
out_dma:
	knem_dma_exit();
	destroy_workqueue(knem_wq);
out_cookies:
	knem_cookie_table_destroy(&knem_cookies);
out_counters:
	knem_counters_destroy(&knem_counters);
	return err;
}

static void __exit knem_exit(void)
{
	misc_deregister(&knem_miscdev);
	knemback_exit();
	knem_dma_exit();
	/* Region releases wait for a grace period, then run on knem_wq. */
	rcu_barrier();
	destroy_workqueue(knem_wq);
	knem_cookie_table_destroy(&knem_cookies);
	knem_counters_destroy(&knem_counters);
}

module_init(knem_init);
module_exit(knem_exit);

MODULE_AUTHOR("knem-xen developers");
MODULE_DESCRIPTION("Kernel-assisted single-copy memory transfers for MPI (KNEM ABI 0xd)");
MODULE_VERSION(KNEM_VERSION_STRING);
MODULE_LICENSE("Dual BSD/GPL");
