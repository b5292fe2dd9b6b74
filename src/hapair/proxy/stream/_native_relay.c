/* The L4 relay outside the interpreter: one thread with its own epoll loop moves the bytes of plain TCP
 * (or unix) stream sessions, as relay.py's SpliceDirection and session.py's relaying do on the event loop.
 *
 * Python keeps the sockets: `add` hands their descriptors over, the thread relays until the session ends
 * (EOF, a failed send, `proxy_timeout`), takes them out of its epoll set, and puts the session on the
 * finished list, then signals `notify_fd` (an eventfd) once for the whole list; Python reads it with
 * `finished()` and closes the sockets. `remove()` ends a session at once, synchronously (the service's
 * abort). A mutex guards the session table: the thread holds it while it handles a batch of events and
 * releases it while it waits, so `add`/`remove` never see a session half handled. The thread never takes
 * the GIL and never touches a Python object.
 *
 * Per direction (client -> upstream, upstream -> client), as relay.py:
 * - the bytes read are all sent before the source is read again; while the destination is full the source
 *   is not read (back-pressure);
 * - a read is copied through the thread's scratch buffer and sent at once; a read that fills it (a bulk
 *   transfer) switches the direction to splice(2) through a pipe, socket -> pipe -> socket;
 * - a TCP read copied under SMALL_READ has drained the source (tcp_recvmsg stops short only on an empty
 *   queue, a FIN or urgent data, which the edge says): once sent, wait for the next readiness; other
 *   reads go on to EAGAIN;
 * - a read error counts as EOF (nginx), a send error ends the session ("broken", status 200);
 * - after ROUNDS moves, the other sessions get their turn.
 * Both descriptors are in the epoll set once for the session's life, edge-triggered, for reading and
 * writing (as nginx): an edge sets the direction's src_ready or dst_ready, an EAGAIN (or a read that
 * drained its TCP source) clears it, so a direction waiting in turn for either costs no epoll_ctl, and
 * epoll_wait does not poll again every descriptor it reported the time before (level-triggered: one
 * tcp_poll more a message). A direction that stops after ROUNDS while still ready is posted: the next
 * epoll_wait does not sleep, and it runs again after that batch's events.
 * The session ends as session.py's direction_ended says (half_close off: the first direction to end; on:
 * shutdown(SHUT_WR) of its destination, end when both have), or when it had no event for its timeout
 * (a heap of deadlines: a wake-up looks at the sessions due only).
 */
#define _GNU_SOURCE
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "_deadlines.h"
#include "_handles.h"

#define SMALL_READ (1 << 16)   /* the scratch buffer; a read that fills it switches to splice */
#define PIPE_SIZE (1 << 20)
#define ROUNDS 16              /* moves per event before the other sessions get their turn */
#define MAX_EVENTS 256
#define POOLED_PIPES 64
#define THREAD_STACK (256 * 1024)
#define SPLICE_FLAGS (SPLICE_F_MOVE | SPLICE_F_NONBLOCK)
#define WAKE_DATA UINT64_MAX
#define WATCHED (EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLPRI | EPOLLET)
#define UNDRAINED (EPOLLRDHUP | EPOLLPRI | EPOLLHUP | EPOLLERR) /* a short read may leave bytes behind */

enum { RELAYING, ENDED };
enum { CLIENT_SIDE = 0, UPSTREAM_SIDE = 1 };

typedef struct {
    int read_fd, write_fd;
    size_t capacity;
} pipe_t;

typedef struct {
    int src, dst;
    pipe_t pipe;          /* read_fd -1: none yet (copies through the scratch buffer) */
    char *held;           /* the pending bytes when copied, not spliced: in scratch or in `own` */
    char *own;            /* what a send left of a copy, kept out of the scratch buffer */
    size_t pending;       /* bytes read and not yet sent */
    long long received, sent;
    int eof, reading, writing; /* waiting for src to be readable, or for dst to be writable */
    int src_ready, dst_ready;  /* what the last edge said, until an EAGAIN says otherwise */
    int drains;                /* src is TCP: a copied read under SMALL_READ emptied it... */
    int src_undrained;         /* ...unless an edge said its end (nginx's pending_eof) or urgent data is
                                * there: tcp_recvmsg stops short at the FIN and before the urgent byte;
                                * read on to EAGAIN */
    int posted;                /* in the relay's posted list */
} direction_t;

