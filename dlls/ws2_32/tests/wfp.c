/*
 * Unit tests for the WFP connection redirect ioctls and socket options
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
 * Where Microsoft's pages contradict themselves these tests follow the
 * decisions that the wine-wfp README states (buffer too small: WSAEFAULT
 * with the required size; a connection that was not redirected:
 * WSAEINVAL, as shipped proxies such as rama expect; records but no
 * context: FWP_E_NOT_FOUND, as WFPSampler expects; SET after connect:
 * WSAEISCONN).
 *
 * A redirected connection needs a redirector.  On Windows that is a WFP
 * callout; under Wine it is a netfilter rule.  WFP_TEST_REDIRECT names one:
 * "V4ADDR V6ADDR ORIGPORT PROXYPORT" means that TCP connections to
 * V4ADDR:ORIGPORT and [V6ADDR]:ORIGPORT reach a listener on the loopback
 * PROXYPORT.  Without it the redirected cases are skipped.
 */

#include <ntstatus.h>
#define WIN32_NO_STATUS
#include <winsock2.h>
#include <windows.h>
#include <winternl.h>
#include <ws2tcpip.h>
#include <mswsock.h>
#include <mstcpip.h>
#include <stdio.h>
#include "wine/test.h"

#define CONTEXT_SIZE (2 * sizeof(SOCKADDR_STORAGE))

static struct
{
    BOOL enabled;
    struct sockaddr_in orig4;
    struct sockaddr_in6 orig6;
    unsigned short proxy_port;
} redirect;

static void read_redirect_config(void)
{
    char text[256], v4[64], v6[64];
    unsigned int orig_port, proxy_port;
    int len;

    if (!GetEnvironmentVariableA("WFP_TEST_REDIRECT", text, sizeof(text))) return;
    if (sscanf(text, "%63s %63s %u %u", v4, v6, &orig_port, &proxy_port) != 4)
    {
        ok(0, "cannot parse WFP_TEST_REDIRECT=%s\n", text);
        return;
    }
    len = sizeof(redirect.orig4);
    if (WSAStringToAddressA(v4, AF_INET, NULL, (struct sockaddr *)&redirect.orig4, &len)) return;
    len = sizeof(redirect.orig6);
    if (WSAStringToAddressA(v6, AF_INET6, NULL, (struct sockaddr *)&redirect.orig6, &len)) return;
    redirect.orig4.sin_port = redirect.orig6.sin6_port = htons(orig_port);
    redirect.proxy_port = proxy_port;
    redirect.enabled = TRUE;
}

static void loopback_addr(int family, unsigned short port, SOCKADDR_STORAGE *addr, int *len)
{
    memset(addr, 0, sizeof(*addr));
    if (family == AF_INET)
    {
        struct sockaddr_in *in = (struct sockaddr_in *)addr;
        in->sin_family = AF_INET;
        in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        in->sin_port = htons(port);
        *len = sizeof(*in);
    }
    else
    {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)addr;
        in6->sin6_family = AF_INET6;
        in6->sin6_addr.s6_addr[15] = 1;
        in6->sin6_port = htons(port);
        *len = sizeof(*in6);
    }
}

static SOCKET listen_on(int family, unsigned short port)
{
    SOCKADDR_STORAGE addr;
    SOCKET s;
    int len, ret;

    s = WSASocketW(family, SOCK_STREAM, IPPROTO_TCP, NULL, 0, WSA_FLAG_OVERLAPPED);
    ok(s != INVALID_SOCKET, "socket failed, error %u\n", WSAGetLastError());
    loopback_addr(family, port, &addr, &len);
    ret = bind(s, (struct sockaddr *)&addr, len);
    ok(!ret, "bind failed, error %u\n", WSAGetLastError());
    ret = listen(s, 16);
    ok(!ret, "listen failed, error %u\n", WSAGetLastError());
    return s;
}

/* A connected pair: *client connected to *target, *server accepted from listener. */
static void connect_pair(SOCKET listener, const struct sockaddr *target, int target_len,
                         SOCKET *client, SOCKET *server)
{
    int ret;

    *client = WSASocketW(target->sa_family, SOCK_STREAM, IPPROTO_TCP, NULL, 0, WSA_FLAG_OVERLAPPED);
    ok(*client != INVALID_SOCKET, "socket failed, error %u\n", WSAGetLastError());
    ret = connect(*client, target, target_len);
    ok(!ret, "connect failed, error %u\n", WSAGetLastError());
    *server = accept(listener, NULL, NULL);
    ok(*server != INVALID_SOCKET, "accept failed, error %u\n", WSAGetLastError());
}

/* A plain loopback connection, which nothing redirected. */
static void plain_pair(int family, SOCKET *client, SOCKET *server)
{
    SOCKADDR_STORAGE addr;
    SOCKET listener;
    int len;

    listener = listen_on(family, 0);
    len = sizeof(addr);
    getsockname(listener, (struct sockaddr *)&addr, &len);
    connect_pair(listener, (struct sockaddr *)&addr, len, client, server);
    closesocket(listener);
}

/* A connection to the original destination that the redirector sent to
 * our listener; returns FALSE if there is no redirector. */
static BOOL redirected_pair(int family, SOCKET *client, SOCKET *server)
{
    SOCKET listener;

    if (!redirect.enabled) return FALSE;
    listener = listen_on(family, redirect.proxy_port);
    if (family == AF_INET)
        connect_pair(listener, (struct sockaddr *)&redirect.orig4, sizeof(redirect.orig4), client, server);
    else
        connect_pair(listener, (struct sockaddr *)&redirect.orig6, sizeof(redirect.orig6), client, server);
    closesocket(listener);
    return TRUE;
}

static int query(SOCKET s, DWORD code, void *out, DWORD out_size, DWORD *size)
{
    *size = 0xdeadbeef;
    WSASetLastError(0xdeadbeef);
    return WSAIoctl(s, code, NULL, 0, out, out_size, size, NULL, NULL);
}

static int set_records(SOCKET s, const void *records, DWORD records_size, DWORD *size)
{
    *size = 0xdeadbeef;
    WSASetLastError(0xdeadbeef);
    return WSAIoctl(s, SIO_SET_WFP_CONNECTION_REDIRECT_RECORDS, (void *)records, records_size, NULL, 0,
                    size, NULL, NULL);
}

/* a page that any access faults on */
static void *noaccess_page(void)
{
    return VirtualAlloc(NULL, 4096, MEM_RESERVE | MEM_COMMIT, PAGE_NOACCESS);
}

static void test_constants(void)
{
    ok(SIO_QUERY_WFP_CONNECTION_REDIRECT_RECORDS == 0x980000dc, "got %#x\n", SIO_QUERY_WFP_CONNECTION_REDIRECT_RECORDS);
    ok(SIO_QUERY_WFP_CONNECTION_REDIRECT_CONTEXT == 0x980000dd, "got %#x\n", SIO_QUERY_WFP_CONNECTION_REDIRECT_CONTEXT);
    ok(SIO_SET_WFP_CONNECTION_REDIRECT_RECORDS == 0x980000de, "got %#x\n", SIO_SET_WFP_CONNECTION_REDIRECT_RECORDS);
    ok(SIO_QUERY_WFP_ALE_ENDPOINT_HANDLE == 0x580000cd, "got %#x\n", SIO_QUERY_WFP_ALE_ENDPOINT_HANDLE);
    ok(SOL_IP == 0xfffb, "got %#x\n", SOL_IP);
    ok(SOL_IPV6 == 0xfffa, "got %#x\n", SOL_IPV6);
    ok(SO_ORIGINAL_DST == 0x300f, "got %#x\n", SO_ORIGINAL_DST);
    ok(IP6T_SO_ORIGINAL_DST == SO_ORIGINAL_DST, "got %#x\n", IP6T_SO_ORIGINAL_DST);
    ok(FWP_E_NOT_FOUND == 0x80320008, "got %#lx\n", FWP_E_NOT_FOUND);
}

/* QUERY_RECORDS and QUERY_CONTEXT on every kind of socket that has no
 * redirect records, and with bad arguments. */
static void test_query_errors(void)
{
    static const DWORD codes[] =
    {
        SIO_QUERY_WFP_CONNECTION_REDIRECT_RECORDS,
        SIO_QUERY_WFP_CONNECTION_REDIRECT_CONTEXT,
    };
    SOCKET tcp, listener, udp, client, server, raw;
    char buffer[2048];
    HANDLE event, file;
    OVERLAPPED *bad_ovl;
    unsigned int i;
    void *noaccess;
    DWORD size;
    int ret;

    noaccess = noaccess_page();
    event = CreateEventW(NULL, FALSE, FALSE, NULL);
    file = CreateFileA("wfp_test.tmp", GENERIC_READ | GENERIC_WRITE, 0, NULL, CREATE_ALWAYS,
                       FILE_FLAG_DELETE_ON_CLOSE, NULL);
    ok(file != INVALID_HANDLE_VALUE, "CreateFile failed, error %lu\n", GetLastError());

    for (i = 0; i < ARRAY_SIZE(codes); i++)
    {
        winetest_push_context("code %#lx", codes[i]);

        tcp = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
        ret = WSAIoctl(tcp, codes[i], NULL, 0, buffer, sizeof(buffer), NULL, NULL, NULL);
        ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAEFAULT, "NULL size: got %d, error %u\n", ret, WSAGetLastError());

        ret = query(tcp, codes[i], buffer, sizeof(buffer), &size);
        ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAENOTCONN, "unconnected: got %d, error %u\n", ret, WSAGetLastError());
        ok(!size, "unconnected: got size %lu\n", size);

        ret = WSAIoctl(tcp, codes[i], NULL, 0, buffer, sizeof(buffer), noaccess, NULL, NULL);
        ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAEFAULT, "bad size pointer: got %d, error %u\n", ret, WSAGetLastError());
        bad_ovl = noaccess;
        ret = WSAIoctl(tcp, codes[i], NULL, 0, buffer, sizeof(buffer), &size, bad_ovl, NULL);
        ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAEFAULT, "bad overlapped: got %d, error %u\n", ret, WSAGetLastError());
        closesocket(tcp);

        ret = query(tcp, codes[i], buffer, sizeof(buffer), &size);
        ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAENOTSOCK, "closed: got %d, error %u\n", ret, WSAGetLastError());
        ret = query(INVALID_SOCKET, codes[i], buffer, sizeof(buffer), &size);
        ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAENOTSOCK, "invalid: got %d, error %u\n", ret, WSAGetLastError());
        ret = query((SOCKET)event, codes[i], buffer, sizeof(buffer), &size);
        ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAENOTSOCK, "event: got %d, error %u\n", ret, WSAGetLastError());
        ret = query((SOCKET)file, codes[i], buffer, sizeof(buffer), &size);
        ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAENOTSOCK, "file: got %d, error %u\n", ret, WSAGetLastError());

        listener = listen_on(AF_INET, 0);
        ret = query(listener, codes[i], buffer, sizeof(buffer), &size);
        ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAENOTCONN, "listening: got %d, error %u\n", ret, WSAGetLastError());
        closesocket(listener);

        udp = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
        ret = query(udp, codes[i], buffer, sizeof(buffer), &size);
        ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAENOPROTOOPT, "udp: got %d, error %u\n", ret, WSAGetLastError());
        closesocket(udp);

        raw = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
        if (raw != INVALID_SOCKET)
        {
            ret = query(raw, codes[i], buffer, sizeof(buffer), &size);
            ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAENOPROTOOPT, "raw: got %d, error %u\n", ret, WSAGetLastError());
            closesocket(raw);
        }

        /* connected, but nothing redirected it: neither end has records */
        plain_pair(AF_INET, &client, &server);
        ret = query(server, codes[i], buffer, sizeof(buffer), &size);
        ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAEINVAL, "accepted: got %d, error %#x\n", ret, WSAGetLastError());
        ok(!size, "accepted: got size %lu\n", size);
        ret = query(client, codes[i], buffer, sizeof(buffer), &size);
        ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAEINVAL, "client: got %d, error %#x\n", ret, WSAGetLastError());
        ok(!size, "client: got size %lu\n", size);
        ret = query(server, codes[i], NULL, 0, &size);
        ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAEINVAL, "size query: got %d, error %#x\n", ret, WSAGetLastError());
        ok(!size, "size query: got size %lu\n", size);
        ret = query(server, codes[i], buffer, 128, &size);
        ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAEINVAL, "128 bytes: got %d, error %#x\n", ret, WSAGetLastError());
        ok(!size, "128 bytes: got size %lu\n", size);
        closesocket(client);
        closesocket(server);

        plain_pair(AF_INET6, &client, &server);
        ret = query(server, codes[i], buffer, sizeof(buffer), &size);
        ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAEINVAL, "IPv6: got %d, error %#x\n", ret, WSAGetLastError());
        ok(!size, "IPv6: got size %lu\n", size);
        closesocket(client);
        closesocket(server);

        winetest_pop_context();
    }

    CloseHandle(file);
    CloseHandle(event);
    VirtualFree(noaccess, 0, MEM_RELEASE);
}

