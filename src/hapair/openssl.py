"""What nginx asks of OpenSSL and Python's `ssl` module does not expose: the groups (`ssl_ecdh_curve`
with a list), DH parameters read as nginx reads them (`ssl_dhparam`), the largest record sent
(`ssl_buffer_size`), the session timeout (`ssl_session_timeout`), `ssl_conf_command`, client
certificates asked for but judged after the handshake (`ssl_verify_client`: nginx's verify callback
accepts every certificate and its requests check the result), the CA names sent to clients, the verify
depth, an OCSP response read from a file and stapled (`ssl_stapling_file`); a connection's verify result,
and a certificate's names, serial and dates as OpenSSL prints them (the `$ssl_client_*` variables); and
OpenSSL's error queue, which nginx prints after a failed call (`(SSL: error:...)`).

No library offers these on the contexts asyncio uses (pyOpenSSL has its own, which asyncio cannot run),
so they are called with ctypes in the very libssl Python's `_ssl` module is linked with, on the SSL_CTX
of a Python `SSLContext`. That pointer is the first field after the object header of CPython's
PySSLContext; `context_pointer` checks it by reading the context's options through it and comparing them
with Python's before anything is set, and refuses when they differ. A connection's SSL is the second
field after the header of CPython's PySSLSocket (`SSLObject._sslobj`); `connection_pointer` checks it is
a connection of the object's own SSL_CTX before using it.
"""

from __future__ import annotations

import _ssl
import ctypes
import ssl
from collections.abc import Callable
from functools import cache

_SSL_CTRL_SET_TMP_DH = 3
_SSL_CTRL_SET_MAX_SEND_FRAGMENT = 52
_SSL_CTRL_SET_GROUPS_LIST = 92
_SSL_CONF_FLAG_FILE = 0x2
_SSL_CONF_FLAG_CLIENT = 0x4
_SSL_CONF_FLAG_SERVER = 0x8
_SSL_CONF_FLAG_CERTIFICATE = 0x20
_SSL_CONF_FLAG_SHOW_ERRORS = 0x10


_ERR_TXT_STRING = 0x02
_SSL_VERIFY_PEER = 0x01
# XN_FLAG_RFC2253: ASN1_STRFLGS_RFC2253 (0x317) | SEP_COMMA_PLUS | DN_REV | FN_SN | DUMP_UNKNOWN_FIELDS
_XN_FLAG_RFC2253 = 0x317 | 1 << 16 | 1 << 20 | 1 << 24
_BIO_CTRL_PENDING = 10
_SSL_CTRL_SET_TLSEXT_STATUS_REQ_CB = 63
_SSL_CTRL_SET_TLSEXT_STATUS_REQ_OCSP_RESP = 71
_SSL_TLSEXT_ERR_OK = 0
_SSL_TLSEXT_ERR_NOACK = 3
X509_V_OK = 0
# what `ssl_verify_client optional_no_ca` lets through: an unknown issuer (ngx_ssl_verify_error_optional)
UNKNOWN_ISSUER_ERRORS = frozenset({18, 19, 2, 20, 21})
MAX_RECORD = 16384  # the largest TLS record, OpenSSL's default


class OpenSslError(Exception):
    """OpenSSL refused a setting; the text is nginx's: the call that failed and OpenSSL's errors."""


def _failed(call: str) -> OpenSslError:
    return OpenSslError(call + error_queue())


def error_queue() -> str:
    """nginx's ngx_ssl_error suffix from OpenSSL's error queue, which it empties: ` (SSL: error:...)`
    with each error's text and data, or nothing when the queue is empty."""
    lib = _library()
    errors = []
    while True:
        data, flags = ctypes.c_char_p(), ctypes.c_int()
        code = lib.ERR_get_error_all(None, None, None, ctypes.byref(data), ctypes.byref(flags))
        if not code:
            break
        text = ctypes.create_string_buffer(256)
        lib.ERR_error_string_n(code, text, len(text))
        entry = text.value.decode("latin-1")
        if data.value and flags.value & _ERR_TXT_STRING:
            entry += ":" + data.value.decode("latin-1")
        errors.append(entry)
    return f" (SSL: {' '.join(errors)})" if errors else ""


