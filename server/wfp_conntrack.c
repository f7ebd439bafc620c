/*
 * The original endpoints of a UDP flow, from Linux conntrack
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
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <linux/netlink.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>

#include "wfp_conntrack.h"

struct attr_writer
{
    uint8_t *buffer;
    size_t   size, used;
};

static struct nlattr *put_attr( struct attr_writer *w, uint16_t type, const void *data, size_t len )
{
    struct nlattr *attr = (struct nlattr *)(w->buffer + w->used);
    size_t total = NLA_ALIGN( NLA_HDRLEN + len );

    if (w->used + total > w->size) return NULL;
    memset( attr, 0, total );
    attr->nla_len = NLA_HDRLEN + len;
    attr->nla_type = type;
    if (len) memcpy( (uint8_t *)attr + NLA_HDRLEN, data, len );
    w->used += total;
    return attr;
}

static void end_nested( struct attr_writer *w, struct nlattr *attr )
{
    attr->nla_len = w->buffer + w->used - (uint8_t *)attr;
}

static int put_tuple( struct attr_writer *w, const struct wfp_endpoint *src, const struct wfp_endpoint *dst )
{
    struct nlattr *tuple, *ip, *proto;
    uint16_t port;
    uint8_t num = IPPROTO_UDP;
    size_t len = src->family == 4 ? 4 : 16;

    if (!(tuple = put_attr( w, CTA_TUPLE_REPLY | NLA_F_NESTED, NULL, 0 ))) return 0;
    if (!(ip = put_attr( w, CTA_TUPLE_IP | NLA_F_NESTED, NULL, 0 ))) return 0;
    if (!put_attr( w, src->family == 4 ? CTA_IP_V4_SRC : CTA_IP_V6_SRC, src->addr, len )) return 0;
    if (!put_attr( w, dst->family == 4 ? CTA_IP_V4_DST : CTA_IP_V6_DST, dst->addr, len )) return 0;
    end_nested( w, ip );
    if (!(proto = put_attr( w, CTA_TUPLE_PROTO | NLA_F_NESTED, NULL, 0 ))) return 0;
    if (!put_attr( w, CTA_PROTO_NUM, &num, sizeof(num) )) return 0;
    port = htons( src->port );
    if (!put_attr( w, CTA_PROTO_SRC_PORT, &port, sizeof(port) )) return 0;
    port = htons( dst->port );
    if (!put_attr( w, CTA_PROTO_DST_PORT, &port, sizeof(port) )) return 0;
    end_nested( w, proto );
    end_nested( w, tuple );
    return 1;
}

/* IPCTNL_MSG_CT_GET for the flow whose replies go from local to peer */
size_t wfp_conntrack_request( const struct wfp_endpoint *local, const struct wfp_endpoint *peer,
                              uint32_t seq, void *buffer, size_t size )
{
    struct attr_writer w = { buffer, size, NLMSG_LENGTH( sizeof(struct nfgenmsg) ) };
    struct nlmsghdr *nlh = buffer;
    struct nfgenmsg *nfg;

    if (local->family != peer->family || (local->family != 4 && local->family != 6) || size < w.used) return 0;
    memset( buffer, 0, w.used );
    if (!put_tuple( &w, local, peer )) return 0;
    nlh->nlmsg_len = w.used;
    nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET;
    nlh->nlmsg_flags = NLM_F_REQUEST;
    nlh->nlmsg_seq = seq;
    nfg = NLMSG_DATA( nlh );
    nfg->nfgen_family = local->family == 4 ? AF_INET : AF_INET6;
    nfg->version = NFNETLINK_V0;
    return w.used;
}

/* the attribute of this type among those in [data, data + len) */
static const struct nlattr *find_attr( const uint8_t *data, size_t len, uint16_t type )
{
    while (len >= NLA_HDRLEN)
    {
        const struct nlattr *attr = (const struct nlattr *)data;
        size_t step;

        if (attr->nla_len < NLA_HDRLEN || attr->nla_len > len) return NULL;
        if ((attr->nla_type & NLA_TYPE_MASK) == type) return attr;
        step = NLA_ALIGN( attr->nla_len );
        if (step >= len) return NULL;
        data += step;
        len -= step;
    }
    return NULL;
}

static const uint8_t *attr_data( const struct nlattr *attr, size_t want )
{
    if (!attr || (size_t)(attr->nla_len - NLA_HDRLEN) < want) return NULL;
    return (const uint8_t *)attr + NLA_HDRLEN;
}

