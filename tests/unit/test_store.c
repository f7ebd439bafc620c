/*
 * Unit tests for the WFP redirect store (server/wfp_store.c)
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
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <cmocka.h>

#include "wfp_store.h"

static const uint8_t key[WFP_RECORDS_KEY_SIZE] = "0123456789abcdef0123456789abcdef";

static void make_hop( struct wfp_hop *hop, uint16_t port )
{
    memset( hop, 0, sizeof(*hop) );
    hop->service_kind = WFP_SERVICE_NETFILTER;
    hop->protocol = 6;
    hop->target_pid = 0x20;
    hop->flow_id = port;
    hop->original_dst.family = hop->original_src.family = 4;
    hop->original_dst.port = port;
    hop->original_src.port = 40000;
    memcpy( hop->original_dst.addr, "\x7f\x00\x00\x02", 4 );
    memcpy( hop->original_src.addr, "\x7f\x00\x00\x01", 4 );
}

static void test_socket_lifetime( void **state )
{
    struct wfp_conn *slot = NULL, *wfp;

    (void)state;
    wfp = wfp_conn_get( &slot );
    assert_non_null( wfp );
    assert_ptr_equal( slot, wfp );
    assert_ptr_equal( wfp_conn_get( &slot ), wfp );
    assert_null( wfp->records );
    assert_false( wfp->inbound );
    wfp_conn_free( wfp );
    wfp_conn_free( NULL );
}

static void test_add_hop( void **state )
{
    struct wfp_conn *slot = NULL, *wfp = wfp_conn_get( &slot );
    struct wfp_records records, chain;
    struct wfp_hop hop, last;
    unsigned int i;

    (void)state;
    make_hop( &hop, 8080 );
    assert_int_equal( wfp_conn_add_hop( wfp, NULL, &hop, key ), WFP_STORE_OK );
    assert_true( wfp->inbound );
    assert_int_equal( wfp->records_size, WFP_RECORDS_SIZE( 1 ) );
    assert_int_equal( wfp_records_decode( wfp->records, wfp->records_size, key, &records, NULL ), WFP_RECORDS_OK );
    assert_int_equal( records.hop_count, 1 );
    assert_true( wfp_conn_last_hop( wfp, &last ) );
    assert_int_equal( last.original_dst.port, 8080 );

    /* earlier hops come first, the new one last */
    chain.hop_count = 2;
    make_hop( &chain.hops[0], 1 );
    make_hop( &chain.hops[1], 2 );
    make_hop( &hop, 3 );
    assert_int_equal( wfp_conn_add_hop( wfp, &chain, &hop, key ), WFP_STORE_OK );
    assert_int_equal( wfp_records_decode( wfp->records, wfp->records_size, key, &records, NULL ), WFP_RECORDS_OK );
    assert_int_equal( records.hop_count, 3 );
    for (i = 0; i < 3; i++) assert_int_equal( records.hops[i].original_dst.port, i + 1 );

    /* a chain is capped */
    chain.hop_count = WFP_RECORDS_MAX_HOPS;
    for (i = 0; i < WFP_RECORDS_MAX_HOPS; i++) make_hop( &chain.hops[i], i );
    assert_int_equal( wfp_conn_add_hop( wfp, &chain, &hop, key ), WFP_STORE_TOO_MANY_HOPS );
    assert_int_equal( wfp->records_size, WFP_RECORDS_SIZE( 3 ) );   /* unchanged */

    wfp_conn_free( wfp );
    assert_false( wfp_conn_last_hop( NULL, &last ) );
}

/* what SET does: authenticate, then keep the blob alone */
static enum wfp_store_result set_records( struct wfp_conn *wfp, const void *blob, size_t size,
                                          enum wfp_records_status *status )
{
    struct wfp_records records;
    size_t used;

    if ((*status = wfp_records_decode( blob, size, key, &records, &used )) != WFP_RECORDS_OK)
        return WFP_STORE_INVALID;
    return wfp_conn_keep_records( wfp, blob, used );
}

