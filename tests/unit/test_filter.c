/*
 * Unit tests for the filter engine of callout drivers (server/wfp_filter.c)
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

#include "wfp_filter.h"

#define FWP_EMPTY   0
#define FWP_UINT8   1
#define FWP_UINT64  4

static struct wfp_engine engine;

static void key( uint8_t k[16], unsigned int n )
{
    memset( k, 0, 16 );
    k[0] = n;
    k[15] = 0xaa;
}

static struct wfp_condition port_cond( uint8_t field, uint8_t match, uint64_t port, uint64_t high )
{
    struct wfp_condition c;

    memset( &c, 0, sizeof(c) );
    c.field = field;
    c.match = match;
    c.value.kind = WFP_VALUE_UINT;
    c.value.num = port;
    c.high.kind = WFP_VALUE_UINT;
    c.high.num = high;
    return c;
}

static struct wfp_condition v4_cond( uint8_t match, uint32_t addr, unsigned int prefix )
{
    struct wfp_condition c;
    unsigned int i;

    memset( &c, 0, sizeof(c) );
    c.field = WFP_FIELD_REMOTE_ADDRESS;
    c.match = match;
    c.value.kind = WFP_VALUE_ADDR;
    c.value.addr_len = 4;
    for (i = 0; i < 4; i++) c.value.addr[i] = addr >> (24 - 8 * i);
    for (i = 0; i < prefix; i++) c.value.mask[i / 8] |= 0x80 >> (i % 8);
    return c;
}

static struct wfp_classify_values v4_values( uint32_t remote, uint16_t port )
{
    struct wfp_classify_values v;
    unsigned int i;

    memset( &v, 0, sizeof(v) );
    v.addr_len = 4;
    v.protocol = 6;
    for (i = 0; i < 4; i++) v.remote_addr[i] = remote >> (24 - 8 * i);
    v.local_addr[0] = 127;
    v.local_addr[3] = 1;
    v.local_port = 50000;
    v.remote_port = port;
    return v;
}

static uint64_t add( uint32_t action, unsigned int sublayer, uint64_t weight, unsigned int ncond,
                     struct wfp_condition *conds, uintptr_t owner )
{
    struct wfp_filter f;
    uint64_t id = 0;

    memset( &f, 0, sizeof(f) );
    f.layer = WFP_LAYER_CONNECT_REDIRECT_V4;
    f.action = action;
    f.weight = weight;
    f.owner = owner;
    if (sublayer) key( f.sublayer_key, sublayer );
    f.condition_count = ncond;
    f.conditions = conds;
    assert_int_equal( wfp_engine_add_filter( &engine, &f, &id ), WFP_ENGINE_OK );
    assert_true( id != 0 );
    return id;
}

static void add_sublayer( unsigned int n, uint16_t weight, uintptr_t owner )
{
    uint8_t k[16];

    key( k, n );
    assert_int_equal( wfp_engine_add_sublayer( &engine, k, weight, owner ), WFP_ENGINE_OK );
}

static int setup( void **state )
{
    (void)state;
    wfp_engine_init( &engine );
    return 0;
}

static int teardown( void **state )
{
    (void)state;
    wfp_engine_free( &engine );
    return 0;
}

static void test_match_ports( void **state )
{
    struct wfp_classify_values v = v4_values( 0x0a000001, 443 );
    struct wfp_condition c;

    (void)state;
    c = port_cond( WFP_FIELD_REMOTE_PORT, WFP_MATCH_EQUAL, 443, 0 );
    assert_true( wfp_condition_matches( &c, &v ) );
    c.value.num = 80;
    assert_false( wfp_condition_matches( &c, &v ) );
    c.match = WFP_MATCH_NOT_EQUAL;
    assert_true( wfp_condition_matches( &c, &v ) );
    c = port_cond( WFP_FIELD_REMOTE_PORT, WFP_MATCH_RANGE, 400, 443 );
    assert_true( wfp_condition_matches( &c, &v ) );
    c.high.num = 442;
    assert_false( wfp_condition_matches( &c, &v ) );
    c = port_cond( WFP_FIELD_REMOTE_PORT, WFP_MATCH_GREATER, 442, 0 );
    assert_true( wfp_condition_matches( &c, &v ) );
    c.match = WFP_MATCH_LESS;
    assert_false( wfp_condition_matches( &c, &v ) );
    c.match = WFP_MATCH_LESS_OR_EQUAL;
    c.value.num = 443;
    assert_true( wfp_condition_matches( &c, &v ) );
    c = port_cond( WFP_FIELD_LOCAL_PORT, WFP_MATCH_GREATER_OR_EQUAL, 49152, 0 );
    assert_true( wfp_condition_matches( &c, &v ) );
    c = port_cond( WFP_FIELD_PROTOCOL, WFP_MATCH_EQUAL, 17, 0 );
    assert_false( wfp_condition_matches( &c, &v ) );
    c.value.num = 6;
    assert_true( wfp_condition_matches( &c, &v ) );
}

static void test_match_flags( void **state )
{
    struct wfp_classify_values v = v4_values( 0x7f000001, 80 );
    struct wfp_condition c = port_cond( WFP_FIELD_FLAGS, WFP_MATCH_FLAGS_ALL_SET, 0x5, 0 );

    (void)state;
    v.flags = 0x1;
    assert_false( wfp_condition_matches( &c, &v ) );
    c.match = WFP_MATCH_FLAGS_ANY_SET;
    assert_true( wfp_condition_matches( &c, &v ) );
    c.match = WFP_MATCH_FLAGS_NONE_SET;
    assert_false( wfp_condition_matches( &c, &v ) );
    v.flags = 0x5;
    c.match = WFP_MATCH_FLAGS_ALL_SET;
    assert_true( wfp_condition_matches( &c, &v ) );
    v.flags = 0x2;
    c.match = WFP_MATCH_FLAGS_NONE_SET;
    assert_true( wfp_condition_matches( &c, &v ) );
}

static void test_match_addresses( void **state )
{
    struct wfp_classify_values v = v4_values( 0x0a010203, 80 ), v6;
    struct wfp_condition c;

    (void)state;
    c = v4_cond( WFP_MATCH_EQUAL, 0x0a000000, 8 );
    assert_true( wfp_condition_matches( &c, &v ) );
    c = v4_cond( WFP_MATCH_EQUAL, 0x0a010203, 32 );
    assert_true( wfp_condition_matches( &c, &v ) );
    c = v4_cond( WFP_MATCH_EQUAL, 0x0a010204, 32 );
    assert_false( wfp_condition_matches( &c, &v ) );
    c = v4_cond( WFP_MATCH_EQUAL, 0x0b000000, 8 );
    assert_false( wfp_condition_matches( &c, &v ) );
    c.match = WFP_MATCH_NOT_EQUAL;
    assert_true( wfp_condition_matches( &c, &v ) );
    /* a range compares as numbers: network order bytes */
    c = v4_cond( WFP_MATCH_RANGE, 0x0a0101ff, 32 );
    c.high = v4_cond( WFP_MATCH_EQUAL, 0x0a010300, 32 ).value;
    assert_true( wfp_condition_matches( &c, &v ) );
    c.value = v4_cond( WFP_MATCH_EQUAL, 0x0a010204, 32 ).value;
    assert_false( wfp_condition_matches( &c, &v ) );
    c = v4_cond( WFP_MATCH_GREATER, 0x09ffffff, 32 );
    assert_true( wfp_condition_matches( &c, &v ) );

    /* an IPv4 condition never holds for an IPv6 connection */
    memset( &v6, 0, sizeof(v6) );
    v6.addr_len = 16;
    c = v4_cond( WFP_MATCH_EQUAL, 0, 0 );
    assert_false( wfp_condition_matches( &c, &v6 ) );
    c.match = WFP_MATCH_NOT_EQUAL;
    assert_false( wfp_condition_matches( &c, &v6 ) );
}

