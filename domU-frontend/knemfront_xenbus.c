// SPDX-License-Identifier: (GPL-2.0 OR BSD-3-Clause)
/*
 * knemfront_xenbus.c - the "knem" xenbus frontend: version negotiation,
 * the ring and its event channel, the state machine of
 * doc/xen-protocol.md, and the device's statistics.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/ctype.h>
#include <linux/interrupt.h>
#include <linux/module.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

#include <xen/events.h>
#include <xen/xen.h>

#include "knem_native.h"
#include "knem_xen_validate.h"
#include "knemfront.h"

/*
 * The frontend's state is allocated at the first probe and lives until the
 * module unloads: regions and copies read it without a reference, and they
 * may outlive a device that the toolstack detaches (and re-attaches).
 */
struct knemfront_info *knemfront;
/* protects knemfront_bound and knemfront_dev: probe, remove, statistics */
DEFINE_MUTEX(knemfront_lock);
atomic_t knemfront_connections = ATOMIC_INIT(0);
static bool knemfront_bound;
/*
 * The device last bound, referenced until the next probe or the unload:
 * knemfront->dev stays readable after the device is removed.
 */
static struct xenbus_device *knemfront_dev;

/*
 * This guest's sharing id (0: none), the backend's sharing-id node while
 * connected.  Not in knemfront: it is read without knemfront_lock, and
 * knemfront may not be allocated yet.
 */
static u64 knemfront_sharing_id;

bool knemfront_param_persistent = true;
module_param_named(persistentmap, knemfront_param_persistent, bool, 0444);
MODULE_PARM_DESC(persistentmap,
		 "Let dom0 keep reused regions mapped (feature-persistent-map, default 1)");

static void knemfront_free_ring(struct knemfront_info *info)
{
	if (info->irq > 0) {
		unbind_from_irqhandler(info->irq, info);
		info->irq = 0;
		info->evtchn = 0;
	} else if (info->evtchn) {
		xenbus_free_evtchn(info->dev, info->evtchn);
		info->evtchn = 0;
	}
	if (info->ring.sring)
		xenbus_teardown_ring((void **)&info->ring.sring, 1,
				     &info->ring_ref);
}

static int knemfront_connect(struct knemfront_info *info)
{
	struct xenbus_device *dev = info->dev;
	struct xenbus_transaction xbt;
	struct knemif_sring *sring;
	const char *what;
	char *versions;
	int err;

	versions = xenbus_read(XBT_NIL, dev->otherend, KNEMIF_XS_VERSIONS, NULL);
	if (IS_ERR(versions)) {
		xenbus_dev_fatal(dev, PTR_ERR(versions), "reading %s/%s",
				 dev->otherend, KNEMIF_XS_VERSIONS);
		return PTR_ERR(versions);
	}
	if (!knemif_versions_has(versions, KNEMIF_VERSION)) {
		xenbus_dev_fatal(dev, -EINVAL, "backend versions \"%s\" lack %u",
				 versions, KNEMIF_VERSION);
		kfree(versions);
		return -EINVAL;
	}
	kfree(versions);
	info->max_indirect = xenbus_read_unsigned(dev->otherend,
						  KNEMIF_XS_MAX_INDIRECT_PAGES,
						  1);
	info->max_indirect = clamp_t(u32, info->max_indirect, 1,
				     KNEMIF_MAX_INDIRECT_PAGES);
	info->max_region_pages =
		xenbus_read_unsigned(dev->otherend, KNEMIF_XS_MAX_REGION_PAGES,
				     KNEMIF_DEFAULT_MAX_REGION_PAGES);
	info->feature_dma = xenbus_read_unsigned(dev->otherend,
						 KNEMIF_XS_FEATURE_DMA, 0) == 1;

	err = xenbus_setup_ring(dev, GFP_KERNEL, (void **)&sring, 1,
				&info->ring_ref);
	if (err)
		return err;
	XEN_FRONT_RING_INIT(&info->ring, sring, XEN_PAGE_SIZE);
	err = xenbus_alloc_evtchn(dev, &info->evtchn);
	if (err)
		goto fail;
	err = bind_evtchn_to_irqhandler(info->evtchn, knemfront_interrupt, 0,
					"knem-front", info);
	if (err <= 0) {
		xenbus_dev_fatal(dev, err, "binding the event channel");
		goto fail;
	}
	info->irq = err;

again:
	err = xenbus_transaction_start(&xbt);
	if (err) {
		xenbus_dev_fatal(dev, err, "starting a transaction");
		goto fail;
	}
	what = KNEMIF_XS_VERSION;
	err = xenbus_printf(xbt, dev->nodename, what, "%u", KNEMIF_VERSION);
	if (err)
		goto abort;
	what = KNEMIF_XS_RING_REF;
	err = xenbus_printf(xbt, dev->nodename, what, "%u", info->ring_ref);
	if (err)
		goto abort;
	what = KNEMIF_XS_EVENT_CHANNEL;
	err = xenbus_printf(xbt, dev->nodename, what, "%u", info->evtchn);
	if (err)
		goto abort;
	what = KNEMIF_XS_FEATURE_PERSISTENT_MAP;
	err = xenbus_printf(xbt, dev->nodename, what, "%u",
			    knemfront_param_persistent);
	if (err)
		goto abort;
	err = xenbus_transaction_end(xbt, 0);
	if (err == -EAGAIN)
		goto again;
	if (err) {
		xenbus_dev_fatal(dev, err, "completing the transaction");
		goto fail;
	}
	xenbus_switch_state(dev, XenbusStateInitialised);
	return 0;

abort:
	xenbus_transaction_end(xbt, 1);
	xenbus_dev_fatal(dev, err, "writing %s", what);
fail:
	knemfront_free_ring(info);
	return err;
}