static void test_set_records( void **state )
{
    struct wfp_conn *slot = NULL, *wfp = wfp_conn_get( &slot );
    enum wfp_records_status status;
    struct wfp_records records;
    uint8_t blob[2048];
    struct wfp_hop hop;
    size_t len;

    (void)state;
    memset( blob, 0xee, sizeof(blob) );
    records.hop_count = 1;
    make_hop( &records.hops[0], 443 );
    len = wfp_records_encode( &records, key, blob, sizeof(blob) );

    /* a whole query buffer: only the blob at its start is kept */
    assert_int_equal( set_records( wfp, blob, sizeof(blob), &status ), WFP_STORE_OK );
    assert_int_equal( status, WFP_RECORDS_OK );
    assert_int_equal( wfp->records_size, len );
    assert_memory_equal( wfp->records, blob, len );
    assert_false( wfp->inbound );
    assert_true( wfp_conn_last_hop( wfp, &hop ) );
    assert_int_equal( hop.original_dst.port, 443 );

    /* refused blobs leave the socket as it was */
    blob[10] ^= 1;
    assert_int_equal( set_records( wfp, blob, len, &status ), WFP_STORE_INVALID );
    assert_int_equal( status, WFP_RECORDS_BAD_TAG );
    assert_int_equal( wfp->records_size, len );
    assert_int_equal( set_records( wfp, blob, 3, &status ), WFP_STORE_INVALID );
    assert_int_equal( status, WFP_RECORDS_TRUNCATED );

    /* a second SET replaces the first */
    blob[10] ^= 1;
    records.hop_count = 2;
    make_hop( &records.hops[1], 8443 );
    len = wfp_records_encode( &records, key, blob, sizeof(blob) );
    assert_int_equal( set_records( wfp, blob, len, &status ), WFP_STORE_OK );
    assert_int_equal( wfp->records_size, WFP_RECORDS_SIZE( 2 ) );
    assert_true( wfp_conn_last_hop( wfp, &hop ) );
    assert_int_equal( hop.original_dst.port, 8443 );

    wfp_conn_free( wfp );
}

/* Processes that were handed an accepted socket and asked for its records
 * may use them while the socket is open; no other process can. */
static void test_readers( void **state )
{
    struct wfp_process_id target = { 1, 100, 0x20 }, worker = { 1, 200, 0x24 }, other = { 2, 200, 0x24 };
    struct wfp_conn *slot = NULL, *slot2 = NULL, *wfp = wfp_conn_get( &slot ), *wfp2 = wfp_conn_get( &slot2 );
    struct wfp_process_id many;
    struct wfp_hop hop;
    unsigned int i;

    (void)state;
    make_hop( &hop, 8080 );
    assert_int_equal( wfp_conn_add_hop( wfp, NULL, &hop, key ), WFP_STORE_OK );
    assert_false( wfp_flow_has_reader( hop.flow_id, &worker ) );
    assert_int_equal( wfp_conn_add_reader( wfp, hop.flow_id, &worker ), WFP_STORE_OK );
    assert_int_equal( wfp_conn_add_reader( wfp, hop.flow_id, &worker ), WFP_STORE_OK );
    assert_int_equal( wfp->readers->count, 1 );
    assert_true( wfp_flow_has_reader( hop.flow_id, &worker ) );
    /* the same pid and start in another wineserver, and another flow */
    assert_false( wfp_flow_has_reader( hop.flow_id, &other ) );
    assert_false( wfp_flow_has_reader( hop.flow_id + 256, &worker ) );
    assert_false( wfp_flow_has_reader( hop.flow_id, &target ) );

    /* another socket in the same bucket */
    make_hop( &hop, 8080 + 256 );
    assert_int_equal( wfp_conn_add_hop( wfp2, NULL, &hop, key ), WFP_STORE_OK );
    assert_int_equal( wfp_conn_add_reader( wfp2, hop.flow_id, &target ), WFP_STORE_OK );
    assert_true( wfp_flow_has_reader( 8080 + 256, &target ) );
    assert_true( wfp_flow_has_reader( 8080, &worker ) );

    /* capped per socket */
    for (i = 1; i < WFP_MAX_READERS; i++)
    {
        many = worker;
        many.pid += 4 * i;
        assert_int_equal( wfp_conn_add_reader( wfp, 8080, &many ), WFP_STORE_OK );
    }
    many.pid += 4;
    assert_int_equal( wfp_conn_add_reader( wfp, 8080, &many ), WFP_STORE_TOO_MANY_READERS );

    /* gone with the socket, or with its records */
    wfp_conn_free( wfp );
    assert_false( wfp_flow_has_reader( 8080, &worker ) );
    assert_true( wfp_flow_has_reader( 8080 + 256, &target ) );
    make_hop( &hop, 9090 );
    assert_int_equal( wfp_conn_add_hop( wfp2, NULL, &hop, key ), WFP_STORE_OK );
    assert_false( wfp_flow_has_reader( 8080 + 256, &target ) );
    assert_null( wfp2->readers );
    wfp_conn_free( wfp2 );
}