static void test_match_app_id( void **state )
{
    static const char path[] = "\\device\\harddiskvolume1\\windows\\client.exe";
    uint8_t app[2 * sizeof(path)], cond_blob[2 * sizeof(path)], prefix_blob[2 * 10];
    struct wfp_classify_values v = v4_values( 0x0a000001, 80 );
    struct wfp_condition c;
    unsigned int i;

    (void)state;
    for (i = 0; i < sizeof(path); i++)
    {
        app[2 * i] = path[i];
        app[2 * i + 1] = 0;
        cond_blob[2 * i] = (path[i] >= 'a' && path[i] <= 'z') ? path[i] - 32 : path[i];
        cond_blob[2 * i + 1] = 0;
    }
    v.app_id = app;
    v.app_id_size = sizeof(app);
    memset( &c, 0, sizeof(c) );
    c.field = WFP_FIELD_APP_ID;
    c.value.kind = WFP_VALUE_BLOB;
    c.value.blob = app;
    c.value.blob_size = sizeof(app);
    c.match = WFP_MATCH_EQUAL;
    assert_true( wfp_condition_matches( &c, &v ) );
    c.value.blob_size -= 2;   /* without its terminator it is another blob */
    assert_false( wfp_condition_matches( &c, &v ) );
    c.value.blob_size += 2;
    c.value.blob = cond_blob;
    assert_false( wfp_condition_matches( &c, &v ) );
    c.match = WFP_MATCH_EQUAL_CASE_INSENSITIVE;
    assert_true( wfp_condition_matches( &c, &v ) );
    c.match = WFP_MATCH_NOT_EQUAL;
    assert_true( wfp_condition_matches( &c, &v ) );

    /* "\device\" with its terminator is a prefix of the path */
    for (i = 0; i < 9; i++)
    {
        prefix_blob[2 * i] = path[i];
        prefix_blob[2 * i + 1] = 0;
    }
    prefix_blob[18] = prefix_blob[19] = 0;
    c.value.blob = prefix_blob;
    c.value.blob_size = sizeof(prefix_blob);
    c.match = WFP_MATCH_PREFIX;
    assert_true( wfp_condition_matches( &c, &v ) );
    c.match = WFP_MATCH_NOT_PREFIX;
    assert_false( wfp_condition_matches( &c, &v ) );
    /* no application id: nothing about it holds */
    v.app_id = NULL;
    v.app_id_size = 0;
    c.match = WFP_MATCH_PREFIX;
    assert_false( wfp_condition_matches( &c, &v ) );
}

