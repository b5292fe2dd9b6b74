/* UDP sessions' socket work outside Python, on the event loop's thread: what datagram.py's DatagramSession
 * does with socket objects, the listener's epoll set and its callbacks, done in C (docs/request-cost.md,
 * "UDP: sessions in the relay's thread", which says why not in a thread of its own).
 *
 * Python runs the stream phases and picks the peer; `add` then makes the session's socket (non-blocking
 * from socket() itself), connects it, sends the client's first datagram and watches the socket in the
 * object's epoll set; a failed socket(), connect() or send() is an OSError whose filename names the call,
 * and nothing of the session is left. The event loop watches the epoll set as one descriptor (`fileno`)
 * and calls `poll()` when it is readable: for each session whose socket is readable, each answer read is
 * sent to the client from the listening socket, from the local address the client wrote to (IP_PKTINFO /
 * IPV6_PKTINFO data given by the caller), and the session ends
 * - once `responses` answers have come for each datagram of the client (`proxy_responses`; -1: none is
 *   set, the session ends on its timeout only): status 200; the answer that ends it is the last read;
 * - when `proxy_timeout` passes without a datagram either way (a heap of deadlines, and a timerfd in the
 *   epoll set armed for the first): 200 if the answers expected have come, else 502 (nginx's "upstream
 *   timed out");
 * - on a failed sendmsg() to the client: status 200, its errno kept for the error log line.
 * A read error (ECONNREFUSED: the peer's port unreachable) counts as an answer and as the peer's failure;
 * the socket is no longer read, and the counts of that moment are kept for the error log line. An ended
 * session's socket is closed and `poll()` returns what it counted. A later datagram of the client goes
 * through `send`; `remove` ends a session at once. Every call is made holding the GIL: no lock.
 */
#define _GNU_SOURCE
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "_deadlines.h"
#include "_handles.h"

#define DATAGRAM_MAX 65535
#define READ_BATCH 64 /* answers read per event before the other sessions get their turn */
#define MAX_EVENTS 256
#define TIMER_DATA UINT64_MAX
#define PKTINFO_MAX 32 /* room for an in6_pktinfo (20 bytes) or an in_pktinfo (12) */
#define RECEIVE_BATCH 16 /* datagrams a receive() reads with one recvmmsg() */

enum { ACTIVE, ENDED };

typedef struct dsession {
    uint32_t index, generation;
    int state, fd, watched, listen_fd, failed;
    int level, kind; /* of the ancillary data that sends from the local address (kind 0: none) */
    size_t pktinfo_length;
    unsigned char pktinfo[PKTINFO_MAX];
    struct sockaddr_storage client;
    socklen_t client_length;
    long long responses_wanted, requests, responses;
    long long to_peer, up_received, sent;
    int64_t timeout_ns, added_ns, active_ns, first_byte_ns, ended_ns;
    deadline_t deadline; /* in the sessions' deadlines */
    int status, refused_errno, sendmsg_errno;
    long long refused_to_peer, refused_up_received, refused_sent; /* the counts when the peer refused */
    struct dsession *next_ended;
} dsession_t;

typedef struct {
    PyObject_HEAD
    int closed;
    int epoll_fd, timer_fd;
    int64_t armed_ns; /* the deadline the timer is set for (INT64_MAX: none) */
    handles_t sessions;
    deadlines_t deadlines;
    dsession_t *ended_first, *ended_last; /* ended during this poll() */
    char *scratch;
    char *receiving; /* RECEIVE_BATCH buffers of DATAGRAM_MAX bytes, made at the first receive() */
} Datagrams;

/* -- the timer: armed for the first deadline when it comes before the one armed (a deadline passed while
 * the first moved on finds nothing due, and arms the timer for the next) */

static void timer_arm(Datagrams *self, int64_t deadline) {
    struct itimerspec value = {.it_value = {.tv_sec = deadline / 1000000000, .tv_nsec = deadline % 1000000000}};
    if (value.it_value.tv_sec == 0 && value.it_value.tv_nsec == 0)
        value.it_value.tv_nsec = 1; /* zero would disarm it */
    if (timerfd_settime(self->timer_fd, TFD_TIMER_ABSTIME, &value, NULL) == 0)
        self->armed_ns = deadline;
}