static int read_tuple( const struct nlattr *tuple, int family, struct wfp_endpoint *src, struct wfp_endpoint *dst )
{
    const struct nlattr *ip, *proto;
    const uint8_t *src_addr, *dst_addr, *src_port, *dst_port, *num;
    size_t len = family == 4 ? 4 : 16;

    if (!tuple) return 0;
    if (!(ip = find_attr( attr_data( tuple, 0 ), tuple->nla_len - NLA_HDRLEN, CTA_TUPLE_IP ))) return 0;
    if (!(proto = find_attr( attr_data( tuple, 0 ), tuple->nla_len - NLA_HDRLEN, CTA_TUPLE_PROTO ))) return 0;
    src_addr = attr_data( find_attr( attr_data( ip, 0 ), ip->nla_len - NLA_HDRLEN,
                                     family == 4 ? CTA_IP_V4_SRC : CTA_IP_V6_SRC ), len );
    dst_addr = attr_data( find_attr( attr_data( ip, 0 ), ip->nla_len - NLA_HDRLEN,
                                     family == 4 ? CTA_IP_V4_DST : CTA_IP_V6_DST ), len );
    num = attr_data( find_attr( attr_data( proto, 0 ), proto->nla_len - NLA_HDRLEN, CTA_PROTO_NUM ), 1 );
    src_port = attr_data( find_attr( attr_data( proto, 0 ), proto->nla_len - NLA_HDRLEN, CTA_PROTO_SRC_PORT ), 2 );
    dst_port = attr_data( find_attr( attr_data( proto, 0 ), proto->nla_len - NLA_HDRLEN, CTA_PROTO_DST_PORT ), 2 );
    if (!src_addr || !dst_addr || !num || *num != IPPROTO_UDP || !src_port || !dst_port) return 0;

    memset( src, 0, sizeof(*src) );
    memset( dst, 0, sizeof(*dst) );
    src->family = dst->family = family;
    memcpy( src->addr, src_addr, len );
    memcpy( dst->addr, dst_addr, len );
    src->port = src_port[0] << 8 | src_port[1];
    dst->port = dst_port[0] << 8 | dst_port[1];
    return 1;
}

/* The answer to request seq among the messages of one read: 1 with the
 * original tuple, 0 for no such flow, -errno otherwise, and -EAGAIN if
 * the answer is not there. */
int wfp_conntrack_parse( const void *buffer, size_t len, uint32_t seq,
                         struct wfp_endpoint *orig_src, struct wfp_endpoint *orig_dst )
{
    const struct nlmsghdr *nlh = buffer;
    int remaining = len > 0x10000 ? 0x10000 : len;

    for (; NLMSG_OK( nlh, remaining ); nlh = NLMSG_NEXT( nlh, remaining ))
    {
        const struct nfgenmsg *nfg = NLMSG_DATA( nlh );
        size_t header = NLMSG_LENGTH( sizeof(*nfg) );
        int family;

        if (nlh->nlmsg_seq != seq) continue;
        if (nlh->nlmsg_type == NLMSG_ERROR)
        {
            const struct nlmsgerr *error = NLMSG_DATA( nlh );

            if (nlh->nlmsg_len < NLMSG_LENGTH( sizeof(*error) )) return -EPROTO;
            if (error->error == -ENOENT) return 0;
            return error->error < 0 && error->error > -4096 ? error->error : -EPROTO;
        }
        if (nlh->nlmsg_type != ((NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_NEW) || nlh->nlmsg_len < header)
            return -EPROTO;
        if (nfg->nfgen_family == AF_INET) family = 4;
        else if (nfg->nfgen_family == AF_INET6) family = 6;
        else return -EPROTO;
        if (!read_tuple( find_attr( (const uint8_t *)nlh + NLA_ALIGN( header ), nlh->nlmsg_len - NLA_ALIGN( header ),
                                    CTA_TUPLE_ORIG ), family, orig_src, orig_dst ))
            return -EPROTO;
        return 1;
    }
    return -EAGAIN;
}

static int ct_socket = -1;
static int ct_denied;   /* the capabilities of a process do not come back */

int wfp_conntrack_udp_original( const struct wfp_endpoint *local, const struct wfp_endpoint *peer,
                                struct wfp_endpoint *orig_src, struct wfp_endpoint *orig_dst )
{
    static uint32_t seq;
    struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
    union
    {
        struct nlmsghdr nlh;
        uint8_t buffer[WFP_CONNTRACK_REQUEST_MAX];
    } request;
    union
    {
        struct nlmsghdr nlh;
        uint8_t buffer[4096];
    } reply;
    size_t size;
    ssize_t len;
    int ret = -EAGAIN;

    if (ct_denied) return -EPERM;
    if (!(size = wfp_conntrack_request( local, peer, ++seq, &request, sizeof(request) ))) return -EINVAL;
    if (ct_socket == -1 &&
        (ct_socket = socket( AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER )) == -1)
        return -errno;
    if (sendto( ct_socket, &request, size, 0, (struct sockaddr *)&kernel, sizeof(kernel) ) < 0)
    {
        ret = -errno;
        close( ct_socket );
        ct_socket = -1;
        return ret;
    }
    /* the kernel answers before sendto() returns; earlier answers that
     * nobody read are skipped by their sequence number */
    while (ret == -EAGAIN)
    {
        while ((len = recv( ct_socket, &reply, sizeof(reply), MSG_DONTWAIT )) < 0 && errno == EINTR);
        if (len < 0)
        {
            ret = errno == EAGAIN ? -ETIMEDOUT : -errno;
            break;
        }
        ret = wfp_conntrack_parse( &reply, len, seq, orig_src, orig_dst );
    }
    if (ret == -EPERM) ct_denied = 1;
    if (ret < 0)
    {
        close( ct_socket );
        ct_socket = -1;
    }
    return ret;
}
