"""What zsh's configure cannot measure when it cannot run the target's programs, written down per target.

configure answers these by compiling and running a test program (or by looking at the build machine's
filesystem); cross compiling it falls back to pessimistic or simply wrong defaults (a 32-bit `long`, the
build machine's `/proc/self/fd`). Each target row in `release.targets` names one answer set; every answer
says where it comes from.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Answer:
    value: str
    source: str
    """Where the value comes from: a measurement, a header shipped with the toolchain, or a manual page."""


MEASURED_X86_64_MUSL = "measured by zsh's configure on a native x86_64 musl build (its config.cache)"
OUR_NCURSES = "a property of the static ncurses we build, measured natively on x86_64 (same source everywhere)"
DARWIN_HEADERS = "zig's bundled macOS headers (lib/libc/include/any-darwin-any)"

ANSWER_SETS: dict[str, dict[str, Answer]] = {
    # Only the answers that differ from configure's cross-compiling defaults; given for every musl target so
    # the result never depends on whether the build machine can run the target's binaries.
    "linux-musl-64": {
        "ac_cv_func_strcoll_works": Answer("yes", MEASURED_X86_64_MUSL),
        "zsh_cv_func_realpath_accepts_null": Answer("yes", MEASURED_X86_64_MUSL),
        "zsh_cv_func_tgetent_accepts_null": Answer("yes", OUR_NCURSES),
        "zsh_cv_getcwd_malloc": Answer("yes", MEASURED_X86_64_MUSL),
        "zsh_cv_long_is_64_bit": Answer("yes", MEASURED_X86_64_MUSL),
        "zsh_cv_printf_has_lld": Answer("yes", MEASURED_X86_64_MUSL),
        "zsh_cv_rlim_t_is_longer": Answer("no", MEASURED_X86_64_MUSL),
        "zsh_cv_type_rlim_t_is_unsigned": Answer("yes", MEASURED_X86_64_MUSL),
    },
    # Every run-test and build-machine probe of zsh 5.9's configure.ac, so none falls back to a default.
    "macos-arm64": {
        "ac_cv_func_strcoll_works": Answer("yes", "strcoll(3) on macOS is the C standard function (libSystem)"),
        "zsh_cv_c_broken_signed_to_unsigned_casting": Answer("no", "C standard conversion; clang on arm64"),
        "zsh_cv_long_is_64_bit": Answer("yes", "arm64 macOS is LP64 (Apple, Writing ARM64 code for Apple platforms)"),
        "zsh_cv_off_t_is_64_bit": Answer("yes", f"__darwin_off_t is __int64_t in sys/_types.h, {DARWIN_HEADERS}"),
        "zsh_cv_ino_t_is_64_bit": Answer("yes", f"__darwin_ino64_t is __uint64_t in sys/_types.h, {DARWIN_HEADERS}"),
        "zsh_cv_printf_has_lld": Answer("yes", "printf(3) on macOS implements C99 length modifiers"),
        "zsh_cv_func_realpath_accepts_null": Answer("yes", "realpath(3) on macOS allocates when resolved_path is NULL"),
        "zsh_cv_func_tgetent_accepts_null": Answer("yes", OUR_NCURSES),
        "zsh_cv_func_tgetent_zero_success": Answer("no", OUR_NCURSES),
        "zsh_cv_rlim_t_is_longer": Answer("no", f"rlim_t is __uint64_t in sys/resource.h, {DARWIN_HEADERS}"),
        "zsh_cv_rlim_t_is_quad_t": Answer("no", f"rlim_t is __uint64_t, not quad_t, {DARWIN_HEADERS}"),
        "zsh_cv_type_rlim_t_is_unsigned": Answer("yes", f"rlim_t is __uint64_t in sys/resource.h, {DARWIN_HEADERS}"),
        "zsh_cv_getcwd_malloc": Answer("yes", "getcwd(3) on macOS allocates the buffer when buf is NULL"),
        "zsh_cv_sys_fifo": Answer("yes", "mkfifo(2) on macOS"),
        "zsh_cv_sys_lseek": Answer("yes", "lseek(2) on macOS fails with ESPIPE on pipes"),
        "zsh_cv_sys_link": Answer("yes", "link(2) on macOS (APFS and HFS+ hard links)"),
        "zsh_cv_sys_killesrch": Answer("yes", "kill(2) on macOS returns ESRCH for a missing process"),
        "zsh_cv_sys_sigsuspend": Answer("yes", "sigsuspend(2) on macOS is POSIX"),
        "zsh_cv_sys_tcsetpgrp": Answer("yes", "tcsetpgrp(3) on macOS is POSIX"),
        "zsh_cv_sys_getpwnam_faked": Answer("no", "getpwnam(3) on macOS reads Directory Services"),
        "zsh_cv_c_broken_wcwidth": Answer("no", "wcwidth(3) on macOS (zsh's configure default)"),
        "zsh_cv_c_broken_isprint": Answer("no", "isprint(3) on macOS (zsh's configure default)"),
        "zsh_cv_sys_elf": Answer("no", "macOS executables are Mach-O, not ELF"),
        "zsh_cv_sys_path_dev_fd": Answer("/dev/fd", "fd(4) on macOS: the fdesc filesystem at /dev/fd"),
        "zsh_cv_sys_superroot": Answer("no", "macOS has no RFS superroot"),
        "ac_cv_have_dev_ptmx": Answer("yes", "posix_openpt(2) on macOS opens /dev/ptmx"),
        "zsh_cv_path_utmpx": Answer("/var/run/utmpx", f"_PATH_UTMPX in utmpx.h, {DARWIN_HEADERS}"),
        "zsh_cv_path_utmp": Answer("no", "macOS keeps login records in utmpx only (utmpx(5))"),
        "zsh_cv_path_wtmp": Answer("no", "macOS writes no wtmp file (utmpx(5))"),
        "zsh_cv_path_wtmpx": Answer("no", "macOS writes no wtmpx file (utmpx(5))"),
    },
}


def for_set(name: str) -> dict[str, str]:
    """The `cache_variable -> value` pairs of one answer set, as configure takes them."""
    return {variable: answer.value for variable, answer in ANSWER_SETS[name].items()}