static void test_set_errors(void)
{
    static const char garbage[] = "this is not a redirect record blob, it is garbage that SET must refuse";
    SOCKET s, listener, client, server, udp;
    char big[65536 + 1];
    void *noaccess;
    HANDLE event;
    DWORD size;
    int ret;

    noaccess = noaccess_page();
    event = CreateEventW(NULL, FALSE, FALSE, NULL);
    memset(big, 0, sizeof(big));

    s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    ret = set_records(s, garbage, 0, &size);
    ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAEINVAL, "empty: got %d, error %u\n", ret, WSAGetLastError());
    ok(!size, "got size %lu\n", size);
    ret = set_records(s, NULL, 0, &size);
    ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAEINVAL, "NULL, 0: got %d, error %u\n", ret, WSAGetLastError());
    ret = set_records(s, NULL, 16, &size);
    ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAEFAULT, "NULL, 16: got %d, error %u\n", ret, WSAGetLastError());
    ret = set_records(s, noaccess, 16, &size);
    ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAEFAULT, "no access: got %d, error %u\n", ret, WSAGetLastError());
    /* Whether Windows looks into the blob is not known: the records are
     * opaque to programs.  A redirector that makes them refuses what it
     * did not make; without one they are kept as they are. */
    ret = set_records(s, garbage, sizeof(garbage), &size);
    if (redirect.enabled)
        ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAEINVAL, "garbage: got %d, error %u\n", ret, WSAGetLastError());
    else
        ok(!ret || WSAGetLastError() == WSAEINVAL, "garbage: got %d, error %u\n", ret, WSAGetLastError());
    ok(!size, "got size %lu\n", size);
    ret = set_records(s, garbage, 3, &size);
    if (redirect.enabled)
        ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAEINVAL, "3 bytes: got %d, error %u\n", ret, WSAGetLastError());
    else
        ok(!ret || WSAGetLastError() == WSAEINVAL, "3 bytes: got %d, error %u\n", ret, WSAGetLastError());
    ret = set_records(s, big, 65536, &size);
    if (redirect.enabled)
        ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAEINVAL, "64 KiB of zeroes: got %d, error %u\n", ret,
           WSAGetLastError());
    else
        ok(!ret || WSAGetLastError() == WSAEINVAL, "64 KiB of zeroes: got %d, error %u\n", ret, WSAGetLastError());
    ret = set_records(s, big, sizeof(big), &size);
    ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAEINVAL, "over the cap: got %d, error %u\n", ret, WSAGetLastError());
    ret = set_records(s, garbage, 0xffffffff, &size);
    ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAEINVAL, "4 GiB: got %d, error %u\n", ret, WSAGetLastError());
    ret = WSAIoctl(s, SIO_SET_WFP_CONNECTION_REDIRECT_RECORDS, (void *)garbage, sizeof(garbage), NULL, 0,
                   noaccess, NULL, NULL);
    ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAEFAULT, "bad size pointer: got %d, error %u\n", ret, WSAGetLastError());
    closesocket(s);

    ret = set_records(s, garbage, sizeof(garbage), &size);
    ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAENOTSOCK, "closed: got %d, error %u\n", ret, WSAGetLastError());
    ret = set_records((SOCKET)event, garbage, sizeof(garbage), &size);
    ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAENOTSOCK, "event: got %d, error %u\n", ret, WSAGetLastError());

    /* UDP flows carry records as control data, not through this ioctl */
    udp = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
    ret = set_records(udp, garbage, sizeof(garbage), &size);
    ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAEINVAL, "udp: got %d, error %u\n", ret, WSAGetLastError());
    closesocket(udp);

    listener = listen_on(AF_INET, 0);
    ret = set_records(listener, garbage, sizeof(garbage), &size);
    ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAEINVAL, "listening: got %d, error %u\n", ret, WSAGetLastError());
    closesocket(listener);

    /* the records must be in place before the connection is made */
    plain_pair(AF_INET, &client, &server);
    ret = set_records(client, garbage, sizeof(garbage), &size);
    ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAEISCONN, "connected: got %d, error %u\n", ret, WSAGetLastError());
    ret = set_records(server, garbage, sizeof(garbage), &size);
    ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAEISCONN, "accepted: got %d, error %u\n", ret, WSAGetLastError());
    closesocket(client);
    closesocket(server);

    CloseHandle(event);
    VirtualFree(noaccess, 0, MEM_RELEASE);
}

static void test_endpoint_handle(void)
{
    UINT64 handle, handle2, handle3;
    SOCKET s, s2, udp, dup;
    WSAPROTOCOL_INFOW info;
    char small[7];
    DWORD size;
    int ret;

    s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    ret = query(s, SIO_QUERY_WFP_ALE_ENDPOINT_HANDLE, NULL, sizeof(handle), &size);
    ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAEINVAL, "NULL: got %d, error %u\n", ret, WSAGetLastError());
    ret = query(s, SIO_QUERY_WFP_ALE_ENDPOINT_HANDLE, small, sizeof(small), &size);
    ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAEINVAL, "7 bytes: got %d, error %u\n", ret, WSAGetLastError());
    ret = query(s, SIO_QUERY_WFP_ALE_ENDPOINT_HANDLE, &handle, 0, &size);
    ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAEINVAL, "0 bytes: got %d, error %u\n", ret, WSAGetLastError());

    handle = 0;
    ret = query(s, SIO_QUERY_WFP_ALE_ENDPOINT_HANDLE, &handle, sizeof(handle), &size);
    ok(!ret, "got %d, error %u\n", ret, WSAGetLastError());
    ok(size == sizeof(handle), "got size %lu\n", size);
    ok(handle != 0, "got a zero handle\n");

    /* the same endpoint gives the same handle, another endpoint another one */
    ret = query(s, SIO_QUERY_WFP_ALE_ENDPOINT_HANDLE, &handle2, sizeof(handle2), &size);
    ok(!ret && handle2 == handle, "got %d, %s and %s\n", ret, wine_dbgstr_longlong(handle),
       wine_dbgstr_longlong(handle2));
    s2 = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    ret = query(s2, SIO_QUERY_WFP_ALE_ENDPOINT_HANDLE, &handle2, sizeof(handle2), &size);
    ok(!ret && handle2 != handle, "got %d, %s for both sockets\n", ret, wine_dbgstr_longlong(handle));
    udp = socket(AF_INET6, SOCK_DGRAM, IPPROTO_UDP);
    ret = query(udp, SIO_QUERY_WFP_ALE_ENDPOINT_HANDLE, &handle3, sizeof(handle3), &size);
    ok(!ret && handle3 != handle && handle3 != handle2, "udp: got %d, handle %s\n", ret, wine_dbgstr_longlong(handle3));

    /* a duplicated handle refers to the same endpoint */
    ret = WSADuplicateSocketW(s, GetCurrentProcessId(), &info);
    ok(!ret, "WSADuplicateSocket failed, error %u\n", WSAGetLastError());
    dup = WSASocketW(FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, &info, 0, 0);
    ok(dup != INVALID_SOCKET, "WSASocket failed, error %u\n", WSAGetLastError());
    ret = query(dup, SIO_QUERY_WFP_ALE_ENDPOINT_HANDLE, &handle2, sizeof(handle2), &size);
    ok(!ret && handle2 == handle, "duplicate: got %d, %s, expected %s\n", ret, wine_dbgstr_longlong(handle2),
       wine_dbgstr_longlong(handle));

    closesocket(dup);
    closesocket(udp);
    closesocket(s2);
    closesocket(s);
}

static unsigned int apc_calls;
static DWORD apc_error, apc_size;

static void WINAPI completion_routine(DWORD error, DWORD size, OVERLAPPED *overlapped, DWORD flags)
{
    apc_calls++;
    apc_error = error;
    apc_size = size;
}

/* The ioctls complete like every other socket ioctl: immediately, and
 * through whatever completion the caller asked for. */
static void test_delivery_modes(void)
{
    SOCKET s, client, server;
    OVERLAPPED ovl, *povl;
    ULONG_PTR key;
    HANDLE port;
    UINT64 handle;
    DWORD size;
    BOOL bret;
    int ret;

    /* overlapped, with an event */
    s = WSASocketW(AF_INET, SOCK_STREAM, IPPROTO_TCP, NULL, 0, WSA_FLAG_OVERLAPPED);
    memset(&ovl, 0, sizeof(ovl));
    ovl.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
    size = 0xdeadbeef;
    ret = WSAIoctl(s, SIO_QUERY_WFP_ALE_ENDPOINT_HANDLE, NULL, 0, &handle, sizeof(handle), &size, &ovl, NULL);
    ok(!ret, "got %d, error %u\n", ret, WSAGetLastError());
    ok(!WaitForSingleObject(ovl.hEvent, 1000), "the event was not signalled\n");
    size = 0;
    bret = WSAGetOverlappedResult(s, &ovl, &size, FALSE, NULL);
    ok(bret && size == sizeof(handle), "got %d, size %lu, error %u\n", bret, size, WSAGetLastError());

    /* a synchronous failure posts no completion */
    ResetEvent(ovl.hEvent);
    ret = WSAIoctl(s, SIO_QUERY_WFP_CONNECTION_REDIRECT_RECORDS, NULL, 0, &handle, sizeof(handle), &size, &ovl, NULL);
    ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAENOTCONN, "got %d, error %u\n", ret, WSAGetLastError());
    ok(WaitForSingleObject(ovl.hEvent, 0) == WAIT_TIMEOUT, "the event was signalled\n");

    /* with a completion routine */
    apc_calls = 0;
    ret = WSAIoctl(s, SIO_QUERY_WFP_ALE_ENDPOINT_HANDLE, NULL, 0, &handle, sizeof(handle), &size, &ovl,
                   completion_routine);
    ok(!ret, "got %d, error %u\n", ret, WSAGetLastError());
    ok(!apc_calls, "the routine ran before an alertable wait\n");
    SleepEx(0, TRUE);
    ok(apc_calls == 1, "the routine ran %u times\n", apc_calls);
    ok(!apc_error && apc_size == sizeof(handle), "got error %lu, size %lu\n", apc_error, apc_size);

    apc_calls = 0;
    ret = WSAIoctl(s, SIO_QUERY_WFP_CONNECTION_REDIRECT_CONTEXT, NULL, 0, &handle, sizeof(handle), &size, &ovl,
                   completion_routine);
    ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAENOTCONN, "got %d, error %u\n", ret, WSAGetLastError());
    SleepEx(0, TRUE);
    ok(!apc_calls, "the routine ran after a synchronous failure\n");
    CloseHandle(ovl.hEvent);

    /* through a completion port */
    port = CreateIoCompletionPort((HANDLE)s, NULL, 0x1234, 0);
    ok(!!port, "CreateIoCompletionPort failed, error %lu\n", GetLastError());
    memset(&ovl, 0, sizeof(ovl));
    ret = WSAIoctl(s, SIO_QUERY_WFP_ALE_ENDPOINT_HANDLE, NULL, 0, &handle, sizeof(handle), &size, &ovl, NULL);
    ok(!ret, "got %d, error %u\n", ret, WSAGetLastError());
    size = 0xdeadbeef;
    key = 0;
    povl = NULL;
    bret = GetQueuedCompletionStatus(port, &size, &key, &povl, 1000);
    ok(bret, "no completion, error %lu\n", GetLastError());
    ok(povl == &ovl && key == 0x1234 && size == sizeof(handle), "got %p, key %#Ix, size %lu\n", povl, key, size);

    ret = WSAIoctl(s, SIO_QUERY_WFP_CONNECTION_REDIRECT_RECORDS, NULL, 0, &handle, sizeof(handle), &size, &ovl, NULL);
    ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAENOTCONN, "got %d, error %u\n", ret, WSAGetLastError());
    bret = GetQueuedCompletionStatus(port, &size, &key, &povl, 0);
    ok(!bret && GetLastError() == WAIT_TIMEOUT, "a synchronous failure posted a completion\n");

    /* FILE_SKIP_COMPLETION_PORT_ON_SUCCESS: nothing is queued on success */
    bret = SetFileCompletionNotificationModes((HANDLE)s, FILE_SKIP_COMPLETION_PORT_ON_SUCCESS);
    ok(bret, "SetFileCompletionNotificationModes failed, error %lu\n", GetLastError());
    ret = WSAIoctl(s, SIO_QUERY_WFP_ALE_ENDPOINT_HANDLE, NULL, 0, &handle, sizeof(handle), &size, &ovl, NULL);
    ok(!ret, "got %d, error %u\n", ret, WSAGetLastError());
    ok(size == sizeof(handle), "got size %lu\n", size);
    bret = GetQueuedCompletionStatus(port, &size, &key, &povl, 0);
    ok(!bret && GetLastError() == WAIT_TIMEOUT, "got a completion\n");
    closesocket(s);

    /* closing the socket after an overlapped query leaves its completion intact */
    if (redirected_pair(AF_INET, &client, &server))
    {
        char records[2048];

        CreateIoCompletionPort((HANDLE)server, port, 0x5678, 0);
        memset(&ovl, 0, sizeof(ovl));
        ret = WSAIoctl(server, SIO_QUERY_WFP_CONNECTION_REDIRECT_RECORDS, NULL, 0, records, sizeof(records),
                       &size, &ovl, NULL);
        ok(!ret, "got %d, error %u\n", ret, WSAGetLastError());
        closesocket(server);
        closesocket(client);
        bret = GetQueuedCompletionStatus(port, &size, &key, &povl, 1000);
        ok(bret && povl == &ovl && key == 0x5678, "got %d, %p, key %#Ix, error %lu\n", bret, povl, key, GetLastError());
        ok(size > 0 && size <= sizeof(records), "got size %lu\n", size);
    }
    else skip("closing a socket after an overlapped records query needs WFP_TEST_REDIRECT\n");

    /* and so does closing it right after an overlapped query that failed */
    s = WSASocketW(AF_INET, SOCK_STREAM, IPPROTO_TCP, NULL, 0, WSA_FLAG_OVERLAPPED);
    CreateIoCompletionPort((HANDLE)s, port, 0x9abc, 0);
    memset(&ovl, 0, sizeof(ovl));
    ret = WSAIoctl(s, SIO_QUERY_WFP_CONNECTION_REDIRECT_RECORDS, NULL, 0, &handle, sizeof(handle), &size, &ovl, NULL);
    ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAENOTCONN, "got %d, error %u\n", ret, WSAGetLastError());
    closesocket(s);
    bret = GetQueuedCompletionStatus(port, &size, &key, &povl, 100);
    ok(!bret && GetLastError() == WAIT_TIMEOUT, "got a completion for key %#Ix\n", key);

    CloseHandle(port);
}

