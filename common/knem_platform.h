/* SPDX-License-Identifier: (GPL-2.0 OR BSD-3-Clause) */
/*
 * knem_platform.h - what the copy core needs from its environment.
 *
 * The core (common/knem_*.c) compiles into the kernel modules and into a
 * user-space library for the unit tests.  Everything that differs between
 * the two - integer types, allocation, locks, reference counts, RCU
 * publication, randomness, pages and user-memory access - goes through
 * the names below, and nothing else in the core may include a kernel or
 * libc header directly.
 *
 * In user space RCU readers are not tracked: knem_rcu_read_lock() does
 * nothing and deferred frees happen at once, so the unit tests exercise
 * the core's logic, not its concurrency; the kernel build supplies the
 * real RCU.
 */
#ifndef KNEM_PLATFORM_H
#define KNEM_PLATFORM_H

#ifdef __KERNEL__

#include <linux/errno.h>
#include <linux/export.h>
#include <linux/highmem.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/random.h>
#include <linux/rcupdate.h>
#include <linux/refcount.h>
#include <linux/siphash.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/types.h>
#include <linux/uaccess.h>
#include <linux/uidgid.h>
#include <linux/version.h>

#define KNEM_PAGE_SIZE PAGE_SIZE
#define KNEM_PAGE_SHIFT PAGE_SHIFT

/*
 * What knem.ko exports, for knem-front.ko only, in the namespace KNEM
 * (Linux 6.13 takes namespaces as strings).
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 13, 0)
#define KNEM_NS "KNEM"
#else
#define KNEM_NS KNEM
#endif
#define KNEM_EXPORT(sym) EXPORT_SYMBOL_NS_GPL(sym, KNEM_NS)

typedef struct page knem_page_t;
typedef kuid_t knem_uid_t;
typedef refcount_t knem_refcount_t;
typedef spinlock_t knem_lock_t;

#define knem_uid_eq(a, b) uid_eq(a, b)

#define knem_zalloc(size) kzalloc(size, GFP_KERNEL)
#define knem_free(ptr) kfree(ptr)
#define knem_zalloc_array(n, size) kvcalloc(n, size, GFP_KERNEL)
#define knem_free_array(ptr) kvfree(ptr)

#define knem_lock_init(l) spin_lock_init(l)
#define knem_lock_destroy(l) do { } while (0)
#define knem_lock(l) spin_lock(l)
#define knem_unlock(l) spin_unlock(l)

#define knem_refcount_set(r, v) refcount_set(r, v)
#define knem_refcount_inc(r) refcount_inc(r)
#define knem_refcount_inc_not_zero(r) refcount_inc_not_zero(r)
#define knem_refcount_dec_and_test(r) refcount_dec_and_test(r)
#define knem_refcount_read(r) refcount_read(r)

typedef atomic64_t knem_atomic64_t;
#define knem_atomic64_set(a, v) atomic64_set(a, v)
#define knem_atomic64_read(a) ((u64)atomic64_read(a))
#define knem_atomic64_fetch_inc(a) ((u64)atomic64_fetch_inc(a))
#define knem_atomic64_inc(a) atomic64_inc(a)
#define knem_atomic64_dec(a) atomic64_dec(a)

#define __knem_rcu __rcu
#define knem_rcu_read_lock() rcu_read_lock()
#define knem_rcu_read_unlock() rcu_read_unlock()
#define knem_rcu_dereference(p) rcu_dereference(p)
#define knem_rcu_dereference_locked(p, l) \
	rcu_dereference_protected(p, lockdep_is_held(l))
#define knem_rcu_assign_pointer(p, v) rcu_assign_pointer(p, v)
#define knem_rcu_init_pointer(p, v) RCU_INIT_POINTER(p, v)

#define knem_random_u64() get_random_u64()

/* A keyed PRF of one word: the kernel's SipHash-2-4. */
typedef siphash_key_t knem_prf_key_t;
#define knem_prf(key, word) siphash_1u64(word, key)

