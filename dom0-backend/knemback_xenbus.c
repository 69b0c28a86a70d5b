// SPDX-License-Identifier: (GPL-2.0 OR BSD-3-Clause)
/*
 * knemback_xenbus.c - the xenbus side of the backend: probe, the state
 * machine, connect and disconnect (doc/xen-protocol.md, "Xenstore").
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kref.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/slab.h>

#include <xen/events.h>
#include <xen/xen.h>

#include "knemback.h"
#include "knem_native.h"

/* Every guest's interface, for the statistics. */
DEFINE_MUTEX(knemback_all_lock);
LIST_HEAD(knemback_all);
/* The state machines of the guests' devices (knemback_state_work()). */
static struct workqueue_struct *knemback_wq;
struct knemback_totals knemback_totals;

static void knemback_if_free(struct kref *kref)
{
	struct knemback_if *ifc = container_of(kref, struct knemback_if, kref);

	kfree(ifc->otherend);
	kfree(ifc);
	atomic_dec(&knemback_totals.interfaces);
}

void knemback_if_put(struct knemback_if *ifc)
{
	kref_put(&ifc->kref, knemback_if_free);
}

/*
 * Writes @id (0: none) into the guest's sharing-id node, unless the
 * toolstack removed the backend directory (a forced detach): a plain
 * write would create it again.
 */
static void knemback_sharing_id_write(struct knemback_if *ifc, u64 id)
{
	const char *dir = ifc->dev->nodename;
	struct xenbus_transaction xbt;
	int err;

again:
	err = xenbus_transaction_start(&xbt);
	if (err)
		goto fail;
	if (!xenbus_exists(xbt, dir, "")) {
		xenbus_transaction_end(xbt, 1);
		return;
	}
	if (id)
		err = xenbus_printf(xbt, dir, KNEMIF_XS_SHARING_ID, "%016llx",
				    id);
	else
		err = xenbus_write(xbt, dir, KNEMIF_XS_SHARING_ID,
				   KNEMIF_SHARING_ID_NONE);
	if (err) {
		xenbus_transaction_end(xbt, 1);
		goto fail;
	}
	err = xenbus_transaction_end(xbt, 0);
	if (err == -EAGAIN)
		goto again;
	if (!err)
		return;
fail:
	pr_warn("domain %u: cannot write its %s (%d)\n", ifc->domid,
		KNEMIF_XS_SHARING_ID, err);
}

static void knemback_group_changed(struct xenbus_watch *watch,
				   const char *path, const char *token)
{
	struct knemback_if *ifc =
		container_of(watch, struct knemback_if, group_watch);
	char *group;
	u64 id;

	group = xenbus_read(XBT_NIL, ifc->dev->nodename,
			    KNEMIF_XS_SHARING_GROUP, NULL);
	if (IS_ERR(group))
		group = NULL;
	id = knemback_sharing_id(group);
	if (knemback_policy_set(ifc->table_domid, group)) {
		pr_warn("domain %u: cannot record its sharing group\n",
			ifc->domid);
		/* the policy may keep the old group: promise no sharing */
		id = 0;
	}
	kfree(group);
	knemback_sharing_id_write(ifc, id);
}

static irqreturn_t knemback_interrupt(int irq, void *dev_id)
{
	struct knemback_if *ifc = dev_id;

	WRITE_ONCE(ifc->irq_pending, true);
	wake_up(&ifc->wq);
	return IRQ_HANDLED;
}

static void knemback_scratch_free(struct knemback_if *ifc)
{
	unsigned int i;

	for (i = 0; i < KNEMIF_MAX_INDIRECT_PAGES; i++) {
		if (ifc->indirect[i])
			atomic_dec(&knemback_totals.pages);
		free_page((unsigned long)ifc->indirect[i]);
		ifc->indirect[i] = NULL;
	}
	if (ifc->scratch)
		atomic_dec(&knemback_totals.pages);
	free_page((unsigned long)ifc->scratch);
	ifc->scratch = NULL;
	kfree(ifc->ops);
	ifc->ops = NULL;
}