/* An accept into a socket starts from a clean state. */
static void test_reset( void **state )
{
    struct wfp_process_id worker = { 1, 200, 0x24 };
    struct wfp_conn *slot = NULL, *wfp = wfp_conn_get( &slot );
    struct wfp_hop hop;

    (void)state;
    make_hop( &hop, 8080 );
    assert_int_equal( wfp_conn_add_hop( wfp, NULL, &hop, key ), WFP_STORE_OK );
    assert_int_equal( wfp_conn_add_reader( wfp, hop.flow_id, &worker ), WFP_STORE_OK );
    wfp->redirect_checked = wfp->marked = 1;
    wfp_conn_reset( wfp );
    assert_null( wfp->records );
    assert_int_equal( wfp->records_size, 0 );
    assert_false( wfp->inbound );
    assert_false( wfp->redirect_checked );
    assert_null( wfp->readers );
    assert_false( wfp_flow_has_reader( hop.flow_id, &worker ) );
    wfp_conn_free( wfp );
}

/* a socket's UDP notes: capped per socket (the oldest goes), kept across
 * a reset, gone with the socket, and in the server's list meanwhile */
static void test_udp_notes( void **state )
{
    struct wfp_conn *a = NULL, *b = NULL;
    struct wfp_udp_note *note, *first;
    unsigned int i, count;

    (void)state;
    assert_non_null( wfp_conn_get( &a ) );
    assert_non_null( wfp_conn_get( &b ) );
    assert_non_null( first = wfp_udp_note_add( a ) );
    first->rule_service = 1;
    for (i = 2; i <= WFP_UDP_NOTES_PER_SOCKET + 1; i++)
    {
        assert_non_null( note = wfp_udp_note_add( a ) );
        note->rule_service = i;
    }
    assert_non_null( note = wfp_udp_note_add( b ) );
    note->rule_service = 9999;
    assert_int_equal( wfp_udp_note_count, WFP_UDP_NOTES_PER_SOCKET + 1 );
    for (count = 0, note = a->udp_notes; note; note = note->next, count++)
        assert_int_not_equal( note->rule_service, 1 );
    assert_int_equal( count, WFP_UDP_NOTES_PER_SOCKET );
    assert_int_equal( a->udp_notes->rule_service, WFP_UDP_NOTES_PER_SOCKET + 1 );

    wfp_conn_reset( a );
    for (count = 0, note = wfp_udp_notes; note; note = note->all_next, count++)
        assert_ptr_equal( *note->all_prev, note );
    assert_int_equal( count, WFP_UDP_NOTES_PER_SOCKET + 1 );

    wfp_udp_note_free( a, a->udp_notes->next );
    assert_int_equal( wfp_udp_note_count, WFP_UDP_NOTES_PER_SOCKET );
    wfp_conn_free( a );
    assert_int_equal( wfp_udp_note_count, 1 );
    assert_ptr_equal( wfp_udp_notes, b->udp_notes );
    assert_int_equal( wfp_udp_notes->rule_service, 9999 );
    wfp_conn_free( b );
    assert_int_equal( wfp_udp_note_count, 0 );
    assert_null( wfp_udp_notes );
}

