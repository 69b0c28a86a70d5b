// SPDX-License-Identifier: (GPL-2.0 OR BSD-3-Clause)
/*
 * knemback_policy.c - sharing groups: which domains may reach each
 * other's regions (doc/xen-protocol.md, "Access control").
 *
 * A guest's group is the `sharing-group` node of its backend directory
 * (written by dom0's tools, never by the guest); dom0's own processes get
 * the `sharinggroup` module parameter.  Two domains share iff both groups
 * are non-empty and equal.  The cookie table asks under RCU, so the
 * domid-to-group table is an RCU-published immutable array, replaced
 * (copy, update, publish, free after a grace period) under a mutex.
 *
 * Each group also has a sharing id (sysfs sharing_id, xenstore
 * sharing-id): SipHash of its name under a key drawn at load time, so
 * that equal ids mean the same group of this very backend instance, and
 * another host, or this one after a reload, gives other ids.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/random.h>
#include <linux/rcupdate.h>
#include <linux/siphash.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "knemback.h"
#include "knem_native.h"

static char *knemback_param_sharinggroup = "";
module_param_named(sharinggroup, knemback_param_sharinggroup, charp, 0444);
MODULE_PARM_DESC(sharinggroup,
		 "Xen sharing group of dom0's own processes (default empty: none)");

struct knemback_group {
	u32 domid;
	char name[KNEMIF_SHARING_GROUP_MAX + 1];
};

struct knemback_group_table {
	struct rcu_head rcu;
	u32 nr;
	struct knemback_group groups[];
};

static struct knemback_group_table __rcu *knemback_groups;
static DEFINE_MUTEX(knemback_groups_lock);
/* dom0's group, fixed at load time ("" if the parameter is malformed). */
static char knemback_dom0_group[KNEMIF_SHARING_GROUP_MAX + 1];
static siphash_key_t knemback_sharing_key;
/* Of dom0's group; 0 (none) until knemback_policy_init() and off Xen. */
static u64 knemback_dom0_sharing_id;

/* Group of @domid, or NULL; under RCU. */
static const char *knemback_group_of(const struct knemback_group_table *t,
				     u32 domid)
{
	u32 i;

	if (domid == 0)
		return knemback_dom0_group[0] ? knemback_dom0_group : NULL;
	if (!t)
		return NULL;
	for (i = 0; i < t->nr; i++)
		if (t->groups[i].domid == domid)
			return t->groups[i].name;
	return NULL;
}

/*
 * The cookie table's domains_share callback, (owner, requester).  Either
 * may be dom0 (its group is the sharinggroup parameter): copies that
 * involve a guest's region always run as grant copies.
 */
static bool knemback_domains_share(u32 owner_domid, u32 requester_domid)
{
	const struct knemback_group_table *t;
	const char *a, *b;
	bool share;

	rcu_read_lock();
	t = rcu_dereference(knemback_groups);
	a = knemback_group_of(t, owner_domid);
	b = knemback_group_of(t, requester_domid);
	share = a && b && !strcmp(a, b);
	rcu_read_unlock();
	return share;
}

/* Replaces the entry of @domid with @group (NULL: removes it). */
static int knemback_policy_update(u32 domid, const char *group)
{
	struct knemback_group_table *old, *new;
	u32 i, n = 0, cap;

	mutex_lock(&knemback_groups_lock);
	old = rcu_dereference_protected(knemback_groups,
					lockdep_is_held(&knemback_groups_lock));
	cap = (old ? old->nr : 0) + 1;
	new = kzalloc(struct_size(new, groups, cap), GFP_KERNEL);
	if (!new) {
		mutex_unlock(&knemback_groups_lock);
		return -ENOMEM;
	}
	for (i = 0; old && i < old->nr; i++)
		if (old->groups[i].domid != domid)
			new->groups[n++] = old->groups[i];
	if (group) {
		new->groups[n].domid = domid;
		strscpy(new->groups[n].name, group, sizeof(new->groups[n].name));
		n++;
	}
	new->nr = n;
	rcu_assign_pointer(knemback_groups, new);
	mutex_unlock(&knemback_groups_lock);
	if (old)
		kfree_rcu(old, rcu);
	return 0;
}

u64 knemback_sharing_id(const char *group)
{
	u64 id;

	if (!group || !knemif_sharing_group_valid(group))
		return 0;
	id = siphash(group, strlen(group), &knemback_sharing_key);
	/* 0 means "none" */
	return id ? id : 1;
}

u64 knemback_dom0_sharing(void)
{
	return READ_ONCE(knemback_dom0_sharing_id);
}

int knemback_policy_set(u32 domid, const char *group)
{
	if (!group || !knemif_sharing_group_valid(group))
		group = NULL;
	return knemback_policy_update(domid, group);
}

void knemback_policy_forget(u32 domid)
{
	/* dropping an entry needs memory too; on failure keep it stale */
	if (knemback_policy_update(domid, NULL))
		pr_warn("cannot forget the sharing group of domain %u\n", domid);
}

int knemback_policy_init(void)
{
	const char *g = knemback_param_sharinggroup;

	if (g && g[0]) {
		if (knemif_sharing_group_valid(g))
			strscpy(knemback_dom0_group, g,
				sizeof(knemback_dom0_group));
		else
			pr_warn("malformed sharinggroup parameter ignored\n");
	}
	get_random_bytes(&knemback_sharing_key, sizeof(knemback_sharing_key));
	WRITE_ONCE(knemback_dom0_sharing_id,
		   knemback_sharing_id(knemback_dom0_group));
	knem_cookies.domains_share = knemback_domains_share;
	return 0;
}

void knemback_policy_exit(void)
{
	struct knemback_group_table *old;

	knem_cookies.domains_share = NULL;
	/* lookups in flight may still run the callback */
	synchronize_rcu();
	mutex_lock(&knemback_groups_lock);
	old = rcu_dereference_protected(knemback_groups,
					lockdep_is_held(&knemback_groups_lock));
	RCU_INIT_POINTER(knemback_groups, NULL);
	mutex_unlock(&knemback_groups_lock);
	kfree(old);
}
