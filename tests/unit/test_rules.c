/*
 * Unit tests for the redirection rules and netfilter services (server/wfp_rules.c)
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

#include "wfp_rules.h"

static struct wfp_endpoint ep( const char *text )
{
    struct wfp_endpoint e;
    if (!wfp_endpoint_parse( text, &e )) fail_msg( "cannot parse endpoint %s", text );
    return e;
}

static void test_endpoints( void **state )
{
    struct wfp_endpoint e;
    char text[80];

    (void)state;
    e = ep( "127.0.0.2:8080" );
    assert_int_equal( e.family, 4 );
    assert_int_equal( e.port, 8080 );
    assert_memory_equal( e.addr, "\x7f\x00\x00\x02", 4 );
    e = ep( "[::1]:443" );
    assert_int_equal( e.family, 6 );
    assert_int_equal( e.addr[15], 1 );
    e = ep( "[2001:db8::8:800:200c:417a]:1" );
    assert_int_equal( e.addr[0], 0x20 );
    assert_int_equal( e.addr[15], 0x7a );
    e = ep( "[::ffff:192.0.2.1]:80" );
    assert_int_equal( e.addr[10], 0xff );
    assert_int_equal( e.addr[12], 192 );
    e = ep( "[1:2:3:4:5:6:7:8]:9" );
    assert_int_equal( e.addr[14], 0 );
    assert_int_equal( e.addr[15], 8 );
    assert_true( wfp_endpoint_format( &e, text, sizeof(text) ) );
    assert_string_equal( text, "[1:2:3:4:5:6:7:8]:9" );

    static const char *bad[] =
    {
        "127.0.0.1", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0:80", "127.0.0.256:80",
        "127.00.0.1:80", "::1:80", "[::1]", "[::1]80", "[1:2:3:4:5:6:7:8:9]:1", "[1::2::3]:1",
        "[:1]:1", "[1:]:1", "[12345::]:1", "[::g]:1", "host:80", "", "[::1]:80x",
    };
    for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (wfp_endpoint_parse( bad[i], &e )) fail_msg( "accepted '%s'", bad[i] );
}

static void test_rule_parse( void **state )
{
    struct wfp_rule rule;
    char error[256], text[512];

    (void)state;
    assert_true( wfp_rule_parse( "web", "tcp 127.0.0.2:8080 -> 127.0.0.1:15001", &rule, error, sizeof(error) ) );
    assert_string_equal( rule.name, "web" );
    assert_int_equal( rule.family, 4 );
    assert_int_equal( rule.prefix_len, 32 );
    assert_int_equal( rule.port_min, 8080 );
    assert_int_equal( rule.port_max, 8080 );
    assert_int_equal( rule.redirect_to.port, 15001 );
    assert_int_equal( rule.service_id, 15001 );   /* defaults to the proxy's port */
    assert_int_equal( rule.context, WFP_CONTEXT_SOCKADDR_PAIR );
    assert_true( wfp_rule_format( &rule, text, sizeof(text) ) );
    assert_string_equal( text, "tcp 127.0.0.2/32:8080 -> 127.0.0.1:15001 service=15001" );

    assert_true( wfp_rule_parse( "lan", "tcp 10.0.0.0/8:80-443 -> 127.0.0.1:15001 service=7 target=WfpProxy.EXE context=none",
                                 &rule, error, sizeof(error) ) );
    assert_int_equal( rule.prefix_len, 8 );
    assert_int_equal( rule.port_min, 80 );
    assert_int_equal( rule.port_max, 443 );
    assert_int_equal( rule.service_id, 7 );
    assert_string_equal( rule.target_image, "wfpproxy.exe" );
    assert_int_equal( rule.context, WFP_CONTEXT_NONE );
    assert_true( wfp_rule_format( &rule, text, sizeof(text) ) );
    assert_string_equal( text, "tcp 10.0.0.0/8:80-443 -> 127.0.0.1:15001 service=7 target=wfpproxy.exe context=none" );

    assert_true( wfp_rule_parse( "v6", "tcp [2001:db8::/32]:443 -> [::1]:15002 target=pid:1234", &rule, error, sizeof(error) ) );
    assert_int_equal( rule.family, 6 );
    assert_int_equal( rule.prefix_len, 32 );
    assert_int_equal( rule.target_pid, 1234 );
    assert_true( wfp_rule_format( &rule, text, sizeof(text) ) );
    assert_string_equal( text, "tcp [2001:db8:0:0:0:0:0:0/32]:443 -> [0:0:0:0:0:0:0:1]:15002 service=15002 target=pid:1234" );

    assert_true( wfp_rule_parse( "v6all", "tcp ::1 -> [::1]:15002", &rule, error, sizeof(error) ) );
    assert_int_equal( rule.port_min, 1 );
    assert_int_equal( rule.port_max, 65535 );
    assert_true( wfp_rule_parse( "any", "tcp *:443 -> 127.0.0.1:15001", &rule, error, sizeof(error) ) );
    assert_int_equal( rule.family, 0 );
    assert_true( wfp_rule_parse( "tabs", "tcp\t*\t->\t127.0.0.1:1", &rule, error, sizeof(error) ) );

    assert_true( wfp_rule_parse( "dns", "udp 10.0.0.0/8:53 -> 127.0.0.1:15053", &rule, error, sizeof(error) ) );
    assert_int_equal( rule.protocol, 17 );
    assert_true( wfp_rule_format( &rule, text, sizeof(text) ) );
    assert_string_equal( text, "udp 10.0.0.0/8:53 -> 127.0.0.1:15053 service=15053" );
}