/* consecutive conditions on a field are ORed, fields ANDed */
static void test_filter_or_and( void **state )
{
    struct wfp_condition conds[3];
    struct wfp_filter f;
    struct wfp_classify_values v;

    (void)state;
    conds[0] = port_cond( WFP_FIELD_REMOTE_PORT, WFP_MATCH_EQUAL, 80, 0 );
    conds[1] = port_cond( WFP_FIELD_REMOTE_PORT, WFP_MATCH_EQUAL, 443, 0 );
    conds[2] = v4_cond( WFP_MATCH_EQUAL, 0x0a000000, 8 );
    memset( &f, 0, sizeof(f) );
    f.conditions = conds;
    f.condition_count = 3;

    v = v4_values( 0x0a000001, 80 );
    assert_true( wfp_filter_matches( &f, &v ) );
    v = v4_values( 0x0a000001, 443 );
    assert_true( wfp_filter_matches( &f, &v ) );
    v = v4_values( 0x0a000001, 8080 );
    assert_false( wfp_filter_matches( &f, &v ) );
    v = v4_values( 0x0b000001, 443 );
    assert_false( wfp_filter_matches( &f, &v ) );

    /* no conditions: everything */
    f.condition_count = 0;
    assert_true( wfp_filter_matches( &f, &v ) );
}