@cache
def _library() -> ctypes.CDLL:
    lib = ctypes.CDLL(_ssl.__file__)
    lib.SSL_CTX_get_options.restype = ctypes.c_uint64
    lib.SSL_CTX_get_options.argtypes = [ctypes.c_void_p]
    lib.SSL_CTX_ctrl.restype = ctypes.c_long
    lib.SSL_CTX_ctrl.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_long, ctypes.c_void_p]
    lib.SSL_CTX_set_timeout.restype = ctypes.c_long
    lib.SSL_CTX_set_timeout.argtypes = [ctypes.c_void_p, ctypes.c_long]
    lib.SSL_CONF_CTX_new.restype = ctypes.c_void_p
    lib.SSL_CONF_CTX_set_flags.restype = ctypes.c_uint
    lib.SSL_CONF_CTX_set_flags.argtypes = [ctypes.c_void_p, ctypes.c_uint]
    lib.SSL_CONF_CTX_set_ssl_ctx.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    lib.SSL_CONF_cmd.restype = ctypes.c_int
    lib.SSL_CONF_cmd.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p]
    lib.SSL_CONF_CTX_finish.argtypes = [ctypes.c_void_p]
    lib.SSL_CONF_CTX_free.argtypes = [ctypes.c_void_p]
    lib.ERR_get_error_all.restype = ctypes.c_ulong
    lib.ERR_get_error_all.argtypes = [ctypes.c_void_p] * 5
    lib.ERR_error_string_n.argtypes = [ctypes.c_ulong, ctypes.c_char_p, ctypes.c_size_t]
    lib.ERR_clear_error.argtypes = []
    lib.BIO_new_file.restype = ctypes.c_void_p
    lib.BIO_new_file.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    lib.BIO_free.argtypes = [ctypes.c_void_p]
    lib.PEM_read_bio_DHparams.restype = ctypes.c_void_p
    lib.PEM_read_bio_DHparams.argtypes = [ctypes.c_void_p] * 4
    lib.DH_free.argtypes = [ctypes.c_void_p]
    _declare_verification(lib)
    _declare_certificates(lib)
    _declare_stapling(lib)
    return lib


def _declare_stapling(lib: ctypes.CDLL) -> None:
    lib.ASN1_d2i_bio.restype = ctypes.c_void_p
    lib.ASN1_d2i_bio.argtypes = [ctypes.c_void_p] * 4
    lib.i2d_OCSP_RESPONSE.restype = ctypes.c_int
    lib.i2d_OCSP_RESPONSE.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    lib.OCSP_RESPONSE_free.argtypes = [ctypes.c_void_p]
    lib.SSL_CTX_callback_ctrl.restype = ctypes.c_long
    lib.SSL_CTX_callback_ctrl.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p]
    lib.SSL_ctrl.restype = ctypes.c_long
    lib.SSL_ctrl.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_long, ctypes.c_void_p]
    lib.CRYPTO_malloc.restype = ctypes.c_void_p
    lib.CRYPTO_malloc.argtypes = [ctypes.c_size_t, ctypes.c_char_p, ctypes.c_int]


def _declare_verification(lib: ctypes.CDLL) -> None:
    lib.SSL_CTX_set_verify.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p]
    lib.SSL_CTX_set_verify_depth.argtypes = [ctypes.c_void_p, ctypes.c_int]
    lib.SSL_load_client_CA_file.restype = ctypes.c_void_p
    lib.SSL_load_client_CA_file.argtypes = [ctypes.c_char_p]
    lib.SSL_CTX_set_client_CA_list.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    lib.SSL_get_SSL_CTX.restype = ctypes.c_void_p
    lib.SSL_get_SSL_CTX.argtypes = [ctypes.c_void_p]
    lib.SSL_get_verify_result.restype = ctypes.c_long
    lib.SSL_get_verify_result.argtypes = [ctypes.c_void_p]
    lib.X509_verify_cert_error_string.restype = ctypes.c_char_p
    lib.X509_verify_cert_error_string.argtypes = [ctypes.c_long]