static void test_endpoint_from_sockaddr( void **state )
{
    struct sockaddr_in in;
    struct sockaddr_in6 in6;
    struct wfp_endpoint ep;

    (void)state;
    memset( &in, 0, sizeof(in) );
    in.sin_family = AF_INET;
    in.sin_port = htons( 8080 );
    in.sin_addr.s_addr = htonl( 0x7f000002 );
    assert_true( wfp_endpoint_from_sockaddr( (struct sockaddr *)&in, sizeof(in), &ep ) );
    assert_int_equal( ep.family, 4 );
    assert_int_equal( ep.port, 8080 );
    assert_memory_equal( ep.addr, "\x7f\x00\x00\x02", 4 );
    assert_false( wfp_endpoint_from_sockaddr( (struct sockaddr *)&in, sizeof(in) - 1, &ep ) );

    memset( &in6, 0, sizeof(in6) );
    in6.sin6_family = AF_INET6;
    in6.sin6_port = htons( 443 );
    in6.sin6_scope_id = 7;
    in6.sin6_addr.s6_addr[0] = 0xfe;
    in6.sin6_addr.s6_addr[1] = 0x80;
    in6.sin6_addr.s6_addr[15] = 9;
    assert_true( wfp_endpoint_from_sockaddr( (struct sockaddr *)&in6, sizeof(in6), &ep ) );
    assert_int_equal( ep.family, 6 );
    assert_int_equal( ep.port, 443 );
    assert_int_equal( ep.scope_id, 7 );
    assert_int_equal( ep.addr[0], 0xfe );

    /* a dual-stack listener sees ::ffff:127.0.0.2; it is the IPv4 address */
    memset( &in6.sin6_addr, 0, sizeof(in6.sin6_addr) );
    in6.sin6_addr.s6_addr[10] = in6.sin6_addr.s6_addr[11] = 0xff;
    memcpy( &in6.sin6_addr.s6_addr[12], "\x7f\x00\x00\x02", 4 );
    in6.sin6_port = htons( 8080 );
    in6.sin6_scope_id = 0;
    assert_true( wfp_endpoint_from_sockaddr( (struct sockaddr *)&in6, sizeof(in6), &ep ) );
    {
        struct wfp_endpoint v4;
        assert_true( wfp_endpoint_from_sockaddr( (struct sockaddr *)&in, sizeof(in), &v4 ) );
        assert_true( wfp_endpoint_equal( &ep, &v4 ) );
    }

    in.sin_family = AF_UNIX;
    assert_false( wfp_endpoint_from_sockaddr( (struct sockaddr *)&in, sizeof(in), &ep ) );
}