typedef struct session {
    uint32_t index, generation;
    int state;
    int client_fd, upstream_fd;
    int client_watched, upstream_watched; /* in the epoll set */
    direction_t up, down;                /* client -> upstream, upstream -> client */
    int half_close, ended_directions;
    int64_t timeout_ns, added_ns, active_ns, first_byte_ns;
    deadline_t deadline; /* in the relay's deadlines */
    int status, shutdown_errno;
    struct session *previous, *next; /* in the finished list */
} session_t;

typedef struct {
    PyObject_HEAD
    pthread_mutex_t mutex;
    pthread_t thread;
    int started, stopping, closed;
    int epoll_fd, notify_fd, wake_fd;
    int64_t waiting_until; /* the deadline the thread's epoll_wait ends at (INT64_MAX: none) */
    handles_t sessions;
    deadlines_t deadlines;
    uint64_t *posted; /* directions to run again after the next batch (event_data, the direction's bit) */
    size_t posted_count, posted_capacity;
    session_t *finished_first, *finished_last;
    pipe_t pool[POOLED_PIPES];
    int pooled;
    long pipes_made; /* how many pipes bulk transfers took, in all */
    char *scratch;
} Relay;

/* The thread's system calls for each message, without glibc's wrappers: recv, send, splice and
 * epoll_wait are cancellation points, which in a process with threads turn asynchronous cancellation on
 * and off around every call (this thread is never cancelled). */
static ssize_t plain_recv(int fd, void *buffer, size_t size) {
    return syscall(SYS_recvfrom, fd, buffer, size, MSG_DONTWAIT, NULL, NULL);
}

static ssize_t plain_send(int fd, const void *buffer, size_t size) {
    return syscall(SYS_sendto, fd, buffer, size, MSG_DONTWAIT | MSG_NOSIGNAL, NULL, 0);
}

static ssize_t plain_splice(int from, int to, size_t size) {
    return syscall(SYS_splice, from, NULL, to, NULL, size, SPLICE_FLAGS);
}

static int plain_epoll_wait(int epoll_fd, struct epoll_event *events, int count, int timeout) {
    return (int)syscall(SYS_epoll_pwait, epoll_fd, events, count, timeout, NULL, (size_t)(_NSIG / 8));
}

/* -- pipes */

static int pipe_take(Relay *relay, pipe_t *pipe) {
    if (relay->pooled) {
        *pipe = relay->pool[--relay->pooled];
        return 0;
    }
    int fds[2];
    if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) < 0)
        return -1;
    (void)fcntl(fds[1], F_SETPIPE_SZ, PIPE_SIZE); /* over the limits the default size still works */
    int capacity = fcntl(fds[1], F_GETPIPE_SZ);
    pipe->read_fd = fds[0];
    pipe->write_fd = fds[1];
    pipe->capacity = capacity > 0 ? (size_t)capacity : 65536;
    relay->pipes_made++;
    return 0;
}

static void pipe_give_back(Relay *relay, pipe_t *pipe, int empty) {
    if (empty && relay->pooled < POOLED_PIPES) {
        relay->pool[relay->pooled++] = *pipe;
    } else {
        close(pipe->read_fd);
        close(pipe->write_fd);
    }
    pipe->read_fd = pipe->write_fd = -1;
}

/* -- sessions: their epoll registrations, their end */

static uint64_t event_data(session_t *session, int side) {
    return ((uint64_t)session->generation << 32) | ((uint64_t)session->index << 1) | (uint64_t)side;
}

/* `side`'s descriptor into the epoll set (`add`: in, else out of it). */
static int watch(Relay *relay, session_t *session, int side, int add) {
    int *watched = side == CLIENT_SIDE ? &session->client_watched : &session->upstream_watched;
    int fd = side == CLIENT_SIDE ? session->client_fd : session->upstream_fd;
    if (*watched == add)
        return 0;
    struct epoll_event event = {.events = WATCHED, .data.u64 = event_data(session, side)};
    if (epoll_ctl(relay->epoll_fd, add ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, fd, &event) < 0 && add)
        return -1;
    *watched = add;
    return 0;
}

