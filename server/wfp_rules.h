/*
 * WFP connection redirection: in-Wine redirection rules and netfilter services
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
 * Plain C, shared by the wineserver, the wfprules tool and the native tests.
 *
 * A rule is one REG_SZ value under HKLM\Software\Wine\WFP\Rules; the value
 * name names the rule and the data is
 *
 *   tcp DESTINATION -> ADDRESS:PORT [service=N] [target=IMAGE.exe|target=pid:N] [context=default|none]
 *
 * DESTINATION is ADDRESS[/PREFIX][:PORT[-PORT]], or * for any address;
 * IPv6 addresses go in brackets when a port follows ([::1]:8080).  The
 * connect()s of Wine processes that match go to ADDRESS:PORT instead,
 * where the proxy listens.
 *
 *   service  the redirect service the hop is recorded for; a flow that
 *            this service redirected once is never redirected by it again.
 *            Default: the port the rule redirects to.
 *   target   the proxy's image name or process id (what Windows calls the
 *            localRedirectTargetPID): the rule never redirects that
 *            process's own connections.
 *   context  what SIO_QUERY_WFP_CONNECTION_REDIRECT_CONTEXT returns:
 *            "default" (two SOCKADDR_STORAGE, destination and source) or
 *            "none".
 *
 * A netfilter service is one REG_SZ value under HKLM\Software\Wine\WFP\Services:
 *
 *   port=PORT mark=MARK
 *
 * meaning that a connection netfilter redirected to a listener on PORT was
 * redirected by that service, and that a socket given such records with
 * SIO_SET_WFP_CONNECTION_REDIRECT_RECORDS gets MARK (ORed over the hops)
 * as its SO_MARK, so that the service's rule can let it through.
 */

#ifndef __WINE_SERVER_WFP_RULES_H
#define __WINE_SERVER_WFP_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "wfp_records.h"

#define WFP_MAX_RULES          256     /* rules and services each */
#define WFP_RULE_MAX_TEXT      512
#define WFP_RULE_MAX_NAME      64
#define WFP_RULE_MAX_IMAGE     64
#define WFP_DEFAULT_MARK       0x1000  /* for netfilter services nobody configured */

enum wfp_context_layout
{
    WFP_CONTEXT_SOCKADDR_PAIR,   /* WFPSampler's SOCKADDR_STORAGE[2] */
    WFP_CONTEXT_NONE,
};

struct wfp_rule
{
    char     name[WFP_RULE_MAX_NAME];
    uint8_t  protocol;           /* IPPROTO_TCP or IPPROTO_UDP */
    uint8_t  family;             /* 4 or 6; 0 for any destination */
    uint8_t  prefix_len;
    uint8_t  addr[16];
    uint16_t port_min, port_max;
    struct wfp_endpoint redirect_to;
    uint16_t service_id;
    uint32_t target_pid;         /* 0: none */
    char     target_image[WFP_RULE_MAX_IMAGE];   /* lower case, "" for none */
    enum wfp_context_layout context;
};

struct wfp_service
{
    uint16_t port;
    uint32_t mark;
};

extern int wfp_rule_parse( const char *name, const char *text, struct wfp_rule *rule,
                           char *error, size_t error_size );
extern int wfp_rule_format( const struct wfp_rule *rule, char *text, size_t size );
extern int wfp_rule_matches( const struct wfp_rule *rule, uint8_t protocol, const struct wfp_endpoint *dst );
extern int wfp_service_parse( const char *text, struct wfp_service *service, char *error, size_t error_size );
extern int wfp_records_have_service( const struct wfp_records *records, uint8_t kind, uint16_t service_id );
extern int wfp_endpoint_parse( const char *text, struct wfp_endpoint *endpoint );
extern int wfp_endpoint_format( const struct wfp_endpoint *endpoint, char *text, size_t size );

#endif /* __WINE_SERVER_WFP_RULES_H */
