/*
 * Unit tests for the WFP redirect records codec (server/wfp_records.c)
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
#include <string.h>
#include <cmocka.h>

#include "wfp_records.h"

static const uint8_t key[WFP_RECORDS_KEY_SIZE] =
{
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
    17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32,
};

static void hex( const uint8_t *data, size_t len, char *out )
{
    size_t i;
    for (i = 0; i < len; i++) sprintf( out + 2 * i, "%02x", data[i] );
}

/* RFC 4231 test cases 1, 2, 3, 4, 6 and 7 */
static void test_hmac_sha256_rfc4231( void **state )
{
    static const struct
    {
        const char *key_hex;
        size_t key_len;
        const char *data;
        size_t data_len;
        const char *mac;
    }
    tests[] =
    {
        { "0b", 20, "Hi There", 8,
          "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7" },
        { NULL, 4, "what do ya want for nothing?", 28,
          "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843" },
        { "aa", 20, NULL, 50,
          "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe" },
        { "", 25, NULL, 50,
          "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b" },
        { "aa", 131, "Test Using Larger Than Block-Size Key - Hash Key First", 54,
          "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54" },
        { "aa", 131, "This is a test using a larger than block-size key and a larger than "
          "block-size data. The key needs to be hashed before being used by the HMAC algorithm.", 152,
          "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2" },
    };
    uint8_t k[131], d[152], mac[WFP_SHA256_SIZE];
    char text[2 * WFP_SHA256_SIZE + 1];
    unsigned int i, j;

    (void)state;
    for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
    {
        if (!tests[i].key_hex) memcpy( k, "Jefe", 4 );
        else if (!tests[i].key_hex[0]) for (j = 0; j < tests[i].key_len; j++) k[j] = j + 1;
        else memset( k, tests[i].key_hex[0] == '0' ? 0x0b : 0xaa, tests[i].key_len );

        if (tests[i].data) memcpy( d, tests[i].data, tests[i].data_len );
        else memset( d, tests[i].key_hex[0] == 'a' ? 0xdd : 0xcd, tests[i].data_len );

        wfp_hmac_sha256( k, tests[i].key_len, d, tests[i].data_len, mac );
        hex( mac, sizeof(mac), text );
        assert_string_equal( text, tests[i].mac );
    }
}

static void make_hop( struct wfp_hop *hop, unsigned int n, int family )
{
    memset( hop, 0, sizeof(*hop) );
    hop->service_kind = n % 2 ? WFP_SERVICE_WINE_RULE : WFP_SERVICE_NETFILTER;
    hop->protocol = 6;
    hop->service_id = 100 + n;
    hop->target_pid = 0x1234 + n;
    hop->flow_id = 0x0102030405060708ull * (n + 1);
    hop->time_ms = 1764000000000ull + n;
    hop->target_server = 0xfedcba9876543210ull ^ n;
    hop->target_start = 134000000000000000ull + n;
    hop->original_dst.family = family;
    hop->original_dst.port = 8080 + n;
    hop->original_src.family = family;
    hop->original_src.port = 50000 + n;
    if (family == 4)
    {
        hop->original_dst.addr[0] = 127; hop->original_dst.addr[3] = 2;
        hop->original_src.addr[0] = 127; hop->original_src.addr[3] = 1;
    }
    else
    {
        hop->original_dst.addr[15] = 1;
        hop->original_dst.scope_id = 3;
        hop->original_src.addr[0] = 0xfe; hop->original_src.addr[1] = 0x80; hop->original_src.addr[15] = n;
        hop->original_src.scope_id = 3;
    }
}

static void make_records( struct wfp_records *records, unsigned int hops )
{
    unsigned int i;

    memset( records, 0, sizeof(*records) );
    records->hop_count = hops;
    for (i = 0; i < hops; i++) make_hop( &records->hops[i], i, i % 3 ? 4 : 6 );
}