static void check_sockaddr(const SOCKADDR_STORAGE *got, const struct sockaddr *expect, const char *what)
{
    if (expect->sa_family == AF_INET)
    {
        const struct sockaddr_in *in = (const struct sockaddr_in *)got, *ex = (const struct sockaddr_in *)expect;
        ok(in->sin_family == AF_INET, "%s: got family %u\n", what, in->sin_family);
        ok(in->sin_port == ex->sin_port, "%s: got port %u, expected %u\n", what, ntohs(in->sin_port), ntohs(ex->sin_port));
        ok(in->sin_addr.s_addr == ex->sin_addr.s_addr, "%s: got address %#lx, expected %#lx\n", what,
           ntohl(in->sin_addr.s_addr), ntohl(ex->sin_addr.s_addr));
    }
    else
    {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)got, *ex6 = (const struct sockaddr_in6 *)expect;
        ok(in6->sin6_family == AF_INET6, "%s: got family %u\n", what, in6->sin6_family);
        ok(in6->sin6_port == ex6->sin6_port, "%s: got port %u, expected %u\n", what, ntohs(in6->sin6_port),
           ntohs(ex6->sin6_port));
        ok(!memcmp(&in6->sin6_addr, &ex6->sin6_addr, sizeof(in6->sin6_addr)), "%s: wrong address\n", what);
    }
}

/* What a transparent proxy does with a connection a redirector sent it. */
static void test_redirected(int family)
{
    char records[2048], records2[2048], context[CONTEXT_SIZE + 16], tampered[2048];
    const struct sockaddr *orig;
    SOCKADDR_STORAGE local, dst;
    SOCKET client, server, out, dup, listener, c2, s2;
    WSAPROTOCOL_INFOW info;
    DWORD size, records_size, i, refused;
    int ret, len, level;

    winetest_push_context(family == AF_INET ? "IPv4" : "IPv6");
    if (!redirected_pair(family, &client, &server))
    {
        skip("no redirector: WFP_TEST_REDIRECT is not set ('make check' sets it up as root)\n");
        winetest_pop_context();
        return;
    }
    orig = family == AF_INET ? (struct sockaddr *)&redirect.orig4 : (struct sockaddr *)&redirect.orig6;
    len = sizeof(local);
    getsockname(client, (struct sockaddr *)&local, &len);

    /* the records */
    ret = query(server, SIO_QUERY_WFP_CONNECTION_REDIRECT_RECORDS, records, sizeof(records), &records_size);
    ok(!ret, "got %d, error %#x\n", ret, WSAGetLastError());
    ok(records_size && records_size <= sizeof(records), "got size %lu\n", records_size);
    ret = query(server, SIO_QUERY_WFP_CONNECTION_REDIRECT_RECORDS, records2, sizeof(records2), &size);
    ok(!ret && size == records_size && !memcmp(records, records2, size), "a second query gave other records\n");

    /* too small, or no buffer: WSAEFAULT and the size it takes */
    ret = query(server, SIO_QUERY_WFP_CONNECTION_REDIRECT_RECORDS, NULL, 0, &size);
    ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAEFAULT, "size query: got %d, error %u\n", ret, WSAGetLastError());
    ok(size == records_size, "size query: got %lu, expected %lu\n", size, records_size);
    ret = query(server, SIO_QUERY_WFP_CONNECTION_REDIRECT_RECORDS, records2, records_size - 1, &size);
    ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAEFAULT, "short buffer: got %d, error %u\n", ret, WSAGetLastError());
    ok(size == records_size, "short buffer: got %lu, expected %lu\n", size, records_size);
    ret = query(server, SIO_QUERY_WFP_CONNECTION_REDIRECT_RECORDS, records2, sizeof(ULONG), &size);
    ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAEFAULT, "ULONG buffer: got %d, error %u\n", ret, WSAGetLastError());
    ok(size == records_size, "ULONG buffer: got %lu, expected %lu\n", size, records_size);

    /* the client's own socket was not redirected to anybody */
    ret = query(client, SIO_QUERY_WFP_CONNECTION_REDIRECT_RECORDS, records2, sizeof(records2), &size);
    ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAEINVAL, "client: got %d, error %#x\n", ret, WSAGetLastError());

    /* the default context: original destination, then original source */
    memset(context, 0xcc, sizeof(context));
    ret = query(server, SIO_QUERY_WFP_CONNECTION_REDIRECT_CONTEXT, context, sizeof(context), &size);
    ok(!ret, "context: got %d, error %#x\n", ret, WSAGetLastError());
    ok(size == CONTEXT_SIZE, "context: got size %lu\n", size);
    check_sockaddr((SOCKADDR_STORAGE *)context, orig, "context destination");
    check_sockaddr((SOCKADDR_STORAGE *)context + 1, (struct sockaddr *)&local, "context source");
    ret = query(server, SIO_QUERY_WFP_CONNECTION_REDIRECT_CONTEXT, context, CONTEXT_SIZE - 1, &size);
    ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAEFAULT, "short context: got %d, error %u\n", ret, WSAGetLastError());
    ok(size == CONTEXT_SIZE, "short context: got %lu\n", size);

    /* SO_ORIGINAL_DST, as Envoy reads it */
    level = family == AF_INET ? SOL_IP : SOL_IPV6;
    memset(&dst, 0xcc, sizeof(dst));
    len = sizeof(dst);
    ret = getsockopt(server, level, SO_ORIGINAL_DST, (char *)&dst, &len);
    ok(!ret, "SO_ORIGINAL_DST: got %d, error %u\n", ret, WSAGetLastError());
    ok(len == (family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6)), "got len %d\n", len);
    check_sockaddr(&dst, orig, "SO_ORIGINAL_DST");
    len = family == AF_INET ? sizeof(struct sockaddr_in) - 1 : sizeof(struct sockaddr_in6) - 1;
    ret = getsockopt(server, level, SO_ORIGINAL_DST, (char *)&dst, &len);
    ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAEFAULT, "short SO_ORIGINAL_DST: got %d, error %u\n",
       ret, WSAGetLastError());
    if (family == AF_INET6)
    {
        len = sizeof(dst);
        ret = getsockopt(server, SOL_IP, SO_ORIGINAL_DST, (char *)&dst, &len);
        ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAEINVAL, "IPv6 as SOL_IP: got %d, error %u\n",
           ret, WSAGetLastError());
    }
    len = sizeof(dst);
    ret = getsockopt(client, level, SO_ORIGINAL_DST, (char *)&dst, &len);
    ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAEINVAL, "client SO_ORIGINAL_DST: got %d, error %#x\n",
       ret, WSAGetLastError());

    /* a duplicate of the accepted socket has the same records */
    ret = WSADuplicateSocketW(server, GetCurrentProcessId(), &info);
    ok(!ret, "WSADuplicateSocket failed, error %u\n", WSAGetLastError());
    dup = WSASocketW(FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, &info, 0, 0);
    ret = query(dup, SIO_QUERY_WFP_CONNECTION_REDIRECT_RECORDS, records2, sizeof(records2), &size);
    ok(!ret && size == records_size && !memcmp(records, records2, size), "duplicate: got %d, error %#x\n",
       ret, WSAGetLastError());
    closesocket(dup);

    /* the proxy's outbound socket takes them, before it connects */
    out = WSASocketW(family, SOCK_STREAM, IPPROTO_TCP, NULL, 0, WSA_FLAG_OVERLAPPED);
    ret = set_records(out, records, records_size, &size);
    ok(!ret, "SET: got %d, error %u\n", ret, WSAGetLastError());
    ok(!size, "SET: got size %lu\n", size);
    /* again, which replaces them; and with the whole query buffer */
    ret = set_records(out, records, sizeof(records), &size);
    ok(!ret, "SET with trailing bytes: got %d, error %u\n", ret, WSAGetLastError());
    ok(!size, "SET: got size %lu\n", size);

    /* any altered byte, and any truncation, is refused */
    refused = 0;
    for (i = 0; i < records_size; i++)
    {
        memcpy(tampered, records, records_size);
        tampered[i] ^= 0x01;
        ret = set_records(out, tampered, records_size, &size);
        if (ret == SOCKET_ERROR && WSAGetLastError() == WSAEINVAL) refused++;
        else ok(0, "byte %lu altered: got %d, error %u\n", i, ret, WSAGetLastError());
        tampered[i] ^= 0xff;
        ret = set_records(out, tampered, records_size, &size);
        if (ret == SOCKET_ERROR && WSAGetLastError() == WSAEINVAL) refused++;
        else ok(0, "byte %lu inverted: got %d, error %u\n", i, ret, WSAGetLastError());
    }
    for (i = 1; i < records_size; i++)
    {
        ret = set_records(out, records, i, &size);
        if (ret == SOCKET_ERROR && WSAGetLastError() == WSAEINVAL) refused++;
        else ok(0, "truncated to %lu: got %d, error %u\n", i, ret, WSAGetLastError());
    }
    ok(refused == 3 * records_size - 1, "%lu of %lu altered or truncated blobs refused\n",
       refused, 3 * records_size - 1);

    /* the records stay valid after the sockets they came from are closed */
    closesocket(server);
    closesocket(client);
    ret = set_records(out, records, records_size, &size);
    ok(!ret, "SET after close: got %d, error %u\n", ret, WSAGetLastError());

    /* once connected it is too late */
    listener = listen_on(family, 0);
    len = sizeof(dst);
    getsockname(listener, (struct sockaddr *)&dst, &len);
    ret = connect(out, (struct sockaddr *)&dst, len);
    ok(!ret, "connect failed, error %u\n", WSAGetLastError());
    ret = set_records(out, records, records_size, &size);
    ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAEISCONN, "SET after connect: got %d, error %u\n",
       ret, WSAGetLastError());
    s2 = accept(listener, NULL, NULL);
    closesocket(s2);
    closesocket(out);

    /* a connection straight to the listener was not redirected */
    connect_pair(listener, (struct sockaddr *)&dst, len, &c2, &s2);
    ret = query(s2, SIO_QUERY_WFP_CONNECTION_REDIRECT_RECORDS, records2, sizeof(records2), &size);
    ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAEINVAL, "direct: got %d, error %#x\n", ret, WSAGetLastError());
    ok(!size, "direct: got size %lu\n", size);
    len = sizeof(dst);
    ret = getsockopt(s2, level, SO_ORIGINAL_DST, (char *)&dst, &len);
    ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAEINVAL, "direct SO_ORIGINAL_DST: got %d, error %#x\n",
       ret, WSAGetLastError());
    closesocket(c2);
    closesocket(s2);
    closesocket(listener);

    winetest_pop_context();
}

/* Query synchronously, then overlapped; both must give the same bytes. */
static void check_same_answers(SOCKET s, DWORD code, const char *what)
{
    char sync_buf[2048], ovl_buf[2048];
    DWORD sync_size, ovl_size;
    OVERLAPPED ovl;
    BOOL bret;
    int ret;

    ret = query(s, code, sync_buf, sizeof(sync_buf), &sync_size);
    ok(!ret, "%s: got %d, error %#x\n", what, ret, WSAGetLastError());
    memset(&ovl, 0, sizeof(ovl));
    ovl.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
    ret = WSAIoctl(s, code, NULL, 0, ovl_buf, sizeof(ovl_buf), &ovl_size, &ovl, NULL);
    ok(!ret, "%s overlapped: got %d, error %#x\n", what, ret, WSAGetLastError());
    bret = WSAGetOverlappedResult(s, &ovl, &ovl_size, TRUE, NULL);
    ok(bret, "%s overlapped: error %u\n", what, WSAGetLastError());
    ok(ovl_size == sync_size && !memcmp(sync_buf, ovl_buf, sync_size), "%s: got %lu and %lu bytes, or other bytes\n",
       what, sync_size, ovl_size);
    CloseHandle(ovl.hEvent);
}

/* A proxy accepts one redirected connection after another on the same
 * listener, and may close one and accept a connection that nothing
 * redirected, which can get the same handle value: each socket answers for
 * its own connection, however it is asked. */