static void direction_release(Relay *relay, direction_t *direction) {
    if (direction->pipe.read_fd >= 0)
        pipe_give_back(relay, &direction->pipe, direction->held != NULL || direction->pending == 0);
    free(direction->own);
    direction->own = direction->held = NULL;
    direction->reading = direction->writing = 0;
}

/* Let go of the descriptors and what the session holds beside its counts. */
static void session_let_go(Relay *relay, session_t *session) {
    session->up.reading = session->up.writing = session->down.reading = session->down.writing = 0;
    (void)watch(relay, session, CLIENT_SIDE, 0);
    (void)watch(relay, session, UPSTREAM_SIDE, 0);
    deadlines_remove(&relay->deadlines, &session->deadline);
    direction_release(relay, &session->up);
    direction_release(relay, &session->down);
}

static void finished_unlink(Relay *relay, session_t *session) {
    if (session->previous)
        session->previous->next = session->next;
    else
        relay->finished_first = session->next;
    if (session->next)
        session->next->previous = session->previous;
    else
        relay->finished_last = session->previous;
    session->previous = session->next = NULL;
}

static void session_end(Relay *relay, session_t *session, int status) {
    if (session->state != RELAYING)
        return;
    session->state = ENDED;
    session->status = status;
    session_let_go(relay, session);
    int was_empty = relay->finished_first == NULL;
    session->previous = relay->finished_last;
    session->next = NULL;
    if (relay->finished_last)
        relay->finished_last->next = session;
    else
        relay->finished_first = session;
    relay->finished_last = session;
    if (was_empty) {
        uint64_t one = 1;
        (void)!write(relay->notify_fd, &one, sizeof one);
    }
}

static void session_free(Relay *relay, session_t *session) {
    handles_release(&relay->sessions, session->index);
    free(session);
}

/* -- moving bytes one way */

static ssize_t direction_read(Relay *relay, direction_t *direction) {
    if (direction->pipe.read_fd >= 0)
        return plain_splice(direction->src, direction->pipe.write_fd, direction->pipe.capacity);
    ssize_t count = plain_recv(direction->src, relay->scratch, SMALL_READ);
    if (count > 0) {
        direction->held = relay->scratch;
        if (count == SMALL_READ)
            (void)pipe_take(relay, &direction->pipe); /* no pipe: it goes on copying */
    }
    return count;
}

static ssize_t direction_write(direction_t *direction) {
    if (direction->held == NULL)
        return plain_splice(direction->pipe.read_fd, direction->dst, direction->pending);
    ssize_t sent = plain_send(direction->dst, direction->held, direction->pending);
    if (sent > 0)
        direction->held = (size_t)sent == direction->pending ? NULL : direction->held + sent;
    return sent;
}

/* What a send left in the scratch buffer, out of it before another direction reads into it. */
static int direction_keep(Relay *relay, direction_t *direction) {
    char *held = direction->held;
    if (held == NULL || held < relay->scratch || held >= relay->scratch + SMALL_READ)
        return 0;
    char *own = malloc(direction->pending);
    if (own == NULL)
        return -1;
    memcpy(own, held, direction->pending);
    free(direction->own);
    direction->own = direction->held = own;
    return 0;
}

static void wait_readable(direction_t *direction) {
    direction->reading = 1;
    direction->writing = 0;
}

static int wait_writable(Relay *relay, direction_t *direction) {
    direction->reading = 0;
    direction->writing = 1;
    return direction_keep(relay, direction);
}

/* session.py's direction_ended */
static void direction_ended(Relay *relay, session_t *session, direction_t *direction) {
    direction->reading = direction->writing = 0;
    if (!session->half_close || ++session->ended_directions == 2) {
        session_end(relay, session, 200);
        return;
    }
    if (shutdown(direction->dst, SHUT_WR) < 0) {
        session->shutdown_errno = errno;
        session_end(relay, session, 500);
    }
}

