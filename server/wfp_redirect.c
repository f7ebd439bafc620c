/*
 * WFP connection redirection for the server's sockets
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

/*
 * The server side of SIO_QUERY_WFP_CONNECTION_REDIRECT_RECORDS and its
 * siblings.  Records come from three places:
 *
 *  - SIO_SET_WFP_CONNECTION_REDIRECT_RECORDS, on a proxy's outbound socket.
 *    When that socket connects, its records travel with the connection:
 *    a Wine process of this wineserver that accepts it gets them, plus a
 *    hop for any redirection on the way;
 *  - redirection rules kept in the registry (HKLM\Software\Wine\WFP\Rules),
 *    which send the connect()s of Wine processes to a proxy;
 *  - Linux netfilter: an accepted TCP connection whose conntrack original
 *    destination is neither of its own endpoints was redirected (nftables
 *    or iptables redirect/dnat), which is what a WFP callout at
 *    ALE_CONNECT_REDIRECT does on Windows.
 *
 * Records are made the first time somebody asks (QUERY, SO_ORIGINAL_DST),
 * so that sockets nobody asks about cost nothing: accept only moves the
 * connecting side's note to the accepted socket, and only while such notes
 * exist.  The exception is a port whose accepted connections a program
 * did ask about: there accept makes the records at once and hands them to
 * ws2_32 (see wfp_redirect_accept_output).
 */

#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include "ntstatus.h"
#define WIN32_NO_STATUS
#include "windef.h"
#include "winternl.h"
#include "winerror.h"
#define USE_WS_PREFIX
#include "winsock2.h"
#include "wine/afd.h"

#include "file.h"
#include "object.h"
#include "process.h"
#include "request.h"
#include "thread.h"
#include "unicode.h"
#include "wfp_redirect.h"
#include "wfp_conntrack.h"
#include "wfp_pending.h"
#include "wfp_rules.h"

/* linux/netfilter_ipv4.h and linux/netfilter_ipv6/ip6_tables.h */
#define LINUX_SO_ORIGINAL_DST       80
#define LINUX_IP6T_SO_ORIGINAL_DST  80

/* how often the connections in flight are checked, and how long one may wait */
#define SWEEP_INTERVAL_MS   2000
#define PENDING_GRACE_MS    2000
#define PENDING_MAX_AGE_MS  (10 * 60 * 1000)

static struct wfp_pending_table pending;
static struct timeout_user *sweep_timeout;

static const uint8_t *get_key(void)
{
    static uint8_t key[WFP_RECORDS_KEY_SIZE];
    static int loaded, reported;
    char dir[256], error[512];

    if (loaded) return key;
    if (wfp_key_load( wfp_key_default_dir( dir, sizeof(dir) ), key, error, sizeof(error) ))
    {
        loaded = 1;
        return key;
    }
    /* the rules still redirect: a proxy must never be bypassed for this */
    if (!reported++)
        fprintf( stderr, "wineserver: WFP redirect records are unavailable: %s; redirected connections carry "
                 "none, and querying or setting them fails with WSAEACCES\n", error );
    return NULL;
}

/* for the records, which people read; nothing compares it */
static uint64_t unix_time_ms(void)
{
    static const timeout_t ticks_1601_to_1970 = (timeout_t)86400 * (369 * 365 + 89) * TICKS_PER_SEC;
    return (current_time - ticks_1601_to_1970) / (TICKS_PER_SEC / 1000);
}

/* for every comparison of times: it never steps back */
static uint64_t monotonic_ms(void)
{
    return monotonic_time / (TICKS_PER_SEC / 1000);
}

/* Random, once per wineserver, so that a process of another wineserver
 * with the same id and start time is still another process. */
static uint64_t server_id(void)
{
    static uint64_t id;

    while (!id)
        if (getrandom( &id, sizeof(id), GRND_NONBLOCK ) != sizeof(id))
            id = ((uint64_t)getpid() << 32) ^ (uint64_t)current_time ^ (uint64_t)monotonic_time;
    return id;
}

static void get_wfp_process_id( const struct process *process, struct wfp_process_id *id )
{
    id->server = server_id();
    id->start = process->start_time;
    id->pid = process->id;
}

static uint64_t new_flow_id(void)
{
    static uint64_t counter;
    uint64_t id;

    /* unpredictable if the kernel gives random bytes, unique either way */
    if (getrandom( &id, sizeof(id), GRND_NONBLOCK ) != sizeof(id)) id = 0;
    return id ^ ++counter;
}

/*
 * Configuration: redirection rules and netfilter services, read from the
 * registry again whenever their key changed.  Until something in the
 * registry changes, a connect() does not even look the keys up.
 */

struct config_cache
{
    const WCHAR *path;
    data_size_t  path_len;
    int          read;          /* read once, at registry_changes == generation */
    unsigned int generation;
    int          present;
    timeout_t    modif;
    unsigned int count;
    unsigned int over_cap;      /* values beyond the cap at the last reading */
};

static const WCHAR rules_path[] = {'S','o','f','t','w','a','r','e','\\','W','i','n','e','\\',
                                   'W','F','P','\\','R','u','l','e','s'};
static const WCHAR services_path[] = {'S','o','f','t','w','a','r','e','\\','W','i','n','e','\\',
                                      'W','F','P','\\','S','e','r','v','i','c','e','s'};

static const WCHAR settings_path[] = {'S','o','f','t','w','a','r','e','\\','W','i','n','e','\\','W','F','P'};

static struct config_cache rules_cache = { rules_path, sizeof(rules_path) };
static struct config_cache services_cache = { services_path, sizeof(services_path) };
static struct config_cache settings_cache = { settings_path, sizeof(settings_path) };
static struct wfp_rule rules[WFP_MAX_RULES];
static struct wfp_service services[WFP_MAX_RULES];

/* REG_SZ data or a value name as ASCII; anything else is not a rule */
static int to_ascii( const WCHAR *str, data_size_t len, char *buffer, size_t size )
{
    size_t i, count = len / sizeof(WCHAR);

    while (count && !str[count - 1]) count--;
    if (count >= size) return 0;
    for (i = 0; i < count; i++)
    {
        if (!str[i] || str[i] > 0x7e) return 0;
        buffer[i] = str[i];
    }
    buffer[count] = 0;
    return 1;
}

static void add_rule( const struct unicode_str *name, unsigned int type, const void *data, data_size_t size,
                      void *arg )
{
    char rule_name[WFP_RULE_MAX_NAME], text[WFP_RULE_MAX_TEXT], error[256];

    if (rules_cache.count >= WFP_MAX_RULES)
    {
        if (!rules_cache.over_cap++)
            fprintf( stderr, "wineserver: only the first %u WFP redirection rules are used\n", WFP_MAX_RULES );
        return;
    }
    if (type != REG_SZ || !to_ascii( name->str, name->len, rule_name, sizeof(rule_name) ) ||
        !to_ascii( data, size, text, sizeof(text) ))
    {
        fprintf( stderr, "wineserver: ignoring a WFP redirection rule that is not an ASCII string\n" );
        return;
    }
    if (wfp_rule_parse( rule_name, text, &rules[rules_cache.count], error, sizeof(error) ))
        rules_cache.count++;
    else
        fprintf( stderr, "wineserver: ignoring WFP redirection rule %s: %s\n", rule_name, error );
}