static void test_win_sockaddr( void **state )
{
    static const uint8_t sin[16] = { 2, 0, 0x1f, 0x90, 127, 0, 0, 2 };
    static const uint8_t sin6_mapped[28] = { 23, 0, 0x1f, 0x90, 0, 0, 0, 0,
                                             0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 2 };
    struct wfp_hop hop;
    uint8_t buffer[WFP_CONTEXT_DEFAULT_SIZE], zero[128];

    (void)state;
    make_hop( &hop, 8080 );
    assert_int_equal( wfp_endpoint_to_win_sockaddr( &hop.original_dst, 0, buffer, sizeof(buffer) ), 16 );
    assert_memory_equal( buffer, sin, sizeof(sin) );
    assert_int_equal( wfp_endpoint_to_win_sockaddr( &hop.original_dst, 1, buffer, sizeof(buffer) ), 28 );
    assert_memory_equal( buffer, sin6_mapped, sizeof(sin6_mapped) );
    assert_int_equal( wfp_endpoint_to_win_sockaddr( &hop.original_dst, 0, buffer, 15 ), 0 );
    assert_int_equal( wfp_endpoint_to_win_sockaddr( &hop.original_dst, 1, buffer, 27 ), 0 );

    hop.original_dst.family = 6;
    hop.original_dst.scope_id = 0x01020304;
    memset( hop.original_dst.addr, 0, 16 );
    hop.original_dst.addr[15] = 1;
    assert_int_equal( wfp_endpoint_to_win_sockaddr( &hop.original_dst, 0, buffer, sizeof(buffer) ), 0 );
    assert_int_equal( wfp_endpoint_to_win_sockaddr( &hop.original_dst, 1, buffer, sizeof(buffer) ), 28 );
    assert_int_equal( buffer[0], 23 );
    assert_int_equal( buffer[23], 1 );
    assert_memory_equal( buffer + 24, "\x04\x03\x02\x01", 4 );

    /* the default context: SOCKADDR_STORAGE[2], destination then source */
    make_hop( &hop, 8080 );
    memset( buffer, 0xcc, sizeof(buffer) );
    memset( zero, 0, sizeof(zero) );
    assert_int_equal( wfp_context_default( &hop, buffer, sizeof(buffer) ), WFP_CONTEXT_DEFAULT_SIZE );
    assert_memory_equal( buffer, sin, sizeof(sin) );
    assert_memory_equal( buffer + 16, zero, 128 - 16 );
    assert_int_equal( buffer[128], 2 );
    assert_int_equal( buffer[130] << 8 | buffer[131], 40000 );
    assert_memory_equal( buffer + 132, "\x7f\x00\x00\x01", 4 );
    assert_memory_equal( buffer + 144, zero, 128 - 16 );
    assert_int_equal( wfp_context_default( &hop, buffer, WFP_CONTEXT_DEFAULT_SIZE - 1 ), 0 );
}

static char *make_temp_dir( void )
{
    char *dir = strdup( "/tmp/wfp-key-test-XXXXXX" );
    assert_non_null( mkdtemp( dir ) );
    return dir;
}

static void remove_dir( const char *dir )
{
    char cmd[512];
    snprintf( cmd, sizeof(cmd), "rm -rf '%s'", dir );
    assert_int_equal( system( cmd ), 0 );
}

static void test_key_create_and_reload( void **state )
{
    uint8_t key1[WFP_RECORDS_KEY_SIZE], key2[WFP_RECORDS_KEY_SIZE];
    char *base = make_temp_dir(), dir[512], path[600], error[512];
    struct stat st;

    (void)state;
    snprintf( dir, sizeof(dir), "%s/keys", base );
    assert_true( wfp_key_load( dir, key1, error, sizeof(error) ) );
    assert_int_equal( stat( dir, &st ), 0 );
    assert_int_equal( st.st_mode & 0777, 0700 );
    snprintf( path, sizeof(path), "%s/redirect-key", dir );
    assert_int_equal( stat( path, &st ), 0 );
    assert_int_equal( st.st_mode & 0777, 0600 );
    assert_int_equal( st.st_size, WFP_RECORDS_KEY_SIZE );

    /* every later load, as another wineserver would, gets the same key */
    assert_true( wfp_key_load( dir, key2, error, sizeof(error) ) );
    assert_memory_equal( key1, key2, sizeof(key1) );

    /* and a fresh directory another one */
    remove_dir( dir );
    assert_true( wfp_key_load( dir, key2, error, sizeof(error) ) );
    assert_memory_not_equal( key1, key2, sizeof(key1) );
    remove_dir( base );
    free( base );
}

/* Wineservers starting together agree on one key. */
static void test_key_race( void **state )
{
    uint8_t keys[8][WFP_RECORDS_KEY_SIZE];
    char *dir = make_temp_dir(), keydir[512], error[512];
    int fds[8][2], i;
    pid_t pids[8];

    (void)state;
    snprintf( keydir, sizeof(keydir), "%s/k", dir );
    for (i = 0; i < 8; i++)
    {
        assert_int_equal( pipe( fds[i] ), 0 );
        if (!(pids[i] = fork()))
        {
            uint8_t k[WFP_RECORDS_KEY_SIZE];
            if (!wfp_key_load( keydir, k, error, sizeof(error) )) _exit( 1 );
            if (write( fds[i][1], k, sizeof(k) ) != sizeof(k)) _exit( 1 );
            _exit( 0 );
        }
        close( fds[i][1] );
    }
    for (i = 0; i < 8; i++)
    {
        int status;
        assert_int_equal( read( fds[i][0], keys[i], sizeof(keys[i]) ), sizeof(keys[i]) );
        close( fds[i][0] );
        waitpid( pids[i], &status, 0 );
        assert_true( WIFEXITED( status ) && !WEXITSTATUS( status ) );
        assert_memory_equal( keys[i], keys[0], sizeof(keys[0]) );
    }
    remove_dir( dir );
    free( dir );
}

