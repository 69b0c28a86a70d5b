// SPDX-License-Identifier: (GPL-2.0 OR BSD-3-Clause)
/*
 * knemfront_released.c - the WAIT_RELEASED loop: a kernel thread that
 * waits in dom0 for the single-use regions of this guest that another
 * domain consumed, in a page granted writable to dom0, and releases them.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kthread.h>
#include <linux/mm.h>

#include <xen/page.h>

#include "knem_native.h"
#include "knemfront.h"

static int knemfront_released_thread(void *arg)
{
	struct knemfront_info *info = arg;
	const u64 *cookies = page_address(info->released_page);
	struct knemif_response rsp;
	u32 i, n;
	int err;

	while (!kthread_should_stop()) {
		struct knemif_request req = {
			.op = KNEMIF_OP_WAIT_RELEASED,
		};

		req.u.wait_released.page_gref = info->released_ref;
		err = knemfront_submit(&req, &rsp);
		if (err || rsp.status) {
			if (!err)
				pr_warn_ratelimited("WAIT_RELEASED refused (%u)\n",
						    rsp.status);
			/* disconnecting: knemfront_released_stop() follows */
			schedule_timeout_idle(HZ);
			continue;
		}
		n = rsp.val;
		if (n > KNEMIF_COOKIES_PER_RELEASE_PAGE) {
			pr_warn_ratelimited("WAIT_RELEASED reports %u cookies\n",
					    n);
			continue;
		}
		for (i = 0; i < n; i++) {
			u64 cookie = READ_ONCE(cookies[i]);

			if (knemfront_cookie_plausible(cookie))
				knemfront_region_released(cookie);
		}
		cond_resched();
	}
	return 0;
}

void knemfront_released_start(struct knemfront_info *info)
{
	struct task_struct *task;
	struct page *page;
	int ref;

	if (info->released_task)
		return;
	page = alloc_page(GFP_KERNEL | __GFP_ZERO);
	if (!page)
		goto fail;
	ref = gnttab_grant_foreign_access(info->dev->otherend_id,
					  xen_page_to_gfn(page), 0);
	if (ref < 0) {
		__free_page(page);
		goto fail;
	}
	info->released_page = page;
	info->released_ref = ref;
	task = kthread_run(knemfront_released_thread, info, "knemfront-rel");
	if (IS_ERR(task)) {
		gnttab_end_foreign_access(ref, page);
		info->released_page = NULL;
		goto fail;
	}
	info->released_task = task;
	return;

fail:
	pr_warn("no WAIT_RELEASED loop: single-use regions consumed by other domains stay until their file is closed\n");
}

void knemfront_released_stop(struct knemfront_info *info)
{
	if (info->released_task) {
		/* knemfront_fail_all() already answered its request */
		kthread_stop(info->released_task);
		info->released_task = NULL;
	}
	if (info->released_page) {
		/* freed once the backend no longer writes it */
		gnttab_end_foreign_access(info->released_ref,
					  info->released_page);
		info->released_page = NULL;
	}
	knemfront_region_stale_wait();
}
