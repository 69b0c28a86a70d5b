// SPDX-License-Identifier: (GPL-2.0 OR BSD-3-Clause)
/*
 * knem_user_region.c - regions over a process's own memory.
 *
 * The pages are pinned at creation (FOLL_LONGTERM, and FOLL_WRITE so that
 * copy-on-write is broken before anyone writes: the pages stay the
 * owner's) and
 * an MMU interval notifier watches the range: once the owner unmaps the
 * memory or drops its pages, the pinned pages no longer back the owner's
 * buffer and the region turns stale, so that copies fail instead of
 * silently reading or writing memory the owner no longer sees.  Some
 * notifications say only that the page tables changed (a transparent huge
 * page split, a migration attempt): the region is then rechecked against
 * the owner's page tables, and lookups wait for the answer.
 *
 * The pins of a consumed single-use region may outlive it, kept by its
 * file for the next single-use region over the same range of the same
 * process (struct knem_pins): MPI sends from the same buffers message
 * after message, and pinning them again cost a third of a message.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/shmem_fs.h>
#include <linux/slab.h>
#include <linux/version.h>
#include <linux/vmalloc.h>
#include <linux/wait_bit.h>

#include "knem_native.h"

/* Iovec arrays this short are copied on the stack, not allocated. */
#define KNEM_FEW_IOVECS 4

/* Pages pinned per call: bounds the time between rescheduling points. */
#define KNEM_PIN_BATCH 4096
/*
 * Pinning a range that changes meanwhile starts again (FOLL_LONGTERM's
 * own migration out of movable memory changes it once); a range that
 * never settles is refused.
 */
#define KNEM_PIN_ATTEMPTS 8
/* Pages looked up per call by a recheck. */
#define KNEM_RECHECK_BATCH 512

int knem_iovec_array_copy(u64 uarray, u32 nr_iov,
			  struct knem_cmd_param_iovec **iov)
{
	struct knem_cmd_param_iovec *array;

	if (nr_iov > KNEM_MAX_IOVECS) {
		knem_debug("%u iovecs, more than %u\n", nr_iov,
			   KNEM_MAX_IOVECS);
		return -EINVAL;
	}
	array = kvmalloc_array(max(nr_iov, 1U), sizeof(*array),
			       GFP_KERNEL_ACCOUNT);
	if (!array)
		return -ENOMEM;
	if (copy_from_user(array, u64_to_user_ptr(uarray),
			   (size_t)nr_iov * sizeof(*array))) {
		kvfree(array);
		return -EFAULT;
	}
	*iov = array;
	return 0;
}

/*
 * Whether a page may stay pinned for write for as long as a region lives.
 * A page of the page cache of a regular file, shared with the file, may
 * not: the filesystem tracks its dirty pages through the page tables, and
 * a write through a long-term pin, long after writeback cleaned the page,
 * reaches neither its dirty accounting nor its block allocation (the
 * reason io_uring refuses such fixed buffers, and GUP itself since 6.5).
 * Anonymous memory (a private file mapping breaks copy-on-write into it),
 * shmem (tmpfs, /dev/shm, memfd, MAP_SHARED|MAP_ANONYMOUS, SysV shm) and
 * hugetlbfs have no such tracking and are allowed.
 */
static bool knem_page_longterm_writable(struct page *page)
{
	struct folio *folio = page_folio(page);
	struct address_space *mapping;

	if (folio_test_anon(folio) || folio_test_hugetlb(folio))
		return true;
	mapping = READ_ONCE(folio->mapping);
	/* truncated from its file: no filesystem will look at it again */
	if (!mapping)
		return true;
	if ((unsigned long)mapping & PAGE_MAPPING_FLAGS)
		return false;		/* movable, KSM: not ours to write */
	return shmem_mapping(mapping);
}

int knem_pin_segs(const struct knem_seg *segs, u32 nr_segs,
		  struct page **pages, unsigned int gup_flags)
{
	const bool longterm_write = (gup_flags & (FOLL_LONGTERM | FOLL_WRITE)) ==
				    (FOLL_LONGTERM | FOLL_WRITE);
	u64 j;
	u64 pinned = 0;
	u32 i;
	int ret;

	for (i = 0; i < nr_segs; i++) {
		u64 start = segs[i].addr & PAGE_MASK;
		u64 todo = knem_range_nr_pages(segs[i].addr, segs[i].len);

		while (todo) {
			int batch = min_t(u64, todo, KNEM_PIN_BATCH);

			ret = pin_user_pages_fast(start, batch, gup_flags,
						  pages + pinned);
			if (ret <= 0) {
				ret = ret == -ENOMEM ? -ENOMEM : -EFAULT;
				goto out_unpin;
			}
			for (j = 0; longterm_write && j < (u64)ret; j++) {
				if (knem_page_longterm_writable(pages[pinned + j]))
					continue;
				knem_debug("0x%llx: a shared file mapping, not pinned for write\n",
					   start + (j << PAGE_SHIFT));
				pinned += ret;
				ret = -EFAULT;
				goto out_unpin;
			}
			pinned += ret;
			todo -= ret;
			start += (u64)ret << PAGE_SHIFT;
			cond_resched();
		}
	}
	return 0;

out_unpin:
	unpin_user_pages(pages, pinned);
	return ret;
}