def _declare_certificates(lib: ctypes.CDLL) -> None:
    lib.d2i_X509.restype = ctypes.c_void_p
    lib.d2i_X509.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_char_p), ctypes.c_long]
    lib.X509_free.argtypes = [ctypes.c_void_p]
    for name in ("X509_get_subject_name", "X509_get_issuer_name", "X509_get_serialNumber"):
        getattr(lib, name).restype = ctypes.c_void_p
        getattr(lib, name).argtypes = [ctypes.c_void_p]
    for name in ("X509_get0_notBefore", "X509_get0_notAfter"):
        getattr(lib, name).restype = ctypes.c_void_p
        getattr(lib, name).argtypes = [ctypes.c_void_p]
    lib.X509_NAME_print_ex.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_ulong]
    lib.X509_NAME_oneline.restype = ctypes.c_void_p
    lib.X509_NAME_oneline.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
    lib.CRYPTO_free.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
    lib.i2a_ASN1_INTEGER.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    lib.ASN1_TIME_print.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    lib.ASN1_TIME_diff.argtypes = [ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_int)] + [
        ctypes.c_void_p
    ] * 2
    lib.BIO_s_mem.restype = ctypes.c_void_p
    lib.BIO_new.restype = ctypes.c_void_p
    lib.BIO_new.argtypes = [ctypes.c_void_p]
    lib.BIO_ctrl.restype = ctypes.c_long
    lib.BIO_ctrl.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_long, ctypes.c_void_p]
    lib.BIO_read.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int]


def context_pointer(context: ssl.SSLContext) -> int:
    """The SSL_CTX of `context`, checked."""
    address = id(context) + 2 * ctypes.sizeof(ctypes.c_ssize_t)  # after ob_refcnt and ob_type
    pointer = ctypes.c_void_p.from_address(address).value
    if not pointer or _library().SSL_CTX_get_options(pointer) != context.options:
        raise OpenSslError("cannot reach the SSL_CTX of a Python SSLContext")
    return pointer


def set_groups(context: ssl.SSLContext, groups: str) -> None:
    """SSL_CTX_set1_curves_list, as nginx's `ssl_ecdh_curve` (`auto`: OpenSSL's own list)."""
    if groups == "auto":
        return
    lib = _library()
    lib.ERR_clear_error()
    if not lib.SSL_CTX_ctrl(context_pointer(context), _SSL_CTRL_SET_GROUPS_LIST, 0, groups.encode()):
        raise _failed(f'SSL_CTX_set1_curves_list("{groups}") failed')


def load_dh_params(context: ssl.SSLContext, path: str) -> None:
    """ngx_ssl_dhparam with OpenSSL 3 as Debian builds nginx: PEM_read_bio_DHparams, SSL_CTX_set_tmp_dh."""
    lib = _library()
    lib.ERR_clear_error()
    bio = lib.BIO_new_file(path.encode("utf-8", "surrogateescape"), b"r")
    if not bio:
        raise _failed(f'BIO_new_file("{path}") failed')
    try:
        dh = lib.PEM_read_bio_DHparams(bio, None, None, None)
        if not dh:
            raise _failed(f'PEM_read_bio_DHparams("{path}") failed')
        try:
            if lib.SSL_CTX_ctrl(context_pointer(context), _SSL_CTRL_SET_TMP_DH, 0, dh) != 1:
                raise _failed(f'SSL_CTX_set_tmp_dh("{path}") failed')
        finally:
            lib.DH_free(dh)
    finally:
        lib.BIO_free(bio)


def set_max_send_fragment(context: ssl.SSLContext, size: int) -> None:
    """The largest TLS record written: nginx's `ssl_buffer_size` (records of at most that many bytes)."""
    size = max(512, min(size, MAX_RECORD))
    _library().SSL_CTX_ctrl(context_pointer(context), _SSL_CTRL_SET_MAX_SEND_FRAGMENT, size, None)


def set_session_timeout(context: ssl.SSLContext, seconds: int) -> None:
    _library().SSL_CTX_set_timeout(context_pointer(context), seconds)


def conf_commands(context: ssl.SSLContext, commands: tuple[tuple[str, str], ...]) -> None:
    """SSL_CONF_cmd for each `ssl_conf_command NAME VALUE`, as nginx's ngx_ssl_conf_commands."""
    lib = _library()
    conf = lib.SSL_CONF_CTX_new()
    try:
        flags = _SSL_CONF_FLAG_FILE | _SSL_CONF_FLAG_SERVER | _SSL_CONF_FLAG_CLIENT
        lib.SSL_CONF_CTX_set_flags(conf, flags | _SSL_CONF_FLAG_CERTIFICATE | _SSL_CONF_FLAG_SHOW_ERRORS)
        lib.SSL_CONF_CTX_set_ssl_ctx(conf, context_pointer(context))
        lib.ERR_clear_error()
        for name, value in commands:
            if lib.SSL_CONF_cmd(conf, name.encode(), value.encode()) <= 0:
                raise _failed(f'SSL_CONF_cmd("{name}", "{value}") failed')
        if lib.SSL_CONF_CTX_finish(conf) != 1:
            raise _failed("SSL_CONF_finish() failed")
    finally:
        lib.SSL_CONF_CTX_free(conf)