static void add_service( const struct unicode_str *name, unsigned int type, const void *data, data_size_t size,
                         void *arg )
{
    char text[128], error[256];

    if (services_cache.count >= WFP_MAX_RULES)
    {
        if (!services_cache.over_cap++)
            fprintf( stderr, "wineserver: only the first %u WFP netfilter services are used\n", WFP_MAX_RULES );
        return;
    }
    if (type == REG_SZ && to_ascii( data, size, text, sizeof(text) ) &&
        wfp_service_parse( text, &services[services_cache.count], error, sizeof(error) ))
        services_cache.count++;
    else
        fprintf( stderr, "wineserver: ignoring a WFP netfilter service: expected 'port=PORT mark=MARK'\n" );
}

/* The values of HKLM\\Software\\Wine\\WFP itself.  MaxConnectionsInFlight
 * (REG_DWORD) is each process's share of the connections in flight; a
 * proxy that holds more connections to origins outside Wine than the
 * default needs it raised. */
static void add_setting( const struct unicode_str *name, unsigned int type, const void *data, data_size_t size,
                         void *arg )
{
    static const WCHAR max_in_flightW[] = {'M','a','x','C','o','n','n','e','c','t','i','o','n','s',
                                           'I','n','F','l','i','g','h','t'};
    DWORD value;

    if (name->len != sizeof(max_in_flightW) || memicmp_strW( name->str, max_in_flightW, name->len )) return;
    if (type != REG_DWORD || size != sizeof(value) || !(value = *(const DWORD *)data) || value > WFP_PENDING_MAX)
    {
        fprintf( stderr, "wineserver: ignoring WFP setting MaxConnectionsInFlight: expected a REG_DWORD "
                 "from 1 to %u\n", WFP_PENDING_MAX );
        return;
    }
    pending.per_process_max = value;
    settings_cache.count = 1;
}

static void load_config( struct config_cache *cache,
                         void (*add)( const struct unicode_str *, unsigned int, const void *, data_size_t, void * ) )
{
    timeout_t modif;

    if (cache->read && cache->generation == registry_changes) return;
    cache->read = 1;
    cache->generation = registry_changes;
    if (!read_machine_key_values( cache->path, cache->path_len, &modif, NULL, NULL ))
    {
        cache->present = 0;
        cache->count = 0;
        if (cache == &settings_cache) pending.per_process_max = 0;
        return;
    }
    if (cache->present && modif == cache->modif) return;
    cache->count = cache->over_cap = 0;
    if (cache == &settings_cache) pending.per_process_max = 0;
    read_machine_key_values( cache->path, cache->path_len, &modif, add, NULL );
    cache->present = 1;
    cache->modif = modif;
}

/* the SO_MARK that lets a connection pass the netfilter rule of a service */
static uint32_t service_mark( uint16_t port )
{
    unsigned int i;

    for (i = 0; i < services_cache.count; i++)
        if (services[i].port == port) return services[i].mark;
    return WFP_DEFAULT_MARK;
}

/* is this process the one a rule redirects to? */
static int is_rule_target( const struct wfp_rule *rule, const struct process *process )
{
    char image[WFP_RULE_MAX_IMAGE];
    data_size_t i, start = 0, len = process->imagelen / sizeof(WCHAR);

    if (rule->target_pid) return rule->target_pid == process->id;
    if (!rule->target_image[0] || !process->image) return 0;
    for (i = 0; i < len; i++) if (process->image[i] == '\\' || process->image[i] == '/') start = i + 1;
    if (len - start >= sizeof(image)) return 0;
    for (i = start; i < len; i++)
    {
        WCHAR c = process->image[i];
        if (c >= 'A' && c <= 'Z') c += 'a' - 'A';
        if (c > 0x7e) return 0;
        image[i - start] = c;
    }
    image[len - start] = 0;
    return !strcmp( image, rule->target_image );
}

/* the conntrack original destination of a connection: where its
 * connecting side meant to go before netfilter redirected it */
static int get_conntrack_original_dst( int unix_fd, const struct wfp_endpoint *local, struct wfp_endpoint *dst )
{
    union { struct sockaddr addr; struct sockaddr_in in; struct sockaddr_in6 in6; } orig;
    socklen_t len;
    int ret;

    /* conntrack is per address family; a v4-mapped socket has an IPv4 flow */
    if (local->family == 4)
    {
        len = sizeof(orig.in);
        ret = getsockopt( unix_fd, SOL_IP, LINUX_SO_ORIGINAL_DST, &orig.in, &len );
    }
    else
    {
        len = sizeof(orig.in6);
        ret = getsockopt( unix_fd, SOL_IPV6, LINUX_IP6T_SO_ORIGINAL_DST, &orig.in6, &len );
    }
    /* ENOENT: no conntrack entry; ENOPROTOOPT: no conntrack at all */
    return !ret && wfp_endpoint_from_sockaddr( &orig.addr, len, dst );
}

static int get_endpoints( int unix_fd, struct wfp_endpoint *local, struct wfp_endpoint *peer )
{
    union { struct sockaddr addr; struct sockaddr_in in; struct sockaddr_in6 in6; } addr;
    socklen_t len = sizeof(addr);

    if (getsockname( unix_fd, &addr.addr, &len ) || !wfp_endpoint_from_sockaddr( &addr.addr, len, local ))
        return 0;
    len = sizeof(addr);
    return !getpeername( unix_fd, &addr.addr, &len ) && wfp_endpoint_from_sockaddr( &addr.addr, len, peer );
}

/*
 * Connections in flight
 */

static void report_liveness_unknown(void)
{
    static int reported;

    if (wfp_liveness_unknown && !reported++)
        fprintf( stderr, "wineserver: NETLINK_SOCK_DIAG cannot say which connections are gone; WFP redirect "
                 "records of a connection not accepted yet are kept for up to %u minutes\n",
                 PENDING_MAX_AGE_MS / 60000 );
}

static void sweep_pending( void *arg )
{
    unsigned int dropped;

    sweep_timeout = NULL;
    dropped = wfp_pending_sweep( &pending, monotonic_ms(), PENDING_GRACE_MS, PENDING_MAX_AGE_MS );
    if (dropped && debug_level) fprintf( stderr, "wfp: dropped %u connections nobody accepted\n", dropped );
    report_liveness_unknown();
    if (pending.count)
        sweep_timeout = add_timeout_user( -(timeout_t)SWEEP_INTERVAL_MS * (TICKS_PER_SEC / 1000), sweep_pending, NULL );
}

int wfp_endpoint_to_unix( const struct wfp_endpoint *endpoint, int family, struct sockaddr *addr,
                          socklen_t *len, socklen_t max_len )
{
    if (family == AF_INET && endpoint->family == 4 && max_len >= sizeof(struct sockaddr_in))
    {
        struct sockaddr_in *in = (struct sockaddr_in *)addr;
        memset( in, 0, sizeof(*in) );
        in->sin_family = AF_INET;
        in->sin_port = htons( endpoint->port );
        memcpy( &in->sin_addr, endpoint->addr, 4 );
        *len = sizeof(*in);
        return 1;
    }
    if (family == AF_INET6 && max_len >= sizeof(struct sockaddr_in6))
    {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)addr;
        memset( in6, 0, sizeof(*in6) );
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons( endpoint->port );
        if (endpoint->family == 4)
        {
            in6->sin6_addr.s6_addr[10] = in6->sin6_addr.s6_addr[11] = 0xff;
            memcpy( &in6->sin6_addr.s6_addr[12], endpoint->addr, 4 );
        }
        else
        {
            memcpy( &in6->sin6_addr, endpoint->addr, 16 );
            in6->sin6_scope_id = endpoint->scope_id;
        }
        *len = sizeof(*in6);
        return 1;
    }
    return 0;
}