static void timer_follow(Datagrams *self) {
    deadline_t *first = deadlines_first(&self->deadlines);
    if (first != NULL && first->at_ns < self->armed_ns)
        timer_arm(self, first->at_ns);
}

/* -- sessions */

static uint64_t session_handle(const dsession_t *session) {
    return handle_of(session->index, session->generation);
}

/* Let go of the socket (its close takes it out of the epoll set) and of the deadline. */
static void session_let_go(Datagrams *self, dsession_t *session, int64_t now) {
    session->state = ENDED;
    session->ended_ns = now;
    deadlines_remove(&self->deadlines, &session->deadline);
    if (session->fd >= 0)
        close(session->fd);
    session->fd = -1;
    session->watched = 0;
}

static void session_end(Datagrams *self, dsession_t *session, int status, int64_t now) {
    session_let_go(self, session, now);
    session->status = status;
    if (self->ended_last)
        self->ended_last->next_ended = session;
    else
        self->ended_first = session;
    self->ended_last = session;
}

static void session_free(Datagrams *self, dsession_t *session) {
    handles_release(&self->sessions, session->index);
    free(session);
}

/* The answers expected for each datagram of the client came (none expected: -1, `proxy_responses` unset). */
static int answered(const dsession_t *session) {
    return session->responses >= session->responses_wanted * session->requests;
}

/* ngx_stream_proxy_test_finalize for UDP: without `proxy_responses`, a session ends on its timeout only. */
static int finalizes(const dsession_t *session) {
    return session->responses_wanted >= 0 && answered(session);
}

static void answer_counted(dsession_t *session, int64_t now) {
    session->active_ns = now;
    if (session->first_byte_ns < 0)
        session->first_byte_ns = now;
    session->responses++;
}

static ssize_t send_to_client(dsession_t *session, const char *data, size_t length) {
    struct iovec vector = {.iov_base = (void *)data, .iov_len = length};
    union {
        char buffer[CMSG_SPACE(PKTINFO_MAX)];
        struct cmsghdr align;
    } control;
    struct msghdr message = {
        .msg_name = &session->client,
        .msg_namelen = session->client_length,
        .msg_iov = &vector,
        .msg_iovlen = 1,
    };
    if (session->kind) {
        memset(&control, 0, sizeof control);
        message.msg_control = control.buffer;
        message.msg_controllen = CMSG_SPACE(session->pktinfo_length);
        struct cmsghdr *header = CMSG_FIRSTHDR(&message);
        header->cmsg_level = session->level;
        header->cmsg_type = session->kind;
        header->cmsg_len = CMSG_LEN(session->pktinfo_length);
        memcpy(CMSG_DATA(header), session->pktinfo, session->pktinfo_length);
    }
    return sendmsg(session->listen_fd, &message, 0);
}

/* The peer refused (or another read error): an answer, the end of the peer's side, the peer failed. */
static void peer_refused(Datagrams *self, dsession_t *session, int error, int64_t now) {
    session->refused_errno = error;
    session->refused_to_peer = session->to_peer;
    session->refused_up_received = session->up_received;
    session->refused_sent = session->sent;
    session->failed = 1;
    answer_counted(session, now);
    (void)epoll_ctl(self->epoll_fd, EPOLL_CTL_DEL, session->fd, NULL);
    session->watched = 0;
}

static void session_readable(Datagrams *self, dsession_t *session, int64_t now) {
    for (int round = 0; round < READ_BATCH; round++) {
        ssize_t length = recv(session->fd, self->scratch, DATAGRAM_MAX, 0);
        if (length < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                return;
            peer_refused(self, session, errno, now);
            if (finalizes(session))
                session_end(self, session, 200, now);
            return;
        }
        answer_counted(session, now);
        session->up_received += length;
        ssize_t sent = send_to_client(session, self->scratch, (size_t)length);
        if (sent >= 0) {
            session->sent += sent;
        } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            session->sendmsg_errno = errno; /* else the client's side is full: lost, as on the network */
            session_end(self, session, 200, now);
            return;
        }
        if (finalizes(session)) { /* the answer that ends the session is the last one read */
            session_end(self, session, 200, now);
            return;
        }
    }
}

