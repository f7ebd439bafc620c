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

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wfp_rules.h"

static int bad( char *error, size_t error_size, const char *format, ... )
{
    va_list args;

    va_start( args, format );
    vsnprintf( error, error_size, format, args );
    va_end( args );
    return 0;
}

static int parse_number( const char **p, unsigned long max, unsigned long *value )
{
    const char *s = *p;
    unsigned long v = 0;
    int base = 10;

    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && s[2]) { base = 16; s += 2; }
    if (!*s) return 0;
    for (; *s; s++)
    {
        int digit;
        if (*s >= '0' && *s <= '9') digit = *s - '0';
        else if (base == 16 && *s >= 'a' && *s <= 'f') digit = *s - 'a' + 10;
        else if (base == 16 && *s >= 'A' && *s <= 'F') digit = *s - 'A' + 10;
        else break;
        if (v > (max - digit) / base) return 0;
        v = v * base + digit;
    }
    if (s == *p) return 0;
    *p = s;
    *value = v;
    return 1;
}

static int parse_ipv4( const char *s, size_t len, uint8_t addr[4] )
{
    unsigned int i = 0, value = 0, digits = 0;
    size_t pos;

    for (pos = 0; pos <= len; pos++)
    {
        if (pos == len || s[pos] == '.')
        {
            if (!digits || i > 3) return 0;
            addr[i++] = value;
            value = digits = 0;
            continue;
        }
        if (s[pos] < '0' || s[pos] > '9' || digits == 3) return 0;
        if (digits == 1 && value == 0) return 0;   /* no leading zeros: not octal */
        value = value * 10 + s[pos] - '0';
        if (value > 255) return 0;
        digits++;
    }
    return i == 4;
}

static int hex_digit( char c )
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* RFC 4291 text form, including :: and a trailing dotted IPv4 part */
static int parse_ipv6( const char *s, size_t len, uint8_t addr[16] )
{
    uint16_t words[8];
    int count = 0, gap = -1;
    size_t pos = 0;

    if (len >= 2 && s[0] == ':' && s[1] == ':') { gap = 0; pos = 2; }
    else if (len && s[0] == ':') return 0;

    while (pos < len)
    {
        size_t start = pos, end;
        unsigned int value = 0;

        for (end = pos; end < len && s[end] != ':'; end++) ;
        if (end < len || !memchr( s + start, '.', end - start ))
        {
            if (end == start || end - start > 4 || count == 8) return 0;
            for (; pos < end; pos++)
            {
                int d = hex_digit( s[pos] );
                if (d < 0) return 0;
                value = value << 4 | d;
            }
            words[count++] = value;
        }
        else
        {
            uint8_t v4[4];
            if (count > 6 || !parse_ipv4( s + start, end - start, v4 )) return 0;
            words[count++] = v4[0] << 8 | v4[1];
            words[count++] = v4[2] << 8 | v4[3];
            pos = end;
        }
        if (pos == len) break;
        pos++;   /* the ':' */
        if (pos < len && s[pos] == ':')
        {
            if (gap >= 0) return 0;
            gap = count;
            pos++;
        }
        else if (pos == len) return 0;   /* a trailing single ':' */
    }

    if (gap < 0 && count != 8) return 0;
    if (gap >= 0 && count > 7) return 0;
    memset( addr, 0, 16 );
    if (gap < 0) gap = count;
    {
        int i, tail = count - gap;
        for (i = 0; i < gap; i++) { addr[2 * i] = words[i] >> 8; addr[2 * i + 1] = words[i]; }
        for (i = 0; i < tail; i++)
        {
            addr[16 - 2 * tail + 2 * i] = words[gap + i] >> 8;
            addr[16 - 2 * tail + 2 * i + 1] = words[gap + i];
        }
    }
    return 1;
}