/* Before a TCP socket connects: apply the redirection rules, and note what
 * the connecting side must tell the accepting side.  Returns 0, with the
 * error set, if the connection cannot carry its records. */
int wfp_redirect_connect( struct wfp_conn **slot, struct process *process, struct sockaddr *addr, socklen_t *len,
                          socklen_t max_len )
{
    struct wfp_conn *wfp = *slot;
    const struct wfp_rule *rule = NULL;
    struct wfp_records records;
    struct wfp_endpoint dst;
    int have_records = 0;
    unsigned int i;
    /* a callout driver may have redirected it already (wfp_callout.c):
     * Windows classifies at ALE_CONNECT_REDIRECT before anything else */
    uint16_t callout = wfp ? wfp->connect_callout_service : 0;

    if (wfp) wfp->connect_pending = 0;
    load_config( &rules_cache, add_rule );
    if (!rules_cache.count && !(wfp && wfp->records) && !callout) return 1;
    if (!wfp_endpoint_from_sockaddr( addr, *len, &dst )) return 1;

    /* SET authenticated them */
    if (wfp && wfp->records)
        have_records = wfp_records_read( wfp->records, wfp->records_size, &records ) == WFP_RECORDS_OK;

    /* a connection that a callout redirected is not redirected by a rule too */
    for (i = 0; i < rules_cache.count && !rule && !callout; i++)
    {
        if (!wfp_rule_matches( &rules[i], IPPROTO_TCP, &dst )) continue;
        /* a flow this service redirected once is not redirected by it again */
        if (have_records && wfp_records_have_service( &records, WFP_SERVICE_WINE_RULE, rules[i].service_id ))
            continue;
        if (is_rule_target( &rules[i], process )) continue;
        rule = &rules[i];
    }
    if (!rule && !have_records && !callout) return 1;
    if (rule || callout) get_key();   /* says once why the connection will carry no records */

    /* one process may not fill the table for everybody */
    load_config( &settings_cache, add_setting );
    if (!wfp_pending_room( &pending, process->id ))
    {
        if (pending.count >= WFP_PENDING_MAX)
            fprintf( stderr, "wineserver: %u connections with WFP redirect records are in flight; "
                     "refusing another\n", WFP_PENDING_MAX );
        else
            fprintf( stderr, "wineserver: process %04x has %u connections with WFP redirect records in flight "
                     "(MaxConnectionsInFlight); refusing another\n", process->id,
                     wfp_pending_per_process_max( &pending ) );
        set_error( STATUS_INSUFFICIENT_RESOURCES );
        return 0;
    }
    if (!(wfp = wfp_conn_get( slot )))
    {
        set_error( STATUS_NO_MEMORY );
        return 0;
    }

    wfp->connect_original = callout ? wfp->connect_callout_original : dst;
    wfp->connect_destination = dst;
    wfp->connect_rule_service = 0;
    if (rule && wfp_endpoint_to_unix( &rule->redirect_to, addr->sa_family, addr, len, max_len ))
    {
        if (debug_level) fprintf( stderr, "wfp: rule %s redirects a connection to port %u\n", rule->name, dst.port );
        wfp->connect_destination = rule->redirect_to;
        wfp->connect_rule_service = rule->service_id;
        wfp->connect_rule_context = rule->context;
    }
    wfp->connect_pending = 1;
    return 1;
}

/* After connect() gave the socket its local address: leave the note. */
void wfp_redirect_connected( struct wfp_conn *wfp, struct process *process, int unix_fd,
                             const struct sockaddr *local, socklen_t len )
{
    struct wfp_endpoint source;
    struct wfp_pending *entry;
    socklen_t cookie_len;

    if (!wfp || !wfp->connect_pending) return;
    wfp->connect_pending = 0;
    if (!wfp_endpoint_from_sockaddr( local, len, &source )) return;

    if (!(entry = wfp_pending_add( &pending, &source, &wfp->connect_destination, process->id )))
    {
        fprintf( stderr, "wineserver: out of memory; a connection does not carry its WFP redirect records\n" );
        return;
    }
    /* which connection between these endpoints this is; 0 (any) without SO_COOKIE */
    cookie_len = sizeof(entry->cookie);
    if (getsockopt( unix_fd, SOL_SOCKET, SO_COOKIE, &entry->cookie, &cookie_len )) entry->cookie = 0;
    wfp_pending_orphan( wfp->note );
    wfp_pending_link( entry, &wfp->note );
    entry->original_dst = wfp->connect_original;
    entry->rule_service = wfp->connect_rule_service;
    entry->rule_context = wfp->connect_rule_context;
    entry->callout_service = wfp->connect_callout_service;
    entry->callout_target = wfp->connect_callout_target;
    entry->callout_context = wfp->connect_context;
    entry->callout_context_size = wfp->connect_context_size;
    wfp->connect_callout_service = 0;
    wfp->connect_callout_target = 0;
    wfp->connect_context = NULL;
    wfp->connect_context_size = 0;
    entry->created_ms = monotonic_ms();
    if (wfp->records && (entry->records = malloc( wfp->records_size )))
    {
        memcpy( entry->records, wfp->records, wfp->records_size );
        entry->records_size = wfp->records_size;
    }
    if (!sweep_timeout)
        sweep_timeout = add_timeout_user( -(timeout_t)SWEEP_INTERVAL_MS * (TICKS_PER_SEC / 1000), sweep_pending, NULL );
}

/* A socket was accepted: if its connecting side left a note, keep it for
 * when somebody asks.  Free while no notes exist.  AcceptEx may accept
 * into a socket that had records of its own (SET): they are not this
 * connection's. */
void wfp_redirect_accepted( struct wfp_conn **slot, int unix_fd )
{
    struct wfp_endpoint local, peer, orig;
    struct wfp_pending *entry;
    struct wfp_conn *wfp;

    if (*slot) wfp_conn_reset( *slot );
    if (!pending.count) return;
    if (!get_endpoints( unix_fd, &local, &peer )) return;
    if (!(entry = wfp_pending_take( &pending, &peer, &local )))
    {
        /* netfilter may have sent it here from where it connected */
        if (!get_conntrack_original_dst( unix_fd, &local, &orig ) || wfp_endpoint_equal( &orig, &local ) ||
            !(entry = wfp_pending_take( &pending, &peer, &orig )))
        {
            report_liveness_unknown();
            return;
        }
        entry->netfilter = 1;
    }
    report_liveness_unknown();
    if (!(wfp = wfp_conn_get( slot )))
    {
        wfp_pending_free( entry );
        return;
    }
    wfp->arrival = entry;
}

/* target: the process the connection is for, localRedirectTargetPID on
 * Windows: the one that accepted it, or else the first to ask about it */
static void init_hop( struct wfp_hop *hop, uint8_t kind, uint8_t protocol, uint16_t service,
                      const struct wfp_endpoint *dst, const struct wfp_endpoint *src, const struct process *target )
{
    struct wfp_process_id id;

    memset( hop, 0, sizeof(*hop) );
    hop->service_kind = kind;
    hop->protocol = protocol;
    hop->service_id = service;
    get_wfp_process_id( target, &id );
    wfp_hop_set_target( hop, &id );
    hop->flow_id = new_flow_id();
    hop->time_ms = unix_time_ms();
    hop->original_dst = *dst;
    hop->original_src = *src;
}

