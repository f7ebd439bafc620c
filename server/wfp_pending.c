/*
 * WFP connection redirection: connections on their way to an accept()
 *
 * Copyright 2026 The wine-wfp authors
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Lesser General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 *
 * This library is distributed in the hope that it will be useful,
 * but WITHOUT ANY WARRANTY; without even the implied warranty of
 * MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE.  See the GNU
 * Lesser General Public License for more details.
 *
 * You should have received a copy of the GNU Lesser General Public
 * License along with this library; if not, write to the Free Software
 * Foundation, Inc., 51 Franklin St, Fifth Floor, Boston, MA 02110-1301, USA
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/inet_diag.h>

#include "wfp_pending.h"

static unsigned int hash_endpoint( unsigned int hash, const struct wfp_endpoint *ep )
{
    unsigned int i, len = ep->family == 4 ? 4 : 16;

    hash = (hash ^ ep->family) * 16777619u;
    hash = (hash ^ (ep->port & 0xff)) * 16777619u;
    hash = (hash ^ (ep->port >> 8)) * 16777619u;
    for (i = 0; i < len; i++) hash = (hash ^ ep->addr[i]) * 16777619u;
    return hash;
}

/* FNV-1a over both endpoints */
static unsigned int entry_hash( const struct wfp_endpoint *source, const struct wfp_endpoint *destination )
{
    return hash_endpoint( hash_endpoint( 2166136261u, source ), destination );
}

static struct wfp_pending **find_slot( struct wfp_pending_table *table, const struct wfp_endpoint *source,
                                       const struct wfp_endpoint *destination )
{
    struct wfp_pending **slot = &table->buckets[entry_hash( source, destination ) % table->bucket_count];

    while (*slot && !(wfp_endpoint_equal( &(*slot)->source, source ) &&
                      wfp_endpoint_equal( &(*slot)->destination, destination )))
        slot = &(*slot)->next;
    return slot;
}

static int grow( struct wfp_pending_table *table )
{
    unsigned int i, count = table->bucket_count ? table->bucket_count * 4 : 64;
    struct wfp_pending **buckets, *entry, *next;

    if (!(buckets = calloc( count, sizeof(*buckets) ))) return 0;
    for (i = 0; i < table->bucket_count; i++)
    {
        for (entry = table->buckets[i]; entry; entry = next)
        {
            unsigned int b = entry_hash( &entry->source, &entry->destination ) % count;
            next = entry->next;
            entry->next = buckets[b];
            buckets[b] = entry;
        }
    }
    free( table->buckets );
    table->buckets = buckets;
    table->bucket_count = count;
    return 1;
}

void wfp_pending_free( struct wfp_pending *entry )
{
    if (!entry) return;
    free( entry->records );
    free( entry );
}

static struct wfp_pending_owner *find_owner( const struct wfp_pending_table *table, uint32_t pid )
{
    unsigned int i;

    for (i = 0; i < table->owner_count; i++)
        if (table->owners[i].pid == pid) return &table->owners[i];
    return NULL;
}

/* count one note more (delta 1) or less (delta -1) for a process */
static int count_owner( struct wfp_pending_table *table, uint32_t pid, int delta )
{
    struct wfp_pending_owner *owner = find_owner( table, pid );

    if (!owner)
    {
        if (delta < 0) return 1;
        if (table->owner_count == table->owner_capacity)
        {
            unsigned int capacity = table->owner_capacity ? table->owner_capacity * 2 : 8;
            struct wfp_pending_owner *owners = realloc( table->owners, capacity * sizeof(*owners) );

            if (!owners) return 0;
            table->owners = owners;
            table->owner_capacity = capacity;
        }
        owner = &table->owners[table->owner_count++];
        owner->pid = pid;
        owner->count = 0;
    }
    owner->count += delta;
    if (!owner->count) *owner = table->owners[--table->owner_count];
    return 1;
}

/* Can this process note one more connection? */
int wfp_pending_room( const struct wfp_pending_table *table, uint32_t pid )
{
    const struct wfp_pending_owner *owner = find_owner( table, pid );

    return table->count < WFP_PENDING_MAX && (!owner || owner->count < wfp_pending_per_process_max( table ));
}