static void test_key_refused( void **state )
{
    uint8_t k[WFP_RECORDS_KEY_SIZE];
    char *dir = make_temp_dir(), path[600], error[512];
    int fd;

    (void)state;
    /* a directory others can enter */
    chmod( dir, 0755 );
    assert_false( wfp_key_load( dir, k, error, sizeof(error) ) );
    assert_non_null( strstr( error, "accessible by other users" ) );
    chmod( dir, 0700 );

    /* a key file others can read */
    snprintf( path, sizeof(path), "%s/redirect-key", dir );
    fd = open( path, O_WRONLY | O_CREAT, 0644 );
    assert_int_equal( write( fd, k, sizeof(k) ), sizeof(k) );
    close( fd );
    chmod( path, 0644 );
    assert_false( wfp_key_load( dir, k, error, sizeof(error) ) );
    assert_non_null( strstr( error, "accessible by other users" ) );

    /* a key of the wrong size */
    chmod( path, 0600 );
    assert_int_equal( truncate( path, 5 ), 0 );
    assert_false( wfp_key_load( dir, k, error, sizeof(error) ) );
    assert_non_null( strstr( error, "wrong size" ) );

    /* a symbolic link planted in place of the key */
    unlink( path );
    assert_int_equal( symlink( "/etc/hostname", path ), 0 );
    assert_false( wfp_key_load( dir, k, error, sizeof(error) ) );

    /* a symbolic link in place of the directory */
    {
        char link[600];
        snprintf( link, sizeof(link), "%s/link", dir );
        unlink( path );
        assert_int_equal( symlink( dir, link ), 0 );
        assert_false( wfp_key_load( link, k, error, sizeof(error) ) );
    }
    remove_dir( dir );
    free( dir );
}

static void test_key_default_dir( void **state )
{
    char buffer[256], expect[64];

    (void)state;
    unsetenv( "WINE_WFP_KEY_DIR" );
    snprintf( expect, sizeof(expect), "/tmp/.wine-wfp-%u", (unsigned int)getuid() );
    assert_string_equal( wfp_key_default_dir( buffer, sizeof(buffer) ), expect );
    setenv( "WINE_WFP_KEY_DIR", "/run/somewhere", 1 );
    assert_string_equal( wfp_key_default_dir( buffer, sizeof(buffer) ), "/run/somewhere" );
    setenv( "WINE_WFP_KEY_DIR", "relative", 1 );   /* ignored */
    assert_string_equal( wfp_key_default_dir( buffer, sizeof(buffer) ), expect );
    unsetenv( "WINE_WFP_KEY_DIR" );
}

int main( void )
{
    const struct CMUnitTest tests[] =
    {
        cmocka_unit_test( test_socket_lifetime ),
        cmocka_unit_test( test_add_hop ),
        cmocka_unit_test( test_set_records ),
        cmocka_unit_test( test_readers ),
        cmocka_unit_test( test_reset ),
        cmocka_unit_test( test_udp_notes ),
        cmocka_unit_test( test_endpoint_from_sockaddr ),
        cmocka_unit_test( test_win_sockaddr ),
        cmocka_unit_test( test_key_create_and_reload ),
        cmocka_unit_test( test_key_race ),
        cmocka_unit_test( test_key_refused ),
        cmocka_unit_test( test_key_default_dir ),
    };
    return cmocka_run_group_tests_name( "wfp_store", tests, NULL, NULL );
}