static int get_local_endpoint( int unix_fd, struct wfp_endpoint *local )
{
    union { struct sockaddr addr; struct sockaddr_in in; struct sockaddr_in6 in6; } addr;
    socklen_t len = sizeof(addr);

    return !getsockname( unix_fd, &addr.addr, &len ) && wfp_endpoint_from_sockaddr( &addr.addr, len, local );
}

/* The records of a connection that a Wine process of this wineserver made:
 * the hops it carried, plus one for each redirection on its way here. */
static void resolve_arrival( struct wfp_conn *wfp, const struct wfp_sock_info *sock, const uint8_t *key,
                             const struct process *target )
{
    struct wfp_pending *entry = wfp->arrival;
    struct wfp_records records;
    struct wfp_endpoint local;
    struct wfp_hop hops[3];
    unsigned int count = 0, i;
    enum wfp_store_result result = WFP_STORE_OK;

    wfp->arrival = NULL;
    wfp->redirect_checked = 1;
    records.hop_count = 0;
    /* the connecting socket's own records, authenticated by SET */
    if (entry->records && wfp_records_read( entry->records, entry->records_size, &records ))
        records.hop_count = 0;

    if (entry->rule_service)
    {
        init_hop( &hops[count++], WFP_SERVICE_WINE_RULE, IPPROTO_TCP, entry->rule_service, &entry->original_dst,
                  &entry->source, target );
        wfp->context_none = entry->rule_context == WFP_CONTEXT_NONE;
    }
    if (entry->callout_service)
    {
        struct process *callout_target = NULL;
        unsigned int error = get_error();

        /* the process the callout named (localRedirectTargetPID), while it runs */
        if (entry->callout_target && !(callout_target = get_process_from_id( entry->callout_target )))
            set_error( error );
        /* the context is the callout's own bytes, or none */
        init_hop( &hops[count++], WFP_SERVICE_CALLOUT, IPPROTO_TCP, entry->callout_service, &entry->original_dst,
                  &entry->source, callout_target ? callout_target : target );
        if (callout_target) release_object( callout_target );
        free( wfp->context );
        wfp->context = entry->callout_context;
        wfp->context_size = entry->callout_context_size;
        wfp->context_none = !wfp->context;
        entry->callout_context = NULL;
    }
    if (entry->netfilter && get_local_endpoint( sock->unix_fd, &local ))
    {
        init_hop( &hops[count++], WFP_SERVICE_NETFILTER, IPPROTO_TCP, local.port, &entry->original_dst,
                  &entry->source, target );
        wfp->context_none = 0;
    }

    for (i = 0; i < count && result == WFP_STORE_OK; i++)
    {
        result = wfp_conn_add_hop( wfp, &records, &hops[i], key );
        if (result == WFP_STORE_OK)
            wfp_records_read( wfp->records, wfp->records_size, &records );
    }
    if (result == WFP_STORE_TOO_MANY_HOPS)
        fprintf( stderr, "wineserver: a connection was redirected more than %u times\n", WFP_RECORDS_MAX_HOPS );
    if (!count && records.hop_count)
    {
        /* not redirected on the way: it keeps the hops it carried */
        if ((wfp->records = malloc( entry->records_size )))
        {
            memcpy( wfp->records, entry->records, entry->records_size );
            wfp->records_size = entry->records_size;
        }
        wfp->inbound = 0;
    }
    wfp_pending_free( entry );
}

/* Was this accepted connection, made by a program outside this
 * wineserver, redirected by netfilter?  If so, give the socket a one-hop
 * chain that says so. */
static void check_netfilter_redirect( struct wfp_conn *wfp, const struct wfp_sock_info *sock,
                                      const uint8_t *key, const struct process *target )
{
    struct wfp_endpoint local, peer, orig;
    struct wfp_hop hop;

    wfp->redirect_checked = 1;
    if (!get_endpoints( sock->unix_fd, &local, &peer ) ||
        !get_conntrack_original_dst( sock->unix_fd, &local, &orig )) return;

    /* The original destination of a connection nobody redirected is our
     * own address (or, seen from a connecting socket, the peer's). */
    if (wfp_endpoint_equal( &orig, &local ) || wfp_endpoint_equal( &orig, &peer )) return;

    init_hop( &hop, WFP_SERVICE_NETFILTER, IPPROTO_TCP, local.port, &orig, &peer, target );
    if (wfp_conn_add_hop( wfp, NULL, &hop, key ) != WFP_STORE_OK) return;

    if (debug_level)
        fprintf( stderr, "wfp: connection on fd %d was redirected by netfilter (original port %u)\n",
                 sock->unix_fd, orig.port );
}

/*
 * UDP flows.  The core keeps the records that WSASendMsg gave a flow
 * (server/wfp_udp.c); here they are checked as SET checks them, and a
 * flow that netfilter redirected gets a hop, which conntrack tells of:
 * Linux has no SO_ORIGINAL_DST for UDP.  Replies need nothing: conntrack
 * gives them the original destination as their source.
 */

/* a flow that netfilter redirected to local, from peer: its original
 * endpoints, from conntrack */
static int udp_original( const struct wfp_endpoint *local, const struct wfp_endpoint *peer,
                         struct wfp_endpoint *orig_src, struct wfp_endpoint *orig_dst )
{
    static int reported;
    int ret = wfp_conntrack_udp_original( local, peer, orig_src, orig_dst );

    if (ret < 0 && !reported++)
        fprintf( stderr, "wineserver: conntrack cannot give the original destination of UDP flows (%s%s); UDP "
                 "flows that netfilter redirected carry no WFP redirect records or context\n", strerror( -ret ),
                 ret == -EPERM ? ": ctnetlink needs CAP_NET_ADMIN" : "" );
    return ret > 0 && !wfp_endpoint_equal( orig_dst, local );
}

static int endpoint_to_addr( const struct wfp_endpoint *endpoint, union wfp_unix_addr *addr )
{
    union wfp_unix_addr unix_addr;
    socklen_t len;

    return wfp_endpoint_to_unix( endpoint, endpoint->family == 4 ? AF_INET : AF_INET6, &unix_addr.addr, &len,
                                 sizeof(unix_addr) ) &&
           wfp_addr_from_unix( addr, &unix_addr.addr, len );
}

/* The records of a Wine process's flow from orig_src to orig_dst, which
 * WSASendMsg gave it and set_flow_records checked; NULL without. */
static const void *udp_carried( const struct wfp_endpoint *orig_dst, const struct wfp_endpoint *orig_src,
                                struct wfp_records *records, data_size_t *size )
{
    union wfp_unix_addr destination, sender;
    const void *carried;

    if (!endpoint_to_addr( orig_dst, &destination ) || !endpoint_to_addr( orig_src, &sender ) ||
        !(carried = wfp_udp_flow_records( &destination, &sender, size )) ||
        wfp_records_read( carried, *size, records ) != WFP_RECORDS_OK)
        return NULL;
    /* a proxy may have sent its whole query buffer */
    *size = WFP_RECORDS_SIZE( records->hop_count );
    return carried;
}

/* The records of a connected UDP socket's flow, once per peer: the hops
 * it carried, plus one if netfilter redirected it here.  A flow without
 * records is asked about again: its first datagram may be yet to come. */