static void test_rule_errors( void **state )
{
    static const struct { const char *text, *message; } tests[] =
    {
        { "sctp 127.0.0.1:53 -> 127.0.0.1:5353", "unknown protocol" },
        { "tcp 127.0.0.1:80 127.0.0.1:15001", "expected 'tcp" },
        { "tcp 127.0.0.1:80 ->", "expected 'tcp" },
        { "tcp 127.0.0.1:0 -> 127.0.0.1:15001", "bad destination" },
        { "tcp 127.0.0.1:90-80 -> 127.0.0.1:15001", "bad destination" },
        { "tcp 127.0.0.1/33 -> 127.0.0.1:15001", "bad destination" },
        { "tcp 127.0.0.1/08 -> 127.0.0.1:15001", "bad destination" },
        { "tcp [::1/129] -> [::1]:15001", "bad destination" },
        { "tcp example.com:80 -> 127.0.0.1:15001", "bad destination" },
        { "tcp 127.0.0.1:80 -> 127.0.0.1", "bad redirect target" },
        { "tcp 127.0.0.1:80 -> [::1]:15001", "one address family" },
        { "tcp 127.0.0.1:80 -> 127.0.0.1:1 service=0", "service must be" },
        { "tcp 127.0.0.1:80 -> 127.0.0.1:1 service=70000", "service must be" },
        { "tcp 127.0.0.1:80 -> 127.0.0.1:1 target=a/b.exe", "target must be" },
        { "tcp 127.0.0.1:80 -> 127.0.0.1:1 target=pid:0", "bad process id" },
        { "tcp 127.0.0.1:80 -> 127.0.0.1:1 context=odd", "unknown option" },
        { "tcp 127.0.0.1:80 -> 127.0.0.1:1 colour=blue", "unknown option" },
    };
    struct wfp_rule rule;
    char error[256], long_name[100];
    unsigned int i;

    (void)state;
    for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
    {
        error[0] = 0;
        if (wfp_rule_parse( "r", tests[i].text, &rule, error, sizeof(error) ))
            fail_msg( "accepted '%s'", tests[i].text );
        if (!strstr( error, tests[i].message ))
            fail_msg( "'%s': error '%s' does not say '%s'", tests[i].text, error, tests[i].message );
    }
    assert_false( wfp_rule_parse( "", "tcp * -> 127.0.0.1:1", &rule, error, sizeof(error) ) );
    memset( long_name, 'n', sizeof(long_name) - 1 );
    long_name[sizeof(long_name) - 1] = 0;
    assert_false( wfp_rule_parse( long_name, "tcp * -> 127.0.0.1:1", &rule, error, sizeof(error) ) );
}