static void test_weights( void **state )
{
    uint64_t w;

    (void)state;
    assert_true( wfp_filter_weight( FWP_UINT64, 0x123456789abcdefull, 0, &w ) );
    assert_true( w == 0x123456789abcdefull );
    assert_true( wfp_filter_weight( FWP_UINT8, 15, 2, &w ) );
    assert_true( w >> 60 == 15 );
    assert_true( wfp_filter_weight( FWP_UINT8, 0, 2, &w ) );
    assert_true( w < (1ull << 60) );
    assert_false( wfp_filter_weight( FWP_UINT8, 16, 0, &w ) );
    assert_true( wfp_filter_weight( FWP_EMPTY, 0, 3, &w ) );
    assert_true( w < (1ull << 60) );
    assert_false( wfp_filter_weight( 3 /* FWP_UINT32 */, 1, 0, &w ) );
}

/* drives a classification; a callout filter answers what its context says */
static uint32_t classify( const struct wfp_classify_values *v, uint64_t *asked, unsigned int *count,
                          uint32_t *rights_seen )
{
    const struct wfp_filter *f;
    struct wfp_classify c;
    uint32_t rights;

    *count = 0;
    wfp_classify_start( &c, &engine, WFP_LAYER_CONNECT_REDIRECT_V4, v );
    while ((f = wfp_classify_next( &c, &rights )))
    {
        if (asked) asked[*count] = f->id;
        if (rights_seen) rights_seen[*count] = rights;
        (*count)++;
        if (f->context == 0xdead)
            wfp_classify_unregistered( &c, f );
        else
            wfp_classify_set_result( &c, f, (uint32_t)f->context, (uint32_t)(f->context >> 32) );
    }
    return wfp_classify_action( &c );
}

static uint64_t add_callout( unsigned int sublayer, uint64_t weight, uint32_t action, uint32_t rights,
                             uint32_t filter_action )
{
    struct wfp_filter f;
    uint64_t id;

    memset( &f, 0, sizeof(f) );
    f.layer = WFP_LAYER_CONNECT_REDIRECT_V4;
    f.action = filter_action;
    f.weight = weight;
    if (sublayer) key( f.sublayer_key, sublayer );
    f.context = action | ((uint64_t)rights << 32);
    assert_int_equal( wfp_engine_add_filter( &engine, &f, &id ), WFP_ENGINE_OK );
    return id;
}

static void test_order( void **state )
{
    struct wfp_classify_values v = v4_values( 0x0a000001, 80 );
    uint64_t ids[6], asked[8];
    unsigned int count;

    (void)state;
    add_sublayer( 1, 100, 1 );
    add_sublayer( 2, 200, 1 );
    add_sublayer( 3, 200, 1 );   /* same weight as 2: ordered by key */
    ids[0] = add_callout( 1, 10, WFP_ACTION_CONTINUE, 1, WFP_ACTION_CALLOUT_TERMINATING );
    ids[1] = add_callout( 1, 20, WFP_ACTION_CONTINUE, 1, WFP_ACTION_CALLOUT_TERMINATING );
    ids[2] = add_callout( 2, 5, WFP_ACTION_CONTINUE, 1, WFP_ACTION_CALLOUT_TERMINATING );
    ids[3] = add_callout( 3, 5, WFP_ACTION_CONTINUE, 1, WFP_ACTION_CALLOUT_TERMINATING );
    ids[4] = add_callout( 0, 1000, WFP_ACTION_CONTINUE, 1, WFP_ACTION_CALLOUT_INSPECTION );
    ids[5] = add_callout( 2, 5, WFP_ACTION_CONTINUE, 1, WFP_ACTION_CALLOUT_TERMINATING );  /* same weight: by id */

    assert_int_equal( classify( &v, asked, &count, NULL ), WFP_ACTION_PERMIT );
    assert_int_equal( count, 6 );
    assert_true( asked[0] == ids[2] );
    assert_true( asked[1] == ids[5] );
    assert_true( asked[2] == ids[3] );
    assert_true( asked[3] == ids[1] );
    assert_true( asked[4] == ids[0] );
    assert_true( asked[5] == ids[4] );   /* the default sublayer weighs 0 */
    assert_int_equal( wfp_engine_layer_count( &engine, WFP_LAYER_CONNECT_REDIRECT_V4 ), 6 );
    assert_int_equal( wfp_engine_layer_count( &engine, WFP_LAYER_CONNECT_REDIRECT_V6 ), 0 );
}

