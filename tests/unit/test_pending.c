/*
 * Unit tests for the table of connections in flight (server/wfp_pending.c)
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

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "wfp_pending.h"
#include "wfp_store.h"

static struct wfp_endpoint v4( uint32_t addr, uint16_t port )
{
    struct wfp_endpoint ep;

    memset( &ep, 0, sizeof(ep) );
    ep.family = 4;
    ep.port = port;
    addr = htonl( addr );
    memcpy( ep.addr, &addr, 4 );
    return ep;
}

static const struct wfp_endpoint *dest( void )
{
    static struct wfp_endpoint ep;
    ep = v4( 0x7f000002, 8080 );
    return &ep;
}

/* the table's logic alone: every connection is still there */
static enum wfp_liveness always_alive( const struct wfp_pending *entry )
{
    (void)entry;
    return WFP_CONNECTION_ALIVE;
}

static enum wfp_liveness always_gone( const struct wfp_pending *entry )
{
    (void)entry;
    return WFP_CONNECTION_GONE;
}

static void test_add_take( void **state )
{
    struct wfp_pending_table table = { .alive = always_alive };
    struct wfp_endpoint a = v4( 0x7f000001, 40000 ), b = v4( 0x7f000001, 40001 ), c, other = v4( 0x7f000003, 9 );
    struct wfp_pending *entry;
    unsigned int i;

    (void)state;
    assert_null( wfp_pending_take( &table, &a, dest() ) );
    entry = wfp_pending_add( &table, &a, dest(), 1 );
    assert_non_null( entry );
    assert_true( wfp_endpoint_equal( &entry->destination, dest() ) );
    entry->rule_service = 7;
    assert_non_null( wfp_pending_add( &table, &b, dest(), 1 ) );
    assert_int_equal( table.count, 2 );

    /* Linux gives a local port to several connections with different
     * destinations: each is found by both endpoints */
    entry = wfp_pending_add( &table, &a, &other, 1 );
    assert_non_null( entry );
    entry->rule_service = 9;
    assert_int_equal( table.count, 3 );

    /* a second connection between the same endpoints replaces the first */
    entry = wfp_pending_add( &table, &a, dest(), 1 );
    assert_int_equal( entry->rule_service, 0 );
    assert_int_equal( table.count, 3 );

    entry = wfp_pending_take( &table, &a, dest() );
    assert_non_null( entry );
    assert_true( wfp_endpoint_equal( &entry->source, &a ) );
    wfp_pending_free( entry );
    assert_null( wfp_pending_take( &table, &a, dest() ) );
    entry = wfp_pending_take( &table, &a, &other );
    assert_non_null( entry );
    assert_int_equal( entry->rule_service, 9 );
    wfp_pending_free( entry );
    assert_int_equal( table.count, 1 );

    /* many entries: the table grows and finds each of them */
    for (i = 0; i < 5000; i++)
    {
        c = v4( 0x7f000000 + i / 1000, 1000 + i );
        assert_non_null( wfp_pending_add( &table, &c, dest(), 2 + i % 3 ) );
    }
    assert_int_equal( table.count, 5001 );
    assert_true( table.bucket_count >= 2048 );
    for (i = 0; i < 5000; i += 7)
    {
        c = v4( 0x7f000000 + i / 1000, 1000 + i );
        entry = wfp_pending_take( &table, &c, dest() );
        assert_non_null( entry );
        wfp_pending_free( entry );
    }
    wfp_pending_clear( &table );
    assert_int_equal( table.count, 0 );
}

/* The whole table is capped, and so is each process's share of it, so
 * that one process cannot take every note. */