/*
 * The pins of a region: its pinned pages, the MMU interval notifier that
 * watches them, their RLIMIT_MEMLOCK charge and a kept kernel mapping.
 * They are an object of their own so that a consumed single-use region
 * can leave them to the next single-use region over the same range of
 * the same process, created through the same file (MPI sends from the
 * same buffers message after message): the region structure cannot be
 * reused, since lookups may walk its cookie-table chain until a grace
 * period has passed and a structure linked again meanwhile would lead
 * them into another chain; and the notifier must stay registered across
 * the hand-over, which removing and inserting it again would not see.
 *
 * The pins belong to their region (@region) while it lives; then, kept,
 * to the file (ctx->kept_pins, at most singleusereuse of them), until a
 * new region takes them over or whoever unlinks them from the file drops
 * them.  @lock orders the hand-overs with the notifier: a notification
 * while no region uses the pins makes them stale (no recheck can run for
 * them, and nobody copies from them) and queues their drop; stale pins
 * are never reused.  While a region uses them, @lock also orders the
 * notifier's sequence with the region's recheck.  Lock order: the
 * context's lock, then @lock.  Pins with no region and not stale are on
 * their file's list: both change together under both locks.
 */
struct knem_pins {
	struct mmu_interval_notifier notifier;
	bool notifier_active;
	spinlock_t lock;		/* region, stale, pinning; see above */
	struct knem_user_region *region; /* the region using them, or NULL */
	bool pinning;			/* knem_pins_pin() at work */
	bool stale;			/* never to be reused */
	bool embedded;			/* in their region's allocation */
	/*
	 * Were kept once (a region using them took them over): drop_work
	 * may run, and their mapping is kept with them.
	 */
	bool kept;
	struct knem_context *ctx;	/* whose file keeps them */
	struct list_head kept_node;	/* in ctx->kept_pins (ctx->lock) */
	struct work_struct drop_work;	/* kept pins that went stale */
	/* what a new region must ask for to take them over */
	u64 addr;
	u64 len;
	u32 protection;
	struct mm_struct *mm;		/* charged with @charged pinned pages */
	u32 charged;
	void *mapped;			/* knem_user_region_mapping(), or NULL */
	u32 nr_pages;
	struct page *pages[];
};

static bool knem_range_hits_segs(const struct knem_region *region,
				 unsigned long start, unsigned long end)
{
	u32 i;

	for (i = 0; i < region->nr_segs; i++) {
		const struct knem_seg *seg = &region->segs[i];

		if (seg->addr < end && start < seg->addr + seg->len)
			return true;
	}
	return false;
}

/* Called with the lock of the region's pins held. */
static void knem_user_region_went_stale(struct knem_user_region *region)
{
	knem_debug("region %016llx invalidated\n", region->core.cookie);
	region->pins->stale = true;
	knem_region_mark_stale(&region->core);
	knem_xen_region_stale(region);
}

/*
 * Only an unmap (munmap, mremap, the owner's exit) certainly takes the
 * range away.  Other clearing notifications cover page-table changes that
 * may keep the very pages the region pinned: a huge page split (by an
 * mprotect, an madvise or an munmap of other pages in it) clears the
 * whole 2 MiB, as does a failed collapse or migration of pinned pages.
 * Those make the region wait for a recheck (knem_user_region_recheck())
 * instead of turning it stale.  Pins that no region uses have nobody to
 * recheck them: any notification makes them stale.
 */