/*
 * The value of a sharing-id node: exactly KNEMIF_SHARING_ID_DIGITS
 * lowercase hex digits, not all 0; anything else is 0 (none).
 */
static u64 knemfront_sharing_id_parse(const char *text)
{
	unsigned int i;
	u64 id;

	if (strlen(text) != KNEMIF_SHARING_ID_DIGITS)
		return 0;
	for (i = 0; i < KNEMIF_SHARING_ID_DIGITS; i++)
		if (!isdigit(text[i]) && !(text[i] >= 'a' && text[i] <= 'f'))
			return 0;
	if (kstrtou64(text, 16, &id))
		return 0;
	return id;
}

static void knemfront_sharing_id_changed(struct xenbus_watch *watch,
					 const char *path, const char *token)
{
	struct knemfront_info *info =
		container_of(watch, struct knemfront_info, sharing_id_watch);
	char *text;
	u64 id = 0;

	/* absent (a backend without it, or disconnecting): none */
	text = xenbus_read(XBT_NIL, info->dev->otherend, KNEMIF_XS_SHARING_ID,
			   NULL);
	if (!IS_ERR(text)) {
		id = knemfront_sharing_id_parse(text);
		if (!id && strcmp(text, KNEMIF_SHARING_ID_NONE))
			dev_warn_ratelimited(&info->dev->dev,
					     "malformed %s/%s, taken as none\n",
					     info->dev->otherend,
					     KNEMIF_XS_SHARING_ID);
		kfree(text);
	}
	WRITE_ONCE(knemfront_sharing_id, id);
}

/*
 * Reads the backend's sharing-id and follows it until the disconnect.
 * On failure xenbus_watch_pathfmt() has reported it and gone Closing.
 */
static int knemfront_sharing_id_follow(struct knemfront_info *info)
{
	struct xenbus_device *dev = info->dev;
	int err;

	err = xenbus_watch_pathfmt(dev, &info->sharing_id_watch, NULL,
				   knemfront_sharing_id_changed, "%s/%s",
				   dev->otherend, KNEMIF_XS_SHARING_ID);
	if (err)
		return err;
	info->sharing_id_watched = true;
	/*
	 * The watch's first event comes later on this very xenwatch thread:
	 * read the node now, so that the value is there once connected.
	 */
	knemfront_sharing_id_changed(&info->sharing_id_watch, NULL, NULL);
	return 0;
}

static void knemfront_sharing_id_forget(struct knemfront_info *info)
{
	if (!info->sharing_id_watched)
		return;
	/* waits for a callback in progress: none writes the id after this */
	unregister_xenbus_watch(&info->sharing_id_watch);
	kfree(info->sharing_id_watch.node);
	info->sharing_id_watch.node = NULL;
	info->sharing_id_watched = false;
	WRITE_ONCE(knemfront_sharing_id, 0);
}

/* The backend is going away, or the device is removed. */
static void knemfront_disconnect(struct knemfront_info *info)
{
	knemfront_sharing_id_forget(info);
	knemfront_fail_all(info);
	knemfront_released_stop(info);
	knemfront_free_ring(info);
}

static void knemfront_backend_changed(struct xenbus_device *dev,
				      enum xenbus_state backend_state)
{
	struct knemfront_info *info = dev_get_drvdata(&dev->dev);

	switch (backend_state) {
	case XenbusStateInitWait:
		if (dev->state != XenbusStateInitialising)
			break;
		if (knemfront_connect(info))
			xenbus_switch_state(dev, XenbusStateClosed);
		break;
	case XenbusStateConnected:
		if (dev->state != XenbusStateInitialised)
			break;
		if (knemfront_sharing_id_follow(info))
			break;
		spin_lock_irq(&info->lock);
		atomic_inc(&knemfront_connections);
		info->connected = true;
		spin_unlock_irq(&info->lock);
		xenbus_switch_state(dev, XenbusStateConnected);
		knemfront_released_start(info);
		dev_info(&dev->dev, "connected to domain %d\n",
			 dev->otherend_id);
		break;
	case XenbusStateClosed:
		/*
		 * A backend that is Closed while this frontend starts (a
		 * rebind, or the first event of the watch) prepares for a
		 * reconnect: it goes InitWait when it sees Initialising.
		 */
		if (dev->state == XenbusStateInitialising)
			break;
		fallthrough;
	case XenbusStateClosing:
		if (dev->state == XenbusStateClosed)
			break;
		/* fails the pending requests: regions stay usable locally */
		knemfront_disconnect(info);
		xenbus_frontend_closed(dev);
		dev_info(&dev->dev, "disconnected from domain %d\n",
			 dev->otherend_id);
		break;
	default:
		break;
	}
}