static void test_rule_matches( void **state )
{
    struct wfp_rule rule;
    char error[256];
    struct wfp_endpoint e;

    (void)state;
    assert_true( wfp_rule_parse( "r", "tcp 10.1.0.0/17:80-81 -> 127.0.0.1:1", &rule, error, sizeof(error) ) );
    e = ep( "10.1.127.255:80" ); assert_true( wfp_rule_matches( &rule, 6, &e ) );
    e = ep( "10.1.128.0:80" );   assert_false( wfp_rule_matches( &rule, 6, &e ) );
    e = ep( "10.1.0.1:81" );     assert_true( wfp_rule_matches( &rule, 6, &e ) );
    e = ep( "10.1.0.1:82" );     assert_false( wfp_rule_matches( &rule, 6, &e ) );
    e = ep( "10.1.0.1:80" );     assert_false( wfp_rule_matches( &rule, 17, &e ) );
    e = ep( "[::ffff:10.1.0.1]:80" ); assert_false( wfp_rule_matches( &rule, 6, &e ) );
    assert_true( wfp_rule_parse( "r", "udp 10.1.0.0/17:53 -> 127.0.0.1:1", &rule, error, sizeof(error) ) );
    e = ep( "10.1.0.1:53" );     assert_true( wfp_rule_matches( &rule, 17, &e ) );
    e = ep( "10.1.0.1:53" );     assert_false( wfp_rule_matches( &rule, 6, &e ) );

    assert_true( wfp_rule_parse( "r", "tcp [fe80::/10] -> [::1]:1", &rule, error, sizeof(error) ) );
    e = ep( "[febf::1]:9" );     assert_true( wfp_rule_matches( &rule, 6, &e ) );
    e = ep( "[fec0::1]:9" );     assert_false( wfp_rule_matches( &rule, 6, &e ) );
    e = ep( "127.0.0.1:9" );     assert_false( wfp_rule_matches( &rule, 6, &e ) );

    assert_true( wfp_rule_parse( "r", "tcp *:443 -> 127.0.0.1:1", &rule, error, sizeof(error) ) );
    e = ep( "[::1]:443" );       assert_true( wfp_rule_matches( &rule, 6, &e ) );
    e = ep( "1.2.3.4:443" );     assert_true( wfp_rule_matches( &rule, 6, &e ) );
    e = ep( "1.2.3.4:444" );     assert_false( wfp_rule_matches( &rule, 6, &e ) );

    assert_true( wfp_rule_parse( "r", "tcp 0.0.0.0/0 -> 127.0.0.1:1", &rule, error, sizeof(error) ) );
    e = ep( "255.255.255.255:1" ); assert_true( wfp_rule_matches( &rule, 6, &e ) );
}

static void test_services( void **state )
{
    struct wfp_service service;
    char error[256];

    (void)state;
    assert_true( wfp_service_parse( "port=15001 mark=0x100", &service, error, sizeof(error) ) );
    assert_int_equal( service.port, 15001 );
    assert_int_equal( service.mark, 0x100 );
    assert_true( wfp_service_parse( "mark=4096 port=1", &service, error, sizeof(error) ) );
    assert_int_equal( service.mark, 4096 );
    assert_false( wfp_service_parse( "port=15001", &service, error, sizeof(error) ) );
    assert_non_null( strstr( error, "needs port= and mark=" ) );
    assert_false( wfp_service_parse( "port=15001 mark=0", &service, error, sizeof(error) ) );
    assert_false( wfp_service_parse( "port=15001 mark=0x100000000", &service, error, sizeof(error) ) );
    assert_false( wfp_service_parse( "port=15001 mark=1 extra", &service, error, sizeof(error) ) );
}

static void test_have_service( void **state )
{
    struct wfp_records records;

    (void)state;
    memset( &records, 0, sizeof(records) );
    records.hop_count = 2;
    records.hops[0].service_kind = WFP_SERVICE_NETFILTER;
    records.hops[0].service_id = 15001;
    records.hops[1].service_kind = WFP_SERVICE_WINE_RULE;
    records.hops[1].service_id = 15002;
    assert_true( wfp_records_have_service( &records, WFP_SERVICE_NETFILTER, 15001 ) );
    assert_true( wfp_records_have_service( &records, WFP_SERVICE_WINE_RULE, 15002 ) );
    assert_false( wfp_records_have_service( &records, WFP_SERVICE_WINE_RULE, 15001 ) );
    assert_false( wfp_records_have_service( &records, WFP_SERVICE_NETFILTER, 15002 ) );
}

int main( void )
{
    const struct CMUnitTest tests[] =
    {
        cmocka_unit_test( test_endpoints ),
        cmocka_unit_test( test_rule_parse ),
        cmocka_unit_test( test_rule_errors ),
        cmocka_unit_test( test_rule_matches ),
        cmocka_unit_test( test_services ),
        cmocka_unit_test( test_have_service ),
    };
    return cmocka_run_group_tests_name( "wfp_rules", tests, NULL, NULL );
}