unsigned int wfp_pending_per_process_max( const struct wfp_pending_table *table )
{
    return table->per_process_max ? table->per_process_max : WFP_PENDING_MAX_PER_PROCESS;
}

static void remove_entry( struct wfp_pending_table *table, struct wfp_pending **slot )
{
    struct wfp_pending *entry = *slot;

    *slot = entry->next;
    entry->next = NULL;
    table->count--;
    count_owner( table, entry->owner_pid, -1 );
}

/* A new entry, with everything but the key zeroed; it replaces an old one
 * with the same endpoints (that connection is gone: they are in use
 * again).  NULL if the table is full or memory is short. */
struct wfp_pending *wfp_pending_add( struct wfp_pending_table *table, const struct wfp_endpoint *source,
                                     const struct wfp_endpoint *destination, uint32_t pid )
{
    struct wfp_pending *entry, **slot;

    if (table->count >= table->bucket_count * 2 && !grow( table ) && !table->bucket_count) return NULL;
    slot = find_slot( table, source, destination );
    if (*slot)
    {
        entry = *slot;
        remove_entry( table, slot );
        wfp_pending_free( entry );
    }
    if (!wfp_pending_room( table, pid )) return NULL;
    if (!(entry = calloc( 1, sizeof(*entry) ))) return NULL;
    if (!count_owner( table, pid, 1 ))
    {
        free( entry );
        return NULL;
    }
    entry->source = *source;
    entry->destination = *destination;
    entry->owner_pid = pid;
    entry->next = *slot;
    *slot = entry;
    table->count++;
    return entry;
}

struct wfp_pending *wfp_pending_take( struct wfp_pending_table *table, const struct wfp_endpoint *source,
                                      const struct wfp_endpoint *destination )
{
    struct wfp_pending *entry, **slot;

    if (!table->count) return NULL;
    slot = find_slot( table, source, destination );
    if (!(entry = *slot)) return NULL;
    remove_entry( table, slot );
    return entry;
}

void wfp_pending_clear( struct wfp_pending_table *table )
{
    struct wfp_pending *entry, *next;
    unsigned int i;

    for (i = 0; i < table->bucket_count; i++)
        for (entry = table->buckets[i]; entry; entry = next)
        {
            next = entry->next;
            wfp_pending_free( entry );
        }
    free( table->buckets );
    free( table->owners );
    memset( table, 0, sizeof(*table) );
}

static void endpoint_from_diag( int family, const __be32 *addr, __be16 port, struct wfp_endpoint *ep )
{
    static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

    memset( ep, 0, sizeof(*ep) );
    ep->port = ntohs( port );
    if (family == AF_INET)
    {
        ep->family = 4;
        memcpy( ep->addr, addr, 4 );
    }
    else if (!memcmp( addr, v4mapped, sizeof(v4mapped) ))
    {
        ep->family = 4;
        memcpy( ep->addr, (const uint8_t *)addr + 12, 4 );
    }
    else
    {
        ep->family = 6;
        memcpy( ep->addr, addr, 16 );
    }
}

static int dump_family( int nl, int family,
                        void (*func)( const struct wfp_endpoint *, const struct wfp_endpoint *, void * ), void *arg )
{
    struct
    {
        struct nlmsghdr nlh;
        struct inet_diag_req_v2 req;
    } request;
    struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
    long buffer[8192 / sizeof(long)];
    ssize_t len;

    memset( &request, 0, sizeof(request) );
    request.nlh.nlmsg_len = sizeof(request);
    request.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    request.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    request.req.sdiag_family = family;
    request.req.sdiag_protocol = IPPROTO_TCP;
    /* every state of a live connection: not LISTEN, CLOSE or TIME_WAIT */
    request.req.idiag_states = ~((1u << 10) | (1u << 7) | (1u << 6)) & 0xfff;

    if (sendto( nl, &request, sizeof(request), 0, (struct sockaddr *)&kernel, sizeof(kernel) ) < 0) return 0;

    for (;;)
    {
        struct nlmsghdr *nlh;

        if ((len = recv( nl, buffer, sizeof(buffer), 0 )) < 0)
        {
            if (errno == EINTR) continue;
            return 0;
        }
        for (nlh = (struct nlmsghdr *)buffer; NLMSG_OK( nlh, (size_t)len ); nlh = NLMSG_NEXT( nlh, len ))
        {
            const struct inet_diag_msg *msg = NLMSG_DATA( nlh );
            struct wfp_endpoint local, remote;

            if (nlh->nlmsg_type == NLMSG_DONE) return 1;
            if (nlh->nlmsg_type == NLMSG_ERROR) return 0;
            if (nlh->nlmsg_len < NLMSG_LENGTH( sizeof(*msg) )) continue;
            endpoint_from_diag( msg->idiag_family, msg->id.idiag_src, msg->id.idiag_sport, &local );
            endpoint_from_diag( msg->idiag_family, msg->id.idiag_dst, msg->id.idiag_dport, &remote );
            func( &local, &remote, arg );
        }
    }
}

