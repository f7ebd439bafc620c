/*
 * Unit tests for the UDP flows a process's sockets have seen
 * (dlls/ntdll/unix/wfp_flows.c)
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
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "wfp_flows.h"

static struct wfp_flow_endpoint v4( uint8_t last, uint16_t port )
{
    struct wfp_flow_endpoint ep;

    memset( &ep, 0, sizeof(ep) );
    ep.family = 4;
    ep.port = port;
    ep.addr[0] = 127;
    ep.addr[3] = last;
    return ep;
}

static void test_first_datagram( void **state )
{
    struct wfp_flows *flows = wfp_flows_create( WFP_FLOWS_PER_SOCKET, WFP_FLOWS_MAX, WFP_FLOW_IDLE_MS );
    struct wfp_flow_endpoint peer = v4( 1, 40000 ), local = v4( 2, 53 ), other = v4( 1, 40001 ), v6;

    (void)state;
    assert_non_null( flows );
    assert_int_equal( wfp_flows_seen( flows, 4, &peer, &local, 1000 ), 0 );
    assert_int_equal( wfp_flows_seen( flows, 4, &peer, &local, 1001 ), 1 );
    /* another peer port, another socket, another local address: new flows */
    assert_int_equal( wfp_flows_seen( flows, 4, &other, &local, 1002 ), 0 );
    assert_int_equal( wfp_flows_seen( flows, 8, &peer, &local, 1003 ), 0 );
    assert_int_equal( wfp_flows_seen( flows, 4, &peer, &other, 1004 ), 0 );
    /* the same bytes as IPv6 are another address */
    v6 = peer;
    v6.family = 6;
    assert_int_equal( wfp_flows_seen( flows, 4, &v6, &local, 1005 ), 0 );
    assert_int_equal( wfp_flows_count( flows ), 5 );
    /* a flow stays while datagrams keep coming, and ends after the idle time */
    assert_int_equal( wfp_flows_seen( flows, 4, &peer, &local, 1000 + WFP_FLOW_IDLE_MS - 1 ), 1 );
    assert_int_equal( wfp_flows_seen( flows, 4, &peer, &local, 1000 + 2 * WFP_FLOW_IDLE_MS - 2 ), 1 );
    assert_int_equal( wfp_flows_seen( flows, 4, &peer, &local, 1000 + 3 * WFP_FLOW_IDLE_MS ), 0 );
    /* the others went meanwhile */
    assert_int_equal( wfp_flows_count( flows ), 1 );
    wfp_flows_destroy( flows );
}

static void test_forget_socket( void **state )
{
    struct wfp_flows *flows = wfp_flows_create( WFP_FLOWS_PER_SOCKET, WFP_FLOWS_MAX, WFP_FLOW_IDLE_MS );
    struct wfp_flow_endpoint peer = v4( 1, 40000 ), local = v4( 2, 53 );
    unsigned int i;

    (void)state;
    for (i = 0; i < 10; i++)
    {
        peer.port = 40000 + i;
        assert_int_equal( wfp_flows_seen( flows, 4, &peer, &local, 5 ), 0 );
        assert_int_equal( wfp_flows_seen( flows, 4 + 256, &peer, &local, 5 ), 0 );  /* the same bucket */
    }
    wfp_flows_forget_socket( flows, 4 );
    wfp_flows_forget_socket( flows, 12 );  /* none */
    assert_int_equal( wfp_flows_count( flows ), 10 );
    /* a new socket with the handle value sees its first datagram as such */
    assert_int_equal( wfp_flows_seen( flows, 4, &peer, &local, 6 ), 0 );
    assert_int_equal( wfp_flows_seen( flows, 4 + 256, &peer, &local, 6 ), 1 );
    wfp_flows_destroy( flows );
}

static void test_caps( void **state )
{
    struct wfp_flows *flows = wfp_flows_create( 3, 5, WFP_FLOW_IDLE_MS );
    struct wfp_flow_endpoint peer = v4( 1, 40000 ), local = v4( 2, 53 );
    unsigned int i;

    (void)state;
    /* a socket keeps its 3 most recent flows */
    for (i = 0; i < 4; i++)
    {
        peer.port = 40000 + i;
        assert_int_equal( wfp_flows_seen( flows, 4, &peer, &local, 10 + i ), 0 );
    }
    assert_int_equal( wfp_flows_count( flows ), 3 );
    peer.port = 40000;  /* the oldest went: its next datagram is a first one again */
    assert_int_equal( wfp_flows_seen( flows, 4, &peer, &local, 20 ), 0 );
    peer.port = 40003;
    assert_int_equal( wfp_flows_seen( flows, 4, &peer, &local, 21 ), 1 );

    /* the process keeps 5: the longest idle of any socket goes */
    for (i = 0; i < 3; i++)
    {
        peer.port = 50000 + i;
        assert_int_equal( wfp_flows_seen( flows, 8, &peer, &local, 30 + i ), 0 );
    }
    assert_int_equal( wfp_flows_count( flows ), 5 );
    peer.port = 40003;
    assert_int_equal( wfp_flows_seen( flows, 4, &peer, &local, 40 ), 1 );
    peer.port = 40000;
    assert_int_equal( wfp_flows_seen( flows, 4, &peer, &local, 41 ), 1 );

    /* with a cap of one each, a socket's only flow can be the one to go */
    wfp_flows_destroy( flows );
    flows = wfp_flows_create( 1, 1, WFP_FLOW_IDLE_MS );
    assert_int_equal( wfp_flows_seen( flows, 4, &peer, &local, 1 ), 0 );
    assert_int_equal( wfp_flows_seen( flows, 4, &local, &peer, 2 ), 0 );
    assert_int_equal( wfp_flows_seen( flows, 8, &local, &peer, 3 ), 0 );
    assert_int_equal( wfp_flows_seen( flows, 8, &local, &peer, 4 ), 1 );
    assert_int_equal( wfp_flows_count( flows ), 1 );
    wfp_flows_destroy( flows );
    assert_null( wfp_flows_create( 0, 1, 1 ) );
}

static void test_many( void **state )
{
    struct wfp_flows *flows = wfp_flows_create( WFP_FLOWS_PER_SOCKET, WFP_FLOWS_MAX, WFP_FLOW_IDLE_MS );
    struct wfp_flow_endpoint peer = v4( 1, 0 ), local = v4( 2, 53 );
    unsigned int i, seen = 0;

    (void)state;
    for (i = 0; i < 100000; i++)
    {
        peer.port = rand() % 300;
        peer.addr[3] = rand() % 4;
        seen += wfp_flows_seen( flows, 4 * (1 + rand() % 40), &peer, &local, i / 10 );
        if (!(i % 1000)) wfp_flows_forget_socket( flows, 4 * (1 + rand() % 40) );
        assert_true( wfp_flows_count( flows ) <= WFP_FLOWS_MAX );
    }
    assert_true( seen > 0 );
    wfp_flows_destroy( flows );
}

int main( void )
{
    const struct CMUnitTest tests[] =
    {
        cmocka_unit_test( test_first_datagram ),
        cmocka_unit_test( test_forget_socket ),
        cmocka_unit_test( test_caps ),
        cmocka_unit_test( test_many ),
    };
    return cmocka_run_group_tests( tests, NULL, NULL );
}