static void test_cap( void **state )
{
    struct wfp_pending_table table = { .alive = always_alive };
    struct wfp_pending *entry;
    struct wfp_endpoint ep;
    unsigned int i;

    (void)state;
    for (i = 0; i < WFP_PENDING_MAX_PER_PROCESS; i++)
    {
        ep = v4( 0x0a000000 + i, 80 );
        assert_non_null( wfp_pending_add( &table, &ep, dest(), 7 ) );
    }
    assert_false( wfp_pending_room( &table, 7 ) );
    assert_true( wfp_pending_room( &table, 8 ) );
    ep = v4( 0x0b000000, 80 );
    assert_null( wfp_pending_add( &table, &ep, dest(), 7 ) );
    /* replacing its own entry is not growing */
    ep = v4( 0x0a000000, 80 );
    assert_non_null( wfp_pending_add( &table, &ep, dest(), 7 ) );
    /* and a taken entry makes room again */
    ep = v4( 0x0a000001, 80 );
    assert_non_null( (entry = wfp_pending_take( &table, &ep, dest() )) );
    wfp_pending_free( entry );
    assert_true( wfp_pending_room( &table, 7 ) );

    /* other processes fill the rest, up to the global cap */
    for (i = 0; table.count < WFP_PENDING_MAX; i++)
    {
        ep = v4( 0x0c000000 + i, 80 );
        assert_non_null( wfp_pending_add( &table, &ep, dest(), 100 + i / WFP_PENDING_MAX_PER_PROCESS ) );
    }
    assert_false( wfp_pending_room( &table, 999 ) );
    ep = v4( 0x0d000000, 80 );
    assert_null( wfp_pending_add( &table, &ep, dest(), 999 ) );
    assert_int_equal( table.count, WFP_PENDING_MAX );
    wfp_pending_clear( &table );
    assert_int_equal( table.owner_count, 0 );
}

/* A configured share (MaxConnectionsInFlight) replaces the default one,
 * in both directions. */
static void test_configured_cap( void **state )
{
    struct wfp_pending_table table = { .alive = always_alive };
    struct wfp_endpoint ep;
    unsigned int i;

    (void)state;
    assert_int_equal( wfp_pending_per_process_max( &table ), WFP_PENDING_MAX_PER_PROCESS );
    table.per_process_max = 10;
    assert_int_equal( wfp_pending_per_process_max( &table ), 10 );
    for (i = 0; i < 10; i++)
    {
        ep = v4( 0x0a000000 + i, 80 );
        assert_non_null( wfp_pending_add( &table, &ep, dest(), 7 ) );
    }
    ep = v4( 0x0b000000, 80 );
    assert_null( wfp_pending_add( &table, &ep, dest(), 7 ) );
    assert_non_null( wfp_pending_add( &table, &ep, dest(), 8 ) );

    /* a larger share than the default */
    table.per_process_max = WFP_PENDING_MAX_PER_PROCESS + 100;
    for (i = 10; i < WFP_PENDING_MAX_PER_PROCESS + 100; i++)
    {
        ep = v4( 0x0c000000 + i, 80 );
        assert_non_null( wfp_pending_add( &table, &ep, dest(), 7 ) );
    }
    assert_false( wfp_pending_room( &table, 7 ) );
    assert_true( wfp_pending_room( &table, 9 ) );
    wfp_pending_clear( &table );
    assert_int_equal( table.owner_count, 0 );
}

/* The connecting socket's pointer to its entry goes with the entry, and
 * an entry whose socket is closed is counted as an orphan until it goes. */
