/*
 * WFP connection redirection: per-socket state, contexts and the key
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
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <netinet/in.h>

#include "wfp_store.h"
#include "wfp_pending.h"

unsigned int wfp_conn_count;

struct wfp_conn *wfp_conn_get( struct wfp_conn **slot )
{
    if (!*slot && (*slot = calloc( 1, sizeof(**slot) ))) wfp_conn_count++;
    return *slot;
}

/*
 * Readers: a small table by flow id, of the sockets that have some.  Only
 * proxies that hand accepted sockets to other processes fill it.
 */
#define READER_BUCKETS 256

static struct wfp_readers *reader_buckets[READER_BUCKETS];

static struct wfp_readers **reader_bucket( uint64_t flow_id )
{
    return &reader_buckets[(flow_id ^ (flow_id >> 32)) % READER_BUCKETS];
}

static void drop_readers( struct wfp_conn *wfp )
{
    struct wfp_readers **slot;

    if (!wfp->readers) return;
    for (slot = reader_bucket( wfp->readers->flow_id ); *slot; slot = &(*slot)->next)
    {
        if (*slot != wfp->readers) continue;
        *slot = wfp->readers->next;
        break;
    }
    free( wfp->readers );
    wfp->readers = NULL;
}

static int same_process( const struct wfp_process_id *a, const struct wfp_process_id *b )
{
    return a->pid == b->pid && a->server == b->server && a->start == b->start;
}

enum wfp_store_result wfp_conn_add_reader( struct wfp_conn *wfp, uint64_t flow_id,
                                             const struct wfp_process_id *reader )
{
    struct wfp_readers *readers = wfp->readers, **bucket;
    unsigned int i;

    if (readers && readers->flow_id != flow_id) drop_readers( wfp );   /* other records now */
    if ((readers = wfp->readers))
    {
        for (i = 0; i < readers->count; i++) if (same_process( &readers->ids[i], reader )) return WFP_STORE_OK;
        if (readers->count == WFP_MAX_READERS) return WFP_STORE_TOO_MANY_READERS;
    }
    else
    {
        if (!(readers = calloc( 1, sizeof(*readers) ))) return WFP_STORE_NO_MEMORY;
        readers->flow_id = flow_id;
        bucket = reader_bucket( flow_id );
        readers->next = *bucket;
        *bucket = readers;
        wfp->readers = readers;
    }
    readers->ids[readers->count++] = *reader;
    return WFP_STORE_OK;
}

/* Was this process handed an open socket whose records end with this flow? */
int wfp_flow_has_reader( uint64_t flow_id, const struct wfp_process_id *reader )
{
    const struct wfp_readers *readers;
    unsigned int i;

    for (readers = *reader_bucket( flow_id ); readers; readers = readers->next)
    {
        if (readers->flow_id != flow_id) continue;
        for (i = 0; i < readers->count; i++) if (same_process( &readers->ids[i], reader )) return 1;
    }
    return 0;
}

/*
 * UDP flows that rules redirected: a list of all, since a proxy asks by
 * the flow's endpoints, and each socket's, which go with it.
 */
struct wfp_udp_note *wfp_udp_notes;
unsigned int wfp_udp_note_count;

/* A new note for the socket, zeroed but for its links; its oldest goes
 * when the socket has WFP_UDP_NOTES_PER_SOCKET.  NULL when the server has
 * WFP_UDP_NOTES_MAX or no memory. */
struct wfp_udp_note *wfp_udp_note_add( struct wfp_conn *wfp )
{
    struct wfp_udp_note *note, *oldest = NULL;
    unsigned int count = 0;

    for (note = wfp->udp_notes; note; note = note->next) { oldest = note; count++; }
    if (count >= WFP_UDP_NOTES_PER_SOCKET) wfp_udp_note_free( wfp, oldest );
    if (wfp_udp_note_count >= WFP_UDP_NOTES_MAX || !(note = calloc( 1, sizeof(*note) ))) return NULL;
    note->next = wfp->udp_notes;
    wfp->udp_notes = note;
    if ((note->all_next = wfp_udp_notes)) wfp_udp_notes->all_prev = &note->all_next;
    note->all_prev = &wfp_udp_notes;
    wfp_udp_notes = note;
    wfp_udp_note_count++;
    return note;
}