static int knemback_scratch_alloc(struct knemback_if *ifc)
{
	unsigned int i;

	ifc->ops = kcalloc(KNEMBACK_COPY_BATCH, sizeof(*ifc->ops), GFP_KERNEL);
	ifc->scratch = (void *)get_zeroed_page(GFP_KERNEL);
	if (ifc->scratch)
		atomic_inc(&knemback_totals.pages);
	if (!ifc->ops || !ifc->scratch)
		goto fail;
	for (i = 0; i < KNEMIF_MAX_INDIRECT_PAGES; i++) {
		ifc->indirect[i] = (void *)get_zeroed_page(GFP_KERNEL);
		if (!ifc->indirect[i])
			goto fail;
		atomic_inc(&knemback_totals.pages);
	}
	return 0;
fail:
	knemback_scratch_free(ifc);
	return -ENOMEM;
}

/* Undoes knemback_connect(); safe on a partly connected interface. */
static void knemback_disconnect(struct knemback_if *ifc)
{
	if (ifc->group_watch_active) {
		unregister_xenbus_watch(&ifc->group_watch);
		kfree(ifc->group_watch.node);
		ifc->group_watch.node = NULL;
		ifc->group_watch_active = false;
		/*
		 * The policy forgets the group below: so does xenstore.  The
		 * directory may be gone already (a forced detach).
		 */
		xenbus_rm(XBT_NIL, ifc->dev->nodename, KNEMIF_XS_SHARING_ID);
	}
	/* the thread answers a parked WAIT_RELEASED with 0 before it stops */
	knemback_ring_stop(ifc);
	knemback_builds_free(ifc);
	knemback_regions_teardown(ifc);
	if (ifc->irq) {
		unbind_from_irqhandler(ifc->irq, ifc);
		ifc->irq = 0;
	}
	if (ifc->ring_addr) {
		xenbus_unmap_ring_vfree(ifc->dev, ifc->ring_addr);
		ifc->ring_addr = NULL;
		atomic_dec(&knemback_totals.rings);
	}
	knemback_scratch_free(ifc);
	knemback_policy_forget(ifc->table_domid);
}

/*
 * Reads the frontend's node @node as a decimal unsigned integer, the
 * whole node: xenbus_scanf()'s "%u" would take "1x" or "12abc" too.
 */
static int knemback_read_uint(struct xenbus_device *dev, const char *node,
			      unsigned int *val)
{
	char *text;
	int err;

	text = xenbus_read(XBT_NIL, dev->otherend, node, NULL);
	if (IS_ERR(text))
		return PTR_ERR(text);
	err = kstrtouint(text, 10, val);
	kfree(text);
	return err;
}

static int knemback_connect(struct knemback_if *ifc)
{
	struct xenbus_device *dev = ifc->dev;
	unsigned int version, ring_ref, evtchn, persistent;
	grant_ref_t gref;
	void *addr;
	int err;

	if (ifc->ring_addr)
		return 0;	/* already connected */

	err = knemback_read_uint(dev, KNEMIF_XS_VERSION, &version);
	if (err) {
		xenbus_dev_fatal(dev, -EINVAL, "reading %s/%s", dev->otherend,
				 KNEMIF_XS_VERSION);
		return -EINVAL;
	}
	if (version != KNEMIF_VERSION) {
		xenbus_dev_fatal(dev, -EINVAL, "version %u not offered",
				 version);
		return -EINVAL;
	}
	err = knemback_read_uint(dev, KNEMIF_XS_RING_REF, &ring_ref);
	if (!err)
		err = knemback_read_uint(dev, KNEMIF_XS_EVENT_CHANNEL, &evtchn);
	if (err) {
		xenbus_dev_fatal(dev, err, "reading %s/ring-ref and event-channel",
				 dev->otherend);
		return err;
	}

	/* absent or malformed: no consent */
	if (knemback_read_uint(dev, KNEMIF_XS_FEATURE_PERSISTENT_MAP,
			       &persistent))
		persistent = 0;
	ifc->persistent = knemback_param_persistent && persistent == 1;

	err = knemback_scratch_alloc(ifc);
	if (err) {
		xenbus_dev_fatal(dev, err, "allocating buffers");
		return err;
	}

	gref = ring_ref;
	err = xenbus_map_ring_valloc(dev, &gref, 1, &addr);
	if (err) {
		xenbus_dev_fatal(dev, err, "mapping ring-ref %u", ring_ref);
		goto fail;
	}
	ifc->ring_addr = addr;
	atomic_inc(&knemback_totals.rings);
	BACK_RING_INIT(&ifc->ring, (struct knemif_sring *)addr, XEN_PAGE_SIZE);
	ifc->broken = false;
	ifc->irq_pending = false;

	err = bind_interdomain_evtchn_to_irqhandler_lateeoi(dev, evtchn,
							   knemback_interrupt,
							   0, "knemback", ifc);
	if (err < 0) {
		xenbus_dev_fatal(dev, err, "binding event-channel %u", evtchn);
		goto fail;
	}
	ifc->irq = err;

	err = xenbus_watch_pathfmt(dev, &ifc->group_watch, NULL,
				   knemback_group_changed, "%s/%s",
				   dev->nodename, KNEMIF_XS_SHARING_GROUP);
	if (err) {
		xenbus_dev_fatal(dev, err, "watching sharing-group");
		goto fail;
	}
	ifc->group_watch_active = true;
	/*
	 * The watch's first event comes later, on xenwatch: read the group
	 * now, so that it applies from the first request.
	 */
	knemback_group_changed(&ifc->group_watch, NULL, NULL);

	spin_lock_irq(&ifc->lock);
	ifc->disconnecting = false;
	spin_unlock_irq(&ifc->lock);
	err = knemback_ring_start(ifc);
	if (err) {
		xenbus_dev_fatal(dev, err, "starting the ring thread");
		goto fail;
	}
	return 0;

fail:
	knemback_disconnect(ifc);
	return err;
}