/* Run `direction` again after the next batch of events (it stopped after ROUNDS while still ready). */
static int post(Relay *relay, session_t *session, direction_t *direction) {
    if (direction->posted)
        return 0;
    if (relay->posted_count == relay->posted_capacity) {
        size_t capacity = relay->posted_capacity ? 2 * relay->posted_capacity : 64;
        uint64_t *posted = realloc(relay->posted, capacity * sizeof *posted);
        if (posted == NULL)
            return -1;
        relay->posted = posted;
        relay->posted_capacity = capacity;
    }
    relay->posted[relay->posted_count++] = event_data(session, direction == &session->down);
    direction->posted = 1;
    return 0;
}

/* relay.py's Direction._run */
static void direction_run(Relay *relay, session_t *session, direction_t *direction, int64_t now) {
    int drained = 0;
    for (int round = 0; round < ROUNDS; round++) {
        if (direction->pending) {
            ssize_t moved = direction_write(direction);
            if (moved < 0) {
                if (errno == EAGAIN || errno == EINTR) {
                    direction->dst_ready = errno == EINTR;
                    if (wait_writable(relay, direction) < 0)
                        session_end(relay, session, 500);
                    else if (direction->dst_ready && post(relay, session, direction) < 0)
                        session_end(relay, session, 500);
                    return;
                }
                session_end(relay, session, 200); /* nginx finalizes a failed send with NGX_STREAM_OK */
                return;
            }
            direction->pending -= (size_t)moved;
            direction->sent += moved;
            if (drained && !direction->pending) {
                direction->src_ready = 0;
                break;
            }
            continue;
        }
        if (direction->eof) {
            direction_ended(relay, session, direction);
            return;
        }
        if (!direction->src_ready)
            break;
        int copying = direction->pipe.read_fd < 0;
        ssize_t moved = direction_read(relay, direction);
        if (moved < 0) {
            if (errno == EAGAIN) {
                direction->src_ready = 0;
                break;
            }
            if (errno == EINTR)
                break; /* still ready: posted below */
            moved = 0; /* a reset or other read error ends this direction as EOF does (nginx) */
        }
        if (moved) {
            if (direction == &session->down && !direction->received)
                session->first_byte_ns = now;
            direction->pending = (size_t)moved;
            direction->received += moved;
            drained = copying && direction->drains && !direction->src_undrained && moved < SMALL_READ;
        } else {
            direction->eof = 1;
        }
    }
    int ready;
    if (direction->pending) {
        if (wait_writable(relay, direction) < 0) {
            session_end(relay, session, 500);
            return;
        }
        ready = direction->dst_ready;
    } else {
        wait_readable(direction);
        ready = direction->src_ready || direction->eof;
    }
    if (ready && post(relay, session, direction) < 0)
        session_end(relay, session, 500);
}

/* Run `direction` if what it waits for is ready. */
static void direction_resume(Relay *relay, session_t *session, direction_t *direction, int64_t now) {
    if ((direction->reading && (direction->src_ready || direction->eof)) ||
        (direction->writing && direction->dst_ready))
        direction_run(relay, session, direction, now);
}

static void session_event(Relay *relay, session_t *session, int side, uint32_t events, int64_t now) {
    direction_t *reads = side == CLIENT_SIDE ? &session->up : &session->down;
    direction_t *writes = side == CLIENT_SIDE ? &session->down : &session->up;
    session->active_ns = now;
    if (events & (EPOLLIN | UNDRAINED))
        reads->src_ready = 1;
    if (events & UNDRAINED)
        reads->src_undrained = 1;
    if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
        writes->dst_ready = 1;
    direction_resume(relay, session, reads, now);
    if (session->state == RELAYING)
        direction_resume(relay, session, writes, now);
}

/* The directions posted before this batch, run again (those posted meanwhile wait for the next). */
static void run_posted(Relay *relay, size_t due, int64_t now) {
    for (size_t i = 0; i < due; i++) {
        uint64_t data = relay->posted[i];
        uint32_t index = (uint32_t)(data & 0xffffffffu) >> 1;
        session_t *session = handles_find(&relay->sessions, index, (uint32_t)(data >> 32));
        if (session == NULL)
            continue; /* freed since */
        direction_t *direction = data & 1 ? &session->down : &session->up;
        direction->posted = 0;
        if (session->state != RELAYING)
            continue;
        session->active_ns = now;
        direction_resume(relay, session, direction, now);
    }
    relay->posted_count -= due;
    memmove(relay->posted, relay->posted + due, relay->posted_count * sizeof *relay->posted);
}

