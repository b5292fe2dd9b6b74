"""What nginx asks of OpenSSL and Python's `ssl` module does not expose: the groups (`ssl_ecdh_curve`
with a list), DH parameters read as nginx reads them (`ssl_dhparam`), the largest record sent
(`ssl_buffer_size`), the session timeout (`ssl_session_timeout`) and `ssl_conf_command`; and OpenSSL's
error queue, which nginx prints after a failed call (`(SSL: error:...)`).

No library offers these on the contexts asyncio uses (pyOpenSSL has its own, which asyncio cannot run),
so they are called with ctypes in the very libssl Python's `_ssl` module is linked with, on the SSL_CTX
of a Python `SSLContext`. That pointer is the first field after the object header of CPython's
PySSLContext; `context_pointer` checks it by reading the context's options through it and comparing them
with Python's before anything is set, and refuses when they differ.
"""

from __future__ import annotations

import _ssl
import ctypes
import ssl
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
    return lib


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