void wfp_udp_note_free( struct wfp_conn *wfp, struct wfp_udp_note *note )
{
    struct wfp_udp_note **slot;

    for (slot = &wfp->udp_notes; *slot; slot = &(*slot)->next)
    {
        if (*slot != note) continue;
        *slot = note->next;
        break;
    }
    if ((*note->all_prev = note->all_next)) note->all_next->all_prev = note->all_prev;
    wfp_udp_note_count--;
    free( note );
}

/* An accept into a socket starts from here; a UDP socket's notes stay
 * with it. */
void (*wfp_conn_free_hook)( struct wfp_conn *wfp );

void wfp_conn_reset( struct wfp_conn *wfp )
{
    struct wfp_udp_note *notes = wfp->udp_notes;

    if ((wfp->callout_client || wfp->callout_request) && wfp_conn_free_hook) wfp_conn_free_hook( wfp );
    free( wfp->connect_context );
    free( wfp->context );
    wfp_pending_free( wfp->arrival );
    wfp_pending_orphan( wfp->note );
    drop_readers( wfp );
    free( wfp->records );
    memset( wfp, 0, sizeof(*wfp) );
    wfp->udp_notes = notes;
}

void wfp_conn_free( struct wfp_conn *wfp )
{
    if (!wfp) return;
    while (wfp->udp_notes) wfp_udp_note_free( wfp, wfp->udp_notes );
    wfp_conn_reset( wfp );
    free( wfp );
    wfp_conn_count--;
}

/* A socket takes over the connection of another (AcceptEx of a connection
 * that WSAAccept deferred). */
void wfp_conn_move( struct wfp_conn **to, struct wfp_conn **from )
{
    wfp_conn_free( *to );
    *to = *from;
    *from = NULL;
}

static void replace_records( struct wfp_conn *wfp, uint8_t *records, size_t size, int inbound )
{
    drop_readers( wfp );
    free( wfp->records );
    wfp->records = records;
    wfp->records_size = size;
    wfp->inbound = inbound;
}

/* Keep a blob that SET handed in and wfp_records_decode() authenticated;
 * size is the blob's own (its *used), not the caller's buffer's: a proxy
 * may hand back its whole query buffer. */
enum wfp_store_result wfp_conn_keep_records( struct wfp_conn *wfp, const void *blob, size_t size )
{
    uint8_t *copy;

    if (!(copy = malloc( size ))) return WFP_STORE_NO_MEMORY;
    memcpy( copy, blob, size );
    replace_records( wfp, copy, size, 0 );
    return WFP_STORE_OK;
}

/* Give the socket the records of an earlier chain (or none) plus one hop. */
enum wfp_store_result wfp_conn_add_hop( struct wfp_conn *wfp, const struct wfp_records *earlier,
                                          const struct wfp_hop *hop, const uint8_t key[WFP_RECORDS_KEY_SIZE] )
{
    struct wfp_records records;
    uint8_t *blob;
    size_t size;

    if (earlier) records = *earlier;
    else records.hop_count = 0;
    if (records.hop_count >= WFP_RECORDS_MAX_HOPS) return WFP_STORE_TOO_MANY_HOPS;
    records.hops[records.hop_count++] = *hop;

    size = WFP_RECORDS_SIZE( records.hop_count );
    if (!(blob = malloc( size ))) return WFP_STORE_NO_MEMORY;
    if (wfp_records_encode( &records, key, blob, size ) != size)
    {
        free( blob );
        return WFP_STORE_INVALID;
    }
    replace_records( wfp, blob, size, 1 );
    return WFP_STORE_OK;
}

/* the socket's records were authenticated, or made, when it got them */
int wfp_conn_last_hop( const struct wfp_conn *wfp, struct wfp_hop *hop )
{
    struct wfp_records records;

    if (!wfp || !wfp->records) return 0;
    if (wfp_records_read( wfp->records, wfp->records_size, &records ) != WFP_RECORDS_OK) return 0;
    *hop = records.hops[records.hop_count - 1];
    return 1;
}

/* Unix sockaddr to endpoint; a v4-mapped IPv6 address becomes IPv4, so
 * that a dual-stack listener and an IPv4 client agree on the address. */