# nginx's ngx_ssl_verify_callback: every certificate is accepted during the handshake, its verdict is
# kept in the connection (SSL_get_verify_result) for the request to judge
_ACCEPT_ALL = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, ctypes.c_void_p)(lambda ok, store: 1)


def ask_client_certificates(context: ssl.SSLContext, depth: int) -> None:
    """ngx_ssl_client_certificate's SSL_CTX_set_verify(SSL_VERIFY_PEER, callback) and its depth."""
    lib, pointer = _library(), context_pointer(context)
    lib.SSL_CTX_set_verify(pointer, _SSL_VERIFY_PEER, ctypes.cast(_ACCEPT_ALL, ctypes.c_void_p))
    lib.SSL_CTX_set_verify_depth(pointer, depth)


def name_client_authorities(context: ssl.SSLContext, path: str) -> None:
    """SSL_load_client_CA_file and SSL_CTX_set_client_CA_list: the CAs a client is told it may use."""
    lib = _library()
    lib.ERR_clear_error()
    names = lib.SSL_load_client_CA_file(path.encode("utf-8", "surrogateescape"))
    if not names:
        raise _failed(f'SSL_load_client_CA_file("{path}") failed')
    lib.SSL_CTX_set_client_CA_list(context_pointer(context), names)


def read_ocsp_response(path: str) -> bytes:
    """ngx_ssl_stapling_file: the DER OCSP response in `path`, read with BIO_new_file and
    d2i_OCSP_RESPONSE_bio (nginx's messages when they fail), as i2d_OCSP_RESPONSE writes it."""
    lib = _library()
    lib.ERR_clear_error()
    bio = lib.BIO_new_file(path.encode("utf-8", "surrogateescape"), b"rb")
    if not bio:
        raise _failed(f'BIO_new_file("{path}") failed')
    try:
        # d2i_OCSP_RESPONSE_bio is a macro over ASN1_d2i_bio
        new, read = (
            ctypes.cast(function, ctypes.c_void_p)
            for function in (lib.OCSP_RESPONSE_new, lib.d2i_OCSP_RESPONSE)
        )
        response = lib.ASN1_d2i_bio(new, read, bio, None)
        if not response:
            raise _failed(f'd2i_OCSP_RESPONSE_bio("{path}") failed')
        try:
            size = lib.i2d_OCSP_RESPONSE(response, None)
            out = ctypes.create_string_buffer(size)
            cursor = ctypes.c_void_p(ctypes.addressof(out))
            lib.i2d_OCSP_RESPONSE(response, ctypes.byref(cursor))
            return out.raw
        finally:
            lib.OCSP_RESPONSE_free(response)
    finally:
        lib.BIO_free(bio)


_STAPLES: dict[int, bytes] = {}  # by SSL_CTX: the OCSP response its connections staple


def _staple(connection: int, _arg: int) -> int:
    """The status callback (ngx_ssl_certificate_status_callback): a client asked for the certificate's
    status; OpenSSL sends, and frees, a copy of the response made with its allocator."""
    lib = _library()
    response = _STAPLES.get(lib.SSL_get_SSL_CTX(connection) or 0)
    if response is None:
        return _SSL_TLSEXT_ERR_NOACK
    copy = lib.CRYPTO_malloc(len(response), b"hapair", 0)
    if not copy:
        return _SSL_TLSEXT_ERR_NOACK
    ctypes.memmove(copy, response, len(response))
    lib.SSL_ctrl(connection, _SSL_CTRL_SET_TLSEXT_STATUS_REQ_OCSP_RESP, len(response), copy)
    return _SSL_TLSEXT_ERR_OK


_STATUS_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)(_staple)


def staple_ocsp_response(context: ssl.SSLContext, response: bytes) -> None:
    """SSL_CTX_set_tlsext_status_cb: the connections of `context` (also those an SNI callback moves to it)
    send `response` to clients that ask for the certificate's status."""
    pointer = context_pointer(context)
    _STAPLES[pointer] = response
    callback = ctypes.cast(_STATUS_CALLBACK, ctypes.c_void_p)
    _library().SSL_CTX_callback_ctrl(pointer, _SSL_CTRL_SET_TLSEXT_STATUS_REQ_CB, callback)