#define knem_kmap(page) kmap_local_page(page)
#define knem_kunmap(addr) kunmap_local(addr)

/*
 * Whether @page may start a run (see knem_page_run()): a page of a large
 * folio, without highmem, where kmap_local_page() maps one page.
 */
static inline bool knem_page_may_run(struct page *page)
{
	return !IS_ENABLED(CONFIG_HIGHMEM) && PageCompound(page);
}

/*
 * How many of @pages[0 .. @max) (@max >= 1) follow each other in one large
 * folio, a transparent huge page: their direct mappings are one range,
 * which one copy may cross (hardened usercopy checks a copy against the
 * folio).  1 for a small page, and with highmem.
 */
static inline u32 knem_page_run(struct page *const *pages, u32 max)
{
	struct page *first = pages[0];
	struct folio *folio;
	u32 n;

	if (!knem_page_may_run(first) || max < 2)
		return 1;
	folio = page_folio(first);
	max = min_t(u64, max,
		    folio_nr_pages(folio) - folio_page_idx(folio, first));
	for (n = 1; n < max && pages[n] == nth_page(first, n); n++)
		;
	return n;
}

static inline unsigned long knem_copy_to_user(u64 uaddr, const void *src,
					      unsigned long len)
{
	return copy_to_user(u64_to_user_ptr(uaddr), src, len);
}

static inline unsigned long knem_copy_from_user(void *dst, u64 uaddr,
						unsigned long len)
{
	return copy_from_user(dst, u64_to_user_ptr(uaddr), len);
}

/*
 * Called between chunks of a long copy: gives the CPU away when asked and
 * reports whether the copy must stop because the caller is being killed.
 */
static inline bool knem_copy_should_stop(void)
{
	cond_resched();
	return fatal_signal_pending(current);
}

#else /* user space: the unit-test build */

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>

typedef uint8_t u8;
typedef uint32_t u32;
typedef uint64_t u64;

#define KNEM_PAGE_SHIFT 12
#define KNEM_PAGE_SIZE (1UL << KNEM_PAGE_SHIFT)

/* One program: nothing to export (a declaration, for the semicolon). */
#define KNEM_EXPORT(sym) _Static_assert(1, #sym " is exported by knem.ko")

/* A page of the unit tests: plain memory, mapped by taking its address. */
typedef struct knem_test_page {
	unsigned char bytes[KNEM_PAGE_SIZE];
} knem_page_t;

typedef unsigned int knem_uid_t;
typedef unsigned int knem_refcount_t;
typedef pthread_mutex_t knem_lock_t;

#define knem_uid_eq(a, b) ((a) == (b))

#define knem_zalloc(size) calloc(1, size)
#define knem_free(ptr) free(ptr)
#define knem_zalloc_array(n, size) calloc(n, size)
#define knem_free_array(ptr) free(ptr)

#define knem_lock_init(l) pthread_mutex_init(l, NULL)
#define knem_lock_destroy(l) pthread_mutex_destroy(l)
#define knem_lock(l) pthread_mutex_lock(l)
#define knem_unlock(l) pthread_mutex_unlock(l)

#define knem_refcount_set(r, v) __atomic_store_n(r, v, __ATOMIC_RELEASE)
#define knem_refcount_inc(r) __atomic_add_fetch(r, 1, __ATOMIC_RELAXED)
#define knem_refcount_dec_and_test(r) \
	(__atomic_sub_fetch(r, 1, __ATOMIC_ACQ_REL) == 0)
#define knem_refcount_read(r) __atomic_load_n(r, __ATOMIC_ACQUIRE)