static void settle_udp_flow( struct wfp_conn *wfp, const struct wfp_sock_info *sock, const uint8_t *key,
                             const struct process *target )
{
    struct wfp_endpoint local, peer, orig_src, orig_dst;
    struct wfp_records records;
    struct wfp_hop hop;
    const void *carried;
    data_size_t size;

    if (!get_endpoints( sock->unix_fd, &local, &peer )) return;
    if (wfp->records && wfp_endpoint_equal( &wfp->connect_original, &peer )) return;
    wfp_conn_reset( wfp );
    wfp->connect_original = peer;

    if (!udp_original( &local, &peer, &orig_src, &orig_dst ))
    {
        /* not redirected on the way: it keeps the hops it carried */
        if ((carried = udp_carried( &local, &peer, &records, &size ))) wfp_conn_keep_records( wfp, carried, size );
        return;
    }
    if (!udp_carried( &orig_dst, &orig_src, &records, &size )) records.hop_count = 0;
    init_hop( &hop, WFP_SERVICE_NETFILTER, IPPROTO_UDP, local.port, &orig_dst, &orig_src, target );
    if (wfp_conn_add_hop( wfp, &records, &hop, key ) == WFP_STORE_TOO_MANY_HOPS)
        fprintf( stderr, "wineserver: a UDP flow was redirected more than %u times\n", WFP_RECORDS_MAX_HOPS );
}

/* The redirect state of a connected TCP socket, settled the first time
 * somebody asks, for the process given; NULL with the error set if there
 * is none to have. */
static struct wfp_conn *connection_state( struct wfp_conn **slot, const struct wfp_sock_info *sock,
                                            const uint8_t **key, const struct process *process )
{
    struct wfp_conn *wfp;

    /* Microsoft's page names "the connected socket for a TCP socket or a
     * UDP socket": a connected UDP socket answers for its flow */
    if (!wfp_sock_is_connected_udp( sock ) && !wfp_sock_can_query( sock )) return NULL;
    if (!(*key = get_key()))
    {
        set_error( STATUS_ACCESS_DENIED );
        return NULL;
    }
    if (!(wfp = wfp_conn_get( slot )))
    {
        set_error( STATUS_NO_MEMORY );
        return NULL;
    }
    if (wfp_sock_is_connected_udp( sock )) settle_udp_flow( wfp, sock, *key, process );
    else if (wfp->arrival) resolve_arrival( wfp, sock, *key, process );
    else if (!wfp->redirect_checked && !wfp->records) check_netfilter_redirect( wfp, sock, *key, process );
    return wfp;
}

/* A context describes the redirection that brought an accepted connection
 * here; an outbound socket's records have none.  Returns its size, 0 if
 * there is none. */
static data_size_t make_context( const struct wfp_conn *wfp, uint8_t context[WFP_CONTEXT_DEFAULT_SIZE],
                                  const uint8_t **data )
{
    struct wfp_hop hop;

    *data = context;
    if (!wfp->inbound || wfp->context_none || !wfp_conn_last_hop( wfp, &hop )) return 0;
    if (hop.service_kind == WFP_SERVICE_CALLOUT)
    {
        *data = wfp->context;
        return wfp->context ? wfp->context_size : 0;
    }
    return wfp_context_default( &hop, context, WFP_CONTEXT_DEFAULT_SIZE );
}

/*
 * Ports whose accepted connections a program asks about: the listening
 * ports of proxies.  An accept() on one of them settles the records at
 * once and hands them to ws2_32 with the new handle (struct
 * afd_wfp_accept_output), which then answers the queries that follow
 * without a request each.  Sockets on other ports stay free of any cost.
 * A mark that outlives its proxy only costs the next program on that port
 * a few syscalls per accepted connection.
 */
#define ASKED_PORTS_MAX 16

static uint16_t asked_ports[ASKED_PORTS_MAX];   /* host order */
static unsigned int asked_port_count, asked_port_next;

static int is_asked_port( uint16_t port )
{
    unsigned int i;

    for (i = 0; i < asked_port_count; i++) if (asked_ports[i] == port) return 1;
    return 0;
}

static void mark_asked_port( int unix_fd )
{
    struct wfp_endpoint local;

    if (!get_local_endpoint( unix_fd, &local ) || is_asked_port( local.port )) return;
    if (asked_port_count < ASKED_PORTS_MAX) asked_ports[asked_port_count++] = local.port;
    else asked_ports[asked_port_next++ % ASKED_PORTS_MAX] = local.port;
    if (debug_level) fprintf( stderr, "wfp: accepts on port %u will carry their records\n", local.port );
}

/* A process that was handed an accepted socket and asks for its records
 * may SET them too (see set_redirect_records). */
static void add_reader( struct wfp_conn *wfp, const struct process *process )
{
    struct wfp_process_id id;
    struct wfp_hop hop;

    if (!wfp->inbound || !wfp_conn_last_hop( wfp, &hop )) return;
    get_wfp_process_id( process, &id );
    if (wfp_hop_target_is( &hop, &id )) return;
    if (wfp_conn_add_reader( wfp, hop.flow_id, &id ) == WFP_STORE_TOO_MANY_READERS && debug_level)
        fprintf( stderr, "wfp: more than %u processes asked for the records of one connection\n", WFP_MAX_READERS );
}

/* The bytes that a QUERY_RECORDS or QUERY_CONTEXT answers with.  A
 * connection that carries no records at all gives WSAEINVAL, which is how
 * shipped proxies (rama) tell a connection that was not redirected; one
 * with records but no context (its redirector gave none, or its last leg
 * was not redirected) gives FWP_E_NOT_FOUND, which WFPSampler tolerates. */
static const void *query_data( struct wfp_conn **slot, const struct wfp_sock_info *sock, unsigned int code,
                               const struct process *process, uint8_t context[WFP_CONTEXT_DEFAULT_SIZE],
                               data_size_t *size )
{
    struct wfp_conn *wfp;
    const uint8_t *key, *data;

    if (!(wfp = connection_state( slot, sock, &key, process ))) return NULL;
    if (!wfp->records)
    {
        set_error( STATUS_INVALID_PARAMETER );
        return NULL;
    }

    if (code == IOCTL_AFD_WINE_QUERY_WFP_REDIRECT_RECORDS)
    {
        if (wfp->inbound && sock->type == WS_SOCK_STREAM) mark_asked_port( sock->unix_fd );
        add_reader( wfp, process );
        *size = wfp->records_size;
        return wfp->records;
    }

    if (!(*size = make_context( wfp, context, &data )))
    {
        set_error( STATUS_FWP_NOT_FOUND );
        return NULL;
    }
    /* a proxy may want only the original destination */
    if (sock->type == WS_SOCK_STREAM) mark_asked_port( sock->unix_fd );
    return data;
}

/* After an accept: the records of a connection that a Wine process of
 * this wineserver made are settled now, for the process that accepted it
 * (whichever thread of it completes the accept, and whoever asks later).
 * Other sockets pay one test. */
void wfp_redirect_settle( struct wfp_conn **slot, const struct wfp_sock_info *sock, struct process *process )
{
    unsigned int error = get_error();
    const uint8_t *key;

    if (!*slot || !(*slot)->arrival) return;
    connection_state( slot, sock, &key, process );
    set_error( error );
}

/* The output of IOCTL_AFD_WINE_ACCEPT for a socket accepted on an asked
 * port: the handle, the records and the context.  NULL when there are no
 * records to give, or no room for them; the handle alone is the output
 * then, and the queries go to the server as usual. */
