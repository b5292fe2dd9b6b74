"""The auth_basic module (ngx_http_auth_basic_module): a request passes with a user and password of the
`auth_basic_user_file`, else it is answered 401 with `WWW-Authenticate: Basic realm="..."`.

The file is read for every request, as nginx reads it: lines `user:password[:comment]`, `#` comments; the
password field is checked as ngx_crypt does: `{PLAIN}`, `{SHA}`, `{SSHA}`, Apache's `$apr1$` MD5, else
the system's crypt(3) (libcrypt's crypt_r: DES, MD5 `$1$`, SHA-256/512 `$5$`/`$6$`, bcrypt, yescrypt).
A file that cannot be found is a 403, one that cannot be read a 500, with nginx's error log lines.

The request's user and password are read by credentials.basic_credentials (`$remote_user` uses it too).
"""

from __future__ import annotations

import base64
import errno
import os
from typing import TYPE_CHECKING

from hapair.config.nginx.errors import os_error_text
from hapair.config.nginx.model.logging import ErrorLevel

from .access import ALLOWED, FORBIDDEN, SERVER_ERROR, Verdict
from .credentials import basic_credentials, decode_base64
from .logcontext import log_request_error

if TYPE_CHECKING:
    from .exchange import Exchange
    from .variables import CompiledTemplate

_ITOA64 = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_APR1 = b"$apr1$"
_PLAIN = b"{PLAIN}"
_SSHA = b"{SSHA}"
_SHA = b"{SHA}"
_SHA1_SIZE = 20
_READ_SIZE = 65536
# struct crypt_data: 32768 bytes in libxcrypt, 131232 in glibc's old libcrypt; room for either
_CRYPT_DATA_SIZE = 131232
_LIBCRYPT_SONAME = "libcrypt.so.1"


def find_password(data: bytes, user: bytes) -> bytes | None:
    """The password field of `user` in an htpasswd file's bytes, as nginx's reader finds it: a line
    starting with `#` or CR is skipped; the field ends at LF, CR or `:`. A line that differs from
    `user:` is skipped up to the next LF after the differing byte (a LF there does not count)."""
    wanted = user + b":"
    position, size = 0, len(data)
    while position < size:
        first = data[position]
        if first == 0x0A:
            position += 1
            continue
        if first in (0x23, 0x0D):
            position = _after_line(data, position + 1)
            continue
        differs = _first_difference(data, position, wanted)
        if differs < 0:
            start = position + len(wanted)
            return data[start : _field_end(data, start)]
        if position + differs >= size:
            return None
        position = _after_line(data, position + differs + 1)
    return None


def _first_difference(data: bytes, position: int, wanted: bytes) -> int:
    """The index in `wanted` of the first byte that differs from `data` at `position` (-1: none)."""
    if data.startswith(wanted, position):
        return -1
    for index, byte in enumerate(wanted):
        if position + index >= len(data) or data[position + index] != byte:
            return index
    return -1


def _after_line(data: bytes, position: int) -> int:
    newline = data.find(b"\n", position)
    return len(data) if newline < 0 else newline + 1


def _field_end(data: bytes, start: int) -> int:
    end = len(data)
    for stop in (b"\n", b"\r", b":"):
        found = data.find(stop, start, end)
        if found >= 0:
            end = found
    return end


def _c_string(data: bytes) -> bytes:
    """What C sees of bytes: up to the first NUL."""
    end = data.find(b"\0")
    return data if end < 0 else data[:end]


def crypt(key: bytes, salt: bytes) -> bytes | None:
    """ngx_crypt: the password `key` hashed the way the stored field `salt` says (None: libcrypt failed,
    with errno set). hashlib and ctypes are imported here, not with the module (0.65 and 0.3 MB of every
    proxy worker's memory, issue 15's budget): by the master before it forks the workers of a
    configuration with `auth_basic` (proxy/preload.py), where a worker run as nobody may not be able to
    read the interpreter's files."""
    import hashlib  # noqa: PLC0415

    if salt.startswith(_APR1):
        return _apr1(key, salt)
    if salt.startswith(_PLAIN):
        return _PLAIN + key
    if salt.startswith(_SSHA):
        return _ssha(key, salt)
    if salt.startswith(_SHA):
        return _SHA + base64.b64encode(hashlib.sha1(key).digest())
    return _libc_crypt(key, salt)


def _apr1(key: bytes, setting: bytes) -> bytes:
    """Apache's apr1: Poul-Henning Kamp's MD5 crypt with `$apr1$` as its magic."""
    import hashlib  # noqa: PLC0415 (see crypt)

    salt = setting[len(_APR1) :][:8].split(b"$", 1)[0]
    digest = hashlib.md5(key + _APR1 + salt)
    alternate = hashlib.md5(key + salt + key).digest()
    for left in range(len(key), 0, -16):
        digest.update(alternate[: min(16, left)])
    length = len(key)
    while length:
        digest.update(b"\0" if length & 1 else key[:1])
        length >>= 1
    final = digest.digest()
    for round_ in range(1000):
        step = hashlib.md5(key if round_ & 1 else final)
        if round_ % 3:
            step.update(salt)
        if round_ % 7:
            step.update(key)
        step.update(final if round_ & 1 else key)
        final = step.digest()
    groups = ((0, 6, 12), (1, 7, 13), (2, 8, 14), (3, 9, 15), (4, 10, 5))
    out = bytearray(_APR1 + salt + b"$")
    for first, second, third in groups:
        out += _to64(final[first] << 16 | final[second] << 8 | final[third], 4)
    out += _to64(final[11], 2)
    return bytes(out)