/* Parse "ADDRESS:PORT" or "[ADDRESS]:PORT". */
int wfp_endpoint_parse( const char *text, struct wfp_endpoint *endpoint )
{
    const char *colon, *p;
    unsigned long port;

    memset( endpoint, 0, sizeof(*endpoint) );
    if (text[0] == '[')
    {
        const char *close = strchr( text, ']' );
        if (!close || close[1] != ':' || !parse_ipv6( text + 1, close - text - 1, endpoint->addr )) return 0;
        endpoint->family = 6;
        p = close + 2;
    }
    else
    {
        if (!(colon = strrchr( text, ':' )) || !parse_ipv4( text, colon - text, endpoint->addr )) return 0;
        endpoint->family = 4;
        p = colon + 1;
    }
    if (!parse_number( &p, 65535, &port ) || *p || !port) return 0;
    endpoint->port = port;
    return 1;
}

int wfp_endpoint_format( const struct wfp_endpoint *endpoint, char *text, size_t size )
{
    const uint8_t *a = endpoint->addr;

    if (endpoint->family == 4)
        return snprintf( text, size, "%u.%u.%u.%u:%u", a[0], a[1], a[2], a[3], endpoint->port ) < (int)size;
    return snprintf( text, size, "[%x:%x:%x:%x:%x:%x:%x:%x]:%u",
                     a[0] << 8 | a[1], a[2] << 8 | a[3], a[4] << 8 | a[5], a[6] << 8 | a[7],
                     a[8] << 8 | a[9], a[10] << 8 | a[11], a[12] << 8 | a[13], a[14] << 8 | a[15],
                     endpoint->port ) < (int)size;
}

static int parse_ports( const char *s, struct wfp_rule *rule )
{
    unsigned long lo, hi;

    if (!parse_number( &s, 65535, &lo ) || !lo) return 0;
    hi = lo;
    if (*s == '-')
    {
        s++;
        if (!parse_number( &s, 65535, &hi ) || hi < lo) return 0;
    }
    if (*s) return 0;
    rule->port_min = lo;
    rule->port_max = hi;
    return 1;
}

static int parse_prefix( const char *s, size_t len, unsigned int max, uint8_t *prefix_len )
{
    unsigned long value;
    char buffer[8];

    if (!len || len >= sizeof(buffer)) return 0;
    memcpy( buffer, s, len );
    buffer[len] = 0;
    s = buffer;
    if (!parse_number( &s, max, &value ) || *s || (buffer[0] == '0' && buffer[1])) return 0;
    *prefix_len = value;
    return 1;
}

/* ADDRESS[/PREFIX][:PORTS], [ADDRESS[/PREFIX]][:PORTS], ADDRESS6[/PREFIX] or *[:PORTS] */
static int parse_destination( const char *s, struct wfp_rule *rule )
{
    const char *addr_end, *ports = NULL, *slash;
    size_t addr_len;

    rule->port_min = 1;
    rule->port_max = 65535;

    if (s[0] == '*')
    {
        rule->family = 0;
        if (s[1] == ':') ports = s + 2;
        else if (s[1]) return 0;
        return !ports || parse_ports( ports, rule );
    }

    if (s[0] == '[')
    {
        if (!(addr_end = strchr( s, ']' ))) return 0;
        if (addr_end[1] == ':') ports = addr_end + 2;
        else if (addr_end[1]) return 0;
        s++;
        rule->family = 6;
    }
    else if (strchr( s, '.' ) && !strchr( s, '[' ) && (strchr( s, ':' ) == strrchr( s, ':' )))
    {
        /* IPv4; a single colon separates the ports */
        addr_end = strchr( s, ':' );
        if (addr_end) ports = addr_end + 1;
        else addr_end = s + strlen( s );
        rule->family = 4;
    }
    else
    {
        addr_end = s + strlen( s );   /* bare IPv6, all ports */
        rule->family = 6;
    }

    addr_len = addr_end - s;
    if ((slash = memchr( s, '/', addr_len )))
    {
        if (!parse_prefix( slash + 1, addr_end - slash - 1, rule->family == 4 ? 32 : 128, &rule->prefix_len ))
            return 0;
        addr_len = slash - s;
    }
    else rule->prefix_len = rule->family == 4 ? 32 : 128;

    if (rule->family == 4 ? !parse_ipv4( s, addr_len, rule->addr ) : !parse_ipv6( s, addr_len, rule->addr ))
        return 0;
    return !ports || parse_ports( ports, rule );
}