static void test_accepted_in_turn(int family)
{
    SOCKADDR_STORAGE direct;
    SOCKET listener, client, server, old_server;
    char records[2048];
    DWORD size;
    int ret, i, len;

    if (!redirect.enabled)
    {
        skip("accepting in turn needs WFP_TEST_REDIRECT\n");
        return;
    }
    winetest_push_context(family == AF_INET ? "IPv4" : "IPv6");
    listener = listen_on(family, redirect.proxy_port);
    for (i = 0; i < 3; i++)
    {
        winetest_push_context("connection %d", i);
        if (family == AF_INET)
            connect_pair(listener, (struct sockaddr *)&redirect.orig4, sizeof(redirect.orig4), &client, &server);
        else
            connect_pair(listener, (struct sockaddr *)&redirect.orig6, sizeof(redirect.orig6), &client, &server);
        check_same_answers(server, SIO_QUERY_WFP_CONNECTION_REDIRECT_RECORDS, "records");
        check_same_answers(server, SIO_QUERY_WFP_CONNECTION_REDIRECT_CONTEXT, "context");
        ret = query(server, SIO_QUERY_WFP_CONNECTION_REDIRECT_RECORDS, records, 1, &size);
        ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAEFAULT && size > 1 && size <= sizeof(records),
           "short buffer: got %d, error %u, size %lu\n", ret, WSAGetLastError(), size);
        ret = query(server, SIO_QUERY_WFP_CONNECTION_REDIRECT_RECORDS, noaccess_page(), sizeof(records), &size);
        ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAEFAULT, "bad buffer: got %d, error %u\n",
           ret, WSAGetLastError());
        closesocket(client);

        /* straight to the listener: not redirected.  The client socket is
         * made first, so that the accepted one gets the handle value just
         * freed, as the most recently freed handle is the next one given. */
        client = WSASocketW(family, SOCK_STREAM, IPPROTO_TCP, NULL, 0, WSA_FLAG_OVERLAPPED);
        old_server = server;
        closesocket(server);
        loopback_addr(family, redirect.proxy_port, &direct, &len);
        ret = connect(client, (struct sockaddr *)&direct, len);
        ok(!ret, "connect failed, error %u\n", WSAGetLastError());
        server = accept(listener, NULL, NULL);
        ok(server == old_server, "the handle value %#Ix was not reused, got %#Ix\n", old_server, server);
        ret = query(server, SIO_QUERY_WFP_CONNECTION_REDIRECT_RECORDS, records, sizeof(records), &size);
        ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAEINVAL, "direct: got %d, error %#x\n",
           ret, WSAGetLastError());
        ret = query(server, SIO_QUERY_WFP_CONNECTION_REDIRECT_CONTEXT, records, sizeof(records), &size);
        ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAEINVAL, "direct context: got %d, error %#x\n",
           ret, WSAGetLastError());
        closesocket(client);
        closesocket(server);
        winetest_pop_context();
    }
    closesocket(listener);
    winetest_pop_context();
}

static const struct sockaddr *orig_addr(int family, int *len)
{
    *len = family == AF_INET ? sizeof(redirect.orig4) : sizeof(redirect.orig6);
    return family == AF_INET ? (struct sockaddr *)&redirect.orig4 : (struct sockaddr *)&redirect.orig6;
}

struct delayed_connect
{
    const struct sockaddr *to;
    int len;
    DWORD delay;
    SOCKET client;
    SOCKADDR_STORAGE local;
};

static DWORD WINAPI delayed_connect_thread(void *arg)
{
    struct delayed_connect *params = arg;
    int len = sizeof(params->local);

    Sleep(params->delay);
    params->client = WSASocketW(params->to->sa_family, SOCK_STREAM, IPPROTO_TCP, NULL, 0, WSA_FLAG_OVERLAPPED);
    if (connect(params->client, params->to, params->len)) return WSAGetLastError();
    getsockname(params->client, (struct sockaddr *)&params->local, &len);
    return 0;
}

/* A proxy's accept() waits for the next connection before it arrives, as
 * the thread-per-listener proxies (WFPSampler's samples among them) do.
 * That accept completes from the wineserver's poll loop, not from a
 * request, once a query on the listener's port has asked for the records
 * of its connections (this crashed the wineserver). */
static void test_blocking_accept(int family)
{
    char records[2048], records2[2048], context[CONTEXT_SIZE];
    struct delayed_connect params;
    SOCKET listener, client, server, server2, out;
    DWORD size, size2, code;
    HANDLE thread;
    int ret;

    if (!redirect.enabled)
    {
        skip("a blocking accept of redirected connections needs WFP_TEST_REDIRECT\n");
        return;
    }
    winetest_push_context(family == AF_INET ? "IPv4" : "IPv6");
    listener = listen_on(family, redirect.proxy_port);
    params.to = orig_addr(family, &params.len);
    connect_pair(listener, params.to, params.len, &client, &server);
    ret = query(server, SIO_QUERY_WFP_CONNECTION_REDIRECT_RECORDS, records, sizeof(records), &size);
    ok(!ret, "first: got %d, error %#x\n", ret, WSAGetLastError());
    ret = query(server, SIO_QUERY_WFP_CONNECTION_REDIRECT_CONTEXT, context, sizeof(context), &size2);
    ok(!ret, "first context: got %d, error %#x\n", ret, WSAGetLastError());

    params.delay = 300;
    params.client = INVALID_SOCKET;
    thread = CreateThread(NULL, 0, delayed_connect_thread, &params, 0, NULL);
    server2 = accept(listener, NULL, NULL);
    ok(server2 != INVALID_SOCKET, "accept failed, error %u\n", WSAGetLastError());
    ok(!WaitForSingleObject(thread, 10000), "the connecting thread did not finish\n");
    GetExitCodeThread(thread, &code);
    ok(!code, "connect failed, error %lu\n", code);
    CloseHandle(thread);

    ret = query(server2, SIO_QUERY_WFP_CONNECTION_REDIRECT_RECORDS, records2, sizeof(records2), &size2);
    ok(!ret, "second: got %d, error %#x\n", ret, WSAGetLastError());
    ok(size2 == size && memcmp(records, records2, size), "second: got %lu bytes, the first connection's or none\n",
       size2);
    memset(context, 0xcc, sizeof(context));
    ret = query(server2, SIO_QUERY_WFP_CONNECTION_REDIRECT_CONTEXT, context, sizeof(context), &size2);
    ok(!ret && size2 == CONTEXT_SIZE, "second context: got %d, error %#x, size %lu\n", ret, WSAGetLastError(), size2);
    check_sockaddr((SOCKADDR_STORAGE *)context, params.to, "second context destination");
    check_sockaddr((SOCKADDR_STORAGE *)context + 1, (struct sockaddr *)&params.local, "second context source");

    /* the records are this process's, which accepted the connection */
    out = WSASocketW(family, SOCK_STREAM, IPPROTO_TCP, NULL, 0, WSA_FLAG_OVERLAPPED);
    ret = set_records(out, records2, size, &size2);
    ok(!ret, "SET: got %d, error %u\n", ret, WSAGetLastError());
    closesocket(out);

    closesocket(params.client);
    closesocket(server2);
    closesocket(client);
    closesocket(server);
    closesocket(listener);
    winetest_pop_context();
}

/* AcceptEx into a socket that had records of its own (SET) gives it the
 * accepted connection's records, or none, never the old ones. */
static void test_acceptex_into_set_socket(int family)
{
    char records[2048], records2[2048], buffer[2 * (sizeof(SOCKADDR_STORAGE) + 16)];
    GUID acceptex_guid = WSAID_ACCEPTEX;
    LPFN_ACCEPTEX pAcceptEx;
    SOCKET listener, client, server, target;
    SOCKADDR_STORAGE direct;
    const struct sockaddr *to;
    DWORD size, records_size;
    OVERLAPPED ovl;
    int ret, len, i;
    BOOL bret;

    if (!redirected_pair(family, &client, &server))
    {
        skip("AcceptEx after SET needs WFP_TEST_REDIRECT\n");
        return;
    }
    winetest_push_context(family == AF_INET ? "IPv4" : "IPv6");
    ret = query(server, SIO_QUERY_WFP_CONNECTION_REDIRECT_RECORDS, records, sizeof(records), &records_size);
    ok(!ret, "got %d, error %#x\n", ret, WSAGetLastError());
    closesocket(client);
    closesocket(server);

    listener = listen_on(family, redirect.proxy_port);
    ret = WSAIoctl(listener, SIO_GET_EXTENSION_FUNCTION_POINTER, &acceptex_guid, sizeof(acceptex_guid),
                   &pAcceptEx, sizeof(pAcceptEx), &size, NULL, NULL);
    ok(!ret, "no AcceptEx, error %u\n", WSAGetLastError());

    /* 0: straight to the listener, 1: redirected */
    for (i = 0; i < 2; i++)
    {
        winetest_push_context(i ? "redirected" : "direct");
        target = WSASocketW(family, SOCK_STREAM, IPPROTO_TCP, NULL, 0, WSA_FLAG_OVERLAPPED);
        ret = set_records(target, records, records_size, &size);
        ok(!ret, "SET: got %d, error %u\n", ret, WSAGetLastError());

        memset(&ovl, 0, sizeof(ovl));
        ovl.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
        bret = pAcceptEx(listener, target, buffer, 0, sizeof(SOCKADDR_STORAGE) + 16, sizeof(SOCKADDR_STORAGE) + 16,
                         &size, &ovl);
        ok(!bret && WSAGetLastError() == ERROR_IO_PENDING, "AcceptEx: got %d, error %u\n", bret, WSAGetLastError());

        if (i) to = orig_addr(family, &len);
        else
        {
            loopback_addr(family, redirect.proxy_port, &direct, &len);
            to = (struct sockaddr *)&direct;
        }
        client = WSASocketW(family, SOCK_STREAM, IPPROTO_TCP, NULL, 0, WSA_FLAG_OVERLAPPED);
        ret = connect(client, to, len);
        ok(!ret, "connect failed, error %u\n", WSAGetLastError());
        ok(!WaitForSingleObject(ovl.hEvent, 5000), "AcceptEx did not complete\n");
        bret = GetOverlappedResult((HANDLE)listener, &ovl, &size, FALSE);
        ok(bret, "AcceptEx failed, error %lu\n", GetLastError());
        ret = setsockopt(target, SOL_SOCKET, SO_UPDATE_ACCEPT_CONTEXT, (char *)&listener, sizeof(listener));
        ok(!ret, "SO_UPDATE_ACCEPT_CONTEXT failed, error %u\n", WSAGetLastError());

        ret = query(target, SIO_QUERY_WFP_CONNECTION_REDIRECT_RECORDS, records2, sizeof(records2), &size);
        if (i)
        {
            ok(!ret, "got %d, error %#x\n", ret, WSAGetLastError());
            ok(size == records_size && memcmp(records, records2, size), "got the records SET before, or none\n");
        }
        else
        {
            ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAEINVAL, "got %d, error %#x\n", ret, WSAGetLastError());
            ok(!size, "got size %lu\n", size);
            ret = query(target, SIO_QUERY_WFP_CONNECTION_REDIRECT_CONTEXT, records2, sizeof(records2), &size);
            ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAEINVAL, "context: got %d, error %#x\n",
               ret, WSAGetLastError());
        }
        CloseHandle(ovl.hEvent);
        closesocket(client);
        closesocket(target);
        winetest_pop_context();
    }
    closesocket(listener);
    winetest_pop_context();
}

/* A connection that carried records and was never accepted is gone; a
 * later one between the same two endpoints, which nothing redirected,
 * has no records. */
static void test_reused_endpoints(int family)
{
    SOCKET client, server, listener, c2;
    SOCKADDR_STORAGE dst, src;
    char records[2048];
    DWORD size, records_size;
    int ret, dst_len, src_len, one = 1;

    if (!redirected_pair(family, &client, &server))
    {
        skip("reused endpoints need WFP_TEST_REDIRECT\n");
        return;
    }
    winetest_push_context(family == AF_INET ? "IPv4" : "IPv6");
    ret = query(server, SIO_QUERY_WFP_CONNECTION_REDIRECT_RECORDS, records, sizeof(records), &records_size);
    ok(!ret, "got %d, error %#x\n", ret, WSAGetLastError());
    closesocket(client);
    closesocket(server);

    /* a proxy's outbound connection with the records, which the listener
     * never accepts: it closes, and the connection is reset */
    listener = listen_on(family, 0);
    dst_len = sizeof(dst);
    getsockname(listener, (struct sockaddr *)&dst, &dst_len);
    c2 = WSASocketW(family, SOCK_STREAM, IPPROTO_TCP, NULL, 0, WSA_FLAG_OVERLAPPED);
    setsockopt(c2, SOL_SOCKET, SO_REUSEADDR, (char *)&one, sizeof(one));
    ret = set_records(c2, records, records_size, &size);
    ok(!ret, "SET: got %d, error %u\n", ret, WSAGetLastError());
    loopback_addr(family, 0, &src, &src_len);
    ret = bind(c2, (struct sockaddr *)&src, src_len);
    ok(!ret, "bind failed, error %u\n", WSAGetLastError());
    src_len = sizeof(src);
    getsockname(c2, (struct sockaddr *)&src, &src_len);
    ret = connect(c2, (struct sockaddr *)&dst, dst_len);
    ok(!ret, "connect failed, error %u\n", WSAGetLastError());
    closesocket(listener);
    closesocket(c2);

    /* a plain connection from the same port to the same listening port */
    listener = WSASocketW(family, SOCK_STREAM, IPPROTO_TCP, NULL, 0, WSA_FLAG_OVERLAPPED);
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, (char *)&one, sizeof(one));
    ret = bind(listener, (struct sockaddr *)&dst, dst_len);
    ok(!ret, "bind of the listener failed, error %u\n", WSAGetLastError());
    ret = listen(listener, 4);
    ok(!ret, "listen failed, error %u\n", WSAGetLastError());
    client = WSASocketW(family, SOCK_STREAM, IPPROTO_TCP, NULL, 0, WSA_FLAG_OVERLAPPED);
    setsockopt(client, SOL_SOCKET, SO_REUSEADDR, (char *)&one, sizeof(one));
    ret = bind(client, (struct sockaddr *)&src, src_len);
    ok(!ret, "bind to the same port failed, error %u\n", WSAGetLastError());
    ret = connect(client, (struct sockaddr *)&dst, dst_len);
    ok(!ret, "connect failed, error %u\n", WSAGetLastError());
    server = accept(listener, NULL, NULL);
    ok(server != INVALID_SOCKET, "accept failed, error %u\n", WSAGetLastError());

    ret = query(server, SIO_QUERY_WFP_CONNECTION_REDIRECT_RECORDS, records, sizeof(records), &size);
    ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAEINVAL, "got %d, error %#x, size %lu\n",
       ret, WSAGetLastError(), size);
    closesocket(client);
    closesocket(server);
    closesocket(listener);
    winetest_pop_context();
}