/*
 * Walks the backend from its current state to @state one legal step at
 * a time, connecting and disconnecting on the way.
 */
static void knemback_set_state(struct knemback_if *ifc,
			       enum xenbus_state state)
{
	struct xenbus_device *dev = ifc->dev;

	/* once removed, xenbus has the last word on the state */
	while (dev->state != state && !READ_ONCE(ifc->removed)) {
		switch (dev->state) {
		case XenbusStateClosed:
			switch (state) {
			case XenbusStateInitWait:
			case XenbusStateConnected:
				xenbus_switch_state(dev, XenbusStateInitWait);
				break;
			case XenbusStateClosing:
				xenbus_switch_state(dev, XenbusStateClosing);
				break;
			default:
				return;
			}
			break;
		case XenbusStateInitWait:
		case XenbusStateInitialised:
			switch (state) {
			case XenbusStateConnected:
				if (knemback_connect(ifc)) {
					xenbus_switch_state(dev,
							    XenbusStateClosing);
					return;
				}
				xenbus_switch_state(dev, XenbusStateConnected);
				break;
			case XenbusStateClosing:
			case XenbusStateClosed:
				xenbus_switch_state(dev, XenbusStateClosing);
				break;
			default:
				return;
			}
			break;
		case XenbusStateConnected:
			switch (state) {
			case XenbusStateInitWait:
			case XenbusStateClosing:
			case XenbusStateClosed:
				knemback_disconnect(ifc);
				xenbus_switch_state(dev, XenbusStateClosing);
				break;
			default:
				return;
			}
			break;
		case XenbusStateClosing:
			switch (state) {
			case XenbusStateInitWait:
			case XenbusStateConnected:
			case XenbusStateClosed:
				knemback_disconnect(ifc);
				xenbus_switch_state(dev, XenbusStateClosed);
				break;
			default:
				return;
			}
			break;
		default:
			return;
		}
	}
}

/*
 * Runs the state machine for the frontend's current state, in the
 * backend's own context (ifc->state_work, never two at once): connect and
 * disconnect may sleep as long as copies of other domains keep regions
 * of this guest, which would stall every xenbus device of dom0 if it ran
 * on xenwatch.  Each change of the frontend's state queues it again, so
 * it always ends on the latest one.
 */