static void assert_hops_equal( const struct wfp_hop *a, const struct wfp_hop *b )
{
    assert_int_equal( a->service_kind, b->service_kind );
    assert_int_equal( a->protocol, b->protocol );
    assert_int_equal( a->service_id, b->service_id );
    assert_int_equal( a->target_pid, b->target_pid );
    assert_true( a->flow_id == b->flow_id );
    assert_true( a->time_ms == b->time_ms );
    assert_true( a->target_server == b->target_server );
    assert_true( a->target_start == b->target_start );
    assert_true( wfp_endpoint_equal( &a->original_dst, &b->original_dst ) );
    assert_true( wfp_endpoint_equal( &a->original_src, &b->original_src ) );
}

static void test_round_trip( void **state )
{
    static const unsigned int counts[] = { 1, 2, 8, WFP_RECORDS_MAX_HOPS };
    uint8_t blob[WFP_RECORDS_MAX_SIZE];
    struct wfp_records in, out;
    unsigned int i, j;
    size_t len, used;

    (void)state;
    for (i = 0; i < sizeof(counts) / sizeof(counts[0]); i++)
    {
        make_records( &in, counts[i] );
        len = wfp_records_encode( &in, key, blob, sizeof(blob) );
        assert_int_equal( len, WFP_RECORDS_SIZE( counts[i] ) );
        assert_int_equal( wfp_records_decode( blob, len, key, &out, &used ), WFP_RECORDS_OK );
        assert_int_equal( used, len );
        assert_int_equal( out.hop_count, counts[i] );
        for (j = 0; j < counts[i]; j++) assert_hops_equal( &in.hops[j], &out.hops[j] );
    }
}

/* Envoy queries into a 2048-byte buffer: the largest blob must fit. */
static void test_sizes( void **state )
{
    (void)state;
    assert_int_equal( WFP_RECORDS_SIZE( 1 ), 112 );
    assert_true( WFP_RECORDS_SIZE( 8 ) <= 1024 );
    assert_true( WFP_RECORDS_MAX_SIZE <= 2048 );
}

/* A hop names one process of one wineserver: its id, its start time and
 * the wineserver's own id must all match, and nothing compares clocks. */
static void test_target( void **state )
{
    struct wfp_process_id me = { 0x1122334455667788ull, 133000000000000000ull, 0x104 }, other;
    struct wfp_hop hop;

    (void)state;
    make_hop( &hop, 0, 4 );
    wfp_hop_set_target( &hop, &me );
    assert_int_equal( hop.target_pid, 0x104 );
    assert_true( wfp_hop_target_is( &hop, &me ) );

    /* the same pid in another wineserver (another prefix), started at the same moment */
    other = me;
    other.server ^= 1;
    assert_false( wfp_hop_target_is( &hop, &other ) );
    /* a later process that got the same pid */
    other = me;
    other.start += 1;
    assert_false( wfp_hop_target_is( &hop, &other ) );
    other = me;
    other.pid = 0x108;
    assert_false( wfp_hop_target_is( &hop, &other ) );

    /* the wall clock stepped back between the process's start and the hop */
    hop.time_ms = 1000;
    assert_true( wfp_hop_target_is( &hop, &me ) );
}

static void test_encode_rejects( void **state )
{
    uint8_t blob[WFP_RECORDS_MAX_SIZE];
    struct wfp_records records;

    (void)state;
    make_records( &records, 2 );
    assert_int_equal( wfp_records_encode( &records, key, blob, WFP_RECORDS_SIZE( 2 ) - 1 ), 0 );
    records.hop_count = 0;
    assert_int_equal( wfp_records_encode( &records, key, blob, sizeof(blob) ), 0 );
    records.hop_count = WFP_RECORDS_MAX_HOPS + 1;
    assert_int_equal( wfp_records_encode( &records, key, blob, sizeof(blob) ), 0 );
}