/* inside a sublayer the first permit or block ends it; the next sublayer
 * is still visited */
static void test_sublayer_first_terminating( void **state )
{
    struct wfp_classify_values v = v4_values( 0x0a000001, 80 );
    struct wfp_condition other_port = port_cond( WFP_FIELD_REMOTE_PORT, WFP_MATCH_EQUAL, 81, 0 );
    uint64_t asked[8], skipped, first, next, unmatched;
    unsigned int count;

    (void)state;
    add_sublayer( 1, 200, 1 );
    add_sublayer( 2, 100, 1 );
    unmatched = add( WFP_ACTION_BLOCK, 1, 300, 1, &other_port, 1 );
    first = add_callout( 1, 100, WFP_ACTION_PERMIT, 1, WFP_ACTION_CALLOUT_TERMINATING );
    skipped = add_callout( 1, 50, WFP_ACTION_BLOCK, 1, WFP_ACTION_CALLOUT_TERMINATING );
    next = add_callout( 2, 50, WFP_ACTION_CONTINUE, 1, WFP_ACTION_CALLOUT_TERMINATING );
    (void)unmatched;

    assert_int_equal( classify( &v, asked, &count, NULL ), WFP_ACTION_PERMIT );
    assert_int_equal( count, 2 );
    assert_true( asked[0] == first );
    assert_true( asked[1] == next );
    (void)skipped;
}

/* rights between sublayers: the "Filter Arbitration" table */
static void test_arbitration( void **state )
{
    struct wfp_classify_values v = v4_values( 0x0a000001, 80 );
    uint32_t rights_seen[8];
    unsigned int count;
    uint64_t hard_permit, veto;

    (void)state;
    add_sublayer( 1, 300, 1 );
    add_sublayer( 2, 200, 1 );
    add_sublayer( 3, 100, 1 );

    /* soft permit, then a block: blocked */
    add_callout( 1, 1, WFP_ACTION_PERMIT, WFP_RIGHT_ACTION_WRITE, WFP_ACTION_CALLOUT_TERMINATING );
    add( WFP_ACTION_BLOCK, 2, 1, 0, NULL, 1 );
    assert_int_equal( classify( &v, NULL, &count, rights_seen ), WFP_ACTION_BLOCK );
    wfp_engine_free( &engine );
    wfp_engine_init( &engine );
    add_sublayer( 1, 300, 1 );
    add_sublayer( 2, 200, 1 );
    add_sublayer( 3, 100, 1 );

    /* soft block, then a permit: permitted */
    add( WFP_ACTION_BLOCK, 1, 1, 0, NULL, 1 );
    add( WFP_ACTION_PERMIT, 2, 1, 0, NULL, 1 );
    assert_int_equal( classify( &v, NULL, &count, NULL ), WFP_ACTION_PERMIT );

    /* hard block (FWPM_FILTER_FLAG_CLEAR_ACTION_RIGHT) is final; the
     * callouts after it are still asked, without the right */
    {
        struct wfp_filter f;
        memset( &f, 0, sizeof(f) );
        f.layer = WFP_LAYER_CONNECT_REDIRECT_V4;
        f.action = WFP_ACTION_BLOCK;
        f.flags = WFP_FILTER_FLAG_CLEAR_ACTION_RIGHT;
        f.weight = 10;
        key( f.sublayer_key, 1 );
        assert_int_equal( wfp_engine_add_filter( &engine, &f, NULL ), WFP_ENGINE_OK );
    }
    add_callout( 3, 1, WFP_ACTION_PERMIT, WFP_RIGHT_ACTION_WRITE, WFP_ACTION_CALLOUT_TERMINATING );
    assert_int_equal( classify( &v, NULL, &count, rights_seen ), WFP_ACTION_BLOCK );
    assert_int_equal( count, 1 );
    assert_int_equal( rights_seen[0], 0 );

    wfp_engine_free( &engine );
    wfp_engine_init( &engine );
    add_sublayer( 1, 300, 1 );
    add_sublayer( 2, 200, 1 );
    add_sublayer( 3, 100, 1 );

    /* hard permit: a static block below it does nothing, a callout's
     * block (a veto) does */
    hard_permit = add_callout( 1, 1, WFP_ACTION_PERMIT, 0, WFP_ACTION_CALLOUT_TERMINATING );
    add( WFP_ACTION_BLOCK, 2, 1, 0, NULL, 1 );
    assert_int_equal( classify( &v, NULL, &count, NULL ), WFP_ACTION_PERMIT );
    veto = add_callout( 3, 1, WFP_ACTION_BLOCK, WFP_RIGHT_ACTION_WRITE, WFP_ACTION_CALLOUT_TERMINATING );
    assert_int_equal( classify( &v, NULL, &count, rights_seen ), WFP_ACTION_BLOCK );
    assert_int_equal( count, 2 );
    assert_int_equal( rights_seen[0], WFP_RIGHT_ACTION_WRITE );
    assert_int_equal( rights_seen[1], 0 );
    (void)hard_permit;
    (void)veto;
}