static void test_link( void **state )
{
    struct wfp_pending_table table = { .alive = always_alive };
    struct wfp_endpoint a = v4( 0x7f000001, 40000 ), b = v4( 0x7f000001, 40001 );
    struct wfp_pending *entry, *link_a = NULL, *link_b = NULL;

    (void)state;
    entry = wfp_pending_add( &table, &a, dest(), 1 );
    assert_int_equal( table.orphans, 1 );
    wfp_pending_link( entry, &link_a );
    assert_ptr_equal( link_a, entry );
    assert_int_equal( table.orphans, 0 );
    wfp_pending_link( wfp_pending_add( &table, &b, dest(), 1 ), &link_b );

    /* accept takes it: the socket's pointer is cleared */
    entry = wfp_pending_take( &table, &a, dest() );
    assert_null( link_a );
    wfp_pending_orphan( link_a );   /* what closing the socket then does: nothing */
    wfp_pending_free( entry );
    assert_int_equal( table.orphans, 0 );

    /* the socket is closed first */
    wfp_pending_orphan( link_b );
    assert_int_equal( table.orphans, 1 );
    link_b = NULL;
    entry = wfp_pending_take( &table, &b, dest() );
    assert_non_null( entry );
    assert_int_equal( table.orphans, 0 );
    wfp_pending_free( entry );

    /* a connection that is gone when accepted is dropped, not taken */
    table.alive = always_gone;
    wfp_pending_link( wfp_pending_add( &table, &a, dest(), 1 ), &link_a );
    assert_null( wfp_pending_take( &table, &a, dest() ) );
    assert_null( link_a );
    assert_int_equal( table.count, 0 );
    assert_int_equal( table.owner_count, 0 );
    wfp_pending_clear( &table );
}

/* A connected pair on loopback: *client, *server; *listener stays open. */
static void tcp_pair( int *listener, int *client, int *server, struct wfp_endpoint *client_ep, int accept_it )
{
    struct sockaddr_in addr;
    socklen_t len = sizeof(addr);

    memset( &addr, 0, sizeof(addr) );
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl( INADDR_LOOPBACK );
    *listener = socket( AF_INET, SOCK_STREAM, 0 );
    assert_int_equal( bind( *listener, (struct sockaddr *)&addr, sizeof(addr) ), 0 );
    assert_int_equal( listen( *listener, 4 ), 0 );
    assert_int_equal( getsockname( *listener, (struct sockaddr *)&addr, &len ), 0 );
    *client = socket( AF_INET, SOCK_STREAM, 0 );
    assert_int_equal( connect( *client, (struct sockaddr *)&addr, sizeof(addr) ), 0 );
    len = sizeof(addr);
    assert_int_equal( getsockname( *client, (struct sockaddr *)&addr, &len ), 0 );
    assert_true( wfp_endpoint_from_sockaddr( (struct sockaddr *)&addr, len, client_ep ) );
    *server = accept_it ? accept( *listener, NULL, NULL ) : -1;
}

static uint64_t cookie_of( int fd )
{
    uint64_t cookie = 0;
    socklen_t len = sizeof(cookie);

    assert_int_equal( getsockopt( fd, SOL_SOCKET, SO_COOKIE, &cookie, &len ), 0 );
    assert_true( cookie != 0 );
    return cookie;
}

static struct wfp_endpoint local_of( int fd )
{
    struct sockaddr_in addr;
    struct wfp_endpoint ep;
    socklen_t len = sizeof(addr);

    assert_int_equal( getsockname( fd, (struct sockaddr *)&addr, &len ), 0 );
    assert_true( wfp_endpoint_from_sockaddr( (struct sockaddr *)&addr, len, &ep ) );
    return ep;
}

static int kernel_can_say( void )
{
    struct wfp_endpoint a = v4( 0x01020304, 5 );

    return wfp_connection_alive( &a, dest(), 0 ) == WFP_CONNECTION_GONE;
}

