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

static void test_add_take( void **state )
{
    struct wfp_pending_table table = { 0 };
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
    struct wfp_pending_table table = { 0 };
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
    struct wfp_pending_table table = { 0 };
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

static int kernel_can_say( void )
{
    struct wfp_pending_table table = { 0 };
    struct wfp_endpoint ep = v4( 0x01020304, 5 );
    unsigned int dropped;

    wfp_pending_add( &table, &ep, dest(), 1 );
    dropped = wfp_pending_sweep( &table, 1000000, 0, 1u << 31 );
    wfp_pending_clear( &table );
    return dropped == 1;   /* the kernel was asked and knew nothing of it */
}

static void test_sweep( void **state )
{
    struct wfp_pending_table table = { 0 };
    struct wfp_endpoint open_ep, queued_ep, closed_ep, young_ep = v4( 0x01020304, 6 );
    int l1, c1, s1, l2, c2, s2, l3, c3, s3;
    struct wfp_pending *entry;

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
    entry->created_ms = 0;
    assert_non_null( (entry = wfp_pending_add( &table, &queued_ep, dest(), 1 )) );
    entry->created_ms = 0;
    assert_non_null( (entry = wfp_pending_add( &table, &closed_ep, dest(), 1 )) );
    entry->created_ms = 0;
    assert_non_null( (entry = wfp_pending_add( &table, &young_ep, dest(), 1 )) );
    entry->created_ms = 9900;

    assert_int_equal( wfp_pending_sweep( &table, 10000, 500, 600000 ), 1 );
    assert_int_equal( table.count, 3 );
    assert_null( wfp_pending_take( &table, &closed_ep, dest() ) );

    /* the listener goes away: the queued connection dies with it */
    close( l2 );
    usleep( 100000 );
    assert_int_equal( wfp_pending_sweep( &table, 10000, 500, 600000 ), 1 );
    entry = wfp_pending_take( &table, &queued_ep, dest() );
    assert_null( entry );

    /* and everything is dropped once it is too old */
    assert_int_equal( wfp_pending_sweep( &table, 10000 + 600001, 500, 600000 ), 2 );
    assert_int_equal( table.count, 0 );

    close( c1 );
    close( s1 );
    close( l1 );
    close( l3 );
    wfp_pending_clear( &table );
}

int main( void )
{
    const struct CMUnitTest tests[] =
    {
        cmocka_unit_test( test_add_take ),
        cmocka_unit_test( test_cap ),
        cmocka_unit_test( test_configured_cap ),
        cmocka_unit_test( test_sweep ),
    };
    return cmocka_run_group_tests_name( "wfp_pending", tests, NULL, NULL );
}