static void test_inspection_and_unregistered( void **state )
{
    struct wfp_classify_values v = v4_values( 0x0a000001, 80 );
    struct wfp_filter f;
    unsigned int count;

    (void)state;
    /* an inspection callout's block is ignored */
    add_callout( 0, 10, WFP_ACTION_BLOCK, 0, WFP_ACTION_CALLOUT_INSPECTION );
    assert_int_equal( classify( &v, NULL, &count, NULL ), WFP_ACTION_PERMIT );
    assert_int_equal( count, 1 );

    /* a terminating callout that is not registered blocks... */
    memset( &f, 0, sizeof(f) );
    f.layer = WFP_LAYER_CONNECT_REDIRECT_V4;
    f.action = WFP_ACTION_CALLOUT_TERMINATING;
    f.weight = 5;
    f.context = 0xdead;
    assert_int_equal( wfp_engine_add_filter( &engine, &f, NULL ), WFP_ENGINE_OK );
    assert_int_equal( classify( &v, NULL, &count, NULL ), WFP_ACTION_BLOCK );
    wfp_engine_free( &engine );
    wfp_engine_init( &engine );
    /* ...unless it says to permit then */
    f.flags = WFP_FILTER_FLAG_PERMIT_IF_CALLOUT_UNREGISTERED;
    assert_int_equal( wfp_engine_add_filter( &engine, &f, NULL ), WFP_ENGINE_OK );
    assert_int_equal( classify( &v, NULL, &count, NULL ), WFP_ACTION_PERMIT );
}

/* a filter that goes while a driver thinks does not derail the cursor */
static void test_changes_during_classify( void **state )
{
    struct wfp_classify_values v = v4_values( 0x0a000001, 80 );
    const struct wfp_filter *f;
    struct wfp_classify c;
    uint64_t a, b, d, added;

    (void)state;
    a = add_callout( 0, 30, WFP_ACTION_CONTINUE, 1, WFP_ACTION_CALLOUT_TERMINATING );
    b = add_callout( 0, 20, WFP_ACTION_CONTINUE, 1, WFP_ACTION_CALLOUT_TERMINATING );
    d = add_callout( 0, 10, WFP_ACTION_CONTINUE, 1, WFP_ACTION_CALLOUT_TERMINATING );

    wfp_classify_start( &c, &engine, WFP_LAYER_CONNECT_REDIRECT_V4, &v );
    f = wfp_classify_next( &c, NULL );
    assert_true( f && f->id == a );
    wfp_classify_set_result( &c, f, WFP_ACTION_CONTINUE, 1 );
    assert_int_equal( wfp_engine_delete_filter( &engine, a ), WFP_ENGINE_OK );
    assert_int_equal( wfp_engine_delete_filter( &engine, b ), WFP_ENGINE_OK );
    added = add_callout( 0, 15, WFP_ACTION_CONTINUE, 1, WFP_ACTION_CALLOUT_TERMINATING );
    f = wfp_classify_next( &c, NULL );
    assert_true( f && f->id == added );
    f = wfp_classify_next( &c, NULL );
    assert_true( f && f->id == d );
    assert_null( wfp_classify_next( &c, NULL ) );
    assert_int_equal( wfp_classify_action( &c ), WFP_ACTION_PERMIT );
}

