/*
 * wfpcalloutctl: configure the sample connect-redirect driver
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
 * usage: wfpcalloutctl NAME add DESTINATION PROXY [pid=N | target=N] [hostile=KIND]
 *        wfpcalloutctl NAME clear
 *        wfpcalloutctl NAME info
 *
 * NAME is the driver's service.  DESTINATION is ADDRESS:PORT, [IPV6]:PORT
 * or *:PORT (any address, IPv4) or [*]:PORT (any address, IPv6), port 0
 * for any port; PROXY is
 * ADDRESS:PORT in the same family.  pid=N is the proxy's process id
 * (localRedirectTargetPID, which a redirection to a loopback address
 * needs): its own connections are left alone.  target=N only sets
 * localRedirectTargetPID, for a process that is its own proxy's client.
 * hostile=family|context|pointer|crash|pend makes the driver misbehave
 * that way for the rule, for the robustness tests; hostile=rotate takes
 * the first four in turn.
 */

#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wfpcallout.h"

static int parse( const char *text, int *family, unsigned char *addr, unsigned char *addr_len, unsigned short *port )
{
    char host[64];
    const char *colon;
    size_t len;

    if (text[0] == '[')
    {
        const char *end = strchr( text, ']' );
        if (!end || end[1] != ':' || (len = end - text - 1) >= sizeof(host)) return 0;
        memcpy( host, text + 1, len );
        host[len] = 0;
        colon = end + 1;
        *family = 6;
    }
    else
    {
        if (!(colon = strrchr( text, ':' )) || (len = colon - text) >= sizeof(host)) return 0;
        memcpy( host, text, len );
        host[len] = 0;
        *family = 4;
    }
    *port = atoi( colon + 1 );
    if (!strcmp( host, "*" ))
    {
        *addr_len = 0;
        return 1;
    }
    *addr_len = *family == 6 ? 16 : 4;
    return InetPtonA( *family == 6 ? AF_INET6 : AF_INET, host, addr ) == 1;
}

static void usage(void)
{
    fprintf( stderr, "usage: wfpcalloutctl NAME add DESTINATION PROXY [pid=N | target=N] [hostile=KIND]\n"
                     "       wfpcalloutctl NAME clear\n"
                     "       wfpcalloutctl NAME info\n" );
    exit( 2 );
}

int main( int argc, char **argv )
{
    char path[128];
    HANDLE device;
    DWORD size;

    if (argc < 3) usage();
    snprintf( path, sizeof(path), "\\\\.\\%s", argv[1] );
    device = CreateFileA( path, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, 0, NULL );
    if (device == INVALID_HANDLE_VALUE)
    {
        fprintf( stderr, "wfpcalloutctl: cannot open %s (error %lu); is the driver started?\n", path,
                 GetLastError() );
        return 1;
    }

    if (!strcmp( argv[2], "add" ) && argc >= 5 && argc <= 7)
    {
        static const char *hostile[] = { "none", "family", "context", "pointer", "crash", "pend", "rotate" };
        int i, j;

        struct wfpcallout_rule rule;
        unsigned char proxy_len;
        int family, proxy_family;

        memset( &rule, 0, sizeof(rule) );
        if (!parse( argv[3], &family, rule.addr, &rule.addr_len, &rule.port ) ||
            !parse( argv[4], &proxy_family, rule.proxy_addr, &proxy_len, &rule.proxy_port ) ||
            family != proxy_family || !proxy_len || !rule.proxy_port)
        {
            fprintf( stderr, "wfpcalloutctl: bad address\n" );
            return 2;
        }
        rule.family = family;
        for (i = 5; i < argc; i++)
        {
            if (!strncmp( argv[i], "pid=", 4 )) rule.proxy_pid = strtoul( argv[i] + 4, NULL, 0 );
            else if (!strncmp( argv[i], "target=", 7 )) rule.target_pid = strtoul( argv[i] + 7, NULL, 0 );
            else if (!strncmp( argv[i], "hostile=", 8 ))
            {
                for (j = 0; j <= WFPCALLOUT_HOSTILE_MAX; j++)
                    if (!strcmp( argv[i] + 8, hostile[j] )) rule.hostile = j;
                if (!rule.hostile) usage();
            }
            else usage();
        }
        if (!DeviceIoControl( device, IOCTL_WFPCALLOUT_ADD_RULE, &rule, sizeof(rule), NULL, 0, &size, NULL ))
        {
            fprintf( stderr, "wfpcalloutctl: the driver refused the rule (error %lu)\n", GetLastError() );
            return 1;
        }
        printf( "wfpcalloutctl: %s: %s -> %s\n", argv[1], argv[3], argv[4] );
    }
    else if (!strcmp( argv[2], "clear" ) && argc == 3)
    {
        if (!DeviceIoControl( device, IOCTL_WFPCALLOUT_CLEAR, NULL, 0, NULL, 0, &size, NULL ))
        {
            fprintf( stderr, "wfpcalloutctl: error %lu\n", GetLastError() );
            return 1;
        }
    }
    else if (!strcmp( argv[2], "info" ) && argc == 3)
    {
        struct wfpcallout_info info;

        if (!DeviceIoControl( device, IOCTL_WFPCALLOUT_INFO, NULL, 0, &info, sizeof(info), &size, NULL ))
        {
            fprintf( stderr, "wfpcalloutctl: error %lu\n", GetLastError() );
            return 1;
        }
        printf( "instance=%u rules=%u classified=%u redirected=%u left_alone=%u\n", info.instance, info.rules,
                info.classified, info.redirected, info.left_alone );
    }
    else usage();
    CloseHandle( device );
    return 0;
}