static void expire_idle(Relay *relay, int64_t now) {
    deadline_t *first;
    while ((first = deadlines_first(&relay->deadlines)) != NULL && first->at_ns <= now) {
        session_t *session = DEADLINE_OWNER(first, session_t, deadline);
        int64_t deadline = session->active_ns + session->timeout_ns;
        if (now >= deadline)
            session_end(relay, session, 200); /* "connection timed out", finalized with NGX_STREAM_OK */
        else
            deadline_moved_on(&relay->deadlines, deadline);
    }
}

static int wait_timeout_ms(Relay *relay, int64_t now) {
    deadline_t *first = deadlines_first(&relay->deadlines);
    if (first == NULL) {
        relay->waiting_until = INT64_MAX;
        return relay->posted_count ? 0 : -1;
    }
    int64_t deadline = first->at_ns;
    relay->waiting_until = deadline;
    if (deadline <= now || relay->posted_count)
        return 0;
    int64_t wait = (deadline - now + 999999) / 1000000;
    return wait > INT32_MAX ? INT32_MAX : (int)wait;
}

static void *relay_thread(void *argument) {
    Relay *relay = argument;
    struct epoll_event events[MAX_EVENTS];
    pthread_mutex_lock(&relay->mutex);
    int64_t now = now_ns(); /* one clock read a batch: the wait's timeout takes the last batch's */
    for (;;) {
        int timeout = wait_timeout_ms(relay, now);
        pthread_mutex_unlock(&relay->mutex);
        int count = plain_epoll_wait(relay->epoll_fd, events, MAX_EVENTS, timeout);
        pthread_mutex_lock(&relay->mutex);
        if (relay->stopping)
            break;
        now = now_ns();
        size_t due = relay->posted_count;
        for (int i = 0; i < count; i++) {
            uint64_t data = events[i].data.u64;
            if (data == WAKE_DATA) {
                uint64_t value;
                (void)!read(relay->wake_fd, &value, sizeof value);
                continue;
            }
            uint32_t index = (uint32_t)(data & 0xffffffffu) >> 1;
            session_t *session = handles_find(&relay->sessions, index, (uint32_t)(data >> 32));
            if (session == NULL || session->state != RELAYING)
                continue; /* ended by an earlier event of this batch */
            session_event(relay, session, (int)(data & 1), events[i].events, now);
        }
        run_posted(relay, due, now);
        expire_idle(relay, now);
    }
    pthread_mutex_unlock(&relay->mutex);
    return NULL;
}

/* -- the Python type */

static void wake(Relay *relay) {
    uint64_t one = 1;
    (void)!write(relay->wake_fd, &one, sizeof one);
}

static int start_thread(Relay *relay) {
    pthread_attr_t attributes;
    sigset_t all, previous;
    if (pthread_attr_init(&attributes) != 0)
        return -1;
    (void)pthread_attr_setstacksize(&attributes, THREAD_STACK);
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &previous); /* signals are the interpreter's thread's */
    int failed = pthread_create(&relay->thread, &attributes, relay_thread, relay);
    pthread_sigmask(SIG_SETMASK, &previous, NULL);
    pthread_attr_destroy(&attributes);
    if (failed) {
        errno = failed;
        return -1;
    }
    relay->started = 1;
    return 0;
}