int wfp_for_each_tcp_connection( void (*func)( const struct wfp_endpoint *local,
                                               const struct wfp_endpoint *remote, void *arg ), void *arg )
{
    int nl, ok;

    if ((nl = socket( AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG )) < 0) return 0;
    ok = dump_family( nl, AF_INET, func, arg ) && dump_family( nl, AF_INET6, func, arg );
    close( nl );
    return ok;
}

/* The endpoints of every connection the kernel knows, sorted.  A note is
 * alive while its source is one of them: the connecting side has it as
 * its local address, the accepting side (in an accept queue, or accepted
 * outside this wineserver) as its remote one, whatever netfilter did to
 * the destination. */
struct endpoint_set
{
    struct wfp_endpoint *endpoints;
    size_t count, capacity;
    int failed;
};

static void collect_endpoints( const struct wfp_endpoint *local, const struct wfp_endpoint *remote, void *arg )
{
    struct endpoint_set *set = arg;

    if (set->count + 2 > set->capacity)
    {
        size_t capacity = set->capacity ? set->capacity * 2 : 256;
        struct wfp_endpoint *endpoints = realloc( set->endpoints, capacity * sizeof(*endpoints) );

        if (!endpoints)
        {
            set->failed = 1;
            return;
        }
        set->endpoints = endpoints;
        set->capacity = capacity;
    }
    set->endpoints[set->count++] = *local;
    set->endpoints[set->count++] = *remote;
}

/* an order on family, port and address; the scope does not take part, as
 * in the kernel's view of a connection */
static int compare_endpoints( const void *a, const void *b )
{
    const struct wfp_endpoint *x = a, *y = b;

    if (x->family != y->family) return x->family < y->family ? -1 : 1;
    if (x->port != y->port) return x->port < y->port ? -1 : 1;
    return memcmp( x->addr, y->addr, x->family == 4 ? 4 : 16 );
}

static int endpoint_known( const struct endpoint_set *set, const struct wfp_endpoint *ep )
{
    return set->count && bsearch( ep, set->endpoints, set->count, sizeof(*set->endpoints), compare_endpoints );
}

/* Drop the entries of connections that the kernel no longer knows, and
 * any older than max_age_ms.  Entries younger than grace_ms are kept: the
 * connection may still be on its way.  Returns how many were dropped. */
unsigned int wfp_pending_sweep( struct wfp_pending_table *table, uint64_t now_ms, uint64_t grace_ms,
                                uint64_t max_age_ms )
{
    struct endpoint_set set = { NULL, 0, 0, 0 };
    struct wfp_pending **slot, *entry;
    unsigned int i, dropped = 0;
    int known;

    if (!table->count) return 0;
    known = wfp_for_each_tcp_connection( collect_endpoints, &set ) && !set.failed;
    if (known && set.count) qsort( set.endpoints, set.count, sizeof(*set.endpoints), compare_endpoints );

    for (i = 0; i < table->bucket_count; i++)
    {
        slot = &table->buckets[i];
        while ((entry = *slot))
        {
            uint64_t age = now_ms > entry->created_ms ? now_ms - entry->created_ms : 0;

            if (age > max_age_ms || (known && age > grace_ms && !endpoint_known( &set, &entry->source )))
            {
                remove_entry( table, slot );
                wfp_pending_free( entry );
                dropped++;
            }
            else slot = &entry->next;
        }
    }
    free( set.endpoints );
    return dropped;
}