/* Records from one redirected connection are accepted on sockets of the
 * same machine; every query of one connection gives the same blob. */
struct thread_params
{
    SOCKET shared;
    const char *records;
    DWORD records_size;
    UINT64 shared_handle;
    LONG failures;
};

static DWORD WINAPI concurrent_thread(void *arg)
{
    struct thread_params *params = arg;
    static const char garbage[64];
    char buffer[2048];
    unsigned int i;
    UINT64 handle;
    DWORD size;
    SOCKET s;
    int ret;

    for (i = 0; i < 200; i++)
    {
        ret = WSAIoctl(params->shared, SIO_QUERY_WFP_ALE_ENDPOINT_HANDLE, NULL, 0, &handle, sizeof(handle),
                       &size, NULL, NULL);
        if (ret || handle != params->shared_handle) InterlockedIncrement(&params->failures);

        /* refused by a redirector, kept without one (see test_set_errors) */
        ret = WSAIoctl(params->shared, SIO_SET_WFP_CONNECTION_REDIRECT_RECORDS, (void *)garbage, sizeof(garbage),
                       NULL, 0, &size, NULL, NULL);
        if (ret ? WSAGetLastError() != WSAEINVAL : redirect.enabled) InterlockedIncrement(&params->failures);

        ret = WSAIoctl(params->shared, SIO_QUERY_WFP_CONNECTION_REDIRECT_RECORDS, NULL, 0, buffer, sizeof(buffer),
                       &size, NULL, NULL);
        if (ret != SOCKET_ERROR || WSAGetLastError() != WSAENOTCONN) InterlockedIncrement(&params->failures);

        if (params->records)
        {
            ret = WSAIoctl(params->shared, SIO_SET_WFP_CONNECTION_REDIRECT_RECORDS, (void *)params->records,
                           params->records_size, NULL, 0, &size, NULL, NULL);
            if (ret) InterlockedIncrement(&params->failures);
        }

        s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
        ret = WSAIoctl(s, SIO_QUERY_WFP_ALE_ENDPOINT_HANDLE, NULL, 0, &handle, sizeof(handle), &size, NULL, NULL);
        if (ret || handle == params->shared_handle) InterlockedIncrement(&params->failures);
        closesocket(s);
    }
    return 0;
}

static void test_concurrency(void)
{
    struct thread_params params;
    char records[2048];
    SOCKET client, server;
    HANDLE threads[8];
    unsigned int i;
    DWORD size;
    int ret;

    memset(&params, 0, sizeof(params));
    if (redirected_pair(AF_INET, &client, &server))
    {
        ret = query(server, SIO_QUERY_WFP_CONNECTION_REDIRECT_RECORDS, records, sizeof(records), &size);
        ok(!ret, "got %d, error %#x\n", ret, WSAGetLastError());
        params.records = records;
        params.records_size = size;
    }
    else skip("concurrent SET of real records needs WFP_TEST_REDIRECT\n");

    params.shared = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    ret = query(params.shared, SIO_QUERY_WFP_ALE_ENDPOINT_HANDLE, &params.shared_handle,
                sizeof(params.shared_handle), &size);
    ok(!ret, "got %d, error %u\n", ret, WSAGetLastError());

    for (i = 0; i < ARRAY_SIZE(threads); i++)
        threads[i] = CreateThread(NULL, 0, concurrent_thread, &params, 0, NULL);
    ok(!WaitForMultipleObjects(ARRAY_SIZE(threads), threads, TRUE, 60000), "threads did not finish\n");
    for (i = 0; i < ARRAY_SIZE(threads); i++) CloseHandle(threads[i]);
    ok(!params.failures, "%ld calls from 8 threads gave a wrong answer\n", params.failures);

    closesocket(params.shared);
    if (params.records)
    {
        closesocket(client);
        closesocket(server);
    }
}

/* IP_WFP_REDIRECT_RECORDS/_CONTEXT and the IPV6_ twins are boolean
 * options of datagram sockets; Windows refuses them on TCP. */
/* Without a redirector, Wine's wineserver gives the records that a
 * connecting socket was SET to the socket of the same wineserver that
 * accepts its connection, which is how proxies chain.  What Windows does
 * with records on a connection that nothing redirects is not known, so
 * this runs on Wine only. */
static void test_carried_records(int family)
{
    static const char blob[] = "the records of an earlier hop, opaque to the wineserver";
    SOCKET listener, client, server, client2, server2;
    SOCKADDR_STORAGE addr;
    char buffer[256];
    DWORD size;
    int len, ret;

    if (redirect.enabled || strcmp(winetest_platform, "wine"))
    {
        skip("records without a redirector are Wine's\n");
        return;
    }
    winetest_push_context("family %d", family);

    listener = listen_on(family, 0);
    len = sizeof(addr);
    getsockname(listener, (struct sockaddr *)&addr, &len);
    client = WSASocketW(family, SOCK_STREAM, IPPROTO_TCP, NULL, 0, WSA_FLAG_OVERLAPPED);
    ret = set_records(client, blob, sizeof(blob), &size);
    ok(!ret, "SET failed, error %u\n", WSAGetLastError());
    ret = connect(client, (struct sockaddr *)&addr, len);
    ok(!ret, "connect failed, error %u\n", WSAGetLastError());
    server = accept(listener, NULL, NULL);
    ok(server != INVALID_SOCKET, "accept failed, error %u\n", WSAGetLastError());

    memset(buffer, 0, sizeof(buffer));
    ret = query(server, SIO_QUERY_WFP_CONNECTION_REDIRECT_RECORDS, buffer, sizeof(buffer), &size);
    ok(!ret, "accepted: got %d, error %u\n", ret, WSAGetLastError());
    ok(size == sizeof(blob) && !memcmp(buffer, blob, sizeof(blob)), "accepted: got size %lu\n", size);
    ret = query(server, SIO_QUERY_WFP_CONNECTION_REDIRECT_RECORDS, buffer, 8, &size);
    ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAEFAULT, "8 bytes: got %d, error %u\n", ret, WSAGetLastError());
    ok(size == sizeof(blob), "8 bytes: got size %lu\n", size);
    ret = query(server, SIO_QUERY_WFP_CONNECTION_REDIRECT_CONTEXT, buffer, sizeof(buffer), &size);
    ok(ret == SOCKET_ERROR && WSAGetLastError() == FWP_E_NOT_FOUND, "context: got %d, error %#x\n", ret,
       WSAGetLastError());
    ret = query(client, SIO_QUERY_WFP_CONNECTION_REDIRECT_RECORDS, buffer, sizeof(buffer), &size);
    ok(!ret && size == sizeof(blob), "client: got %d, size %lu, error %u\n", ret, size, WSAGetLastError());

    /* another connection to the same listener carries none */
    connect_pair(listener, (struct sockaddr *)&addr, len, &client2, &server2);
    ret = query(server2, SIO_QUERY_WFP_CONNECTION_REDIRECT_RECORDS, buffer, sizeof(buffer), &size);
    ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAEINVAL, "plain: got %d, error %u\n", ret, WSAGetLastError());

    closesocket(server);
    closesocket(client);
    closesocket(server2);
    closesocket(client2);
    closesocket(listener);
    winetest_pop_context();
}

static void test_sockopts(void)
{
    static const struct
    {
        int family, type, protocol, level;
        int get_error;
    }
    tests[] =
    {
        { AF_INET,  SOCK_STREAM, IPPROTO_TCP, IPPROTO_IP,   WSAEINVAL },
        { AF_INET,  SOCK_DGRAM,  IPPROTO_UDP, IPPROTO_IP,   0 },
        { AF_INET,  SOCK_RAW,    IPPROTO_RAW, IPPROTO_IP,   0 },
        { AF_INET6, SOCK_STREAM, IPPROTO_TCP, IPPROTO_IPV6, WSAEINVAL },
        { AF_INET6, SOCK_DGRAM,  IPPROTO_UDP, IPPROTO_IPV6, 0 },
        { AF_INET6, SOCK_RAW,    IPPROTO_RAW, IPPROTO_IPV6, 0 },
    };
    static const int options[] = { IP_WFP_REDIRECT_RECORDS, IP_WFP_REDIRECT_CONTEXT };
    SOCKADDR_STORAGE addr;
    unsigned int i, j;
    DWORD value;
    int ret, len;
    SOCKET s;

    for (i = 0; i < ARRAY_SIZE(tests); i++)
    {
        s = socket(tests[i].family, tests[i].type, tests[i].protocol);
        if (s == INVALID_SOCKET && WSAGetLastError() == WSAEACCES)
        {
            skip("raw sockets need more privileges\n");
            continue;
        }
        ok(s != INVALID_SOCKET, "test %u: socket failed, error %u\n", i, WSAGetLastError());

        for (j = 0; j < ARRAY_SIZE(options); j++)
        {
            winetest_push_context("test %u, option %d", i, options[j]);

            value = 0xdeadbeef;
            len = sizeof(value);
            WSASetLastError(0xdeadbeef);
            ret = getsockopt(s, tests[i].level, options[j], (char *)&value, &len);
            if (tests[i].get_error)
            {
                ok(ret == SOCKET_ERROR && WSAGetLastError() == tests[i].get_error, "get: got %d, error %u\n",
                   ret, WSAGetLastError());
                value = 1;
                ret = setsockopt(s, tests[i].level, options[j], (char *)&value, sizeof(value));
                ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAEINVAL, "set: got %d, error %u\n",
                   ret, WSAGetLastError());
                winetest_pop_context();
                continue;
            }
            ok(!ret && !WSAGetLastError(), "get: got %d, error %u\n", ret, WSAGetLastError());
            ok(len == sizeof(DWORD) && !value, "get: got len %d, value %#lx\n", len, value);

            value = 1;
            ret = setsockopt(s, tests[i].level, options[j], (char *)&value, sizeof(value));
            ok(!ret, "set 1: got %d, error %u\n", ret, WSAGetLastError());
            len = sizeof(value);
            value = 0xdeadbeef;
            ret = getsockopt(s, tests[i].level, options[j], (char *)&value, &len);
            ok(!ret && len == sizeof(DWORD) && value == 1, "after set 1: got %d, len %d, value %#lx\n", ret, len, value);
            value = 0;
            ret = setsockopt(s, tests[i].level, options[j], (char *)&value, sizeof(value));
            ok(!ret, "set 0: got %d, error %u\n", ret, WSAGetLastError());
            len = sizeof(value);
            ret = getsockopt(s, tests[i].level, options[j], (char *)&value, &len);
            ok(!ret && !value, "after set 0: got %d, value %#lx\n", ret, value);

            len = 3;
            ret = getsockopt(s, tests[i].level, options[j], (char *)&value, &len);
            ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAEFAULT, "get 3 bytes: got %d, error %u\n",
               ret, WSAGetLastError());
            ret = setsockopt(s, tests[i].level, options[j], (char *)&value, 3);
            ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAEFAULT, "set 3 bytes: got %d, error %u\n",
               ret, WSAGetLastError());

            winetest_pop_context();
        }
        closesocket(s);
    }

    /* SO_ORIGINAL_DST */
    s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    len = sizeof(addr);
    ret = getsockopt(s, SOL_IP, SO_ORIGINAL_DST, (char *)&addr, &len);
    ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAENOTCONN, "unconnected: got %d, error %u\n", ret, WSAGetLastError());
    len = sizeof(addr);
    ret = getsockopt(s, SOL_IP, 0x3010, (char *)&addr, &len);
    ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAENOPROTOOPT, "unknown SOL_IP option: got %d, error %u\n",
       ret, WSAGetLastError());
    len = 0;
    ret = getsockopt(s, SOL_IP, SO_ORIGINAL_DST, (char *)&addr, &len);
    ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAEFAULT, "zero length: got %d, error %u\n", ret, WSAGetLastError());
    closesocket(s);

    s = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
    len = sizeof(addr);
    ret = getsockopt(s, SOL_IP, SO_ORIGINAL_DST, (char *)&addr, &len);
    ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAENOPROTOOPT, "udp: got %d, error %u\n", ret, WSAGetLastError());
    closesocket(s);
}

