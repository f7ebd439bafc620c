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
    if (entry->link) *entry->link = NULL;
    free( entry->records );
    free( entry->callout_context );
    free( entry );
}

/* The connecting socket is closed; the entry lives on until the kernel
 * forgets the connection or somebody accepts it. */
void wfp_pending_orphan( struct wfp_pending *entry )
{
    if (!entry || !entry->link) return;
    entry->link = NULL;
    if (entry->table) entry->table->orphans++;
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
    entry->table = NULL;
    if (entry->link) *entry->link = NULL;
    else table->orphans--;
    entry->link = NULL;
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
    entry->table = table;
    entry->next = *slot;
    *slot = entry;
    table->count++;
    table->orphans++;   /* until the caller links it to its socket */
    return entry;
}

/* The connecting socket's pointer to its entry, cleared when the entry goes. */
void wfp_pending_link( struct wfp_pending *entry, struct wfp_pending **link )
{
    if (entry->table && !entry->link) entry->table->orphans--;
    entry->link = link;
    *link = entry;
}

static enum wfp_liveness entry_alive( const struct wfp_pending_table *table, const struct wfp_pending *entry )
{
    if (table->alive) return table->alive( entry );
    return wfp_connection_alive( &entry->source, &entry->destination, entry->cookie );
}

/* The entry of the connection between these endpoints, out of the table;
 * NULL if there is none, or if it was made for an earlier connection
 * between them, which is dropped. */
struct wfp_pending *wfp_pending_take( struct wfp_pending_table *table, const struct wfp_endpoint *source,
                                      const struct wfp_endpoint *destination )
{
    struct wfp_pending *entry, **slot;

    if (!table->count) return NULL;
    slot = find_slot( table, source, destination );
    if (!(entry = *slot)) return NULL;
    remove_entry( table, slot );
    if (entry_alive( table, entry ) == WFP_CONNECTION_GONE)
    {
        wfp_pending_free( entry );
        return NULL;
    }
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

/*
 * NETLINK_SOCK_DIAG, for one socket at a time: the kernel looks it up by
 * its endpoints and checks its cookie (ESTALE if the socket between them
 * is another one), so a request costs the same however many TCP sockets
 * the namespace has.
 */

unsigned int wfp_liveness_unknown;

static int diag_socket = -1;

static void endpoint_to_diag( const struct wfp_endpoint *ep, __be32 addr[4], __be16 *port )
{
    memset( addr, 0, 16 );
    memcpy( addr, ep->addr, ep->family == 4 ? 4 : 16 );
    *port = htons( ep->port );
}

enum wfp_liveness wfp_connection_alive( const struct wfp_endpoint *local, const struct wfp_endpoint *remote,
                                        uint64_t cookie )
{
    struct
    {
        struct nlmsghdr nlh;
        struct inet_diag_req_v2 req;
    } request;
    union
    {
        struct nlmsghdr nlh;
        char buffer[1024];
    } reply;
    struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
    const struct inet_diag_msg *msg;
    ssize_t len;

    if (local->family != remote->family) return WFP_CONNECTION_GONE;
    if (diag_socket == -1 &&
        (diag_socket = socket( AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG )) == -1)
        goto unknown;

    memset( &request, 0, sizeof(request) );
    request.nlh.nlmsg_len = sizeof(request);
    request.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    request.nlh.nlmsg_flags = NLM_F_REQUEST;
    request.req.sdiag_family = local->family == 4 ? AF_INET : AF_INET6;
    request.req.sdiag_protocol = IPPROTO_TCP;
    request.req.idiag_states = ~0u;
    endpoint_to_diag( local, request.req.id.idiag_src, &request.req.id.idiag_sport );
    endpoint_to_diag( remote, request.req.id.idiag_dst, &request.req.id.idiag_dport );
    request.req.id.idiag_if = local->scope_id;
    if (cookie)
    {
        request.req.id.idiag_cookie[0] = (uint32_t)cookie;
        request.req.id.idiag_cookie[1] = cookie >> 32;
    }
    else request.req.id.idiag_cookie[0] = request.req.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;

    if (sendto( diag_socket, &request, sizeof(request), 0, (struct sockaddr *)&kernel, sizeof(kernel) ) < 0)
        goto unknown;
    /* the kernel answers an exact request before sendto() returns */
    while ((len = recv( diag_socket, &reply, sizeof(reply), MSG_DONTWAIT )) < 0 && errno == EINTR);
    if (len < 0 || !NLMSG_OK( &reply.nlh, (size_t)len )) goto unknown;

    if (reply.nlh.nlmsg_type == NLMSG_ERROR)
    {
        const struct nlmsgerr *error = NLMSG_DATA( &reply.nlh );

        if (reply.nlh.nlmsg_len < NLMSG_LENGTH( sizeof(*error) )) goto unknown;
        /* ENOENT: nothing between these endpoints; ESTALE: another socket */
        if (error->error == -ENOENT || error->error == -ESTALE) return WFP_CONNECTION_GONE;
        goto unknown;
    }
    if (reply.nlh.nlmsg_type != SOCK_DIAG_BY_FAMILY || reply.nlh.nlmsg_len < NLMSG_LENGTH( sizeof(*msg) ))
        goto unknown;
    msg = NLMSG_DATA( &reply.nlh );
    /* TIME_WAIT: both sides closed, so nobody can still accept it */
    return msg->idiag_state == 6 /* TCP_TIME_WAIT */ ? WFP_CONNECTION_GONE : WFP_CONNECTION_ALIVE;

unknown:
    /* a wrong answer would be worse than a note kept for too long */
    wfp_liveness_unknown++;
    if (diag_socket != -1) close( diag_socket );
    diag_socket = -1;
    return WFP_CONNECTION_UNKNOWN;
}

/* Drop the entries that are older than max_age_ms, and those whose
 * connecting socket is closed and gone from the kernel too.  Entries
 * younger than grace_ms are kept without asking: the connection may still
 * be on its way.  A sweep goes on from the bucket where the last one
 * stopped, and stops once it looked at WFP_PENDING_SWEEP_VISITS entries
 * or asked the kernel WFP_PENDING_SWEEP_LOOKUPS times: it only collects
 * garbage (taking an entry checks the connection itself), so its cost per
 * round stays the same however full the table is.  Returns how many
 * entries were dropped. */
unsigned int wfp_pending_sweep( struct wfp_pending_table *table, uint64_t now_ms, uint64_t grace_ms,
                                uint64_t max_age_ms )
{
    unsigned int buckets, visits = 0, lookups = 0, dropped = 0;
    struct wfp_pending **slot, *entry;

    if (!table->count) return 0;
    for (buckets = 0; buckets < table->bucket_count; buckets++)
    {
        if (visits >= WFP_PENDING_SWEEP_VISITS || lookups >= WFP_PENDING_SWEEP_LOOKUPS) break;
        if (table->sweep_cursor >= table->bucket_count) table->sweep_cursor = 0;
        slot = &table->buckets[table->sweep_cursor++];
        while ((entry = *slot))
        {
            uint64_t age = now_ms > entry->created_ms ? now_ms - entry->created_ms : 0;
            int drop = age > max_age_ms;

            visits++;
            if (!drop && !entry->link && age > grace_ms)
            {
                lookups++;
                drop = entry_alive( table, entry ) == WFP_CONNECTION_GONE;
            }
            if (drop)
            {
                remove_entry( table, slot );
                wfp_pending_free( entry );
                dropped++;
            }
            else slot = &entry->next;
        }
    }
    return dropped;
}
