// SPDX-License-Identifier: (GPL-2.0 OR BSD-3-Clause)
/*
 * knem_platform_user.c - the user-space environment of the copy core,
 * for the unit tests.  Never part of a kernel module.
 *
 * The test hooks are process-global and meant to be set by one test
 * thread at a time.
 */
#ifdef __KERNEL__
#error "knem_platform_user.c is the user-space shim only"
#endif

#include <sys/random.h>

#include "knem_platform.h"

static pthread_mutex_t knem_test_lock = PTHREAD_MUTEX_INITIALIZER;

/* ---- randomness ----------------------------------------------------- */

static u64 *knem_test_random_values;
static size_t knem_test_random_nr;
static size_t knem_test_random_next;

void knem_test_set_random(const u64 *values, size_t nr)
{
	u64 *copy = NULL;

	if (nr) {
		copy = malloc(nr * sizeof(*copy));
		if (!copy)
			abort();
		memcpy(copy, values, nr * sizeof(*copy));
	}
	pthread_mutex_lock(&knem_test_lock);
	free(knem_test_random_values);
	knem_test_random_values = copy;
	knem_test_random_nr = nr;
	knem_test_random_next = 0;
	pthread_mutex_unlock(&knem_test_lock);
}

static bool knem_test_random_pop(u64 *value)
{
	bool found = false;

	pthread_mutex_lock(&knem_test_lock);
	if (knem_test_random_next < knem_test_random_nr) {
		*value = knem_test_random_values[knem_test_random_next++];
		found = true;
	}
	pthread_mutex_unlock(&knem_test_lock);
	return found;
}

u64 knem_random_u64(void)
{
	unsigned char *p;
	size_t got = 0;
	ssize_t n;
	u64 value;

	if (knem_test_random_pop(&value))
		return value;

	p = (unsigned char *)&value;
	while (got < sizeof(value)) {
		n = getrandom(p + got, sizeof(value) - got, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			abort();
		}
		got += (size_t)n;
	}
	return value;
}

/* ---- SipHash-2-4 of one word ------------------------------------------ */

#define KNEM_ROTL64(x, b) (((x) << (b)) | ((x) >> (64 - (b))))

#define KNEM_SIPROUND(v0, v1, v2, v3) do {				\
	v0 += v1; v1 = KNEM_ROTL64(v1, 13); v1 ^= v0;			\
	v0 = KNEM_ROTL64(v0, 32);					\
	v2 += v3; v3 = KNEM_ROTL64(v3, 16); v3 ^= v2;			\
	v0 += v3; v3 = KNEM_ROTL64(v3, 21); v3 ^= v0;			\
	v2 += v1; v1 = KNEM_ROTL64(v1, 17); v1 ^= v2;			\
	v2 = KNEM_ROTL64(v2, 32);					\
} while (0)

u64 knem_prf(const knem_prf_key_t *key, u64 word)
{
	u64 v0 = key->key[0] ^ 0x736f6d6570736575ULL;
	u64 v1 = key->key[1] ^ 0x646f72616e646f6dULL;
	u64 v2 = key->key[0] ^ 0x6c7967656e657261ULL;
	u64 v3 = key->key[1] ^ 0x7465646279746573ULL;
	const u64 last = 8ULL << 56;	/* the message length, 8 bytes */

	v3 ^= word;
	KNEM_SIPROUND(v0, v1, v2, v3);
	KNEM_SIPROUND(v0, v1, v2, v3);
	v0 ^= word;
	v3 ^= last;
	KNEM_SIPROUND(v0, v1, v2, v3);
	KNEM_SIPROUND(v0, v1, v2, v3);
	v0 ^= last;
	v2 ^= 0xff;
	KNEM_SIPROUND(v0, v1, v2, v3);
	KNEM_SIPROUND(v0, v1, v2, v3);
	KNEM_SIPROUND(v0, v1, v2, v3);
	KNEM_SIPROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

/* ---- pages ---------------------------------------------------------- */

u32 knem_page_run(knem_page_t *const *pages, u32 max)
{
	u32 n;

	for (n = 1; n < max && pages[n] == pages[0] + n; n++)
		;
	return n;
}

/* ---- user memory ---------------------------------------------------- */

static u64 knem_test_fault_start;
static u64 knem_test_fault_end;
static long knem_test_user_copies;

long knem_test_user_copy_calls(void)
{
	long calls;

	pthread_mutex_lock(&knem_test_lock);
	calls = knem_test_user_copies;
	knem_test_user_copies = 0;
	pthread_mutex_unlock(&knem_test_lock);
	return calls;
}

void knem_test_set_user_fault(u64 start, u64 end)
{
	pthread_mutex_lock(&knem_test_lock);
	knem_test_fault_start = start;
	knem_test_fault_end = end;
	pthread_mutex_unlock(&knem_test_lock);
}

/*
 * Bytes of [uaddr, uaddr + len) that can be reached before the first
 * faulting address.
 */
static unsigned long knem_test_reachable(u64 uaddr, unsigned long len)
{
	u64 start, end;

	pthread_mutex_lock(&knem_test_lock);
	start = knem_test_fault_start;
	end = knem_test_fault_end;
	knem_test_user_copies++;
	pthread_mutex_unlock(&knem_test_lock);

	if (start >= end || !len)
		return len;
	if (uaddr >= start && uaddr < end)
		return 0;
	if (uaddr < start && start - uaddr < len)
		return (unsigned long)(start - uaddr);
	return len;
}

unsigned long knem_copy_to_user(u64 uaddr, const void *src, unsigned long len)
{
	unsigned long ok = knem_test_reachable(uaddr, len);

	if (ok)
		memcpy((void *)(uintptr_t)uaddr, src, ok);
	return len - ok;
}

unsigned long knem_copy_from_user(void *dst, u64 uaddr, unsigned long len)
{
	unsigned long ok = knem_test_reachable(uaddr, len);

	if (ok)
		memcpy(dst, (const void *)(uintptr_t)uaddr, ok);
	/* like the kernel: the part that could not be read is zeroed */
	if (ok < len)
		memset((char *)dst + ok, 0, len - ok);
	return len - ok;
}

/* ---- stop requests -------------------------------------------------- */

static long knem_test_stop_after = -1;
static long knem_test_stop_count;

void knem_test_set_stop_after(long calls)
{
	pthread_mutex_lock(&knem_test_lock);
	knem_test_stop_after = calls;
	knem_test_stop_count = 0;
	pthread_mutex_unlock(&knem_test_lock);
}

long knem_test_stop_calls(void)
{
	long calls;

	pthread_mutex_lock(&knem_test_lock);
	calls = knem_test_stop_count;
	pthread_mutex_unlock(&knem_test_lock);
	return calls;
}

bool knem_copy_should_stop(void)
{
	bool stop;

	pthread_mutex_lock(&knem_test_lock);
	knem_test_stop_count++;
	stop = knem_test_stop_after >= 0 &&
	       knem_test_stop_count > knem_test_stop_after;
	pthread_mutex_unlock(&knem_test_lock);
	return stop;
}