/* Any change of any byte, to any value, must be refused. */
static void test_every_byte_altered( void **state )
{
    uint8_t blob[WFP_RECORDS_SIZE( 3 )], copy[sizeof(blob)];
    struct wfp_records records, out;
    unsigned int i, delta;
    size_t len;

    (void)state;
    make_records( &records, 3 );
    len = wfp_records_encode( &records, key, blob, sizeof(blob) );
    assert_int_equal( len, sizeof(blob) );

    for (i = 0; i < len; i++)
    {
        for (delta = 1; delta < 256; delta++)
        {
            memcpy( copy, blob, len );
            copy[i] ^= delta;
            if (wfp_records_decode( copy, len, key, &out, NULL ) == WFP_RECORDS_OK)
                fail_msg( "byte %u xor 0x%02x was accepted", i, delta );
        }
    }
}

static void test_truncated( void **state )
{
    uint8_t blob[WFP_RECORDS_SIZE( 2 )];
    struct wfp_records records, out;
    size_t len, i;

    (void)state;
    make_records( &records, 2 );
    len = wfp_records_encode( &records, key, blob, sizeof(blob) );
    for (i = 0; i < len; i++)
        assert_int_equal( wfp_records_decode( blob, i, key, &out, NULL ), WFP_RECORDS_TRUNCATED );
}

/* A proxy may hand back its whole query buffer; the bytes after the blob
 * are not part of it. */
static void test_trailing_bytes( void **state )
{
    uint8_t blob[2048];
    struct wfp_records records, out;
    size_t len, used;

    (void)state;
    memset( blob, 0xcc, sizeof(blob) );
    make_records( &records, 1 );
    len = wfp_records_encode( &records, key, blob, sizeof(blob) );
    assert_int_equal( wfp_records_decode( blob, sizeof(blob), key, &out, &used ), WFP_RECORDS_OK );
    assert_int_equal( used, len );
}

static void test_wrong_key( void **state )
{
    uint8_t blob[WFP_RECORDS_SIZE( 1 )], other[WFP_RECORDS_KEY_SIZE];
    struct wfp_records records, out;
    size_t len;

    (void)state;
    memcpy( other, key, sizeof(other) );
    other[31] ^= 0x80;
    make_records( &records, 1 );
    len = wfp_records_encode( &records, key, blob, sizeof(blob) );
    assert_int_equal( wfp_records_decode( blob, len, other, &out, NULL ), WFP_RECORDS_BAD_TAG );
}

/* The prepared key follows the key it is given: tags made with one key,
 * then another, then the first again, are each those of their key. */
static void test_key_switch( void **state )
{
    uint8_t blob1[WFP_RECORDS_SIZE( 1 )], blob2[sizeof(blob1)], again[sizeof(blob1)];
    uint8_t other[WFP_RECORDS_KEY_SIZE], mac[WFP_SHA256_SIZE];
    struct wfp_records records, out;

    (void)state;
    memcpy( other, key, sizeof(other) );
    other[0] ^= 1;
    make_records( &records, 1 );
    assert_int_equal( wfp_records_encode( &records, key, blob1, sizeof(blob1) ), sizeof(blob1) );
    assert_int_equal( wfp_records_encode( &records, other, blob2, sizeof(blob2) ), sizeof(blob2) );
    assert_memory_not_equal( blob1, blob2, sizeof(blob1) );
    assert_int_equal( wfp_records_encode( &records, key, again, sizeof(again) ), sizeof(again) );
    assert_memory_equal( blob1, again, sizeof(again) );
    assert_int_equal( wfp_records_decode( blob2, sizeof(blob2), key, &out, NULL ), WFP_RECORDS_BAD_TAG );
    assert_int_equal( wfp_records_decode( blob2, sizeof(blob2), other, &out, NULL ), WFP_RECORDS_OK );
    assert_int_equal( wfp_records_decode( blob1, sizeof(blob1), key, &out, NULL ), WFP_RECORDS_OK );

    /* the tag is the first half of the HMAC of everything before it */
    wfp_hmac_sha256( key, sizeof(key), blob1, sizeof(blob1) - WFP_RECORDS_TAG_SIZE, mac );
    assert_memory_equal( mac, blob1 + sizeof(blob1) - WFP_RECORDS_TAG_SIZE, WFP_RECORDS_TAG_SIZE );
    /* and no key is no authentication */
    assert_int_equal( wfp_records_decode( blob1, sizeof(blob1), NULL, &out, NULL ), WFP_RECORDS_BAD_TAG );
}