/* wfp_connection_alive() names one socket: endpoints and cookie. */
static void test_liveness( void **state )
{
    struct wfp_endpoint c_ep, l_ep;
    int l, c, s;
    uint64_t cookie;

    (void)state;
    if (!kernel_can_say())
    {
        skip();   /* no NETLINK_SOCK_DIAG here */
        return;
    }

    /* accepted, both ends open */
    tcp_pair( &l, &c, &s, &c_ep, 1 );
    l_ep = local_of( l );
    cookie = cookie_of( c );
    assert_int_equal( wfp_connection_alive( &c_ep, &l_ep, cookie ), WFP_CONNECTION_ALIVE );
    assert_int_equal( wfp_connection_alive( &c_ep, &l_ep, 0 ), WFP_CONNECTION_ALIVE );
    assert_int_equal( wfp_connection_alive( &c_ep, &l_ep, cookie + 1 ), WFP_CONNECTION_GONE );
    /* the accepting side is not the connecting socket */
    assert_int_equal( wfp_connection_alive( &l_ep, &c_ep, cookie ), WFP_CONNECTION_GONE );
    /* the client closes first: it waits in FIN_WAIT2, then TIME_WAIT once the server closes */
    close( c );
    usleep( 50000 );
    assert_int_equal( wfp_connection_alive( &c_ep, &l_ep, cookie ), WFP_CONNECTION_ALIVE );
    close( s );
    usleep( 50000 );
    assert_int_equal( wfp_connection_alive( &c_ep, &l_ep, cookie ), WFP_CONNECTION_GONE );
    close( l );

    /* the server closes first: the client is gone once it closes too */
    tcp_pair( &l, &c, &s, &c_ep, 1 );
    l_ep = local_of( l );
    cookie = cookie_of( c );
    close( s );
    usleep( 50000 );
    assert_int_equal( wfp_connection_alive( &c_ep, &l_ep, cookie ), WFP_CONNECTION_ALIVE );
    close( c );
    usleep( 50000 );
    assert_int_equal( wfp_connection_alive( &c_ep, &l_ep, cookie ), WFP_CONNECTION_GONE );
    close( l );

    /* queued, client gone: alive while the listener may still accept it */
    tcp_pair( &l, &c, &s, &c_ep, 0 );
    l_ep = local_of( l );
    cookie = cookie_of( c );
    close( c );
    usleep( 50000 );
    assert_int_equal( wfp_connection_alive( &c_ep, &l_ep, cookie ), WFP_CONNECTION_ALIVE );
    /* the listener goes: the connection is reset */
    close( l );
    usleep( 50000 );
    assert_int_equal( wfp_connection_alive( &c_ep, &l_ep, cookie ), WFP_CONNECTION_GONE );

    /* reset while the client keeps its socket open */
    tcp_pair( &l, &c, &s, &c_ep, 0 );
    l_ep = local_of( l );
    cookie = cookie_of( c );
    close( l );
    usleep( 50000 );
    assert_int_equal( wfp_connection_alive( &c_ep, &l_ep, cookie ), WFP_CONNECTION_GONE );
    close( c );
}

/* connect from a given local port, with SO_REUSEADDR */
static int connect_from( uint16_t port, const struct sockaddr_in *to )
{
    struct sockaddr_in addr;
    int fd = socket( AF_INET, SOCK_STREAM, 0 ), one = 1;

    memset( &addr, 0, sizeof(addr) );
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl( INADDR_LOOPBACK );
    addr.sin_port = htons( port );
    setsockopt( fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one) );
    assert_int_equal( bind( fd, (struct sockaddr *)&addr, sizeof(addr) ), 0 );
    assert_int_equal( connect( fd, (const struct sockaddr *)to, sizeof(*to) ), 0 );
    return fd;
}

static int listen_at( struct sockaddr_in *addr )
{
    int fd = socket( AF_INET, SOCK_STREAM, 0 ), one = 1;
    socklen_t len = sizeof(*addr);

    setsockopt( fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one) );
    assert_int_equal( bind( fd, (struct sockaddr *)addr, sizeof(*addr) ), 0 );
    assert_int_equal( listen( fd, 4 ), 0 );
    assert_int_equal( getsockname( fd, (struct sockaddr *)addr, &len ), 0 );
    return fd;
}

/* A later connection between the same endpoints does not inherit the
 * entry of an earlier one that nobody accepted. */