/* Winsock has no option that marks a socket for the packet filter: only the
 * wineserver sets Linux's SO_MARK (36), for records that carry a netfilter
 * hop.  Neither that number nor IP_WFP_REDIRECT_RECORDS on TCP gets a
 * program a mark of its own choosing. */
static void test_no_mark_option(void)
{
    static const int names[] = { 36 /* SO_MARK on Linux */ };
    DWORD value = 0x100;
    unsigned int i;
    int ret, len;
    SOCKET s;

    s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    for (i = 0; i < ARRAY_SIZE(names); i++)
    {
        ret = setsockopt(s, SOL_SOCKET, names[i], (char *)&value, sizeof(value));
        ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAENOPROTOOPT, "set %#x: got %d, error %u\n",
           names[i], ret, WSAGetLastError());
        len = sizeof(value);
        ret = getsockopt(s, SOL_SOCKET, names[i], (char *)&value, &len);
        ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAENOPROTOOPT, "get %#x: got %d, error %u\n",
           names[i], ret, WSAGetLastError());
    }
    closesocket(s);
}

/* ---- UDP: records as control data ------------------------------------------- */

static LPFN_WSARECVMSG pWSARecvMsg;
static LPFN_WSASENDMSG pWSASendMsg;

enum recv_mode { RECV_SYNC, RECV_EVENT, RECV_APC, RECV_IOCP };
static const char *const recv_mode_names[] = { "sync", "event", "apc", "iocp" };

static void get_msg_functions(void)
{
    GUID recv_guid = WSAID_WSARECVMSG, send_guid = WSAID_WSASENDMSG;
    DWORD size;
    SOCKET s;

    s = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
    WSAIoctl(s, SIO_GET_EXTENSION_FUNCTION_POINTER, &recv_guid, sizeof(recv_guid), &pWSARecvMsg,
             sizeof(pWSARecvMsg), &size, NULL, NULL);
    WSAIoctl(s, SIO_GET_EXTENSION_FUNCTION_POINTER, &send_guid, sizeof(send_guid), &pWSASendMsg,
             sizeof(pWSASendMsg), &size, NULL, NULL);
    closesocket(s);
}

/* a UDP socket on a loopback port of its own, and its address */
static SOCKET udp_socket(int family, SOCKADDR_STORAGE *addr, int *len)
{
    SOCKET s;
    int ret;

    s = WSASocketW(family, SOCK_DGRAM, IPPROTO_UDP, NULL, 0, WSA_FLAG_OVERLAPPED);
    ok(s != INVALID_SOCKET, "socket failed, error %u\n", WSAGetLastError());
    loopback_addr(family, 0, addr, len);
    ret = bind(s, (struct sockaddr *)addr, *len);
    ok(!ret, "bind failed, error %u\n", WSAGetLastError());
    *len = sizeof(*addr);
    getsockname(s, (struct sockaddr *)addr, len);
    return s;
}

static void set_option(SOCKET s, int family, int option, DWORD value)
{
    int ret = setsockopt(s, family == AF_INET ? IPPROTO_IP : IPPROTO_IPV6, option, (char *)&value, sizeof(value));
    ok(!ret, "setsockopt %d failed, error %u\n", option, WSAGetLastError());
}

/* WSASendMsg of "datagram" to addr, with a records message when records is set */
static int send_with_records(SOCKET s, const SOCKADDR_STORAGE *addr, int len, int level, const void *records,
                             DWORD size)
{
    ULONG_PTR control[64];
    WSABUF buf = { 8, (char *)"datagram" };
    WSACMSGHDR *cmsg = (WSACMSGHDR *)control;
    WSAMSG msg;
    DWORD sent;

    memset(control, 0, sizeof(control));
    memset(&msg, 0, sizeof(msg));
    msg.name = (struct sockaddr *)addr;
    msg.namelen = addr ? len : 0;
    msg.lpBuffers = &buf;
    msg.dwBufferCount = 1;
    if (records)
    {
        cmsg->cmsg_len = WSA_CMSG_LEN(size);
        cmsg->cmsg_level = level;
        cmsg->cmsg_type = IP_WFP_REDIRECT_RECORDS;
        memcpy(WSA_CMSG_DATA(cmsg), records, size);
        msg.Control.buf = (char *)control;
        msg.Control.len = WSA_CMSG_SPACE(size);
    }
    WSASetLastError(0xdeadbeef);
    return pWSASendMsg(s, &msg, 0, &sent, NULL, NULL);
}

static SOCKET iocp_socket = INVALID_SOCKET;
static HANDLE iocp_port;

/* one WSARecvMsg on s, in one of the ways programs post it; the error, or 0 */
static DWORD recv_with_control(SOCKET s, enum recv_mode mode, char *control, DWORD control_size,
                               DWORD *control_len, DWORD *flags, DWORD *size)
{
    SOCKADDR_STORAGE from;
    OVERLAPPED ovl, *povl;
    char data[64];
    WSABUF buf = { sizeof(data), data };
    WSAMSG msg;
    ULONG_PTR key;
    HANDLE port;
    DWORD error = 0;
    int ret;

    memset(&msg, 0, sizeof(msg));
    msg.name = (struct sockaddr *)&from;
    msg.namelen = sizeof(from);
    msg.lpBuffers = &buf;
    msg.dwBufferCount = 1;
    msg.Control.buf = control;
    msg.Control.len = control_size;
    memset(&ovl, 0, sizeof(ovl));
    *size = 0;

    switch (mode)
    {
    case RECV_SYNC:
        if (pWSARecvMsg(s, &msg, size, NULL, NULL)) error = WSAGetLastError();
        break;

    case RECV_EVENT:
        ovl.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
        ret = pWSARecvMsg(s, &msg, NULL, &ovl, NULL);
        ok(!ret || WSAGetLastError() == WSA_IO_PENDING || WSAGetLastError() == WSAEMSGSIZE,
           "got %d, error %u\n", ret, WSAGetLastError());
        ok(!WaitForSingleObject(ovl.hEvent, 1000), "the event was not signalled\n");
        if (!WSAGetOverlappedResult(s, &ovl, size, FALSE, flags)) error = WSAGetLastError();
        CloseHandle(ovl.hEvent);
        break;

    case RECV_APC:
        apc_calls = 0;
        ret = pWSARecvMsg(s, &msg, NULL, &ovl, completion_routine);
        ok(!ret || WSAGetLastError() == WSA_IO_PENDING || WSAGetLastError() == WSAEMSGSIZE,
           "got %d, error %u\n", ret, WSAGetLastError());
        SleepEx(1000, TRUE);
        ok(apc_calls == 1, "the routine ran %u times\n", apc_calls);
        error = apc_error;
        *size = apc_size;
        break;

    case RECV_IOCP:
        /* a socket is bound to a port once, for good */
        if (s != iocp_socket)
        {
            if (iocp_port) CloseHandle(iocp_port);
            iocp_port = CreateIoCompletionPort((HANDLE)s, NULL, 0x42, 0);
            iocp_socket = s;
        }
        port = iocp_port;
        ret = pWSARecvMsg(s, &msg, NULL, &ovl, NULL);
        ok(!ret || WSAGetLastError() == WSA_IO_PENDING || WSAGetLastError() == WSAEMSGSIZE,
           "got %d, error %u\n", ret, WSAGetLastError());
        povl = NULL;
        if (!GetQueuedCompletionStatus(port, size, &key, &povl, 1000)) error = GetLastError();
        ok(povl == &ovl && key == 0x42, "got %p, key %#Ix\n", povl, key);
        break;
    }
    *control_len = msg.Control.len;
    *flags = msg.dwFlags;
    return error;
}

/* the data of the one control message at level and type, NULL without */
static const BYTE *find_message(const char *control, DWORD len, int level, int type, DWORD *size)
{
    WSAMSG msg;
    WSACMSGHDR *cmsg;

    memset(&msg, 0, sizeof(msg));
    msg.Control.buf = (char *)control;
    msg.Control.len = len;
    for (cmsg = WSA_CMSG_FIRSTHDR(&msg); cmsg; cmsg = WSA_CMSG_NXTHDR(&msg, cmsg))
    {
        if (cmsg->cmsg_level != level || cmsg->cmsg_type != type) continue;
        *size = cmsg->cmsg_len - WSA_CMSG_LEN(0);
        return WSA_CMSG_DATA(cmsg);
    }
    return NULL;
}

/* Is a datagram waiting? */
static BOOL datagram_waiting(SOCKET s)
{
    struct timeval timeout = { 0, 200000 };
    fd_set set;

    FD_ZERO(&set);
    FD_SET(s, &set);
    return select(0, &set, NULL, NULL, &timeout) == 1;
}

/* Without records the datagram comes as before: no control message, even
 * with the options on; a socket without the options never gets one. */
static void test_udp_plain(int family)
{
    static const char blob[] = "records of a UDP flow";
    SOCKADDR_STORAGE raddr, saddr;
    char control[2048];
    DWORD control_len, flags, size, error;
    SOCKET r, sender;
    int rlen, slen, ret;

    winetest_push_context("family %d", family);
    r = udp_socket(family, &raddr, &rlen);
    sender = udp_socket(family, &saddr, &slen);

    set_option(r, family, IP_WFP_REDIRECT_RECORDS, 1);
    set_option(r, family, IP_WFP_REDIRECT_CONTEXT, 1);
    ret = send_with_records(sender, &raddr, rlen, 0, NULL, 0);
    ok(!ret, "send failed, error %u\n", WSAGetLastError());
    error = recv_with_control(r, RECV_SYNC, control, sizeof(control), &control_len, &flags, &size);
    ok(!error && size == 8, "got error %lu, size %lu\n", error, size);
    ok(!control_len && !flags, "got %lu bytes of control data, flags %#lx\n", control_len, flags);

    /* the records of a flow, on a socket that did not ask */
    set_option(r, family, IP_WFP_REDIRECT_RECORDS, 0);
    set_option(r, family, IP_WFP_REDIRECT_CONTEXT, 0);
    closesocket(sender);
    sender = udp_socket(family, &saddr, &slen);
    ret = send_with_records(sender, &raddr, rlen, family == AF_INET ? IPPROTO_IP : IPPROTO_IPV6, blob,
                            sizeof(blob));
    if (ret && WSAGetLastError() == WSAEINVAL && redirect.enabled)
        ok(!datagram_waiting(r), "the datagram of a refused WSASendMsg was sent\n");
    else
    {
        ok(!ret, "send failed, error %u\n", WSAGetLastError());
        error = recv_with_control(r, RECV_SYNC, control, sizeof(control), &control_len, &flags, &size);
        ok(!error && size == 8, "got error %lu, size %lu\n", error, size);
        ok(!control_len && !flags, "got %lu bytes of control data, flags %#lx\n", control_len, flags);
    }
    closesocket(sender);
    closesocket(r);
    winetest_pop_context();
}

/* WSASendMsg's bad arguments.  Windows documents WSAEFAULT for an lpMsg
 * that cannot be read, and no error for malformed control data; wine-wfp
 * fails the call with WSAEINVAL, or WSAEFAULT for a buffer it cannot read,
 * and sends nothing. */
