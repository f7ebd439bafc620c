/*
 * Unit tests for the walk of WSASendMsg control data (dlls/ws2_32/wfp_cmsg.c)
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
#include <string.h>
#include <cmocka.h>

#include "wfp_cmsg.h"

/* a control buffer as a program builds it with WSA_CMSG_SPACE */
static size_t put( unsigned char *buffer, size_t offset, int level, int type, const void *data, size_t size )
{
    struct wfp_cmsg_header header = { sizeof(header) + size, level, type };

    memcpy( buffer + offset, &header, sizeof(header) );
    memcpy( buffer + offset + sizeof(header), data, size );
    return offset + WFP_CMSG_ALIGN( header.len );
}

static void test_none( void **state )
{
    size_t buffer[64] = { 0 };
    unsigned char *control = (unsigned char *)buffer;
    struct wfp_cmsg_records records;
    int pktinfo[5] = { 1, 2, 3, 4, 5 };
    size_t len;

    (void)state;
    assert_int_equal( wfp_cmsg_find_records( NULL, 0, &records ), 0 );
    assert_null( records.data );
    len = put( control, 0, WFP_CMSG_LEVEL_IP, 19 /* IP_PKTINFO */, pktinfo, sizeof(pktinfo) );
    assert_int_equal( wfp_cmsg_find_records( control, len, &records ), 0 );
    assert_null( records.data );
    /* the context type is no records */
    len = put( control, 0, WFP_CMSG_LEVEL_IP, 70, pktinfo, sizeof(pktinfo) );
    assert_int_equal( wfp_cmsg_find_records( control, len, &records ), 0 );
    assert_null( records.data );
    /* another level with type 60 neither */
    len = put( control, 0, 0xffff, WFP_CMSG_RECORDS, pktinfo, sizeof(pktinfo) );
    assert_int_equal( wfp_cmsg_find_records( control, len, &records ), 0 );
    assert_null( records.data );
}

static void test_found( void **state )
{
    size_t buffer[128] = { 0 };
    unsigned char *control = (unsigned char *)buffer, blob[77];
    struct wfp_cmsg_records records;
    int pktinfo[5] = { 0 };
    size_t len;

    (void)state;
    memset( blob, 0xa5, sizeof(blob) );
    len = put( control, 0, WFP_CMSG_LEVEL_IP, 19, pktinfo, sizeof(pktinfo) );
    len = put( control, len, WFP_CMSG_LEVEL_IPV6, WFP_CMSG_RECORDS, blob, sizeof(blob) );
    assert_int_equal( wfp_cmsg_find_records( control, len, &records ), 0 );
    assert_ptr_equal( records.data, control + WFP_CMSG_ALIGN( sizeof(struct wfp_cmsg_header) + sizeof(pktinfo) ) +
                      sizeof(struct wfp_cmsg_header) );
    assert_int_equal( records.size, sizeof(blob) );
    assert_memory_equal( records.data, blob, sizeof(blob) );

    /* the last message may lack its padding; fewer bytes than a header after
     * the last one are ignored */
    assert_int_equal( wfp_cmsg_find_records( control, len - 3, &records ), 0 );
    assert_int_equal( records.size, sizeof(blob) );
    assert_int_equal( wfp_cmsg_find_records( control, len + sizeof(struct wfp_cmsg_header) - 1, &records ), 0 );
    assert_int_equal( records.size, sizeof(blob) );

    /* first of two messages */
    len = put( control, 0, WFP_CMSG_LEVEL_IP, WFP_CMSG_RECORDS, blob, 5 );
    len = put( control, len, WFP_CMSG_LEVEL_IP, 19, pktinfo, sizeof(pktinfo) );
    assert_int_equal( wfp_cmsg_find_records( control, len, &records ), 0 );
    assert_ptr_equal( records.data, control + sizeof(struct wfp_cmsg_header) );
    assert_int_equal( records.size, 5 );
}

static void test_malformed( void **state )
{
    size_t buffer[128] = { 0 };
    unsigned char *control = (unsigned char *)buffer, blob[16] = { 1 };
    struct wfp_cmsg_header header;
    struct wfp_cmsg_records records;
    size_t len;

    (void)state;
    /* runs past the buffer */
    len = put( control, 0, WFP_CMSG_LEVEL_IP, WFP_CMSG_RECORDS, blob, sizeof(blob) );
    assert_int_equal( wfp_cmsg_find_records( control, len - 1, &records ), -1 );
    assert_null( records.data );
    /* a length shorter than the header, zero among them (a zeroed tail) */
    len = put( control, 0, WFP_CMSG_LEVEL_IP, 19, blob, 4 );
    memset( control + len, 0, sizeof(header) );
    assert_int_equal( wfp_cmsg_find_records( control, len + sizeof(header), &records ), -1 );
    header.len = sizeof(header) - 1;
    header.level = WFP_CMSG_LEVEL_IP;
    header.type = WFP_CMSG_RECORDS;
    memcpy( control, &header, sizeof(header) );
    assert_int_equal( wfp_cmsg_find_records( control, sizeof(header), &records ), -1 );
    /* a huge length */
    header.len = (size_t)-1;
    memcpy( control, &header, sizeof(header) );
    assert_int_equal( wfp_cmsg_find_records( control, 64, &records ), -1 );
    /* records twice, or empty */
    len = put( control, 0, WFP_CMSG_LEVEL_IP, WFP_CMSG_RECORDS, blob, sizeof(blob) );
    len = put( control, len, WFP_CMSG_LEVEL_IPV6, WFP_CMSG_RECORDS, blob, sizeof(blob) );
    assert_int_equal( wfp_cmsg_find_records( control, len, &records ), -1 );
    len = put( control, 0, WFP_CMSG_LEVEL_IP, WFP_CMSG_RECORDS, blob, 0 );
    assert_int_equal( wfp_cmsg_find_records( control, len, &records ), -1 );
    /* misaligned */
    len = put( control + 8, 0, WFP_CMSG_LEVEL_IP, WFP_CMSG_RECORDS, blob, sizeof(blob) );
    memmove( control + 1, control + 8, len );
    assert_int_equal( wfp_cmsg_find_records( control + 1, len, &records ), -1 );
}

int main( void )
{
    const struct CMUnitTest tests[] =
    {
        cmocka_unit_test( test_none ),
        cmocka_unit_test( test_found ),
        cmocka_unit_test( test_malformed ),
    };
    return cmocka_run_group_tests( tests, NULL, NULL );
}