static void test_reused_endpoints( void **state )
{
    struct wfp_pending_table table = { 0 };
    struct wfp_endpoint c_ep, l_ep;
    struct sockaddr_in addr;
    struct wfp_pending *entry;
    uint16_t port;
    int l, c, c2, s;

    (void)state;
    if (!kernel_can_say())
    {
        skip();
        return;
    }
    memset( &addr, 0, sizeof(addr) );
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl( INADDR_LOOPBACK );
    l = listen_at( &addr );
    l_ep = local_of( l );

    /* the first connection leaves an entry; the listener goes without accepting it */
    c = connect_from( 0, &addr );
    c_ep = local_of( c );
    port = c_ep.port;
    assert_non_null( (entry = wfp_pending_add( &table, &c_ep, &l_ep, 1 )) );
    entry->cookie = cookie_of( c );
    close( l );
    close( c );
    usleep( 50000 );

    /* a plain connection between the same endpoints */
    l = listen_at( &addr );
    c2 = connect_from( port, &addr );
    l_ep = local_of( c2 );
    assert_true( wfp_endpoint_equal( &c_ep, &l_ep ) );
    l_ep = local_of( l );
    s = accept( l, NULL, NULL );
    assert_null( wfp_pending_take( &table, &c_ep, &l_ep ) );
    assert_int_equal( table.count, 0 );

    /* while the same connection, still there, is taken */
    assert_non_null( (entry = wfp_pending_add( &table, &c_ep, &l_ep, 1 )) );
    entry->cookie = cookie_of( c2 );
    assert_ptr_equal( wfp_pending_take( &table, &c_ep, &l_ep ), entry );
    wfp_pending_free( entry );

    close( s );
    close( c2 );
    close( l );
    wfp_pending_clear( &table );
}

/* The sweep asks the kernel only about entries whose connecting socket is
 * closed (orphans), and drops everything past its age. */
static void test_sweep( void **state )
{
    struct wfp_pending_table table = { 0 };
    struct wfp_endpoint open_ep, queued_ep, closed_ep, linked_ep = v4( 0x01020304, 7 ), young_ep = v4( 0x01020304, 6 );
    int l1, c1, s1, l2, c2, s2, l3, c3, s3;
    struct wfp_pending *entry, *link = NULL;

    (void)state;
    if (!kernel_can_say())
    {
        skip();   /* no NETLINK_SOCK_DIAG here: entries only expire */
        return;
    }

    tcp_pair( &l1, &c1, &s1, &open_ep, 1 );      /* accepted, both ends open */
    tcp_pair( &l2, &c2, &s2, &queued_ep, 0 );    /* never accepted */
    tcp_pair( &l3, &c3, &s3, &closed_ep, 1 );    /* both ends closed */
    close( c2 );                                 /* in the accept queue, client gone */
    close( c3 );
    close( s3 );
    usleep( 100000 );

    assert_non_null( (entry = wfp_pending_add( &table, &open_ep, dest(), 1 )) );
    entry->destination = local_of( l1 );
    entry->created_ms = 0;
    assert_non_null( (entry = wfp_pending_add( &table, &queued_ep, dest(), 1 )) );
    entry->destination = local_of( l2 );
    entry->created_ms = 0;
    assert_non_null( (entry = wfp_pending_add( &table, &closed_ep, dest(), 1 )) );
    entry->destination = local_of( l3 );
    entry->created_ms = 0;
    assert_non_null( (entry = wfp_pending_add( &table, &young_ep, dest(), 1 )) );
    entry->created_ms = 9900;
    /* no connection, but its socket is open: not asked about */
    assert_non_null( (entry = wfp_pending_add( &table, &linked_ep, dest(), 1 )) );
    wfp_pending_link( entry, &link );
    entry->created_ms = 0;

    assert_int_equal( wfp_pending_sweep( &table, 10000, 500, 600000 ), 1 );
    assert_int_equal( table.count, 4 );
    assert_int_equal( table.orphans, 3 );

    /* the listener goes away: the queued connection dies with it */
    close( l2 );
    usleep( 100000 );
    assert_int_equal( wfp_pending_sweep( &table, 10000, 500, 600000 ), 1 );
    assert_int_equal( table.count, 3 );

    /* and everything is dropped once it is too old */
    assert_int_equal( wfp_pending_sweep( &table, 10000 + 600001, 500, 600000 ), 3 );
    assert_int_equal( table.count, 0 );
    assert_int_equal( table.orphans, 0 );
    assert_null( link );

    close( c1 );
    close( s1 );
    close( l1 );
    close( l3 );
    wfp_pending_clear( &table );
}