void *wfp_redirect_accept_output( struct wfp_conn **slot, const struct wfp_sock_info *sock, uint16_t port,
                                  struct process *process, obj_handle_t handle, data_size_t max_size,
                                  data_size_t *size )
{
    uint8_t context[WFP_CONTEXT_DEFAULT_SIZE];
    struct afd_wfp_accept_output *output = NULL;
    unsigned int error = get_error();
    const uint8_t *context_data;
    data_size_t context_size;
    struct wfp_conn *wfp;
    const uint8_t *key;

    C_ASSERT( WFP_RECORDS_MAX_SIZE + WFP_CONTEXT_DEFAULT_SIZE <= WINE_AFD_WFP_ACCEPT_DATA_MAX );

    if (!asked_port_count || !is_asked_port( port ) || !handle || max_size < sizeof(*output))
    {
        wfp_redirect_settle( slot, sock, process );
        return NULL;
    }

    if ((wfp = connection_state( slot, sock, &key, process )) && wfp->records &&
        wfp->records_size <= WFP_RECORDS_MAX_SIZE &&
        (output = malloc( sizeof(*output) )))
    {
        context_size = make_context( wfp, context, &context_data );
        if (wfp->records_size + context_size > WINE_AFD_WFP_ACCEPT_DATA_MAX)
        {
            /* a callout's long context: the queries ask for it */
            free( output );
            set_error( error );
            return NULL;
        }
        output->handle = handle;
        output->records_size = wfp->records_size;
        output->context_size = context_size;
        memcpy( output->data, wfp->records, wfp->records_size );
        memcpy( output->data + wfp->records_size, context_data, context_size );
        *size = offsetof( struct afd_wfp_accept_output, data[wfp->records_size + context_size] );
    }
    /* whatever failed, the accept itself succeeded */
    set_error( error );
    return output;
}

static void query_redirect( struct wfp_conn **slot, const struct wfp_sock_info *sock, unsigned int code,
                            struct process *process, struct async *async )
{
    uint8_t context[WFP_CONTEXT_DEFAULT_SIZE];
    const void *data;
    data_size_t size;

    if (!(data = query_data( slot, sock, code, process, context, &size ))) return;
    /* ws2_32 asks for the size with QUERY_WFP_REDIRECT_SIZE when this fails */
    if (get_reply_max_size() < size)
    {
        set_error( STATUS_BUFFER_TOO_SMALL );
        return;
    }
    wfp_reply_data( async, data, size );
}

static void query_redirect_size( struct wfp_conn **slot, const struct wfp_sock_info *sock,
                                 struct process *process, struct async *async )
{
    uint8_t context[WFP_CONTEXT_DEFAULT_SIZE];
    unsigned int code;
    data_size_t size;
    DWORD reply;

    if (!wfp_sock_size_query( &code )) return;
    if (!query_data( slot, sock, code, process, context, &size )) return;
    reply = size;
    wfp_reply_data( async, &reply, sizeof(reply) );
}

/* The SO_MARK that lets a connection with these records through the
 * netfilter rules of every service that redirected it already. */
static uint32_t records_mark( const struct wfp_records *records )
{
    uint32_t mark = 0;
    unsigned int i;

    load_config( &services_cache, add_service );
    for (i = 0; i < records->hop_count; i++)
        if (records->hops[i].service_kind == WFP_SERVICE_NETFILTER)
            mark |= service_mark( records->hops[i].service_id );
    return mark;
}

/* What SET and WSASendMsg check of the records that a proxy gives back:
 * that this machine's wineservers issued them unaltered, and to this
 * process.  0 with the error set otherwise. */
static int check_records( const void *data, data_size_t size, struct process *process,
                          struct wfp_records *records, size_t *used )
{
    enum wfp_records_status status;
    struct wfp_process_id id;
    const struct wfp_hop *last;
    const uint8_t *key;

    if (!(key = get_key()))
    {
        set_error( STATUS_ACCESS_DENIED );
        return 0;
    }
    if ((status = wfp_records_decode( data, size, key, records, used )) != WFP_RECORDS_OK)
    {
        if (debug_level) fprintf( stderr, "wfp: refusing records: %s\n", wfp_records_status_name( status ) );
        set_error( STATUS_INVALID_PARAMETER );
        return 0;
    }

    /* Records are for the process the connection was redirected to (its
     * localRedirectTargetPID), and for those it handed the connection to;
     * a blob that another process got hold of is refused. */
    last = &records->hops[records->hop_count - 1];
    get_wfp_process_id( process, &id );
    if (!wfp_hop_target_is( last, &id ) && !wfp_flow_has_reader( last->flow_id, &id ))
    {
        if (debug_level) fprintf( stderr, "wfp: refusing records issued to process %04x\n", last->target_pid );
        set_error( STATUS_ACCESS_DENIED );
        return 0;
    }
    return 1;
}

/* without CAP_NET_ADMIN (or CAP_NET_RAW) the kernel refuses the mark */
static int set_mark( int unix_fd, uint32_t mark )
{
    if (!setsockopt( unix_fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark) )) return 1;
    if (debug_level) fprintf( stderr, "wfp: cannot mark the socket %#x: %s\n", mark, strerror( errno ) );
    set_error( STATUS_ACCESS_DENIED );
    return 0;
}

static void set_redirect_records( struct wfp_conn **slot, const struct wfp_sock_info *sock,
                                  struct process *process )
{
    struct wfp_records records;
    struct wfp_conn *wfp;
    data_size_t size = get_req_data_size();
    size_t used;
    uint32_t mark;

    if (!wfp_sock_can_set( sock, size )) return;
    if (!check_records( get_req_data(), size, process, &records, &used )) return;
    if (!(wfp = wfp_conn_get( slot )))
    {
        set_error( STATUS_NO_MEMORY );
        return;
    }
    if (((mark = records_mark( &records )) || wfp->marked) && !set_mark( sock->unix_fd, mark )) return;
    wfp->marked = !!mark;

    if (wfp_conn_keep_records( wfp, get_req_data(), used ) != WFP_STORE_OK)
    {
        set_error( STATUS_NO_MEMORY );
        return;
    }
    wfp->redirect_checked = 1;   /* an outbound socket: nothing to ask netfilter */
}

/* getsockopt(SOL_IP, SO_ORIGINAL_DST) and (SOL_IPV6, IP6T_SO_ORIGINAL_DST):
 * where the client meant to connect before it was redirected here. */
static void get_original_dst( struct wfp_conn **slot, const struct wfp_sock_info *sock, unsigned int code,
                              struct process *process, struct async *async )
{
    uint8_t addr[WFP_SOCKADDR_IN6_SIZE];
    struct wfp_conn *wfp;
    const uint8_t *key;
    struct wfp_hop hop;
    size_t size;

    /* the same errors as QUERY_CONTEXT's */
    if (!(wfp = connection_state( slot, sock, &key, process ))) return;
    if (!wfp->records)
    {
        set_error( STATUS_INVALID_PARAMETER );
        return;
    }
    if (!wfp->inbound || !wfp_conn_last_hop( wfp, &hop ))
    {
        set_error( STATUS_FWP_NOT_FOUND );
        return;
    }
    /* an IPv6 original destination has no SOCKADDR_IN form */
    if (!(size = wfp_endpoint_to_win_sockaddr( &hop.original_dst, code == IOCTL_AFD_WINE_GET_IP6T_SO_ORIGINAL_DST,
                                               addr, sizeof(addr) )))
    {
        set_error( STATUS_INVALID_PARAMETER );
        return;
    }
    if (get_reply_max_size() < size)
    {
        set_error( STATUS_BUFFER_TOO_SMALL );
        return;
    }
    wfp_reply_data( async, addr, size );
}