/* wfp_records_read() is for blobs the server holds: it checks their shape
 * as decode does, but not their tag. */
static void test_read( void **state )
{
    uint8_t blob[WFP_RECORDS_SIZE( 2 )];
    struct wfp_records records, out;

    (void)state;
    make_records( &records, 2 );
    assert_int_equal( wfp_records_encode( &records, key, blob, sizeof(blob) ), sizeof(blob) );
    assert_int_equal( wfp_records_read( blob, sizeof(blob), &out ), WFP_RECORDS_OK );
    assert_int_equal( out.hop_count, 2 );
    assert_int_equal( out.hops[1].original_dst.port, records.hops[1].original_dst.port );
    blob[sizeof(blob) - 1] ^= 1;
    assert_int_equal( wfp_records_read( blob, sizeof(blob), &out ), WFP_RECORDS_OK );
    assert_int_equal( wfp_records_read( blob, sizeof(blob) - 1, &out ), WFP_RECORDS_TRUNCATED );
    blob[5] = WFP_RECORDS_MAX_HOPS + 1;
    assert_int_equal( wfp_records_read( blob, sizeof(blob), &out ), WFP_RECORDS_BAD_LENGTH );
}

static void test_header_errors( void **state )
{
    uint8_t blob[WFP_RECORDS_SIZE( 1 )], copy[sizeof(blob)];
    struct wfp_records records, out;
    size_t len;

    (void)state;
    make_records( &records, 1 );
    len = wfp_records_encode( &records, key, blob, sizeof(blob) );

    memcpy( copy, blob, len ); copy[0] = 'X';
    assert_int_equal( wfp_records_decode( copy, len, key, &out, NULL ), WFP_RECORDS_BAD_MAGIC );
    memcpy( copy, blob, len ); copy[4] = 1;   /* 0.5's hops had no wineserver */
    assert_int_equal( wfp_records_decode( copy, len, key, &out, NULL ), WFP_RECORDS_BAD_VERSION );
    memcpy( copy, blob, len ); copy[4] = 3;
    assert_int_equal( wfp_records_decode( copy, len, key, &out, NULL ), WFP_RECORDS_BAD_VERSION );
    memcpy( copy, blob, len ); copy[5] = 0;
    assert_int_equal( wfp_records_decode( copy, len, key, &out, NULL ), WFP_RECORDS_BAD_LENGTH );
    memcpy( copy, blob, len ); copy[5] = WFP_RECORDS_MAX_HOPS + 1;
    assert_int_equal( wfp_records_decode( copy, len, key, &out, NULL ), WFP_RECORDS_BAD_LENGTH );
    memcpy( copy, blob, len ); copy[6]++;
    assert_int_equal( wfp_records_decode( copy, len, key, &out, NULL ), WFP_RECORDS_BAD_LENGTH );
    memcpy( copy, blob, len ); copy[5] = 2;    /* claims more than the buffer holds */
    copy[6] = WFP_RECORDS_SIZE( 2 ) & 0xff; copy[7] = WFP_RECORDS_SIZE( 2 ) >> 8;
    assert_int_equal( wfp_records_decode( copy, len, key, &out, NULL ), WFP_RECORDS_TRUNCATED );
}

/* Authentic blobs with values the format forbids are still refused: the
 * key holder made a mistake, and the server must not act on it. */