typedef u64 knem_atomic64_t;
#define knem_atomic64_set(a, v) __atomic_store_n(a, v, __ATOMIC_RELAXED)
#define knem_atomic64_read(a) __atomic_load_n(a, __ATOMIC_RELAXED)
#define knem_atomic64_fetch_inc(a) __atomic_fetch_add(a, 1, __ATOMIC_RELAXED)
#define knem_atomic64_inc(a) ((void)__atomic_add_fetch(a, 1, __ATOMIC_RELAXED))
#define knem_atomic64_dec(a) ((void)__atomic_sub_fetch(a, 1, __ATOMIC_RELAXED))
static inline bool knem_refcount_inc_not_zero(knem_refcount_t *r)
{
	unsigned int old = __atomic_load_n(r, __ATOMIC_RELAXED);

	do {
		if (!old)
			return false;
	} while (!__atomic_compare_exchange_n(r, &old, old + 1, true,
					      __ATOMIC_ACQUIRE,
					      __ATOMIC_RELAXED));
	return true;
}

#define __knem_rcu
#define knem_rcu_read_lock() do { } while (0)
#define knem_rcu_read_unlock() do { } while (0)
#define knem_rcu_dereference(p) __atomic_load_n(&(p), __ATOMIC_ACQUIRE)
#define knem_rcu_dereference_locked(p, l) ((void)(l), (p))
#define knem_rcu_assign_pointer(p, v) __atomic_store_n(&(p), v, __ATOMIC_RELEASE)
#define knem_rcu_init_pointer(p, v) ((p) = (v))

u64 knem_random_u64(void);

/* SipHash-2-4 of one word, as the kernel's siphash_1u64(). */
typedef struct {
	u64 key[2];
} knem_prf_key_t;
u64 knem_prf(const knem_prf_key_t *key, u64 word);

#define knem_kmap(page) ((void *)(page)->bytes)
#define knem_kunmap(addr) ((void)(addr))

/*
 * Pages that are neighbours in memory form a run, as the pages of one
 * transparent huge page do in the kernel; see the kernel's version.
 */
#define knem_page_may_run(page) ((void)(page), true)
u32 knem_page_run(knem_page_t *const *pages, u32 max);

/*
 * User memory of the unit tests is the test's own memory; a test can make
 * an address range fault through knem_test_set_user_fault().
 */
unsigned long knem_copy_to_user(u64 uaddr, const void *src, unsigned long len);
unsigned long knem_copy_from_user(void *dst, u64 uaddr, unsigned long len);
void knem_test_set_user_fault(u64 start, u64 end);
/* Calls of the two functions above since the last call of this one. */
long knem_test_user_copy_calls(void);

/*
 * Counts calls; a test can make the copy stop after a given number:
 * after knem_test_set_stop_after(n), calls 1 to n return false and the
 * later ones true (n < 0: never stop).  Setting resets the count, which
 * knem_test_stop_calls() reads.
 */
bool knem_copy_should_stop(void);
void knem_test_set_stop_after(long calls);
long knem_test_stop_calls(void);

/*
 * The next @nr calls of knem_random_u64() return @values (copied), then
 * it draws from getrandom() again; @nr = 0 cancels.
 */
void knem_test_set_random(const u64 *values, size_t nr);

#define U32_MAX UINT32_MAX
#define U64_MAX UINT64_MAX
#define __printf(a, b) __attribute__((format(printf, a, b)))

/* Atomic bit operations on an unsigned long, like the kernel's. */
static inline void set_bit(unsigned int nr, unsigned long *addr)
{
	__atomic_fetch_or(addr, 1UL << nr, __ATOMIC_SEQ_CST);
}

static inline bool test_bit(unsigned int nr, const unsigned long *addr)
{
	return (__atomic_load_n(addr, __ATOMIC_ACQUIRE) >> nr) & 1;
}

#define noinline __attribute__((noinline))
#define min_t(type, a, b) ((type)(a) < (type)(b) ? (type)(a) : (type)(b))
#define check_add_overflow(a, b, d) __builtin_add_overflow(a, b, d)
#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

#endif /* __KERNEL__ */

#define KNEM_PAGE_OFFSET(addr) ((u64)(addr) & (KNEM_PAGE_SIZE - 1))

#endif /* KNEM_PLATFORM_H */