/* Only a wineserver started with WINE_WFP_STATS=1 in its environment (the
 * test suites) answers: for any other program the code does not exist. */
static int stats_enabled(void)
{
    static int enabled = -1;
    const char *value;

    if (enabled < 0) enabled = (value = getenv( "WINE_WFP_STATS" )) && !strcmp( value, "1" );
    return enabled;
}

/* what the redirect state of this wineserver takes, for tests and soak runs */
static void get_stats( struct async *async )
{
    struct afd_wfp_stats stats;

    if (!stats_enabled())
    {
        set_error( STATUS_NOT_SUPPORTED );
        return;
    }
    if (get_reply_max_size() < sizeof(stats))
    {
        set_error( STATUS_BUFFER_TOO_SMALL );
        return;
    }
    load_config( &rules_cache, add_rule );
    load_config( &services_cache, add_service );
    stats.sockets = wfp_conn_count;
    stats.pending = pending.count;
    stats.rules = rules_cache.count;
    stats.services = services_cache.count;
    wfp_reply_data( async, &stats, sizeof(stats) );
}

/*
 * UDP rules.  Datagrams do not pass through the wineserver: ntdll asks
 * once per flow where it goes (IOCTL_AFD_WINE_WFP_UDP_REDIRECT), sends the
 * flow's datagrams there and gives the proxy's replies the original
 * destination as their source, as conntrack does for netfilter.  The
 * note that the flow leaves on its socket tells the proxy's first
 * datagram where it was going.
 */

/* Windows keeps a UDP flow for about a minute after its last datagram;
 * ntdll asks again well within it while the flow lasts */
#define UDP_FLOW_IDLE_MS  60000

static int have_udp_rules(void)
{
    unsigned int i;

    for (i = 0; i < rules_cache.count; i++) if (rules[i].protocol == IPPROTO_UDP) return 1;
    return 0;
}

/* a SOCKADDR_IN or SOCKADDR_IN6 that ntdll passed on */
int wfp_endpoint_from_win( const BYTE *win, size_t size, struct wfp_endpoint *endpoint )
{
    union { struct sockaddr addr; struct sockaddr_in in; struct sockaddr_in6 in6; } addr;

    memset( &addr, 0, sizeof(addr) );
    if (size >= WFP_SOCKADDR_IN_SIZE && win[0] == WS_AF_INET && !win[1])
    {
        addr.in.sin_family = AF_INET;
        memcpy( &addr.in.sin_port, win + 2, 2 );
        memcpy( &addr.in.sin_addr, win + 4, 4 );
        return wfp_endpoint_from_sockaddr( &addr.addr, sizeof(addr.in), endpoint );
    }
    if (size >= WFP_SOCKADDR_IN6_SIZE && win[0] == WS_AF_INET6 && !win[1])
    {
        addr.in6.sin6_family = AF_INET6;
        memcpy( &addr.in6.sin6_port, win + 2, 2 );
        memcpy( &addr.in6.sin6_addr, win + 8, 16 );
        memcpy( &addr.in6.sin6_scope_id, win + 24, 4 );
        return wfp_endpoint_from_sockaddr( &addr.addr, sizeof(addr.in6), endpoint );
    }
    return 0;
}

/* the note's sending endpoint: a socket connected before it was bound
 * has one only after the connect */
static int note_source( struct wfp_udp_note *note )
{
    if (!note->source.port && !get_local_endpoint( note->unix_fd, &note->source )) return 0;
    return note->source.port != 0;
}

/* the note of the flow from peer to the proxy at local, if a rule sent it */
static struct wfp_udp_note *find_udp_note( const struct wfp_endpoint *peer, const struct wfp_endpoint *local )
{
    static const uint8_t any[16];
    struct wfp_udp_note *note;

    for (note = wfp_udp_notes; note; note = note->all_next)
    {
        if (!wfp_endpoint_equal( &note->proxy, local ) || !note_source( note ) || note->source.port != peer->port)
            continue;
        /* a socket bound to the wildcard address sends from any */
        if (!memcmp( note->source.addr, any, sizeof(any) ) ||
            (note->source.family == peer->family && !memcmp( note->source.addr, peer->addr, sizeof(any) )))
            return note;
    }
    return NULL;
}

static void reply_udp_redirect( struct async *async, unsigned int flags, const struct wfp_endpoint *proxy,
                                const struct wfp_sock_info *sock )
{
    struct afd_wfp_udp_redirect_output output;

    memset( &output, 0, sizeof(output) );
    output.flags = flags;
    if (proxy && !wfp_endpoint_to_win_sockaddr( proxy, sock->family == WS_AF_INET6, output.proxy,
                                                sizeof(output.proxy) ))
    {
        /* the rule parser keeps a rule's families alike; an IPv6 proxy for an IPv4 socket */
        set_error( STATUS_INVALID_ADDRESS_COMPONENT );
        return;
    }
    wfp_reply_data( async, &output, sizeof(output) );
}

/* Where the rules send a UDP socket's datagrams to a destination.  The
 * checks are those of a TCP connect(): a flow that a service redirected
 * once (its records, which WSASendMsg gave it, say so) is not redirected
 * by it again, and a rule leaves its target's own flows alone. */
static void udp_redirect( struct wfp_conn **slot, const struct wfp_sock_info *sock, struct process *process,
                          struct async *async )
{
    const struct afd_wfp_udp_redirect_params *params = get_req_data();
    struct wfp_udp_note *note, *stale = NULL;
    const struct wfp_rule *rule = NULL;
    struct wfp_endpoint dst, local;
    struct wfp_records records;
    data_size_t carried_size;
    struct wfp_conn *wfp;
    uint64_t now = monotonic_ms();
    int have_records;
    unsigned int i;

    if (get_req_data_size() != sizeof(*params) || get_reply_max_size() < sizeof(struct afd_wfp_udp_redirect_output))
    {
        set_error( STATUS_INVALID_PARAMETER );
        return;
    }
    load_config( &rules_cache, add_rule );
    if (!have_udp_rules())
    {
        reply_udp_redirect( async, WINE_AFD_WFP_UDP_NO_RULES, NULL, sock );
        return;
    }
    if (sock->type != WS_SOCK_DGRAM || (sock->family != WS_AF_INET && sock->family != WS_AF_INET6) ||
        !wfp_endpoint_from_win( params->destination, sizeof(params->destination), &dst ))
    {
        reply_udp_redirect( async, 0, NULL, sock );
        return;
    }
    if (!get_local_endpoint( sock->unix_fd, &local )) memset( &local, 0, sizeof(local) );
    have_records = local.port && udp_carried( &dst, &local, &records, &carried_size );

    for (i = 0; i < rules_cache.count && !rule; i++)
    {
        if (!wfp_rule_matches( &rules[i], IPPROTO_UDP, &dst )) continue;
        if (have_records && wfp_records_have_service( &records, WFP_SERVICE_WINE_RULE, rules[i].service_id ))
            continue;
        if (is_rule_target( &rules[i], process )) continue;
        rule = &rules[i];
    }
    if (!rule)
    {
        reply_udp_redirect( async, 0, NULL, sock );
        return;
    }