static PyObject *Relay_new(PyTypeObject *type, PyObject *args, PyObject *kwargs) {
    static char *keywords[] = {NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, ":Relay", keywords))
        return NULL;
    Relay *relay = (Relay *)type->tp_alloc(type, 0);
    if (relay == NULL)
        return NULL;
    relay->epoll_fd = relay->notify_fd = relay->wake_fd = -1;
    relay->closed = 1; /* until everything below is there */
    pthread_mutex_init(&relay->mutex, NULL);
    relay->scratch = malloc(SMALL_READ);
    if (relay->scratch == NULL) {
        Py_DECREF(relay);
        return PyErr_NoMemory();
    }
    relay->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    relay->notify_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    relay->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    struct epoll_event event = {.events = EPOLLIN, .data.u64 = WAKE_DATA};
    if (relay->epoll_fd < 0 || relay->notify_fd < 0 || relay->wake_fd < 0 ||
        epoll_ctl(relay->epoll_fd, EPOLL_CTL_ADD, relay->wake_fd, &event) < 0 || start_thread(relay) < 0) {
        PyErr_SetFromErrno(PyExc_OSError);
        Py_DECREF(relay);
        return NULL;
    }
    relay->closed = 0;
    return (PyObject *)relay;
}

static void relay_close(Relay *relay) {
    if (relay->started) {
        pthread_mutex_lock(&relay->mutex);
        relay->stopping = 1;
        wake(relay);
        pthread_mutex_unlock(&relay->mutex);
        Py_BEGIN_ALLOW_THREADS
        pthread_join(relay->thread, NULL);
        Py_END_ALLOW_THREADS
        relay->started = 0;
    }
    relay->closed = 1;
    for (uint32_t index = 0; index < relay->sessions.count; index++) {
        session_t *session = relay->sessions.slots[index];
        if (session != NULL) {
            if (session->state == RELAYING)
                session_let_go(relay, session);
            free(session);
            relay->sessions.slots[index] = NULL;
        }
    }
    relay->finished_first = relay->finished_last = NULL;
    relay->posted_count = 0;
    while (relay->pooled)
        pipe_give_back(relay, &relay->pool[--relay->pooled], 0);
    int *fds[] = {&relay->epoll_fd, &relay->notify_fd, &relay->wake_fd};
    for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++) {
        if (*fds[i] >= 0)
            close(*fds[i]);
        *fds[i] = -1;
    }
}

static void Relay_dealloc(Relay *relay) {
    relay_close(relay);
    handles_free(&relay->sessions);
    free(relay->deadlines.entries);
    free(relay->posted);
    free(relay->scratch);
    pthread_mutex_destroy(&relay->mutex);
    Py_TYPE(relay)->tp_free((PyObject *)relay);
}

static int closed_error(Relay *relay) {
    if (relay->closed)
        PyErr_SetString(PyExc_ValueError, "the relay is closed");
    return relay->closed;
}

static int is_tcp(int fd) {
    int protocol = 0;
    socklen_t length = sizeof protocol;
    return getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &protocol, &length) == 0 && protocol == IPPROTO_TCP;
}

/* Waiting for src, not ready until the edge that adding its descriptor to the epoll set gives. */
static void direction_init(direction_t *direction, int src, int dst) {
    direction->src = src;
    direction->dst = dst;
    direction->pipe.read_fd = direction->pipe.write_fd = -1;
    direction->reading = 1;
    direction->drains = is_tcp(src);
}

/* The session, registered; NULL with errno set. */
static session_t *session_add(Relay *relay, int client, int upstream, long long timeout_ms, int half_close,
                              const char *first, Py_ssize_t first_length) {
    uint32_t index, generation;
    if (handles_reserve(&relay->sessions, &index, &generation) < 0)
        return NULL;
    session_t *session = calloc(1, sizeof *session);
    if (session == NULL)
        return NULL;
    session->index = index;
    session->generation = generation;
    session->client_fd = client;
    session->upstream_fd = upstream;
    session->half_close = half_close;
    session->timeout_ns = timeout_ms * 1000000;
    session->added_ns = session->active_ns = now_ns();
    session->deadline.at_ns = session->added_ns + session->timeout_ns;
    session->first_byte_ns = -1;
    session->deadline.position = NO_HEAP;
    direction_init(&session->up, client, upstream);
    direction_init(&session->down, upstream, client);
    if (first_length) { /* what Python read before (preread, a PROXY protocol header) goes first */
        session->up.own = session->up.held = malloc((size_t)first_length);
        if (session->up.own == NULL) {
            free(session);
            return NULL;
        }
        memcpy(session->up.own, first, (size_t)first_length);
        session->up.pending = (size_t)first_length;
        session->up.reading = 0;
        session->up.writing = 1;
    }
    if (deadlines_push(&relay->deadlines, &session->deadline) < 0 || watch(relay, session, CLIENT_SIDE, 1) < 0 ||
        watch(relay, session, UPSTREAM_SIDE, 1) < 0) {
        int error = errno;
        session_let_go(relay, session);
        free(session);
        errno = error;
        return NULL;
    }
    handles_take(&relay->sessions, session->index, session);
    return session;
}