def _to64(value: int, count: int) -> bytes:
    out = bytearray()
    for _ in range(count):
        out.append(_ITOA64[value & 0x3F])
        value >>= 6
    return bytes(out)


def _ssha(key: bytes, setting: bytes) -> bytes:
    """`{SSHA}` base64(SHA1(password salt) salt): the salt is what follows the 20 bytes of the digest in
    the stored value (none when it does not decode, as nginx takes it)."""
    import hashlib  # noqa: PLC0415 (see crypt)

    decoded = decode_base64(setting[len(_SSHA) :])
    salt = decoded[_SHA1_SIZE:] if decoded is not None else b""
    return _SSHA + base64.b64encode(hashlib.sha1(key + salt).digest() + salt)


class _Libcrypt:
    """crypt_r(3), loaded when first needed."""

    def __init__(self) -> None:
        import ctypes  # noqa: PLC0415 (see crypt)

        # libxcrypt's soname on glibc systems; ctypes.util.find_library would give the same name, and import
        # shutil and tempfile into every worker (issue 15's budget)
        library = ctypes.CDLL(_LIBCRYPT_SONAME, use_errno=True)
        self._crypt_r = library.crypt_r
        self._crypt_r.argtypes = (ctypes.c_char_p, ctypes.c_char_p, ctypes.c_void_p)
        self._crypt_r.restype = ctypes.c_char_p
        self._data = ctypes.create_string_buffer(_CRYPT_DATA_SIZE)

    def crypt(self, key: bytes, salt: bytes) -> bytes | None:
        import ctypes  # noqa: PLC0415 (see crypt)

        ctypes.memset(self._data, 0, _CRYPT_DATA_SIZE)
        result: bytes | None = self._crypt_r(key, salt, self._data)
        return result


_LIBCRYPT: list[_Libcrypt] = []


def _libc_crypt(key: bytes, salt: bytes) -> bytes | None:
    if not _LIBCRYPT:
        _LIBCRYPT.append(_Libcrypt())
    return _LIBCRYPT[0].crypt(key, salt)


class AuthBasicCheck:
    """The module at one location (its realm and user file)."""

    __slots__ = ("_prefix", "_realm", "_user_file")

    def __init__(self, realm: CompiledTemplate, user_file: CompiledTemplate, prefix: str | None) -> None:
        self._realm = realm
        self._user_file = user_file
        self._prefix = prefix

    def __call__(self, ex: Exchange) -> Verdict | None:
        """None: the module has nothing to say (`auth_basic off`)."""
        realm = self._realm.evaluate(ex)
        if realm == "off":
            return None
        challenge = Verdict(401, b'Basic realm="%b"' % realm.encode("latin-1", "replace"))
        credentials = basic_credentials(ex.request)
        if credentials is None:
            log_request_error(ex, ErrorLevel.INFO, "no user/password was provided for basic authentication")
            return challenge
        user, password = credentials
        path = self._path(ex)
        data = _read(ex, path)
        if isinstance(data, Verdict):
            return data
        field = find_password(data, user)
        shown = user.decode("utf-8", "surrogateescape")
        if field is None:
            log_request_error(ex, ErrorLevel.ERROR, f'user "{shown}" was not found in "{path}"')
            return challenge
        field = _c_string(field)
        encrypted = crypt(_c_string(password), field)
        if encrypted is None:  # (crypt_r's: ctypes is imported)
            import ctypes  # noqa: PLC0415

            error = OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
            log_request_error(ex, ErrorLevel.CRIT, f"crypt_r() failed {os_error_text(error)}")
            return SERVER_ERROR
        if _c_string(encrypted) == field:
            return ALLOWED
        log_request_error(ex, ErrorLevel.ERROR, f'user "{shown}": password mismatch')
        return challenge

    def _path(self, ex: Exchange) -> str:
        path = self._user_file.evaluate(ex)
        if self._prefix is not None and not path.startswith("/"):
            path = self._prefix + path
        return path


def _read(ex: Exchange, path: str) -> bytes | Verdict:
    """The whole file, or the verdict of a file that cannot be opened (403 when it does not exist, 500
    otherwise) or read (500), logged as nginx logs them."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as error:
        missing = error.errno == errno.ENOENT
        level = ErrorLevel.ERROR if missing else ErrorLevel.CRIT
        log_request_error(ex, level, f'open() "{path}" failed {os_error_text(error)}')
        return FORBIDDEN if missing else SERVER_ERROR
    try:
        chunks = []
        while chunk := os.read(fd, _READ_SIZE):
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError as error:
        log_request_error(ex, ErrorLevel.CRIT, f'pread() "{path}" failed {os_error_text(error)}')
        return SERVER_ERROR
    finally:
        os.close(fd)