    if (!(wfp = wfp_conn_get( slot )))
    {
        set_error( STATUS_NO_MEMORY );
        return;
    }
    /* a proxy's replies to one sending endpoint come from one address: two
     * live flows to one proxy could not be told apart */
    for (note = wfp->udp_notes; note; note = note->next)
    {
        if (!wfp_endpoint_equal( &note->proxy, &rule->redirect_to )) continue;
        if (wfp_endpoint_equal( &note->original_dst, &dst )) break;
        if (now - note->used_ms < UDP_FLOW_IDLE_MS)
        {
            if (debug_level)
                fprintf( stderr, "wfp: rule %s: the socket has another flow to the proxy; refusing one to "
                         "port %u\n", rule->name, dst.port );
            set_error( STATUS_ADDRESS_ALREADY_EXISTS );
            return;
        }
        stale = note;
    }
    if (!note && !(note = stale) && !(note = wfp_udp_note_add( wfp )))
    {
        static int reported;

        if (!reported++)
            fprintf( stderr, "wineserver: %u UDP flows that rules redirected are open; refusing another\n",
                     WFP_UDP_NOTES_MAX );
        set_error( STATUS_INSUFFICIENT_RESOURCES );
        return;
    }
    if (!wfp_endpoint_equal( &note->original_dst, &dst ) && debug_level)
        fprintf( stderr, "wfp: rule %s redirects a UDP flow to port %u\n", rule->name, dst.port );
    note->unix_fd = sock->unix_fd;
    if (local.port) note->source = local;
    note->original_dst = dst;
    note->proxy = rule->redirect_to;
    note->rule_service = rule->service_id;
    note->rule_context = rule->context;
    note->used_ms = now;
    reply_udp_redirect( async, WINE_AFD_WFP_UDP_REDIRECTED, &rule->redirect_to, sock );
}

/* ntdll saw the first datagram of a flow on a socket that asked for the
 * options.  Returns 0 for a flow that was not redirected here: the core
 * gives the records it carried, if any. */
static int get_flow( const struct wfp_sock_info *sock, struct process *process )
{
    union wfp_unix_addr peer_addr, local_addr;
    struct wfp_endpoint local, peer, orig_src, orig_dst;
    uint8_t context[WFP_CONTEXT_DEFAULT_SIZE], blob[WFP_RECORDS_MAX_SIZE];
    struct wfp_records records;
    struct wfp_udp_note *note = NULL;
    data_size_t context_size, carried_size;
    const uint8_t *key;
    size_t size;

    if (!sock->deliver_records && !sock->deliver_context) return 0;
    if (!wfp_udp_flow_params( sock, &peer_addr, &local_addr )) return 1;
    if (!wfp_endpoint_from_sockaddr( &local_addr.addr, sizeof(local_addr), &local ) ||
        !wfp_endpoint_from_sockaddr( &peer_addr.addr, sizeof(peer_addr), &peer ))
        return 0;
    /* a rule's flow, or else one that netfilter redirected */
    if (wfp_udp_note_count && (note = find_udp_note( &peer, &local )))
    {
        orig_dst = note->original_dst;
        orig_src = peer;
    }
    else if (!udp_original( &local, &peer, &orig_src, &orig_dst )) return 0;
    if (!(key = get_key())) return 0;

    /* a Wine process's flow keeps the hops it carried */
    if (!udp_carried( &orig_dst, &orig_src, &records, &carried_size )) records.hop_count = 0;
    if (records.hop_count >= WFP_RECORDS_MAX_HOPS)
    {
        fprintf( stderr, "wineserver: a UDP flow was redirected more than %u times\n", WFP_RECORDS_MAX_HOPS );
        return 0;
    }
    if (note)
        init_hop( &records.hops[records.hop_count], WFP_SERVICE_WINE_RULE, IPPROTO_UDP, note->rule_service,
                  &orig_dst, &orig_src, process );
    else
        init_hop( &records.hops[records.hop_count], WFP_SERVICE_NETFILTER, IPPROTO_UDP, local.port, &orig_dst,
                  &orig_src, process );
    context_size = wfp_context_default( &records.hops[records.hop_count], context, sizeof(context) );
    if (note && note->rule_context == WFP_CONTEXT_NONE) context_size = 0;
    records.hop_count++;
    if (!(size = wfp_records_encode( &records, key, blob, sizeof(blob) ))) return 0;

    if (debug_level)
        fprintf( stderr, "wfp: UDP flow to port %u was redirected by %s (original port %u)\n",
                 local.port, note ? "a rule" : "netfilter", orig_dst.port );
    wfp_udp_reply_flow( blob, sock->deliver_records ? size : 0, context, sock->deliver_context ? context_size : 0 );
    return 1;
}

/* WSASendMsg gives a flow its records: refused as SET refuses them, and
 * the socket gets the mark of the services they went through, as for
 * TCP; the mark is the socket's, so the last flow given records sets it.
 * Returns 0 to let the core keep them. */
static int set_flow_records( const struct wfp_sock_info *sock, struct process *process )
{
    const struct afd_wfp_flow_records_params *params = get_req_data();
    data_size_t size = get_req_data_size();
    struct wfp_records records;
    size_t used;
    uint32_t mark;

    /* the core's errors for what is not a UDP flow's records */
    if (sock->type != WS_SOCK_DGRAM || size <= sizeof(*params) ||
        size - sizeof(*params) > WINE_AFD_WFP_MAX_RECORDS_INPUT)
        return 0;
    if (!check_records( params + 1, size - sizeof(*params), process, &records, &used )) return 1;
    if ((mark = records_mark( &records )) && !set_mark( sock->unix_fd, mark )) return 1;
    return 0;
}

/* Only ever called for a request, so current is the caller; every path
 * that can run outside one (accept completion, timers, exit) gets its
 * process from the object it completes.  What is not answered here,
 * wfp_sock_ioctl answers. */
int wfp_redirect_ioctl( struct wfp_conn **slot, const struct wfp_sock_info *sock, unsigned int code,
                        struct async *async )
{
    struct process *process = current->process;

    switch (code)
    {
    case IOCTL_AFD_WINE_GET_WFP_STATS:
        get_stats( async );
        return 1;

    case IOCTL_AFD_WINE_QUERY_WFP_REDIRECT_RECORDS:
    case IOCTL_AFD_WINE_QUERY_WFP_REDIRECT_CONTEXT:
        query_redirect( slot, sock, code, process, async );
        return 1;

    case IOCTL_AFD_WINE_QUERY_WFP_REDIRECT_SIZE:
        query_redirect_size( slot, sock, process, async );
        return 1;

    case IOCTL_AFD_WINE_SET_WFP_REDIRECT_RECORDS:
        set_redirect_records( slot, sock, process );
        return 1;

    case IOCTL_AFD_WINE_GET_SO_ORIGINAL_DST:
    case IOCTL_AFD_WINE_GET_IP6T_SO_ORIGINAL_DST:
        get_original_dst( slot, sock, code, process, async );
        return 1;

    case IOCTL_AFD_WINE_SET_WFP_FLOW_RECORDS:
        return set_flow_records( sock, process );

    case IOCTL_AFD_WINE_GET_WFP_FLOW:
        return get_flow( sock, process );

    case IOCTL_AFD_WINE_WFP_UDP_REDIRECT:
        udp_redirect( slot, sock, process, async );
        return 1;
    }
    return 0;
}