static void test_udp_send_errors(void)
{
    SOCKADDR_STORAGE raddr, saddr;
    ULONG_PTR control[16];
    WSACMSGHDR *cmsg = (WSACMSGHDR *)control;
    WSABUF buf = { 8, (char *)"datagram" };
    SOCKET r, sender;
    WSAMSG msg, *bad_msg;
    DWORD sent, old_protect;
    int rlen, slen, ret;
    char *pages;

    r = udp_socket(AF_INET, &raddr, &rlen);
    sender = udp_socket(AF_INET, &saddr, &slen);

    /* an lpMsg not wholly in valid memory: WSAEFAULT, as the WSASendMsg
     * page documents; here its first field is on a page without access */
    pages = VirtualAlloc(NULL, 8192, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    VirtualProtect(pages, 4096, PAGE_NOACCESS, &old_protect);
    bad_msg = (WSAMSG *)(pages + 4096 - sizeof(bad_msg->name));
    bad_msg->namelen = rlen;
    bad_msg->lpBuffers = &buf;
    bad_msg->dwBufferCount = 1;
    bad_msg->Control.len = 0;
    bad_msg->Control.buf = NULL;
    bad_msg->dwFlags = 0;
    WSASetLastError(0xdeadbeef);
    ret = pWSASendMsg(sender, bad_msg, 0, &sent, NULL, NULL);
    ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAEFAULT, "WSAMSG partly unreadable: got %d, error %u\n",
       ret, WSAGetLastError());
    WSASetLastError(0xdeadbeef);
    ret = pWSASendMsg(sender, (WSAMSG *)pages, 0, &sent, NULL, NULL);
    ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAEFAULT, "WSAMSG unreadable: got %d, error %u\n",
       ret, WSAGetLastError());
    ok(!datagram_waiting(r), "a datagram was sent\n");
    VirtualFree(pages, 0, MEM_RELEASE);

    if (strcmp(winetest_platform, "wine"))
    {
        skip("Windows' answers to malformed control data are not known\n");
        closesocket(sender);
        closesocket(r);
        return;
    }
    memset(&msg, 0, sizeof(msg));
    msg.name = (struct sockaddr *)&raddr;
    msg.namelen = rlen;
    msg.lpBuffers = &buf;
    msg.dwBufferCount = 1;
    memset(control, 0, sizeof(control));
    cmsg->cmsg_level = IPPROTO_IP;
    cmsg->cmsg_type = IP_WFP_REDIRECT_RECORDS;
    cmsg->cmsg_len = WSA_CMSG_LEN(8);

    /* a message that runs past the buffer */
    msg.Control.buf = (char *)control;
    msg.Control.len = WSA_CMSG_LEN(8) - 1;
    WSASetLastError(0xdeadbeef);
    ret = pWSASendMsg(sender, &msg, 0, &sent, NULL, NULL);
    ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAEINVAL, "past the end: got %d, error %u\n", ret,
       WSAGetLastError());
    /* a length shorter than the header */
    cmsg->cmsg_len = sizeof(WSACMSGHDR) - 1;
    msg.Control.len = sizeof(control);
    WSASetLastError(0xdeadbeef);
    ret = pWSASendMsg(sender, &msg, 0, &sent, NULL, NULL);
    ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAEINVAL, "short: got %d, error %u\n", ret, WSAGetLastError());
    /* empty records */
    cmsg->cmsg_len = WSA_CMSG_LEN(0);
    msg.Control.len = WSA_CMSG_SPACE(0);
    WSASetLastError(0xdeadbeef);
    ret = pWSASendMsg(sender, &msg, 0, &sent, NULL, NULL);
    ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAEINVAL, "empty: got %d, error %u\n", ret, WSAGetLastError());
    /* misaligned */
    cmsg->cmsg_len = WSA_CMSG_LEN(8);
    msg.Control.buf = (char *)control + 1;
    msg.Control.len = WSA_CMSG_SPACE(8);
    WSASetLastError(0xdeadbeef);
    ret = pWSASendMsg(sender, &msg, 0, &sent, NULL, NULL);
    ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAEINVAL, "misaligned: got %d, error %u\n", ret,
       WSAGetLastError());
    /* unreadable */
    msg.Control.buf = noaccess_page();
    msg.Control.len = 64;
    WSASetLastError(0xdeadbeef);
    ret = pWSASendMsg(sender, &msg, 0, &sent, NULL, NULL);
    ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAEFAULT, "unreadable: got %d, error %u\n", ret,
       WSAGetLastError());
    ok(!datagram_waiting(r), "a datagram was sent\n");

    /* messages it does not take are left to the send as before */
    cmsg->cmsg_type = IP_PKTINFO;
    cmsg->cmsg_len = WSA_CMSG_LEN(sizeof(IN_PKTINFO));
    msg.Control.buf = (char *)control;
    msg.Control.len = WSA_CMSG_SPACE(sizeof(IN_PKTINFO));
    ret = pWSASendMsg(sender, &msg, 0, &sent, NULL, NULL);
    ok(!ret, "got %d, error %u\n", ret, WSAGetLastError());
    ok(datagram_waiting(r), "no datagram\n");

    closesocket(sender);
    closesocket(r);
}

/* A destination that cannot be read: WSAEFAULT, as the sendto and
 * WSASendMsg pages document, with nothing sent; and the socket still sends
 * (stock Wine faulted after queueing the send, and every later send of the
 * socket waited behind it).  A TCP socket ignores it. */
static void test_send_bad_name(void)
{
    SOCKADDR_STORAGE raddr, saddr;
    WSABUF buf = { 8, (char *)"datagram" };
    WSAOVERLAPPED overlapped;
    SOCKET r, sender;
    char received[16];
    WSAMSG msg;
    DWORD sent;
    int rlen, slen, ret;
    void *noaccess;

    if (sizeof(void *) == 4 && !strcmp(winetest_platform, "wine"))
    {
        skip("32-bit processes run stock Wine's ntdll.so, whose sends stay stuck after a bad name\n");
        return;
    }
    noaccess = noaccess_page();
    r = udp_socket(AF_INET, &raddr, &rlen);
    sender = udp_socket(AF_INET, &saddr, &slen);

    WSASetLastError(0xdeadbeef);
    ret = sendto(sender, "datagram", 8, 0, noaccess, rlen);
    ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAEFAULT, "sendto: got %d, error %u\n", ret, WSAGetLastError());

    memset(&overlapped, 0, sizeof(overlapped));
    overlapped.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
    WSASetLastError(0xdeadbeef);
    ret = WSASendTo(sender, &buf, 1, &sent, 0, noaccess, rlen, &overlapped, NULL);
    ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAEFAULT, "overlapped WSASendTo: got %d, error %u\n", ret,
       WSAGetLastError());
    CloseHandle(overlapped.hEvent);

    memset(&msg, 0, sizeof(msg));
    msg.name = noaccess;
    msg.namelen = rlen;
    msg.lpBuffers = &buf;
    msg.dwBufferCount = 1;
    WSASetLastError(0xdeadbeef);
    ret = pWSASendMsg(sender, &msg, 0, &sent, NULL, NULL);
    ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAEFAULT, "WSASendMsg: got %d, error %u\n", ret,
       WSAGetLastError());
    ok(!datagram_waiting(r), "a datagram was sent\n");

    ret = sendto(sender, "datagram", 8, 0, (struct sockaddr *)&raddr, rlen);
    ok(ret == 8, "the next send: got %d, error %u\n", ret, WSAGetLastError());
    ok(datagram_waiting(r), "the next send did not arrive\n");
    ret = recv(r, received, sizeof(received), 0);
    ok(ret == 8, "got %d, error %u\n", ret, WSAGetLastError());
    closesocket(sender);
    closesocket(r);

    /* a connection-oriented socket ignores the destination (the sendto
     * page; Wine's test_sendto gives one that is not an address) */
    plain_pair(AF_INET, &sender, &r);
    ret = sendto(sender, "datagram", 8, 0, noaccess, rlen);
    ok(ret == 8, "TCP: got %d, error %u\n", ret, WSAGetLastError());
    ret = recv(r, received, sizeof(received), 0);
    ok(ret == 8, "TCP: got %d, error %u\n", ret, WSAGetLastError());
    closesocket(sender);
    closesocket(r);

    VirtualFree(noaccess, 0, MEM_RELEASE);
}

/* wine-wfp makes the control data of a received datagram in ntdll.so,
 * and the 32-bit one it runs 32-bit programs with is still stock Wine's:
 * it gives no WFP messages, and loses a datagram whose control buffer it
 * cannot write (see the README). */
static BOOL udp_control_unsupported(void)
{
    if (sizeof(void *) == 4 && !strcmp(winetest_platform, "wine"))
    {
        skip("32-bit processes get no UDP control data from wine-wfp yet\n");
        return TRUE;
    }
    return FALSE;
}

/* A control buffer that WSARecvMsg cannot write fails the call with
 * WSAEFAULT before anything is taken: the datagram is there for the next
 * call.  (Wine wrote control data unchecked after the receive, which lost
 * the datagram and left the socket unreadable.) */
static void test_udp_bad_control(int family)
{
    DWORD control_len, flags, size, error, value = 1;
    SOCKADDR_STORAGE raddr, saddr;
    char control[2048];
    int rlen, slen, ret;
    SOCKET r, sender;
    void *noaccess;

    if (udp_control_unsupported()) return;
    winetest_push_context(family == AF_INET ? "IPv4" : "IPv6");
    noaccess = noaccess_page();
    r = udp_socket(family, &raddr, &rlen);
    set_option(r, family, IP_WFP_REDIRECT_RECORDS, 1);
    ret = setsockopt(r, family == AF_INET ? IPPROTO_IP : IPPROTO_IPV6, family == AF_INET ? IP_PKTINFO : IPV6_PKTINFO,
                     (char *)&value, sizeof(value));
    ok(!ret, "setsockopt failed, error %u\n", WSAGetLastError());
    sender = udp_socket(family, &saddr, &slen);
    ret = sendto(sender, "datagram", 8, 0, (struct sockaddr *)&raddr, rlen);
    ok(ret == 8, "sendto failed, error %u\n", WSAGetLastError());
    ok(datagram_waiting(r), "nothing arrived\n");

    error = recv_with_control(r, RECV_SYNC, noaccess, 64, &control_len, &flags, &size);
    ok(error == WSAEFAULT, "no access: got error %lu\n", error);
    ok(datagram_waiting(r), "the datagram is gone\n");
    error = recv_with_control(r, RECV_SYNC, control, sizeof(control), &control_len, &flags, &size);
    ok(!error && size == 8, "got error %lu, size %lu\n", error, size);

    closesocket(sender);
    closesocket(r);
    VirtualFree(noaccess, 0, MEM_RELEASE);
    winetest_pop_context();
}

/* Without a redirector, the records that WSASendMsg gives a flow reach a
 * UDP socket of this wineserver that asked for them, with the first
 * datagram of the flow, as the records of a TCP connection do. */
static void test_udp_carried(int family)
{
    static const char blob[] = "the records of a UDP flow, opaque to the wineserver";
    int level = family == AF_INET ? IPPROTO_IP : IPPROTO_IPV6, rlen, slen, ret;
    SOCKADDR_STORAGE raddr, saddr;
    DWORD control_len, flags, size, error, data_size;
    enum recv_mode mode;
    char control[2048];
    const BYTE *data;
    SOCKET r, sender;

    if (redirect.enabled || strcmp(winetest_platform, "wine"))
    {
        skip("records without a redirector are Wine's\n");
        return;
    }
    if (udp_control_unsupported()) return;
    winetest_push_context("family %d", family);
    r = udp_socket(family, &raddr, &rlen);
    set_option(r, family, IP_WFP_REDIRECT_RECORDS, 1);
    iocp_socket = INVALID_SOCKET;  /* the handle value of a closed socket may come back */

    for (mode = RECV_SYNC; mode <= RECV_IOCP; mode++)
    {
        winetest_push_context("%s", recv_mode_names[mode]);
        sender = udp_socket(family, &saddr, &slen);
        ret = send_with_records(sender, &raddr, rlen, level, blob, sizeof(blob));
        ok(!ret, "send failed, error %u\n", WSAGetLastError());
        ret = send_with_records(sender, &raddr, rlen, 0, NULL, 0);
        ok(!ret, "send failed, error %u\n", WSAGetLastError());

        memset(control, 0xcc, sizeof(control));
        error = recv_with_control(r, mode, control, sizeof(control), &control_len, &flags, &size);
        ok(!error && size == 8, "got error %lu, size %lu\n", error, size);
        ok(!flags, "got flags %#lx\n", flags);
        data = find_message(control, control_len, level, IP_WFP_REDIRECT_RECORDS, &data_size);
        ok(data && data_size == sizeof(blob) && !memcmp(data, blob, sizeof(blob)),
           "got %p, %lu bytes of %lu\n", data, data ? data_size : 0, control_len);
        ok(control_len == WSA_CMSG_SPACE(sizeof(blob)), "got %lu bytes of control data\n", control_len);

        /* the flow's second datagram has none */
        error = recv_with_control(r, mode, control, sizeof(control), &control_len, &flags, &size);
        ok(!error && size == 8, "second: got error %lu, size %lu\n", error, size);
        ok(!control_len, "second: got %lu bytes of control data\n", control_len);
        closesocket(sender);
        winetest_pop_context();
    }

    /* a control buffer too small: MSG_CTRUNC, the datagram all the same */
    sender = udp_socket(family, &saddr, &slen);
    ret = send_with_records(sender, &raddr, rlen, level, blob, sizeof(blob));
    ok(!ret, "send failed, error %u\n", WSAGetLastError());
    error = recv_with_control(r, RECV_SYNC, control, 16, &control_len, &flags, &size);
    ok(error == WSAEMSGSIZE, "short: got error %lu\n", error);
    ok(flags == MSG_CTRUNC, "short: got flags %#lx\n", flags);
    closesocket(sender);

    /* a connected socket's flow, without a name */
    sender = udp_socket(family, &saddr, &slen);
    ret = connect(sender, (struct sockaddr *)&raddr, rlen);
    ok(!ret, "connect failed, error %u\n", WSAGetLastError());
    ret = send_with_records(sender, NULL, 0, level, blob, 9);
    ok(!ret, "connected: send failed, error %u\n", WSAGetLastError());
    error = recv_with_control(r, RECV_SYNC, control, sizeof(control), &control_len, &flags, &size);
    data = find_message(control, control_len, level, IP_WFP_REDIRECT_RECORDS, &data_size);
    ok(!error && data && data_size == 9 && !memcmp(data, blob, 9), "connected: got error %lu, %p\n", error, data);
    closesocket(sender);

    /* only the context asked for: the flow has none */
    set_option(r, family, IP_WFP_REDIRECT_RECORDS, 0);
    set_option(r, family, IP_WFP_REDIRECT_CONTEXT, 1);
    sender = udp_socket(family, &saddr, &slen);
    ret = send_with_records(sender, &raddr, rlen, level, blob, sizeof(blob));
    ok(!ret, "send failed, error %u\n", WSAGetLastError());
    error = recv_with_control(r, RECV_SYNC, control, sizeof(control), &control_len, &flags, &size);
    ok(!error && !control_len, "context only: got error %lu, %lu bytes of control data\n", error, control_len);
    closesocket(sender);
    closesocket(r);

    /* a dual-stack socket gets an IPv4 flow's records at the IPv4 level */
    if (family == AF_INET6)
    {
        SOCKADDR_STORAGE v4addr;
        struct sockaddr_in *in = (struct sockaddr_in *)&v4addr;
        DWORD v6only = 0;

        r = WSASocketW(AF_INET6, SOCK_DGRAM, IPPROTO_UDP, NULL, 0, WSA_FLAG_OVERLAPPED);
        setsockopt(r, IPPROTO_IPV6, IPV6_V6ONLY, (char *)&v6only, sizeof(v6only));
        memset(&raddr, 0, sizeof(raddr));
        raddr.ss_family = AF_INET6;
        ret = bind(r, (struct sockaddr *)&raddr, sizeof(struct sockaddr_in6));
        ok(!ret, "bind failed, error %u\n", WSAGetLastError());
        rlen = sizeof(raddr);
        getsockname(r, (struct sockaddr *)&raddr, &rlen);
        set_option(r, AF_INET6, IPV6_WFP_REDIRECT_RECORDS, 1);
        loopback_addr(AF_INET, ntohs(((struct sockaddr_in6 *)&raddr)->sin6_port), &v4addr, &rlen);
        sender = udp_socket(AF_INET, &saddr, &slen);
        ret = send_with_records(sender, &v4addr, sizeof(*in), IPPROTO_IP, blob, sizeof(blob));
        ok(!ret, "send failed, error %u\n", WSAGetLastError());
        error = recv_with_control(r, RECV_SYNC, control, sizeof(control), &control_len, &flags, &size);
        data = find_message(control, control_len, IPPROTO_IP, IP_WFP_REDIRECT_RECORDS, &data_size);
        ok(!error && data && data_size == sizeof(blob), "dual-stack: got error %lu, %p\n", error, data);
        closesocket(sender);
        closesocket(r);
    }
    winetest_pop_context();
}