static void test_management( void **state )
{
    struct wfp_condition cond = port_cond( WFP_FIELD_REMOTE_PORT, WFP_MATCH_EQUAL, 80, 0 );
    struct wfp_filter f;
    uint8_t k[16];
    uint64_t id;

    (void)state;
    add_sublayer( 1, 1, 7 );
    key( k, 1 );
    assert_int_equal( wfp_engine_add_sublayer( &engine, k, 2, 7 ), WFP_ENGINE_ALREADY_EXISTS );
    memset( k, 0, 16 );
    assert_int_equal( wfp_engine_add_sublayer( &engine, k, 2, 7 ), WFP_ENGINE_INVALID );

    memset( &f, 0, sizeof(f) );
    f.layer = WFP_LAYER_CONNECT_REDIRECT_V4;
    f.action = WFP_ACTION_PERMIT;
    f.owner = 7;
    key( f.key, 9 );
    key( f.sublayer_key, 2 );
    assert_int_equal( wfp_engine_add_filter( &engine, &f, &id ), WFP_ENGINE_NOT_FOUND );
    key( f.sublayer_key, 1 );
    f.conditions = &cond;
    f.condition_count = 1;
    assert_int_equal( wfp_engine_add_filter( &engine, &f, &id ), WFP_ENGINE_OK );
    assert_non_null( wfp_engine_find_filter( &engine, id ) );
    assert_int_equal( wfp_engine_add_filter( &engine, &f, NULL ), WFP_ENGINE_ALREADY_EXISTS );
    /* a sublayer with filters stays */
    assert_int_equal( wfp_engine_delete_sublayer( &engine, f.sublayer_key ), WFP_ENGINE_IN_USE );

    /* bad filters */
    f.action = 0x1234;
    key( f.key, 10 );
    assert_int_equal( wfp_engine_add_filter( &engine, &f, NULL ), WFP_ENGINE_INVALID );
    f.action = WFP_ACTION_PERMIT;
    cond.value.num = 70000;
    assert_int_equal( wfp_engine_add_filter( &engine, &f, NULL ), WFP_ENGINE_INVALID );
    cond = v4_cond( WFP_MATCH_EQUAL, 0, 0 );
    f.layer = WFP_LAYER_CONNECT_REDIRECT_V6;   /* an IPv4 address at an IPv6 layer */
    assert_int_equal( wfp_engine_add_filter( &engine, &f, NULL ), WFP_ENGINE_INVALID );
    f.layer = WFP_LAYER_CONNECT_REDIRECT_V4;
    cond = port_cond( WFP_FIELD_REMOTE_PORT, WFP_MATCH_PREFIX, 80, 0 );
    assert_int_equal( wfp_engine_add_filter( &engine, &f, NULL ), WFP_ENGINE_INVALID );
    cond = port_cond( WFP_FIELD_REMOTE_PORT, WFP_MATCH_COUNT, 80, 0 );
    assert_int_equal( wfp_engine_add_filter( &engine, &f, NULL ), WFP_ENGINE_INVALID );
    f.condition_count = WFP_FILTER_MAX_CONDITIONS + 1;
    assert_int_equal( wfp_engine_add_filter( &engine, &f, NULL ), WFP_ENGINE_TOO_MANY );
    f.condition_count = 1;
    f.conditions = NULL;
    assert_int_equal( wfp_engine_add_filter( &engine, &f, NULL ), WFP_ENGINE_INVALID );

    /* by key, by id */
    key( k, 9 );
    assert_int_equal( wfp_engine_delete_filter_by_key( &engine, k ), WFP_ENGINE_OK );
    assert_int_equal( wfp_engine_delete_filter_by_key( &engine, k ), WFP_ENGINE_NOT_FOUND );
    assert_int_equal( wfp_engine_delete_filter( &engine, id ), WFP_ENGINE_NOT_FOUND );
    key( k, 1 );
    assert_int_equal( wfp_engine_delete_sublayer( &engine, k ), WFP_ENGINE_OK );
    assert_int_equal( wfp_engine_delete_sublayer( &engine, k ), WFP_ENGINE_NOT_FOUND );
}