static PyObject *Relay_add(Relay *relay, PyObject *args) {
    int client, upstream, half_close;
    long long timeout_ms;
    const char *first = NULL;
    Py_ssize_t first_length = 0;
    if (!PyArg_ParseTuple(args, "iiLp|y#:add", &client, &upstream, &timeout_ms, &half_close, &first,
                          &first_length))
        return NULL;
    if (closed_error(relay))
        return NULL;
    if (client < 0 || upstream < 0 || client == upstream || timeout_ms < 0 || timeout_ms > INT64_MAX / 1000000) {
        PyErr_SetString(PyExc_ValueError, "add: two distinct descriptors and a timeout in ms are needed");
        return NULL;
    }
    pthread_mutex_lock(&relay->mutex);
    session_t *session = session_add(relay, client, upstream, timeout_ms, half_close, first, first_length);
    uint64_t handle = 0;
    if (session != NULL) {
        handle = handle_of(session->index, session->generation);
        if (session->deadline.at_ns < relay->waiting_until)
            wake(relay);
    }
    pthread_mutex_unlock(&relay->mutex);
    if (session == NULL)
        return PyErr_SetFromErrno(PyExc_OSError);
    return PyLong_FromUnsignedLongLong(handle);
}

/* What Python learns of an ended session, copied out under the mutex: the session is freed before any
 * Python object is made (making one may run the collector, and any code, remove() included). */
typedef struct {
    uint64_t handle;
    int status, shutdown_errno;
    long long client_received, client_sent, upstream_received, upstream_sent;
    double first_byte_s;
} outcome_t;

static outcome_t session_outcome(Relay *relay, session_t *session) {
    outcome_t outcome = {
        .handle = handle_of(session->index, session->generation),
        .status = session->status,
        .shutdown_errno = session->shutdown_errno,
        .client_received = session->up.received,
        .client_sent = session->down.sent,
        .upstream_received = session->down.received,
        .upstream_sent = session->up.sent,
        .first_byte_s = session->first_byte_ns < 0 ? -1.0
                                                   : (double)(session->first_byte_ns - session->added_ns) / 1e9,
    };
    session_free(relay, session);
    return outcome;
}

/* (handle, status, bytes from/to the client, bytes from/to the upstream, seconds from add to the
 * upstream's first byte or -1.0, errno of a failed shutdown or 0) */
static PyObject *outcome_tuple(const outcome_t *outcome) {
    return Py_BuildValue("(KiLLLLdi)", (unsigned long long)outcome->handle, outcome->status,
                         outcome->client_received, outcome->client_sent, outcome->upstream_received,
                         outcome->upstream_sent, outcome->first_byte_s, outcome->shutdown_errno);
}

static PyObject *Relay_finished(Relay *relay, PyObject *Py_UNUSED(ignored)) {
    if (closed_error(relay))
        return NULL;
    uint64_t value;
    (void)!read(relay->notify_fd, &value, sizeof value); /* before taking the list: none is missed */
    PyObject *results = PyList_New(0);
    while (results != NULL) {
        pthread_mutex_lock(&relay->mutex);
        session_t *session = relay->finished_first;
        if (session == NULL) {
            pthread_mutex_unlock(&relay->mutex);
            break;
        }
        finished_unlink(relay, session);
        outcome_t outcome = session_outcome(relay, session);
        pthread_mutex_unlock(&relay->mutex);
        PyObject *result = outcome_tuple(&outcome);
        if (result == NULL || PyList_Append(results, result) < 0)
            Py_CLEAR(results);
        Py_XDECREF(result);
    }
    return results;
}