static void expire_idle(Datagrams *self, int64_t now) {
    deadline_t *first;
    while ((first = deadlines_first(&self->deadlines)) != NULL && first->at_ns <= now) {
        dsession_t *session = DEADLINE_OWNER(first, dsession_t, deadline);
        int64_t deadline = session->active_ns + session->timeout_ns;
        if (now >= deadline) {
            int done = answered(session);
            session->failed |= !done;
            session_end(self, session, done ? 200 : 502, now);
        } else {
            deadline_moved_on(&self->deadlines, deadline);
        }
    }
}

/* -- the Python type */

static PyObject *Datagrams_new(PyTypeObject *type, PyObject *args, PyObject *kwargs) {
    static char *keywords[] = {NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, ":Datagrams", keywords))
        return NULL;
    Datagrams *self = (Datagrams *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    self->epoll_fd = self->timer_fd = -1;
    self->armed_ns = INT64_MAX;
    self->closed = 1; /* until everything below is there */
    self->scratch = malloc(DATAGRAM_MAX);
    if (self->scratch == NULL) {
        Py_DECREF(self);
        return PyErr_NoMemory();
    }
    self->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    self->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    struct epoll_event event = {.events = EPOLLIN, .data.u64 = TIMER_DATA};
    if (self->epoll_fd < 0 || self->timer_fd < 0 ||
        epoll_ctl(self->epoll_fd, EPOLL_CTL_ADD, self->timer_fd, &event) < 0) {
        PyErr_SetFromErrno(PyExc_OSError);
        Py_DECREF(self);
        return NULL;
    }
    self->closed = 0;
    return (PyObject *)self;
}

static void datagrams_close(Datagrams *self) {
    self->closed = 1;
    for (uint32_t index = 0; index < self->sessions.count; index++) {
        dsession_t *session = self->sessions.slots[index];
        if (session != NULL) {
            if (session->fd >= 0)
                close(session->fd);
            free(session);
            self->sessions.slots[index] = NULL;
        }
    }
    self->deadlines.size = 0;
    self->ended_first = self->ended_last = NULL;
    int *fds[] = {&self->epoll_fd, &self->timer_fd};
    for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++) {
        if (*fds[i] >= 0)
            close(*fds[i]);
        *fds[i] = -1;
    }
}

static void Datagrams_dealloc(Datagrams *self) {
    datagrams_close(self);
    handles_free(&self->sessions);
    free(self->deadlines.entries);
    free(self->scratch);
    free(self->receiving);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int closed_error(Datagrams *self) {
    if (self->closed)
        PyErr_SetString(PyExc_ValueError, "the datagram sessions are closed");
    return self->closed;
}

/* A socket address from Python's tuple for AF_INET ((host, port)) or AF_INET6 ((host, port[, flowinfo[,
 * scope_id]])); 0, or -1 with a Python exception set. */
static int socket_address(int family, PyObject *address, struct sockaddr_storage *storage, socklen_t *length) {
    const char *host;
    int port;
    unsigned int flowinfo = 0, scope_id = 0;
    memset(storage, 0, sizeof *storage);
    if (!PyTuple_Check(address) || !PyArg_ParseTuple(address, "si|II", &host, &port, &flowinfo, &scope_id)) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_TypeError, "an address is a tuple (host, port, ...)");
        return -1;
    }
    if (port < 0 || port > 65535) {
        PyErr_SetString(PyExc_ValueError, "a port is in 0-65535");
        return -1;
    }
    if (family == AF_INET) {
        struct sockaddr_in *inet = (struct sockaddr_in *)storage;
        inet->sin_family = AF_INET;
        inet->sin_port = htons((uint16_t)port);
        *length = sizeof *inet;
        if (inet_pton(AF_INET, host, &inet->sin_addr) == 1)
            return 0;
    } else if (family == AF_INET6) {
        struct sockaddr_in6 *inet6 = (struct sockaddr_in6 *)storage;
        inet6->sin6_family = AF_INET6;
        inet6->sin6_port = htons((uint16_t)port);
        inet6->sin6_flowinfo = htonl(flowinfo);
        inet6->sin6_scope_id = scope_id;
        *length = sizeof *inet6;
        char plain[INET6_ADDRSTRLEN];
        const char *percent = strchr(host, '%'); /* a scope written after the address: the scope_id's */
        if (percent != NULL && (size_t)(percent - host) < sizeof plain) {
            memcpy(plain, host, (size_t)(percent - host));
            plain[percent - host] = '\0';
            host = plain;
        }
        if (inet_pton(AF_INET6, host, &inet6->sin6_addr) == 1)
            return 0;
    } else {
        PyErr_SetString(PyExc_ValueError, "only AF_INET and AF_INET6 addresses");
        return -1;
    }
    PyErr_Format(PyExc_ValueError, "not an address of the family: %s", host);
    return -1;
}