static bool knem_pins_invalidate(struct mmu_interval_notifier *mni,
				 const struct mmu_notifier_range *range,
				 unsigned long cur_seq)
{
	struct knem_pins *pins = container_of(mni, struct knem_pins, notifier);
	struct knem_user_region *region;
	bool queued;

	spin_lock(&pins->lock);
	region = pins->region;
	if (pins->stale)
		goto out;
	if (!region) {
		/* kept by the file: even a change of permissions */
		pins->stale = true;
		queue_work(knem_wq, &pins->drop_work);
		goto out;
	}
	switch (range->event) {
	case MMU_NOTIFY_PROTECTION_VMA:
	case MMU_NOTIFY_PROTECTION_PAGE:
	case MMU_NOTIFY_SOFT_DIRTY:
		/* Same pages, other permissions: fork's COW marking, mprotect. */
		goto out;
	default:
		break;
	}
	if (!knem_range_hits_segs(&region->core, range->start, range->end))
		goto out;
	if (pins->pinning) {
		/* what is pinned so far may be gone: knem_pins_pin() retries */
		mmu_interval_set_seq(mni, cur_seq);
		goto out;
	}
	if (knem_region_is_stale(&region->core))
		goto out;
	if (range->event == MMU_NOTIFY_UNMAP ||
	    range->event == MMU_NOTIFY_RELEASE) {
		knem_user_region_went_stale(region);
		goto out;
	}
	/*
	 * A region whose last reference went has no lookups left to fail,
	 * but nobody will recheck its pins: they must not be kept.
	 */
	if (!knem_refcount_inc_not_zero(&region->core.refs)) {
		pins->stale = true;
		goto out;
	}
	mmu_interval_set_seq(mni, cur_seq);
	set_bit(KNEM_REGION_RECHECK, &region->core.state);
	/* A recheck already queued holds its own reference and sees this. */
	queued = queue_work(knem_wq, &region->recheck_work);
	spin_unlock(&pins->lock);
	if (!queued)
		knem_region_put(&region->core);
	return true;

out:
	spin_unlock(&pins->lock);
	return true;
}

static long knem_lookup_mapped_pages(struct mm_struct *mm, unsigned long addr,
				     unsigned long nr_pages,
				     struct page **pages)
{
	/* FOLL_NOFAULT: a page the owner dropped is not brought back. */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 5, 0)
	return get_user_pages_remote(mm, addr, nr_pages, FOLL_NOFAULT, pages,
				     NULL, NULL);
#else
	return get_user_pages_remote(mm, addr, nr_pages, FOLL_NOFAULT, pages,
				     NULL);
#endif
}

/*
 * Whether the owner still maps, at every page of @region, the page the
 * region pinned there; @found has room for KNEM_RECHECK_BATCH pages.
 * Called with the owner's mmap lock held for read.
 */
static bool knem_user_region_still_mapped(struct knem_user_region *region,
					  struct mm_struct *mm,
					  struct page **found)
{
	const struct knem_region *core = &region->core;
	u32 i;

	for (i = 0; i < core->nr_segs; i++) {
		const struct knem_seg *seg = &core->segs[i];
		unsigned long addr = seg->addr & PAGE_MASK;
		u64 todo = knem_range_nr_pages(seg->addr, seg->len);
		struct page **pinned = core->pages + seg->first_page;

		while (todo) {
			unsigned long batch = min_t(u64, todo,
						    KNEM_RECHECK_BATCH);
			long n = knem_lookup_mapped_pages(mm, addr, batch,
							  found);
			bool same = n > 0;
			long j;

			for (j = 0; j < n; j++) {
				same = same && found[j] == pinned[j];
				put_page(found[j]);
			}
			if (!same)
				return false;
			todo -= n;
			addr += n << PAGE_SHIFT;
			pinned += n;
			cond_resched();
		}
	}
	return true;
}

/*
 * Decides a region under recheck: compares its pinned pages with what the
 * owner maps once the page-table change is over.  A change that started
 * meanwhile queued this work again, which then decides.  The region's
 * reference keeps its pins its own meanwhile.
 */
static void knem_user_region_recheck(struct work_struct *work)
{
	struct knem_user_region *region =
		container_of(work, struct knem_user_region, recheck_work);
	struct knem_pins *pins = region->pins;
	struct mm_struct *mm = pins->notifier.mm;
	struct page **found;
	unsigned long seq;
	bool mapped = false;

	seq = mmu_interval_read_begin(&pins->notifier);
	found = kmalloc_array(KNEM_RECHECK_BATCH, sizeof(*found), GFP_KERNEL);
	/* Without memory to look, or without an owner, the region is lost. */
	if (found && mmget_not_zero(mm)) {
		mmap_read_lock(mm);
		mapped = knem_user_region_still_mapped(region, mm, found);
		mmap_read_unlock(mm);
		mmput(mm);
	}
	kfree(found);

	spin_lock(&pins->lock);
	if (!mmu_interval_read_retry(&pins->notifier, seq)) {
		if (!mapped)
			knem_user_region_went_stale(region);
		clear_and_wake_up_bit(KNEM_REGION_RECHECK,
				      &region->core.state);
	}
	spin_unlock(&pins->lock);
	knem_region_put_sleepable(&region->core);
}

int knem_region_settle(struct knem_region *region)
{
	if (wait_on_bit(&region->state, KNEM_REGION_RECHECK, TASK_KILLABLE))
		return -EINTR;
	return knem_region_is_stale(region) ? -EFAULT : 0;
}

int knem_region_lookup(knem_cookie_t cookie, const struct knem_access *access,
		       struct knem_region **region)
{
	int err;