/* What a transparent UDP proxy gets from a redirector: the records and the
 * context with the first datagram of each redirected flow, in every mode
 * (as ebpf-for-windows' tests read them); its replies reach the client
 * from the original destination.  It forwards with WSASendMsg and the
 * records, and the redirector leaves that flow alone; altered records fail
 * the send with WSAEINVAL, and nothing is sent. */
static void test_udp_redirected(int family)
{
    int level = family == AF_INET ? IPPROTO_IP : IPPROTO_IPV6, plen, clen, olen, ret, len;
    DWORD control_len, flags, size, error, records_size = 0, data_size;
    SOCKADDR_STORAGE paddr, caddr, oaddr, from;
    const SOCKADDR_STORAGE *context;
    const struct sockaddr *orig;
    char control[2048], buffer[64];
    BYTE records[2048];
    enum recv_mode mode;
    const BYTE *data;
    SOCKET proxy, client, origin, out;

    if (!redirect.enabled)
    {
        skip("no redirector: WFP_TEST_REDIRECT is not set ('make check' sets it up as root)\n");
        return;
    }
    if (udp_control_unsupported()) return;
    winetest_push_context(family == AF_INET ? "IPv4" : "IPv6");
    orig = family == AF_INET ? (struct sockaddr *)&redirect.orig4 : (struct sockaddr *)&redirect.orig6;
    olen = family == AF_INET ? sizeof(redirect.orig4) : sizeof(redirect.orig6);
    proxy = WSASocketW(family, SOCK_DGRAM, IPPROTO_UDP, NULL, 0, WSA_FLAG_OVERLAPPED);
    loopback_addr(family, redirect.proxy_port, &paddr, &plen);
    ret = bind(proxy, (struct sockaddr *)&paddr, plen);
    ok(!ret, "bind failed, error %u\n", WSAGetLastError());
    set_option(proxy, family, IP_WFP_REDIRECT_RECORDS, 1);
    set_option(proxy, family, IP_WFP_REDIRECT_CONTEXT, 1);
    iocp_socket = INVALID_SOCKET;

    for (mode = RECV_SYNC; mode <= RECV_IOCP; mode++)
    {
        winetest_push_context("%s", recv_mode_names[mode]);
        client = udp_socket(family, &caddr, &clen);
        ret = sendto(client, "datagram", 8, 0, orig, olen);
        ok(ret == 8, "sendto failed, error %u\n", WSAGetLastError());
        ret = sendto(client, "datagram", 8, 0, orig, olen);
        ok(ret == 8, "sendto failed, error %u\n", WSAGetLastError());
        if (!datagram_waiting(proxy))
        {
            ok(0, "the flow was not redirected to the proxy\n");
            closesocket(client);
            winetest_pop_context();
            break;
        }

        memset(control, 0xcc, sizeof(control));
        error = recv_with_control(proxy, mode, control, sizeof(control), &control_len, &flags, &size);
        ok(!error && size == 8, "got error %lu, size %lu\n", error, size);
        ok(!flags, "got flags %#lx\n", flags);
        data = find_message(control, control_len, level, IP_WFP_REDIRECT_RECORDS, &data_size);
        ok(data && data_size && data_size <= sizeof(records), "records: got %p, %lu bytes\n", data,
           data ? data_size : 0);
        if (data && data_size <= sizeof(records)) memcpy(records, data, (records_size = data_size));
        context = (const SOCKADDR_STORAGE *)find_message(control, control_len, level, IP_WFP_REDIRECT_CONTEXT,
                                                         &data_size);
        ok(context && data_size == CONTEXT_SIZE, "context: got %p, %lu bytes\n", context, context ? data_size : 0);
        if (context)
        {
            check_sockaddr((SOCKADDR_STORAGE *)&context[0], orig, "context destination");
            check_sockaddr((SOCKADDR_STORAGE *)&context[1], (struct sockaddr *)&caddr, "context source");
        }

        /* the flow's second datagram has none */
        error = recv_with_control(proxy, mode, control, sizeof(control), &control_len, &flags, &size);
        ok(!error && size == 8, "second: got error %lu, size %lu\n", error, size);
        ok(!control_len, "second: got %lu bytes of control data\n", control_len);

        /* a reply comes from where the client sent its datagram */
        ret = sendto(proxy, "reply", 5, 0, (struct sockaddr *)&caddr, clen);
        ok(ret == 5, "reply failed, error %u\n", WSAGetLastError());
        len = sizeof(from);
        memset(&from, 0xcc, sizeof(from));
        ok(datagram_waiting(client), "no reply\n");
        ret = recvfrom(client, buffer, sizeof(buffer), 0, (struct sockaddr *)&from, &len);
        ok(ret == 5, "recvfrom failed, error %u\n", WSAGetLastError());
        check_sockaddr(&from, orig, "reply source");
        closesocket(client);
        winetest_pop_context();
    }

    /* the proxy's own flow to the original destination, with the records:
     * not redirected again, and the destination gets the records */
    origin = WSASocketW(family, SOCK_DGRAM, IPPROTO_UDP, NULL, 0, WSA_FLAG_OVERLAPPED);
    memcpy(&oaddr, orig, olen);
    ret = bind(origin, (struct sockaddr *)&oaddr, olen);
    ok(!ret, "bind failed, error %u\n", WSAGetLastError());
    set_option(origin, family, IP_WFP_REDIRECT_RECORDS, 1);
    out = udp_socket(family, &caddr, &clen);
    ret = send_with_records(out, &oaddr, olen, level, records, records_size);
    ok(!ret, "forward: got %d, error %u\n", ret, WSAGetLastError());
    ok(!datagram_waiting(proxy), "the proxy's own flow came back to it\n");
    ok(datagram_waiting(origin), "the origin got nothing\n");
    error = recv_with_control(origin, RECV_SYNC, control, sizeof(control), &control_len, &flags, &size);
    data = find_message(control, control_len, level, IP_WFP_REDIRECT_RECORDS, &data_size);
    ok(!error && size == 8, "origin: got error %lu, size %lu\n", error, size);
    ok(data && data_size == records_size && !memcmp(data, records, records_size),
       "origin: got %p, %lu bytes of %lu\n", data, data ? data_size : 0, records_size);
    closesocket(out);

    /* records altered in any byte are refused, and the datagram stays */
    if (records_size)
    {
        records[records_size / 2] ^= 1;
        out = udp_socket(family, &caddr, &clen);
        ret = send_with_records(out, &oaddr, olen, level, records, records_size);
        ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAEINVAL, "altered: got %d, error %u\n", ret,
           WSAGetLastError());
        ok(!datagram_waiting(origin), "altered: the datagram was sent\n");
        ok(!datagram_waiting(proxy), "altered: the datagram was sent\n");
        closesocket(out);
    }
    closesocket(origin);
    closesocket(proxy);

    /* A connected socket answers the queries for its flow, as Microsoft's
     * page for them has it ("the connected socket for a TCP socket or a
     * UDP socket"): the same records and context. */
    proxy = WSASocketW(family, SOCK_DGRAM, IPPROTO_UDP, NULL, 0, WSA_FLAG_OVERLAPPED);
    ret = bind(proxy, (struct sockaddr *)&paddr, plen);
    ok(!ret, "bind failed, error %u\n", WSAGetLastError());
    client = udp_socket(family, &caddr, &clen);
    ret = query(proxy, SIO_QUERY_WFP_CONNECTION_REDIRECT_RECORDS, records, sizeof(records), &size);
    ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAENOPROTOOPT, "not connected: got %d, error %u\n", ret,
       WSAGetLastError());
    ret = connect(proxy, (struct sockaddr *)&caddr, clen);
    ok(!ret, "connect failed, error %u\n", WSAGetLastError());
    ret = sendto(client, "datagram", 8, 0, orig, olen);
    ok(ret == 8, "sendto failed, error %u\n", WSAGetLastError());
    ok(datagram_waiting(proxy), "the flow was not redirected to the connected socket\n");
    ret = query(proxy, SIO_QUERY_WFP_CONNECTION_REDIRECT_RECORDS, records, sizeof(records), &size);
    ok(!ret && size && size <= sizeof(records), "connected: got %d, error %u, size %lu\n", ret, WSAGetLastError(),
       size);
    if (!ret)
    {
        ret = query(proxy, SIO_QUERY_WFP_CONNECTION_REDIRECT_RECORDS, control, sizeof(control), &data_size);
        ok(!ret && data_size == size && !memcmp(control, records, size), "a second query gave other records\n");
        ret = query(proxy, SIO_QUERY_WFP_CONNECTION_REDIRECT_RECORDS, NULL, 0, &data_size);
        ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAEFAULT && data_size == size,
           "size query: got %d, error %u, size %lu\n", ret, WSAGetLastError(), data_size);
    }
    ret = query(proxy, SIO_QUERY_WFP_CONNECTION_REDIRECT_CONTEXT, control, sizeof(control), &size);
    ok(!ret && size == CONTEXT_SIZE, "context: got %d, error %u, size %lu\n", ret, WSAGetLastError(), size);
    if (!ret)
    {
        check_sockaddr((SOCKADDR_STORAGE *)control, orig, "context destination");
        check_sockaddr((SOCKADDR_STORAGE *)control + 1, (struct sockaddr *)&caddr, "context source");
    }
    closesocket(client);
    closesocket(proxy);

    /* a connected socket whose flow nothing redirected has no records */
    proxy = udp_socket(family, &paddr, &plen);
    client = udp_socket(family, &caddr, &clen);
    ret = connect(proxy, (struct sockaddr *)&caddr, clen);
    ok(!ret, "connect failed, error %u\n", WSAGetLastError());
    ret = query(proxy, SIO_QUERY_WFP_CONNECTION_REDIRECT_RECORDS, records, sizeof(records), &size);
    ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAEINVAL, "plain: got %d, error %u\n", ret, WSAGetLastError());
    ret = query(proxy, SIO_QUERY_WFP_CONNECTION_REDIRECT_CONTEXT, control, sizeof(control), &size);
    ok(ret == SOCKET_ERROR && WSAGetLastError() == WSAEINVAL, "plain context: got %d, error %u\n", ret,
       WSAGetLastError());
    closesocket(client);
    closesocket(proxy);
    winetest_pop_context();
}

START_TEST(wfp)
{
    WSADATA data;

    WSAStartup(MAKEWORD(2, 2), &data);
    read_redirect_config();
    if (!redirect.enabled)
        skip("WFP_TEST_REDIRECT is not set: the redirected cases need a redirector "
             "(as root, 'make check' sets up an nftables rule in a network namespace)\n");

    test_constants();
    test_query_errors();
    test_set_errors();
    test_endpoint_handle();
    test_delivery_modes();
    test_redirected(AF_INET);
    test_redirected(AF_INET6);
    test_accepted_in_turn(AF_INET);
    test_accepted_in_turn(AF_INET6);
    test_blocking_accept(AF_INET);
    test_blocking_accept(AF_INET6);
    test_acceptex_into_set_socket(AF_INET);
    test_acceptex_into_set_socket(AF_INET6);
    test_reused_endpoints(AF_INET);
    test_reused_endpoints(AF_INET6);
    test_concurrency();
    test_carried_records(AF_INET);
    test_carried_records(AF_INET6);
    test_sockopts();
    test_no_mark_option();
    get_msg_functions();
    test_udp_plain(AF_INET);
    test_udp_plain(AF_INET6);
    test_udp_send_errors();
    test_send_bad_name();
    test_udp_carried(AF_INET);
    test_udp_carried(AF_INET6);
    test_udp_redirected(AF_INET);
    test_udp_redirected(AF_INET6);
    test_udp_bad_control(AF_INET);
    test_udp_bad_control(AF_INET6);

    WSACleanup();
}