int wfp_endpoint_from_sockaddr( const struct sockaddr *addr, socklen_t len, struct wfp_endpoint *endpoint )
{
    memset( endpoint, 0, sizeof(*endpoint) );

    if (addr->sa_family == AF_INET && len >= sizeof(struct sockaddr_in))
    {
        const struct sockaddr_in *in = (const struct sockaddr_in *)addr;

        endpoint->family = 4;
        endpoint->port = ntohs( in->sin_port );
        memcpy( endpoint->addr, &in->sin_addr, 4 );
        return 1;
    }
    if (addr->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6))
    {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)addr;

        endpoint->port = ntohs( in6->sin6_port );
        if (IN6_IS_ADDR_V4MAPPED( &in6->sin6_addr ))
        {
            endpoint->family = 4;
            memcpy( endpoint->addr, &in6->sin6_addr.s6_addr[12], 4 );
        }
        else
        {
            endpoint->family = 6;
            endpoint->scope_id = in6->sin6_scope_id;
            memcpy( endpoint->addr, &in6->sin6_addr, 16 );
        }
        return 1;
    }
    return 0;
}

static void put_le16( uint8_t *p, uint16_t v ) { p[0] = v; p[1] = v >> 8; }
static void put_le32( uint8_t *p, uint32_t v ) { put_le16( p, v ); put_le16( p + 2, v >> 16 ); }

/* Write a Windows SOCKADDR_IN, or a SOCKADDR_IN6 if the endpoint is IPv6
 * or want_ipv6 asks for one (IPv4 then becomes v4-mapped).  Returns the
 * size written, 0 if it does not fit or IPv6 cannot be written as IPv4. */
size_t wfp_endpoint_to_win_sockaddr( const struct wfp_endpoint *endpoint, int want_ipv6,
                                     uint8_t *buffer, size_t size )
{
    static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

    if (endpoint->family == 4 && !want_ipv6)
    {
        if (size < WFP_SOCKADDR_IN_SIZE) return 0;
        memset( buffer, 0, WFP_SOCKADDR_IN_SIZE );
        put_le16( buffer, 2 );                    /* AF_INET */
        buffer[2] = endpoint->port >> 8;
        buffer[3] = endpoint->port;
        memcpy( buffer + 4, endpoint->addr, 4 );
        return WFP_SOCKADDR_IN_SIZE;
    }
    if (endpoint->family != 4 && endpoint->family != 6) return 0;
    if (!want_ipv6 && endpoint->family == 6) return 0;
    if (size < WFP_SOCKADDR_IN6_SIZE) return 0;

    memset( buffer, 0, WFP_SOCKADDR_IN6_SIZE );
    put_le16( buffer, 23 );                       /* AF_INET6 */
    buffer[2] = endpoint->port >> 8;
    buffer[3] = endpoint->port;
    if (endpoint->family == 4)
    {
        memcpy( buffer + 8, v4mapped, sizeof(v4mapped) );
        memcpy( buffer + 20, endpoint->addr, 4 );
    }
    else
    {
        memcpy( buffer + 8, endpoint->addr, 16 );
        put_le32( buffer + 24, endpoint->scope_id );
    }
    return WFP_SOCKADDR_IN6_SIZE;
}

/* The default context of a hop: SOCKADDR_STORAGE[2], original destination
 * then original source, each in its own family. */
size_t wfp_context_default( const struct wfp_hop *hop, uint8_t *buffer, size_t size )
{
    if (size < WFP_CONTEXT_DEFAULT_SIZE) return 0;
    memset( buffer, 0, WFP_CONTEXT_DEFAULT_SIZE );
    if (!wfp_endpoint_to_win_sockaddr( &hop->original_dst, hop->original_dst.family == 6,
                                       buffer, WFP_SOCKADDR_STORAGE_SIZE )) return 0;
    if (!wfp_endpoint_to_win_sockaddr( &hop->original_src, hop->original_src.family == 6,
                                       buffer + WFP_SOCKADDR_STORAGE_SIZE, WFP_SOCKADDR_STORAGE_SIZE )) return 0;
    return WFP_CONTEXT_DEFAULT_SIZE;
}

/*
 * The key.  Every wineserver of one user must use the same key, so that
 * records issued by one are accepted by another (a proxy in one prefix,
 * its client in another).  It lives in a directory private to the user,
 * /tmp/.wine-wfp-<uid> unless WINE_WFP_KEY_DIR names another one, and is
 * made of random bytes the first time any of them needs it.  Nothing but
 * the wineservers reads it: Windows programs see only tagged blobs.
 */

#define KEY_FILE "redirect-key"

const char *wfp_key_default_dir( char *buffer, size_t size )
{
    const char *dir = getenv( "WINE_WFP_KEY_DIR" );

    if (dir && dir[0] == '/') snprintf( buffer, size, "%s", dir );
    else snprintf( buffer, size, "/tmp/.wine-wfp-%u", (unsigned int)getuid() );
    return buffer;
}