/* The session, in the table and the heap and watched; NULL with errno set (the caller closes the fd). */
static dsession_t *session_register(Datagrams *self, dsession_t *model) {
    uint32_t index, generation;
    if (handles_reserve(&self->sessions, &index, &generation) < 0)
        return NULL;
    dsession_t *session = malloc(sizeof *session);
    if (session == NULL)
        return NULL;
    *session = *model;
    session->index = index;
    session->generation = generation;
    struct epoll_event event = {.events = EPOLLIN, .data.u64 = session_handle(session)};
    if (deadlines_push(&self->deadlines, &session->deadline) < 0) {
        free(session);
        return NULL;
    }
    if (epoll_ctl(self->epoll_fd, EPOLL_CTL_ADD, session->fd, &event) < 0) {
        int error = errno;
        deadlines_remove(&self->deadlines, &session->deadline);
        free(session);
        errno = error;
        return NULL;
    }
    session->watched = 1;
    handles_take(&self->sessions, session->index, session);
    return session;
}

static PyObject *errno_error(const char *call) {
    int error = errno;
    PyObject *name = PyUnicode_FromString(call);
    if (name != NULL) {
        errno = error;
        PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, name);
        Py_DECREF(name);
    }
    return NULL;
}

/* Close `fd` keeping errno, and raise the failed call's OSError. */
static PyObject *failed_with(int fd, const char *call) {
    int error = errno;
    close(fd);
    errno = error;
    return errno_error(call);
}