	err = knem_cookie_table_lookup(&knem_cookies, cookie, access, region);
	/* a guest's region (owner_domid) has no notifier and no recheck */
	if (err || (*region)->owner_domid)
		return err;
	err = knem_region_settle(*region);
	if (err) {
		knem_region_put_sleepable(*region);
		*region = NULL;
	}
	return err;
}

static const struct mmu_interval_notifier_ops knem_pins_mn_ops = {
	.invalidate = knem_pins_invalidate,
};

/*
 * One allocation holds the region and, behind it, its segment array and,
 * for @nr_pages pages, its pins (*@pins_mem): a region whose pins will
 * never be kept is allocated once, whatever its size.  The pins of one
 * that may leave them to the next region are allocated apart.
 */
static struct knem_user_region *knem_user_region_alloc(u32 nr_segs,
							bool with_pins,
							u32 nr_pages,
							void **pins_mem)
{
	struct knem_user_region *region;
	struct knem_pins *pins;
	size_t segs_size = array_size(max(nr_segs, 1U),
				      sizeof(*region->core.segs));
	size_t size = size_add(sizeof(*region), segs_size);

	BUILD_BUG_ON(sizeof(*region) % __alignof__(*region->core.segs));
	BUILD_BUG_ON(sizeof(*region->core.segs) % __alignof__(*pins));
	if (with_pins)
		size = size_add(size, struct_size(pins, pages,
						  max(nr_pages, 1U)));
	/* sized by the caller's iovecs: charged, and never a warning */
	region = kvmalloc(size, GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	if (!region)
		return NULL;
	memset(region, 0, sizeof(*region));
	region->core.segs = (struct knem_seg *)(region + 1);
	*pins_mem = with_pins ? (char *)region->core.segs + segs_size : NULL;
	return region;
}

static void knem_user_region_free(struct knem_user_region *region)
{
	kvfree(region);
}

atomic64_t knem_pinned_pages = ATOMIC64_INIT(0);

/*
 * Charges the long-term pins of @pins to the caller's mm as RDMA does
 * (ib_umem_get()): mm->pinned_vm, limited by RLIMIT_MEMLOCK unless the
 * caller has CAP_IPC_LOCK or the memlocklimit parameter is 0 (-ENOMEM).
 * The charge stays with the mm (held by the pins) until the pages are
 * unpinned, kept pins included.
 */
static int knem_pins_charge(struct knem_pins *pins)
{
	struct mm_struct *mm = current->mm;
	u32 nr_pages = pins->nr_pages;
	unsigned long limit;
	s64 pinned;

	if (!nr_pages)
		return 0;
	pinned = atomic64_add_return(nr_pages, &mm->pinned_vm);
	limit = rlimit(RLIMIT_MEMLOCK) >> PAGE_SHIFT;
	if (pinned > limit && READ_ONCE(knem_param_memlocklimit) &&
	    !capable(CAP_IPC_LOCK)) {
		atomic64_sub(nr_pages, &mm->pinned_vm);
		knem_debug("create: %u pages would pin %lld, RLIMIT_MEMLOCK allows %lu\n",
			   nr_pages, pinned, limit);
		return -ENOMEM;
	}
	mmgrab(mm);
	pins->mm = mm;
	pins->charged = nr_pages;
	atomic64_add(nr_pages, &knem_pinned_pages);
	return 0;
}

static void knem_pins_uncharge(struct knem_pins *pins)
{
	if (!pins->charged)
		return;
	atomic64_sub(pins->charged, &pins->mm->pinned_vm);
	atomic64_sub(pins->charged, &knem_pinned_pages);
	mmdrop(pins->mm);
	pins->charged = 0;
}

/*
 * Gives back everything @pins hold, which nothing reaches any more (no
 * region, no list); may sleep.  From their own drop work, which must not
 * wait for itself, @in_drop_work.
 */
static void knem_pins_free(struct knem_pins *pins, bool in_drop_work)
{
	if (pins->notifier_active)
		mmu_interval_notifier_remove(&pins->notifier);
	/* no notification queues the drop any more */
	if (pins->kept && !in_drop_work)
		cancel_work_sync(&pins->drop_work);
	if (pins->mapped)
		vunmap(pins->mapped);
	unpin_user_pages_dirty_lock(pins->pages, pins->nr_pages,
				    pins->protection & KNEM_PROT_WRITE);
	knem_pins_uncharge(pins);
	/* embedded ones go with their region, after a grace period */
	if (!pins->embedded)
		kvfree(pins);
}

/* Kept pins went stale: dropped unless someone took them off the list. */
static void knem_pins_drop_work(struct work_struct *work)
{
	struct knem_pins *pins = container_of(work, struct knem_pins,
					      drop_work);
	struct knem_context *ctx = pins->ctx;
	bool listed;

	/* the pins are listed, or their remover waits for this work */
	spin_lock(&ctx->lock);
	listed = !list_empty(&pins->kept_node);
	if (listed) {
		list_del_init(&pins->kept_node);
		ctx->nr_kept--;
	}
	spin_unlock(&ctx->lock);
	if (listed)
		knem_pins_free(pins, true);
}

unsigned int knem_pins_drop_kept(struct knem_context *ctx, bool closing)
{
	struct knem_pins *pins;
	unsigned int dropped = 0;

	/* one at a time: a listed entry is always the list's */
	for (;;) {
		spin_lock(&ctx->lock);
		if (closing)
			ctx->closing = true;
		pins = list_first_entry_or_null(&ctx->kept_pins,
						struct knem_pins, kept_node);
		if (pins) {
			list_del_init(&pins->kept_node);
			ctx->nr_kept--;
		}
		spin_unlock(&ctx->lock);
		if (!pins)
			return dropped;
		knem_pins_free(pins, false);
		dropped++;
	}
}

/*
 * Pins that the next region may take over: a single-use region's, over
 * one segment of this kernel's process.  In a guest, the region's Xen
 * side (the grants of its pages, its declaration in dom0) has gone when
 * they are kept: the next region shares the pages anew.
 */
static bool knem_pins_keepable(const struct knem_user_region *region)
{
	return (region->core.flags & KNEM_FLAG_SINGLEUSE) &&
	       region->core.nr_segs == 1 && region->pins->charged &&
	       !region->pins->embedded;
}

/* Takes the least recently kept pins of @ctx off its list; ctx->lock held. */
static struct knem_pins *knem_pins_evict_locked(struct knem_context *ctx)
{
	struct knem_pins *pins = list_last_entry(&ctx->kept_pins,
						 struct knem_pins, kept_node);

	list_del_init(&pins->kept_node);
	ctx->nr_kept--;
	return pins;
}

/*
 * The last reference to @region is gone: its pins go to its file's list
 * if @keepable and still the owner's, the least recently kept ones
 * making room (*@evicted).  Returns the pins to drop: @region's own when
 * not kept, else NULL.  Called with the context's lock held.
 */
static struct knem_pins *knem_pins_keep_locked(struct knem_user_region *region,
					       bool keepable,
					       struct knem_pins **evicted)
{
	struct knem_context *ctx = region->ctx;
	struct knem_pins *pins = region->pins;
	unsigned int max = READ_ONCE(knem_param_singleusereuse);
	bool keep;

	*evicted = NULL;
	if (!keepable || !max || ctx->closing)
		return pins;
	/* singleusereuse was lowered: one fewer per release */
	if (ctx->nr_kept > max) {
		*evicted = knem_pins_evict_locked(ctx);
		return pins;
	}
	spin_lock(&pins->lock);
	/* under recheck cannot be: the recheck holds a reference */
	keep = !pins->stale && !knem_region_is_stale(&region->core) &&
	       !test_bit(KNEM_REGION_RECHECK, &region->core.state);
	if (keep) {
		pins->region = NULL;
		pins->kept = true;
	}
	spin_unlock(&pins->lock);
	if (!keep)
		return pins;
	if (ctx->nr_kept == max)
		*evicted = knem_pins_evict_locked(ctx);
	list_add(&pins->kept_node, &ctx->kept_pins);
	ctx->nr_kept++;
	return NULL;
}

/*
 * Pins kept by the file of @region over exactly its one segment, in the
 * caller's process (another process's same address is other memory),
 * with its protection and not stale: taken over by @region, or NULL.
 */
static struct knem_pins *knem_pins_take_kept(struct knem_user_region *region)
{
	const struct knem_seg *seg = &region->core.segs[0];
	struct knem_context *ctx = region->ctx;
	struct knem_pins *pins, *found = NULL;
	bool usable;

	spin_lock(&ctx->lock);
	list_for_each_entry(pins, &ctx->kept_pins, kept_node) {
		if (pins->mm != current->mm || pins->addr != seg->addr ||
		    pins->len != seg->len ||
		    pins->protection != region->core.protection)
			continue;
		spin_lock(&pins->lock);
		usable = !pins->stale;
		if (usable) {
			/* a notification may recheck the region from now on */
			region->core.pages = pins->pages;
			pins->region = region;
		}
		spin_unlock(&pins->lock);
		/* stale ones are left to their drop work */
		if (!usable)
			continue;
		list_del_init(&pins->kept_node);
		ctx->nr_kept--;
		found = pins;
		break;
	}
	spin_unlock(&ctx->lock);
	return found;
}

/* Pins for @region, in @mem (its own allocation) or allocated apart. */
static struct knem_pins *knem_pins_alloc(struct knem_user_region *region,
					 void *mem)
{
	const struct knem_region *core = &region->core;
	struct knem_pins *pins = mem;

	/* sized by the caller's iovecs: charged, and never a warning */
	if (!pins)
		pins = kvmalloc(struct_size(pins, pages,
					    max(core->nr_pages, 1U)),
				GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	if (!pins)
		return NULL;
	memset(pins, 0, sizeof(*pins));
	pins->embedded = !!mem;
	spin_lock_init(&pins->lock);
	INIT_LIST_HEAD(&pins->kept_node);
	INIT_WORK(&pins->drop_work, knem_pins_drop_work);
	/* the notifier reads them as soon as it is inserted */
	region->core.pages = pins->pages;
	pins->region = region;
	pins->pinning = true;
	pins->ctx = region->ctx;
	pins->protection = core->protection;
	pins->nr_pages = core->nr_pages;
	if (core->nr_segs == 1) {
		pins->addr = core->segs[0].addr;
		pins->len = core->segs[0].len;
	}
	return pins;
}

static int knem_pins_watch(struct knem_pins *pins,
			   const struct knem_region *core)
{
	u64 start = U64_MAX, end = 0;
	u32 i;
	int err;

	for (i = 0; i < core->nr_segs; i++) {
		start = min(start, core->segs[i].addr);
		end = max(end, core->segs[i].addr + core->segs[i].len);
	}
	if (!core->nr_segs)
		return 0;
	err = mmu_interval_notifier_insert(&pins->notifier, current->mm,
					   start, end - start,
					   &knem_pins_mn_ops);
	if (err)
		return err;
	pins->notifier_active = true;
	return 0;
}

/*
 * Pins the pages of @core into @pins, whose notifier watches the range
 * already: an unmap between pinning a page and watching it would be seen
 * by nobody, and the region would keep a page its owner no longer maps.
 * A notification over the range while pinning makes it pin again.
 */
static int knem_pins_pin(struct knem_pins *pins, const struct knem_region *core)
{
	const unsigned int gup_flags = FOLL_LONGTERM;
	unsigned long seq = 0;
	unsigned int attempt;
	bool changed;
	int err;

	for (attempt = 0; attempt < KNEM_PIN_ATTEMPTS; attempt++) {
		if (pins->notifier_active)
			seq = mmu_interval_read_begin(&pins->notifier);
		/*
		 * Read-only regions are pinned for write too where the
		 * mapping allows it: a read-only pin of memory the owner
		 * never touched captures the shared zero page, which the
		 * owner's first write replaces, turning the region stale
		 * at once.
		 */
		err = knem_pin_segs(core->segs, core->nr_segs, pins->pages,
				    gup_flags | FOLL_WRITE);
		if (err == -EFAULT && !(core->protection & KNEM_PROT_WRITE))
			err = knem_pin_segs(core->segs, core->nr_segs,
					    pins->pages, gup_flags);
		if (err)
			return err;
		spin_lock(&pins->lock);
		changed = pins->notifier_active &&
			  mmu_interval_read_retry(&pins->notifier, seq);
		if (!changed)
			pins->pinning = false;
		spin_unlock(&pins->lock);
		if (!changed)
			return 0;
		unpin_user_pages(pins->pages, pins->nr_pages);
	}
	knem_debug("create: the range kept changing while pinned\n");
	return -EAGAIN;
}

/*
 * Pins the pages of @region, charged and watched, as its own pins (in
 * @mem, or allocated apart).
 */
static int knem_pins_create(struct knem_user_region *region, void *mem)
{
	struct knem_region *core = &region->core;
	struct knem_pins *pins;
	int err;

	pins = knem_pins_alloc(region, mem);
	if (!pins)
		return -ENOMEM;
	err = knem_pins_charge(pins);
	/* the pins the file keeps may be what stands in the way */
	if (err && knem_pins_drop_kept(region->ctx, false))
		err = knem_pins_charge(pins);
	if (err) {
		knem_refused(KNEM_REFUSED_MEMLOCK);
		goto out_free;
	}

	err = knem_pins_watch(pins, core);
	if (err)
		goto out_uncharge;
	err = knem_pins_pin(pins, core);
	if (err) {
		knem_debug("create: cannot pin %u pages (%d)\n",
			   pins->nr_pages, err);
		goto out_unwatch;
	}
	region->pins = pins;
	return 0;

out_unwatch:
	if (pins->notifier_active)
		mmu_interval_notifier_remove(&pins->notifier);
out_uncharge:
	knem_pins_uncharge(pins);
out_free:
	if (!mem)
		kvfree(pins);
	return err;
}

/*
 * Gives everything back, or leaves the pins to the next region; may
 * sleep.  Lookups never use the pages of a region whose last reference
 * is gone, but they may still read the structure while walking its
 * cookie-table chain: it goes after a grace period.
 */
static void knem_user_region_teardown(struct knem_user_region *region)
{
	struct knem_context *ctx = region->ctx;
	bool keepable = knem_pins_keepable(region);
	struct knem_pins *drop, *evicted;

	knem_xen_region_release(region);

	spin_lock(&ctx->lock);
	list_del(&region->ctx_node);
	drop = knem_pins_keep_locked(region, keepable, &evicted);
	spin_unlock(&ctx->lock);
	if (drop)
		knem_pins_free(drop, false);
	if (evicted)
		knem_pins_free(evicted, false);

	atomic_dec(&ctx->nr_regions);
	knem_context_put(ctx);
	kvfree_rcu(region, rcu);
}

static void knem_user_region_release_work(struct work_struct *work)
{
	knem_user_region_teardown(container_of(work, struct knem_user_region,
					       release_work));
}

static void knem_user_region_release(struct knem_region *core)
{
	struct knem_user_region *region =
		container_of(core, struct knem_user_region, core);

	INIT_WORK(&region->release_work, knem_user_region_release_work);
	queue_work(knem_wq, &region->release_work);
}

/*
 * A region shared with dom0 is withdrawn with a round trip to it, which
 * the caller (a copy, often of this guest only) must not wait for; one
 * withdrawn already (a single-use region claimed by its local use) is
 * released in the call, as a native one, and leaves its pins to the
 * next region before the sender declares it.
 */
static void knem_user_region_release_sleepable(struct knem_region *core)
{
	struct knem_user_region *region =
		container_of(core, struct knem_user_region, core);

	if (READ_ONCE(region->xen) && !knem_xen_region_release_is_local(region))
		knem_user_region_release(core);
	else
		knem_user_region_teardown(region);
}

static const struct knem_region_ops knem_user_region_ops = {
	.release = knem_user_region_release,
	.release_sleepable = knem_user_region_release_sleepable,
};

bool knem_user_region_claim(struct knem_region *core)
{
	if (core->ops != &knem_user_region_ops)
		return true;
	return knem_xen_region_claim(container_of(core, struct knem_user_region,
						  core));
}

void *knem_user_region_mapping(struct knem_region *core)
{
	struct knem_user_region *region =
		container_of(core, struct knem_user_region, core);
	struct knem_pins *pins;
	void *mapped, *first;

	if (core->ops != &knem_user_region_ops)
		return NULL;
	pins = region->pins;
	/*
	 * A single-use region is mapped for its copy only, unless its pins
	 * were kept already (and may be again): their mapping is kept too.
	 */
	if ((core->flags & KNEM_FLAG_SINGLEUSE) && !pins->kept)
		return NULL;
	/* pairs with the cmpxchg: the mapping's page tables, then it */
	mapped = smp_load_acquire(&pins->mapped);
	if (mapped)
		return mapped;
	mapped = vmap(pins->pages, pins->nr_pages, VM_MAP, PAGE_KERNEL);
	if (!mapped)
		return NULL;
	/* another copy of the region may have mapped it meanwhile */
	first = cmpxchg(&pins->mapped, NULL, mapped);
	if (first) {
		vunmap(mapped);
		return first;
	}
	return mapped;
}

int knem_user_region_create(struct knem_context *ctx,
			    const struct knem_cmd_param_iovec *iov, u32 nr_iov,
			    u32 flags, u32 protection, knem_cookie_t *cookie)
{
	struct knem_user_region *region;
	knem_cookie_t fixed_cookie = 0;
	u32 nr_segs, nr_pages;
	bool reusable;
	void *pins_mem;
	u64 total;
	int err;

	err = knem_flags_for_create(&ctx->policy, flags, &flags);
	if (err) {
		knem_debug("create: unknown flags 0x%x\n", flags);
		return err;
	}
	err = knem_iovecs_measure(iov, nr_iov, knem_param_maxregionlen,
				  &total, &nr_segs, &nr_pages);
	if (err) {
		knem_debug("create: invalid iovecs (%d)\n", err);
		return err;
	}
	/* Counted until the region is freed, not only while it is linked. */
	if (atomic_inc_return(&ctx->nr_regions) >
	    READ_ONCE(knem_param_maxregions) &&
	    READ_ONCE(knem_param_maxregions)) {
		knem_debug("create: the file has %u regions already\n",
			   READ_ONCE(knem_param_maxregions));
		knem_refused(KNEM_REFUSED_REGIONS);
		err = -ENOSPC;
		goto out_count;
	}

	reusable = (flags & KNEM_FLAG_SINGLEUSE) && nr_segs == 1 &&
		   READ_ONCE(knem_param_singleusereuse);
	region = knem_user_region_alloc(nr_segs, !reusable, nr_pages,
					&pins_mem);
	if (!region) {
		err = -ENOMEM;
		goto out_count;
	}
	knem_region_init(&region->core, &knem_user_region_ops, ctx, ctx->uid,
			 flags, protection);
	/* the notifier and the Xen side read it; referenced once published */
	region->ctx = ctx;
	region->core.length = total;
	region->core.nr_segs = nr_segs;
	region->core.nr_pages = nr_pages;
	knem_segs_from_iovecs(iov, nr_iov, region->core.segs);
	INIT_WORK(&region->recheck_work, knem_user_region_recheck);

	if (reusable)
		region->pins = knem_pins_take_kept(region);
	if (!region->pins) {
		err = knem_pins_create(region, pins_mem);
		if (err)
			goto out_free;
	}
	err = knem_xen_region_publish(region, &fixed_cookie);
	if (err)
		goto out_pins;

	knem_context_get(ctx);
	spin_lock(&ctx->lock);
	list_add_tail(&region->ctx_node, &ctx->regions);
	spin_unlock(&ctx->lock);

	if (fixed_cookie)
		err = knem_cookie_table_insert_cookie(&knem_cookies,
						      &region->core,
						      fixed_cookie);
	else
		err = knem_cookie_table_insert(&knem_cookies, &region->core);
	if (!err)
		*cookie = region->core.cookie;
	/*
	 * The table holds the region now; the creator's reference goes.
	 * A refused cookie releases the region (and its Xen side) here.
	 */
	knem_region_put(&region->core);
	return err;

out_pins:
	knem_pins_free(region->pins, false);
out_free:
	knem_user_region_free(region);
out_count:
	atomic_dec(&ctx->nr_regions);
	return err;
}

int knem_local_iovecs_get(struct knem_local_iovecs *local, u64 uarray,
			  u32 nr_iov)
{
	struct knem_cmd_param_iovec few[KNEM_FEW_IOVECS], *iov;
	int err;

	memset(local, 0, sizeof(*local));
	if (nr_iov <= ARRAY_SIZE(few)) {
		/* the common case, one or a few iovecs: no allocation */
		if (copy_from_user(few, u64_to_user_ptr(uarray),
				   nr_iov * sizeof(*few)))
			return -EFAULT;
		iov = few;
	} else {
		err = knem_iovec_array_copy(uarray, nr_iov, &iov);
		if (err)
			return err;
	}
	err = knem_iovecs_measure(iov, nr_iov, U64_MAX, &local->length,
				  &local->nr_segs, &local->nr_pages);
	if (err)
		goto out;
	local->segs = kvmalloc_array(max(local->nr_segs, 1U),
				     sizeof(*local->segs), GFP_KERNEL_ACCOUNT);
	if (!local->segs) {
		err = -ENOMEM;
		goto out;
	}
	knem_segs_from_iovecs(iov, nr_iov, local->segs);
out:
	if (iov != few)
		kvfree(iov);
	return err;
}

void knem_local_iovecs_trim(struct knem_local_iovecs *local, u64 length)
{
	u32 i, nr_pages = 0;
	u64 left = length;

	if (length >= local->length)
		return;
	for (i = 0; i < local->nr_segs && left; i++) {
		struct knem_seg *seg = &local->segs[i];

		seg->len = min(seg->len, left);
		seg->first_page = nr_pages;
		nr_pages += (u32)knem_range_nr_pages(seg->addr, seg->len);
		left -= seg->len;
	}
	local->nr_segs = i;
	local->nr_pages = nr_pages;
	local->length = length;
}

int knem_local_iovecs_pin(struct knem_local_iovecs *local, bool for_write)
{
	int err;

	/*
	 * More than the machine's memory cannot be pinned: refuse before
	 * allocating a page array for it.
	 */
	if (local->length > knem_param_maxregionlen) {
		knem_debug("cannot pin %llu local bytes\n", local->length);
		return -EFAULT;
	}
	local->pages = kvmalloc_array(max(local->nr_pages, 1U),
				      sizeof(*local->pages),
				      GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	if (!local->pages)
		return -ENOMEM;
	err = knem_pin_segs(local->segs, local->nr_segs, local->pages,
			    for_write ? FOLL_WRITE : 0);
	if (err) {
		kvfree(local->pages);
		local->pages = NULL;
		return err;
	}
	local->written = for_write;
	return 0;
}
EXPORT_SYMBOL_NS_GPL(knem_local_iovecs_pin, KNEM_NS);

void knem_local_iovecs_put(struct knem_local_iovecs *local)
{
	if (local->pages) {
		unpin_user_pages_dirty_lock(local->pages, local->nr_pages,
					    local->written);
		kvfree(local->pages);
	}
	kvfree(local->segs);
}