static int parse_image( const char *s, char *image )
{
    size_t i, len = strlen( s );

    if (!len || len >= WFP_RULE_MAX_IMAGE) return 0;
    for (i = 0; i < len; i++)
    {
        char c = s[i];
        if (c >= 'A' && c <= 'Z') c += 'a' - 'A';
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-')) return 0;
        image[i] = c;
    }
    image[len] = 0;
    return 1;
}

static int parse_option( const char *s, struct wfp_rule *rule, char *error, size_t error_size )
{
    unsigned long value;
    const char *p;

    if (!strncmp( s, "service=", 8 ))
    {
        p = s + 8;
        if (!parse_number( &p, 65535, &value ) || *p || !value)
            return bad( error, error_size, "service must be a number from 1 to 65535: '%s'", s );
        rule->service_id = value;
        return 1;
    }
    if (!strncmp( s, "target=pid:", 11 ))
    {
        p = s + 11;
        if (!parse_number( &p, 0xffffffff, &value ) || *p || !value)
            return bad( error, error_size, "bad process id in '%s'", s );
        rule->target_pid = value;
        return 1;
    }
    if (!strncmp( s, "target=", 7 ))
    {
        if (!parse_image( s + 7, rule->target_image ))
            return bad( error, error_size, "target must be an image name like proxy.exe or pid:N: '%s'", s );
        return 1;
    }
    if (!strcmp( s, "context=default" )) { rule->context = WFP_CONTEXT_SOCKADDR_PAIR; return 1; }
    if (!strcmp( s, "context=none" )) { rule->context = WFP_CONTEXT_NONE; return 1; }
    return bad( error, error_size, "unknown option '%s' (service=, target=, context=)", s );
}

int wfp_rule_parse( const char *name, const char *text, struct wfp_rule *rule, char *error, size_t error_size )
{
    char buffer[WFP_RULE_MAX_TEXT], *words[16], *save = NULL, *w;
    unsigned int count = 0, i;

    memset( rule, 0, sizeof(*rule) );
    if (!name || !*name || strlen( name ) >= WFP_RULE_MAX_NAME)
        return bad( error, error_size, "a rule needs a name of 1 to %u characters", WFP_RULE_MAX_NAME - 1 );
    strcpy( rule->name, name );
    if (strlen( text ) >= sizeof(buffer)) return bad( error, error_size, "the rule is too long" );
    strcpy( buffer, text );

    for (w = strtok_r( buffer, " \t", &save ); w; w = strtok_r( NULL, " \t", &save ))
    {
        if (count == sizeof(words) / sizeof(words[0])) return bad( error, error_size, "too many words" );
        words[count++] = w;
    }
    if (count < 4 || strcmp( words[2], "->" ))
        return bad( error, error_size, "expected 'tcp|udp DESTINATION -> ADDRESS:PORT [options]'" );
    if (!strcmp( words[0], "tcp" )) rule->protocol = 6;
    else if (!strcmp( words[0], "udp" )) rule->protocol = 17;
    else return bad( error, error_size, "unknown protocol '%s' (tcp or udp)", words[0] );
    if (!parse_destination( words[1], rule ))
        return bad( error, error_size, "bad destination '%s' (ADDRESS[/PREFIX][:PORT[-PORT]] or *[:PORT])", words[1] );
    if (!wfp_endpoint_parse( words[3], &rule->redirect_to ))
        return bad( error, error_size, "bad redirect target '%s' (ADDRESS:PORT or [ADDRESS]:PORT)", words[3] );
    if (rule->family && rule->family != rule->redirect_to.family)
        return bad( error, error_size, "the destination and the redirect target must be of one address family" );
    for (i = 4; i < count; i++)
        if (!parse_option( words[i], rule, error, error_size )) return 0;
    if (!rule->service_id) rule->service_id = rule->redirect_to.port;
    return 1;
}