static void knemback_state_work(struct work_struct *work)
{
	struct knemback_if *ifc =
		container_of(work, struct knemback_if, state_work);
	struct xenbus_device *dev = ifc->dev;
	enum xenbus_state frontend_state;

	if (READ_ONCE(ifc->removed)) {
		/* knemback_remove(): the last run, with its references */
		knemback_disconnect(ifc);
		put_device(&dev->dev);
		knemback_if_put(ifc);
		return;
	}
	/* our copy: xenbus frees dev->otherend once the device is removed */
	frontend_state = xenbus_read_driver_state(ifc->otherend);
	switch (frontend_state) {
	case XenbusStateInitialising:
		/*
		 * The guest's driver was unbound (the backend went Closed
		 * and stays while online) and is bound again: prepare for
		 * a new connection.
		 */
		if (dev->state == XenbusStateClosed &&
		    xenbus_dev_is_online(dev)) {
			dev_info(&dev->dev, "domain %u reconnects\n", ifc->domid);
			knemback_set_state(ifc, XenbusStateInitWait);
		}
		break;
	case XenbusStateInitialised:
	case XenbusStateConnected:
		/* a detach under way: no new connection */
		if (dev->state == XenbusStateClosed &&
		    !xenbus_dev_is_online(dev))
			break;
		knemback_set_state(ifc, XenbusStateConnected);
		break;
	case XenbusStateClosing:
		/*
		 * Orderly disconnect: the frontend ends its grants once the
		 * backend is Closed, so tear down and go all the way.
		 */
		knemback_set_state(ifc, XenbusStateClosed);
		break;
	case XenbusStateClosed:
		knemback_set_state(ifc, XenbusStateClosed);
		if (xenbus_dev_is_online(dev))
			break;
		fallthrough;
	case XenbusStateUnknown:
		/*
		 * Detached (online=0) or the frontend is gone: the device
		 * goes, and with it xenbus's reference on this module.
		 */
		knemback_set_state(ifc, XenbusStateClosed);
		dev_info(&dev->dev, "domain %u detached\n", ifc->domid);
		device_unregister(&dev->dev);
		break;
	default:
		xenbus_dev_fatal(dev, -EINVAL, "saw state %d at frontend",
				 frontend_state);
		break;
	}
}

/* On xenwatch: never waits, the state machine runs in state_work. */
static void knemback_frontend_changed(struct xenbus_device *dev,
				      enum xenbus_state frontend_state)
{
	struct knemback_if *ifc = dev_get_drvdata(&dev->dev);

	if (ifc)
		queue_work(knemback_wq, &ifc->state_work);
}

/*
 * A DMA engine needs the pages mapped: DMA copies come with persistent
 * mappings, and knem's `dma` parameter allows them (a channel may come
 * later: until then DMA copies run on the CPU).
 */
static bool knemback_offers_dma(void)
{
	return knemback_param_persistent && knem_param_dma;
}

static int knemback_write_features(struct xenbus_device *dev)
{
	struct xenbus_transaction xbt;
	const char *what;
	int err;

again:
	err = xenbus_transaction_start(&xbt);
	if (err) {
		xenbus_dev_fatal(dev, err, "starting transaction");
		return err;
	}
	what = KNEMIF_XS_VERSIONS;
	err = xenbus_printf(xbt, dev->nodename, what, "%u", KNEMIF_VERSION);
	if (err)
		goto abort;
	what = KNEMIF_XS_FEATURE_GRANT_COPY;
	err = xenbus_printf(xbt, dev->nodename, what, "%u", 1);
	if (err)
		goto abort;
	what = KNEMIF_XS_FEATURE_PERSISTENT_MAP;
	err = xenbus_printf(xbt, dev->nodename, what, "%u",
			    knemback_param_persistent);
	if (err)
		goto abort;
	what = KNEMIF_XS_FEATURE_DMA;
	err = xenbus_printf(xbt, dev->nodename, what, "%u",
			    knemback_offers_dma());
	if (err)
		goto abort;
	what = KNEMIF_XS_MAX_INDIRECT_PAGES;
	err = xenbus_printf(xbt, dev->nodename, what, "%u",
			    KNEMBACK_MAX_INDIRECT_PAGES);
	if (err)
		goto abort;
	what = KNEMIF_XS_MAX_REGION_PAGES;
	err = xenbus_printf(xbt, dev->nodename, what, "%u",
			    KNEMBACK_MAX_REGION_PAGES);
	if (err)
		goto abort;
	err = xenbus_transaction_end(xbt, 0);
	if (err == -EAGAIN)
		goto again;
	if (err)
		xenbus_dev_fatal(dev, err, "ending transaction");
	return err;

abort:
	xenbus_transaction_end(xbt, 1);
	xenbus_dev_fatal(dev, err, "writing %s", what);
	return err;
}