static unsigned int lookups;

static enum wfp_liveness counted_alive( const struct wfp_pending *entry )
{
    lookups++;
    return entry->source.port % 2 ? WFP_CONNECTION_GONE : WFP_CONNECTION_ALIVE;
}

/* A sweep costs the same however full the table is: it looks at a bounded
 * number of entries and asks the kernel a bounded number of times, and
 * the sweeps that follow go on where it stopped until every entry was
 * looked at. */
static void test_sweep_budget( void **state )
{
    enum { COUNT = 20000 };
    struct wfp_pending_table table = { .alive = counted_alive };
    static struct wfp_pending *links[COUNT];
    struct wfp_pending *entry;
    unsigned int i, dropped, rounds, left, orphans = 0, gone = 0, max_chain = 0;

    (void)state;
    for (i = 0; i < COUNT; i++)
    {
        struct wfp_endpoint ep = v4( 0x0a000001, 1024 + i );

        assert_non_null( (entry = wfp_pending_add( &table, &ep, dest(), i % 4 + 1 )) );
        entry->created_ms = 0;
        /* every third connecting socket is still open */
        if (i % 3) orphans++;
        else wfp_pending_link( entry, &links[i] );
    }
    assert_int_equal( table.orphans, orphans );
    for (i = 0; i < table.bucket_count; i++)
    {
        unsigned int chain = 0;
        for (entry = table.buckets[i]; entry; entry = entry->next) chain++;
        if (chain > max_chain) max_chain = chain;
    }

    /* the orphans whose connection is gone go, a bounded number at a time */
    for (i = 0; i < COUNT; i++) if (i % 3 && (1024 + i) % 2) gone++;
    for (rounds = 0, dropped = 0; dropped < gone && rounds <= COUNT; rounds++)
    {
        unsigned int before = table.count, now;

        lookups = 0;
        now = wfp_pending_sweep( &table, 10000, 500, 600000 );
        assert_int_equal( before - table.count, now );
        assert_true( lookups < WFP_PENDING_SWEEP_LOOKUPS + max_chain );
        dropped += now;
    }
    assert_int_equal( dropped, gone );
    assert_true( rounds >= gone / (WFP_PENDING_SWEEP_LOOKUPS + max_chain) );
    for (i = 0; i < table.bucket_count; i++)
        for (entry = table.buckets[i]; entry; entry = entry->next)
            assert_true( entry->link || entry->source.port % 2 == 0 );

    /* past their age everything goes, linked or not, a bounded number at a time */
    left = table.count;
    for (rounds = 0; table.count && rounds <= COUNT; rounds++)
    {
        unsigned int before = table.count;

        lookups = 0;
        dropped = wfp_pending_sweep( &table, 10000 + 600001, 500, 600000 );
        assert_true( dropped <= WFP_PENDING_SWEEP_VISITS + max_chain );
        assert_int_equal( before - table.count, dropped );
        assert_int_equal( lookups, 0 );
    }
    assert_int_equal( table.count, 0 );
    assert_int_equal( table.orphans, 0 );
    assert_true( rounds >= left / (WFP_PENDING_SWEEP_VISITS + max_chain) );
    for (i = 0; i < COUNT; i++) assert_null( links[i] );
    wfp_pending_clear( &table );
}

int main( void )
{
    const struct CMUnitTest tests[] =
    {
        cmocka_unit_test( test_add_take ),
        cmocka_unit_test( test_link ),
        cmocka_unit_test( test_cap ),
        cmocka_unit_test( test_configured_cap ),
        cmocka_unit_test( test_liveness ),
        cmocka_unit_test( test_reused_endpoints ),
        cmocka_unit_test( test_sweep ),
        cmocka_unit_test( test_sweep_budget ),
    };
    return cmocka_run_group_tests_name( "wfp_pending", tests, NULL, NULL );
}