static struct knemfront_info *knemfront_info_alloc(void)
{
	struct knemfront_info *info;
	unsigned int i;

	info = kzalloc(sizeof(*info), GFP_KERNEL);
	if (!info)
		return NULL;
	spin_lock_init(&info->lock);
	init_waitqueue_head(&info->slot_wait);
	for (i = 0; i < KNEMIF_RING_SLOTS; i++)
		init_completion(&info->shadow[i].done);
	return info;
}

static int knemfront_probe(struct xenbus_device *dev,
			   const struct xenbus_device_id *id)
{
	struct knemfront_info *info;
	struct xenbus_device *old_dev;

	mutex_lock(&knemfront_lock);
	if (knemfront_bound) {
		mutex_unlock(&knemfront_lock);
		xenbus_dev_fatal(dev, -EEXIST, "one knem device per guest");
		return -EEXIST;
	}
	info = knemfront;
	if (!info) {
		info = knemfront_info_alloc();
		if (!info) {
			mutex_unlock(&knemfront_lock);
			xenbus_dev_fatal(dev, -ENOMEM, "allocating the device");
			return -ENOMEM;
		}
	}
	/*
	 * Requests of an earlier connection were all failed: the shadow
	 * slots they still hold are freed by their submitters.
	 */
	info->max_indirect = 1;
	info->max_region_pages = KNEMIF_DEFAULT_MAX_REGION_PAGES;
	get_device(&dev->dev);
	old_dev = knemfront_dev;
	knemfront_dev = dev;
	WRITE_ONCE(info->dev, dev);
	dev_set_drvdata(&dev->dev, info);
	knemfront_bound = true;
	knemfront = info;
	mutex_unlock(&knemfront_lock);
	if (old_dev)
		put_device(&old_dev->dev);

	/* rebound after an unbind: the node still says Closed */
	if (dev->state != XenbusStateInitialising)
		xenbus_switch_state(dev, XenbusStateInitialising);
	return 0;
}

static void knemfront_remove(struct xenbus_device *dev)
{
	struct knemfront_info *info = dev_get_drvdata(&dev->dev);

	/*
	 * Regions may outlive the device (the toolstack detached the
	 * guest): they keep working locally, and their release finds the
	 * frontend disconnected.
	 */
	knemfront_disconnect(info);
	if (dev->state != XenbusStateClosed)
		xenbus_switch_state(dev, XenbusStateClosed);
	dev_set_drvdata(&dev->dev, NULL);
	mutex_lock(&knemfront_lock);
	knemfront_bound = false;
	mutex_unlock(&knemfront_lock);
}

static const struct xenbus_device_id knemfront_ids[] = {
	{ KNEMIF_DEVICE_TYPE },
	{ "" }
};

static struct xenbus_driver knemfront_driver = {
	.ids = knemfront_ids,
	.probe = knemfront_probe,
	.remove = knemfront_remove,
	.otherend_changed = knemfront_backend_changed,
};

int knemfront_xenbus_init(void)
{
	return xenbus_register_frontend(&knemfront_driver);
}

/*
 * No region or copy of knem.ko uses the frontend any more (they hold a
 * reference on this module): its state goes with the driver.
 */
void knemfront_xenbus_exit(void)
{
	xenbus_unregister_driver(&knemfront_driver);
	if (knemfront_dev)
		put_device(&knemfront_dev->dev);
	knemfront_dev = NULL;
	kfree(knemfront);
	knemfront = NULL;
}

u64 knemfront_sharing(void)
{
	return READ_ONCE(knemfront_sharing_id);
}

bool knemfront_dma_offered(void)
{
	return knemfront && READ_ONCE(knemfront->connected) &&
	       knemfront->feature_dma;
}

size_t knemfront_stats(char *buf, size_t size)
{
	size_t len = 0;

	mutex_lock(&knemfront_lock);
	if (knemfront_bound)
		len = scnprintf(buf, size,
				" Xen frontend: %s to domain %d, requests %lld, errors %lld%s%s\n",
				READ_ONCE(knemfront->connected) ?
				"connected" : "not connected",
				knemfront->dev->otherend_id,
				atomic64_read(&knemfront->nr_requests),
				atomic64_read(&knemfront->nr_errors),
				knemfront_param_persistent ?
				", persistent mappings allowed" : "",
				knemfront->feature_dma ? ", DMA in dom0" : "");
	else if (knemfront)
		len = scnprintf(buf, size,
				" Xen frontend: detached, requests %lld, errors %lld\n",
				atomic64_read(&knemfront->nr_requests),
				atomic64_read(&knemfront->nr_errors));
	len += knemfront_region_stats(buf + len, size - len);
	mutex_unlock(&knemfront_lock);
	return len;
}