int wfp_rule_format( const struct wfp_rule *rule, char *text, size_t size )
{
    char dest[80], target[80], options[128] = "";
    size_t len;

    if (!rule->family) strcpy( dest, "*" );
    else if (rule->family == 4)
        snprintf( dest, sizeof(dest), "%u.%u.%u.%u/%u", rule->addr[0], rule->addr[1], rule->addr[2],
                  rule->addr[3], rule->prefix_len );
    else
    {
        struct wfp_endpoint ep;
        char *p;
        memset( &ep, 0, sizeof(ep) );
        ep.family = 6;
        memcpy( ep.addr, rule->addr, 16 );
        ep.port = 1;
        wfp_endpoint_format( &ep, dest, sizeof(dest) );
        p = strrchr( dest, ']' );
        snprintf( p, sizeof(dest) - (p - dest), "/%u]", rule->prefix_len );
    }
    len = strlen( dest );
    if (rule->port_min != 1 || rule->port_max != 65535)
    {
        if (rule->port_min == rule->port_max) snprintf( dest + len, sizeof(dest) - len, ":%u", rule->port_min );
        else snprintf( dest + len, sizeof(dest) - len, ":%u-%u", rule->port_min, rule->port_max );
    }
    wfp_endpoint_format( &rule->redirect_to, target, sizeof(target) );

    if (rule->target_pid) snprintf( options, sizeof(options), " target=pid:%u", rule->target_pid );
    else if (rule->target_image[0]) snprintf( options, sizeof(options), " target=%s", rule->target_image );
    if (rule->context == WFP_CONTEXT_NONE) strncat( options, " context=none", sizeof(options) - strlen( options ) - 1 );

    return snprintf( text, size, "%s %s -> %s service=%u%s", rule->protocol == 17 ? "udp" : "tcp", dest, target,
                     rule->service_id, options ) < (int)size;
}

int wfp_rule_matches( const struct wfp_rule *rule, uint8_t protocol, const struct wfp_endpoint *dst )
{
    unsigned int bytes, bits;

    if (protocol != rule->protocol) return 0;
    if (dst->port < rule->port_min || dst->port > rule->port_max) return 0;
    if (!rule->family) return 1;
    if (dst->family != rule->family) return 0;
    bytes = rule->prefix_len / 8;
    bits = rule->prefix_len % 8;
    if (memcmp( dst->addr, rule->addr, bytes )) return 0;
    if (bits && (dst->addr[bytes] ^ rule->addr[bytes]) & (0xff00 >> bits)) return 0;
    return 1;
}

int wfp_service_parse( const char *text, struct wfp_service *service, char *error, size_t error_size )
{
    char buffer[128], *w, *save = NULL;
    unsigned long value;
    int have_port = 0, have_mark = 0;
    const char *p;

    memset( service, 0, sizeof(*service) );
    if (strlen( text ) >= sizeof(buffer)) return bad( error, error_size, "the service is too long" );
    strcpy( buffer, text );
    for (w = strtok_r( buffer, " \t", &save ); w; w = strtok_r( NULL, " \t", &save ))
    {
        if (!strncmp( w, "port=", 5 ) && (p = w + 5) && parse_number( &p, 65535, &value ) && !*p && value)
        {
            service->port = value;
            have_port = 1;
        }
        else if (!strncmp( w, "mark=", 5 ) && (p = w + 5) && parse_number( &p, 0xffffffff, &value ) && !*p && value)
        {
            service->mark = value;
            have_mark = 1;
        }
        else return bad( error, error_size, "expected 'port=PORT mark=MARK', got '%s'", w );
    }
    if (!have_port || !have_mark) return bad( error, error_size, "a service needs port= and mark=" );
    return 1;
}

int wfp_records_have_service( const struct wfp_records *records, uint8_t kind, uint16_t service_id )
{
    unsigned int i;

    for (i = 0; i < records->hop_count; i++)
        if (records->hops[i].service_kind == kind && records->hops[i].service_id == service_id) return 1;
    return 0;
}
