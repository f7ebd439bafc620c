/*
 * Unit tests of the ctnetlink request and answer of server/wfp_conntrack.c
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
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <linux/netlink.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <cmocka.h>

#include "wfp_conntrack.h"

union message
{
    struct nlmsghdr nlh;
    uint8_t buffer[512];
};

static struct wfp_endpoint endpoint( uint8_t family, uint8_t last, uint16_t port )
{
    struct wfp_endpoint ep;

    memset( &ep, 0, sizeof(ep) );
    ep.family = family;
    ep.port = port;
    if (family == 4)
    {
        ep.addr[0] = 127;
        ep.addr[3] = last;
    }
    else ep.addr[15] = last;
    return ep;
}

/* The kernel's answer is the request's tuple as the original one: the
 * request of (src, dst), turned into an IPCTNL_MSG_CT_NEW. */
static size_t make_answer( union message *msg, const struct wfp_endpoint *src, const struct wfp_endpoint *dst,
                           uint32_t seq )
{
    size_t size = wfp_conntrack_request( src, dst, seq, msg, sizeof(*msg) );
    struct nlattr *tuple = (struct nlattr *)(msg->buffer + NLMSG_LENGTH( sizeof(struct nfgenmsg) ));

    assert_true( size > 0 );
    msg->nlh.nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_NEW;
    assert_int_equal( tuple->nla_type & NLA_TYPE_MASK, CTA_TUPLE_REPLY );
    tuple->nla_type = CTA_TUPLE_ORIG | NLA_F_NESTED;
    return size;
}

static size_t make_error( union message *msg, int error, uint32_t seq )
{
    struct nlmsgerr *err;

    memset( msg, 0, sizeof(*msg) );
    msg->nlh.nlmsg_len = NLMSG_LENGTH( sizeof(*err) );
    msg->nlh.nlmsg_type = NLMSG_ERROR;
    msg->nlh.nlmsg_seq = seq;
    err = NLMSG_DATA( &msg->nlh );
    err->error = error;
    return msg->nlh.nlmsg_len;
}

static void test_request( void **state )
{
    struct wfp_endpoint local = endpoint( 4, 1, 15001 ), peer = endpoint( 4, 9, 40000 ), v6 = endpoint( 6, 1, 1 );
    union message msg;
    struct nfgenmsg *nfg;
    size_t size;

    (void)state;
    size = wfp_conntrack_request( &local, &peer, 7, &msg, sizeof(msg) );
    assert_true( size > NLMSG_LENGTH( sizeof(*nfg) ) && size <= WFP_CONNTRACK_REQUEST_MAX );
    assert_int_equal( msg.nlh.nlmsg_len, size );
    assert_int_equal( msg.nlh.nlmsg_type, (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET );
    assert_int_equal( msg.nlh.nlmsg_flags, NLM_F_REQUEST );
    assert_int_equal( msg.nlh.nlmsg_seq, 7 );
    nfg = NLMSG_DATA( &msg.nlh );
    assert_int_equal( nfg->nfgen_family, AF_INET );
    assert_int_equal( nfg->version, NFNETLINK_V0 );

    size = wfp_conntrack_request( &v6, &v6, 8, &msg, sizeof(msg) );
    assert_true( size > 0 && size <= WFP_CONNTRACK_REQUEST_MAX );
    assert_int_equal( nfg->nfgen_family, AF_INET6 );

    /* mixed families, no family, and no room */
    assert_int_equal( wfp_conntrack_request( &local, &v6, 9, &msg, sizeof(msg) ), 0 );
    peer.family = 0;
    assert_int_equal( wfp_conntrack_request( &peer, &peer, 9, &msg, sizeof(msg) ), 0 );
    assert_int_equal( wfp_conntrack_request( &local, &local, 9, &msg, 40 ), 0 );
}

static void test_answer( void **state )
{
    struct wfp_endpoint src = endpoint( 4, 1, 40000 ), dst = endpoint( 4, 2, 8053 ), got_src, got_dst;
    struct wfp_endpoint src6 = endpoint( 6, 1, 40001 ), dst6 = endpoint( 6, 1, 8053 );
    union message msg;
    size_t size;

    (void)state;
    size = make_answer( &msg, &src, &dst, 11 );
    assert_int_equal( wfp_conntrack_parse( &msg, size, 11, &got_src, &got_dst ), 1 );
    assert_true( wfp_endpoint_equal( &got_src, &src ) );
    assert_true( wfp_endpoint_equal( &got_dst, &dst ) );

    size = make_answer( &msg, &src6, &dst6, 12 );
    assert_int_equal( wfp_conntrack_parse( &msg, size, 12, &got_src, &got_dst ), 1 );
    assert_true( wfp_endpoint_equal( &got_src, &src6 ) );
    assert_true( wfp_endpoint_equal( &got_dst, &dst6 ) );

    /* the answer to an earlier request is not this one's */
    assert_int_equal( wfp_conntrack_parse( &msg, size, 13, &got_src, &got_dst ), -EAGAIN );
}

static void test_errors( void **state )
{
    struct wfp_endpoint src = endpoint( 4, 1, 40000 ), dst = endpoint( 4, 2, 8053 ), got_src, got_dst;
    union message msg;
    size_t size, cut;

    (void)state;
    /* no such flow, and no right to ask */
    size = make_error( &msg, -ENOENT, 3 );
    assert_int_equal( wfp_conntrack_parse( &msg, size, 3, &got_src, &got_dst ), 0 );
    size = make_error( &msg, -EPERM, 3 );
    assert_int_equal( wfp_conntrack_parse( &msg, size, 3, &got_src, &got_dst ), -EPERM );
    size = make_error( &msg, 5, 3 );
    assert_int_equal( wfp_conntrack_parse( &msg, size, 3, &got_src, &got_dst ), -EPROTO );
    msg.nlh.nlmsg_len = NLMSG_HDRLEN;
    assert_int_equal( wfp_conntrack_parse( &msg, NLMSG_HDRLEN, 3, &got_src, &got_dst ), -EPROTO );

    /* another protocol's flow, and every truncation of a good answer */
    size = make_answer( &msg, &src, &dst, 4 );
    for (cut = 0; cut < size; cut++)
    {
        union message copy = msg;

        copy.nlh.nlmsg_len = cut;
        assert_true( wfp_conntrack_parse( &copy, size, 4, &got_src, &got_dst ) < 0 );
        assert_true( wfp_conntrack_parse( &msg, cut, 4, &got_src, &got_dst ) < 0 );
    }
    ((struct nfgenmsg *)NLMSG_DATA( &msg.nlh ))->nfgen_family = AF_UNIX;
    assert_int_equal( wfp_conntrack_parse( &msg, size, 4, &got_src, &got_dst ), -EPROTO );
    msg.nlh.nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_DELETE;
    assert_int_equal( wfp_conntrack_parse( &msg, size, 4, &got_src, &got_dst ), -EPROTO );
}

int main(void)
{
    const struct CMUnitTest tests[] =
    {
        cmocka_unit_test( test_request ),
        cmocka_unit_test( test_answer ),
        cmocka_unit_test( test_errors ),
    };

    return cmocka_run_group_tests( tests, NULL, NULL );
}