static void test_bad_fields( void **state )
{
    uint8_t blob[WFP_RECORDS_SIZE( 1 )];
    struct wfp_records records, out;
    size_t len;
    unsigned int i;

    (void)state;
    for (i = 0; i < 6; i++)
    {
        make_records( &records, 1 );
        switch (i)
        {
        case 0: records.hops[0].service_kind = 4; break;
        case 1: records.hops[0].protocol = 1; break;
        case 2: records.hops[0].original_dst.family = 5; break;
        case 3: records.hops[0].original_src.family = 4; break;   /* mixed families */
        case 4: records.hops[0].original_dst.family = 4; records.hops[0].original_src.family = 4;
                records.hops[0].original_dst.addr[8] = 1; break;   /* IPv4 with bytes past 4 */
        case 5: records.hops[0].original_dst.family = 4; records.hops[0].original_src.family = 4;
                records.hops[0].original_src.scope_id = 1; break;  /* IPv4 with a scope */
        }
        len = wfp_records_encode( &records, key, blob, sizeof(blob) );
        assert_int_equal( len, sizeof(blob) );
        assert_int_equal( wfp_records_decode( blob, len, key, &out, NULL ), WFP_RECORDS_BAD_HOP );
    }
}

/* The same records always give the same bytes, so that a blob can be
 * compared with one issued earlier. */
static void test_deterministic( void **state )
{
    uint8_t a[WFP_RECORDS_SIZE( 4 )], b[WFP_RECORDS_SIZE( 4 )];
    struct wfp_records records;

    (void)state;
    make_records( &records, 4 );
    assert_int_equal( wfp_records_encode( &records, key, a, sizeof(a) ), sizeof(a) );
    assert_int_equal( wfp_records_encode( &records, key, b, sizeof(b) ), sizeof(b) );
    assert_memory_equal( a, b, sizeof(a) );
}

static void test_endpoint_equal( void **state )
{
    struct wfp_hop a, b;

    (void)state;
    make_hop( &a, 0, 4 );
    b = a;
    assert_true( wfp_endpoint_equal( &a.original_dst, &b.original_dst ) );
    b.original_dst.port++;
    assert_false( wfp_endpoint_equal( &a.original_dst, &b.original_dst ) );
    b = a;
    b.original_dst.addr[10] = 7;   /* beyond an IPv4 address: ignored */
    assert_true( wfp_endpoint_equal( &a.original_dst, &b.original_dst ) );
    make_hop( &a, 0, 6 );
    b = a;
    b.original_dst.addr[10] = 7;
    assert_false( wfp_endpoint_equal( &a.original_dst, &b.original_dst ) );
    b = a;
    b.original_dst.scope_id = 9;
    assert_false( wfp_endpoint_equal( &a.original_dst, &b.original_dst ) );
}

static void test_status_names( void **state )
{
    (void)state;
    assert_string_equal( wfp_records_status_name( WFP_RECORDS_OK ), "ok" );
    assert_string_equal( wfp_records_status_name( WFP_RECORDS_BAD_TAG ), "not authentic" );
    assert_string_equal( wfp_records_status_name( (enum wfp_records_status)99 ), "unknown status" );
}

int main( void )
{
    const struct CMUnitTest tests[] =
    {
        cmocka_unit_test( test_hmac_sha256_rfc4231 ),
        cmocka_unit_test( test_round_trip ),
        cmocka_unit_test( test_sizes ),
        cmocka_unit_test( test_target ),
        cmocka_unit_test( test_encode_rejects ),
        cmocka_unit_test( test_every_byte_altered ),
        cmocka_unit_test( test_truncated ),
        cmocka_unit_test( test_trailing_bytes ),
        cmocka_unit_test( test_wrong_key ),
        cmocka_unit_test( test_key_switch ),
        cmocka_unit_test( test_read ),
        cmocka_unit_test( test_header_errors ),
        cmocka_unit_test( test_bad_fields ),
        cmocka_unit_test( test_deterministic ),
        cmocka_unit_test( test_endpoint_equal ),
        cmocka_unit_test( test_status_names ),
    };
    return cmocka_run_group_tests_name( "wfp_records", tests, NULL, NULL );
}