static int fail( char *error, size_t error_size, const char *what, const char *path )
{
    snprintf( error, error_size, "%s %s: %s", what, path, strerror( errno ) );
    return 0;
}

static int refuse( char *error, size_t error_size, const char *path, const char *why )
{
    snprintf( error, error_size, "%s %s", path, why );
    return 0;
}

/* Read the key through an open file, checking that nobody else could have
 * written or read it. */
static int read_key( int fd, const char *path, uint8_t key[WFP_RECORDS_KEY_SIZE], char *error, size_t error_size )
{
    struct stat st;
    size_t done = 0;
    ssize_t ret;

    if (fstat( fd, &st ) == -1) return fail( error, error_size, "cannot stat", path );
    if (!S_ISREG( st.st_mode )) return refuse( error, error_size, path, "is not a regular file" );
    if (st.st_uid != getuid()) return refuse( error, error_size, path, "is not owned by this user" );
    if (st.st_mode & 077) return refuse( error, error_size, path, "is accessible by other users" );
    if (st.st_size != WFP_RECORDS_KEY_SIZE) return refuse( error, error_size, path, "has the wrong size" );

    while (done < WFP_RECORDS_KEY_SIZE)
    {
        if ((ret = read( fd, key + done, WFP_RECORDS_KEY_SIZE - done )) > 0) done += ret;
        else if (ret == -1 && errno == EINTR) continue;
        else return ret ? fail( error, error_size, "cannot read", path )
                        : refuse( error, error_size, path, "is truncated" );
    }
    return 1;
}

static int random_bytes( uint8_t *buffer, size_t size )
{
    size_t done = 0;
    ssize_t ret;

    while (done < size)
    {
        if ((ret = getrandom( buffer + done, size - done, 0 )) > 0) done += ret;
        else if (ret == -1 && errno == EINTR) continue;
        else return 0;
    }
    return 1;
}

/* Write a fresh key under a private name, then link it into place: link()
 * fails if another wineserver got there first, and readers never see a
 * partly written file. */
static int create_key( int dirfd, const char *dir, char *error, size_t error_size )
{
    uint8_t key[WFP_RECORDS_KEY_SIZE];
    char tmp[64];
    int fd, ok;

    if (!random_bytes( key, sizeof(key) )) return fail( error, error_size, "no random bytes for", dir );

    snprintf( tmp, sizeof(tmp), KEY_FILE ".%u.tmp", (unsigned int)getpid() );
    unlinkat( dirfd, tmp, 0 );
    if ((fd = openat( dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600 )) == -1)
        return fail( error, error_size, "cannot create a key in", dir );
    ok = write( fd, key, sizeof(key) ) == sizeof(key) && !fsync( fd );
    close( fd );
    memset( key, 0, sizeof(key) );
    if (ok && linkat( dirfd, tmp, dirfd, KEY_FILE, 0 ) == -1 && errno != EEXIST) ok = 0;
    unlinkat( dirfd, tmp, 0 );
    return ok ? 1 : fail( error, error_size, "cannot store a key in", dir );
}

int wfp_key_load( const char *dir, uint8_t key[WFP_RECORDS_KEY_SIZE], char *error, size_t error_size )
{
    struct stat st;
    int dirfd, fd, tries, ret = 0;

    if (mkdir( dir, 0700 ) == -1 && errno != EEXIST) return fail( error, error_size, "cannot create", dir );
    if ((dirfd = open( dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC )) == -1)
        return fail( error, error_size, "cannot open", dir );
    if (fstat( dirfd, &st ) == -1) ret = fail( error, error_size, "cannot stat", dir );
    else if (st.st_uid != getuid()) ret = refuse( error, error_size, dir, "is not owned by this user" );
    else if (st.st_mode & 077) ret = refuse( error, error_size, dir, "is accessible by other users" );
    else for (tries = 0; tries < 2; tries++)
    {
        if ((fd = openat( dirfd, KEY_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC )) != -1)
        {
            ret = read_key( fd, KEY_FILE, key, error, error_size );
            close( fd );
            break;
        }
        if (errno != ENOENT)
        {
            ret = fail( error, error_size, "cannot open the key in", dir );
            break;
        }
        if (!create_key( dirfd, dir, error, error_size )) break;
    }
    close( dirfd );
    return ret;
}