/* what an unloaded driver added goes with it, and nobody else's */
static void test_remove_owner( void **state )
{
    struct wfp_classify_values v = v4_values( 0x0a000001, 80 );
    unsigned int count;

    (void)state;
    add_sublayer( 1, 10, 1 );
    add_sublayer( 2, 10, 2 );
    add( WFP_ACTION_BLOCK, 1, 1, 0, NULL, 1 );
    add( WFP_ACTION_BLOCK, 0, 1, 0, NULL, 1 );
    add( WFP_ACTION_PERMIT, 2, 1, 0, NULL, 2 );
    add( WFP_ACTION_PERMIT, 1, 2, 0, NULL, 2 );   /* in driver 1's sublayer */
    assert_int_equal( wfp_engine_remove_owner( &engine, 1 ), 2 );
    assert_int_equal( wfp_engine_layer_count( &engine, WFP_LAYER_CONNECT_REDIRECT_V4 ), 2 );
    assert_int_equal( engine.sublayer_count, 2 );
    assert_int_equal( classify( &v, NULL, &count, NULL ), WFP_ACTION_PERMIT );
    /* driver 1's sublayer goes once nothing uses it */
    assert_int_equal( wfp_engine_remove_owner( &engine, 2 ), 4 );
    assert_int_equal( engine.sublayer_count, 0 );
    assert_int_equal( engine.total, 0 );
}

static void test_caps( void **state )
{
    uint8_t k[16];
    struct wfp_filter f;
    unsigned int i;

    (void)state;
    memset( k, 0, 16 );
    for (i = 0; i < WFP_ENGINE_MAX_SUBLAYERS; i++)
    {
        k[0] = i;
        k[1] = i >> 8;
        k[2] = 1;
        assert_int_equal( wfp_engine_add_sublayer( &engine, k, i, 1 ), WFP_ENGINE_OK );
    }
    k[3] = 1;
    assert_int_equal( wfp_engine_add_sublayer( &engine, k, 0, 1 ), WFP_ENGINE_TOO_MANY );

    memset( &f, 0, sizeof(f) );
    f.layer = WFP_LAYER_OTHER;
    f.action = WFP_ACTION_PERMIT;
    for (i = 0; i < WFP_ENGINE_MAX_FILTERS; i++)
        assert_int_equal( wfp_engine_add_filter( &engine, &f, NULL ), WFP_ENGINE_OK );
    assert_int_equal( wfp_engine_add_filter( &engine, &f, NULL ), WFP_ENGINE_TOO_MANY );
    /* filters at other layers are kept but never visited */
    assert_int_equal( wfp_engine_layer_count( &engine, WFP_LAYER_OTHER ), WFP_ENGINE_MAX_FILTERS );
}

int main( void )
{
    const struct CMUnitTest tests[] =
    {
        cmocka_unit_test( test_match_ports ),
        cmocka_unit_test( test_match_flags ),
        cmocka_unit_test( test_match_addresses ),
        cmocka_unit_test( test_match_app_id ),
        cmocka_unit_test( test_filter_or_and ),
        cmocka_unit_test( test_weights ),
        cmocka_unit_test_setup_teardown( test_order, setup, teardown ),
        cmocka_unit_test_setup_teardown( test_sublayer_first_terminating, setup, teardown ),
        cmocka_unit_test_setup_teardown( test_arbitration, setup, teardown ),
        cmocka_unit_test_setup_teardown( test_inspection_and_unregistered, setup, teardown ),
        cmocka_unit_test_setup_teardown( test_changes_during_classify, setup, teardown ),
        cmocka_unit_test_setup_teardown( test_management, setup, teardown ),
        cmocka_unit_test_setup_teardown( test_remove_owner, setup, teardown ),
        cmocka_unit_test_setup_teardown( test_caps, setup, teardown ),
    };
    return cmocka_run_group_tests( tests, NULL, NULL );
}