static int knemback_probe(struct xenbus_device *dev,
			  const struct xenbus_device_id *id)
{
	struct knemback_if *ifc;
	int err;

	ifc = kzalloc(sizeof(*ifc), GFP_KERNEL);
	if (!ifc) {
		xenbus_dev_fatal(dev, -ENOMEM, "allocating backend state");
		return -ENOMEM;
	}
	atomic_inc(&knemback_totals.interfaces);
	ifc->dev = dev;
	ifc->otherend = kstrdup(dev->otherend, GFP_KERNEL);
	if (!ifc->otherend) {
		kfree(ifc);
		atomic_dec(&knemback_totals.interfaces);
		xenbus_dev_fatal(dev, -ENOMEM, "allocating backend state");
		return -ENOMEM;
	}
	ifc->domid = dev->otherend_id;
	ifc->table_domid = ifc->domid ? ifc->domid : KNEMBACK_LOOPBACK_DOMID;
	kref_init(&ifc->kref);
	init_waitqueue_head(&ifc->wq);
	init_waitqueue_head(&ifc->release_wq);
	spin_lock_init(&ifc->lock);
	INIT_LIST_HEAD(&ifc->regions);
	INIT_LIST_HEAD(&ifc->disowned);
	ifc->region_tree = RB_ROOT;
	ifc->limits.max_indirect_pages = KNEMBACK_MAX_INDIRECT_PAGES;
	ifc->limits.max_region_pages = KNEMBACK_MAX_REGION_PAGES;
	ifc->limits.feature_dma = knemback_offers_dma();
	INIT_LIST_HEAD(&ifc->released);
	INIT_WORK(&ifc->state_work, knemback_state_work);
	ifc->next_handle = 1;
	dev_set_drvdata(&dev->dev, ifc);

	err = knemback_write_features(dev);
	if (err)
		goto fail_drvdata;
	err = xenbus_switch_state(dev, XenbusStateInitWait);
	if (err)
		goto fail_drvdata;

	mutex_lock(&knemback_all_lock);
	list_add_tail(&ifc->all_node, &knemback_all);
	mutex_unlock(&knemback_all_lock);
	return 0;

fail_drvdata:
	dev_set_drvdata(&dev->dev, NULL);
	knemback_if_put(ifc);
	return err;
}

/* xenwatch's pid is xenbus's own: its name tells it. */
static bool knemback_on_xenwatch(void)
{
	return (current->flags & PF_KTHREAD) &&
	       !strcmp(current->comm, "xenwatch");
}

static void knemback_remove(struct xenbus_device *dev)
{
	struct knemback_if *ifc = dev_get_drvdata(&dev->dev);

	if (!ifc)
		return;
	mutex_lock(&knemback_all_lock);
	list_del(&ifc->all_node);
	mutex_unlock(&knemback_all_lock);
	dev_set_drvdata(&dev->dev, NULL);
	/*
	 * The otherend watch is gone (xenbus removed it before calling us):
	 * nothing queues the state work any more but this.  xenbus writes
	 * Closed once we return, so the disconnect is done here, before,
	 * when we may wait: on module unload, or from the state work itself
	 * (a detach).  On xenwatch (the toolstack removed the backend's
	 * directory: the guest is destroyed, or detached by force) the
	 * state work's last run disconnects, after this device left the bus
	 * (it holds the device), and drops the device's reference on @ifc.
	 */
	if (!knemback_on_xenwatch()) {
		/* from the work itself: only a run queued meanwhile to drop */
		if (current_work() == &ifc->state_work)
			cancel_work(&ifc->state_work);
		else
			cancel_work_sync(&ifc->state_work);
		knemback_disconnect(ifc);
		/* regions released later still hold references */
		knemback_if_put(ifc);
		return;
	}
	get_device(&dev->dev);
	WRITE_ONCE(ifc->removed, true);
	queue_work(knemback_wq, &ifc->state_work);
}

static const struct xenbus_device_id knemback_ids[] = {
	{ KNEMIF_DEVICE_TYPE },
	{ "" }
};

static struct xenbus_driver knemback_driver = {
	.ids = knemback_ids,
	.probe = knemback_probe,
	.remove = knemback_remove,
	.otherend_changed = knemback_frontend_changed,
	/* cookies die with the backend: xenbus switches removed devices Closed */
	.allow_rebind = false,
};

int knemback_xenbus_init(void)
{
	int err;

	knemback_wq = alloc_workqueue("knemback", WQ_UNBOUND, 0);
	if (!knemback_wq)
		return -ENOMEM;
	err = xenbus_register_backend(&knemback_driver);
	if (err)
		destroy_workqueue(knemback_wq);
	return err;
}

void knemback_xenbus_exit(void)
{
	xenbus_unregister_driver(&knemback_driver);
	/* the devices' last runs: every disconnect is done */
	destroy_workqueue(knemback_wq);
}