static PyObject *Datagrams_add(Datagrams *self, PyObject *args) {
    int listen_fd, family;
    PyObject *peer, *client;
    const char *pktinfo, *data;
    Py_ssize_t pktinfo_length, data_length;
    long long timeout_ms, responses;
    if (!PyArg_ParseTuple(args, "iiOOy#LLy#:add", &listen_fd, &family, &peer, &client, &pktinfo,
                          &pktinfo_length, &timeout_ms, &responses, &data, &data_length))
        return NULL;
    if (closed_error(self))
        return NULL;
    if (listen_fd < 0 || timeout_ms < 0 || timeout_ms > INT64_MAX / 1000000 || pktinfo_length > PKTINFO_MAX ||
        responses == 0 || !PyTuple_Check(client)) {
        PyErr_SetString(PyExc_ValueError, "add: a descriptor, a client's address tuple, a timeout in ms, a "
                                          "pktinfo of 32 bytes at most, responses -1 or over 0");
        return NULL;
    }
    dsession_t model;
    memset(&model, 0, sizeof model);
    struct sockaddr_storage peer_address;
    socklen_t peer_length;
    if (socket_address(family, peer, &peer_address, &peer_length) < 0 ||
        socket_address(PyTuple_GET_SIZE(client) == 4 ? AF_INET6 : AF_INET, client, &model.client,
                       &model.client_length) < 0)
        return NULL;
    if (pktinfo_length) {
        int inet6 = model.client.ss_family == AF_INET6;
        model.level = inet6 ? IPPROTO_IPV6 : IPPROTO_IP;
        model.kind = inet6 ? IPV6_PKTINFO : IP_PKTINFO;
        model.pktinfo_length = (size_t)pktinfo_length;
        memcpy(model.pktinfo, pktinfo, (size_t)pktinfo_length);
    }
    model.listen_fd = listen_fd;
    model.responses_wanted = responses < 0 ? -1 : responses;
    model.requests = 1;
    model.timeout_ns = timeout_ms * 1000000;
    model.first_byte_ns = -1;
    model.deadline.position = NO_HEAP;
    model.fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (model.fd < 0)
        return errno_error("socket");
    if (connect(model.fd, (struct sockaddr *)&peer_address, peer_length) < 0)
        return failed_with(model.fd, "connect");
    /* sent before the socket is watched: an answer already there makes the registration readable */
    ssize_t sent = send(model.fd, data, (size_t)data_length, 0);
    if (sent < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
        return failed_with(model.fd, "send");
    model.to_peer = sent < 0 ? 0 : sent; /* the socket's buffer full: the datagram is lost, as on the network */
    model.added_ns = model.active_ns = now_ns();
    model.deadline.at_ns = model.added_ns + model.timeout_ns;
    dsession_t *session = session_register(self, &model);
    if (session == NULL)
        return failed_with(model.fd, "add");
    timer_follow(self);
    return PyLong_FromUnsignedLongLong(session_handle(session));
}

static PyObject *Datagrams_send(Datagrams *self, PyObject *args) {
    unsigned long long handle;
    const char *data;
    Py_ssize_t length;
    if (!PyArg_ParseTuple(args, "Ky#:send", &handle, &data, &length) || closed_error(self))
        return NULL;
    dsession_t *session = handles_get(&self->sessions, handle);
    if (session == NULL) {
        PyErr_Format(PyExc_KeyError, "no session %llu", handle);
        return NULL;
    }
    session->requests++;
    session->active_ns = now_ns();
    ssize_t sent = send(session->fd, data, (size_t)length, 0);
    if (sent < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return errno_error("send");
        sent = 0; /* the socket's buffer is full: the datagram is lost, as on the network */
    }
    session->to_peer += sent;
    return PyLong_FromSsize_t(sent);
}

/* What Python learns of an ended session, copied out before any Python object is made (making one may run
 * the collector, and any code, remove() included). */
typedef struct {
    uint64_t handle;
    int status, failed, refused_errno, sendmsg_errno;
    long long responses, to_peer, up_received, sent;
    long long refused_to_peer, refused_up_received, refused_sent;
    double first_byte_s, ended_s;
} outcome_t;

static outcome_t session_outcome(Datagrams *self, dsession_t *session) {
    outcome_t outcome = {
        .handle = session_handle(session),
        .status = session->status,
        .failed = session->failed,
        .refused_errno = session->refused_errno,
        .sendmsg_errno = session->sendmsg_errno,
        .responses = session->responses,
        .to_peer = session->to_peer,
        .up_received = session->up_received,
        .sent = session->sent,
        .refused_to_peer = session->refused_to_peer,
        .refused_up_received = session->refused_up_received,
        .refused_sent = session->refused_sent,
        .first_byte_s = session->first_byte_ns < 0 ? -1.0
                                                   : (double)(session->first_byte_ns - session->added_ns) / 1e9,
        .ended_s = (double)(session->ended_ns - session->added_ns) / 1e9,
    };
    session_free(self, session);
    return outcome;
}

/* An outcome as Python reads it: an `Ended`, a struct sequence (a tuple whose items are also read by name:
 * datagram.py's `Ended` names the same fields in the same order, and tests/proxy/stream/
 * test_native_datagram.py checks that they agree). */
static PyStructSequence_Field ended_fields[] = {
    {"handle", "the session's, as add() gave it"},
    {"status", "200; 502: proxy_timeout passed before the answers awaited came; 0: ended by remove()"},
    {"failed", "1: the peer counts as failed (it refused, or did not answer in time)"},
    {"responses", "the answers read (a refusal counts as one)"},
    {"to_peer", "bytes sent to the peer"},
    {"up_received", "bytes read from the peer"},
    {"sent", "bytes sent to the client"},
    {"first_byte_s", "seconds from add() to the first answer (-1.0: none came)"},
    {"ended_s", "seconds from add() to the end"},
    {"sendmsg_errno", "the errno of the sendmsg() to the client that failed and ended the session (0: none)"},
    {"refused_errno", "the errno of the peer's refusal, ECONNREFUSED (0: the peer did not refuse)"},
    {"refused_to_peer", "to_peer when the peer refused"},
    {"refused_up_received", "up_received when the peer refused"},
    {"refused_sent", "sent when the peer refused"},
    {NULL, NULL},
};

#define ENDED_FIELDS (sizeof ended_fields / sizeof ended_fields[0] - 1)

static PyStructSequence_Desc ended_desc = {
    .name = "hapair.proxy.stream._native_datagram.Ended",
    .doc = "What a UDP session counted until it ended, as poll() and remove() give it.",
    .fields = ended_fields,
    .n_in_sequence = ENDED_FIELDS,
};

static PyTypeObject EndedType; /* made from ended_desc as the module is */

static PyObject *outcome_ended(const outcome_t *outcome) {
    PyObject *ended = PyStructSequence_New(&EndedType);
    if (ended == NULL)
        return NULL;
    PyObject *items[ENDED_FIELDS] = { /* in ended_fields' order */
        PyLong_FromUnsignedLongLong(outcome->handle),
        PyLong_FromLong(outcome->status),
        PyLong_FromLong(outcome->failed),
        PyLong_FromLongLong(outcome->responses),
        PyLong_FromLongLong(outcome->to_peer),
        PyLong_FromLongLong(outcome->up_received),
        PyLong_FromLongLong(outcome->sent),
        PyFloat_FromDouble(outcome->first_byte_s),
        PyFloat_FromDouble(outcome->ended_s),
        PyLong_FromLong(outcome->sendmsg_errno),
        PyLong_FromLong(outcome->refused_errno),
        PyLong_FromLongLong(outcome->refused_to_peer),
        PyLong_FromLongLong(outcome->refused_up_received),
        PyLong_FromLongLong(outcome->refused_sent),
    };
    int complete = 1;
    for (size_t i = 0; i < ENDED_FIELDS; i++) {
        complete &= items[i] != NULL;
        PyStructSequence_SET_ITEM(ended, (Py_ssize_t)i, items[i]); /* one left NULL: its dealloc skips it */
    }
    if (!complete)
        Py_CLEAR(ended);
    return ended;
}

/* The sessions ended in this poll, their outcomes copied out and the sessions freed; NULL: no memory (the
 * sessions stay on the list, for the next poll). */
static outcome_t *take_ended(Datagrams *self, size_t *count) {
    size_t total = 0;
    for (dsession_t *session = self->ended_first; session != NULL; session = session->next_ended)
        total++;
    outcome_t *outcomes = malloc((total ? total : 1) * sizeof *outcomes);
    if (outcomes == NULL)
        return NULL;
    size_t taken = 0;
    for (dsession_t *session = self->ended_first, *next; session != NULL; session = next) {
        next = session->next_ended;
        outcomes[taken++] = session_outcome(self, session);
    }
    self->ended_first = self->ended_last = NULL;
    *count = taken;
    return outcomes;
}

static PyObject *Datagrams_poll(Datagrams *self, PyObject *Py_UNUSED(ignored)) {
    if (closed_error(self))
        return NULL;
    struct epoll_event events[MAX_EVENTS];
    int count = epoll_wait(self->epoll_fd, events, MAX_EVENTS, 0);
    int64_t now = now_ns();
    for (int i = 0; i < count; i++) {
        uint64_t data = events[i].data.u64;
        if (data == TIMER_DATA) {
            uint64_t expirations;
            (void)!read(self->timer_fd, &expirations, sizeof expirations);
            self->armed_ns = INT64_MAX;
            continue;
        }
        dsession_t *session = handles_get(&self->sessions, data);
        if (session != NULL && session->state == ACTIVE && session->watched)
            session_readable(self, session, now);
    }
    expire_idle(self, now);
    timer_follow(self);
    size_t ended;
    outcome_t *outcomes = take_ended(self, &ended);
    if (outcomes == NULL)
        return PyErr_NoMemory();
    PyObject *results = PyList_New((Py_ssize_t)ended);
    for (size_t i = 0; results != NULL && i < ended; i++) {
        PyObject *result = outcome_ended(&outcomes[i]);
        if (result == NULL)
            Py_CLEAR(results);
        else
            PyList_SET_ITEM(results, (Py_ssize_t)i, result);
    }
    free(outcomes);
    return results;
}

static PyObject *Datagrams_remove(Datagrams *self, PyObject *argument) {
    unsigned long long handle = PyLong_AsUnsignedLongLong(argument);
    if (PyErr_Occurred() || closed_error(self))
        return NULL;
    dsession_t *session = handles_get(&self->sessions, handle);
    if (session == NULL) {
        PyErr_Format(PyExc_KeyError, "no session %llu", handle);
        return NULL;
    }
    session_let_go(self, session, now_ns()); /* status 0: it was going on */
    outcome_t outcome = session_outcome(self, session);
    return outcome_ended(&outcome);
}

/* -- the listening socket's datagrams, RECEIVE_BATCH a system call */

/* The address as Python's socket module gives it: (host, port) or (host, port, flowinfo, scope_id), the
 * host as getnameinfo(NI_NUMERICHOST) writes it (a scoped IPv6 address with its interface's name). */
static PyObject *address_tuple(const struct sockaddr_storage *name, socklen_t length) {
    char host[NI_MAXHOST];
    if (name->ss_family == AF_INET) {
        const struct sockaddr_in *inet = (const struct sockaddr_in *)name;
        if (inet_ntop(AF_INET, &inet->sin_addr, host, sizeof host) == NULL)
            return PyErr_SetFromErrno(PyExc_OSError);
        return Py_BuildValue("(si)", host, ntohs(inet->sin_port));
    }
    if (name->ss_family == AF_INET6) {
        const struct sockaddr_in6 *inet6 = (const struct sockaddr_in6 *)name;
        int failed = getnameinfo((const struct sockaddr *)name, length, host, sizeof host, NULL, 0, NI_NUMERICHOST);
        if (failed) {
            PyErr_Format(PyExc_OSError, "getnameinfo() failed (%d)", failed);
            return NULL;
        }
        return Py_BuildValue("(siII)", host, ntohs(inet6->sin6_port), ntohl(inet6->sin6_flowinfo),
                             inet6->sin6_scope_id);
    }
    PyErr_SetString(PyExc_ValueError, "receive: not an AF_INET or AF_INET6 address");
    return NULL;
}

/* The ancillary data as Python's recvmsg gives it: [(level, type, data), ...]. */
static PyObject *ancillary_list(struct msghdr *message) {
    PyObject *items = PyList_New(0);
    for (struct cmsghdr *header = CMSG_FIRSTHDR(message); items != NULL && header != NULL;
         header = CMSG_NXTHDR(message, header)) {
        PyObject *item = Py_BuildValue("(iiy#)", header->cmsg_level, header->cmsg_type, CMSG_DATA(header),
                                       (Py_ssize_t)(header->cmsg_len - CMSG_LEN(0)));
        if (item == NULL || PyList_Append(items, item) < 0)
            Py_CLEAR(items);
        Py_XDECREF(item);
    }
    return items;
}

/* A datagram read: (data, ancillary, address), None when it was truncated. */
static PyObject *received_item(struct mmsghdr *entry, const char *data, const struct sockaddr_storage *name) {
    struct msghdr *message = &entry->msg_hdr;
    if (message->msg_flags & (MSG_TRUNC | MSG_CTRUNC))
        Py_RETURN_NONE;
    PyObject *bytes = PyBytes_FromStringAndSize(data, (Py_ssize_t)entry->msg_len);
    PyObject *ancillary = message->msg_controllen ? ancillary_list(message) : PyTuple_New(0);
    PyObject *address = address_tuple(name, message->msg_namelen);
    if (bytes == NULL || ancillary == NULL || address == NULL) {
        Py_XDECREF(bytes);
        Py_XDECREF(ancillary);
        Py_XDECREF(address);
        return NULL;
    }
    return Py_BuildValue("(NNN)", bytes, ancillary, address);
}

static PyObject *Datagrams_receive(Datagrams *self, PyObject *args) {
    int fd, ancillary;
    if (!PyArg_ParseTuple(args, "ip:receive", &fd, &ancillary) || closed_error(self))
        return NULL;
    if (self->receiving == NULL && (self->receiving = malloc((size_t)RECEIVE_BATCH * DATAGRAM_MAX)) == NULL)
        return PyErr_NoMemory();
    struct mmsghdr entries[RECEIVE_BATCH];
    struct iovec vectors[RECEIVE_BATCH];
    struct sockaddr_storage names[RECEIVE_BATCH];
    union {
        char buffer[CMSG_SPACE(PKTINFO_MAX)];
        struct cmsghdr align;
    } controls[RECEIVE_BATCH];
    memset(entries, 0, sizeof entries);
    for (int i = 0; i < RECEIVE_BATCH; i++) {
        vectors[i].iov_base = self->receiving + (size_t)i * DATAGRAM_MAX;
        vectors[i].iov_len = DATAGRAM_MAX;
        entries[i].msg_hdr.msg_name = &names[i];
        entries[i].msg_hdr.msg_namelen = sizeof names[i];
        entries[i].msg_hdr.msg_iov = &vectors[i];
        entries[i].msg_hdr.msg_iovlen = 1;
        if (ancillary) {
            entries[i].msg_hdr.msg_control = controls[i].buffer;
            entries[i].msg_hdr.msg_controllen = sizeof controls[i].buffer;
        }
    }
    int count = recvmmsg(fd, entries, RECEIVE_BATCH, MSG_DONTWAIT, NULL);
    if (count < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            return PyList_New(0);
        return errno_error("recvmsg");
    }
    PyObject *items = PyList_New(count);
    for (int i = 0; items != NULL && i < count; i++) {
        PyObject *item = received_item(&entries[i], vectors[i].iov_base, &names[i]);
        if (item == NULL)
            Py_CLEAR(items);
        else
            PyList_SET_ITEM(items, i, item);
    }
    return items;
}

static PyObject *Datagrams_close(Datagrams *self, PyObject *Py_UNUSED(ignored)) {
    datagrams_close(self);
    Py_RETURN_NONE;
}

static PyObject *Datagrams_fileno(Datagrams *self, PyObject *Py_UNUSED(ignored)) {
    return PyLong_FromLong(self->epoll_fd);
}

static PyObject *Datagrams_sessions(Datagrams *self, void *Py_UNUSED(closure)) {
    return PyLong_FromLong((long)handles_used(&self->sessions));
}

static PyMethodDef Datagrams_methods[] = {
    {"add", (PyCFunction)Datagrams_add, METH_VARARGS,
     "add(listen_fd, family, peer, client, pktinfo, timeout_ms, responses, data) -> handle: a session's "
     "socket made, connected to `peer`, `data` sent, and its answers sent to `client` from `listen_fd` "
     "(with `pktinfo` as IP_PKTINFO/IPV6_PKTINFO data if not empty) until `responses` (-1: none) came for "
     "each datagram; OSError with the failed call's name as filename (socket, connect, send, add)"},
    {"send", (PyCFunction)Datagrams_send, METH_VARARGS,
     "send(handle, data) -> bytes sent (0: the socket's buffer was full); OSError (filename 'send') when "
     "send() failed"},
    {"poll", (PyCFunction)Datagrams_poll, METH_NOARGS,
     "poll() -> the sessions ended, each an Ended (what it counted: handle, status, failed, responses, ...): "
     "answers read and sent on, timeouts passed; call it when fileno() is readable"},
    {"remove", (PyCFunction)Datagrams_remove, METH_O,
     "remove(handle) -> its Ended, status 0: end a session now; its socket is closed"},
    {"receive", (PyCFunction)Datagrams_receive, METH_VARARGS,
     "receive(fd, ancillary) -> up to 16 datagrams of the socket `fd` read with one recvmmsg(), each "
     "(data, ancillary data as recvmsg gives it (with `ancillary`) or (), the sender's address), or None "
     "when truncated; [] when none is waiting; OSError (filename 'recvmsg') when it failed"},
    {"close", (PyCFunction)Datagrams_close, METH_NOARGS, "close(): forget every session, close the sockets"},
    {"fileno", (PyCFunction)Datagrams_fileno, METH_NOARGS, "the epoll set, readable when poll() has work"},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Datagrams_getset[] = {
    {"sessions", (getter)Datagrams_sessions, NULL, "the sessions going on", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject DatagramsType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "hapair.proxy.stream._native_datagram.Datagrams",
    .tp_basicsize = sizeof(Datagrams),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "UDP sessions' sockets, answers and timeouts, handled in C on the caller's thread.",
    .tp_new = Datagrams_new,
    .tp_dealloc = (destructor)Datagrams_dealloc,
    .tp_methods = Datagrams_methods,
    .tp_getset = Datagrams_getset,
};

static struct PyModuleDef native_datagram_module = {
    PyModuleDef_HEAD_INIT, .m_name = "hapair.proxy.stream._native_datagram",
    .m_doc = "UDP sessions' socket work in C (see the source's opening comment).", .m_size = -1,
};

PyMODINIT_FUNC PyInit__native_datagram(void) {
    if (PyType_Ready(&DatagramsType) < 0 || PyStructSequence_InitType2(&EndedType, &ended_desc) < 0)
        return NULL;
    PyObject *module = PyModule_Create(&native_datagram_module);
    if (module == NULL)
        return NULL;
    if (PyModule_AddType(module, &DatagramsType) < 0 || PyModule_AddType(module, &EndedType) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