def connection_pointer(connection: ssl.SSLObject) -> int:
    """The SSL of an `SSLObject`, checked to belong to the object's SSL_CTX."""
    raw = connection._sslobj  # type: ignore[attr-defined]
    address = id(raw) + 3 * ctypes.sizeof(ctypes.c_ssize_t)  # after the header and the socket's weakref
    pointer = ctypes.c_void_p.from_address(address).value
    if not pointer or _library().SSL_get_SSL_CTX(pointer) != context_pointer(connection.context):
        raise OpenSslError("cannot reach the SSL of a Python SSLObject")
    return pointer


def verify_result(connection: ssl.SSLObject) -> int:
    """SSL_get_verify_result: X509_V_OK (0), or the error that verifying the client's chain met."""
    return int(_library().SSL_get_verify_result(connection_pointer(connection)))


def verify_error_text(code: int) -> str:
    """X509_verify_cert_error_string."""
    return _library().X509_verify_cert_error_string(code).decode("latin-1")


class CertificateText:
    """A DER certificate's fields as OpenSSL prints them for nginx's `$ssl_client_*` variables."""

    def __init__(self, der: bytes) -> None:
        self._lib = _library()
        buffer = ctypes.c_char_p(der)
        self._x509 = self._lib.d2i_X509(None, ctypes.byref(buffer), len(der))
        if not self._x509:
            raise _failed("d2i_X509() failed")

    def __del__(self) -> None:
        if getattr(self, "_x509", None):
            self._lib.X509_free(self._x509)

    def subject(self, legacy: bool = False) -> str:
        """RFC 2253 (`$ssl_client_s_dn`) or X509_NAME_oneline's `/C=../CN=..` (`_legacy`)."""
        return self._name(self._lib.X509_get_subject_name(self._x509), legacy)

    def issuer(self, legacy: bool = False) -> str:
        return self._name(self._lib.X509_get_issuer_name(self._x509), legacy)

    def serial(self) -> str:
        """i2a_ASN1_INTEGER: upper-case hexadecimal."""
        return self._printed(
            lambda bio: self._lib.i2a_ASN1_INTEGER(bio, self._lib.X509_get_serialNumber(self._x509))
        )

    def not_before(self) -> str:
        """ASN1_TIME_print: `Dec  6 04:00:00 2026 GMT`."""
        return self._printed(
            lambda bio: self._lib.ASN1_TIME_print(bio, self._lib.X509_get0_notBefore(self._x509))
        )

    def not_after(self) -> str:
        return self._printed(
            lambda bio: self._lib.ASN1_TIME_print(bio, self._lib.X509_get0_notAfter(self._x509))
        )

    def seconds_left(self) -> int:
        """From now to the end of validity (negative once it has ended)."""
        days, seconds = ctypes.c_int(), ctypes.c_int()
        self._lib.ASN1_TIME_diff(
            ctypes.byref(days), ctypes.byref(seconds), None, self._lib.X509_get0_notAfter(self._x509)
        )
        return days.value * 86400 + seconds.value

    def _name(self, name: int, legacy: bool) -> str:
        if legacy:
            text = self._lib.X509_NAME_oneline(name, None, 0)
            try:
                return ctypes.string_at(text).decode("utf-8", "surrogateescape")
            finally:
                self._lib.CRYPTO_free(text, None, 0)
        return self._printed(lambda bio: self._lib.X509_NAME_print_ex(bio, name, 0, _XN_FLAG_RFC2253))

    def _printed(self, write: Callable[[int], object]) -> str:
        lib = self._lib
        bio = lib.BIO_new(lib.BIO_s_mem())
        try:
            write(bio)
            size = lib.BIO_ctrl(bio, _BIO_CTRL_PENDING, 0, None)
            text = ctypes.create_string_buffer(size)
            lib.BIO_read(bio, text, size)
            return text.raw.decode("utf-8", "surrogateescape")
        finally:
            lib.BIO_free(bio)


def load_certificate(context: ssl.SSLContext, certificate: str, key: str, passwords: tuple[str, ...]) -> None:
    """A certificate and its key; an encrypted key with the passwords of `ssl_password_file`, tried in
    turn as nginx tries them (the last failure is raised)."""
    if not passwords:
        context.load_cert_chain(certificate, key)
        return
    for index, password in enumerate(passwords):
        try:
            context.load_cert_chain(certificate, key, password)
        except ssl.SSLError:
            if index == len(passwords) - 1:
                raise
        else:
            return