static PyObject *Relay_remove(Relay *relay, PyObject *argument) {
    unsigned long long handle = PyLong_AsUnsignedLongLong(argument);
    if (PyErr_Occurred() || closed_error(relay))
        return NULL;
    uint32_t index = (uint32_t)handle;
    pthread_mutex_lock(&relay->mutex);
    session_t *session = handles_find(&relay->sessions, index, (uint32_t)(handle >> 32));
    if (session == NULL) {
        pthread_mutex_unlock(&relay->mutex);
        PyErr_Format(PyExc_KeyError, "no session %llu", handle);
        return NULL;
    }
    if (session->state == RELAYING) { /* status 0: it was relaying, not ended */
        session->state = ENDED;
        session_let_go(relay, session);
    } else {
        finished_unlink(relay, session);
    }
    outcome_t outcome = session_outcome(relay, session);
    pthread_mutex_unlock(&relay->mutex);
    return outcome_tuple(&outcome);
}

static PyObject *Relay_close(Relay *relay, PyObject *Py_UNUSED(ignored)) {
    relay_close(relay);
    Py_RETURN_NONE;
}

static PyObject *Relay_notify_fd(Relay *relay, void *Py_UNUSED(closure)) {
    return PyLong_FromLong(relay->notify_fd);
}

static PyObject *Relay_sessions(Relay *relay, void *Py_UNUSED(closure)) {
    pthread_mutex_lock(&relay->mutex);
    long count = (long)handles_used(&relay->sessions);
    pthread_mutex_unlock(&relay->mutex);
    return PyLong_FromLong(count);
}

static PyObject *Relay_pipes_made(Relay *relay, void *Py_UNUSED(closure)) {
    pthread_mutex_lock(&relay->mutex);
    long count = relay->pipes_made;
    pthread_mutex_unlock(&relay->mutex);
    return PyLong_FromLong(count);
}

static PyMethodDef Relay_methods[] = {
    {"add", (PyCFunction)Relay_add, METH_VARARGS,
     "add(client_fd, upstream_fd, idle_timeout_ms, half_close, first=b'') -> handle: relay a session "
     "(`first`: bytes to send the upstream before anything the client sends)"},
    {"finished", (PyCFunction)Relay_finished, METH_NOARGS,
     "finished() -> list of (handle, status, client_received, client_sent, upstream_received, upstream_sent, "
     "first_byte_s, shutdown_errno): the sessions ended since the last call"},
    {"remove", (PyCFunction)Relay_remove, METH_O,
     "remove(handle) -> the same tuple: end a session now, status 0 (or take its end from the finished "
     "list); the relay no longer touches its descriptors"},
    {"close", (PyCFunction)Relay_close, METH_NOARGS, "close(): stop the thread, forget every session"},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Relay_getset[] = {
    {"notify_fd", (getter)Relay_notify_fd, NULL, "readable when sessions have ended (finished())", NULL},
    {"pipes_made", (getter)Relay_pipes_made, NULL, "how many pipes bulk transfers took (to splice through)",
     NULL},
    {"sessions", (getter)Relay_sessions, NULL, "sessions relaying or ended and not yet collected", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject RelayType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "hapair.proxy.stream._native_relay.Relay",
    .tp_basicsize = sizeof(Relay),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A thread relaying plain stream sessions outside the interpreter.",
    .tp_new = Relay_new,
    .tp_dealloc = (destructor)Relay_dealloc,
    .tp_methods = Relay_methods,
    .tp_getset = Relay_getset,
};

static struct PyModuleDef native_relay_module = {
    PyModuleDef_HEAD_INIT, .m_name = "hapair.proxy.stream._native_relay",
    .m_doc = "The L4 relay's thread (see the source's opening comment).", .m_size = -1,
};

PyMODINIT_FUNC PyInit__native_relay(void) {
    if (PyType_Ready(&RelayType) < 0)
        return NULL;
    PyObject *module = PyModule_Create(&native_relay_module);
    if (module == NULL)
        return NULL;
    Py_INCREF(&RelayType);
    if (PyModule_AddObject(module, "Relay", (PyObject *)&RelayType) < 0) {
        Py_DECREF(&RelayType);
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
